//! The W3 binomial design as a calibration [`Model`]: `d` arms, `n` patients per arm,
//! grid coordinates `θ[g, a]` (logits), `p[g,a] = expit(θ[g,a])` in f64 rounded to f32,
//! statistic `T[g,s] = f32(count[g,s]) / f32(n·d)` with
//! `count[g,s] = #{(k, a) : U[s,k,a] < p[g,a]}` (WORKLOADS.md W3; all math from
//! `simcore::models::binomial` and `simcore::models::binomial_sorted`).
//!
//! Two ways to count, same counts bit for bit:
//! * [`Counting::BruteForce`] — every `(g, s, k, a)` comparison, on `f32x8` groups of 8
//!   simulations, each uniform generated (fused: Philox or JAX) or loaded (pregenerated)
//!   once per task and compared with every point of the tile;
//! * [`Counting::Sorted`] — per simulation and arm, each uniform is placed among the
//!   tile's sorted `p[·,a]` by a bucket table and a histogram's prefix sums give every
//!   point's count: `O(n + G')` per simulation and arm instead of `O(n·G')`. Each arm of
//!   the grid is sorted once, in [`Model::prepare`]; a tile takes the grid's order
//!   restricted to its points.
//!
//! Measured at B4 (`n = 350`, `G = 1024`): on the Zen 4 dev VM, 2 threads, six bench runs
//! before the changes below, sorted 7.3e11–1.21e12 equivalent comparisons/s, 16–23×
//! brute force in the same run. On a Zen 3 VM (AVX2 only), one thread, a simulation took
//! 5.6 µs; then 3.7 µs once each block's positions are found before its histogram
//! increments are made (see [`SortedArm::histogram`]) and the walk became running sums and
//! one gather; 3.2 µs with the buffers kept per thread between tasks (a whole B4 validate
//! had taken 26 000 page faults in 31 calls, now 300); 2.7 µs with the totals over the arms
//! added in the histogram's `u16` cells and taken by the sink as they are formed (1.06×,
//! see [`gather_totals`]) and the filter packing the in-range values (1.05×). Bench runs
//! there on a quiet machine: 5.5–5.8e11 on one thread and 1.03–1.06e12 on two (the second
//! thread of that VM is not always there: another run gave 6.9e11); 21× brute force in the
//! same runs, 15.5–16.4× once brute force itself ran 1.34× faster (SIMD `select_bits`
//! made bitwise). Of a simulation's time on one thread (Zen 3, `perf`), the filter, the
//! placements and the histogram increments take 45 %, the Philox generator a third (0.9 µs
//! timed alone), the gather 11 %, the running sums, zeroing and setup the rest. Tried and
//! dropped: AVX2 gathers (slower on Zen 4); every uniform's bucket computed in vector
//! registers first (no gain, Zen 3); the uniforms made and placed 32 patients at a time so
//! that they stay in L1 (1.2× slower: the four arms' tables then compete for L1); running
//! sums into a second buffer instead of zeroing the histogram after the gather (1.07×
//! slower); placing by integer order keys (bucket = subtraction and shift; 1.02×, within
//! the noise).
//!
//! Null hypothesis: W3 has no built-in null region; by default every point is null (as in
//! the seed sizes). Give explicit flags with [`Grid::with_null`] (the CLI's `null` column).

use super::{Grid, Model};
use crate::backend::simd::WidePrecision;
use crate::error::SimError;
use crate::workload::binomial::{Uniforms, jax_lanes};
use simcore::lane::Real;
use simcore::models::binomial::{expit_f32, statistic, validate_shape};
use simcore::models::binomial_sorted::{
    Cell, MAX_POINTS, PAD, SortedArm, TakeTotal, gather_totals, lut_len, running_sums, sort_points,
};
use simcore::rng::Stream;
use simcore::rng::jax::lanes::uniforms_strided;
use std::cell::RefCell;
use std::ops::Range;

type Wide = <f32 as WidePrecision>::Wide;
const LANES: usize = <Wide as Real>::LANES;
/// Sorted counting's group of simulations: 16 (two AVX2 vectors per row) spreads the
/// per-point overhead of walking each arm's histogram (order load, index arithmetic, loop)
/// over twice the simulations of 8 lanes; measured 7 % faster at B4 on one thread
/// (whole-process, paired).
type SortWide = wide::f32x16;
const SORT_LANES: usize = <SortWide as Real>::LANES;

