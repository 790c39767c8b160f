//! W2 on the scalar backend: one simulation at a time with `f64` lanes, through the one
//! OU loop of `simcore::models::ou`.

use crate::workload::jax::member_lanes;
use crate::workload::ou::OuSpec;
use simcore::models::ou::{ou_evolve, ou_final_from, ou_final_group, ou_path_from, ou_path_group};
use simcore::rng::jax::JaxNormalsWidened;

/// Mode (b) for a validated `spec`.
pub fn final_states(spec: &OuSpec) -> Vec<f64> {
    let c = spec.params.coeffs::<f64>();
    let steps = spec.num_steps as u64;
    (0..spec.num_sim as u64)
        .map(|i| match spec.jax_key {
            None => ou_final_group::<f64>(spec.seed, i, steps, spec.params.x0, &c),
            // `spec.validate()` checked the sizes.
            Some(key) => member_lanes::<u32>(key, spec.num_sim, i, steps).map_or(f64::NAN, |lanes| {
                ou_final_from(&mut JaxNormalsWidened::<f64>::new(lanes, 0), steps, spec.params.x0, &c)
            }),
        })
        .collect()
}

/// Mode (a) for a validated `spec`; `out` has `(num_steps + 1)·num_sim` entries.
pub fn path(spec: &OuSpec, out: &mut [f64]) {
    let c = spec.params.coeffs::<f64>();
    let n = spec.num_sim;
    let steps = spec.num_steps as u64;
    for i in 0..n {
        let row = |t: u64, x: f64| out[t as usize * n + i] = x;
        match spec.jax_key {
            None => {
                ou_path_group::<f64>(spec.seed, i as u64, steps, spec.params.x0, &c, row);
            }
            // `spec.validate()` checked the sizes.
            Some(key) => {
                if let Some(lanes) = member_lanes::<u32>(key, n, i as u64, steps) {
                    ou_path_from(
                        &mut JaxNormalsWidened::<f64>::new(lanes, 0),
                        steps,
                        spec.params.x0,
                        &c,
                        row,
                    );
                }
            }
        }
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
