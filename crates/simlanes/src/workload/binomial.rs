//! W3 — binomial rejection counting over a parameter grid, the calibration kernel
//! (WORKLOADS.md W3).
//!
//! Grid point `g` has `d` arm parameters `θ[g, ·]` and success probabilities
//! `p[g,a] = expit(θ[g,a])` (f64, rounded once to f32: [`simcore::models::binomial::expit_f32`]).
//! Simulation `s` uses stream `s` at every grid point (common random numbers); its
//! statistic at `g` is `T[g,s] = f32(count[g,s]) / f32(n·d)` with
//! `count[g,s] = #{(k, a) : U[s,k,a] < p[g,a]}`.
//!
//! * [`Simulator::binomial_validate`]: `rej[g] = #{s : T[g,s] < λ}` at the points where the
//!   null holds; [`type_one_error`] turns it into `rej/S` and a one-sided 99%
//!   Clopper–Pearson upper bound.
//! * [`Simulator::binomial_calibrate`]: `λ*[g]` = the `m`-th smallest `T[g,s]`,
//!   `m = max(⌊(S+1)·α⌋, 1)`.
//!
//! Uniforms are fused (generated from the streams, never stored) or pregenerated (an
//! `[s][k][a]` array, e.g. from [`Simulator::binomial_fill_uniforms`]); both give the same
//! counts when the array holds the same streams.
//!
//! Readings of WORKLOADS.md chosen here: λ is rounded to f32 and must be finite (λ outside
//! `[0, 1]` is allowed: it rejects everything or nothing); `calibrate` returns `f32::NAN`
//! at points where `null_truth[g]` is false (no null simulations to calibrate on); `m` is
//! computed in f64 ([`simcore::stats::calibration_index`]).

use crate::error::SimError;
use crate::simulator::{Backend, Simulator};
use crate::workload::jax::JaxKey;
use simcore::ParamError;
use simcore::error::nonzero;
use simcore::lane::{Real, UintLane};
use simcore::models::binomial::{
    count_fused_grid, count_jax_grid, count_pregenerated_grid, expit_f32, validate_shape,
};
use simcore::rng::jax::JaxLanes;

/// Where the uniforms come from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Uniforms<'a> {
    /// Generated in registers from stream `s` of the seed, never written to memory.
    Fused,
    /// A caller-owned `S × n × d` array, layout `[s][k][a]` row-major.
    Pregenerated(&'a [f32]),
    /// JAX's `jax.random.uniform(key, (sims, n, d))`, generated in registers element by
    /// element (one threefry hash each), never written to memory: the same counts as
    /// [`Uniforms::Pregenerated`] on that array
    /// ([`crate::workload::jax::binomial_uniforms_from_jax_key`]) without its
    /// `4·S·n·d` bytes. `sims` must be the run's `S` (under the legacy layout every value
    /// depends on the array's size). The GPU backend draws the array on the host and
    /// uploads it.
    Jax {
        /// The key of the draw.
        key: JaxKey,
        /// `S`, the draw's first dimension.
        sims: usize,
    },
}

