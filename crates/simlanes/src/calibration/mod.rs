//! The calibration engine: type I error of a trial design over a parameter grid
//! ([`validate`]) and the rejection threshold that keeps it below α everywhere
//! ([`calibrate`]) — the use case behind W3, for any design that implements [`Model`].
//!
//! **Why an engine.** A statistician's design is a [`Model`]: given a tile of grid points and
//! a range of simulations it returns test statistics (lower = more evidence; the design
//! rejects when `T < λ`). The engine owns everything else — which points are null, tiling,
//! threads, the counting, the order statistics, the Clopper–Pearson bounds — so the
//! binomial W3 model ([`binomial::BinomialModel`]) and a two-arm z-test
//! ([`two_arm_z::TwoArmZModel`]) share the same exact, parallel, tiled code.
//!
//! **Common random numbers**: simulation `s` uses random stream `s` at every grid point
//! (a model contract; both models here follow it), so thresholds are monotone across the
//! grid and simulation `s` is one and the same virtual trial everywhere.
//!
//! **Tiling and determinism.** The work is cut into tasks of `grid_tile` points ×
//! `sim_tile` simulations ([`Tiling`]); each task's statistics buffer (and the model's
//! uniforms) stays in cache. Every statistic `T[g,s]` depends only on `(g, s)`, rejection
//! counts are integer sums and the order statistic is unique, so results are bit-identical
//! for every tile shape, thread count and backend (tested in `tests/calibration.rs`).
//!
//! **Order statistics without selection.** A model whose statistic takes few values (W3:
//! `count / (n·d)`, `n·d + 1` values) lists them in [`Model::levels`]; `calibrate` then
//! tallies each point's levels as the tasks finish (`L` counters per point, whatever `K`)
//! and reads the `m`-th smallest from the tallies, `O(K + L)` — the same `λ*` bit for bit
//! (tested), with no `K` statistics per point to store and select in. Measured on the dev
//! VM: B4 on one thread 76 → 31 ms; `G = 4096, K = 131072, n = 50` on two threads 1.37 →
//! 0.61 s (statistics of that size must be done in chunks of 128 points, each re-running
//! the simulations).
//!
//! **Readings chosen** (WORKLOADS.md / the issue leave them open):
//! * λ is rounded to f32 before comparing (statistics are f32); it must not be NaN
//!   (±inf is allowed: rejects everything / nothing).
//! * At points where the null does not hold, `validate` reports count 0, rate 0 and the
//!   Clopper–Pearson bound of 0 rejections; `calibrate` reports `λ* = NaN` there and those
//!   points do not enter the overall minimum.
//! * `m = max(⌊(K+1)·α⌋, 1)` is taken in f64 (as the seed), rejected if `m > K`.
//! * If no grid point is null, the overall minimum is `NaN` with no index.

use crate::error::SimError;
use crate::simulator::Simulator;
use rayon::prelude::*;
use simcore::ParamError;
use simcore::stats::order_key;
use std::ops::Range;
use std::sync::Mutex;

pub mod binomial;
pub mod tune;
pub mod two_arm_z;

/// A parameter grid: `len` points of `dim` coordinates each, row-major, every value
/// finite, and optionally an explicit null-hypothesis flag per point (else the model's
/// [`Model::null_hypothesis`] decides).
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    dim: usize,
    values: Vec<f64>,
    null: Option<Vec<bool>>,
}

impl Grid {
    /// A grid of `values.len() / dim` points.
    ///
    /// # Errors
    /// [`SimError::Param`]: `dim = 0` or no point (`ZeroSize`, names `"dim"`, `"grid"`), a
    /// NaN or infinite value (`NotFinite`, name `"theta"`); [`SimError::Shape`] when the
    /// length is not a multiple of `dim`.
    pub fn new(dim: usize, values: Vec<f64>) -> Result<Self, SimError> {
        simcore::error::nonzero("dim", dim)?;
        if !values.len().is_multiple_of(dim) {
            let len = values.len();
            return Err(SimError::Shape { name: "grid", expected: len - len % dim, got: len });
        }
        simcore::error::nonzero("grid", values.len() / dim)?;
        if let Some(&value) = values.iter().find(|v| !v.is_finite()) {
            return Err(ParamError::NotFinite { name: "theta", value }.into());
        }
        Ok(Self { dim, values, null: None })
    }

    /// The same grid with explicit null-hypothesis flags (one per point).
    ///
    /// # Errors
    /// [`SimError::Shape`] when `null.len()` differs from the number of points.
    pub fn with_null(self, null: Vec<bool>) -> Result<Self, SimError> {
        if null.len() != self.len() {
            return Err(SimError::Shape { name: "null", expected: self.len(), got: null.len() });
        }
        Ok(Self { null: Some(null), ..self })
    }

    /// Coordinates per point.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.values.len() / self.dim
    }

    /// Always false (a grid has at least one point); for clippy's sake.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Point `g`'s coordinates.
    ///
    /// # Panics
    /// If `g >= self.len()`, as slice indexing does.
    pub fn point(&self, g: usize) -> &[f64] {
        &self.values[g * self.dim..(g + 1) * self.dim]
    }

    /// All coordinates, row-major.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// Whether the null holds at each point, by the explicit flags or else `model`.
    pub fn null_flags<M: Model + ?Sized>(&self, model: &M) -> Vec<bool> {
        match &self.null {
            Some(n) => n.clone(),
            None => (0..self.len()).map(|g| model.null_hypothesis(self.point(g))).collect(),
        }
    }

    /// The sub-grid of the points `idx` (flags dropped).
    fn subset(&self, idx: &[usize]) -> Grid {
        let values = idx.iter().flat_map(|&g| self.point(g).iter().copied()).collect();
        Grid { dim: self.dim, values, null: None }
    }
}

