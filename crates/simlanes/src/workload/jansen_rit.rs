//! W4 — the Jansen–Rit neural-mass network SDE, with optional delays (W4d)
//! (WORKLOADS.md W4). Member `b` of the batch takes its noise from stream `b` of the seed;
//! the drift, the coupling and the Heun step (all roundings) are fixed once in
//! [`simcore::models::jansen_rit`] and [`simcore::models::heun`], so every backend
//! computes the same bits.
//!
//! Arrays that hold one value per member use the batch-innermost layout
//! `[var][node][batch]` (element `(v*nn + i)*B + b`): one SIMD lane or one GPU thread
//! carries one member.
//!
//! Readings of WORKLOADS.md fixed here:
//! * `lags = Some(..)` selects the delayed coupling (W4d), computed once per step; `None`
//!   the instantaneous coupling recomputed from the predictor. Lags are `u8`, so they
//!   always fit the 256-slot ring buffer (`0..=255` steps).
//! * `k` and `mu` have length 1 (broadcast to every member) or `B`.
//! * Non-finite weights, `k`, `mu` or initial states are rejected, not propagated.

use crate::error::SimError;
use crate::simulator::{Backend, Simulator};
use crate::workload::jax::{JaxKey, check_member_draws};
use simcore::ParamError;
use simcore::error::{finite, nonzero};
pub use simcore::models::jansen_rit::{DEFAULT_K, DEFAULT_MU, JansenRitParams, NV};

/// What to compute: a batch of `B` Jansen–Rit networks sharing the weights (and lags).
#[derive(Debug, Clone, PartialEq)]
pub struct JansenRitSpec {
    /// Seed of the random streams (benchmarks use 0); member `b` uses stream `b`.
    pub seed: u64,
    /// Nodes per network (>= 1).
    pub nn: usize,
    /// Steps (>= 1).
    pub nt: usize,
    /// Batch size `B` (>= 1).
    pub batch: usize,
    /// Time step (> 0; W4: 1.0).
    pub dt: f32,
    /// Noise intensity on every variable (>= 0; W4: 1e-3); the step's noise scale is
    /// `sigma*sqrt(dt)` in f32.
    pub sigma: f32,
    /// Shared model parameters.
    pub params: JansenRitParams,
    /// Coupling strength per member (length 1 = broadcast, or `B`).
    pub k: Vec<f32>,
    /// External input `mu` per member (length 1 = broadcast, or `B`).
    pub mu: Vec<f32>,
    /// Weights `W[i,j]` (input of node `i` from node `j`), `nn*nn` row-major.
    pub weights: Vec<f32>,
    /// Lags `L[i,j]` in steps (`nn*nn` row-major); `Some` selects the delayed model W4d.
    pub lags: Option<Vec<u8>>,
    /// Initial state `[6][nn][B]`; `None` = all zeros.
    pub initial: Option<Vec<f32>>,
    /// When `Some`, the noise normals come from this JAX key, not from the Philox streams of
    /// `seed`: member `i` of the batch draws with key `jax.random.split(key, B)[i]`,
    /// the noise of variable `v` of node `i` at step `t` is
    /// `jax.random.normal(k_i, (nt, nn, 6))[t, i, v]` (f32) (mapping and migration example in [`crate::workload::jax`]).
    /// The default connectivity (weights, lags) still comes from `seed`: it is a fixed
    /// network, not noise.
    pub jax_key: Option<JaxKey>,
}

/// The default weights of WORKLOADS.md (stream `2^64 - 1` of `seed`, zero diagonal, rows
/// normalised to sum 1), `nn*nn` row-major.
///
/// # Errors
/// [`SimError::Param`] for `nn = 0` or an `nn` whose square overflows.
pub fn default_weights(seed: u64, nn: usize) -> Result<Vec<f32>, SimError> {
    let n2 = nn.checked_mul(nn).ok_or(ParamError::TooLarge { name: "nn", max: u32::MAX as u64 })?;
    crate::memory::ensure_allocatable::<f32>("weights", n2)?;
    let mut w = vec![0.0f32; n2];
    simcore::models::connectivity::default_weights(seed, nn, &mut w)?;
    Ok(w)
}

/// The default lags of WORKLOADS.md (low bytes of stream `2^64 - 1` of `seed`, words
/// `nn*nn ..`), `nn*nn` row-major.
///
/// # Errors
/// As [`default_weights`].
pub fn default_lags(seed: u64, nn: usize) -> Result<Vec<u8>, SimError> {
    let n2 = nn.checked_mul(nn).ok_or(ParamError::TooLarge { name: "nn", max: u32::MAX as u64 })?;
    crate::memory::ensure_allocatable::<u8>("lags", n2)?;
    let mut l = vec![0u8; n2];
    simcore::models::connectivity::default_lags(seed, nn, &mut l)?;
    Ok(l)
}

/// Checks that a per-member array has length 1 or `batch` and finite values.
pub(crate) fn check_per_member(name: &'static str, v: &[f32], batch: usize) -> Result<(), SimError> {
    if v.len() != 1 && v.len() != batch {
        return Err(SimError::Shape { name, expected: batch, got: v.len() });
    }
    for &x in v {
        finite(name, f64::from(x))?;
    }
    Ok(())
}

/// Value of member `b` of a per-member array (length 1 broadcasts).
#[inline]
pub(crate) fn member(v: &[f32], b: usize) -> f32 {
    if v.len() == 1 { v[0] } else { v[b] }
}

/// Checks `weights` (length `nn*nn`, finite) for a network of `nn` nodes.
pub(crate) fn check_weights(weights: &[f32], nn: usize) -> Result<usize, SimError> {
    let n2 = nn.checked_mul(nn).ok_or(ParamError::TooLarge { name: "nn", max: u32::MAX as u64 })?;
    if weights.len() != n2 {
        return Err(SimError::Shape { name: "weights", expected: n2, got: weights.len() });
    }
    for &w in weights {
        finite("weights", f64::from(w))?;
    }
    Ok(n2)
}

