//! W1 rows — Monte Carlo π, pairs per second.
//!
//! Sizes (`N` pairs per estimate, `I` estimates): quick `N = 50_000, I = 256`; seed
//! `N = 50_000, I = 10_000` (5e8 pairs, the CPU seed size; `I = 50_000` on the GPU
//! backend, its seed size); sweep `I = 1_000, 10_000, 50_000`. The scalar backend runs at most 5e7 pairs per
//! row (`I` cut to 1_000 at `N = 50_000`): the seed size would take about 10 s a run.
//!
//! Byte model: the outputs only, 16 bytes per estimate (hit count u64 + estimate f64)
//! written; the pairs live in registers. Compute-bound on the generator (integer Philox
//! rounds, not flops), so no flop count and no % of FMA peak.
//!
//! Check (WORKLOADS.md): the mean estimate within 4 standard errors of π,
//! `se = sqrt(π(4 − π)/(N·I))`.
//!
//! A `Philox only` row per size (SIMD and threaded backends) draws the same Philox
//! blocks as the `pi` row — every estimate's stream, on the same `f32x16` groups, spread
//! over the backend's threads — and only counts the words' top bits, with no uniforms and
//! no hit test: the generator's own rate, which the `pi` row cannot exceed but by the
//! machine's run-to-run noise. Check: the fraction of top bits set within 4 standard
//! errors of 1/2.

use rayon::prelude::*;
use simlanes::Backend;
use simlanes::simcore::lane::{Real, UintLane};
use simlanes::simcore::rng::Stream;
use simlanes::workload::pi::PiSpec;
use wide::f32x16;

use super::{Ctx, Measured, Meta, Size, simulator, threads_of, within_4se};
use crate::bench::machine::pinned_pool;
use crate::bench::report::Row;
use crate::bench::stream::Traffic;
use crate::bench::timing::repeat;

/// Most pairs one scalar row runs.
const SCALAR_MAX_PAIRS: u64 = 50_000_000;

/// The rows of W1 on `b`.
pub fn rows(b: Backend, ctx: &Ctx) -> Vec<Row> {
    let n = 50_000u64;
    let gpu = matches!(b, Backend::Gpu { .. });
    let sizes: &[usize] = match ctx.size {
        Size::Quick => &[256],
        Size::Seed if gpu => &[50_000],
        Size::Seed => &[10_000],
        Size::Sweep => &[1_000, 10_000, 50_000],
    };
    let mut done = Vec::new();
    let mut rows = Vec::new();
    for &i in sizes {
        let (i, reduced) = if b == Backend::Scalar && n * i as u64 > SCALAR_MAX_PAIRS {
            let cut = (SCALAR_MAX_PAIRS / n) as usize;
            (cut, Some(format!("scalar runs I = {cut} instead of {i} (at most {SCALAR_MAX_PAIRS} pairs)")))
        } else {
            (i, None)
        };
        if done.contains(&i) {
            continue;
        }
        done.push(i);
        let meta = Meta::new("W1", "pi", b, "pairs/s").size(format!("N={n} I={i}"), reduced.clone());
        rows.push(run(&meta, b, ctx, n, i));
        if matches!(b, Backend::Simd | Backend::Threaded(_)) {
            let meta = Meta::new("W1", "Philox only", b, "pairs/s").size(format!("N={n} I={i}"), reduced);
            rows.push(philox_only(&meta, b, ctx, n, i));
        }
    }
    rows
}

fn run(meta: &Meta, b: Backend, ctx: &Ctx, n: u64, i: usize) -> Row {
    let sim = match simulator(b) {
        Ok(s) => s,
        Err(e) => return meta.failed(e),
    };
    let spec = PiSpec { seed: ctx.seed, pairs_per_estimate: n, estimates: i, jax_key: None };
    let (stats, out) = repeat(ctx.repeats(), ctx.budget_s(), || sim.pi(&spec));
    let out = match out {
        Ok(o) => o,
        Err(e) => return meta.failed(e.to_string()),
    };
    let pi = std::f64::consts::PI;
    let pairs = (n * i as u64) as f64;
    let se = (pi * (4.0 - pi) / pairs).sqrt();
    meta.row(Measured {
        stats,
        work: pairs,
        bytes: Some((16.0 * i as f64, Traffic::Write)),
        flops: None,
        check: within_4se("mean", out.mean, pi, se),
    })
}

/// The `Philox only` row (module docs): the blocks of `i` estimates of `n` pairs (`n`
/// even), 16 streams per `f32x16` group as the SIMD kernel draws them, groups spread over
/// `b`'s threads; only the words' top bits are counted. A last partial group draws all 16
/// streams and counts its first `i % 16` (a little more work than the row is credited with).
fn philox_only(meta: &Meta, b: Backend, ctx: &Ctx, n: u64, i: usize) -> Row {
    const LANES: usize = 16;
    if !n.is_multiple_of(2) {
        return meta.failed(format!("N = {n} must be even"));
    }
    // Pinned, as the threaded backend of the `pi` row it is compared with.
    let pool = match pinned_pool(threads_of(b)) {
        Ok(p) => p,
        Err(e) => return meta.failed(e),
    };
    let seed = ctx.seed;
    let group = |g: usize| -> u64 {
        let stream = Stream::<f32x16>::consecutive(seed, (g * LANES) as u64);
        let mut ones = <f32x16 as Real>::Words::splat(0);
        for c in 0..n / 2 {
            for w in stream.block(c) {
                ones = ones.wrapping_add(w.shr(31));
            }
        }
        (0..LANES.min(i - g * LANES)).map(|l| u64::from(ones.lane(l))).sum()
    };
    let draw = || -> u64 {
        pool.install(|| (0..i.div_ceil(LANES)).into_par_iter().with_max_len(1).map(group).sum())
    };
    let (stats, ones) = repeat(ctx.repeats(), ctx.budget_s(), draw);
    let words = 2.0 * n as f64 * i as f64;
    meta.row(Measured {
        stats,
        work: n as f64 * i as f64,
        bytes: None,
        flops: None,
        check: within_4se("fraction of top bits set", ones as f64 / words, 0.5, 0.5 / words.sqrt()),
    })
}
