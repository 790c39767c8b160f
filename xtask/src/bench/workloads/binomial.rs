//! W3 rows — binomial rejection counting over a parameter grid, comparisons per second
//! (`G·S·n·d / t`).
//!
//! Sizes: the four seed sizes B1–B4 (`d = 4`, `λ = 0.5`, `θ ~ U[0,1)^{G×4}`, null true
//! everywhere). `θ[j]` is f64 uniform `j` of stream `2^64 − 2` of the seed (WORKLOADS.md
//! says only "U[0,1)"; this choice keeps θ reproducible from the seed and clear of the
//! connectivity stream `2^64 − 1`). Quick runs cut `G` by 64 (B1 64 points … B4 16);
//! the scalar backend runs at most 4e8 comparisons per row (`G` cut to fit: the seed
//! sizes would take a minute or more). Sweep and quick runs add, on the threaded backend,
//! a tile-size sweep of B3 (simulations per tile 64 … 16384; quick on its cut grid),
//! plotted by `--out`.
//!
//! Variants: `validate fused` (uniforms generated in registers), `validate sorted (engine)`
//! (B3 and B4 on the CPU backends: the calibration engine's sorted counting on the same grid,
//! equivalent comparisons/s, with its speed-up over `validate fused` of the same run in the
//! note; counts checked equal), `validate pregen`
//! (reading the `S×n×d` array, filled untimed by `binomial_fill_uniforms`) and
//! `calibrate fused` (`α = 0.05`; at `--size seed` only for B3 and B4: selecting over
//! `S = 131072` statistics per point makes B1 and B2 take 5–15 s a run) and
//! `calibrate sorted (engine)` (B3 and B4 on the CPU backends: the engine's `calibrate`
//! with sorted counting; every `λ*` checked equal, bit for bit, to `calibrate fused`),
//! and `validate sorted, JAX key (engine)` (the engine on `Uniforms::Jax` with key
//! `jax.random.key(seed)`, generated in registers; counts checked equal to the workload's
//! on the materialised `jax.random.uniform(key, (S, n, d))`, drawn and counted untimed).
//!
//! Byte model: `pregen` reads 4 bytes of uniforms per comparison (`G·S·n·d·4`, the
//! bytes WORKLOADS.md asks to compare with the measured peak — logical bytes: a tiled
//! kernel serves repeated reads from cache, so the figure can exceed DRAM bandwidth);
//! `fused` writes only the `G` results (8 B per count, 4 B per threshold).
//! Comparisons are not flops: no % of FMA peak.
//!
//! Checks:
//! * `validate fused` — the exact binomial law: a grid of one point with every
//!   `θ = 0.25` (all `p` equal) on the same backend and sizes must give
//!   `rej/S = P(Binomial(n·d, p) < λ·n·d)` (`p` the f32 probability) within 4 standard
//!   errors `sqrt(P(1−P)/S)`; and on the timed output, point 0 (its 4 arms differ) must
//!   match its exact Poisson-binomial probability within 4 standard errors;
//! * `validate pregen` — counts identical to `validate fused` at every point;
//! * `calibrate fused` — at points 0 and `G − 1`, `λ*` is the `m`-th smallest statistic:
//!   `validate` there gives `#{T < λ*} < m ≤ #{T < next_up(λ*)}`.

use simlanes::Backend;
use simlanes::calibration::binomial::{BinomialModel, Counting};
use simlanes::calibration::{Grid, calibrate, tune, validate};
use simlanes::simcore::models::binomial::expit_f32;
use simlanes::simcore::rng::Stream;
use simlanes::simcore::stats::binomial_pmf;
use simlanes::simulator::ThreadConfig;
use simlanes::workload::binomial::{BinomialSpec, Uniforms, calibration_rank};
use simlanes::workload::jax::{JaxKey, binomial_uniforms_from_jax_key};
use simlanes::{SimError, Simulator};

use super::{Ctx, Measured, Meta, Size, both, simulator, within_4se};
use crate::bench::report::{Check, Row};
use crate::bench::stream::Traffic;
use crate::bench::timing::repeat;

