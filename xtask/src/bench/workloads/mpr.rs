//! W5 rows — Montbrio–Pazo–Roxin parameter sweep, node-steps per second
//! (`nn·nt·B / t`).
//!
//! Sizes (`nn, nt`, always the sweep grid's members): quick `32, 450` with all
//! `B = 1152` members; seed `164, 1000, B = 1152` (WORKLOADS.md); sweep adds `nn = 32`
//! and `68` at `nt = 1000`, and the seed network with its first 8 members only (one
//! `f32x8` group: the threaded backend splits its nodes across the threads). The scalar backend runs at most 2e6 node-steps per row:
//! the first `B'` members of the grid only (members are independent, so those
//! members' results are the full run's).
//!
//! Flops per node-step, from the cost note of `simcore::models::mpr`: `44 + 4·nn` (700 at
//! `nn = 164`); the Box–Muller pair per node-step is not counted.
//!
//! Byte model: compulsory traffic only — the weights read (`nn²·4` B), the final state
//! (`2·nn·B·4` B) and the statistic (`B·8` B) written.
//!
//! Check (WORKLOADS.md: "outputs finite and scalar/SIMD agree", read as): every `std_r`
//! and final state finite, `std_r > 0` (the noise keeps `r` moving), and the first
//! `min(B, 8)` members' `std_r` and final states equal, bit for bit, a run of those
//! members on a second backend — the scalar one, or for the scalar row the SIMD one.

use simlanes::Backend;
use simlanes::workload::mpr::{MprOutput, MprSpec};

use super::{Ctx, Measured, Meta, Size, simulator};
use crate::bench::report::{Check, Row};
use crate::bench::stream::Traffic;
use crate::bench::timing::repeat;

/// Most node-steps one scalar row runs.
const SCALAR_MAX_NODE_STEPS: usize = 2_000_000;
/// Members compared with the second backend.
const COMPARED: usize = 8;

/// The rows of W5 on `b`.
pub fn rows(b: Backend, ctx: &Ctx) -> Vec<Row> {
    // (nn, nt, members: all of the grid when `None`)
    let sizes: &[(usize, usize, Option<usize>)] = match ctx.size {
        Size::Quick => &[(32, 450, None)],
        Size::Seed => &[(164, 1000, None)],
        Size::Sweep => &[(32, 1000, None), (68, 1000, None), (164, 1000, None), (164, 1000, Some(8))],
    };
    sizes.iter().map(|&(nn, nt, members)| run(b, ctx, nn, nt, members)).collect()
}

/// The first `batch` members of `spec`.
fn first_members(spec: &MprSpec, batch: usize) -> MprSpec {
    MprSpec { batch, k: spec.k[..batch].to_vec(), eta: spec.eta[..batch].to_vec(), ..spec.clone() }
}

fn run(b: Backend, ctx: &Ctx, nn: usize, nt: usize, members: Option<usize>) -> Row {
    let mut meta =
        Meta::new("W5", if members.is_some() { "few members" } else { "sweep" }, b, "node-steps/s");
    let full = match MprSpec::sweep_sized(ctx.seed, nn, nt) {
        Ok(s) => match members {
            Some(m) => first_members(&s, m.min(s.batch)),
            None => s,
        },
        Err(e) => return meta.failed(e.to_string()),
    };
    let (spec, reduced) = if b == Backend::Scalar && nn * nt * full.batch > SCALAR_MAX_NODE_STEPS {
        let cut = (SCALAR_MAX_NODE_STEPS / (nn * nt)).clamp(1, full.batch);
        let why = format!(
            "scalar runs the first {cut} of {} members (at most {SCALAR_MAX_NODE_STEPS} node-steps)",
            full.batch
        );
        (first_members(&full, cut), Some(why))
    } else {
        (full, None)
    };
    meta = meta.size(format!("nn={nn} nt={nt} B={}", spec.batch), reduced);
    let sim = match simulator(b) {
        Ok(s) => s,
        Err(e) => return meta.failed(e),
    };
    let (stats, res) = repeat(ctx.repeats(), ctx.budget_s(), || sim.mpr(&spec));
    let out = match res {
        Ok(o) => o,
        Err(e) => return meta.failed(e.to_string()),
    };
    let node_steps = (nn * nt * spec.batch) as f64;
    let bytes = (4 * nn * nn + 8 * nn * spec.batch + 8 * spec.batch) as f64;
    meta.row(Measured {
        stats,
        work: node_steps,
        bytes: Some((bytes, Traffic::Copy)),
        flops: Some((44.0 + 4.0 * nn as f64) * node_steps),
        check: check(b, &spec, &out),
    })
}

fn check(b: Backend, spec: &MprSpec, out: &MprOutput) -> Check {
    let finite =
        out.std_r.iter().all(|s| s.is_finite() && *s > 0.0) && out.final_state.iter().all(|x| x.is_finite());
    if !finite {
        return Check::new(false, "non-finite (or zero) std_r or final state");
    }
    let other = if b == Backend::Scalar { Backend::Simd } else { Backend::Scalar };
    let m = spec.batch.min(COMPARED);
    let small = first_members(spec, m);
    let reference = match simulator(other).and_then(|s| s.mpr(&small).map_err(|e| e.to_string())) {
        Ok(r) => r,
        Err(e) => return Check::new(false, format!("error in the {} reference: {e}", other.name())),
    };
    let nn = spec.nn;
    let mut bad = (0..m).filter(|&j| out.std_r[j].to_bits() != reference.std_r[j].to_bits()).count();
    for v in 0..2 {
        for i in 0..nn {
            for j in 0..m {
                let got = out.final_state[(v * nn + i) * spec.batch + j];
                let want = reference.final_state[(v * nn + i) * m + j];
                bad += usize::from(got.to_bits() != want.to_bits());
            }
        }
    }
    Check::new(
        bad == 0,
        format!("finite; first {m} members vs {}: {bad} of {} values differ", other.name(), m * (1 + 2 * nn)),
    )
}
