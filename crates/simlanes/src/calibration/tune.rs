//! Tile-shape tuning on the running machine.
//!
//! The seed swept batch sizes by hand and found a narrow optimum for memory-bound cases.
//! [`sweep`] times [`super::validate`] for a list of [`Tiling`]s (the data for a
//! throughput-versus-tile-size plot, e.g. in `cargo xtask bench`), and [`autotune`] runs a
//! short sweep and returns the fastest shape. Results never depend on the shape, only the
//! time does, so tuning is always safe.

use super::{Grid, Model, Tiling, validate, workers};
use crate::error::SimError;
use crate::simulator::Simulator;
use simcore::ParamError;
use std::time::Instant;

/// One timed tile shape.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SweepPoint {
    /// The shape timed.
    pub tiling: Tiling,
    /// Best wall time of the repetitions, seconds.
    pub seconds: f64,
    /// `(null grid points) × K / seconds`: statistics computed per second. Multiply by
    /// the model's work per statistic (W3: `n·d` comparisons) for its own unit.
    pub stats_per_s: f64,
}

/// The shapes [`autotune`] tries: grid tiles `{16, 64, 256, 1024}` (capped at the grid
/// size) × simulation tiles `{64, 256, 1024, 4096}` (capped at `K`, multiples of 8),
/// duplicates removed.
pub fn default_shapes(points: usize, sims: usize) -> Vec<Tiling> {
    let mut v = Vec::new();
    for g in [16usize, 64, 256, 1024] {
        for s in [64usize, 256, 1024, 4096] {
            let t = Tiling::new(g.min(points.max(1)), s.min(sims.max(1)).next_multiple_of(8));
            if !v.contains(&t) {
                v.push(t);
            }
        }
    }
    v
}

/// Times `validate(λ = 0.5, δ = 0.01)` of `model` on `grid` with `sims` simulations for
/// each shape, `reps` times each (the best time is kept; at least 1 repetition).
///
/// # Errors
/// As [`super::validate`].
pub fn sweep<M: Model>(
    sim: &Simulator,
    model: &M,
    grid: &Grid,
    sims: usize,
    shapes: &[Tiling],
    reps: usize,
) -> Result<Vec<SweepPoint>, SimError> {
    let null = grid.null_flags(model).iter().filter(|&&b| b).count();
    shapes
        .iter()
        .map(|&tiling| {
            let mut best = f64::INFINITY;
            for _ in 0..reps.max(1) {
                let t0 = Instant::now();
                validate(sim, model, grid, 0.5, 0.01, sims, tiling)?;
                best = best.min(t0.elapsed().as_secs_f64());
            }
            Ok(SweepPoint { tiling, seconds: best, stats_per_s: (null * sims) as f64 / best.max(1e-12) })
        })
        .collect()
}

/// Timings per shape in [`autotune`], the best kept: on a shared machine a single timing
/// can lose several-fold to a neighbour's burst, and the tuner would then keep a poor shape
/// (seen with one repetition: B4 tuned to 64-simulation tiles, whose per-task table set-up
/// costs about 6 %).
pub const TUNE_REPS: usize = 3;

/// The shapes that give every one of `threads` workers at least one task of the probe
/// (`points × sims`); all of them when none does. A shape with fewer tasks than workers
/// would be timed on part of the machine and lose for that reason alone — not a fault of
/// the shape at full size, where the tiles are many.
fn busy_shapes(shapes: Vec<Tiling>, points: usize, sims: usize, threads: usize) -> Vec<Tiling> {
    let tasks = |t: &Tiling| points.div_ceil(t.grid_tile) * sims.div_ceil(t.sim_tile);
    let busy: Vec<Tiling> = shapes.iter().copied().filter(|t| tasks(t) >= threads).collect();
    if busy.is_empty() { shapes } else { busy }
}

/// Most null grid points [`autotune`] times its shapes on: a larger grid is probed on this
/// many of its null points, evenly spaced (so the probe's `p` spread is the grid's). The
/// seed sizes B1–B4 (at most 4096 points) are probed whole.
pub const TUNE_POINTS: usize = 4096;

/// Shapes [`autotune`] times again, [`TUNE_REPS`]` − 1` more times each, after one timing
/// of every shape: the best few of one noisy round, not all of them, are worth confirming.
pub const FINALISTS: usize = 3;

/// Fewest probes a run must be worth for [`worth_tuning`]: tuning times about
/// `shapes + FINALISTS·(TUNE_REPS − 1)` (22) probes, and the slowest shapes (small grid
/// tiles, where sorted counting falls back to brute force) take several times the best
/// one's time, so a run smaller than this would spend a large share of its time tuning.
/// Seen before this rule: a 7000-point, `K = 8192`, `n = 350` calibration took 37 s with
/// tuning and 0.5 s on the default shape.
pub const MIN_RUN_PER_PROBE: usize = 500;

