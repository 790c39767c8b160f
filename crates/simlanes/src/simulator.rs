//! [`Simulator`]: the one entry point. Each workload module adds its methods to it
//! (`impl Simulator` blocks in [`crate::workload`]), dispatching on the [`Backend`].
//!
//! A simulator owns what a backend needs beyond the math: for
//! [`Backend::Threaded`], its worker pool, built once in [`Simulator::new`] (which is
//! therefore fallible) and shared by clones.

use crate::error::SimError;
use simcore::ParamError;
use std::sync::Arc;

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

    /// Checks the settings.
    ///
    /// # Errors
    /// [`ParamError::ZeroSize`] (as [`SimError::Param`]) for 0 threads or a tile of 0.
    pub fn validate(&self) -> Result<(), SimError> {
        if self.threads == 0 {
            return Err(ParamError::ZeroSize { name: "threads" }.into());
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
        let by_balance = n.div_ceil(4 * self.threads.max(1));
        by_cache.min(by_balance).max(1).next_multiple_of(16)
    }
}

/// Runs workloads on one backend.
#[derive(Debug, Clone, Default)]
pub struct Simulator {
    backend: Backend,
    pool: Option<Arc<rayon::ThreadPool>>,
    gpu: Option<Arc<crate::backend::gpu::Gpu>>,
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
            Backend::Threaded(cfg) => Some(Arc::new(crate::backend::threaded::build_pool(&cfg)?)),
        };
        let gpu = match backend {
            Backend::Gpu { device } => Some(Arc::new(crate::backend::gpu::Gpu::new(device)?)),
            _ => None,
        };
        Ok(Self { backend, pool, gpu })
    }

    /// The backend this simulator runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The worker pool ([`Backend::Threaded`] only).
    pub(crate) fn pool(&self) -> Option<&rayon::ThreadPool> {
        self.pool.as_deref()
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
            Simulator::new(Backend::Threaded(ThreadConfig::new(2).with_tile(0))),
            Err(SimError::Param(ParamError::ZeroSize { name: "tile" }))
        ));
        let sim = Simulator::new(Backend::Threaded(ThreadConfig::new(3).pinned())).expect("3 threads start");
        assert_eq!(sim.pool().map(|p| p.current_num_threads()), Some(3));
        assert!(Simulator::new(Backend::Simd).is_ok_and(|s| s.pool().is_none()));
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