const D: usize = 4;
/// The engine's sorted rows run from this `n` on: B3 and B4 (at B1/B2's handful of
/// uniforms per arm sorting gains little, and calibrating B2's 131072 simulations would
/// dominate the run).
const ENGINE_MIN_N: usize = 16;
const LAMBDA: f64 = 0.5;
const ALPHA: f64 = 0.05;
/// Most comparisons one scalar row runs.
const SCALAR_MAX_CMP: usize = 400_000_000;
/// (name, G, S, n) of the seed sizes.
const SEED_SIZES: [(&str, usize, usize, usize); 4] =
    [("B1", 4096, 131_072, 1), ("B2", 2048, 131_072, 5), ("B3", 1024, 16_384, 150), ("B4", 1024, 8192, 350)];
/// Tile sizes (simulations per tile) of the sweep.
const TILES: [usize; 6] = [64, 256, 1024, 2048, 4096, 16_384];

/// The rows of W3 on `b`.
pub fn rows(b: Backend, ctx: &Ctx) -> Vec<Row> {
    let mut rows = Vec::new();
    for (name, g, s, n) in SEED_SIZES {
        let mut g_run = if ctx.size == Size::Quick { g / 64 } else { g };
        let mut reduced = None;
        if b == Backend::Scalar && g_run * s * n * D > SCALAR_MAX_CMP {
            let cut = (SCALAR_MAX_CMP / (s * n * D)).max(1);
            reduced = Some(format!(
                "scalar runs G = {cut} instead of {g_run} (at most {SCALAR_MAX_CMP} comparisons)"
            ));
            g_run = cut;
        }
        let size = format!("{name} G={g_run} S={s} n={n}");
        // Calibration selects over all S statistics per point: at the seed size, B1 and B2
        // (S = 131072) take many seconds a run, so the default run calibrates B3 and B4 only.
        let calibrate = ctx.size != Size::Seed || n >= 150;
        rows.extend(run(b, ctx, calibrate, &size, reduced, g_run, s, n, None));
    }
    if ctx.size != Size::Seed
        && let Backend::Threaded(cfg) = b
    {
        let (name, g, s, n) = SEED_SIZES[2];
        let g = if ctx.size == Size::Quick { g / 64 } else { g };
        for tile in TILES {
            let bt = Backend::Threaded(ThreadConfig { tile: Some(tile), ..cfg });
            let size = format!("{name} G={g} S={s} n={n} tile={tile}");
            rows.extend(run(bt, ctx, false, &size, None, g, s, n, Some(tile)));
        }
    }
    rows
}

/// θ of `g` points: f64 uniforms of stream 2^64 − 2.
fn theta(seed: u64, g: usize) -> Vec<f64> {
    let st = Stream::<f64>::new(seed, |_| u64::MAX - 1);
    (0..g * D).map(|j| st.uniform(j as u64)).collect()
}

/// `P(X < k)` for `X` the sum of independent `Binomial(n, p_a)`, by convolution of the
/// exact probability mass functions (`simcore::stats::binomial_pmf`; NaN for a `p`
/// outside `[0, 1]`, which fails the check).
fn sum_binomial_below(n: usize, ps: &[f64], k: usize) -> f64 {
    let mut pmf = vec![1.0f64];
    for &p in ps {
        let one: Vec<f64> =
            (0..=n).map(|i| binomial_pmf(n as u64, i as u64, p).unwrap_or(f64::NAN)).collect();
        let mut next = vec![0.0; pmf.len() + n];
        for (i, a) in pmf.iter().enumerate() {
            for (j, b) in one.iter().enumerate() {
                next[i + j] += a * b;
            }
        }
        pmf = next;
    }
    pmf.iter().take(k).sum()
}

/// Smallest count `c` with `f32(c)/f32(nd) >= f32(λ)`: `T < λ ⟺ count < c`.
fn first_count_not_below(nd: usize, lambda: f64) -> usize {
    let l = lambda as f32;
    (0..=nd).find(|&c| c as f32 / nd as f32 >= l).unwrap_or(nd + 1)
}

