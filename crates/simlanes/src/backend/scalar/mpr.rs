//! W5 on the scalar backend: one member at a time with `f32` lanes, through the shared
//! group driver (`backend::heun_group`, a group of one); the statistic is accumulated in f64 by
//! `simcore::models::mpr::RateStats` after every step in the window.

use crate::backend::heun_group::{GroupBufs, Noise, integrate_group};
use crate::error::SimError;
use crate::workload::jansen_rit::member;
use crate::workload::mpr::{MprOutput, MprSpec, NV, R0, RateStats, STAT_FIRST, V0};
use simcore::models::heun::{HeunCoeffs, Network};
use simcore::models::mpr::Mpr;

/// W5 for a validated `spec`.
///
/// # Errors
/// Only those of `spec.validate()` (re-checked by the core constructors).
pub fn run(spec: &MprSpec) -> Result<MprOutput, SimError> {
    spec.params.validate()?;
    let (nn, bsz) = (spec.nn, spec.batch);
    let h = HeunCoeffs::<f32>::new(spec.dt, spec.sigma)?;
    let net = Network::new(nn, &spec.weights, None)?;
    let mut std_r = Vec::with_capacity(bsz);
    let mut final_state = vec![0.0f32; NV * nn * bsz];
    let mut bufs = GroupBufs::<f32>::new(NV, nn, false);
    for b in 0..bsz {
        bufs.x[..nn].fill(R0);
        bufs.x[nn..].fill(V0);
        let model = Mpr::<f32>::new(&spec.params, member(&spec.eta, b));
        let mut stats = RateStats::default();
        integrate_group(
            &model,
            &net,
            member(&spec.k, b),
            &h,
            Noise::of(spec.seed, spec.jax_key, bsz),
            b as u64,
            spec.nt,
            &mut bufs,
            |t, x| {
                if t >= STAT_FIRST as u64 {
                    for &r in &x[..nn] {
                        stats.push(r);
                    }
                }
            },
        );
        std_r.push(stats.std());
        for e in 0..NV * nn {
            final_state[e * bsz + b] = bufs.x[e];
        }
    }
    Ok(MprOutput { std_r, final_state })
}
