//! [`Simulator`]: the one entry point. Each workload module adds its methods to it
//! (`impl Simulator` blocks in [`crate::workload`]), dispatching on the [`Backend`].
//!
//! A simulator owns what a backend needs beyond the math: for
//! [`Backend::Threaded`], its worker pool, built once in [`Simulator::new`] (which is
//! therefore fallible) and shared by clones.
//!
//! **Cancellation.** A long run can be stopped from another thread (e.g. on Ctrl-C in a
//! binding) with a [`CancelToken`] given to [`Simulator::cancellable`]: the threaded
//! executor and the calibration engine check it between tiles and skip the remaining
//! ones, and the call returns [`SimError::Cancelled`] (its partial results are dropped,
//! never returned). Runs on one thread ([`Backend::Scalar`], [`Backend::Simd`] workloads)
//! and on the GPU are not cut short: they finish, then report `Cancelled`.

use crate::error::SimError;
use simcore::ParamError;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Where the simulations run. Results do not depend on this choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Backend {
    /// One simulation at a time, plain `f32`/`f64`: the reference oracle.
    #[default]
    Scalar,
    /// One thread, explicit SIMD: 8 simulations per `f32x8` (4 per `f64x4`), the
    /// remainder one at a time in plain `f32`/`f64` — the same core functions as
    /// [`Backend::Scalar`], so the same bits.
    Simd,
    /// [`Backend::Simd`] on a pool of worker threads: the simulations are cut into tiles
    /// of consecutive simulations, each tile written by one thread into its own part of
    /// the output. Identical results for any thread count and tile size.
    Threaded(ThreadConfig),
    /// One CUDA thread per simulation on GPU `device` (0 = the first), running the PTX
    /// built from the same core functions. [`Simulator::new`] fails with a typed
    /// [`crate::backend::gpu::GpuError`] when there is no driver, no such device, or the
    /// PTX is rejected.
    Gpu {
        /// CUDA device ordinal.
        device: usize,
    },
}

impl Backend {
    /// Short lower-case name used in reports and on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Scalar => "scalar",
            Backend::Simd => "simd",
            Backend::Threaded(_) => "threaded",
            Backend::Gpu { .. } => "gpu",
        }
    }
}

/// Settings of [`Backend::Threaded`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadConfig {
    /// Worker threads (at least 1).
    pub threads: usize,
    /// Simulations per tile (at least 1), or `None` for the default: as many as keep a
    /// tile's working set within half the L2 cache, while leaving at least four tiles
    /// per thread for load balance, rounded to a multiple of 16 lanes (see
    /// [`ThreadConfig::tile_for`]).
    pub tile: Option<usize>,
    /// Pin worker `k` to logical CPU `k` (modulo the CPU count), so that timings do not
    /// depend on the OS scheduler moving threads between cores.
    pub pin: bool,
}

impl Default for ThreadConfig {
    /// One worker per logical CPU, default tiles, not pinned.
    fn default() -> Self {
        Self { threads: std::thread::available_parallelism().map_or(1, |n| n.get()), tile: None, pin: false }
    }
}

impl ThreadConfig {
    /// `threads` workers, default tiles, not pinned.
    pub fn new(threads: usize) -> Self {
        Self { threads, tile: None, pin: false }
    }

    /// The same, with `tile` simulations per tile.
    pub fn with_tile(self, tile: usize) -> Self {
        Self { tile: Some(tile), ..self }
    }

    /// The same, with workers pinned to CPUs.
    pub fn pinned(self) -> Self {
        Self { pin: true, ..self }
    }

    /// Most worker threads a pool may have. Far above any CPU's core count today (the
    /// kernels are compute-bound, so threads past the logical CPUs only add switching), yet
    /// low enough that a typo such as `threads=100000` is refused at once instead of
    /// spawning threads for minutes.
    pub const MAX_THREADS: usize = 1024;

    /// Checks the settings.
    ///
    /// # Errors
    /// [`ParamError::ZeroSize`] (as [`SimError::Param`]) for 0 threads or a tile of 0;
    /// [`ParamError::TooLarge`] for more than [`Self::MAX_THREADS`] threads.
    pub fn validate(&self) -> Result<(), SimError> {
        if self.threads == 0 {
            return Err(ParamError::ZeroSize { name: "threads" }.into());
        }
        if self.threads > Self::MAX_THREADS {
            return Err(ParamError::TooLarge { name: "threads", max: Self::MAX_THREADS as u64 }.into());
        }
        if self.tile == Some(0) {
            return Err(ParamError::ZeroSize { name: "tile" }.into());
        }
        Ok(())
    }

