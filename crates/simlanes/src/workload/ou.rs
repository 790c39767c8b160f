//! W2 — the Ornstein–Uhlenbeck process, exact discretisation, f64 (WORKLOADS.md W2).
//! Simulation `i` takes its normals from stream `i` of the seed; the step and the
//! coefficient roundings are fixed in [`simcore::models::ou`].
//!
//! Three modes: (a) [`Simulator::ou_path`] writes every state, layout `[t][sim]` (batch
//! innermost, `num_steps + 1` rows including `x0`); (b) [`Simulator::ou_final`] keeps the
//! final state only; (c) [`Simulator::ou_with_normals`] runs the deterministic part on
//! normals the caller supplies (layout `[t][sim]`).

use crate::error::SimError;
use crate::simulator::{Backend, Simulator};
use simcore::ParamError;
use simcore::error::nonzero;
pub use simcore::models::ou::OuParams;

/// What to compute.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OuSpec {
    /// Seed of the random streams (benchmarks use 0).
    pub seed: u64,
    /// Number of independent simulations (>= 1); simulation `i` uses stream `i`.
    pub num_sim: usize,
    /// Steps per simulation (0 allowed: the output is then `x0`).
    pub num_steps: usize,
    /// Model parameters (defaults: `dt = 0.1, τ = 1, σ = 2, x0 = 0`).
    pub params: OuParams,
}

impl OuSpec {
    /// Checks the parameters and sizes.
    ///
    /// # Errors
    /// [`SimError::Param`]: invalid [`OuParams`], `num_sim = 0`, or a path length
    /// `(num_steps + 1)·num_sim` that overflows `usize`.
    pub fn validate(&self) -> Result<(), SimError> {
        self.params.validate()?;
        nonzero("num_sim", self.num_sim)?;
        self.path_len()?;
        Ok(())
    }

    /// Length of a full path array, `(num_steps + 1)·num_sim`.
    ///
    /// # Errors
    /// [`ParamError::TooLarge`] when it overflows `usize`.
    pub fn path_len(&self) -> Result<usize, SimError> {
        self.num_steps
            .checked_add(1)
            .and_then(|r| r.checked_mul(self.num_sim))
            .ok_or(SimError::Param(ParamError::TooLarge { name: "num_steps", max: usize::MAX as u64 }))
    }
}

impl Simulator {
    /// W2 mode (b): the final state `x[num_steps]` of every simulation.
    ///
    /// # Errors
    /// As [`OuSpec::validate`].
    pub fn ou_final(&self, spec: &OuSpec) -> Result<Vec<f64>, SimError> {
        spec.validate()?;
        Ok(match self.backend() {
            Backend::Scalar => crate::backend::scalar::ou::final_states(spec),
            Backend::Simd | Backend::Threaded(_) => crate::backend::simd::ou::final_states(self, spec),
        })
    }

    /// W2 mode (a): every state, `out[t·num_sim + i] = x_i[t]` for `t = 0..=num_steps`.
    ///
    /// # Errors
    /// As [`OuSpec::validate`], and [`SimError::Shape`] when `out.len()` is not
    /// `(num_steps + 1)·num_sim`. Nothing is written on error.
    pub fn ou_path(&self, spec: &OuSpec, out: &mut [f64]) -> Result<(), SimError> {
        spec.validate()?;
        let expected = spec.path_len()?;
        if out.len() != expected {
            return Err(SimError::Shape { name: "out", expected, got: out.len() });
        }
        match self.backend() {
            Backend::Scalar => crate::backend::scalar::ou::path(spec, out),
            Backend::Simd | Backend::Threaded(_) => crate::backend::simd::ou::path(spec, out),
        }
        Ok(())
    }

    /// W2 mode (c): the final states when `z[t·num_sim + i]` is the normal of simulation
    /// `i` at step `t` (`z` has `num_steps·num_sim` entries; `spec.seed` is unused).
    /// Non-finite normals are not rejected; they propagate into the affected states.
    ///
    /// # Errors
    /// As [`OuSpec::validate`], and [`SimError::Shape`] when `z.len()` is not
    /// `num_steps·num_sim`.
    pub fn ou_with_normals(&self, spec: &OuSpec, z: &[f64]) -> Result<Vec<f64>, SimError> {
        spec.validate()?;
        // Cannot overflow: (num_steps + 1)·num_sim fits.
        let expected = spec.num_steps * spec.num_sim;
        if z.len() != expected {
            return Err(SimError::Shape { name: "z", expected, got: z.len() });
        }
        Ok(match self.backend() {
            Backend::Scalar => crate::backend::scalar::ou::with_normals(spec, z),
            Backend::Simd | Backend::Threaded(_) => crate::backend::simd::ou::with_normals(self, spec, z),
        })
    }
}
