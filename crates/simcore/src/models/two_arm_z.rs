//! Two-arm z-test on normal outcomes — the second calibration model, proving the
//! calibration engine (`simlanes::calibration`) is not tied to W3.
//!
//! A trial with `n` patients per arm; outcomes `X[k,0] = μ_c + Z[k,0]` (control) and
//! `X[k,1] = μ_t + Z[k,1]` (treatment), unit variance known. The one-sided z statistic for
//! "treatment better than control" is `z = (X̄_t − X̄_c) / sqrt(2/n)`; the engine wants
//! "lower = more evidence", so the test statistic is `T = −z` and the design rejects when
//! `T < λ` (λ ≈ −1.96 for a one-sided 2.5 % test). The null hypothesis at a grid point
//! `(μ_c, μ_t)` is `μ_t <= μ_c`.
//!
//! **Streams** (common random numbers, as W3): simulation `s` uses stream `s` at every grid
//! point; `Z[k,a]` is normal `2k + a` of that stream (Box–Muller, the stream contract), so
//! each Box–Muller pair gives one control and one treatment noise.
//!
//! **Decomposition.** `X̄_t − X̄_c = (μ_t − μ_c) + (ΣZ_t − ΣZ_c)/n`: the noise sums depend on
//! the simulation only ([`arm_sums`], O(n) once per simulation) and the grid point enters
//! through one number, the effect `μ_t − μ_c` ([`effect`]), so a statistic costs O(1) per
//! grid point ([`statistic`]). Every step is a fixed sequence of correctly rounded f32
//! operations, written over the lane type: same bits on `f32`, `f32x8` and a GPU thread.

use crate::error::{self, ParamError};
use crate::lane::Real;
use crate::rng::{NormalSeq, Stream};

/// Per-design constants of the statistic, rounded once from f64 to f32.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ZCoeffs {
    /// Patients per arm, `n`.
    pub n: usize,
    /// `1/n`.
    pub inv_n: f32,
    /// `sqrt(n/2)`, the inverse standard error of the difference of two means.
    pub scale: f32,
}

impl ZCoeffs {
    /// The constants for `n` patients per arm.
    ///
    /// # Errors
    /// [`ParamError::ZeroSize`] (name `"n"`) for `n = 0`; [`ParamError::TooLarge`] for
    /// `n > 2^24` (the normal index `2n` must stay exact).
    pub fn new(n: usize) -> Result<Self, ParamError> {
        error::nonzero("n", n)?;
        if n > 1 << 24 {
            return Err(ParamError::TooLarge { name: "n", max: 1 << 24 });
        }
        let nf = n as f64;
        Ok(Self { n, inv_n: (1.0 / nf) as f32, scale: libm::sqrt(nf / 2.0) as f32 })
    }
}

/// The effect `μ_t − μ_c` of a grid point, in f64 rounded once to f32.
pub fn effect(mu_control: f64, mu_treatment: f64) -> f32 {
    (mu_treatment - mu_control) as f32
}

/// The null hypothesis at `(μ_c, μ_t)`: treatment no better than control, `μ_t <= μ_c`.
pub fn null_holds(mu_control: f64, mu_treatment: f64) -> bool {
    mu_treatment <= mu_control
}

/// Noise sums `[ΣZ_c, ΣZ_t]` (`k = 0..n`, summed in order in f32) of simulations
/// `first, first + 1, …` (one per lane), `Z[k,a]` = normal `2k + a` of stream `s`.
#[inline(always)]
pub fn arm_sums<L: Real<Scalar = f32>>(seed: u64, first: u64, n: usize) -> [L; 2] {
    let mut z = NormalSeq::new(Stream::<L>::consecutive(seed, first), 0);
    let mut sums = [L::splat(0.0); 2];
    for _ in 0..n {
        sums[0] = sums[0] + z.next();
        sums[1] = sums[1] + z.next();
    }
    sums
}

/// `T = −z = −((ΣZ_t − ΣZ_c)·(1/n) + effect)·sqrt(n/2)`: lower is more evidence that the
/// treatment is better. One `mul_add` then one multiply, so the bits are fixed.
#[inline(always)]
pub fn statistic<L: Real<Scalar = f32>>(sums: [L; 2], effect: f32, c: &ZCoeffs) -> L {
    let diff = (sums[1] - sums[0]).mul_add(L::splat(c.inv_n), L::splat(effect));
    diff * L::splat(-c.scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coefficients() {
        let c = ZCoeffs::new(50).unwrap();
        assert_eq!(c.scale, 5.0);
        assert_eq!(c.inv_n, 0.02);
        assert_eq!(ZCoeffs::new(0), Err(ParamError::ZeroSize { name: "n" }));
        assert!(matches!(ZCoeffs::new((1 << 24) + 1), Err(ParamError::TooLarge { .. })));
        assert_eq!(effect(0.25, 0.75), 0.5);
        assert!(null_holds(0.0, 0.0) && null_holds(1.0, 0.5) && !null_holds(0.0, 0.1));
    }

    #[test]
    fn sums_follow_the_stream_contract() {
        // Normal 2k + a of stream s, by hand from Box–Muller on uniforms 2m, 2m+1.
        let (seed, n) = (11u64, 7usize);
        for s in [0u64, 5, 1 << 40] {
            let st = Stream::<f32>::consecutive(seed, s);
            let mut want = [0f32; 2];
            for k in 0..n as u64 {
                let (z0, z1) = crate::rng::stream::box_muller(st.uniform(2 * k), st.uniform(2 * k + 1));
                want[0] += z0;
                want[1] += z1;
            }
            assert_eq!(arm_sums::<f32>(seed, s, n), want, "stream {s}");
        }
    }

    #[test]
    fn null_rejection_rate_is_alpha() {
        // Under μ_t = μ_c, T ~ N(0, 1): P(T < −1.959964) = 0.025; 4 standard errors.
        let (seed, n, sims) = (3u64, 20usize, 20_000u64);
        let c = ZCoeffs::new(n).unwrap();
        let rej = (0..sims)
            .filter(|&s| statistic::<f32>(arm_sums::<f32>(seed, s, n), 0.0, &c) < -1.959_964)
            .count() as f64;
        let se = (0.025f64 * 0.975 / sims as f64).sqrt();
        assert!((rej / sims as f64 - 0.025).abs() < 4.0 * se, "rate {}", rej / sims as f64);
        // A true effect of 3 standard errors is detected most of the time (power ≈ 0.85).
        let eff = 3.0 / c.scale;
        let hits = (0..2000u64)
            .filter(|&s| statistic::<f32>(arm_sums::<f32>(seed, s, n), eff, &c) < -1.959_964)
            .count() as f64
            / 2000.0;
        let se = (0.85f64 * 0.15 / 2000.0).sqrt();
        assert!((hits - 0.851).abs() < 4.0 * se, "power {hits}");
    }
}
