//! W4 (and W4d) on the SIMD and threaded backends: `simcore::models::jansen_rit` through
//! the Heun loop on `f32x16` groups of members (two `f32x8` per operation; measured
//! −15 % CPU time over `f32x8` at `nn = 32`), then `f32x8`, then `f32` for the remainder
//! (`backend/simd/network.rs`). When the batch makes fewer tiles than the threaded
//! backend has threads (W4's seed size: 8 members, one tile), each group's nodes are
//! split across the threads instead (`backend/threaded/nodes.rs`).

use super::network::{for_ranges, members, scatter, split_by, split_nodes};
use crate::backend::heun_group::{GroupBufs, Noise, integrate_group_on};
use crate::error::SimError;
use crate::simulator::ThreadConfig;
use crate::workload::jansen_rit::{JansenRitSpec, NV};
use simcore::lane::Real;
use simcore::models::heun::{HeunCoeffs, Network, RING};
use simcore::models::jansen_rit::JansenRit;
use std::ops::Range;
use wide::{f32x8, f32x16};

/// Final states of the groups starting at `firsts` (lanes of `L`), into the
/// `[element][member − base]` block `out` of `width` members; each group's nodes split
/// across the threads of `split_nodes` when given.
#[allow(clippy::too_many_arguments)]
fn groups<L: Real<Scalar = f32> + Send + Sync>(
    spec: &JansenRitSpec,
    net: &Network<'_, f32>,
    firsts: impl Iterator<Item = usize>,
    base: usize,
    width: usize,
    split_nodes: Option<&ThreadConfig>,
    out: &mut [f32],
) -> Result<(), SimError> {
    let (nn, bsz) = (spec.nn, spec.batch);
    let h = HeunCoeffs::<L>::new(spec.dt, spec.sigma)?;
    let mut bufs = GroupBufs::<L>::new(NV, nn, spec.lags.is_some());
    for first in firsts {
        for (e, x) in bufs.x.iter_mut().enumerate() {
            *x = L::from_fn(|l| spec.initial.as_ref().map_or(0.0, |x0| x0[e * bsz + first + l]));
        }
        let model = JansenRit::<L>::new(&spec.params, members(&spec.mu, first));
        let k = members::<L>(&spec.k, first);
        let noise = Noise::of(spec.seed, spec.jax_key, spec.batch);
        let first64 = first as u64;
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
            None,
            |_, _| {},
        );
        for (e, x) in bufs.x.iter().enumerate() {
            for l in 0..L::LANES {
                out[e * width + first - base + l] = x.lane(l);
            }
        }
    }
    Ok(())
}

/// The final states of the members of `range`, `[element][member − range.start]`, each
/// group's nodes on the threads of `split_nodes` when given.
fn range_block(
    spec: &JansenRitSpec,
    net: &Network<'_, f32>,
    range: Range<usize>,
    split_nodes: Option<&ThreadConfig>,
) -> Result<Vec<f32>, SimError> {
    let (base, width) = (range.start, range.len());
    let mut out = vec![0.0; NV * spec.nn * width];
    // f32x16 groups (two f32x8 per operation: each weight broadcast serves 16 members,
    // two FMA chains per row), then f32x8, then single members.
    let (x16, rest) = split_by(range, 16);
    groups::<f32x16>(spec, net, x16, base, width, split_nodes, &mut out)?;
    let (x8, rest) = split_by(rest, 8);
    groups::<f32x8>(spec, net, x8, base, width, split_nodes, &mut out)?;
    groups::<f32>(spec, net, rest.step_by(1), base, width, split_nodes, &mut out)?;
    Ok(out)
}

/// W4 for a validated `spec` on `sim`'s backend: the final states, `[6][nn][B]`.
///
/// # Errors
/// Only those of `spec.validate()` (re-checked by the core constructors).
pub fn run(sim: &crate::Simulator, spec: &JansenRitSpec) -> Result<Vec<f32>, SimError> {
    spec.params.validate()?;
    let len = spec.state_len()?;
    let net = Network::new(spec.nn, &spec.weights, spec.lags.as_deref())?;
    let delayed = if spec.lags.is_some() { RING } else { 0 };
    let bytes = 4 * spec.nn * (5 * NV + 2 + delayed);
    // Fewer tiles than threads: split each group's nodes instead of the batch.
    if let Some(cfg) = split_nodes(sim, spec.batch, bytes, spec.nn) {
        return range_block(spec, &net, 0..spec.batch, Some(&cfg));
    }
    let mut out = vec![0.0f32; len];
    for (range, block) in for_ranges(sim, spec.batch, bytes, |r| range_block(spec, &net, r, None)) {
        scatter(&mut out, spec.batch, &range, &block?);
    }
    Ok(out)
}
