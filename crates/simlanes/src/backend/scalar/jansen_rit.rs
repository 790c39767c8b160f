//! W4 on the scalar backend: one member at a time with `f32` lanes, through the shared
//! group driver (`backend::heun_group`, a group of one). The member's state is
//! gathered from the `[var][node][batch]` layout into a contiguous `[var][node]` buffer,
//! integrated, and scattered back.

use crate::backend::heun_group::{GroupBufs, Noise, integrate_group};
use crate::error::SimError;
use crate::workload::jansen_rit::{JansenRitSpec, NV, member};
use simcore::models::heun::{HeunCoeffs, Network};
use simcore::models::jansen_rit::JansenRit;

/// W4 for a validated `spec`: the final states, `[6][nn][B]`.
///
/// # Errors
/// Only those of `spec.validate()` (re-checked by the core constructors).
pub fn run(spec: &JansenRitSpec) -> Result<Vec<f32>, SimError> {
    spec.params.validate()?;
    let (nn, bsz) = (spec.nn, spec.batch);
    let len = spec.state_len()?;
    let h = HeunCoeffs::<f32>::new(spec.dt, spec.sigma)?;
    let net = Network::new(nn, &spec.weights, spec.lags.as_deref())?;
    let mut out = vec![0.0f32; len];
    let mut bufs = GroupBufs::<f32>::new(NV, nn, spec.lags.is_some());
    for b in 0..bsz {
        for e in 0..NV * nn {
            bufs.x[e] = spec.initial.as_ref().map_or(0.0, |x0| x0[e * bsz + b]);
        }
        let model = JansenRit::<f32>::new(&spec.params, member(&spec.mu, b));
        integrate_group(
            &model,
            &net,
            member(&spec.k, b),
            &h,
            Noise::of(spec.seed, spec.jax_key, bsz),
            b as u64,
            spec.nt,
            &mut bufs,
            |_, _| {},
        );
        for e in 0..NV * nn {
            out[e * bsz + b] = bufs.x[e];
        }
    }
    Ok(out)
}
