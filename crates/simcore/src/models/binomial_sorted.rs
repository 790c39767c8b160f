//! W3 counts by bucketing instead of brute force — the calibration engine's algorithmic
//! speed-up for the binomial model.
//!
//! The W3 statistic depends on simulation `s` and grid point `g` only through the arm
//! counts `c[g,s,a] = #{k : U[s,k,a] < p[g,a]}`. Brute force costs `n` comparisons per
//! `(g, s, a)`. Here, for one arm and a tile of `G'` grid points:
//!
//! 1. once per tile, the points' `p[·,a]` in ascending order — [`sort_points`], or a whole
//!    grid's order restricted to the tile — give ([`SortedArm::from_order`]; both at once:
//!    [`SortedArm::build`]) `sorted[j]`, the rank `rank[g]` of each point, and a bucket
//!    table over `[min p, max p]` (see [`SortedArm`]);
//! 2. per simulation, each uniform `u` gets its position `r(u) = #{j : sorted[j] <= u}`
//!    ([`SortedArm::position`]: the table, then at most [`PAD`] branch-free comparisons
//!    inside one bucket) and a histogram of positions is kept;
//! 3. the running sums of the histogram ([`running_sums`], in place) are
//!    `cum[j] = #{u : r(u) <= j} = #{u : u < sorted[j]}`, so point `g` gets
//!    `c[g,s,a] = cum[rank[g]]`; [`gather_totals`] sums that over the arms in one pass over
//!    the points.
//!
//! Steps 2–3 run for `W` simulations at once (`[C; W]` rows of [`Cell`]s, `u16` when they
//! fit; a vector compare first sets aside the uniforms outside `[min p, max p)`, which
//! need no placement). Cost per simulation and arm: `O(n + G'/W)` instead of `O(n·G')`. Every
//! comparison is the same f32 `<` as brute force (`u < p ⇔ ¬(p <= u)` for non-NaN values; a
//! NaN uniform counts nowhere, as `NaN < p` is false, nor does `+inf`), so the counts are
//! **exactly** brute force's, ties and duplicated `p` included. No allocation: callers own
//! every buffer. Nothing depends on how the grid or the simulations are tiled beyond which
//! points share a table, and the counts do not depend on that.
//!
//! Why buckets and not a merge: a merge of the sorted `p` with each simulation's sorted
//! uniforms also gives every count in `O(G' + n)`, but needs the `n` uniforms per arm sorted
//! first (`O(n log n)`, data-dependent branches), where a bucket costs one table load and an
//! 8-wide comparison per uniform. A variant with one comparison per uniform (a finer table,
//! a branch to a binary search for buckets of two or more `p`) measured slower at B4: its
//! table no longer fits in L1 and the branch mispredicts.

use crate::lane::{Real, pick8};
use core::cmp::Ordering;
use core::ops::AddAssign;

/// A histogram cell, also the type [`gather_totals`] adds the arms' counts in: `u16` when
/// the total over the arms, `n·d`, fits it (half the cache footprint of `u32`, which is
/// what makes the histogram of a 1024-point tile fit in L1 next to the bucket table), else
/// `u32`.
pub trait Cell: Copy + Default + AddAssign + PartialOrd + Into<u32> {
    /// One.
    const ONE: Self;
    /// Most uniforms per arm the cell can count.
    const MAX: usize;
    /// A count of at most [`Cell::MAX`].
    fn from_count(c: u32) -> Self;
}

impl Cell for u16 {
    const ONE: Self = 1;
    const MAX: usize = u16::MAX as usize;
    fn from_count(c: u32) -> Self {
        c as u16
    }
}

impl Cell for u32 {
    const ONE: Self = 1;
    const MAX: usize = u32::MAX as usize;
    fn from_count(c: u32) -> Self {
        c
    }
}