impl Uniforms<'_> {
    /// Checks these uniforms against a run of `sims` simulations of `nd = n·d` uniforms.
    ///
    /// # Errors
    /// [`SimError::Shape`]: a pregenerated array not of length `S·n·d`, or a JAX draw of
    /// another `S` (`name` `"uniforms"` / `"jax sims"`); [`SimError::Param`]: a legacy-layout
    /// JAX draw of `2^32 − 1` words or more, `S·n·d` overflowing (`TooLarge`), or a
    /// pregenerated uniform that is NaN or outside `[0, 1]` (`NotProbability`: such a value
    /// would silently count as below every `p`, or below none).
    pub(crate) fn check(&self, sims: usize, nd: usize) -> Result<(), SimError> {
        let total =
            sims.checked_mul(nd).ok_or(ParamError::TooLarge { name: "sims*n*d", max: usize::MAX as u64 })?;
        match *self {
            Uniforms::Fused => Ok(()),
            Uniforms::Pregenerated(u) if u.len() != total => {
                Err(SimError::Shape { name: "uniforms", expected: total, got: u.len() })
            }
            Uniforms::Pregenerated(u) => {
                // One pass over the array, against the G passes of the counting.
                match u.iter().find(|x| !(0.0..=1.0).contains(*x)) {
                    Some(&x) => {
                        Err(ParamError::NotProbability { name: "uniforms", value: f64::from(x) }.into())
                    }
                    None => Ok(()),
                }
            }
            Uniforms::Jax { sims: s, .. } if s != sims => {
                Err(SimError::Shape { name: "jax sims", expected: sims, got: s })
            }
            Uniforms::Jax { key, .. } => {
                JaxLanes::<u32>::new(|_| key.core(), key.layout(), total as u64)?;
                Ok(())
            }
        }
    }

    /// Counts of simulations `first, first + 1, …` (one per lane of `L`) at the points `p`
    /// (`counts.len() × d`, row-major), `n` uniforms per arm, from these uniforms (`seed`
    /// for [`Uniforms::Fused`]): the one dispatch of the CPU backends and the calibration
    /// engine. The uniforms must have passed [`Uniforms::check`].
    #[inline(always)]
    pub(crate) fn count_grid<L: Real<Scalar = f32>>(
        &self,
        seed: u64,
        first: usize,
        n: usize,
        d: usize,
        p: &[f32],
        counts: &mut [L::Bits],
    ) {
        match *self {
            Uniforms::Fused => count_fused_grid::<L>(seed, first as u64, n, d, p, counts),
            Uniforms::Pregenerated(u) => count_pregenerated_grid::<L>(u, first, n, d, p, counts),
            Uniforms::Jax { key, sims } => {
                let lanes = jax_lanes::<L::Words>(key, sims * n * d);
                count_jax_grid::<L>(&lanes, first as u64, n, d, p, counts)
            }
        }
    }
}

/// The lanes that read `jax.random.uniform(key, shape)` of `total` elements a row per
/// lane (one key in every lane).
///
/// # Panics
/// Under the legacy layout for `total >= 2^32 − 1`, which [`Uniforms::check`] refuses
/// first.
#[inline(always)]
pub(crate) fn jax_lanes<W: UintLane<Scalar = u32>>(key: JaxKey, total: usize) -> JaxLanes<W> {
    JaxLanes::new(|_| key.core(), key.layout(), total as u64).expect("Uniforms::check bounds legacy draws")
}

/// What to compute.
#[derive(Debug, Clone, PartialEq)]
pub struct BinomialSpec {
    /// Seed of the random streams (benchmarks use 0); simulation `s` uses stream `s`.
    pub seed: u64,
    /// Grid, `G × d` row-major (`θ[g·d + a]`); every entry finite.
    pub theta: Vec<f64>,
    /// Arms per grid point (the seed sizes use 4).
    pub d: usize,
    /// Samples per arm (>= 1; `n·d <= 2^24`).
    pub n: usize,
    /// Simulations `S` (>= 1).
    pub sims: usize,
    /// Whether the null hypothesis holds at each grid point (`G` entries); `None` = all.
    pub null_truth: Option<Vec<bool>>,
}

/// A validated [`BinomialSpec`] in the form every backend consumes: the grid reduced to
/// the points where the null holds, with their f32 probabilities.
#[derive(Debug, Clone)]
pub struct BinomialPlan<'a> {
    /// Stream seed.
    pub seed: u64,
    /// Samples per arm.
    pub n: usize,
    /// Arms.
    pub d: usize,
    /// Uniforms per simulation, `n·d` (`<= 2^24`).
    pub nd: usize,
    /// Simulations `S`.
    pub sims: usize,
    /// Grid points `G`.
    pub grid: usize,
    /// Indices of the points where the null holds, ascending.
    pub active: Vec<usize>,
    /// `p` of the active points, `active.len() × d` row-major.
    pub p: Vec<f32>,
    /// The uniforms' source (a pregenerated array has been length-checked).
    pub uniforms: Uniforms<'a>,
}

impl BinomialSpec {
    /// Number of grid points `G = θ.len() / d` (0 if `d = 0`).
    pub fn grid_points(&self) -> usize {
        self.theta.len().checked_div(self.d).unwrap_or(0)
    }