/// The law check of one grid point of arms `ps` (f32 probabilities) from its count.
fn law_check(what: &str, rej: u64, sims: usize, n: usize, ps: &[f32]) -> Check {
    let ps: Vec<f64> = ps.iter().map(|&p| f64::from(p)).collect();
    let want = sum_binomial_below(n, &ps, first_count_not_below(n * ps.len(), LAMBDA));
    let se = (want * (1.0 - want) / sims as f64).sqrt().max(1.0 / sims as f64);
    within_4se(what, rej as f64 / sims as f64, want, se)
}

fn spec(seed: u64, theta: Vec<f64>, s: usize, n: usize) -> BinomialSpec {
    BinomialSpec { seed, theta, d: D, n, sims: s, null_truth: None }
}

#[allow(clippy::too_many_arguments)]
fn run(
    b: Backend,
    ctx: &Ctx,
    with_calibrate: bool,
    size: &str,
    reduced: Option<String>,
    g: usize,
    s: usize,
    n: usize,
    tile: Option<usize>,
) -> Vec<Row> {
    let mut metas: Vec<Meta> = ["validate fused", "validate pregen", "calibrate fused"]
        .iter()
        .map(|v| Meta::new("W3", *v, b, "comparisons/s").size(size, reduced.clone()))
        .collect();
    for m in &mut metas {
        m.tile = tile;
    }
    let sim = match simulator(b) {
        Ok(s) => s,
        Err(e) => return metas.iter().map(|m| m.failed(e.clone())).collect(),
    };
    let th = theta(ctx.seed, g);
    let p0: Vec<f32> = th[..D].iter().map(|&t| expit_f32(t)).collect();
    let sp = spec(ctx.seed, th.clone(), s, n);
    let work = (g * s * n * D) as f64;
    let mut rows = Vec::new();

    // validate, fused.
    let (stats, res) =
        repeat(ctx.repeats(), ctx.budget_s(), || sim.binomial_validate(&sp, LAMBDA, Uniforms::Fused));
    let fused = match res {
        Ok(r) => r,
        Err(e) => return metas.iter().map(|m| m.failed(e.to_string())).collect(),
    };
    let homog = spec(ctx.seed, vec![0.25; D], s, n);
    let check = match sim.binomial_validate(&homog, LAMBDA, Uniforms::Fused) {
        Ok(r) => both(
            law_check("equal-p rej/S", r[0], s, n, &[expit_f32(0.25); D]),
            law_check("point 0 rej/S", fused[0], s, n, &p0),
        ),
        Err(e) => Check::new(false, format!("error: {e}")),
    };
    let brute_best = stats.best;
    rows.push(metas[0].row(Measured {
        stats,
        work,
        bytes: Some((8.0 * g as f64, Traffic::Write)),
        flops: None,
        check,
    }));

    // The calibration engine's sorted counting on the same grid, timed beside brute force.
    if tile.is_none() && n >= ENGINE_MIN_N && !matches!(b, Backend::Gpu { .. }) {
        let meta =
            Meta::new("W3", "validate sorted (engine)", b, "comparisons/s").size(size, reduced.clone());
        rows.push(engine_row(&sim, ctx, meta, &th, s, n, brute_best, EngineRun::Validate(&fused)));
        // The same with JAX's uniforms generated in registers, checked against the
        // workload's counts on the materialised JAX array (drawn and counted untimed).
        let meta = Meta::new("W3", "validate sorted, JAX key (engine)", b, "comparisons/s")
            .size(size, reduced.clone());
        let want = JaxKey::new(i128::from(ctx.seed))
            .and_then(|key| binomial_uniforms_from_jax_key(key, s, n, D))
            .and_then(|u| sim.binomial_validate(&sp, LAMBDA, Uniforms::Pregenerated(&u)));
        rows.push(match want {
            Ok(want) => engine_row(&sim, ctx, meta, &th, s, n, brute_best, EngineRun::ValidateJax(&want)),
            Err(e) => meta.failed(e.to_string()),
        });
    }

    // validate, pregenerated.
    match sim.binomial_fill_uniforms(ctx.seed, s, n, D) {
        Ok(u) => {
            let (stats, res) = repeat(ctx.repeats(), ctx.budget_s(), || {
                sim.binomial_validate(&sp, LAMBDA, Uniforms::Pregenerated(&u))
            });
            rows.push(match res {
                Ok(r) => {
                    let bad = r.iter().zip(&fused).filter(|(a, b)| a != b).count();
                    let check =
                        Check::new(bad == 0, format!("pregen vs fused counts: {bad} of {g} points differ"));
                    metas[1].row(Measured {
                        stats,
                        work,
                        bytes: Some((4.0 * work, Traffic::Read)),
                        flops: None,
                        check,
                    })
                }
                Err(e) => metas[1].failed(e.to_string()),
            });
        }
        Err(e) => rows.push(metas[1].failed(e.to_string())),
    }

    if !with_calibrate {
        return rows;
    }
    // calibrate, fused.
    let (stats, res) =
        repeat(ctx.repeats(), ctx.budget_s(), || sim.binomial_calibrate(&sp, ALPHA, Uniforms::Fused));
    let brute_best = stats.best;
    let lam = match res {
        Ok(lam) => lam,
        Err(e) => {
            rows.push(metas[2].failed(e.to_string()));
            return rows;
        }
    };
    let check = calibrate_check(&sim, ctx.seed, &th, &lam, s, n);
    rows.push(metas[2].row(Measured {
        stats,
        work,
        bytes: Some((4.0 * g as f64, Traffic::Write)),
        flops: None,
        check,
    }));
    if tile.is_none() && n >= ENGINE_MIN_N && !matches!(b, Backend::Gpu { .. }) {
        let meta =
            Meta::new("W3", "calibrate sorted (engine)", b, "comparisons/s").size(size, reduced.clone());
        rows.push(engine_row(&sim, ctx, meta, &th, s, n, brute_best, EngineRun::Calibrate(&lam)));
    }
    rows
}

