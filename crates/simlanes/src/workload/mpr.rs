//! W5 — the Montbrio–Pazo–Roxin network SDE and its parameter sweep (WORKLOADS.md W5).
//! Member `b` takes its noise from stream `b` of the seed; the drift, the clamping of `r`,
//! the coupling and the Heun step (all roundings) are fixed once in
//! [`simcore::models::mpr`] and [`simcore::models::heun`].
//!
//! Output per member: the population standard deviation of the stored `r` (after the
//! clamp) over all nodes and the states `x[401..=nt]` (`x[0]` is the initial state),
//! accumulated in f64 as [`RateStats`] fixes (steps ascending, nodes ascending).
//!
//! Readings of WORKLOADS.md fixed here:
//! * `nt < 401` leaves the statistic's window empty: it is an error
//!   ([`SimError::TooSmall`]), not a NaN.
//! * `k` and `eta` have length 1 (broadcast) or `B`; the initial state is `r = 0.1,
//!   V = -2` on every node of every member.
//! * The coupling is instantaneous (no delays in W5).

use crate::error::SimError;
use crate::simulator::{Backend, Simulator};
use crate::workload::jansen_rit::{check_per_member, check_sizes, check_weights, default_weights};
use crate::workload::jax::{JaxKey, check_member_draws};
pub use simcore::models::mpr::{DEFAULT_ETA, MprParams, NV, R0, RateStats, V0};

/// First state of the statistic's window, `x[401]`.
pub const STAT_FIRST: usize = 401;
/// Rows of the sweep grid: `k = 2*i/31`, `i = 0..=31` (outer).
pub const SWEEP_K: usize = 32;
/// Columns of the sweep grid: `eta = -6 + 3*j/35`, `j = 0..=35` (inner).
pub const SWEEP_ETA: usize = 36;

/// What to compute: a batch of `B` MPR networks sharing the weights.
#[derive(Debug, Clone, PartialEq)]
pub struct MprSpec {
    /// Seed of the random streams (benchmarks use 0); member `b` uses stream `b`.
    pub seed: u64,
    /// Nodes per network (>= 1).
    pub nn: usize,
    /// Steps (>= 401, see [`STAT_FIRST`]).
    pub nt: usize,
    /// Batch size `B` (>= 1).
    pub batch: usize,
    /// Time step (> 0; W5: 0.01).
    pub dt: f32,
    /// Noise intensity on `r` and `V` (>= 0; W5: 0.2).
    pub sigma: f32,
    /// Shared model parameters.
    pub params: MprParams,
    /// Coupling strength per member (length 1 = broadcast, or `B`).
    pub k: Vec<f32>,
    /// Mean excitability `eta` per member (length 1 = broadcast, or `B`).
    pub eta: Vec<f32>,
    /// Weights `W[i,j]` (input of node `i` from node `j`), `nn*nn` row-major.
    pub weights: Vec<f32>,
    /// When `Some`, the noise normals come from this JAX key, not from the Philox streams of
    /// `seed`: member `i` of the batch draws with key `jax.random.split(key, B)[i]`,
    /// the noise of variable `v` (0 = r, 1 = V) of node `i` at step `t`
    /// is `jax.random.normal(k_i, (nt, nn, 2))[t, i, v]` (f32) (mapping and migration example in [`crate::workload::jax`]).
    /// The default connectivity (weights) still comes from `seed`: it is a fixed network,
    /// not noise.
    pub jax_key: Option<JaxKey>,
}

/// The sweep grid `(k, eta)` of member `b = i*36 + j`: `k = 2i/31`, `eta = -6 + 3j/35`,
/// each computed in f64 and rounded to f32. Returns `(k, eta)`, each of length 1152.
pub fn sweep_grid() -> (Vec<f32>, Vec<f32>) {
    let mut k = Vec::with_capacity(SWEEP_K * SWEEP_ETA);
    let mut eta = Vec::with_capacity(SWEEP_K * SWEEP_ETA);
    for i in 0..SWEEP_K {
        for j in 0..SWEEP_ETA {
            k.push((2.0 * i as f64 / 31.0) as f32);
            eta.push((-6.0 + 3.0 * j as f64 / 35.0) as f32);
        }
    }
    (k, eta)
}