/// Entries past the tile's sorted probabilities that [`SortedArm::from_order`] sets to NaN
/// (so the branch-free window never reads out of bounds, and `NaN <= u` never counts), and
/// the most probabilities a bucket may hold for the branch-free path: one 8-lane compare.
pub const PAD: usize = 8;

/// Most grid points a [`SortedArm`] takes: the bucket table holds positions as `u16`, half
/// the cache footprint of `u32` (the table is read at a random bucket per uniform).
pub const MAX_POINTS: usize = u16::MAX as usize;

/// Capacity of the bucket table for a tile of `points` grid points: room for `4·points`
/// buckets (at most `2^16`), plus one. [`SortedArm::from_order`] uses as few of them as
/// keep every bucket within [`PAD`] probabilities.
pub fn lut_len(points: usize) -> usize {
    (4 * points).clamp(1, 1 << 16) + 1
}

/// One arm's sorted probabilities and bucket table over a tile of grid points (borrowed
/// buffers, see [`SortedArm::build`]).
///
/// Buckets: `bucket(u) = round(clamp((u − lo)·scale, 0, K − 1))` with `lo` the smallest and
/// `scale = K / (largest − lo)` — any monotone map would do, because the table is built by
/// applying the very same map to the probabilities: `lut[k] = #{j : bucket(sorted[j]) < k}`.
/// Monotonicity gives `lut[k] <= r(u) <= lut[k+1]` for `u` in bucket `k`, so `r(u)` is
/// `lut[k]` plus the number of the bucket's own probabilities `<= u`. When no bucket holds
/// more than [`PAD`] probabilities that is a fixed, branch-free sum of [`PAD`] comparisons
/// (entries past the bucket are `> u`, the padding is NaN); otherwise a binary search.
///
/// `K` is the smallest of `G'`, `2·G'`, `4·G'`, … (within the table's capacity) for which
/// no bucket holds more than [`PAD`] probabilities: the table is read at a random bucket
/// per placed uniform, so the smaller it is, the more of it stays in L1. At B4 that is
/// `K = G'`: 2 KiB per arm for a 1024-point tile. The `4·G'`-bucket `u32` table it
/// replaced was 16 KiB, and a whole B4 `validate` ran 1.06–1.1× longer with it (paired
/// runs, one thread, Zen 3).
#[derive(Debug, Clone, Copy)]
pub struct SortedArm<'a> {
    sorted: &'a [f32],
    lut: &'a [u16],
    base: f32,
    scale: f32,
    /// The last bucket, `K − 1`, as f32 (exact: `K <= 2^22`).
    kmax: f32,
    span: usize,
}

/// Total order on the (non-NaN) probabilities; NaN last.
fn order_f32(a: f32, b: f32) -> Ordering {
    a.total_cmp(&b)
}

/// The nearest integer to `x` (ties to even) for `0 <= x <= 2^22`, without a float-to-int
/// cast so that the compiler vectorises it: adding `2^23` rounds `x` into the mantissa's
/// integer bits. Non-decreasing in `x`, which is all a bucket map needs.
#[inline(always)]
fn round_small(x: f32) -> u32 {
    const MAGIC: f32 = 8_388_608.0; // 2^23
    (x + MAGIC).to_bits() - MAGIC.to_bits()
}

/// Fills `order` (`G'` entries) with the points of the tile `p` (`G' × d` row-major,
/// `p` not NaN) in ascending `p[·,a]` (ties in any order) — the input of
/// [`SortedArm::from_order`]. Sort a whole grid once: its order restricted to any tile of
/// points is still ascending, so tiles need no sort of their own.
///
/// # Panics
/// If `order.len() != p.len() / d`.
pub fn sort_points(p: &[f32], d: usize, a: usize, order: &mut [u32]) {
    assert_eq!(order.len(), p.len() / d, "order buffer");
    for (g, o) in order.iter_mut().enumerate() {
        *o = g as u32;
    }
    order.sort_unstable_by(|&x, &y| order_f32(p[x as usize * d + a], p[y as usize * d + a]));
}