/// A trial design to calibrate: it simulates trials at grid points and returns their test
/// statistics (lower = more evidence against the null; reject when `T < λ`).
///
/// Contract: statistic `T[g,s]` must depend only on the point's coordinates and the
/// simulation index `s` (use stream `s` of the seed at every point — common random
/// numbers), never on the tile it was computed in. NaN statistics never reject and sort
/// last.
pub trait Model: Sync {
    /// What [`Model::prepare`] derives from a grid (e.g. per-point probabilities).
    type Prepared: Sync;

    /// Short name (used in reports and on the command line).
    fn name(&self) -> &'static str;

    /// Coordinates per grid point this model expects.
    fn dim(&self) -> usize;

    /// Whether the null hypothesis holds at `point` (used when the grid has no explicit
    /// flags).
    fn null_hypothesis(&self, point: &[f64]) -> bool;

    /// Checks that `sims` simulations can be run (e.g. a pregenerated array is long
    /// enough). Default: any `sims >= 1`.
    ///
    /// # Errors
    /// A [`SimError`] naming the argument.
    fn check_sims(&self, sims: usize) -> Result<(), SimError> {
        let _ = sims;
        Ok(())
    }

    /// Per-grid work done once (the grid has `self.dim()` coordinates per point).
    ///
    /// # Errors
    /// A [`SimError`] for coordinates the model cannot use.
    fn prepare(&self, grid: &Grid) -> Result<Self::Prepared, SimError>;

    /// Statistics of simulations `sims` at the prepared points `points`, written
    /// point-major: `stats[(g − points.start)·sims.len() + (s − sims.start)]` (each point's
    /// statistics contiguous, as [`calibrate`]'s selection reads them).
    fn simulate(&self, prep: &Self::Prepared, points: Range<usize>, sims: Range<usize>, stats: &mut [f32]);

    /// The values the statistic can take, ascending (duplicates allowed, no NaN), when
    /// they are at most 2^16 — e.g. a function of an integer count, as W3's `count / (n·d)`.
    /// Then [`calibrate`] asks [`Model::simulate_levels`] for each statistic's index into
    /// this list (2 bytes per simulation instead of 4) and finds the `m`-th smallest by
    /// counting each point's levels, `O(K + L)`, instead of selecting among floats.
    /// Default: `None` (statistics are any f32, NaN included).
    fn levels<'p>(&self, prep: &'p Self::Prepared) -> Option<&'p [f32]> {
        let _ = prep;
        None
    }

    /// [`Model::simulate`] giving, for each statistic `T`, a level `v` with
    /// `levels[v] = T` (same layout; called only when [`Model::levels`] is `Some`). The
    /// default simulates and looks each statistic up; a model may override it to write
    /// its levels directly.
    ///
    /// # Panics
    /// The default, if [`Model::levels`] is `None` or a statistic is not in it.
    fn simulate_levels(
        &self,
        prep: &Self::Prepared,
        points: Range<usize>,
        sims: Range<usize>,
        out: &mut [u16],
    ) {
        let levels = self.levels(prep).expect("Model::simulate_levels needs Model::levels");
        let mut stats = vec![f32::NAN; out.len()];
        self.simulate(prep, points, sims, &mut stats);
        // In the selection's order, so that -0.0 and +0.0 stay apart.
        for (o, &t) in out.iter_mut().zip(&stats) {
            let v = levels.partition_point(|&l| order_key(l) < order_key(t));
            assert!(
                levels.get(v).is_some_and(|&l| order_key(l) == order_key(t)),
                "statistic {t} is not one of Model::levels"
            );
            *o = v as u16;
        }
    }

    /// Adds to `rejections[g − points.start]` the number of simulations `sims` with
    /// `T[g,s] < λ`. The default runs [`Model::simulate`] into `scratch` and compares; a
    /// model may override it to decide without materialising statistics (it must give the
    /// same counts).
    fn count_rejections(
        &self,
        prep: &Self::Prepared,
        points: Range<usize>,
        sims: Range<usize>,
        lambda: f32,
        scratch: &mut Vec<f32>,
        rejections: &mut [u64],
    ) {
        let ns = sims.len();
        // NaN first: a cell the model failed to write reads as no rejection, the same on
        // every backend and tiling, not as another task's statistic.
        scratch.clear();
        scratch.resize(points.len() * ns, f32::NAN);
        self.simulate(prep, points, sims, scratch);
        for (r, row) in rejections.iter_mut().zip(scratch.chunks_exact(ns)) {
            *r += row.iter().map(|&t| u64::from(t < lambda)).sum::<u64>();
        }
    }
}

/// Task shape: grid points × simulations per task. Results never depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tiling {
    /// Grid points per task (>= 1).
    pub grid_tile: usize,
    /// Simulations per task (>= 1; a multiple of 8 keeps every SIMD group full).
    pub sim_tile: usize,
}

