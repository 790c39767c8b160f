//! W5 on the SIMD and threaded backends: `simcore::models::mpr` through the Heun loop on
//! `f32x16` groups of members (two `f32x8` per operation: each broadcast weight of the
//! coupling serves 16 members, measured −30 % CPU time at the sweep size over `f32x8`),
//! then `f32x8`, then `f32` for the remainder (`backend/simd/network.rs`); the
//! statistic of each lane is accumulated by its own `RateStats`, values pushed in the
//! scalar backend's order (steps ascending, nodes ascending), so the f64 sums match.
//! When the batch makes fewer tiles than the threaded backend has threads, each group's
//! nodes are split across the threads (`backend/threaded/nodes.rs`); the thread that
//! keeps the statistics then receives every node's state of each step from step
//! `STAT_FIRST` on and pushes the values in the same order.

use super::network::{for_ranges, members, scatter, split_by, split_nodes};
use crate::backend::heun_group::{GroupBufs, Noise, integrate_group_on};
use crate::error::SimError;
use crate::simulator::ThreadConfig;
use crate::workload::mpr::{MprOutput, MprSpec, NV, R0, RateStats, STAT_FIRST, V0};
use simcore::lane::Real;
use simcore::models::heun::{HeunCoeffs, Network};
use simcore::models::mpr::Mpr;
use std::ops::Range;
use wide::{f32x8, f32x16};

/// One range's results: `std_r` per member and the final `[element][member]` block.
struct Block {
    std_r: Vec<f64>,
    state: Vec<f32>,
}

/// The groups starting at `firsts` (lanes of `L`) into `out` (members from `base` on);
/// each group's nodes split across the threads of `split_nodes` when given.
fn groups<L: Real<Scalar = f32> + Send + Sync>(
    spec: &MprSpec,
    net: &Network<'_, f32>,
    firsts: impl Iterator<Item = usize>,
    base: usize,
    split_nodes: Option<&ThreadConfig>,
    out: &mut Block,
) -> Result<(), SimError> {
    let nn = spec.nn;
    let width = out.std_r.len();
    let h = HeunCoeffs::<L>::new(spec.dt, spec.sigma)?;
    let mut bufs = GroupBufs::<L>::new(NV, nn, false);
    for first in firsts {
        bufs.x[..nn].fill(L::splat(R0));
        bufs.x[nn..].fill(L::splat(V0));
        let model = Mpr::<L>::new(&spec.params, members(&spec.eta, first));
        let k = members::<L>(&spec.k, first);
        let mut stats = vec![RateStats::default(); L::LANES];
        let observe = |_: u64, x: &[L]| {
            for r in &x[..nn] {
                for (l, st) in stats.iter_mut().enumerate() {
                    st.push(r.lane(l));
                }
            }
        };
        let noise = Noise::of(spec.seed, spec.jax_key, spec.batch);
        let (first64, from) = (first as u64, Some(STAT_FIRST as u64));
        integrate_group_on(
            split_nodes,
            &model,
            net,
            k,
            &h,
            noise,
            first64,
            spec.nt,
            &mut bufs,
            from,
            observe,
        );
        for (l, st) in stats.iter().enumerate() {
            out.std_r[first - base + l] = st.std();
        }
        for (e, x) in bufs.x.iter().enumerate() {
            for l in 0..L::LANES {
                out.state[e * width + first - base + l] = x.lane(l);
            }
        }
    }
    Ok(())
}

/// The results of the members of `range`, each group's nodes on the threads of
/// `split_nodes` when given.
fn range_block(
    spec: &MprSpec,
    net: &Network<'_, f32>,
    range: Range<usize>,
    split_nodes: Option<&ThreadConfig>,
) -> Result<Block, SimError> {
    let (base, width) = (range.start, range.len());
    let mut out = Block { std_r: vec![0.0; width], state: vec![0.0; NV * spec.nn * width] };
    // f32x16 groups (two f32x8 per operation: each weight broadcast serves 16 members,
    // two FMA chains per row), then f32x8, then single members.
    let (x16, rest) = split_by(range, 16);
    groups::<f32x16>(spec, net, x16, base, split_nodes, &mut out)?;
    let (x8, rest) = split_by(rest, 8);
    groups::<f32x8>(spec, net, x8, base, split_nodes, &mut out)?;
    groups::<f32>(spec, net, rest.step_by(1), base, split_nodes, &mut out)?;
    Ok(out)
}

/// W5 for a validated `spec` on `sim`'s backend.
///
/// # Errors
/// Only those of `spec.validate()` (re-checked by the core constructors).
pub fn run(sim: &crate::Simulator, spec: &MprSpec) -> Result<MprOutput, SimError> {
    spec.params.validate()?;
    let net = Network::new(spec.nn, &spec.weights, None)?;
    let bsz = spec.batch;
    let mut std_r = vec![0.0; bsz];
    let mut final_state = vec![0.0f32; NV * spec.nn * bsz];
    let bytes = 4 * spec.nn * (5 * NV + 2);
    // Fewer tiles than threads: split each group's nodes instead of the batch.
    if let Some(cfg) = split_nodes(sim, bsz, bytes, spec.nn) {
        let block = range_block(spec, &net, 0..bsz, Some(&cfg))?;
        return Ok(MprOutput { std_r: block.std_r, final_state: block.state });
    }
    for (range, block) in for_ranges(sim, bsz, bytes, |r| range_block(spec, &net, r, None)) {
        let block = block?;
        std_r[range.clone()].copy_from_slice(&block.std_r);
        scatter(&mut final_state, bsz, &range, &block.state);
    }
    Ok(MprOutput { std_r, final_state })
}