impl MprSpec {
    /// The W5 sweep: `B = 1152` over [`sweep_grid`], `nn = 164`, `nt = 1000`, `dt = 0.01`,
    /// `sigma = 0.2`, default parameters and default connectivity.
    ///
    /// # Errors
    /// Never for this size; the signature matches [`Self::sweep_sized`].
    pub fn sweep(seed: u64) -> Result<Self, SimError> {
        Self::sweep_sized(seed, 164, 1000)
    }

    /// The sweep grid on a network of another size (tests and quick runs use e.g.
    /// `nn = 8, nt = 450`).
    ///
    /// # Errors
    /// [`SimError::Param`] for `nn = 0` or an overflowing `nn*nn`.
    pub fn sweep_sized(seed: u64, nn: usize, nt: usize) -> Result<Self, SimError> {
        let (k, eta) = sweep_grid();
        Ok(Self {
            seed,
            nn,
            nt,
            batch: k.len(),
            dt: 0.01,
            sigma: 0.2,
            params: MprParams::default(),
            k,
            eta,
            weights: default_weights(seed, nn)?,
            jax_key: None,
        })
    }

    /// Checks every input.
    ///
    /// # Errors
    /// * [`SimError::Param`]: invalid [`MprParams`], `nn`, `nt` or `batch` = 0, sizes that
    ///   overflow, `dt <= 0` or non-finite, `sigma < 0` or non-finite, a non-finite
    ///   weight, `k` or `eta`.
    /// * [`SimError::TooSmall`]: `nt < 401`.
    /// * [`SimError::Shape`]: `weights` not `nn*nn`, `k` or `eta` neither 1 nor `B` long.
    pub fn validate(&self) -> Result<(), SimError> {
        self.params.validate()?;
        check_sizes(NV, self.nn, self.nt, self.batch)?;
        if self.nt < STAT_FIRST {
            return Err(SimError::TooSmall { name: "nt", min: STAT_FIRST, got: self.nt });
        }
        // `dt > 0`, `sigma >= 0` and the noise scale, as every backend's integrator takes them.
        simcore::models::heun::HeunCoeffs::<f32>::new(self.dt, self.sigma)?;
        check_weights(&self.weights, self.nn)?;
        check_per_member("k", &self.k, self.batch)?;
        check_per_member("eta", &self.eta, self.batch)?;
        for &eta in &self.eta {
            self.params.validate_eta(eta)?;
        }
        let n = (self.nt as u64).checked_mul(self.nn as u64).and_then(|x| x.checked_mul(NV as u64));
        check_member_draws(self.jax_key, self.batch, n)?;
        Ok(())
    }
}

/// The result of [`Simulator::mpr`].
#[derive(Debug, Clone, PartialEq)]
pub struct MprOutput {
    /// Per member: population standard deviation of the stored `r` over all nodes and the
    /// states `x[401..=nt]`.
    pub std_r: Vec<f64>,
    /// The final state `x[nt]`, layout `[2][nn][B]` (`r` then `V`; element
    /// `(v*nn + i)*B + b`).
    pub final_state: Vec<f32>,
}

impl Simulator {
    /// Runs W5: for every member, the population standard deviation of `r` over all nodes
    /// and the states `x[401..=nt]`, and the final states.
    ///
    /// # Errors
    /// As [`MprSpec::validate`]; nothing runs on error.
    pub fn mpr(&self, spec: &MprSpec) -> Result<MprOutput, SimError> {
        spec.validate()?;
        // The state and the final state (`[2][nn][B]` each), and the statistics.
        let cells = spec.nn.saturating_mul(spec.batch);
        crate::memory::ensure_all_allocatable("MPR state", &[(cells, 3 * 2 * 4), (spec.batch, 16)])?;
        match self.backend() {
            Backend::Scalar => crate::backend::scalar::mpr::run(spec),
            Backend::Simd | Backend::Threaded(_) => crate::backend::simd::mpr::run(self, spec),
            Backend::Gpu { .. } => self.device()?.mpr(spec),
        }
    }
}