/// How [`BinomialModel`] counts (all three give the same counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Counting {
    /// [`Counting::Sorted`] from [`SORTED_MIN_N`] patients per arm and
    /// [`SORTED_MIN_POINTS`] points per tile on, else [`Counting::BruteForce`] (for a
    /// handful of uniforms per arm, or of points to compare them with, comparing them all
    /// is cheaper than placing them among the sorted probabilities).
    #[default]
    Auto,
    /// All `n·d` comparisons per grid point and simulation.
    BruteForce,
    /// Bucketed counting against the tile's sorted probabilities.
    Sorted,
}

/// Smallest `n` for which [`Counting::Auto`] sorts. Measured on one thread, 1024-point
/// tiles, whole `validate` calls: with every `p` of the tile in `[0.02, 0.98]` (nearly all
/// uniforms placed, sorting's worst case) brute force and sorting tie at `n = 3`, sorting
/// is 1.2× faster at `n = 5` and 2× at `n = 16`; with `p` in `[0.5, 0.73]` (B1–B4's
/// grids) sorting already wins 1.16× at `n = 3`; brute force wins at `n = 1`.
pub const SORTED_MIN_N: usize = 5;

/// Fewest grid points per tile for which [`Counting::Auto`] sorts (measured at `n = 350`,
/// one thread, `p` in `[0.02, 0.98]`: brute force 1.1× faster with 64 points, sorting 1.6×
/// faster with 128; with B4's narrower `p` sorting wins from 32 points on).
pub const SORTED_MIN_POINTS: usize = 96;

/// The W3 design (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BinomialModel<'a> {
    /// Seed of the streams; simulation `s` uses stream `s`.
    pub seed: u64,
    /// Patients per arm.
    pub n: usize,
    /// Arms (grid coordinates per point).
    pub d: usize,
    /// `n·d`.
    nd: usize,
    /// Fused (Philox), pregenerated (`[s][k][a]`, exactly `K·n·d` values) or JAX's
    /// (`jax.random.uniform(key, (K, n, d))` generated in registers).
    pub uniforms: Uniforms<'a>,
    /// Counting method.
    pub counting: Counting,
}

/// [`BinomialModel`]'s per-grid data: `p` of every point (`G × d` row-major), the
/// statistic of every count `0..=n·d` (a table lookup instead of a division; left empty
/// when `n·d > 2^16`) and, for sorted counting, each arm's points in ascending `p`
/// (`d × G`, sorted once here instead of once per task).
#[derive(Debug, Clone, PartialEq)]
pub struct BinomialPrepared {
    p: Vec<f32>,
    table: Vec<f32>,
    /// Per arm (`[a][i]`, `G` entries each): the grid's points in ascending `p`.
    order: Vec<u32>,
    /// Per arm (`[a][g]`): the position of point `g` in that arm's `order`.
    place: Vec<u32>,
}

/// A tile takes each arm's order by filtering the grid's (`O(G)` per arm) while the grid
/// has at most this many times the tile's points, and by sorting its own points by their
/// place in the grid's order (`O(G' log G')`) beyond: filtering alone made sorted counting
/// quadratic in the grid size (a 10^6-point grid ran 7× longer than brute force).
const FILTER_MAX_RATIO: usize = 16;

/// Largest `n·d` for which [`BinomialPrepared`] tabulates the statistic.
const TABLE_MAX: usize = 1 << 16;

impl<'a> BinomialModel<'a> {
    /// `n` patients in each of `d` arms, fused uniforms, [`Counting::Auto`].
    ///
    /// # Errors
    /// [`SimError::Param`] for `n = 0`, `d = 0` or `n·d > 2^24`.
    pub fn new(seed: u64, n: usize, d: usize) -> Result<Self, SimError> {
        let nd = validate_shape(n, d)?;
        Ok(Self { seed, n, d, nd, uniforms: Uniforms::Fused, counting: Counting::default() })
    }

    /// The same model with other uniforms (pregenerated `[s][k][a]` of `K·n·d` values, or
    /// [`Uniforms::Jax`] of `K` simulations; checked against `K` when the engine runs).
    pub fn with_uniforms(self, uniforms: Uniforms<'a>) -> Self {
        Self { uniforms, ..self }
    }

    /// The same model with another counting method.
    pub fn with_counting(self, counting: Counting) -> Self {
        Self { counting, ..self }
    }