impl<'a> SortedArm<'a> {
    /// [`sort_points`] into `order_buf` (`G'` entries, scratch), then
    /// [`SortedArm::from_order`].
    ///
    /// # Panics
    /// As [`SortedArm::from_order`].
    pub fn build(
        p: &[f32],
        d: usize,
        a: usize,
        order_buf: &mut [u32],
        sorted: &'a mut [f32],
        rank: &mut [u32],
        lut: &'a mut [u16],
    ) -> Self {
        sort_points(p, d, a, order_buf);
        Self::from_order(p, d, a, order_buf, sorted, rank, lut)
    }

    /// Arm `a` of the tile `p` (`G' × d` row-major, `G' = rank.len()`, `p` not NaN), its
    /// points given in ascending `p[·,a]` by `order` (see [`sort_points`]). Fills `sorted`
    /// (`G' + PAD`: the sorted `p[·,a]`, then NaN), `rank` (`G'`: point `g`'s index in
    /// `sorted`) and `lut` (room for `K + 1` entries, at most `2^22` buckets, e.g.
    /// [`lut_len`]; see [`SortedArm`] for how many are used).
    ///
    /// # Panics
    /// If the buffers' lengths disagree with `p.len() / d`, `G'` exceeds [`MAX_POINTS`],
    /// `lut.len()` is not in `2..=2^22 + 1`, or `order` is not a permutation of `0..G'` in
    /// ascending `p[·,a]`.
    pub fn from_order(
        p: &[f32],
        d: usize,
        a: usize,
        order: &[u32],
        sorted: &'a mut [f32],
        rank: &mut [u32],
        lut: &'a mut [u16],
    ) -> Self {
        let gp = p.len() / d;
        assert!(order.len() == gp && sorted.len() == gp + PAD && rank.len() == gp, "tile buffers");
        assert!(gp <= MAX_POINTS, "more than {MAX_POINTS} points in a tile");
        assert!((2..=(1 << 22) + 1).contains(&lut.len()), "lut length");
        rank.fill(u32::MAX);
        for (j, &g) in order.iter().enumerate() {
            let x = p[g as usize * d + a];
            assert!(rank[g as usize] == u32::MAX, "order repeats point {g}");
            assert!(j == 0 || order_f32(sorted[j - 1], x).is_le(), "order not ascending at {j}");
            sorted[j] = x;
            rank[g as usize] = j as u32;
        }
        sorted[gp..].fill(f32::NAN);
        let (base, top) = if gp > 0 { (sorted[0], sorted[gp - 1]) } else { (0.0, 0.0) };
        let width = top - base;
        let cap = lut.len() - 1;
        let mut k = gp.clamp(1, cap);
        loop {
            let scale = if width > 0.0 && width.is_finite() { k as f32 / width } else { 0.0 };
            let mut arm = Self { sorted: &[], lut: &[], base, scale, kmax: (k - 1) as f32, span: 0 };
            // lut[b] = #{j : bucket(sorted[j]) < b}.
            let table = &mut lut[..=k];
            table.fill(0);
            for &x in &sorted[..gp] {
                table[arm.bucket(x) + 1] += 1;
            }
            let (mut run, mut span) = (0, 0);
            for l in table.iter_mut() {
                span = span.max(*l as usize);
                run += *l;
                *l = run;
            }
            if span <= PAD || 2 * k > cap {
                arm.span = span;
                let lut: &'a [u16] = lut;
                arm.lut = &lut[..=k];
                arm.sorted = sorted;
                return arm;
            }
            k *= 2;
        }
    }

    /// The bucket of `u` (non-decreasing in `u`; NaN goes to bucket 0 and is handled apart).
    #[inline(always)]
    fn bucket(&self, u: f32) -> usize {
        // `max` first: a NaN coordinate becomes 0.
        round_small(((u - self.base) * self.scale).max(0.0).min(self.kmax)) as usize
    }

