//! W4 rows — Jansen–Rit network SDE, node-steps per second (`nn·nt·B / t`), with the
//! instantaneous coupling (`instant`) and with delays (`delayed`, W4d, default lags).
//!
//! Sizes (`nn, nt, B`): quick and seed `32, 1024, 8` (the seed size is already small);
//! sweep `nn ∈ {32, 164}` × `B ∈ {1024, 8192}` at `nt = 256` (WORKLOADS.md gives the
//! sweep's `nn` and `B` ranges but no `nt`; 256 keeps the largest point at ~3.4e8
//! node-steps). The scalar backend runs at most 2e7 node-steps per row (`B` cut).
//!
//! Flops per node-step, from the cost notes of `simcore::models::jansen_rit` and
//! `heun`: `118 + 4·nn` with the coupling evaluated twice per step (instant),
//! `117 + 2·nn` evaluated once (delayed); the 6 `exp` and 6 normals per node-step are
//! not counted, so % of FMA peak is a lower bound of the work done.
//!
//! Byte model: compulsory traffic only — the weights (`nn²·4` B, and the `nn²` lag
//! bytes) read, the final state (`6·nn·B·4` B) written. The state and the delay ring
//! stay in cache: this workload is compute-bound.
//!
//! A `noise only` row per size (CPU backends) draws the `6·nn·nt·B` normals alone (see
//! `noise`): the rate neither variant can exceed by more than the machine's noise.
//!
//! Check (WORKLOADS.md): with `sigma = 0` and `W = 0`, every batch member of the
//! backend's output equals, bit for bit, the scalar backend's run of one member (all
//! members then have the same parameters and no noise); and the timed output is finite.

use simlanes::Backend;
use simlanes::workload::jansen_rit::JansenRitSpec;

use super::{Ctx, Measured, Meta, Size, noise, simulator};
use crate::bench::report::{Check, Row};
use crate::bench::stream::Traffic;
use crate::bench::timing::repeat;

/// Most node-steps one scalar row runs.
const SCALAR_MAX_NODE_STEPS: usize = 20_000_000;

/// The rows of W4 on `b`.
pub fn rows(b: Backend, ctx: &Ctx) -> Vec<Row> {
    let sizes: &[(usize, usize, usize)] = match ctx.size {
        Size::Quick | Size::Seed => &[(32, 1024, 8)],
        Size::Sweep => &[(32, 256, 1024), (32, 256, 8192), (164, 256, 1024), (164, 256, 8192)],
    };
    let mut rows = Vec::new();
    let mut done = Vec::new();
    for &(nn, nt, batch) in sizes {
        let (batch, reduced) = if b == Backend::Scalar && nn * nt * batch > SCALAR_MAX_NODE_STEPS {
            let cut = (SCALAR_MAX_NODE_STEPS / (nn * nt)).max(1);
            (
                cut,
                Some(format!(
                    "scalar runs B = {cut} instead of {batch} (at most {SCALAR_MAX_NODE_STEPS} node-steps)"
                )),
            )
        } else {
            (batch, None)
        };
        // Two sizes cut to the same one run once.
        if done.contains(&(nn, nt, batch)) {
            continue;
        }
        done.push((nn, nt, batch));
        for delayed in [false, true] {
            let variant = if delayed { "delayed" } else { "instant" };
            let meta = Meta::new("W4", variant, b, "node-steps/s")
                .size(format!("nn={nn} nt={nt} B={batch}"), reduced.clone());
            rows.push(run(&meta, b, ctx, nn, nt, batch, delayed));
        }
        // The 6 normals per node-step alone (see `noise`): neither variant can run much faster.
        let meta = Meta::new("W4", "noise only", b, "node-steps/s")
            .size(format!("nn={nn} nt={nt} B={batch}"), reduced.clone());
        rows.extend(noise::row::<f32>(b, ctx, meta, batch, 6 * nn * nt, (nn * nt * batch) as f64));
    }
    rows
}

fn run(meta: &Meta, b: Backend, ctx: &Ctx, nn: usize, nt: usize, batch: usize, delayed: bool) -> Row {
    let sim = match simulator(b) {
        Ok(s) => s,
        Err(e) => return meta.failed(e),
    };
    let spec = JansenRitSpec::with_size(ctx.seed, nn, nt, batch)
        .and_then(|s| if delayed { s.with_default_lags() } else { Ok(s) });
    let spec = match spec {
        Ok(s) => s,
        Err(e) => return meta.failed(e.to_string()),
    };
    let (stats, res) = repeat(ctx.repeats(), ctx.budget_s(), || sim.jansen_rit(&spec));
    let out = match res {
        Ok(o) => o,
        Err(e) => return meta.failed(e.to_string()),
    };
    let node_steps = (nn * nt * batch) as f64;
    let flops_per = if delayed { 117.0 + 2.0 * nn as f64 } else { 118.0 + 4.0 * nn as f64 };
    let bytes = (4 * nn * nn + if delayed { nn * nn } else { 0 } + 6 * nn * batch * 4) as f64;
    let finite = out.iter().all(|x| x.is_finite());
    let check = if finite {
        reference_check(&sim, &spec)
    } else {
        Check::new(false, "non-finite values in the output")
    };
    meta.row(Measured {
        stats,
        work: node_steps,
        bytes: Some((bytes, Traffic::Copy)),
        flops: Some(flops_per * node_steps),
        check,
    })
}

/// `sigma = 0, W = 0`: every member equals the scalar backend's one-member run.
fn reference_check(sim: &simlanes::Simulator, spec: &JansenRitSpec) -> Check {
    let quiet = JansenRitSpec { sigma: 0.0, weights: vec![0.0; spec.weights.len()], ..spec.clone() };
    let one = JansenRitSpec { batch: 1, ..quiet.clone() };
    let scalar = simlanes::Simulator::default();
    let (got, want) = match (sim.jansen_rit(&quiet), scalar.jansen_rit(&one)) {
        (Ok(g), Ok(w)) => (g, w),
        (Err(e), _) | (_, Err(e)) => return Check::new(false, format!("error: {e}")),
    };
    let batch = quiet.batch;
    let bad = got.iter().enumerate().filter(|&(k, x)| x.to_bits() != want[k / batch].to_bits()).count();
    Check::new(
        bad == 0 && want.iter().all(|x| x.is_finite()),
        format!("sigma=0, W=0: {bad} of {} values differ from the scalar reference", got.len()),
    )
}