/// Checks the sizes of a network SDE: `nn, nt, batch >= 1`, the state array
/// `nv*nn*batch` fits `usize` and the noise index `(t*nn + i)*nv + v` fits `u64`.
/// Returns the state length.
pub(crate) fn check_sizes(nv: usize, nn: usize, nt: usize, batch: usize) -> Result<usize, SimError> {
    nonzero("nn", nn)?;
    nonzero("nt", nt)?;
    nonzero("batch", batch)?;
    let len = nv
        .checked_mul(nn)
        .and_then(|x| x.checked_mul(batch))
        .ok_or(ParamError::TooLarge { name: "nn*batch", max: usize::MAX as u64 })?;
    (nt as u64)
        .checked_mul(nn as u64)
        .and_then(|x| x.checked_mul(nv as u64))
        .ok_or(ParamError::TooLarge { name: "nt*nn", max: u64::MAX / nv as u64 })?;
    Ok(len)
}

impl JansenRitSpec {
    /// The W4 seed size: `nn = 32, nt = 1024, B = 8`, `dt = 1, sigma = 1e-3`, default
    /// parameters, `k = 0.01` and `mu = 0.22` for every member, default weights, no
    /// delays, zero initial state.
    ///
    /// # Errors
    /// Never for this size; the signature matches [`default_weights`].
    pub fn seed_size(seed: u64) -> Result<Self, SimError> {
        Self::with_size(seed, 32, 1024, 8)
    }

    /// As [`Self::seed_size`] with other sizes (default connectivity for `nn`).
    ///
    /// # Errors
    /// [`SimError::Param`] for `nn = 0` or an overflowing `nn*nn`.
    pub fn with_size(seed: u64, nn: usize, nt: usize, batch: usize) -> Result<Self, SimError> {
        Ok(Self {
            seed,
            nn,
            nt,
            batch,
            dt: 1.0,
            sigma: 1e-3,
            params: JansenRitParams::default(),
            k: vec![DEFAULT_K],
            mu: vec![DEFAULT_MU],
            weights: default_weights(seed, nn)?,
            lags: None,
            initial: None,
            jax_key: None,
        })
    }

    /// Switches on the delays of W4d with the default lags of the seed.
    ///
    /// # Errors
    /// As [`default_lags`].
    pub fn with_default_lags(mut self) -> Result<Self, SimError> {
        self.lags = Some(default_lags(self.seed, self.nn)?);
        Ok(self)
    }

    /// Length of the state arrays (`initial` and the output), `6*nn*B`.
    ///
    /// # Errors
    /// As [`Self::validate`] for sizes.
    pub fn state_len(&self) -> Result<usize, SimError> {
        check_sizes(NV, self.nn, self.nt, self.batch)
    }

    /// Checks every input.
    ///
    /// # Errors
    /// * [`SimError::Param`]: non-finite parameters, `nn`, `nt` or `batch` = 0, sizes
    ///   that overflow, `dt <= 0` or non-finite, `sigma < 0` or non-finite, a non-finite
    ///   weight, `k`, `mu` or initial value.
    /// * [`SimError::Shape`]: `weights` or `lags` not `nn*nn`, `k` or `mu` neither 1 nor
    ///   `B` long, `initial` not `6*nn*B`.
    pub fn validate(&self) -> Result<(), SimError> {
        self.params.validate()?;
        let len = self.state_len()?;
        // `dt > 0`, `sigma >= 0` and the noise scale, as every backend's integrator takes them.
        simcore::models::heun::HeunCoeffs::<f32>::new(self.dt, self.sigma)?;
        let n2 = check_weights(&self.weights, self.nn)?;
        if let Some(l) = &self.lags
            && l.len() != n2
        {
            return Err(SimError::Shape { name: "lags", expected: n2, got: l.len() });
        }
        check_per_member("k", &self.k, self.batch)?;
        check_per_member("mu", &self.mu, self.batch)?;
        let n = (self.nt as u64).checked_mul(self.nn as u64).and_then(|x| x.checked_mul(NV as u64));
        check_member_draws(self.jax_key, self.batch, n)?;
        if let Some(x0) = &self.initial {
            if x0.len() != len {
                return Err(SimError::Shape { name: "initial", expected: len, got: x0.len() });
            }
            for &x in x0 {
                finite("initial", f64::from(x))?;
            }
        }
        Ok(())
    }
}

impl Simulator {
    /// Runs W4 (or W4d when `spec.lags` is set): the final state of every member, layout
    /// `[6][nn][B]` (element `(v*nn + i)*B + b`).
    ///
    /// # Errors
    /// As [`JansenRitSpec::validate`]; nothing runs on error.
    pub fn jansen_rit(&self, spec: &JansenRitSpec) -> Result<Vec<f32>, SimError> {
        spec.validate()?;
        // The state and the output (`[6][nn][B]` each), and W4d's history ring.
        let cells = spec.nn.saturating_mul(spec.batch);
        let ring = if spec.lags.is_some() { cells.saturating_mul(256) } else { 0 };
        crate::memory::ensure_all_allocatable("Jansen-Rit state", &[(cells, 3 * 6 * 4), (ring, 4)])?;
        match self.backend() {
            Backend::Scalar => crate::backend::scalar::jansen_rit::run(spec),
            Backend::Simd | Backend::Threaded(_) => crate::backend::simd::jansen_rit::run(self, spec),
            Backend::Gpu { .. } => self.device()?.jansen_rit(spec),
        }
    }
}
