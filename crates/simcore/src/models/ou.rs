//! W2 — the Ornstein–Uhlenbeck process by its exact discretisation,
//! `x[t+1] = x[t]·relax + diffuse·z[t]`, `relax = exp(-dt/τ)`,
//! `diffuse = σ·sqrt(1 - relax²)`, `z[t] ~ N(0, 1)`.
//!
//! Written once over the lane type (W2 runs in f64: `f64` lane by lane, `f64x4` on
//! SIMD, one f64 GPU thread); lane `l` carries simulation `first + l`, whose normals are
//! stream `first + l`: `z[t]` is normal `t` ([`NormalSeq`], WORKLOADS.md "Random streams").
//!
//! **Roundings every backend must reproduce.**
//! * Coefficients, once per parameter set in f64 ([`OuParams::coeffs`]):
//!   `relax = libm::exp(-(dt / τ))` (the quotient rounded, then `libm`'s `exp`);
//!   `diffuse = σ · sqrt(fma(-relax, relax, 1))` (`1 - relax²` with one rounding,
//!   correctly rounded `sqrt`, the product rounded). They are then rounded to the lane
//!   precision (a no-op for f64). Kernels receive them as numbers; they never recompute them.
//! * Each step ([`ou_step`]): `x' = fma(x, relax, diffuse · z)` — `diffuse · z` rounded
//!   once, then `x·relax + (diffuse·z)` with a single rounding.
//!
//! The three modes of WORKLOADS.md share one loop, [`ou_evolve`]: (a) every state
//! written to a sink ([`ou_path_group`]), (b) the final state only ([`ou_final_group`]),
//! (c) normals supplied by the caller (the `normals` closure of [`ou_evolve`]).

use crate::error::{self, ParamError};
use crate::lane::{Precision, Real};
use crate::rng::{NormalSeq, Stream};

/// Parameters of the OU process (WORKLOADS.md W2 symbols).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OuParams {
    /// Time step `dt` (> 0).
    pub dt: f64,
    /// Relaxation time `τ` (> 0).
    pub tau: f64,
    /// Stationary standard deviation `σ` (>= 0): the stationary variance is `σ²`.
    pub sigma: f64,
    /// Initial state `x0`, the same for every simulation.
    pub x0: f64,
}

impl Default for OuParams {
    /// WORKLOADS.md defaults: `dt = 0.1, τ = 1, σ = 2, x0 = 0`.
    fn default() -> Self {
        Self { dt: 0.1, tau: 1.0, sigma: 2.0, x0: 0.0 }
    }
}

/// The two step coefficients, broadcast to a lane type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OuCoeffs<L> {
    /// `exp(-dt/τ)`: the lag-1 autocorrelation.
    pub relax: L,
    /// `σ·sqrt(1 - relax²)`: the noise scale of one step.
    pub diffuse: L,
}

impl OuParams {
    /// Checks every field: all finite, `dt > 0`, `τ > 0`, `σ >= 0`.
    ///
    /// # Errors
    /// The first offending field, as [`ParamError::NotFinite`], [`ParamError::NotPositive`]
    /// or [`ParamError::Negative`].
    pub fn validate(&self) -> Result<Self, ParamError> {
        error::positive("dt", self.dt)?;
        error::positive("tau", self.tau)?;
        error::non_negative("sigma", self.sigma)?;
        error::finite("x0", self.x0)?;
        Ok(*self)
    }

    /// The step coefficients in f64, with exactly the roundings of the module docs.
    pub fn coeffs_f64(&self) -> OuCoeffs<f64> {
        let relax = libm::exp(-(self.dt / self.tau));
        let one_minus_r2 = Real::mul_add(-relax, relax, 1.0);
        let diffuse = self.sigma * Real::sqrt(one_minus_r2);
        OuCoeffs { relax, diffuse }
    }

    /// [`Self::coeffs_f64`] rounded to the precision of `L` and broadcast to every lane.
    pub fn coeffs<L: Real>(&self) -> OuCoeffs<L> {
        let c = self.coeffs_f64();
        OuCoeffs {
            relax: L::splat(L::Scalar::from_f64(c.relax)),
            diffuse: L::splat(L::Scalar::from_f64(c.diffuse)),
        }
    }
}

/// One exact OU step: `x' = fma(x, relax, diffuse · z)` (two roundings, see module docs).
#[inline(always)]
pub fn ou_step<L: Real>(x: L, z: L, c: &OuCoeffs<L>) -> L {
    x.mul_add(c.relax, c.diffuse * z)
}

/// The one OU loop: from `x0`, `num_steps` steps with `z[t] = normals(t)` for
/// `t = 0, 1, …` in order; `row(t, x[t])` is called for every state `t = 0..=num_steps`
/// (`x[0] = x0` included) in order. Returns `x[num_steps]`.
///
/// Mode (c) of W2 passes caller normals here directly.
#[inline(always)]
pub fn ou_evolve<L: Real>(
    x0: L,
    c: &OuCoeffs<L>,
    num_steps: u64,
    mut normals: impl FnMut(u64) -> L,
    mut row: impl FnMut(u64, L),
) -> L {
    let mut x = x0;
    row(0, x);
    for t in 0..num_steps {
        x = ou_step(x, normals(t), c);
        row(t + 1, x);
    }
    x
}

/// Mode (b): the final state `x[num_steps]` of simulations `first, first + 1, …` (one
/// per lane) under `seed`, each starting at `x0`.
#[inline(always)]
pub fn ou_final_group<L: Real>(seed: u64, first: u64, num_steps: u64, x0: L, c: &OuCoeffs<L>) -> L {
    let mut z = NormalSeq::new(Stream::<L>::consecutive(seed, first), 0);
    ou_evolve(x0, c, num_steps, |_| z.next(), |_, _| {})
}