impl Default for Tiling {
    /// 1024 points × 1024 simulations: a 4 MiB statistics buffer per task. Bigger tiles
    /// than the 256 × 256 of earlier versions, because a task draws each simulation's
    /// uniforms once for all its points (sorted counting then also places them once).
    /// Measured through the Python package on 2 threads (Zen 3), best of 3, validate
    /// at λ = 0.5, 256² → 1024²: B1 0.19 → 0.19 s, B2 0.20 → 0.13, B3 0.044 → 0.021,
    /// B4 0.045 → 0.017; calibrate B1 0.41 → 0.46 (the one slower case), B2 0.28 → 0.23,
    /// B3 0.061 → 0.033, B4 0.078 → 0.027. [`tune::autotune`] finds the best shape for
    /// a given run.
    fn default() -> Self {
        Self { grid_tile: 1024, sim_tile: 1024 }
    }
}

impl Tiling {
    /// `grid_tile` points × `sim_tile` simulations.
    pub fn new(grid_tile: usize, sim_tile: usize) -> Self {
        Self { grid_tile, sim_tile }
    }

    /// Checks both sizes are at least 1.
    ///
    /// # Errors
    /// [`SimError::Param`] (`ZeroSize`, names `"grid_tile"`, `"sim_tile"`).
    pub fn validate(&self) -> Result<(), SimError> {
        simcore::error::nonzero("grid_tile", self.grid_tile)?;
        simcore::error::nonzero("sim_tile", self.sim_tile)?;
        Ok(())
    }

    /// The shape the engine runs for `points × sims`: each size at most the run's, and a
    /// task at most [`TASK_BUDGET`] statistics (the simulation tile shrunk first, to a
    /// multiple of 8, then the grid tile). A worker's buffer holds one task's statistics,
    /// so a huge requested tile would otherwise ask for gigabytes per worker; results never
    /// depend on the shape.
    pub fn fit(self, points: usize, sims: usize) -> Tiling {
        let g = self.grid_tile.min(points).max(1);
        let mut s = self.sim_tile.min(sims).max(1);
        if g.saturating_mul(s) > TASK_BUDGET {
            s = (TASK_BUDGET / g / 8 * 8).max(8).min(s);
        }
        let g = if g.saturating_mul(s) > TASK_BUDGET { (TASK_BUDGET / s).max(1) } else { g };
        Tiling { grid_tile: g, sim_tile: s }
    }
}

/// Most statistics one task computes ([`Tiling::fit`]): `2^24` (64 MiB of f32 per
/// worker), 16× the default shape.
pub const TASK_BUDGET: usize = 1 << 24;

/// A progress callback: called from worker threads with the number of
/// `(grid point, simulation)` pairs just finished.
pub type Progress<'a> = &'a (dyn Fn(u64) + Sync);

/// Result of [`validate`] at one grid point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PointValidation {
    /// Whether the null hypothesis holds here (else everything is 0).
    pub null: bool,
    /// Rejections `#{s : T[g,s] < λ}` among the `K` simulations.
    pub count: u64,
    /// Type I error estimate `count / K`.
    pub rate: f64,
    /// One-sided Clopper–Pearson upper bound at confidence `1 − δ`:
    /// `betaincinv(count + 1, K − count, 1 − δ)`, 1 when `count = K`.
    pub upper: f64,
}

/// Result of [`validate`].
#[derive(Debug, Clone, PartialEq)]
pub struct Validation {
    /// Simulations `K`.
    pub sims: usize,
    /// The threshold used (rounded to f32).
    pub lambda: f32,
    /// `δ` of the upper bounds.
    pub delta: f64,
    /// One entry per grid point, in grid order.
    pub points: Vec<PointValidation>,
}

/// Result of [`calibrate`].
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// Simulations `K`.
    pub sims: usize,
    /// Target level α.
    pub alpha: f64,
    /// Rank `m = max(⌊(K+1)·α⌋, 1)` (1-based) of `λ*` among the `K` statistics.
    pub rank: usize,
    /// `λ*[g]`, the `m`-th smallest statistic at point `g`; NaN where the null is false.
    pub lambda: Vec<f32>,
    /// `min_g λ*[g]` over null points, in the selection's order: the threshold that
    /// controls the type I error at every point of the grid (NaN when no point is null, or
    /// when no null point has `m` statistics that are not NaN).
    pub min_lambda: f32,
    /// The point attaining [`Calibration::min_lambda`] (first one on ties).
    pub argmin: Option<usize>,
}

/// The tasks of a run: `points` points (numbered from `offset`) × `sims` simulations in
/// tiles, simulation tiles outer, point tiles inner. Computed from the task's index, never
/// listed: `K = 2^40` simulations are `2^32` tasks at the default tiles, which as a list
/// would take more memory than the run itself.
#[derive(Debug, Clone, Copy)]
struct Tasks {
    offset: usize,
    points: usize,
    sims: usize,
    tiling: Tiling,
}

impl Tasks {
    /// The tasks of `points × sims` for `tiling` (as [`Tiling::fit`] shapes it).
    fn new(points: usize, sims: usize, tiling: Tiling) -> Self {
        Self { offset: 0, points, sims, tiling: tiling.fit(points, sims) }
    }

    /// The same tasks over the points `offset .. offset + points`.
    fn offset(self, offset: usize) -> Self {
        Self { offset, ..self }
    }

    fn point_tiles(&self) -> usize {
        self.points.div_ceil(self.tiling.grid_tile)
    }

    fn len(&self) -> usize {
        self.sims.div_ceil(self.tiling.sim_tile).saturating_mul(self.point_tiles())
    }

