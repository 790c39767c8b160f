//! W1 — Monte Carlo π: `I` independent estimates, each from `N` uniform pairs,
//! `π̂[i] = 4·#{x² + y² < 1}/N` (WORKLOADS.md W1). Estimate `i` uses stream `i` of the
//! seed, so the answer does not depend on the backend or on how the batch is split.
//! The hit test and the stream layout are fixed in [`simcore::models::pi`].

use crate::error::SimError;
use crate::simulator::{Backend, Simulator};
use crate::workload::jax::{JaxKey, check_member_draws};
use simcore::error::nonzero;
use simcore::models::pi::validate_pairs;

/// What to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PiSpec {
    /// Seed of the random streams (benchmarks use 0).
    pub seed: u64,
    /// Pairs per estimate `N` (1 ..= `u32::MAX`).
    pub pairs_per_estimate: u64,
    /// Number of estimates `I` (>= 1); estimate `i` uses stream `i`.
    pub estimates: usize,
    /// When `Some`, the uniforms come from this JAX key, not from the Philox streams of
    /// `seed`: estimate `i` of the batch draws with key `jax.random.split(key, I)[i]`,
    /// pair `j` = `xy[j]` of `xy = jax.random.uniform(k_i, (N, 2))` (mapping and migration example in [`crate::workload::jax`]).
    pub jax_key: Option<JaxKey>,
}

impl PiSpec {
    /// Checks the sizes.
    ///
    /// # Errors
    /// [`SimError::Param`] with `ZeroSize` or `TooLarge`.
    pub fn validate(&self) -> Result<(), SimError> {
        validate_pairs(self.pairs_per_estimate)?;
        nonzero("estimates", self.estimates)?;
        check_member_draws(self.jax_key, self.estimates, Some(2 * self.pairs_per_estimate))?;
        Ok(())
    }
}

/// The result of [`Simulator::pi`].
#[derive(Debug, Clone, PartialEq)]
pub struct PiOutput {
    /// Hits (pairs inside the quarter circle) of each estimate.
    pub hits: Vec<u64>,
    /// `4·hits[i]/N` of each estimate.
    pub estimates: Vec<f64>,
    /// The mean estimate, computed as `4·(Σ hits)/(N·I)` in f64 from the exact integer
    /// total (so it is independent of summation order, hence of the backend).
    pub mean: f64,
}

impl PiOutput {
    /// Builds the estimates and their mean from the hit counts.
    pub fn from_hits(hits: Vec<u64>, pairs_per_estimate: u64) -> Self {
        let n = pairs_per_estimate as f64;
        let estimates = hits.iter().map(|&h| 4.0 * h as f64 / n).collect();
        let total: u128 = hits.iter().map(|&h| u128::from(h)).sum();
        let mean = 4.0 * total as f64 / (n * hits.len() as f64);
        Self { hits, estimates, mean }
    }
}

impl Simulator {
    /// Runs W1: `spec.estimates` estimates of π from `spec.pairs_per_estimate` pairs each.
    ///
    /// # Errors
    /// [`SimError::Param`] when `pairs_per_estimate` is 0 or above `u32::MAX`, or
    /// `estimates` is 0.
    pub fn pi(&self, spec: &PiSpec) -> Result<PiOutput, SimError> {
        spec.validate()?;
        // Hit counts and estimates.
        crate::memory::ensure_all_allocatable("pi estimates", &[(spec.estimates, 16)])?;
        let hits = match self.backend() {
            Backend::Scalar => crate::backend::scalar::pi::run(spec),
            Backend::Simd | Backend::Threaded(_) => crate::backend::simd::pi::run(self, spec),
            Backend::Gpu { .. } => self.device()?.pi(spec)?,
        };
        Ok(PiOutput::from_hits(hits, spec.pairs_per_estimate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use simcore::ParamError;

    #[test]
    fn output_from_hits() {
        let out = PiOutput::from_hits(vec![3, 4, 2], 4);
        assert_eq!(out.estimates, vec![3.0, 4.0, 2.0]);
        assert_eq!(out.mean, 3.0);
    }

    #[test]
    fn bad_specs_are_typed_errors() {
        let sim = Simulator::default();
        let ok = PiSpec { seed: 0, pairs_per_estimate: 10, estimates: 3, jax_key: None };
        assert!(matches!(
            sim.pi(&PiSpec { pairs_per_estimate: 0, ..ok }),
            Err(SimError::Param(ParamError::ZeroSize { .. }))
        ));
        assert!(matches!(
            sim.pi(&PiSpec { pairs_per_estimate: 1 << 32, ..ok }),
            Err(SimError::Param(ParamError::TooLarge { .. }))
        ));
        assert!(matches!(
            sim.pi(&PiSpec { estimates: 0, ..ok }),
            Err(SimError::Param(ParamError::ZeroSize { name: "estimates" }))
        ));
        assert_eq!(sim.pi(&ok).map(|o| o.hits.len()).ok(), Some(3));
    }
}
