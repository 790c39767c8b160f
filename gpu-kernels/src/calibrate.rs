//! W3 **calibrate** on the GPU: per-grid-point histograms of the counts.
//!
//! Why histograms: the statistic `T[g,s] = f32(count) / f32(n·d)` depends only on the
//! integer count in `[0, n·d]` and is monotone (non-decreasing) in it — the count is
//! exact in f32 (`n·d <= 2^24`) and a correctly rounded division by a positive constant
//! preserves order. So `λ*[g]`, the `m`-th smallest `T[g,s]`, is `T` of the `m`-th smallest
//! count, which the host reads off a histogram of the `n·d + 1` possible counts by a prefix
//! sum: O(S) work per point, trivially parallel, no sort and no `G × S` matrix in memory.
//!
//! Kernel layout (the same partition as [`crate::body::binomial_validate`]): thread `tid`
//! takes simulation chunk `c = tid mod chunks` and tile `tid / chunks` of
//! [`BINOMIAL_TILE`] grid points, generates (fused) or reads (pregenerated) each uniform of
//! a simulation once and compares it with every point of the tile
//! ([`simcore::models::binomial::count_fused_grid`] / `count_pregenerated_grid`, the CPU's
//! own counting), then adds one to bin `count` of each point: on the device a relaxed
//! global `atomicAdd` on `hist[g·(n·d+1) + count]` (for `n·d <= 7` merged per thread
//! first, [`binomial_histogram_merged`]). Global atomics, not shared-memory
//! histograms: a point's histogram (`n·d + 1` bins, 1401 for B4) times the tile would not
//! fit shared memory for large `n`, and the atomics (one per point and simulation, `G·S`
//! in all) are `n·d` times fewer than the comparisons. Increments commute, so the result
//! does not depend on the launch shape or the order of the atomics.

use crate::body::{BINOMIAL_TILE, CountArgs, tile_counts};

/// W3 histogram, thread `tid`: for every simulation `s` of chunk `tid mod chunks` and every
/// point `g` of tile `tid / chunks`, `put(g, count[g,s])`; the caller adds one to
/// `hist[g·bins + count]` ([`CountArgs::bins`]). Every `(g, s)` pair with `g < points`,
/// `s < S` is visited by exactly one thread, once.
#[inline(always)]
pub fn binomial_histogram(tid: u32, a: &CountArgs<'_>, mut put: impl FnMut(usize, u32)) {
    tile_counts(tid, a, |g0, counts| {
        for (j, &cnt) in counts.iter().enumerate() {
            put(g0 + j, cnt);
        }
    });
}

/// Most bins per point for which [`binomial_histogram_merged`] first counts in a
/// thread-private histogram (`BINOMIAL_TILE × LOCAL_BINS` u32 = 256 B per thread).
pub const LOCAL_BINS: usize = 8;