/// Mode (a): like [`ou_final_group`], and every state `x[t]`, `t = 0..=num_steps`, is
/// handed to `row(t, x[t])` in order (the backend stores lane `l` at
/// `out[t * num_sim + first + l]`: layout `[t][sim]`, batch innermost).
#[inline(always)]
pub fn ou_path_group<L: Real>(
    seed: u64,
    first: u64,
    num_steps: u64,
    x0: L,
    c: &OuCoeffs<L>,
    row: impl FnMut(u64, L),
) -> L {
    let mut z = NormalSeq::new(Stream::<L>::consecutive(seed, first), 0);
    ou_evolve(x0, c, num_steps, |_| z.next(), row)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream::box_muller;

    #[test]
    fn defaults_and_coefficients() {
        let p = OuParams::default();
        assert_eq!(p, OuParams { dt: 0.1, tau: 1.0, sigma: 2.0, x0: 0.0 });
        let c = p.coeffs_f64();
        assert!((c.relax - libm::exp(-0.1)).abs() <= f64::EPSILON * c.relax);
        let want = 2.0 * libm::sqrt(-libm::expm1(-0.2));
        assert!((c.diffuse - want).abs() <= 4.0 * f64::EPSILON * want, "{} {want}", c.diffuse);
        // Stationarity of the coefficients: relax² + (diffuse/σ)² = 1.
        let d = c.diffuse / 2.0;
        assert!((c.relax * c.relax + d * d - 1.0).abs() < 4.0 * f64::EPSILON);
        let c32 = p.coeffs::<f32>();
        assert_eq!(c32.relax, c.relax as f32);
        assert_eq!(c32.diffuse, c.diffuse as f32);
    }

    #[test]
    fn sigma_zero_gives_pure_decay() {
        let p = OuParams { sigma: 0.0, x0: 3.0, ..OuParams::default() };
        let c = p.coeffs::<f64>();
        assert_eq!(c.diffuse, 0.0);
        let x = ou_final_group::<f64>(1, 0, 10, 3.0, &c);
        let mut want = 3.0f64;
        for _ in 0..10 {
            want *= c.relax;
        }
        assert_eq!(x, want);
    }

    #[test]
    fn step_is_the_documented_fma() {
        let c = OuCoeffs { relax: 0.9f64, diffuse: 0.3 };
        for (x, z) in [(1.0f64, 0.5), (-2.5, 1.75), (1e-3, -3.0)] {
            assert_eq!(ou_step(x, z, &c), x.mul_add(0.9, 0.3 * z));
        }
        // Linearity in (x0, z) up to rounding: x1(2·x0, 2·z) = 2·x1(x0, z) exactly.
        assert_eq!(ou_step(2.0f64, 1.0, &c), 2.0 * ou_step(1.0, 0.5, &c));
    }

    #[test]
    fn validate_rejects_each_bad_field() {
        let ok = OuParams::default();
        assert_eq!(ok.validate(), Ok(ok));
        let bad = [
            (OuParams { dt: 0.0, ..ok }, "dt"),
            (OuParams { dt: f64::NAN, ..ok }, "dt"),
            (OuParams { tau: -1.0, ..ok }, "tau"),
            (OuParams { tau: f64::INFINITY, ..ok }, "tau"),
            (OuParams { sigma: -0.5, ..ok }, "sigma"),
            (OuParams { x0: f64::NEG_INFINITY, ..ok }, "x0"),
        ];
        for (p, field) in bad {
            let got = match p.validate() {
                Err(ParamError::NotFinite { name, .. })
                | Err(ParamError::NotPositive { name, .. })
                | Err(ParamError::Negative { name, .. }) => name,
                other => panic!("{other:?}"),
            };
            assert_eq!(got, field);
        }
        assert_eq!(OuParams { sigma: 0.0, ..ok }.validate().map(|p| p.sigma), Ok(0.0));
    }

    #[test]
    fn final_and_path_follow_the_stream_normals() {
        let c = OuParams::default().coeffs::<f64>();
        let (seed, sim, steps) = (9u64, 4u64, 7u64);
        // Hand loop over Box–Muller pairs of stream `sim`.
        let s = Stream::<f64>::consecutive(seed, sim);
        let mut x = 0.5f64;
        let mut want = [x; 8];
        for t in 0..steps {
            let (z0, z1) = box_muller(s.uniform(t & !1), s.uniform(t | 1));
            x = ou_step(x, if t % 2 == 0 { z0 } else { z1 }, &c);
            want[t as usize + 1] = x;
        }
        assert_eq!(ou_final_group::<f64>(seed, sim, steps, 0.5, &c), x);
        let mut got = [f64::NAN; 8];
        let last = ou_path_group::<f64>(seed, sim, steps, 0.5, &c, |t, v| got[t as usize] = v);
        assert_eq!(last, x);
        assert_eq!(got, want);
    }

    #[test]
    fn evolve_with_caller_normals() {
        let c = OuCoeffs { relax: 0.5f64, diffuse: 2.0 };
        let z = [1.0, -1.0, 0.25];
        let x = ou_evolve(4.0f64, &c, 3, |t| z[t as usize], |_, _| {});
        // 4 → 2 + 2 = 4 → 2 - 2 = 0 → 0 + 0.5 = 0.5
        assert_eq!(x, 0.5);
    }
}
