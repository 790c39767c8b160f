//! W3 on the SIMD and threaded backends: `simcore::models::binomial`'s grid counters on
//! `f32x8` groups (8 simulations, their uniforms generated or loaded once per group and
//! compared with every active grid point), `f32` for the remainder.
//!
//! **validate** reduces over simulations: each tile of simulations counts its
//! rejections per point and the tiles' integer counts are added (order-free, so exact).
//! **calibrate** needs every `T[g,s]`: each tile of simulations returns its counts at
//! every point, they are copied into the matrix `[g][s]`, and the `m`-th smallest count of
//! each point is selected (points in parallel). `T` is non-decreasing in the count, so
//! this is the scalar backend's answer.

use super::{GroupKernel, WidePrecision, run_groups};
use crate::backend::threaded::map_tiles;
use crate::simulator::{Backend, Simulator};
use crate::workload::binomial::BinomialPlan;
use rayon::prelude::*;
use simcore::lane::{Real, UintLane};
use simcore::models::binomial::statistic;
use simcore::rng::Stream;
use std::ops::Range;

type Wide = <f32 as WidePrecision>::Wide;
const LANES: usize = <Wide as Real>::LANES;

/// Working set of one simulation: its uniforms (pregenerated) or little (fused).
const BYTES_PER_SIM: usize = 64;

/// Tiles per thread [`validate`] and [`calibrate`] aim for by default (`tile_for` aims for 4 per thread
/// of the `n` it is given, so it is given `S / 4`); a tile the caller fixed is kept.
/// Finer tiles trim the tail where one thread idles (seed sizes, 2 threads: B1 validate
/// 3.4–3.6e10 → 4.1–4.2e10 comparisons/s, B3/B4 steadier); a tile's only overhead is a
/// few small per-point arrays.
const TILES_PER_THREAD: usize = 16;

/// Counts of simulations `first ..` (one per lane of `L`) at every point of `p`.
fn counts_of<L: Real<Scalar = f32>>(
    plan: &BinomialPlan<'_>,
    first: usize,
    p: &[f32],
    counts: &mut [L::Bits],
) {
    plan.uniforms.count_grid::<L>(plan.seed, first, plan.n, plan.d, p, counts);
}

/// `range` as its full `f32x8` groups' first simulations and the remaining simulations.
fn split(range: Range<usize>) -> (impl Iterator<Item = usize> + Clone, Range<usize>) {
    let full = range.start + range.len() / LANES * LANES;
    ((range.start..full).step_by(LANES), full..range.end)
}

