//! W2 on the scalar backend: one simulation at a time with `f64` lanes, through the one
//! OU loop of `simcore::models::ou`.

use crate::workload::ou::OuSpec;
use simcore::models::ou::{ou_evolve, ou_final_group, ou_path_group};

/// Mode (b) for a validated `spec`.
pub fn final_states(spec: &OuSpec) -> Vec<f64> {
    let c = spec.params.coeffs::<f64>();
    (0..spec.num_sim as u64)
        .map(|i| ou_final_group::<f64>(spec.seed, i, spec.num_steps as u64, spec.params.x0, &c))
        .collect()
}

/// Mode (a) for a validated `spec`; `out` has `(num_steps + 1)·num_sim` entries.
pub fn path(spec: &OuSpec, out: &mut [f64]) {
    let c = spec.params.coeffs::<f64>();
    let n = spec.num_sim;
    for i in 0..n {
        ou_path_group::<f64>(spec.seed, i as u64, spec.num_steps as u64, spec.params.x0, &c, |t, x| {
            out[t as usize * n + i] = x;
        });
    }
}

/// Mode (c) for a validated `spec`; `z` has `num_steps·num_sim` entries, layout `[t][sim]`.
pub fn with_normals(spec: &OuSpec, z: &[f64]) -> Vec<f64> {
    let c = spec.params.coeffs::<f64>();
    let n = spec.num_sim;
    (0..n)
        .map(|i| ou_evolve(spec.params.x0, &c, spec.num_steps as u64, |t| z[t as usize * n + i], |_, _| {}))
        .collect()
}