    /// The tile size for `n` simulations of `bytes_per_sim` bytes of working set each:
    /// the configured tile, or by default `min(L2/2 / bytes_per_sim, ceil(n / (4·threads)))`
    /// rounded up to a multiple of 16 (the widest group, `f32x16`), at least 16 (L2 taken
    /// as 1 MiB when unknown).
    pub fn tile_for(&self, n: usize, bytes_per_sim: usize) -> usize {
        if let Some(t) = self.tile {
            return t.max(1);
        }
        let l2 = crate::cpu::l2_bytes().unwrap_or(1 << 20);
        let by_cache = (l2 / 2) / bytes_per_sim.max(1);
        let by_balance = n.div_ceil(self.threads.max(1).saturating_mul(4));
        let tile = by_cache.min(by_balance).max(1);
        tile.checked_next_multiple_of(16).unwrap_or(tile)
    }
}

/// A flag that asks runs to stop between tiles (see the module docs). Clones share the
/// flag; once cancelled it stays cancelled.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token not yet cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks every run observing this token to stop (callable from any thread).
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether [`CancelToken::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Runs workloads on one backend.
#[derive(Debug, Clone, Default)]
pub struct Simulator {
    backend: Backend,
    pool: Option<crate::backend::threaded::Executor>,
    gpu: Option<Arc<crate::backend::gpu::Gpu>>,
    cancel: Option<CancelToken>,
}

impl Simulator {
    /// A simulator on `backend`; for [`Backend::Threaded`] this starts its worker pool.
    ///
    /// # Errors
    /// [`SimError::Param`] for a [`ThreadConfig`] with 0 threads or a tile of 0;
    /// [`SimError::ThreadPool`] if the threads cannot be started.
    pub fn new(backend: Backend) -> Result<Self, SimError> {
        let pool = match backend {
            Backend::Scalar | Backend::Simd | Backend::Gpu { .. } => None,
            Backend::Threaded(cfg) => Some(crate::backend::threaded::Executor::new(Arc::new(
                crate::backend::threaded::build_pool(&cfg)?,
            ))),
        };
        let gpu = match backend {
            Backend::Gpu { device } => Some(Arc::new(crate::backend::gpu::Gpu::new(device)?)),
            _ => None,
        };
        Ok(Self { backend, pool, gpu, cancel: None })
    }

    /// The backend this simulator runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The worker pool ([`Backend::Threaded`] only), carrying this simulator's
    /// [`CancelToken`] (its tile loops stop early once the token is cancelled).
    pub(crate) fn pool(&self) -> Option<&crate::backend::threaded::Executor> {
        self.pool.as_ref()
    }

    /// Whether this simulator observes a cancelled [`CancelToken`] (see
    /// [`Simulator::cancellable`]); tile loops check it between tiles.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.as_ref().is_some_and(CancelToken::is_cancelled)
    }

    /// Runs `f` on a clone of this simulator that observes `token`: if the token is
    /// cancelled before or while `f` runs, the threaded executor and the calibration
    /// engine skip their remaining tiles and this returns [`SimError::Cancelled`] — the
    /// (incomplete) result of `f` is dropped, never returned. Outputs that `f` writes
    /// into caller-owned buffers (e.g. [`Simulator::ou_path`]) may then be partly written:
    /// discard them too.
    ///
    /// ```
    /// use simlanes::workload::pi::PiSpec;
    /// use simlanes::{Backend, CancelToken, SimError, Simulator, ThreadConfig};
    ///
    /// # fn main() -> Result<(), SimError> {
    /// let sim = Simulator::new(Backend::Threaded(ThreadConfig::new(2)))?;
    /// let spec = PiSpec { seed: 0, pairs_per_estimate: 1000, estimates: 64, jax_key: None };
    /// let token = CancelToken::new();
    /// assert!(sim.cancellable(&token, |s| s.pi(&spec)).is_ok());
    /// token.cancel(); // e.g. from a signal-watching thread
    /// assert!(matches!(sim.cancellable(&token, |s| s.pi(&spec)), Err(SimError::Cancelled)));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`SimError::Cancelled`] when the token is cancelled by the time `f` returns;
    /// otherwise whatever `f` returns.
    pub fn cancellable<R>(
        &self,
        token: &CancelToken,
        f: impl FnOnce(&Simulator) -> Result<R, SimError>,
    ) -> Result<R, SimError> {
        let mut sim = self.clone();
        sim.cancel = Some(token.clone());
        if let Some(exec) = &mut sim.pool {
            exec.cancel = Some(token.clone());
        }
        let out = f(&sim);
        if token.is_cancelled() { Err(SimError::Cancelled) } else { out }
    }

    /// The opened GPU ([`Backend::Gpu`] only): device facts for reports.
    pub fn gpu(&self) -> Option<&crate::backend::gpu::Gpu> {
        self.gpu.as_deref()
    }

    /// The opened GPU, for dispatch; only called under [`Backend::Gpu`], where
    /// [`Simulator::new`] has opened it.
    pub(crate) fn device(&self) -> Result<&crate::backend::gpu::Gpu, SimError> {
        self.gpu.as_deref().ok_or(SimError::Gpu(crate::backend::gpu::GpuError::NoDriver))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(Backend::Scalar.name(), "scalar");
        assert_eq!(Backend::Simd.name(), "simd");
        assert_eq!(Backend::Threaded(ThreadConfig::new(2)).name(), "threaded");
    }

    #[test]
    fn bad_thread_configs_are_typed_errors() {
        assert!(matches!(
            Simulator::new(Backend::Threaded(ThreadConfig::new(0))),
            Err(SimError::Param(ParamError::ZeroSize { name: "threads" }))
        ));
        assert!(matches!(
            Simulator::new(Backend::Threaded(ThreadConfig::new(ThreadConfig::MAX_THREADS + 1))),
            Err(SimError::Param(ParamError::TooLarge { name: "threads", max: 1024 }))
        ));
        assert!(matches!(
            Simulator::new(Backend::Threaded(ThreadConfig::new(2).with_tile(0))),
            Err(SimError::Param(ParamError::ZeroSize { name: "tile" }))
        ));
        let sim = Simulator::new(Backend::Threaded(ThreadConfig::new(3).pinned())).expect("3 threads start");
        assert_eq!(sim.pool().map(|p| p.current_num_threads()), Some(3));
        assert!(Simulator::new(Backend::Simd).is_ok_and(|s| s.pool().is_none()));
    }

    #[test]
    fn a_cancelled_token_stops_a_threaded_run() {
        use crate::calibration::{self, Grid, Tiling, binomial::BinomialModel};
        use crate::workload::pi::PiSpec;
        use std::sync::atomic::AtomicU64;
        let sim = Simulator::new(Backend::Threaded(ThreadConfig::new(2))).expect("pool");
        let spec = PiSpec { seed: 0, pairs_per_estimate: 1000, estimates: 4096, jax_key: None };
        let token = CancelToken::new();
        let full = sim.cancellable(&token, |s| s.pi(&spec)).expect("not cancelled");
        assert_eq!(full.hits, sim.pi(&spec).expect("pi").hits);
        token.cancel();
        assert!(matches!(sim.cancellable(&token, |s| s.pi(&spec)), Err(SimError::Cancelled)));
        // The simulator itself does not observe the token: later runs are unaffected.
        assert!(!sim.is_cancelled() && sim.pi(&spec).is_ok());

        // Cancelled mid-run (by the first finished task): the engine skips what is left.
        let model = BinomialModel::new(0, 8, 2).expect("model");
        let grid = Grid::new(2, vec![0.0; 2 * 64]).expect("grid");
        let tiling = Tiling::new(8, 64); // 8 x 64 = 512 tasks
        for backend in [Backend::Threaded(ThreadConfig::new(2)), Backend::Simd] {
            let sim = Simulator::new(backend).expect("sim");
            let token = CancelToken::new();
            let done = AtomicU64::new(0);
            let progress = |pairs: u64| {
                done.fetch_add(pairs, Ordering::SeqCst);
                token.cancel();
            };
            let r = sim.cancellable(&token, |s| {
                calibration::validate_with_progress(
                    s,
                    &model,
                    &grid,
                    0.5,
                    0.01,
                    4096,
                    tiling,
                    Some(&progress),
                )
            });
            assert!(matches!(r, Err(SimError::Cancelled)), "{backend:?}");
            let done = done.load(Ordering::SeqCst);
            assert!(done > 0 && done <= 8 * 64 * 8, "{backend:?}: {done} of {} pairs", 64 * 4096);
        }
    }

    #[test]
    fn default_tiles_are_lane_multiples_and_balance() {
        let cfg = ThreadConfig::new(2);
        for (n, bytes) in [(1, 1), (7, 64), (10_000, 64), (1_000_000, 1 << 20), (100, 0)] {
            let t = cfg.tile_for(n, bytes);
            assert!(t >= 16 && t.is_multiple_of(16), "n={n} bytes={bytes}: tile {t}");
        }
        // 10_000 sims on 2 threads: at least 4 tiles per thread.
        assert!(10_000usize.div_ceil(cfg.tile_for(10_000, 64)) >= 8);
        assert_eq!(cfg.with_tile(3).tile_for(10_000, 64), 3);
    }
}