    /// Points in the tile.
    pub fn len(&self) -> usize {
        self.sorted.len() - PAD
    }

    /// Whether the tile is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `r(u) = #{j : sorted[j] <= u}` (`G'` for a NaN `u`, which is below no `p`).
    #[inline(always)]
    pub fn position(&self, u: f32) -> usize {
        if u.is_nan() {
            return self.len();
        }
        if self.is_empty() || u < self.sorted[0] {
            return 0;
        }
        if u >= self.sorted[self.len() - 1] {
            return self.len();
        }
        self.position_in_range(u)
    }

    /// For `W` simulations at once (`uniforms[k][l]` = uniform `k` of this arm in
    /// simulation `l`): adds to `hist[j][l]` the number of uniforms `U[l,k]` whose
    /// position is `j` (`G'` rows; the uniforms of position `G'`, below no `p`, are not
    /// kept). `hist` must come in all zero.
    ///
    /// Only the uniforms inside the tile's range, `sorted[0] <= u < sorted[G'−1]`, need a
    /// position: one below it is below every `p` (position 0, counted per lane in a
    /// vector), one above it, `+inf` or NaN is below none (position `G'`, the scratch row
    /// nobody reads; "above" includes `u = sorted[G'−1]`). A block of rows is first
    /// filtered branch-free (each row's in-range lanes, a compare mask of `L` lanes,
    /// appended to a list through a table of lane indices per 8-lane byte, their values
    /// packed alongside by [`pick8`]), then only the listed uniforms are placed — at B4 (`θ` in `[0, 1)`, so `p` in
    /// `[0.5, 0.73]`) that is 23 % of them. The block's positions are all found first
    /// (loads only) and its histogram increments made after: with each increment right
    /// after its placement, the whole placement ran 1.4× slower at B4 (one thread, Zen 3,
    /// paired), as the pending read-modify-write stores held back the next placements'
    /// table loads. Packing the values in the filter (one `vpermps` per 8 lanes) instead of
    /// listing flat indices to load them from when placing made a whole B4 `validate`
    /// 1.05× faster (same conditions): a placement no longer starts with a load whose
    /// address is itself loaded.
    ///
    /// # Panics
    /// If `hist.len() != G'`, or `W` is not `L::LANES` or above 32.
    // Out of line, as is `gather_totals`: inlined into the caller's large per-group loop,
    // their loops had their pointers spilled to the stack (and they show apart in profiles).
    #[inline(never)]
    pub fn histogram<L: Real<Scalar = f32>, C: Cell, const W: usize>(
        &self,
        uniforms: &[[f32; W]],
        hist: &mut [[C; W]],
    ) {
        assert_eq!(hist.len(), self.len(), "histogram buffer");
        assert!(W == L::LANES && W <= 32, "lanes per row");
        if self.is_empty() {
            return;
        }
        let (lo, hi) = (self.sorted[0], self.sorted[self.len() - 1]);
        let (lo_v, hi_v) = (L::splat(lo), L::splat(hi));
        let mut below = [0u32; W];
        let mut picks = [0u32; BLOCK + 8];
        let mut values = [0f32; BLOCK + 8];
        let rows_per_block = BLOCK / W;
        for block in uniforms.chunks(rows_per_block) {
            let mut m = 0;
            for u in block {
                for (c, &x) in below.iter_mut().zip(u) {
                    *c += u32::from(x < lo);
                }
                let x = L::from_fn(|l| u[l]);
                let mut mask = L::bitmask(lo_v.simd_le(x) & x.simd_lt(hi_v));
                // Append the in-range lanes and their values, 8 lanes at a time.
                for (q, half) in u.chunks(8).enumerate() {
                    let byte = (mask & 0xff) as usize;
                    mask >>= 8;
                    let list = &LANE_LISTS[byte];
                    let half: [f32; 8] = core::array::from_fn(|k| half.get(k).copied().unwrap_or(0.0));
                    values[m..m + 8].copy_from_slice(&pick8(half, list));
                    for (dst, &k) in picks[m..m + 8].iter_mut().zip(list) {
                        *dst = 8 * q as u32 + u32::from(k);
                    }
                    m += byte.count_ones() as usize;
                }
            }
            // Each listed lane `l` becomes its histogram cell `r(u)·W + l`.
            for (f, &x) in picks[..m].iter_mut().zip(&values[..m]) {
                *f += (self.position_in_range(x) * W) as u32;
            }
            let cells = hist.as_flattened_mut();
            for &c in &picks[..m] {
                cells[c as usize] += C::ONE;
            }
        }
        for (c, &b) in hist[0].iter_mut().zip(&below) {
            *c += C::from_count(b);
        }
    }