    /// Checks everything and computes `p`.
    ///
    /// # Errors
    /// * [`SimError::Param`]: `d`, `n`, `sims` or `G` zero (`ZeroSize`, names `"d"`, `"n"`,
    ///   `"sims"`, `"theta"`); `n·d > 2^24` or `S·n·d` overflowing (`TooLarge`); a NaN or
    ///   infinite `θ` (`NotFinite`, name `"theta"`).
    /// * [`SimError::Shape`]: `θ.len()` not a multiple of `d` (`expected` is the largest
    ///   multiple of `d` below it), `null_truth` not of length `G`, or a pregenerated
    ///   array not of length `S·n·d`.
    pub fn plan<'a>(&self, uniforms: Uniforms<'a>) -> Result<BinomialPlan<'a>, SimError> {
        let d = nonzero("d", self.d)?;
        let len = self.theta.len();
        if !len.is_multiple_of(d) {
            return Err(SimError::Shape { name: "theta", expected: len - len % d, got: len });
        }
        let grid = nonzero("theta", len / d)?;
        if let Some(&value) = self.theta.iter().find(|t| !t.is_finite()) {
            return Err(ParamError::NotFinite { name: "theta", value }.into());
        }
        let nd = validate_shape(self.n, d)?;
        let sims = nonzero("sims", self.sims)?;
        uniforms.check(sims, nd)?;
        let active: Vec<usize> = match &self.null_truth {
            None => (0..grid).collect(),
            Some(nt) if nt.len() == grid => (0..grid).filter(|&g| nt[g]).collect(),
            Some(nt) => return Err(SimError::Shape { name: "null_truth", expected: grid, got: nt.len() }),
        };
        let p = active
            .iter()
            .flat_map(|&g| self.theta[g * d..(g + 1) * d].iter().map(|&t| expit_f32(t)))
            .collect();
        Ok(BinomialPlan { seed: self.seed, n: self.n, d, nd, sims, grid, active, p, uniforms })
    }
}

/// The rank `m = max(⌊(S+1)·α⌋, 1)` of the calibrated threshold (1-based), by
/// [`simcore::stats::calibration_index`] (product in f64), after requiring `0 < α < 1`.
///
/// # Errors
/// [`SimError::Param`]: `NotOpenProbability` unless `0 < α < 1`; `ZeroSize` for `S = 0`;
/// `TooLarge` when `α` is so close to 1 that `(S+1)·α` rounds to `S + 1`.
pub fn calibration_rank(sims: usize, alpha: f64) -> Result<usize, SimError> {
    simcore::error::open_probability("alpha", alpha)?;
    Ok(simcore::stats::calibration_index(sims as u64, alpha)?)
}

/// The type I error estimate `rej/S` and its one-sided 99% Clopper–Pearson upper bound
/// ([`simcore::stats::clopper_pearson_upper`]`(rej, S, 0.01)`: the `p_U` with
/// `P(Binomial(S, p_U) <= rej) = 0.01`, 1 when `rej = S`). Returns `(rej/S, p_U)`.
///
/// # Errors
/// [`SimError::Param`] when `sims = 0` (`ZeroSize`) or `rej > sims` (`TooLarge`).
pub fn type_one_error(rej: u64, sims: u64) -> Result<(f64, f64), SimError> {
    let upper = simcore::stats::clopper_pearson_upper(rej, sims, 0.01)?;
    Ok((rej as f64 / sims as f64, upper))
}

impl Simulator {
    /// W3 **validate**: per grid point, the number of simulations with `T[g,s] < λ`
    /// (`λ` rounded to f32 first); 0 where `null_truth[g]` is false.
    ///
    /// # Errors
    /// As [`BinomialSpec::plan`], and [`SimError::Param`] (`NotFinite`, name `"lambda"`)
    /// for a NaN or infinite `λ`.
    pub fn binomial_validate(
        &self,
        spec: &BinomialSpec,
        lambda: f64,
        uniforms: Uniforms<'_>,
    ) -> Result<Vec<u64>, SimError> {
        simcore::error::finite("lambda", lambda)?;
        let plan = spec.plan(uniforms)?;
        let lambda = lambda as f32;
        Ok(match self.backend() {
            Backend::Scalar => crate::backend::scalar::binomial::validate(&plan, lambda),
            Backend::Simd | Backend::Threaded(_) => {
                crate::backend::simd::binomial::validate(self, &plan, lambda)
            }
            Backend::Gpu { .. } => self.device()?.binomial_validate(&plan, lambda)?,
        })
    }