    /// Whether [`Self::count`] takes the sorted method for a tile of `points` points.
    fn uses_sorting(&self, points: usize) -> bool {
        match self.counting {
            Counting::Auto => self.n >= SORTED_MIN_N && points >= SORTED_MIN_POINTS,
            Counting::BruteForce => false,
            Counting::Sorted => true,
        }
    }

    /// Brute-force counting of simulations `sims` at the points `p` (tile of `gp`), the
    /// counts handed to `sink` group by group.
    fn brute(&self, p: &[f32], sims: Range<usize>, sink: &mut Sink<'_>) {
        let gp = p.len() / self.d;
        let full = sims.start + sims.len() / LANES * LANES;
        let mut wide = vec![<Wide as Real>::Bits::splat(0); gp];
        let mut counts = vec![[0u32; LANES]; gp];
        for first in (sims.start..full).step_by(LANES) {
            self.uniforms.count_grid::<Wide>(self.seed, first, self.n, self.d, p, &mut wide);
            for (c, w) in counts.iter_mut().zip(&wide) {
                *c = w.to_array();
            }
            sink.take(first, LANES, &counts);
        }
        let mut one = vec![0u32; gp];
        for s in full..sims.end {
            self.uniforms.count_grid::<f32>(self.seed, s, self.n, self.d, p, &mut one);
            for (c, &o) in counts.iter_mut().zip(&one) {
                c[0] = o;
            }
            sink.take(s, 1, &counts);
        }
    }

    /// Sorted counting of simulations `sims` at the grid points `points` (their `p` in
    /// `p`), 16 simulations at a time (a last partial group computes a few simulations past
    /// `sims` and drops them), the per-arm histograms and the totals over the arms in cells
    /// of `C` (`u16` when `n·d` fits, see [`Cell`]), in the calling thread's buffers
    /// `scratch`. Each arm's order is the prepared whole-grid order restricted to the tile.
    fn sorted<C: Cell>(
        &self,
        prep: &BinomialPrepared,
        points: Range<usize>,
        p: &[f32],
        sims: Range<usize>,
        sink: &mut Sink<'_>,
        scratch: &mut SortedScratch<C>,
    ) {
        debug_assert!(self.nd <= C::MAX);
        let (d, nd, n) = (self.d, self.nd, self.n);
        let (g_all, gp) = (prep.p.len() / d, points.len());
        let lut_n = lut_len(gp);
        let SortedScratch { order, sorted, rank, lut, cum, rows, row_of } = scratch;
        // Each arm's order restricted to the tile, in tile indices (either way the same).
        order.clear();
        if g_all <= FILTER_MAX_RATIO.saturating_mul(gp) {
            order.extend((0..d).flat_map(|a| {
                prep.order[a * g_all..(a + 1) * g_all]
                    .iter()
                    .filter(|&&g| points.contains(&(g as usize)))
                    .map(|&g| g - points.start as u32)
            }));
        } else {
            for a in 0..d {
                let place = &prep.place[a * g_all + points.start..a * g_all + points.end];
                let start = order.len();
                order.extend(0..gp as u32);
                order[start..].sort_unstable_by_key(|&i| place[i as usize]);
            }
        }
        sorted.resize((gp + PAD) * d, 0.0);
        rank.resize(gp * d, 0);
        lut.resize(lut_n * d, 0);
        let arms: Vec<SortedArm<'_>> = sorted
            .chunks_mut(gp + PAD)
            .zip(lut.chunks_mut(lut_n))
            .zip(rank.chunks_mut(gp))
            .enumerate()
            .map(|(a, ((s, l), r))| SortedArm::from_order(p, d, a, &order[a * gp..(a + 1) * gp], s, r, l))
            .collect();
        // Each arm's histogram, then its running sums, in its own block of rows (all zero
        // between groups).
        cum.clear();
        cum.resize(gp * d, [C::default(); SORT_LANES]);
        // Arm-major: uniform `j = k·d + a` of the group at row `a·n + k`, so that each arm's
        // pass reads its own `n` rows only. Every row is written for each group.
        rows.resize(nd, [0.0; SORT_LANES]);
        row_of.clear();
        row_of.extend((0..nd).map(|j| j % d * n + j / d));
        let rows = &mut rows[..nd];
        for first in sims.clone().step_by(SORT_LANES) {
            let group = (sims.end - first).min(SORT_LANES);
            match self.uniforms {
                Uniforms::Fused => {
                    let stream = Stream::<SortWide>::consecutive(self.seed, first as u64);
                    for c in 0..nd.div_ceil(4) {
                        let u = stream.uniform_block(c as u64);
                        for (j, uq) in (4 * c..nd).zip(u) {
                            rows[row_of[j]] = uq.to_array();
                        }
                    }
                }
                Uniforms::Pregenerated(u) => {
                    for j in 0..nd {
                        // Lanes past the range are never read back.
                        rows[row_of[j]] =
                            core::array::from_fn(
                                |l| if l < group { u[(first + l) * nd + j] } else { f32::NAN },
                            );
                    }
                }
                Uniforms::Jax { key, sims } => {
                    // Lanes past the draw read unspecified words, never read back.
                    let lanes = jax_lanes::<<SortWide as Real>::Words>(key, sims * nd);
                    for q in 0..nd.div_ceil(4) {
                        let u =
                            uniforms_strided::<SortWide, 4>(&lanes, first as u64, nd as u64, 4 * q as u64);
                        for (j, uq) in (4 * q..nd).zip(u) {
                            rows[row_of[j]] = uq.to_array();
                        }
                    }
                }
            }
            for ((arm, arm_rows), hist) in arms.iter().zip(rows.chunks_exact(n)).zip(cum.chunks_exact_mut(gp))
            {
                arm.histogram::<SortWide, C, SORT_LANES>(arm_rows, hist);
                running_sums(hist);
            }
            sink.take_totals(cum, &rank[..gp * d], gp, first, group);
            cum.fill([C::default(); SORT_LANES]);
        }
    }