    /// [`Self::position`] of a `u` known to be finite and inside the tile's range: the
    /// bucket's start plus [`PAD`] branch-free comparisons when no bucket holds more than
    /// [`PAD`] probabilities, else a binary search inside the bucket.
    #[inline(always)]
    fn position_in_range(&self, u: f32) -> usize {
        let k = self.bucket(u);
        let lo = self.lut[k] as usize;
        if self.span <= PAD {
            lo + self.sorted[lo..lo + PAD].iter().map(|&p| usize::from(p <= u)).sum::<usize>()
        } else {
            let hi = self.lut[k + 1] as usize;
            lo + self.sorted[lo..hi].partition_point(|&p| p <= u)
        }
    }
}

/// Most uniforms [`SortedArm::histogram`] filters before placing them (its list of
/// in-range lanes lives on the stack: 2 KiB).
const BLOCK: usize = 512;

/// `LANE_LISTS[m]`: the set bits of the 8-bit mask `m`, ascending, then padding.
const LANE_LISTS: [[u8; 8]; 256] = {
    let mut t = [[0u8; 8]; 256];
    let mut m = 0;
    while m < 256 {
        let (mut bit, mut k) = (0, 0);
        while bit < 8 {
            if m >> bit & 1 == 1 {
                t[m][k] = bit as u8;
                k += 1;
            }
            bit += 1;
        }
        m += 1;
    }
    t
};

/// Turns one arm's histogram of positions ([`SortedArm::histogram`]) into its running sums,
/// in place: `hist[j] = hist[0] + … + hist[j] = #{u : r(u) <= j} = #{u : u < sorted[j]}`,
/// the count of the point in `j`-th place. A sequential pass: the per-point scatter comes
/// after, as reads ([`gather_totals`]).
#[inline]
pub fn running_sums<C: Cell, const W: usize>(hist: &mut [[C; W]]) {
    let mut run = [C::default(); W];
    for h in hist {
        for (r, &x) in run.iter_mut().zip(h.iter()) {
            *r += x;
        }
        *h = run;
    }
}

/// What takes [`gather_totals`]'s totals, point by point. A trait rather than a closure so
/// that an implementation can mark [`TakeTotal::take`] `#[inline(always)]`: a closure was
/// left as a call per point (the consumer's captured state reloaded every time).
pub trait TakeTotal<C, const W: usize> {
    /// The totals `total[l]` of the tile's point `g` for the `W` simulations.
    fn take(&mut self, g: usize, total: &[C; W]);
}

