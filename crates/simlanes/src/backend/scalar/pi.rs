//! W1 on the scalar backend: one estimate at a time, `simcore::models::pi::pi_hits` with
//! one `f32` lane.

use crate::workload::jax::member_lanes;
use crate::workload::pi::PiSpec;
use simcore::models::pi::{pi_hits, pi_hits_jax};

/// Hits of every estimate of a validated `spec` (estimate `i` = stream `i`, or with a JAX
/// key the uniforms of `split(key, I)[i]`).
pub fn run(spec: &PiSpec) -> Vec<u64> {
    if let Some(key) = spec.jax_key {
        let (n, pairs) = (spec.estimates, spec.pairs_per_estimate);
        return (0..n as u64)
            .map(|i| {
                member_lanes::<u32>(key, n, i, 2 * pairs)
                    .map_or(0, |l| u64::from(pi_hits_jax::<f32>(&l, pairs)))
            })
            .collect();
    }
    (0..spec.estimates as u64)
        .map(|i| u64::from(pi_hits::<f32>(spec.seed, i, spec.pairs_per_estimate)))
        .collect()
}