    /// Task `k`: its points and its simulations.
    fn get(&self, k: usize) -> (Range<usize>, Range<usize>) {
        let (si, gi) = (k / self.point_tiles(), k % self.point_tiles());
        let (g0, s0) = (gi * self.tiling.grid_tile, si * self.tiling.sim_tile);
        let g = self.offset + g0..self.offset + (g0 + self.tiling.grid_tile).min(self.points);
        (g, s0..(s0 + self.tiling.sim_tile).min(self.sims))
    }
}

/// Runs `f(buffer, points, sims)` on every task (in parallel on a threaded simulator, each
/// worker reusing one buffer) and returns the results in task order (hold nothing, `()`,
/// for runs with many tasks: the results are kept together).
///
/// # Errors
/// [`SimError::Cancelled`] when the simulator's [`crate::CancelToken`] is cancelled: the
/// tasks not yet started are skipped (checked before each task, on every CPU backend).
fn run<R: Send, B: Default>(
    sim: &Simulator,
    tasks: &Tasks,
    progress: Option<Progress<'_>>,
    f: impl Fn(&mut B, &Range<usize>, &Range<usize>) -> R + Sync,
) -> Result<Vec<R>, SimError> {
    let one = |buf: &mut B, k: usize| {
        if sim.is_cancelled() {
            return None;
        }
        let (g, s) = tasks.get(k);
        let r = f(buf, &g, &s);
        if let Some(p) = progress {
            p((g.len() * s.len()) as u64);
        }
        Some(r)
    };
    let out: Option<Vec<R>> = match sim.pool() {
        Some(pool) => pool.install(|| (0..tasks.len()).into_par_iter().map_init(B::default, one).collect()),
        None => {
            let mut buf = B::default();
            (0..tasks.len()).map(|k| one(&mut buf, k)).collect()
        }
    };
    out.ok_or(SimError::Cancelled)
}

/// One accumulator per worker thread of `sim` (one without a pool), locked by the worker
/// that runs a task (never contended: one per pool thread), for runs whose tasks add into
/// shared totals instead of returning parts.
fn per_worker<T: Default>(sim: &Simulator) -> Vec<Mutex<T>> {
    (0..workers(sim)).map(|_| Mutex::default()).collect()
}

/// The calling worker's accumulator of [`per_worker`].
fn mine<T>(acc: &[Mutex<T>]) -> std::sync::MutexGuard<'_, T> {
    let w = rayon::current_thread_index().unwrap_or(0) % acc.len();
    acc[w].lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What [`setup`] returns: the null flags, the indices of the null points, and the model's
/// preparation of those points.
struct Setup<P> {
    null: Vec<bool>,
    active: Vec<usize>,
    prep: P,
}

/// Common checks; returns the null flags and the prepared null points.
fn setup<M: Model>(
    model: &M,
    grid: &Grid,
    sims: usize,
    tiling: Tiling,
) -> Result<Setup<M::Prepared>, SimError> {
    simcore::error::nonzero("K", sims)?;
    tiling.validate()?;
    if grid.dim() != model.dim() {
        return Err(SimError::Shape { name: "grid columns", expected: model.dim(), got: grid.dim() });
    }
    model.check_sims(sims)?;
    let null = grid.null_flags(model);
    let active: Vec<usize> = (0..grid.len()).filter(|&g| null[g]).collect();
    let prep = model.prepare(&grid.subset(&active))?;
    Ok(Setup { null, active, prep })
}

/// **validate**: at every grid point where the null holds, the number of the `K = sims`
/// simulations that reject (`T[g,s] < λ`, λ rounded to f32), the type I error estimate
/// `count/K` and its one-sided `1 − δ` Clopper–Pearson upper bound.
///
/// # Errors
/// [`SimError::Param`]: `λ` NaN, `δ` outside `(0, 1)`, `K = 0` or `K >` [`MAX_TRIALS`](simcore::stats::clopper_pearson::MAX_TRIALS), a tile size 0; a grid of
/// the wrong dimension ([`SimError::Shape`]); whatever the model's checks report.
pub fn validate<M: Model>(
    sim: &Simulator,
    model: &M,
    grid: &Grid,
    lambda: f64,
    delta: f64,
    sims: usize,
    tiling: Tiling,
) -> Result<Validation, SimError> {
    validate_with_progress(sim, model, grid, lambda, delta, sims, tiling, None)
}