/// Every point's total over the arms, for `W` simulations, handed to `take` point by point
/// in order: `take.take(g, &total)` with `total[l] = Σ_a cum[a][rank[a][g]][l]`, `cum` the arms'
/// [`running_sums`] (`d` blocks of `G'` rows, arm-major) and `rank` each arm's rank of
/// every point (`d` blocks of `G'`, as filled by [`SortedArm::from_order`]). The rows of
/// `cum` are only read (random rows); no totals are written anywhere.
///
/// The totals are added in `C` itself: the caller picks a cell that holds the largest
/// total, `n·d` (an overflow panics in debug builds and wraps otherwise). For W3's `u16`
/// cells that is one 16-lane add per arm and point, where widening to `u32` took two
/// widenings and two 8-lane adds, and the consumer compares the totals in registers
/// instead of reading back a buffer of them: a whole B4 `validate` ran 1.06× faster than
/// with `u32` totals written to a buffer (one thread, Zen 3, paired runs).
///
/// # Panics
/// If the lengths disagree (`cum` and `rank` hold `d·gp` entries), or a rank is `gp` or
/// more.
#[inline(never)]
pub fn gather_totals<C: Cell, const W: usize>(
    cum: &[[C; W]],
    rank: &[u32],
    gp: usize,
    take: &mut impl TakeTotal<C, W>,
) {
    assert!(cum.len() == rank.len() && rank.len().is_multiple_of(gp.max(1)), "arm blocks");
    let arms = rank.len() / gp.max(1);
    if arms == 4 {
        return gather_four_arms(cum, rank, gp, take);
    }
    for g in 0..gp {
        let mut total = [C::default(); W];
        for a in 0..arms {
            add_cells(&mut total, &cum[a * gp..(a + 1) * gp][rank[a * gp + g] as usize]);
        }
        take.take(g, &total);
    }
}

/// [`gather_totals`] for four arms (W3's `d`), the arm loop unrolled and every index
/// provably in bounds: 3–4 % faster at B4 than the loop over a run-time `d` (paired).
#[inline]
fn gather_four_arms<C: Cell, const W: usize>(
    cum: &[[C; W]],
    rank: &[u32],
    gp: usize,
    take: &mut impl TakeTotal<C, W>,
) {
    let (c0, rest) = cum.split_at(gp);
    let (c1, rest) = rest.split_at(gp);
    let (c2, c3) = rest.split_at(gp);
    let (r0, rest) = rank.split_at(gp);
    let (r1, rest) = rest.split_at(gp);
    let (r2, r3) = rest.split_at(gp);
    for g in 0..gp {
        let mut total = c0[r0[g] as usize];
        for row in [&c1[r1[g] as usize], &c2[r2[g] as usize], &c3[r3[g] as usize]] {
            add_cells(&mut total, row);
        }
        take.take(g, &total);
    }
}

