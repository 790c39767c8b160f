//! W1 on the scalar backend: one estimate at a time, `simcore::models::pi::pi_hits` with
//! one `f32` lane.

use crate::workload::pi::PiSpec;
use simcore::models::pi::pi_hits;

/// Hits of every estimate of a validated `spec` (estimate `i` = stream `i`).
pub fn run(spec: &PiSpec) -> Vec<u64> {
    (0..spec.estimates as u64)
        .map(|i| u64::from(pi_hits::<f32>(spec.seed, i, spec.pairs_per_estimate)))
        .collect()
}