/// [`validate`] reporting progress (see [`Progress`]).
///
/// # Errors
/// As [`validate`].
#[allow(clippy::too_many_arguments)]
pub fn validate_with_progress<M: Model>(
    sim: &Simulator,
    model: &M,
    grid: &Grid,
    lambda: f64,
    delta: f64,
    sims: usize,
    tiling: Tiling,
    progress: Option<Progress<'_>>,
) -> Result<Validation, SimError> {
    if lambda.is_nan() {
        return Err(ParamError::IsNan { name: "lambda" }.into());
    }
    simcore::error::open_probability("delta", delta)?;
    // The upper bounds' limit, checked before any simulation rather than after them all.
    let max = simcore::stats::clopper_pearson::MAX_TRIALS;
    if sims as u64 > max {
        return Err(ParamError::TooLarge { name: "K", max }.into());
    }
    let Setup { null, active, prep } = setup(model, grid, sims, tiling)?;
    let lam = lambda as f32;
    // Each worker adds its tasks' counts into its own totals (integers: the sum does not
    // depend on which worker ran what), so memory is O(workers · points) for any `K`.
    // The lock is taken after the model's call, not around it, so a model that runs
    // parallel work of its own cannot deadlock on it.
    let totals: Vec<Mutex<Vec<u64>>> = per_worker(sim);
    let tasks = Tasks::new(active.len(), sims, tiling);
    run(sim, &tasks, progress, |(buf, part): &mut (Vec<f32>, Vec<u64>), g, s| {
        part.clear();
        part.resize(g.len(), 0);
        model.count_rejections(&prep, g.clone(), s.clone(), lam, buf, part);
        let mut total = mine(&totals);
        total.resize(active.len(), 0);
        for (c, p) in total[g.clone()].iter_mut().zip(part.iter()) {
            *c += p;
        }
    })?;
    let mut counts = vec![0u64; active.len()];
    for t in totals {
        let total = t.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
        for (c, p) in counts.iter_mut().zip(total) {
            *c += p;
        }
    }
    let mut full = vec![0u64; grid.len()];
    for (&g, &c) in active.iter().zip(&counts) {
        full[g] = c;
    }
    let k = sims as u64;
    // One bound per distinct count (points often share counts; each bound is an inverse
    // incomplete beta, a few µs), computed on the worker threads.
    let mut distinct = full.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let bound = |&c: &u64| simcore::stats::clopper_pearson_upper(c, k, delta);
    let uppers: Vec<f64> = match sim.pool() {
        Some(pool) => pool.install(|| distinct.par_iter().map(bound).collect::<Result<_, _>>()),
        None => distinct.iter().map(bound).collect(),
    }?;
    let points = full
        .iter()
        .zip(&null)
        .map(|(&count, &null)| PointValidation {
            null,
            count,
            rate: count as f64 / sims as f64,
            upper: {
                let (Ok(i) | Err(i)) = distinct.binary_search(&count);
                uppers[i]
            },
        })
        .collect();
    Ok(Validation { sims, lambda: lam, delta, points })
}

/// Points per block of [`calibrate`]'s selection: `16·K` statistics (512 KiB at
/// `K = 8192`) stay in L2 between their gathering and their selection.
const SELECT_BLOCK: usize = 16;

/// Fills `rows` with the statistics of the points `block` (`block.len() × sims`,
/// point-major) from the tasks' parts (`parts[i]` point-major over `tasks[i]`).
fn gather_rows(tasks: &Tasks, parts: &[Vec<f32>], block: Range<usize>, sims: usize, rows: &mut Vec<f32>) {
    rows.clear();
    rows.resize(block.len() * sims, f32::NAN);
    for (k, part) in parts.iter().enumerate() {
        let (g, s) = tasks.get(k);
        let (lo, hi) = (block.start.max(g.start), block.end.min(g.end));
        if lo >= hi {
            continue;
        }
        let ns = s.len();
        for p in lo..hi {
            let from = &part[(p - g.start) * ns..(p - g.start + 1) * ns];
            rows[(p - block.start) * sims + s.start..][..ns].copy_from_slice(from);
        }
    }
}

/// Statistics held at once by [`calibrate`] for a model without [`Model::levels`] (`2^24`
/// f32 = 64 MiB); larger grids are done in chunks of points, each re-running its
/// simulations.
pub const CALIBRATE_BUDGET: usize = 1 << 24;

/// `λ*` of the points of the tasks `ts` (one chunk, the points in order) by selection
/// among f32 statistics: blocks of points, each gathered from the tasks' parts into whole
/// rows of `K` statistics and selected while in cache, on the worker threads.
#[allow(clippy::too_many_arguments)]
fn by_selection<M: Model>(
    sim: &Simulator,
    model: &M,
    prep: &M::Prepared,
    ts: &Tasks,
    progress: Option<Progress<'_>>,
    points: Range<usize>,
    sims: usize,
    rank: usize,
) -> Result<Vec<Result<f32, ParamError>>, SimError> {
    // The chunk's statistics are held together, and each worker gathers blocks of whole
    // rows from them: impossible sizes (one point of `K = 2^40`) are refused here rather
    // than aborting in the allocator.
    let gatherers = workers(sim).min(points.len().div_ceil(SELECT_BLOCK)).max(1);
    let rows = gatherers.saturating_mul(SELECT_BLOCK.min(points.len())).saturating_mul(sims);
    crate::memory::ensure_all_allocatable(
        "calibration statistics",
        &[(points.len().saturating_mul(sims), 4), (rows, 4)],
    )?;
    let parts = run(sim, ts, progress, |_: &mut (), g, s| {
        // NaN first, as in `count_rejections`: an unwritten cell is deterministic.
        let mut stats = vec![f32::NAN; g.len() * s.len()];
        model.simulate(prep, g.clone(), s.clone(), &mut stats);
        stats
    })?;
    let blocks: Vec<Range<usize>> =
        points.clone().step_by(SELECT_BLOCK).map(|p| p..(p + SELECT_BLOCK).min(points.end)).collect();
    let one = |rows: &mut Vec<f32>, block: &Range<usize>| {
        gather_rows(ts, &parts, block.clone(), sims, rows);
        rows.chunks_mut(sims).map(|row| simcore::stats::select_nth(row, rank)).collect::<Vec<_>>()
    };
    let lams: Vec<Vec<Result<f32, ParamError>>> = match sim.pool() {
        Some(pool) => pool.install(|| blocks.par_iter().map_init(Vec::new, one).collect()),
        None => {
            let mut rows = Vec::new();
            blocks.iter().map(|b| one(&mut rows, b)).collect()
        }
    };
    Ok(lams.into_iter().flatten().collect())
}