/// `total[l] += row[l]` for every lane.
#[inline(always)]
fn add_cells<C: Cell, const W: usize>(total: &mut [C; W], row: &[C; W]) {
    for (t, &x) in total.iter_mut().zip(row) {
        *t += x;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{SplitMix64, Stream};
    use rand_core::RngCore;

    /// Brute force: `#{u : u < p}`.
    fn brute(us: &[f32], p: f32) -> u32 {
        us.iter().filter(|&&u| u < p).count() as u32
    }

    fn check(p: &[f32], d: usize, us: &[f32]) {
        let gp = p.len() / d;
        let (mut ord, mut sorted, mut rank) = ([0u32; 64], [0f32; 64 + PAD], [0u32; 4 * 64]);
        let mut lut = [0u16; 4 * 64 + 1];
        let mut cum = [[0u32; 1]; 4 * 64];
        let ncol = us.len() / d;
        let col =
            |a: usize| -> [f32; 64] { core::array::from_fn(|k| us.get(k * d + a).copied().unwrap_or(0.0)) };
        for buckets in [1usize, 3, 4 * gp] {
            for a in 0..d {
                let rows: [[f32; 1]; 64] = col(a).map(|u| [u]);
                let arm = SortedArm::build(
                    p,
                    d,
                    a,
                    &mut ord[..gp],
                    &mut sorted[..gp + PAD],
                    &mut rank[a * gp..(a + 1) * gp],
                    &mut lut[..buckets + 1],
                );
                let hist = &mut cum[a * gp..(a + 1) * gp];
                hist.fill([0]);
                arm.histogram::<f32, u32, 1>(&rows[..ncol], hist);
                running_sums(hist);
                for g in 0..gp {
                    let want = brute(&col(a)[..ncol], p[g * d + a]);
                    assert_eq!(hist[rank[a * gp + g] as usize][0], want, "g {g} a {a} p {}", p[g * d + a]);
                }
            }
            let mut counts = [[u32::MAX; 1]; 64];
            struct Into64<'c>(&'c mut [[u32; 1]; 64]);
            impl TakeTotal<u32, 1> for Into64<'_> {
                fn take(&mut self, g: usize, total: &[u32; 1]) {
                    self.0[g] = *total;
                }
            }
            gather_totals(&cum[..d * gp], &rank[..d * gp], gp, &mut Into64(&mut counts));
            for g in 0..gp {
                let want: u32 = (0..d).map(|a| brute(&col(a)[..ncol], p[g * d + a])).sum();
                assert_eq!(counts[g][0], want, "total at g {g}");
            }
        }
    }

    #[test]
    fn equals_brute_force_on_random_tiles() {
        let mut rng = SplitMix64::for_stream(9, 0);
        for trial in 0..200 {
            let d = 1 + trial % 4;
            let gp = 1 + (rng.next_u64() % 60) as usize / d.max(1);
            let n = 1 + (rng.next_u64() % 15) as usize;
            let unit = |r: &mut SplitMix64| (r.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
            let mut p = [0f32; 64 * 4];
            for x in p[..gp * d].iter_mut() {
                *x = match rng.next_u64() % 6 {
                    0 => 0.5,
                    1 => 0.0,
                    2 => 1.0,
                    _ => unit(&mut rng),
                };
            }
            let st = Stream::<f32>::consecutive(4, trial as u64);
            let mut us = [0f32; 64];
            for (j, u) in us[..n * d].iter_mut().enumerate() {
                *u = if j % 7 == 3 { 0.5 } else { st.uniform(j as u64) };
            }
            check(&p[..gp * d], d, &us[..n * d]);
        }
    }

    #[test]
    fn a_whole_grid_order_restricted_to_a_tile_equals_the_tile_own_sort() {
        let mut rng = SplitMix64::for_stream(3, 1);
        let d = 2usize;
        // Quarter-steps: many ties.
        let p: [f32; 80] = core::array::from_fn(|_| (rng.next_u64() % 5) as f32 * 0.25);
        let mut whole = [0u32; 40];
        sort_points(&p, d, 1, &mut whole);
        let (t0, t1) = (7usize, 29usize);
        let tile = &p[t0 * d..t1 * d];
        let mut restricted = [0u32; 22];
        let mut m = 0;
        for &x in whole.iter().filter(|&&x| (t0..t1).contains(&(x as usize))) {
            restricted[m] = x - t0 as u32;
            m += 1;
        }
        assert_eq!(m, t1 - t0);
        let (mut s1, mut s2) = ([0f32; 22 + PAD], [0f32; 22 + PAD]);
        let (mut r1, mut r2, mut o) = ([0u32; 22], [0u32; 22], [0u32; 22]);
        let (mut l1, mut l2) = ([0u16; 89], [0u16; 89]);
        let a = SortedArm::from_order(tile, d, 1, &restricted, &mut s1, &mut r1, &mut l1);
        let b = SortedArm::build(tile, d, 1, &mut o, &mut s2, &mut r2, &mut l2);
        for u in [0.0f32, 0.1, 0.25, 0.3, 0.5, 0.75, 0.99, 1.0, 2.0] {
            assert_eq!(a.position(u), b.position(u), "{u}");
        }
        for (j, (&x, &y)) in a.sorted.iter().zip(b.sorted).take(22).enumerate() {
            assert_eq!(x, y, "sorted value {j}");
        }
    }

    #[test]
    #[should_panic(expected = "order not ascending")]
    fn an_order_out_of_p_order_is_refused() {
        let p = [0.5f32, 0.25, 0.75];
        let (mut s, mut r, mut l) = ([0f32; 3 + PAD], [0u32; 3], [0u16; 13]);
        SortedArm::from_order(&p, 1, 0, &[0, 1, 2], &mut s, &mut r, &mut l);
    }

    #[test]
    #[should_panic(expected = "repeats point")]
    fn an_order_repeating_a_point_is_refused() {
        let p = [0.5f32, 0.5, 0.75];
        let (mut s, mut r, mut l) = ([0f32; 3 + PAD], [0u32; 3], [0u16; 13]);
        SortedArm::from_order(&p, 1, 0, &[0, 0, 2], &mut s, &mut r, &mut l);
    }

    #[test]
    fn odd_uniforms_and_ties() {
        // Values outside [0, 1), NaN, and exact ties with p.
        let p = [0.25f32, 0.5, 0.5, 0.75, 0.0, 1.0];
        let us = [
            0.5f32,
            f32::NAN,
            -1.0,
            1.0,
            2.0,
            0.25,
            0.999_999_94,
            0.0,
            0.75,
            0.5,
            f32::INFINITY,
            f32::NEG_INFINITY,
            -0.0,
            0.125,
            0.25,
            0.999_999_94,
            0.75,
            f32::NAN,
        ];
        // 18 values: whole rows for d = 1, 2 and 3.
        check(&p, 1, &us);
        check(&p, 2, &us);
        check(&p[..3], 3, &us);
    }

    #[test]
    fn round_small_is_nearest_and_non_decreasing() {
        for (x, k) in [
            (0.0f32, 0u32),
            (0.25, 0),
            (0.5, 0),
            (0.75, 1),
            (1.5, 2),
            (2.5, 2),
            (4095.5, 4096),
            (65535.99, 65536),
        ] {
            assert_eq!(round_small(x), k, "{x}");
        }
        let (mut x, mut last) = (0.0f32, 0u32);
        while x < 70.0 {
            let k = round_small(x);
            assert!((k as f32 - x).abs() <= 0.5 && k >= last, "{x} -> {k}");
            last = k;
            x = f32::from_bits(x.to_bits() + 9973);
        }
    }

    #[test]
    fn the_table_is_as_small_as_keeps_buckets_within_pad() {
        let (mut ord, mut sorted, mut rank, mut lut) =
            ([0u32; 64], [0f32; 64 + PAD], [0u32; 64], [0u16; 257]);
        // Evenly spread: G' buckets hold one point each.
        let even: [f32; 64] = core::array::from_fn(|j| 0.25 + j as f32 / 128.0);
        let arm = SortedArm::build(&even, 1, 0, &mut ord, &mut sorted, &mut rank, &mut lut);
        assert_eq!((arm.lut.len(), arm.span <= PAD), (65, true));
        // Half the points in a cluster of width 1/1000 of the range: the table grows until
        // the cluster's buckets hold at most PAD points, or to its capacity.
        let clustered: [f32; 64] =
            core::array::from_fn(|j| if j < 32 { 0.5 + j as f32 * 1e-5 } else { j as f32 / 64.0 });
        let arm = SortedArm::build(&clustered, 1, 0, &mut ord, &mut sorted, &mut rank, &mut lut);
        assert_eq!(arm.lut.len(), 257, "capacity");
        assert!(arm.span > PAD, "the binary-search path");
        let tied = [0.5f32; 64];
        let arm = SortedArm::build(&tied, 1, 0, &mut ord, &mut sorted, &mut rank, &mut lut);
        assert_eq!((arm.position(0.5), arm.position(0.49)), (64, 0));
    }

    #[test]
    fn table_length() {
        assert_eq!(lut_len(1), 5);
        assert_eq!(lut_len(1024), 4097);
        assert_eq!(lut_len(1 << 20), (1 << 16) + 1);
    }
}