/// The largest count whose statistic is below `lambda`, if any: `T = f32(c) / f32(nd)`
/// is non-decreasing in `c` (exact conversion, correctly rounded division by a positive
/// constant), so `T < lambda ⇔ c <= last`, found once by bisection with [`statistic`]
/// itself. Comparing counts (as exact f32) with `last` then needs no division per point
/// and gives the identical decisions.
fn last_rejected(nd: usize, lambda: f32) -> Option<u32> {
    let (mut lo, mut hi) = (0usize, nd + 1);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if statistic::<f32>(mid as u32, nd) < lambda {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    // `lo` = the first count not rejected; `lo <= nd + 1 <= 2^24 + 1`.
    lo.checked_sub(1).map(|c| c as u32)
}

/// Groups between two flushes of the per-lane rejection tallies (far below `u32::MAX`).
const FLUSH_GROUPS: usize = 1 << 30;

/// Adds to `rej` the rejections of the groups starting at `firsts` (lanes of `L`).
/// Rejections are tallied per lane (`L::Bits`) and summed across lanes once at the end.
fn validate_groups<L: Real<Scalar = f32>>(
    plan: &BinomialPlan<'_>,
    last: Option<u32>,
    firsts: impl Iterator<Item = usize> + Clone,
    rej: &mut [u64],
) {
    let Some(last) = last else { return };
    let mut counts = vec![L::Bits::splat(0); rej.len().min(POINT_CHUNK)];
    let mut tally = vec![L::Bits::splat(0); rej.len()];
    // `last <= 2^24`: exact in f32, as are the counts.
    let (all, zero, last) = (L::Bits::splat(u32::MAX), L::Bits::splat(0), L::splat(last as f32));
    let flush = |tally: &mut [L::Bits], rej: &mut [u64]| {
        for (r, t) in rej.iter_mut().zip(tally.iter_mut()) {
            *r += (0..L::LANES).map(|l| u64::from(t.lane(l))).sum::<u64>();
            *t = zero;
        }
    };
    let d = plan.d;
    let mut since_flush = 0usize;
    // Points in L1-sized chunks, every group of the range per chunk: the chunk's counts,
    // tallies and `p` stay in L1 (fused uniforms are regenerated per chunk, a few % of
    // the comparisons' work).
    for (ci, p) in plan.p.chunks(POINT_CHUNK * d).enumerate() {
        let g0 = ci * POINT_CHUNK;
        let gn = p.len() / d;
        let (counts, tally) = (&mut counts[..gn], &mut tally[g0..g0 + gn]);
        for first in firsts.clone() {
            counts_of::<L>(plan, first, p, counts);
            for (t, &c) in tally.iter_mut().zip(counts.iter()) {
                // The mask as −1 / 0, subtracted: +1 per rejection.
                *t = t.wrapping_sub(L::select_bits(L::from_uint_exact(c).simd_le(last), all, zero));
            }
            since_flush += 1;
            if since_flush == FLUSH_GROUPS {
                flush(tally, &mut rej[g0..g0 + gn]);
                since_flush = 0;
            }
        }
        flush(tally, &mut rej[g0..g0 + gn]);
        since_flush = 0;
    }
}

/// Grid points [`validate_groups`] handles at once: 256 points' counts and tallies
/// (`f32x8`: 8 KiB each) and `p` (4 KiB) fit in L1 together.
const POINT_CHUNK: usize = 256;

/// Rejections per active point among the simulations of `range`.
fn validate_range(plan: &BinomialPlan<'_>, lambda: f32, range: Range<usize>) -> Vec<u64> {
    let mut rej = vec![0u64; plan.active.len()];
    let (groups, rest) = split(range);
    let last = last_rejected(plan.nd, lambda);
    validate_groups::<Wide>(plan, last, groups, &mut rej);
    validate_groups::<f32>(plan, last, rest, &mut rej);
    rej
}

/// `rej[g] = #{s : T[g,s] < lambda}` at the active points, 0 elsewhere.
pub fn validate(sim: &Simulator, plan: &BinomialPlan<'_>, lambda: f32) -> Vec<u64> {
    let rej_active = if plan.active.is_empty() {
        Vec::new()
    } else {
        match (sim.backend(), sim.pool()) {
            (Backend::Threaded(cfg), Some(pool)) => {
                let tile = cfg.tile_for(plan.sims.div_ceil(TILES_PER_THREAD / 4), BYTES_PER_SIM);
                let parts = map_tiles(pool, plan.sims, tile, |r| validate_range(plan, lambda, r));
                let mut total = vec![0u64; plan.active.len()];
                for part in parts {
                    for (t, p) in total.iter_mut().zip(part) {
                        *t += p;
                    }
                }
                total
            }
            _ => validate_range(plan, lambda, 0..plan.sims),
        }
    };
    let mut rej = vec![0u64; plan.grid];
    for (&g, &r) in plan.active.iter().zip(&rej_active) {
        rej[g] = r;
    }
    rej
}

/// Counts of the groups starting at `firsts` (lanes of `L`) at the points of `p`, into
/// `cols[gi·width + (s − base)]`.
fn count_groups<L: Real<Scalar = f32>>(
    plan: &BinomialPlan<'_>,
    p: &[f32],
    firsts: impl Iterator<Item = usize>,
    base: usize,
    width: usize,
    cols: &mut [u32],
) {
    let mut counts = vec![L::Bits::splat(0); p.len() / plan.d];
    for first in firsts {
        counts_of::<L>(plan, first, p, &mut counts);
        for (gi, &c) in counts.iter().enumerate() {
            for l in 0..L::LANES {
                cols[gi * width + first - base + l] = c.lane(l);
            }
        }
    }
}

/// Counts of the simulations of `range` at the points of `p`, `[gi][s − range.start]`.
fn count_range(plan: &BinomialPlan<'_>, p: &[f32], range: Range<usize>) -> Vec<u32> {
    let (base, width) = (range.start, range.len());
    let mut cols = vec![0u32; p.len() / plan.d * width];
    let (groups, rest) = split(range);
    count_groups::<Wide>(plan, p, groups, base, width, &mut cols);
    count_groups::<f32>(plan, p, rest, base, width, &mut cols);
    cols
}

/// Entries of the count matrix held at once by [`calibrate`] (64 MiB of `u32`), as in
/// the scalar backend.
const CALIBRATE_BUDGET: usize = 1 << 24;

/// `λ*[g]` = the `m`-th smallest `T[g,s]` (1-based, `1 <= m <= S`) at the active points,
/// `f32::NAN` elsewhere.
pub fn calibrate(sim: &Simulator, plan: &BinomialPlan<'_>, m: usize) -> Vec<f32> {
    let (sims, d) = (plan.sims, plan.d);
    let mut out = vec![f32::NAN; plan.grid];
    let chunk = (CALIBRATE_BUDGET / sims).max(1);
    for (ci, gs) in plan.active.chunks(chunk).enumerate() {
        let p = &plan.p[ci * chunk * d..(ci * chunk + gs.len()) * d];
        let mut matrix = match (sim.backend(), sim.pool()) {
            (Backend::Threaded(cfg), Some(pool)) => {
                let tile = cfg.tile_for(sims.div_ceil(TILES_PER_THREAD / 4), BYTES_PER_SIM);
                let parts = map_tiles(pool, sims, tile, |r| (r.clone(), count_range(plan, p, r)));
                let mut matrix = vec![0u32; gs.len() * sims];
                for (r, cols) in parts {
                    for (gi, row) in cols.chunks_exact(r.len()).enumerate() {
                        matrix[gi * sims + r.start..gi * sims + r.end].copy_from_slice(row);
                    }
                }
                matrix
            }
            _ => count_range(plan, p, 0..sims),
        };
        let select = |row: &mut [u32]| -> f32 {
            let (_, &mut c, _) = row.select_nth_unstable(m - 1);
            statistic::<f32>(c, plan.nd)
        };
        let lambdas: Vec<f32> = match sim.pool() {
            Some(pool) => pool.install(|| matrix.par_chunks_mut(sims).map(select).collect()),
            None => matrix.chunks_mut(sims).map(select).collect(),
        };
        for (&g, l) in gs.iter().zip(lambdas) {
            out[g] = l;
        }
    }
    out
}

/// The uniforms of one group of simulations, `[s][k][a]` rows of `nd` values.
struct Fill {
    seed: u64,
    nd: usize,
}

impl GroupKernel<f32> for Fill {
    type Out = f32;
    fn per_item(&self) -> usize {
        self.nd
    }
    fn bytes_per_sim(&self) -> usize {
        self.nd * 4
    }
    fn group<L: Real<Scalar = f32>>(&self, first: u64, out: &mut [f32]) {
        let stream = Stream::<L>::consecutive(self.seed, first);
        for c in 0..self.nd.div_ceil(4) {
            let u = stream.uniform_block(c as u64);
            for (q, uq) in u.iter().enumerate().take((self.nd - 4 * c).min(4)) {
                for l in 0..L::LANES {
                    out[l * self.nd + 4 * c + q] = uq.lane(l);
                }
            }
        }
    }
}

/// The pregenerated uniforms of simulations `0 .. out.len() / nd` (layout `[s][k][a]`),
/// as `simcore::models::binomial::fill_uniforms` gives them.
pub fn fill_uniforms(sim: &Simulator, seed: u64, nd: usize, out: &mut [f32]) {
    run_groups(sim, &Fill { seed, nd }, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_rejected_matches_statistic() {
        for nd in [1usize, 3, 4, 20, 600, 1400, 1 << 24] {
            for lambda in [0.0f32, 1e-9, 0.05, 1.0 / 3.0, 0.5, 0.999, 1.0, 1.5, f32::NAN] {
                let last = last_rejected(nd, lambda);
                let below = |c: usize| statistic::<f32>(c as u32, nd) < lambda;
                match last {
                    None => assert!(!below(0), "nd {nd} λ {lambda}"),
                    Some(c) => {
                        let c = c as usize;
                        assert!(below(c) && (c == nd || !below(c + 1)), "nd {nd} λ {lambda}");
                        assert!(below(c / 2));
                    }
                }
            }
        }
        assert_eq!(last_rejected(4, 0.5), Some(1));
        assert_eq!(last_rejected(4, 2.0), Some(4));
    }
}
