//! W3 on the scalar backend: one simulation at a time (`f32` lanes), each simulation's
//! uniforms generated (or read) once and compared with every grid point.

use crate::workload::binomial::BinomialPlan;
use simcore::ParamError;
use simcore::models::binomial::statistic;
use simcore::stats::select_nth;

/// Counts of simulation `s` at every active point of `plan`, into `counts`
/// (`counts.len()` points, probabilities `p`).
fn counts_of(plan: &BinomialPlan<'_>, s: usize, p: &[f32], counts: &mut [u32]) {
    plan.uniforms.count_grid::<f32>(plan.seed, s, plan.n, plan.d, p, counts);
}

/// `rej[g] = #{s : T[g,s] < lambda}` at the active points, 0 elsewhere (`plan.grid` entries).
pub fn validate(plan: &BinomialPlan<'_>, lambda: f32) -> Vec<u64> {
    let na = plan.active.len();
    let mut counts = vec![0u32; na];
    let mut rej_active = vec![0u64; na];
    if na > 0 {
        for s in 0..plan.sims {
            counts_of(plan, s, &plan.p, &mut counts);
            for (r, &c) in rej_active.iter_mut().zip(&counts) {
                *r += u64::from(statistic::<f32>(c, plan.nd) < lambda);
            }
        }
    }
    let mut rej = vec![0u64; plan.grid];
    for (&g, &r) in plan.active.iter().zip(&rej_active) {
        rej[g] = r;
    }
    rej
}

/// Statistics `T[g,s]` held at once by [`calibrate`] (64 MiB of `f32`).
pub const CALIBRATE_BUDGET: usize = 1 << 24;

/// `λ*[g]` = the `m`-th smallest `T[g,s]` (1-based, `1 <= m <= S`) at the active points,
/// `f32::NAN` elsewhere — literally: every `T[g,s]` is computed and the `m`-th smallest
/// selected with [`simcore::stats::select_nth`]. Active points are processed in chunks so
/// that at most [`CALIBRATE_BUDGET`] statistics are held; each chunk regenerates (or
/// rereads) the uniforms.
///
/// # Errors
/// [`ParamError`] from `select_nth` when `m` is 0 or above `S` (excluded by the caller).
pub fn calibrate(plan: &BinomialPlan<'_>, m: usize) -> Result<Vec<f32>, ParamError> {
    calibrate_with_budget(plan, m, CALIBRATE_BUDGET)
}

/// [`calibrate`] holding at most `budget` statistics at once (at least one point's `S`).
fn calibrate_with_budget(plan: &BinomialPlan<'_>, m: usize, budget: usize) -> Result<Vec<f32>, ParamError> {
    let (sims, d) = (plan.sims, plan.d);
    let mut out = vec![f32::NAN; plan.grid];
    let chunk = (budget / sims).max(1);
    let mut counts = vec![0u32; chunk.min(plan.active.len())];
    let mut t = vec![0f32; counts.len() * sims];
    for (ci, gs) in plan.active.chunks(chunk).enumerate() {
        let p = &plan.p[ci * chunk * d..(ci * chunk + gs.len()) * d];
        let counts = &mut counts[..gs.len()];
        for s in 0..sims {
            counts_of(plan, s, p, counts);
            for (gi, &c) in counts.iter().enumerate() {
                t[gi * sims + s] = statistic::<f32>(c, plan.nd);
            }
        }
        for (gi, &g) in gs.iter().enumerate() {
            out[g] = select_nth(&mut t[gi * sims..(gi + 1) * sims], m)?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::binomial::BinomialSpec;

    #[test]
    fn chunked_calibration_equals_one_chunk() {
        let theta: Vec<f64> = (0..7 * 3).map(|i| (i as f64 * 0.37).sin()).collect();
        let mut nt = vec![true; 7];
        nt[2] = false;
        let spec = BinomialSpec { seed: 4, theta, d: 3, n: 4, sims: 301, null_truth: Some(nt) };
        let plan = spec.plan(crate::workload::binomial::Uniforms::Fused).unwrap();
        for m in [1, 17, 301] {
            let whole = calibrate_with_budget(&plan, m, usize::MAX).unwrap();
            for budget in [1, 301, 602, 1000] {
                let chunked = calibrate_with_budget(&plan, m, budget).unwrap();
                assert_eq!(
                    chunked.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                    whole.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
                );
            }
            assert!(whole[2].is_nan() && whole.iter().filter(|x| x.is_nan()).count() == 1);
        }
        // m = 1 is the minimum and m = S the maximum statistic, checked against validate.
        let lo = calibrate_with_budget(&plan, 1, usize::MAX).unwrap();
        let hi = calibrate_with_budget(&plan, 301, usize::MAX).unwrap();
        for g in [0, 1, 3, 4, 5, 6] {
            assert_eq!(validate(&plan, lo[g])[g], 0);
            assert_eq!(validate(&plan, hi[g].next_up())[g], 301);
        }
    }
}
