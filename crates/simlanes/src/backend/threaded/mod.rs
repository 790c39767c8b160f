//! The multi-threaded executor: a rayon pool (optionally pinned) and a tile splitter.
//!
//! Determinism comes from the layout, not from scheduling: `[0, n)` is cut into tiles of
//! consecutive simulations, each tile owns a disjoint slice of the output, and every
//! simulation's numbers depend only on `(seed, simulation index)`. So whichever thread
//! runs a tile, and whatever the tile size or thread count, the output is the same bits.
//! Reductions over simulations (means, totals) are done afterwards, serially, by the
//! workload, in index order.

use crate::error::SimError;
use crate::simulator::ThreadConfig;
use rayon::prelude::*;

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
/// in any order, each exactly once. `per_item = 0` or an empty `out` does nothing.
pub fn for_each_tile<T: Send>(
    pool: &rayon::ThreadPool,
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
        out.par_chunks_mut(tile.saturating_mul(per_item))
            .enumerate()
            .for_each(|(k, chunk)| f(k * tile, chunk));
    });
}

/// `f(range)` for every tile of `[0, n)` on `pool`, results in tile order — for outputs
/// that are not simulation-major (the caller scatters them afterwards).
pub fn map_tiles<R: Send>(
    pool: &rayon::ThreadPool,
    n: usize,
    tile: usize,
    f: impl Fn(std::ops::Range<usize>) -> R + Sync,
) -> Vec<R> {
    let tile = tile.max(1);
    pool.install(|| {
        (0..n.div_ceil(tile)).into_par_iter().map(|k| f(k * tile..((k + 1) * tile).min(n))).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_cover_everything_once() {
        let pool = build_pool(&ThreadConfig::new(3)).expect("pool");
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
    fn zero_threads_rejected() {
        assert!(matches!(
            build_pool(&ThreadConfig::new(0)),
            Err(SimError::Param(simcore::ParamError::ZeroSize { name: "threads" }))
        ));
    }
}