/// Tally cells (u64) [`calibrate`] holds at once for a model with [`Model::levels`] (`2^24`
/// = 128 MiB): `L` per point and worker, so a chunk holds `2^24 / (L · workers)` points
/// whatever `K` (W3 at `n·d = 1400` on 2 threads: about 6000 points).
pub const LEVEL_BUDGET: usize = 1 << 24;

/// Checks a model's [`Model::levels`]: ascending in the selection's order, no NaN
/// (a list out of order gave a too-large `λ*`, silently).
fn check_levels(levels: &[f32]) -> Result<(), SimError> {
    if let Some(i) = levels.iter().position(|l| l.is_nan()) {
        return Err(SimError::ModelContract(format!("Model::levels has NaN at {i}")));
    }
    if let Some(i) = levels.windows(2).position(|w| order_key(w[1]) < order_key(w[0])) {
        return Err(SimError::ModelContract(format!(
            "Model::levels is not ascending: {} at {} after {}",
            levels[i + 1],
            i + 1,
            levels[i]
        )));
    }
    Ok(())
}

/// Worker threads of `sim`'s pool (1 without one).
fn workers(sim: &Simulator) -> usize {
    sim.pool().map_or(1, |p| p.current_num_threads())
}

/// `λ*` of the points `points` (one chunk; `ts` its tasks) for a model with
/// [`Model::levels`]. Each task writes its levels into its worker's scratch and adds them,
/// point by point (one point's `L` cells stay in L1), to its worker's tallies; no task's
/// levels outlive it, so a chunk covers `K` simulations of many points (large `K` does not
/// shrink the chunks and re-run the simulations per chunk, as `K` statistics per point
/// would). Then the tallies, summed over the workers, give each point's `m`-th smallest
/// level ([`simcore::stats::mth_smallest_count`], as the GPU path reads its histograms):
/// `O(K + L)` per point, no selection, and the value selection gives (the statistic is
/// `levels[v]`, non-decreasing in `v`).
#[allow(clippy::too_many_arguments)]
fn by_levels<M: Model>(
    sim: &Simulator,
    model: &M,
    prep: &M::Prepared,
    ts: &Tasks,
    progress: Option<Progress<'_>>,
    points: Range<usize>,
    levels: &[f32],
    rank: usize,
) -> Result<Vec<Result<f32, ParamError>>, SimError> {
    let nl = levels.len();
    // u64: K may exceed u32::MAX simulations (a u32 cell wrapped there: a wrong λ*).
    let tallies: Vec<Mutex<Vec<u64>>> = per_worker(sim);
    run(sim, ts, progress, |lv: &mut Vec<u16>, g, s| {
        // The worker's levels scratch is its own (`run`'s buffer); its tallies are locked
        // only after the model's call, so a model running parallel work of its own cannot
        // deadlock on the lock.
        // Past any level first: a cell the model failed to write is reported below, not
        // read as another task's level.
        lv.clear();
        lv.resize(g.len() * s.len(), u16::MAX);
        model.simulate_levels(prep, g.clone(), s.clone(), lv);
        let mut counts = mine(&tallies);
        counts.resize(points.len() * nl, 0);
        for (p, row) in g.clone().zip(lv.chunks_exact(s.len())) {
            let cells = &mut counts[(p - points.start) * nl..][..nl];
            for &v in row {
                *cells
                    .get_mut(usize::from(v))
                    .expect("Model::simulate_levels gave a level past Model::levels") += 1;
            }
        }
    })?;
    // The tallies of the workers that ran a task, summed.
    let mut tallies = tallies
        .into_iter()
        .map(|t| t.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner))
        .filter(|c| !c.is_empty());
    let mut total = tallies.next().unwrap_or_default();
    for t in tallies {
        for (a, b) in total.iter_mut().zip(t) {
            *a += b;
        }
    }
    let one = |p: usize| -> Result<f32, ParamError> {
        let row = &total[(p - points.start) * nl..][..nl];
        simcore::stats::mth_smallest_count(row, rank as u64)
            .map(|v| levels[v as usize])
            .ok_or_else(|| ParamError::TooLarge { name: "m", max: row.iter().sum() })
    };
    Ok(match sim.pool() {
        Some(pool) => pool.install(|| points.clone().into_par_iter().map(one).collect()),
        None => points.clone().map(one).collect(),
    })
}

/// **calibrate**: at every null grid point, `λ*[g]` = the `m`-th smallest of the `K = sims`
/// statistics, `m = max(⌊(K+1)·α⌋, 1)`, found by O(K) selection
/// ([`simcore::stats::select_nth`]) — or, for a model with [`Model::levels`], by counting
/// its levels — and the overall minimum over the grid.
///
/// # Errors
/// [`SimError::Param`]: `α` outside `(0, 1)` or so close to 1 that `m > K`, `K = 0`, a
/// tile size 0; a grid of the wrong dimension; whatever the model's checks report.
pub fn calibrate<M: Model>(
    sim: &Simulator,
    model: &M,
    grid: &Grid,
    alpha: f64,
    sims: usize,
    tiling: Tiling,
) -> Result<Calibration, SimError> {
    calibrate_with_progress(sim, model, grid, alpha, sims, tiling, None)
}