/// Whether a run of `null_points × sims` statistics is large enough for [`autotune`] with
/// `probe_sims` simulations to pay off (see [`MIN_RUN_PER_PROBE`]); otherwise run on
/// [`Tiling::default`] (its docs give its measured speed at the seed sizes B1–B4).
pub fn worth_tuning(null_points: usize, sims: usize, probe_sims: usize) -> bool {
    let probe = null_points.min(TUNE_POINTS).saturating_mul(probe_sims.min(sims));
    probe > 0 && null_points.saturating_mul(sims) / probe >= MIN_RUN_PER_PROBE
}

/// Picks the fastest of [`default_shapes`] for this machine, timing `validate` on at most
/// `probe_sims` simulations (e.g. 2048; rounded up to 8) and at most [`TUNE_POINTS`] null
/// points of `grid`: one timing of every shape that keeps every worker thread busy on the
/// probe (a shape with fewer tasks than workers is skipped unless no shape has enough),
/// then [`TUNE_REPS`]` − 1` more of the [`FINALISTS`] fastest; the best time of each is
/// kept. Returns the best shape and the sweep. Use [`worth_tuning`] to decide whether a
/// run is large enough to tune.
///
/// The probe runs `model` on its own number of simulations, so a model whose uniforms are
/// tied to `K` (a pregenerated array, or a JAX draw `Uniforms::Jax { sims: K, .. }`)
/// fails its `check_sims` here: tune a copy with fused uniforms instead (the tile shapes
/// cost the same) and run the original with the shape found.
///
/// # Errors
/// As [`super::validate`]; [`ParamError::TooLarge`] for `probe_sims` past `usize::MAX − 7`.
pub fn autotune<M: Model>(
    sim: &Simulator,
    model: &M,
    grid: &Grid,
    probe_sims: usize,
) -> Result<(Tiling, Vec<SweepPoint>), SimError> {
    let sims = probe_sims
        .max(8)
        .checked_next_multiple_of(8)
        .ok_or(ParamError::TooLarge { name: "probe_sims", max: (usize::MAX - 7) as u64 })?;
    let null: Vec<usize> =
        grid.null_flags(model).iter().enumerate().filter(|&(_, &b)| b).map(|(g, _)| g).collect();
    let sample;
    let probe = if null.len() > TUNE_POINTS {
        let idx: Vec<usize> = (0..TUNE_POINTS).map(|i| null[i * null.len() / TUNE_POINTS]).collect();
        sample = grid.subset(&idx).with_null(vec![true; TUNE_POINTS])?;
        &sample
    } else {
        grid
    };
    let shapes = busy_shapes(default_shapes(probe.len(), sims), probe.len(), sims, workers(sim));
    let mut points = sweep(sim, model, probe, sims, &shapes, 1)?;
    let mut fastest: Vec<usize> = (0..points.len()).collect();
    fastest.sort_by(|&a, &b| points[b].stats_per_s.total_cmp(&points[a].stats_per_s));
    for &i in fastest.iter().take(FINALISTS) {
        let again = sweep(sim, model, probe, sims, &[points[i].tiling], TUNE_REPS - 1)?;
        if let Some(a) = again.first().filter(|a| a.seconds < points[i].seconds) {
            points[i] = *a;
        }
    }
    let best = points
        .iter()
        .max_by(|a, b| a.stats_per_s.total_cmp(&b.stats_per_s))
        .map_or_else(Tiling::default, |p| p.tiling);
    Ok((best, points))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_that_would_idle_a_worker_on_the_probe_are_skipped() {
        let all = default_shapes(1024, 1024);
        let busy = busy_shapes(all.clone(), 1024, 1024, 2);
        assert!(!busy.contains(&Tiling::new(1024, 1024)), "one task for two threads");
        assert!(busy.contains(&Tiling::new(1024, 256)) && busy.contains(&Tiling::new(256, 1024)));
        assert_eq!(busy_shapes(all.clone(), 1024, 1024, 1), all);
        // Nothing keeps 10^6 workers busy: every shape stays.
        assert_eq!(busy_shapes(all.clone(), 1024, 1024, 1_000_000), all);
    }

    #[test]
    fn only_runs_many_probes_large_are_tuned() {
        // B4 (1024 points, K = 8192) with a 2048-simulation probe: 4 probes, not tuned.
        assert!(!worth_tuning(1024, 8192, 2048));
        // 10^6 points, K = 8192: the probe is 4096 points × 2048, the run 977 probes.
        assert!(worth_tuning(1_000_000, 8192, 2048));
        assert!(!worth_tuning(0, 8192, 2048) && !worth_tuning(10, 0, 2048));
        assert!(!worth_tuning(usize::MAX, usize::MAX, 0));
    }

    #[test]
    fn shapes_never_overflow() {
        assert!(default_shapes(usize::MAX, usize::MAX).iter().all(|t| t.sim_tile >= 8 && t.grid_tile >= 16));
        assert_eq!(default_shapes(1, 1), vec![Tiling::new(1, 8)]);
    }
}