/// [`binomial_histogram`] with the increments merged per thread: `add(g, count, k)` means
/// `hist[g·bins + count] += k` (`k >= 1`). With at most [`LOCAL_BINS`] bins (`n·d <= 7`,
/// e.g. B1) the thread counts its chunk in a private histogram and adds only its non-zero
/// bins — one atomic per bin instead of one per simulation, which matters where many
/// threads hit the same few bins; with more bins it passes every count on with `k = 1`.
/// Either way every `(g, s)` is counted once, so the histograms are the same.
#[inline(always)]
pub fn binomial_histogram_merged(tid: u32, a: &CountArgs<'_>, mut add: impl FnMut(usize, u32, u32)) {
    if a.bins() > LOCAL_BINS {
        binomial_histogram(tid, a, |g, c| add(g, c, 1));
        return;
    }
    let g0 = (tid / a.chunks().max(1)) as usize * BINOMIAL_TILE;
    let mut local = [[0u32; LOCAL_BINS]; BINOMIAL_TILE];
    binomial_histogram(tid, a, |g, c| local[g - g0][c as usize] += 1);
    for (j, row) in local.iter().enumerate() {
        for (c, &k) in row.iter().enumerate() {
            if k > 0 {
                add(g0 + j, c as u32, k);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::Uniforms;

    #[test]
    fn merged_histograms_equal_one_increment_per_simulation() {
        // n·d = 4 (5 bins: private histograms) and n·d = 12 (13 bins: direct).
        for (d, n) in [(4usize, 1usize), (3, 4)] {
            let p: Vec<f32> = (0..19 * d).map(|i| (i as f32 * 0.29).fract()).collect();
            let a = CountArgs {
                p: &p,
                d,
                n,
                sims: 100,
                sims_per_thread: 9,
                uniforms: Uniforms::Fused { seed: 3 },
            };
            let (mut one, mut merged) = (vec![0u32; 19 * a.bins()], vec![0u32; 19 * a.bins()]);
            let mut adds = 0;
            for tid in 0..a.threads() as u32 {
                binomial_histogram(tid, &a, |g, c| one[g * a.bins() + c as usize] += 1);
                binomial_histogram_merged(tid, &a, |g, c, k| {
                    assert!(k >= 1 && g < 19);
                    adds += 1;
                    merged[g * a.bins() + c as usize] += k;
                });
            }
            assert_eq!(merged, one, "n·d = {}", n * d);
            assert!(if a.bins() <= LOCAL_BINS { adds < 19 * 100 / 2 } else { adds == 19 * 100 });
        }
    }

    #[test]
    fn every_point_and_simulation_is_counted_once() {
        // 11 points (one full tile and a partial one), 13 simulations in chunks of 4.
        let (d, n, sims) = (2usize, 3usize, 13u32);
        let p: Vec<f32> = (0..11 * d).map(|i| (i as f32 * 0.37).fract()).collect();
        let a = CountArgs { p: &p, d, n, sims, sims_per_thread: 4, uniforms: Uniforms::Fused { seed: 7 } };
        let mut seen = vec![0u32; a.points() * sims as usize];
        let mut hist = vec![0u32; a.points() * a.bins()];
        for tid in 0..a.threads() as u32 {
            let chunk = tid % a.chunks();
            let mut s = chunk * 4;
            let mut last_g = usize::MAX;
            binomial_histogram(tid, &a, |g, cnt| {
                // Points of a simulation come in order; a new simulation restarts the tile.
                if g <= last_g && last_g != usize::MAX {
                    s += 1;
                }
                last_g = g;
                assert!((cnt as usize) < a.bins());
                seen[g * sims as usize + s as usize] += 1;
                hist[g * a.bins() + cnt as usize] += 1;
            });
        }
        assert!(seen.iter().all(|&k| k == 1));
        for g in 0..a.points() {
            assert_eq!(hist[g * a.bins()..(g + 1) * a.bins()].iter().sum::<u32>(), sims);
        }
    }
}

/// The kernel entry (the `kernel!` form: PTX on nvptx, host-launchable elsewhere):
/// thread index, bounds check, the body ([`binomial_histogram_merged`]), and the atomic
/// increments.
#[allow(unsafe_code)]
pub(crate) mod device {
    use crate::grid::thread_index;
    use core::sync::atomic::{AtomicU32, Ordering};

    kernel! {
        /// W3 calibrate histograms: `hist[g·(n·d+1) + count[g,s]] += 1` for every point
        /// `g < points` and simulation `s < sims` (see [`super::binomial_histogram`]); `u` null
        /// means fused uniforms. `hist` must be zeroed by the caller.
        ///
        /// # Safety
        /// `p` points to `points·d` readable `f32`; `hist` to `points·(n·d + 1)` writable `u32`;
        /// `u`, unless null, to `sims·n·d` readable `f32`; all device-global, `d >= 1`,
        /// `sims_per_thread >= 1`, `n·d <= 2^24`.
        pub unsafe fn binomial_histogram(
            hist: *mut u32,
            p: *const f32,
            points: u32,
            d: u32,
            n: u32,
            sims: u32,
            sims_per_thread: u32,
            seed: u64,
            u: *const f32,
        ) {
            // SAFETY: this kernel's contract includes `count_args`'s.
            let args = unsafe { crate::entry::count_args(p, points, d, n, sims, sims_per_thread, seed, u) };
            let bins = args.bins();
            let i = thread_index();
            if i < args.threads() {
                super::binomial_histogram_merged(i as u32, &args, |g, c, k| {
                    // SAFETY: g < points and c <= n·d, so g·bins + c < points·bins; the bin is
                    // shared between threads, hence the atomic (relaxed: only the final sums
                    // matter, read by the host after the kernel completes).
                    unsafe {
                        AtomicU32::from_ptr(hist.add(g * bins + c as usize)).fetch_add(k, Ordering::Relaxed)
                    };
                });
            }
        }
    }

    // The entry has its kernel's parameter list (`crate::signature`): one that differs
    // does not build.
    const _: crate::signature::BinomialHistogram = binomial_histogram;
}