/// [`calibrate`] reporting progress (see [`Progress`]).
///
/// # Errors
/// As [`calibrate`].
pub fn calibrate_with_progress<M: Model>(
    sim: &Simulator,
    model: &M,
    grid: &Grid,
    alpha: f64,
    sims: usize,
    tiling: Tiling,
    progress: Option<Progress<'_>>,
) -> Result<Calibration, SimError> {
    calibrate_in_chunks(sim, model, grid, alpha, sims, tiling, progress, LEVEL_BUDGET)
}

/// [`calibrate_with_progress`] with the tally budget as an argument (tests use a small one
/// to cover several chunks).
#[allow(clippy::too_many_arguments)]
fn calibrate_in_chunks<M: Model>(
    sim: &Simulator,
    model: &M,
    grid: &Grid,
    alpha: f64,
    sims: usize,
    tiling: Tiling,
    progress: Option<Progress<'_>>,
    level_budget: usize,
) -> Result<Calibration, SimError> {
    simcore::error::open_probability("alpha", alpha)?;
    simcore::error::nonzero("K", sims)?;
    let rank = simcore::stats::calibration_index(sims as u64, alpha)?;
    let Setup { active, prep, .. } = setup(model, grid, sims, tiling)?;
    let levels = model.levels(&prep).filter(|l| !l.is_empty() && l.len() <= 1 << 16);
    if let Some(l) = levels {
        check_levels(l)?;
    }
    let mut lambda = vec![f32::NAN; grid.len()];
    // Points per chunk: with levels, each worker's tallies (`L` cells per point) fit
    // LEVEL_BUDGET whatever `K`; else the statistics (`K` per point) fit CALIBRATE_BUDGET.
    let chunk = match levels {
        Some(l) => (level_budget / (l.len() * workers(sim))).max(1),
        None => (CALIBRATE_BUDGET / sims).max(1),
    };
    for c0 in (0..active.len()).step_by(chunk) {
        let cg = chunk.min(active.len() - c0);
        let ts = Tasks::new(cg, sims, tiling).offset(c0);
        let lams = match levels {
            Some(levels) => by_levels(sim, model, &prep, &ts, progress, c0..c0 + cg, levels, rank)?,
            None => by_selection(sim, model, &prep, &ts, progress, c0..c0 + cg, sims, rank)?,
        };
        for (gi, l) in lams.into_iter().enumerate() {
            lambda[active[c0 + gi]] = l?;
        }
    }
    let mut argmin: Option<usize> = None;
    for &g in &active {
        // The same total order as the selection (-0.0 before +0.0, NaN last).
        let better = match argmin {
            None => true,
            Some(b) => order_key(lambda[g]) < order_key(lambda[b]),
        };
        if better {
            argmin = Some(g);
        }
    }
    let min_lambda = argmin.map_or(f32::NAN, |g| lambda[g]);
    Ok(Calibration { sims, alpha, rank, lambda, min_lambda, argmin })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_are_fitted_to_the_run_and_the_task_budget() {
        assert_eq!(Tiling::new(1024, 1024).fit(100, 50), Tiling::new(100, 50));
        assert_eq!(Tiling::new(1024, 1024).fit(1 << 20, 1 << 20), Tiling::new(1024, 1024));
        // Past the budget the simulation tile shrinks first (to a multiple of 8) ...
        let t = Tiling::new(1 << 20, 1 << 20).fit(1 << 20, 1 << 20);
        assert_eq!(t, Tiling::new(1 << 20, 16));
        // ... then the grid tile.
        let t = Tiling::new(usize::MAX, usize::MAX).fit(usize::MAX, usize::MAX);
        assert!(t.grid_tile * t.sim_tile <= TASK_BUDGET && t.sim_tile == 8, "{t:?}");
        assert_eq!(Tiling::new(5, 5).fit(0, 0), Tiling::new(1, 1));
    }

    #[test]
    fn tasks_cover_every_pair_once() {
        for (p, s, t) in [(1, 1, Tiling::new(3, 5)), (10, 17, Tiling::new(3, 8)), (4, 4, Tiling::new(4, 4))] {
            let mut seen = vec![0u8; p * s];
            let ts = Tasks::new(p, s, t);
            for (g, ss) in (0..ts.len()).map(|k| ts.get(k)) {
                for gi in g.clone() {
                    for si in ss.clone() {
                        seen[gi * s + si] += 1;
                    }
                }
            }
            assert!(seen.iter().all(|&c| c == 1));
        }
        // Offset tasks name the same tiles, shifted.
        let ts = Tasks::new(10, 17, Tiling::new(3, 8)).offset(100);
        assert_eq!((ts.len(), ts.get(0), ts.get(5)), (12, (100..103, 0..8), (103..106, 8..16)));
    }

    /// A user model whose simulations run parallel work of their own on the engine's pool
    /// (rayon work stealing can then run another task on a thread that is inside a task):
    /// the engine must not hold a per-worker lock across the model's call, or that thread
    /// deadlocks on it. Statistics: a function of (point, simulation) on 5 levels.
    struct Nested;
    const NESTED_LEVELS: [f32; 5] = [0.0, 0.25, 0.5, 0.75, 1.0];
    impl Model for Nested {
        type Prepared = ();
        fn name(&self) -> &'static str {
            "nested"
        }
        fn dim(&self) -> usize {
            1
        }
        fn null_hypothesis(&self, _: &[f64]) -> bool {
            true
        }
        fn prepare(&self, _: &Grid) -> Result<(), SimError> {
            Ok(())
        }
        fn simulate(&self, _: &(), points: Range<usize>, sims: Range<usize>, stats: &mut [f32]) {
            let ns = sims.len();
            stats.par_chunks_mut(ns).zip(points.into_par_iter()).for_each(|(row, g)| {
                for (t, s) in row.iter_mut().zip(sims.clone()) {
                    *t = NESTED_LEVELS[(g * 7 + s * 13) % 5];
                }
            });
        }
        fn levels<'p>(&self, _: &'p ()) -> Option<&'p [f32]> {
            Some(&NESTED_LEVELS)
        }
    }

    #[test]
    fn a_model_with_parallel_work_of_its_own_does_not_deadlock() {
        let sim = Simulator::new(crate::Backend::Threaded(crate::ThreadConfig::new(2))).expect("threads");
        let grid = Grid::new(1, (0..40).map(f64::from).collect()).expect("grid");
        let t = Tiling::new(3, 16);
        let v = validate(&sim, &Nested, &grid, 0.5, 0.01, 500, t).expect("validate");
        let c = calibrate(&sim, &Nested, &grid, 0.3, 500, t).expect("calibrate");
        // The same as one thread, exactly (integer counts, selected levels).
        let one = Simulator::new(crate::Backend::Simd).expect("simd");
        assert_eq!(v.points.iter().map(|p| p.count).collect::<Vec<_>>(), {
            let w = validate(&one, &Nested, &grid, 0.5, 0.01, 500, t).expect("validate");
            w.points.iter().map(|p| p.count).collect::<Vec<_>>()
        });
        assert_eq!(c.lambda, calibrate(&one, &Nested, &grid, 0.3, 500, t).expect("calibrate").lambda);
        // Levels 0 and 0.25 reject at λ = 0.5: two fifths of the simulations, about.
        assert!(v.points.iter().all(|p| (180..=220).contains(&p.count)), "{:?}", v.points[0]);
    }

    #[test]
    fn huge_k_is_an_error_or_bounded_by_time_never_an_abort() {
        use super::two_arm_z::TwoArmZModel;
        let sim = Simulator::new(crate::Backend::Simd).expect("simd");
        let grid = Grid::new(2, vec![0.0, 0.0]).expect("grid");
        let z = TwoArmZModel::new(1, 4).expect("model");
        // Selection holds one point's K statistics and gathers them into a row of K: twice
        // 2^40 f32 cannot be allocated.
        match calibrate(&sim, &z, &grid, 0.025, 1 << 40, Tiling::default()) {
            Err(SimError::OutOfMemory { what: "calibration statistics", bytes }) => {
                assert_eq!(bytes, 8 << 40)
            }
            other => panic!("{other:?}"),
        }
        // The task set of K = 2^62 is computed, not listed.
        let ts = Tasks::new(1, 1 << 62, Tiling::new(256, 256));
        assert_eq!(ts.len(), 1 << 54);
        assert_eq!(ts.get(ts.len() - 1).1.end, 1 << 62);
    }

    #[test]
    fn calibrate_by_levels_in_many_chunks_equals_one_chunk() {
        use super::binomial::{BinomialModel, Counting};
        let theta: Vec<f64> = (0..37 * 3).map(|i| (i as f64 * 0.37).sin() * 1.5).collect();
        let null = (0..37).map(|g| g % 5 != 2).collect();
        let grid = Grid::new(3, theta).unwrap().with_null(null).unwrap();
        let model = BinomialModel::new(4, 7, 3).unwrap().with_counting(Counting::Sorted);
        let levels = 7 * 3 + 1;
        for threads in [1, 2] {
            let sim = Simulator::new(crate::Backend::Threaded(crate::ThreadConfig::new(threads))).unwrap();
            let t = Tiling::new(8, 40);
            let whole = calibrate_in_chunks(&sim, &model, &grid, 0.1, 333, t, None, LEVEL_BUDGET).unwrap();
            // 1 and 3 points per chunk (budget per worker and point: `levels` cells).
            for per in [1, 3] {
                let small = levels * threads * per;
                let chunked = calibrate_in_chunks(&sim, &model, &grid, 0.1, 333, t, None, small).unwrap();
                let bits = |c: &Calibration| c.lambda.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&chunked), bits(&whole), "{threads} threads, {per} per chunk");
                assert_eq!(chunked.argmin, whole.argmin);
            }
            assert!(whole.lambda.iter().filter(|l| !l.is_nan()).count() == 37 - 7);
        }
    }

    #[test]
    fn grid_checks() {
        assert!(matches!(Grid::new(0, vec![]), Err(SimError::Param(ParamError::ZeroSize { name: "dim" }))));
        assert!(matches!(Grid::new(2, vec![]), Err(SimError::Param(ParamError::ZeroSize { name: "grid" }))));
        assert!(matches!(Grid::new(2, vec![1.0; 3]), Err(SimError::Shape { name: "grid", .. })));
        assert!(matches!(
            Grid::new(2, vec![1.0, f64::INFINITY]),
            Err(SimError::Param(ParamError::NotFinite { name: "theta", .. }))
        ));
        let g = Grid::new(2, vec![1.0, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!((g.len(), g.point(1)), (2, &[3.0, 4.0][..]));
        assert!(matches!(g.clone().with_null(vec![true]), Err(SimError::Shape { name: "null", .. })));
        assert_eq!(g.subset(&[1]).values(), &[3.0, 4.0]);
    }
}