/// What an engine row runs: the engine's `validate` or `calibrate`.
enum EngineRun<'a> {
    /// `validate(λ, δ = 0.01)`, compared with the brute-force row's rejection counts.
    Validate(&'a [u64]),
    /// `validate` on `Uniforms::Jax` (key `jax.random.key(seed)`), compared with the
    /// counts on the materialised `jax.random.uniform(key, (S, n, d))`.
    ValidateJax(&'a [u64]),
    /// `calibrate(α)`, compared with the brute-force row's thresholds, bit for bit.
    Calibrate(&'a [f32]),
}

/// An engine row: the calibration engine on the grid `th` with [`Counting::Sorted`]
/// (fused uniforms, tiles from [`tune::autotune`] on at most 4096 simulations), timed;
/// equivalent comparisons/s (`G·S·n·d / t`, the brute-force work), the ratio to the
/// brute-force row's best time `brute_best` of the same run in the note and the check's
/// detail, and a check that its result equals the brute-force row's, point by point.
#[allow(clippy::too_many_arguments)]
fn engine_row(
    sim: &Simulator,
    ctx: &Ctx,
    mut meta: Meta,
    th: &[f64],
    s: usize,
    n: usize,
    brute_best: f64,
    what: EngineRun<'_>,
) -> Row {
    let g = th.len() / D;
    let setup = Grid::new(D, th.to_vec()).and_then(|grid| {
        let model = BinomialModel::new(ctx.seed, n, D)?.with_counting(Counting::Sorted);
        // Tuned on Philox uniforms: a JAX draw is tied to its `S`, not the probe's.
        let (tiling, _) = tune::autotune(sim, &model, &grid, s.min(4096))?;
        let model = match what {
            EngineRun::ValidateJax(_) => {
                model.with_uniforms(Uniforms::Jax { key: JaxKey::new(i128::from(ctx.seed))?, sims: s })
            }
            _ => model,
        };
        Ok((grid, model, tiling))
    });
    let (grid, model, tiling) = match setup {
        Ok(setup) => setup,
        Err(e) => return meta.failed(e.to_string()),
    };
    // Points that differ from brute force, or the error.
    let run = || -> Result<usize, SimError> {
        Ok(match what {
            EngineRun::Validate(brute) | EngineRun::ValidateJax(brute) => {
                let v = validate(sim, &model, &grid, LAMBDA, 0.01, s, tiling)?;
                let same = v.points.len() == brute.len();
                v.points.iter().zip(brute).filter(|(p, c)| p.count != **c).count() + usize::from(!same)
            }
            EngineRun::Calibrate(brute) => {
                let c = calibrate(sim, &model, &grid, ALPHA, s, tiling)?;
                let same = c.lambda.len() == brute.len();
                c.lambda.iter().zip(brute).filter(|(a, b)| a.to_bits() != b.to_bits()).count()
                    + usize::from(!same)
            }
        })
    };
    let (stats, res) = repeat(ctx.repeats(), ctx.budget_s(), run);
    let (brute_row, result, bytes) = match what {
        EngineRun::Validate(_) => ("validate fused", "brute-force counts", 8.0),
        EngineRun::ValidateJax(_) => ("validate fused", "counts on the JAX array", 8.0),
        EngineRun::Calibrate(_) => ("calibrate fused", "brute-force thresholds", 4.0),
    };
    match res {
        Ok(bad) => {
            let ratio = brute_best / stats.best;
            let note = format!(
                "equivalent comparisons (G·S·n·d); {ratio:.1}x the brute-force `{brute_row}` row of this run; \
                 tiles {}x{}",
                tiling.grid_tile, tiling.sim_tile
            );
            meta.note = Some(match meta.note.take() {
                Some(why) => format!("{why}; {note}"),
                None => note,
            });
            let check = Check::new(
                bad == 0,
                format!("sorted vs {result}: {bad} of {g} points differ; {ratio:.1}x brute force"),
            );
            meta.row(Measured {
                stats,
                work: (g * s * n * D) as f64,
                bytes: Some((bytes * g as f64, Traffic::Write)),
                flops: None,
                check,
            })
        }
        Err(e) => meta.failed(e.to_string()),
    }
}

/// `#{T < λ*} < m <= #{T < next_up(λ*)}` at the first and last grid points.
fn calibrate_check(sim: &Simulator, seed: u64, th: &[f64], lam: &[f32], s: usize, n: usize) -> Check {
    let m = match calibration_rank(s, ALPHA) {
        Ok(m) => m as u64,
        Err(e) => return Check::new(false, format!("error: {e}")),
    };
    let g = lam.len();
    let mut detail = Vec::new();
    let mut pass = true;
    for point in [0, g - 1] {
        let one = spec(seed, th[point * D..(point + 1) * D].to_vec(), s, n);
        let l = lam[point];
        let up = f32::from_bits(l.to_bits() + 1);
        let count = |x: f32| -> Result<u64, SimError> {
            Ok(sim.binomial_validate(&one, f64::from(x), Uniforms::Fused)?[0])
        };
        match (count(l), count(up)) {
            (Ok(below), Ok(upto)) => {
                pass &= l.is_finite() && l >= 0.0 && below < m && m <= upto;
                detail.push(format!("point {point}: #(T<l*)={below} < m={m} <= #(T<=l*)={upto}"));
            }
            (Err(e), _) | (_, Err(e)) => {
                pass = false;
                detail.push(format!("error: {e}"));
            }
        }
    }
    Check::new(pass, detail.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sum_of_binomials_known_values() {
        // One Binomial(3, 1/2): P(X < 2) = 1/2.
        assert!((sum_binomial_below(3, &[0.5], 2) - 0.5).abs() < 1e-15);
        // Two Binomial(1, p): P(X < 1) = (1-p)(1-q).
        assert!((sum_binomial_below(1, &[0.3, 0.6], 1) - 0.7 * 0.4).abs() < 1e-15);
        // Total mass 1 even where (1-p)^n underflows alone.
        let all = sum_binomial_below(350, &[0.6; 4], 1401);
        assert!((all - 1.0).abs() < 1e-12, "{all}");
    }

    #[test]
    fn threshold_count_matches_f32_division() {
        assert_eq!(first_count_not_below(4, 0.5), 2);
        assert_eq!(first_count_not_below(20, 0.5), 10);
        assert_eq!(first_count_not_below(600, 0.5), 300);
        assert_eq!(first_count_not_below(4, 1.5), 5);
    }
}