    /// W3 **calibrate**: per grid point, `λ*[g]` = the `m`-th smallest `T[g,s]` over the
    /// `S` simulations, `m = max(⌊(S+1)·α⌋, 1)` ([`calibration_rank`]); `f32::NAN` where
    /// `null_truth[g]` is false.
    ///
    /// # Errors
    /// As [`BinomialSpec::plan`] and [`calibration_rank`] (`0 < α < 1` required).
    pub fn binomial_calibrate(
        &self,
        spec: &BinomialSpec,
        alpha: f64,
        uniforms: Uniforms<'_>,
    ) -> Result<Vec<f32>, SimError> {
        simcore::error::open_probability("alpha", alpha)?;
        let plan = spec.plan(uniforms)?;
        let m = calibration_rank(plan.sims, alpha)?;
        // At least one point's `S` statistics are held at once (twice while threaded).
        crate::memory::ensure_allocatable::<f32>("calibration statistics", plan.sims.saturating_mul(2))?;
        Ok(match self.backend() {
            Backend::Scalar => crate::backend::scalar::binomial::calibrate(&plan, m)?,
            Backend::Simd | Backend::Threaded(_) => crate::backend::simd::binomial::calibrate(self, &plan, m),
            // Histograms of the counts on the device, the m-th count picked on the host.
            Backend::Gpu { .. } => self.device()?.binomial_calibrate(&plan, m)?,
        })
    }

    /// The pregenerated uniforms of simulations `0..sims`: an `S × n × d` array, layout
    /// `[s][k][a]`, `U[s,k,a]` = f32 uniform `k·d + a` of stream `s` of `seed`.
    ///
    /// # Errors
    /// [`SimError::Param`]: `sims`, `n` or `d` zero, `n·d > 2^24`, or `S·n·d` overflowing.
    pub fn binomial_fill_uniforms(
        &self,
        seed: u64,
        sims: usize,
        n: usize,
        d: usize,
    ) -> Result<Vec<f32>, SimError> {
        let nd = validate_shape(n, d)?;
        nonzero("sims", sims)?;
        let total =
            sims.checked_mul(nd).ok_or(ParamError::TooLarge { name: "sims*n*d", max: usize::MAX as u64 })?;
        crate::memory::ensure_allocatable::<f32>("uniforms", total)?;
        let mut out = vec![0f32; total];
        match self.backend() {
            Backend::Scalar => simcore::models::binomial::fill_uniforms(seed, 0, nd, &mut out),
            Backend::Simd | Backend::Threaded(_) => {
                crate::backend::simd::binomial::fill_uniforms(self, seed, nd, &mut out)
            }
            Backend::Gpu { .. } => {
                let count = u32::try_from(nd)
                    .map_err(|_| ParamError::TooLarge { name: "n*d", max: u32::MAX.into() })?;
                out = self.device()?.uniforms(seed, 0, sims, count)?;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_formula() {
        assert_eq!(calibration_rank(99, 0.05).ok(), Some(5));
        assert_eq!(calibration_rank(10, 0.01).ok(), Some(1));
        assert_eq!(calibration_rank(10, 0.999_999).ok(), Some(10));
        assert_eq!(calibration_rank(1, 0.5).ok(), Some(1));
        assert!(matches!(calibration_rank(0, 0.5), Err(SimError::Param(ParamError::ZeroSize { .. }))));
        for bad in [0.0, 1.0, -0.1, f64::NAN] {
            assert!(matches!(
                calibration_rank(10, bad),
                Err(SimError::Param(ParamError::NotOpenProbability { name: "alpha", .. }))
            ));
        }
    }

    #[test]
    fn clopper_pearson_known_values() {
        // rej = 0: p_U = 1 - 0.01^(1/S).
        let (e, u) = type_one_error(0, 100).unwrap();
        assert_eq!(e, 0.0);
        assert!((u - (1.0 - 0.01f64.powf(0.01))).abs() < 1e-10, "{u}");
        // P(Bin(S, p_U) <= rej) = 0.01 at the bound.
        let (e, u) = type_one_error(37, 1000).unwrap();
        assert_eq!(e, 0.037);
        let cdf = simcore::stats::binomial_cdf_le(1000, 37, u).unwrap();
        assert!((cdf - 0.01).abs() < 1e-9, "{cdf}");
        assert!(u > 0.037 && u < 0.06);
        assert_eq!(type_one_error(5, 5).unwrap(), (1.0, 1.0));
        assert!(type_one_error(6, 5).is_err());
        assert!(type_one_error(0, 0).is_err());
    }
}