    /// Runs the configured counting method on the grid points `points` (sorted counting in
    /// pieces of at most [`MAX_POINTS`] points).
    fn count(&self, prep: &BinomialPrepared, points: Range<usize>, sims: Range<usize>, sink: &mut Sink<'_>) {
        if !self.uses_sorting(points.len()) {
            let p = &prep.p[points.start * self.d..points.end * self.d];
            return self.brute(p, sims, sink);
        }
        for start in points.clone().step_by(MAX_POINTS) {
            let piece = start..(start + MAX_POINTS).min(points.end);
            let p = &prep.p[piece.start * self.d..piece.end * self.d];
            let sink = &mut sink.points(start - points.start, piece.len());
            if self.nd <= u16::MAX as usize {
                u16::with_scratch(|scratch| self.sorted(prep, piece, p, sims.clone(), sink, scratch));
            } else {
                u32::with_scratch(|scratch| self.sorted(prep, piece, p, sims.clone(), sink, scratch));
            }
        }
    }
}

/// Where a group's counts go: `counts[g][l]` is the count of simulation `first + l` at the
/// tile's point `g`, for `l < group`.
enum Sink<'s> {
    /// Statistics, point-major (`stats[g·S' + s − s0]` for `S'` simulations), via the
    /// statistic table.
    Stats { stats: &'s mut [f32], s0: usize, ns: usize, table: &'s [f32], nd: usize },
    /// Counts as levels of [`Model::levels`] (the statistic table's index), point-major
    /// like `Stats`.
    Levels { levels: &'s mut [u16], s0: usize, ns: usize },
    /// Rejection counts per point: `T < λ ⇔ count < crit` (T is non-decreasing in the count).
    Reject { crit: u32, rejections: &'s mut [u64] },
}

impl Sink<'_> {
    /// The same sink restricted to the `len` points from the tile's point `offset` on.
    fn points(&mut self, offset: usize, len: usize) -> Sink<'_> {
        match self {
            Sink::Stats { stats, s0, ns, table, nd } => Sink::Stats {
                stats: &mut stats[offset * *ns..(offset + len) * *ns],
                s0: *s0,
                ns: *ns,
                table,
                nd: *nd,
            },
            Sink::Levels { levels, s0, ns } => {
                Sink::Levels { levels: &mut levels[offset * *ns..(offset + len) * *ns], s0: *s0, ns: *ns }
            }
            Sink::Reject { crit, rejections } => {
                Sink::Reject { crit: *crit, rejections: &mut rejections[offset..offset + len] }
            }
        }
    }

    /// Every point's counts of a group: `counts[g][l]` for the tile's point `g` and
    /// simulation `first + l`, `l < group` (lanes past `group` are dropped).
    #[inline]
    fn take<const W: usize>(&mut self, first: usize, group: usize, counts: &[[u32; W]]) {
        self.take_group(first, group, EachCount(counts));
    }

    /// [`Self::take`] for the totals [`gather_totals`] forms from the arms' running sums
    /// `cum` and ranks `rank` (`d` blocks of `gp` points), taken as they are formed, in
    /// cells of `C` (which must hold `n·d`).
    #[inline]
    fn take_totals<C: Cell, const W: usize>(
        &mut self,
        cum: &[[C; W]],
        rank: &[u32],
        gp: usize,
        first: usize,
        group: usize,
    ) {
        self.take_group(first, group, EachTotal { cum, rank, gp });
    }

    /// Hands the points of a group of simulations `first..first + group` from `points`
    /// to this sink's consumer. The sink's kind is matched once per group, and each kind
    /// has its own consumer type, so that the per-point loop is monomorphic (structs, not
    /// closures: [`TakeTotal::take`] is inlined only if it is marked so).
    #[inline]
    fn take_group<C: Cell, const W: usize>(
        &mut self,
        first: usize,
        group: usize,
        points: impl EachPoint<C, W>,
    ) {
        match self {
            Sink::Stats { stats, s0, ns, table, nd } => {
                points.each(&mut PutStats { stats, at: first - *s0, ns: *ns, group, table, nd: *nd });
            }
            Sink::Levels { levels, s0, ns } => {
                points.each(&mut PutLevels { levels, at: first - *s0, ns: *ns, group })
            }
            Sink::Reject { crit, rejections } => {
                points.each(&mut PutRejections { rejections, crit: *crit, group })
            }
        }
    }
}

