//! The multi-threaded executor: a rayon pool (optionally pinned) and a tile splitter.
//!
//! Determinism comes from the layout, not from scheduling: `[0, n)` is cut into tiles of
//! consecutive simulations, each tile owns a disjoint slice of the output, and every
//! simulation's numbers depend only on `(seed, simulation index)`. So whichever thread
//! runs a tile, and whatever the tile size or thread count, the output is the same bits.
//! Reductions over simulations (means, totals) are done afterwards, serially, by the
//! workload, in index order.
//!
//! **Cancellation.** The pool is handed to the tile loops as an [`Executor`], which also
//! carries the simulator's [`CancelToken`] (if any): once it is cancelled, tiles not yet
//! started are skipped ([`for_each_tile`] leaves their output untouched, [`map_tiles`]
//! leaves them out of its result), so a cancelled run ends after the tiles in flight.
//! The results are then incomplete; [`crate::Simulator::cancellable`] turns that into
//! [`SimError::Cancelled`].

pub(crate) mod nodes;

use crate::error::SimError;
use crate::simulator::{CancelToken, ThreadConfig};
use rayon::prelude::*;
use std::sync::Arc;

/// A worker pool (shared by a simulator's clones) and the [`CancelToken`] of the
/// simulator that uses it. Dereferences to the rayon pool.
#[derive(Debug, Clone)]
pub struct Executor {
    pool: Arc<rayon::ThreadPool>,
    pub(crate) cancel: Option<CancelToken>,
}

impl Executor {
    /// `pool`, with no cancellation token.
    pub fn new(pool: Arc<rayon::ThreadPool>) -> Self {
        Self { pool, cancel: None }
    }

    /// The same pool, observing `token`.
    pub fn with_cancel(self, token: CancelToken) -> Self {
        Self { cancel: Some(token), ..self }
    }

    /// Whether the token (if any) is cancelled: remaining tiles are to be skipped.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.as_ref().is_some_and(CancelToken::is_cancelled)
    }
}

impl std::ops::Deref for Executor {
    type Target = rayon::ThreadPool;

    fn deref(&self) -> &rayon::ThreadPool {
        &self.pool
    }
}

/// Starts the worker pool of `cfg` (validated here).
///
/// # Errors
/// [`SimError::Param`] for 0 threads or a tile of 0; [`SimError::ThreadPool`] when the
/// threads cannot be spawned.
pub fn build_pool(cfg: &ThreadConfig) -> Result<rayon::ThreadPool, SimError> {
    cfg.validate()?;
    let mut b =
        rayon::ThreadPoolBuilder::new().num_threads(cfg.threads).thread_name(|k| format!("simlanes-{k}"));
    if cfg.pin {
        // No CPU list (unsupported OS): run unpinned rather than fail.
        let cores = core_affinity::get_core_ids().unwrap_or_default();
        if !cores.is_empty() {
            b = b.start_handler(move |k| {
                // Best effort: a refused pin only costs timing stability, not results.
                let _ = core_affinity::set_for_current(cores[k % cores.len()]);
            });
        }
    }
    b.build().map_err(|e| SimError::ThreadPool(e.to_string()))
}

/// Runs `f(first, chunk)` for every tile of `[0, n)`, `n = out.len() / per_item`, on
/// `pool`: tile `k` covers simulations `first = k·tile ..` and `chunk` is its part of
/// `out` (`per_item` consecutive values per simulation, simulation-major). The tiles run
/// in any order, each exactly once — except that once `pool`'s token is cancelled the
/// tiles not yet started are skipped (their part of `out` is left as it was).
/// `per_item = 0` or an empty `out` does nothing.
pub fn for_each_tile<T: Send>(
    pool: &Executor,
    tile: usize,
    per_item: usize,
    out: &mut [T],
    f: impl Fn(usize, &mut [T]) + Sync,
) {
    if per_item == 0 || out.is_empty() {
        return;
    }
    let tile = tile.max(1);
    pool.install(|| {
        out.par_chunks_mut(tile.saturating_mul(per_item)).enumerate().for_each(|(k, chunk)| {
            if !pool.is_cancelled() {
                f(k * tile, chunk);
            }
        });
    });
}

/// `f(range)` for every tile of `[0, n)` on `pool`, results in tile order — for outputs
/// that are not simulation-major (the caller scatters them afterwards). Once `pool`'s
/// token is cancelled, tiles not yet started are skipped and left out of the result
/// (which then covers only part of `[0, n)`).
pub fn map_tiles<R: Send>(
    pool: &Executor,
    n: usize,
    tile: usize,
    f: impl Fn(std::ops::Range<usize>) -> R + Sync,
) -> Vec<R> {
    let tile = tile.max(1);
    pool.install(|| {
        (0..n.div_ceil(tile))
            .into_par_iter()
            .filter_map(|k| (!pool.is_cancelled()).then(|| f(k * tile..((k + 1) * tile).min(n))))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_cover_everything_once() {
        let pool = Executor::new(Arc::new(build_pool(&ThreadConfig::new(3)).expect("pool")));
        for (n, tile, per) in [(0, 4, 1), (1, 4, 1), (17, 4, 3), (17, 1, 2), (17, 100, 1), (64, 8, 1)] {
            let mut out = vec![usize::MAX; n * per];
            for_each_tile(&pool, tile, per, &mut out, |first, chunk| {
                assert!(chunk.len() <= tile * per && chunk.len() % per == 0);
                for (j, v) in chunk.iter_mut().enumerate() {
                    assert_eq!(*v, usize::MAX, "written twice");
                    *v = (first + j / per) * 10 + j % per;
                }
            });
            let want: Vec<usize> = (0..n * per).map(|j| (j / per) * 10 + j % per).collect();
            assert_eq!(out, want, "n={n} tile={tile} per={per}");
            let ranges = map_tiles(&pool, n, tile, |r| r);
            let flat: Vec<usize> = ranges.into_iter().flatten().collect();
            assert_eq!(flat, (0..n).collect::<Vec<_>>());
        }
    }

    #[test]
    fn a_cancelled_token_skips_the_remaining_tiles() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let token = CancelToken::new();
        let pool = Executor::new(Arc::new(build_pool(&ThreadConfig::new(2)).expect("pool")))
            .with_cancel(token.clone());
        // The 3rd tile to start cancels: only tiles already past their check (about one
        // per worker) run after it, far fewer than the 1000 tiles.
        let started = AtomicUsize::new(0);
        let mut out = vec![0u8; 1000];
        for_each_tile(&pool, 1, 1, &mut out, |_, chunk| {
            if started.fetch_add(1, Ordering::Relaxed) == 2 {
                token.cancel();
            }
            chunk[0] = 1;
        });
        let written = out.iter().filter(|&&v| v == 1).count();
        assert!((3..20).contains(&written), "{written} tiles ran");
        assert_eq!(written, started.load(Ordering::Relaxed));
        // Already cancelled: nothing runs.
        assert!(map_tiles(&pool, 1000, 1, |r| r).is_empty());
        let mut untouched = vec![7u8; 10];
        for_each_tile(&pool, 2, 1, &mut untouched, |_, c| c.fill(0));
        assert_eq!(untouched, [7; 10]);
    }

    #[test]
    fn zero_threads_rejected() {
        assert!(matches!(
            build_pool(&ThreadConfig::new(0)),
            Err(SimError::Param(simcore::ParamError::ZeroSize { name: "threads" }))
        ));
    }
}