/// A group's points and their counts, handed one by one to a [`TakeTotal`].
trait EachPoint<C, const W: usize> {
    /// Calls `take.take(g, &counts_of_g)` for every point `g`, in order.
    fn each(self, take: &mut impl TakeTotal<C, W>);
}

/// Counts already formed, one row per point (brute force).
struct EachCount<'a, const W: usize>(&'a [[u32; W]]);

impl<const W: usize> EachPoint<u32, W> for EachCount<'_, W> {
    #[inline(always)]
    fn each(self, take: &mut impl TakeTotal<u32, W>) {
        for (g, row) in self.0.iter().enumerate() {
            take.take(g, row);
        }
    }
}

/// Totals formed from the arms' running sums as they are handed on ([`gather_totals`]).
struct EachTotal<'a, C, const W: usize> {
    cum: &'a [[C; W]],
    rank: &'a [u32],
    gp: usize,
}

impl<C: Cell, const W: usize> EachPoint<C, W> for EachTotal<'_, C, W> {
    #[inline(always)]
    fn each(self, take: &mut impl TakeTotal<C, W>) {
        gather_totals(self.cum, self.rank, self.gp, take);
    }
}

/// [`Sink::Stats`] taking one group's totals.
struct PutStats<'a> {
    stats: &'a mut [f32],
    at: usize,
    ns: usize,
    group: usize,
    table: &'a [f32],
    nd: usize,
}

impl<C: Cell, const W: usize> TakeTotal<C, W> for PutStats<'_> {
    #[inline(always)]
    fn take(&mut self, g: usize, row: &[C; W]) {
        put_stats(&mut self.stats[g * self.ns + self.at..][..self.group], row, self.table, self.nd);
    }
}

/// [`Sink::Levels`] taking one group's totals.
struct PutLevels<'a> {
    levels: &'a mut [u16],
    at: usize,
    ns: usize,
    group: usize,
}

impl<C: Cell, const W: usize> TakeTotal<C, W> for PutLevels<'_> {
    #[inline(always)]
    fn take(&mut self, g: usize, row: &[C; W]) {
        put_levels(&mut self.levels[g * self.ns + self.at..][..self.group], row);
    }
}

/// [`Sink::Reject`] taking one group's totals.
struct PutRejections<'a> {
    rejections: &'a mut [u64],
    crit: u32,
    group: usize,
}

impl<C: Cell, const W: usize> TakeTotal<C, W> for PutRejections<'_> {
    #[inline(always)]
    fn take(&mut self, g: usize, row: &[C; W]) {
        self.rejections[g] += u64::from(rejected(row, self.group, self.crit));
    }
}

/// One point's statistics from its counts `row` (`out.len()` lanes), through the
/// statistic `table` when there is one.
#[inline(always)]
fn put_stats<C: Cell, const W: usize>(out: &mut [f32], row: &[C; W], table: &[f32], nd: usize) {
    if table.is_empty() {
        for (t, &x) in out.iter_mut().zip(row) {
            *t = statistic::<f32>(x.into(), nd);
        }
    } else {
        for (t, &x) in out.iter_mut().zip(row) {
            *t = table[x.into() as usize];
        }
    }
}

/// One point's counts `row` as levels (`out.len()` lanes; counts below `2^16`).
#[inline(always)]
fn put_levels<C: Cell, const W: usize>(out: &mut [u16], row: &[C; W]) {
    match <&mut [u16; W]>::try_from(&mut *out) {
        // A whole group: a fixed length, so the narrowing vectorises.
        Ok(out) => *out = row.map(|x| x.into() as u16),
        Err(_) => {
            for (v, &x) in out.iter_mut().zip(row) {
                *v = x.into() as u16;
            }
        }
    }
}

/// How many of the first `group` counts of `row` are below `crit`, compared in `C`:
/// `x < crit ⇔ x <= crit − 1`, and every count is at most `n·d`, which `C` holds, so
/// `crit − 1` fits it whenever it is a count at all.
#[inline(always)]
fn rejected<C: Cell, const W: usize>(row: &[C; W], group: usize, crit: u32) -> u32 {
    let Some(last) = crit.checked_sub(1) else { return 0 };
    debug_assert!(last as usize <= C::MAX, "crit past n·d + 1");
    let last = C::from_count(last);
    if group == W {
        row.iter().map(|&x| u32::from(x <= last)).sum()
    } else {
        row[..group].iter().map(|&x| u32::from(x <= last)).sum()
    }
}

/// Sorted counting's buffers, kept per thread between tasks (for a 1024-point tile, about
/// 0.3 MB at B4). Allocated afresh per task, they cost page faults on every task: with 256
/// simulations per task, 1.2× the time of 4096 at B4 on one thread. A thread keeps them,
/// as large as its largest tile needed (at most [`MAX_POINTS`] points a piece), while it
/// lives.
#[derive(Debug, Default)]
struct SortedScratch<C> {
    order: Vec<u32>,
    sorted: Vec<f32>,
    rank: Vec<u32>,
    lut: Vec<u16>,
    cum: Vec<[C; SORT_LANES]>,
    rows: Vec<[f32; SORT_LANES]>,
    row_of: Vec<usize>,
}

/// A [`Cell`] with its thread's [`SortedScratch`].
trait ScratchCell: Cell {
    /// Runs `f` on the calling thread's scratch (not re-entrant: `f` must not count).
    fn with_scratch<R>(f: impl FnOnce(&mut SortedScratch<Self>) -> R) -> R;
}

impl ScratchCell for u16 {
    fn with_scratch<R>(f: impl FnOnce(&mut SortedScratch<Self>) -> R) -> R {
        thread_local!(static SCRATCH: RefCell<SortedScratch<u16>> = RefCell::default());
        SCRATCH.with_borrow_mut(f)
    }
}

impl ScratchCell for u32 {
    fn with_scratch<R>(f: impl FnOnce(&mut SortedScratch<Self>) -> R) -> R {
        thread_local!(static SCRATCH: RefCell<SortedScratch<u32>> = RefCell::default());
        SCRATCH.with_borrow_mut(f)
    }
}

impl Model for BinomialModel<'_> {
    type Prepared = BinomialPrepared;

    fn name(&self) -> &'static str {
        "binomial"
    }

    fn dim(&self) -> usize {
        self.d
    }

    /// Every point is null unless the grid says otherwise (see the module docs).
    fn null_hypothesis(&self, _point: &[f64]) -> bool {
        true
    }

    fn check_sims(&self, sims: usize) -> Result<(), SimError> {
        self.uniforms.check(sims, self.nd)
    }

    fn prepare(&self, grid: &Grid) -> Result<BinomialPrepared, SimError> {
        let table = if self.nd <= TABLE_MAX {
            (0..=self.nd as u32).map(|c| statistic::<f32>(c, self.nd)).collect()
        } else {
            Vec::new()
        };
        let p: Vec<f32> = grid.values().iter().map(|&t| expit_f32(t)).collect();
        let g = grid.len();
        // Sorted whatever the counting method, so that the prepared data serves a copy of
        // the model with another one (`O(d·G log G)` once per grid: small next to counting;
        // `max(1)`: a grid with no null point prepares an empty subset).
        let mut order = vec![0u32; g * self.d];
        let mut place = vec![0u32; g * self.d];
        for (a, (o, pl)) in order.chunks_mut(g.max(1)).zip(place.chunks_mut(g.max(1))).enumerate() {
            sort_points(&p, self.d, a, o);
            for (i, &pt) in o.iter().enumerate() {
                pl[pt as usize] = i as u32;
            }
        }
        Ok(BinomialPrepared { p, table, order, place })
    }

    fn simulate(&self, prep: &BinomialPrepared, points: Range<usize>, sims: Range<usize>, stats: &mut [f32]) {
        let (s0, ns) = (sims.start, sims.len());
        self.count(prep, points, sims, &mut Sink::Stats { stats, s0, ns, table: &prep.table, nd: self.nd });
    }

    /// The statistic of every count `0..=n·d` (when `n·d < 2^16`): the count is the level.
    fn levels<'p>(&self, prep: &'p BinomialPrepared) -> Option<&'p [f32]> {
        (!prep.table.is_empty() && prep.table.len() <= 1 << 16).then_some(&prep.table[..])
    }

    fn simulate_levels(
        &self,
        prep: &BinomialPrepared,
        points: Range<usize>,
        sims: Range<usize>,
        out: &mut [u16],
    ) {
        assert!(self.levels(prep).is_some(), "n·d too large for levels");
        let (s0, ns) = (sims.start, sims.len());
        self.count(prep, points, sims, &mut Sink::Levels { levels: out, s0, ns });
    }

    /// Compares integer counts with the critical count instead of writing statistics.
    fn count_rejections(
        &self,
        prep: &BinomialPrepared,
        points: Range<usize>,
        sims: Range<usize>,
        lambda: f32,
        _scratch: &mut Vec<f32>,
        rejections: &mut [u64],
    ) {
        // crit = #{c in 0..=n·d : T(c) < λ}; T is non-decreasing in c, so these are 0..crit.
        let (mut lo, mut hi) = (0u32, self.nd as u32 + 1);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if statistic::<f32>(mid, self.nd) < lambda {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        self.count(prep, points, sims, &mut Sink::Reject { crit: lo, rejections });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `m`'s statistics at `points` × `sims` by brute force and by sorted counting.
    fn stats_both(
        m: BinomialModel<'_>,
        prep: &BinomialPrepared,
        points: Range<usize>,
        sims: Range<usize>,
    ) -> (Vec<f32>, Vec<f32>) {
        let len = points.len() * sims.len();
        let (mut a, mut b) = (vec![0f32; len], vec![0f32; len]);
        m.with_counting(Counting::BruteForce).simulate(prep, points.clone(), sims.clone(), &mut a);
        m.with_counting(Counting::Sorted).simulate(prep, points, sims, &mut b);
        (a, b)
    }

    /// `m`'s rejections at `λ` per point by brute force and by sorted counting.
    fn rejections_both(
        m: BinomialModel<'_>,
        prep: &BinomialPrepared,
        points: Range<usize>,
        sims: Range<usize>,
        lambda: f32,
    ) -> (Vec<u64>, Vec<u64>) {
        let (mut a, mut b) = (vec![0u64; points.len()], vec![0u64; points.len()]);
        let count = |c: Counting, out: &mut [u64]| {
            m.with_counting(c).count_rejections(
                prep,
                points.clone(),
                sims.clone(),
                lambda,
                &mut Vec::new(),
                out,
            );
        };
        count(Counting::BruteForce, &mut a);
        count(Counting::Sorted, &mut b);
        (a, b)
    }

    #[test]
    fn sorted_equals_brute_force_on_a_small_grid() {
        let theta: Vec<f64> = (0..13 * 3).map(|i| (i as f64 * 0.61).sin() * 2.0).collect();
        let grid = Grid::new(3, theta).unwrap();
        let m = BinomialModel::new(5, 6, 3).unwrap();
        let prep = m.prepare(&grid).unwrap();
        let (a, b) = stats_both(m, &prep, 0..13, 3..24);
        assert_eq!(a, b);
        assert!(a.iter().all(|t| (0.0..=1.0).contains(t)));
    }

    #[test]
    fn the_thread_scratch_carries_nothing_between_tasks() {
        // Tiles of changing shapes, arms and patients, one after another on this thread:
        // each equals brute force, whatever the buffers held before.
        let theta: Vec<f64> = (0..300 * 4).map(|i| (i as f64 * 0.73).cos() * 1.5).collect();
        for (d, n, points, sims) in [
            (4usize, 30usize, 0..300usize, 0..40usize),
            (2, 7, 10..37, 5..22),
            (4, 30, 3..250, 1..17),
            (1, 90, 0..9, 0..3),
        ] {
            let grid = Grid::new(d, theta[..300 * d].to_vec()).unwrap();
            let m = BinomialModel::new(9, n, d).unwrap();
            let prep = m.prepare(&grid).unwrap();
            let (a, b) = stats_both(m, &prep, points, sims);
            assert!(a == b, "d {d} n {n}");
        }
    }

    #[test]
    fn sorted_splits_a_tile_past_max_points() {
        // One tile of more points than a bucket table of u16 positions takes: counted in
        // pieces, still brute force's counts at every point, in every sink.
        let g = MAX_POINTS + 1000;
        let theta: Vec<f64> = (0..g * 2).map(|i| (i as f64 * 0.37).sin() * 3.0).collect();
        let grid = Grid::new(2, theta).unwrap();
        let m = BinomialModel::new(2, 5, 2).unwrap();
        let prep = m.prepare(&grid).unwrap();
        let (a, b) = stats_both(m, &prep, 0..g, 1..10);
        assert!(a == b, "statistics differ");
        let (mut la, mut lb) = (vec![0u16; g * 9], vec![0u16; g * 9]);
        m.with_counting(Counting::BruteForce).simulate_levels(&prep, 0..g, 1..10, &mut la);
        m.with_counting(Counting::Sorted).simulate_levels(&prep, 0..g, 1..10, &mut lb);
        assert!(la == lb, "levels differ");
        let (ra, rb) = rejections_both(m, &prep, 0..g, 1..10, 0.5);
        assert!(ra == rb, "rejections differ");
        assert!(ra.iter().any(|&r| r > 0) && ra.iter().any(|&r| r < 9), "a test that can fail");
    }

    #[test]
    fn sorted_totals_past_u16_max_take_u32_cells() {
        // n fits u16 but the total over the arms, up to n·d, does not: every sink still
        // gets brute force's counts (u16 totals would wrap).
        let (n, d) = (20_000usize, 4usize);
        let theta: Vec<f64> = (0..3 * d).map(|i| 2.5 + (i as f64 * 0.9).sin() * 0.3).collect();
        let grid = Grid::new(d, theta).unwrap();
        let m = BinomialModel::new(4, n, d).unwrap();
        let prep = m.prepare(&grid).unwrap();
        let (a, b) = stats_both(m, &prep, 0..3, 0..9);
        assert_eq!(a, b);
        // p near expit(2.5) = 0.92: totals near 74 000, past u16::MAX = 65 535.
        assert!(a.iter().all(|&t| t > 0.85 && t < 0.97), "{a:?}");
        // λ at the median statistic: some simulations reject at some point, not all.
        let mut sorted_stats = a.clone();
        sorted_stats.sort_by(f32::total_cmp);
        let lambda = sorted_stats[13];
        let (ra, rb) = rejections_both(m, &prep, 0..3, 0..9, lambda);
        assert_eq!(ra, rb);
        assert_eq!(ra.iter().sum::<u64>(), 13, "the 13 statistics below the 14th smallest");
    }

    #[test]
    fn sorted_counts_in_u32_cells_past_u16_max() {
        // n > u16::MAX takes the u32 histogram: still brute force's counts.
        let n = u16::MAX as usize + 7;
        let theta: Vec<f64> = (0..5).map(|i| i as f64 * 0.4 - 1.0).collect();
        let grid = Grid::new(1, theta).unwrap();
        let m = BinomialModel::new(11, n, 1).unwrap();
        let prep = m.prepare(&grid).unwrap();
        let (a, b) = stats_both(m, &prep, 0..5, 0..9);
        assert_eq!(a, b);
        // Counts near n·p, far from the u16 range's wrap-around.
        assert!(a.iter().all(|&t| t > 0.2 && t < 0.8), "{a:?}");
    }
}
