//! Speed of the calibration engine on the W3 seed sizes B1–B4 (release build:
//! `cargo run --release -p simlanes-cli --example calib_speed -- [scale]`).
//!
//! Prints, per size: brute-force fused and pregenerated comparisons/s (`G·S·n·d / t`), the
//! sorted method's equivalent comparisons/s, and the fused/pregenerated time ratio.
//! `scale` (default 1) divides `S` to make a quick proxy run.

use simlanes::calibration::binomial::{BinomialModel, Counting};
use simlanes::calibration::{Grid, Tiling, tune, validate};
use simlanes::workload::binomial::{BinomialSpec, Uniforms};
use simlanes::{Backend, Simulator, ThreadConfig};
use std::time::Instant;

fn theta(g: usize) -> Vec<f64> {
    let mut x = 12345u64;
    (0..g * 4)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (x >> 11) as f64 / (1u64 << 53) as f64
        })
        .collect()
}

fn time(
    sim: &Simulator,
    m: &BinomialModel<'_>,
    grid: &Grid,
    sims: usize,
    t: Tiling,
    reps: usize,
) -> (f64, u64) {
    let mut best = f64::INFINITY;
    let mut total = 0;
    for _ in 0..reps {
        let t0 = Instant::now();
        let v = validate(sim, m, grid, 0.5, 0.01, sims, t).expect("validate");
        best = best.min(t0.elapsed().as_secs_f64());
        total = v.points.iter().map(|p| p.count).sum();
    }
    (best, total)
}

fn main() {
    let scale: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(1);
    let only: Option<String> = std::env::args().nth(2);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let sim = Simulator::new(Backend::Threaded(ThreadConfig::new(threads))).expect("pool");
    println!("threads {threads}, S divided by {scale}");
    for (name, g, s, n) in [
        ("B1", 4096usize, 131072usize, 1usize),
        ("B2", 2048, 131072, 5),
        ("B3", 1024, 16384, 150),
        ("B4", 1024, 8192, 350),
    ] {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let s = (s / scale).max(8);
        let grid = Grid::new(4, theta(g)).expect("grid");
        let cmp = (g * s * n * 4) as f64;
        let fused = BinomialModel::new(0, n, 4).expect("model").with_counting(Counting::BruteForce);
        let u = sim.binomial_fill_uniforms(0, s, n, 4).expect("uniforms");
        let pre = fused.with_uniforms(Uniforms::Pregenerated(&u));
        let (bt, _) = tune::autotune(&sim, &fused, &grid, 1024.min(s)).expect("tune");
        let (tf, cf) = time(&sim, &fused, &grid, s, bt, 2);
        let (tp, cp) = time(&sim, &pre, &grid, s, bt, 2);
        let sorted = fused.with_counting(Counting::Sorted);
        let (st, _) = tune::autotune(&sim, &sorted, &grid, 1024.min(s)).expect("tune");
        let (ts, cs) = time(&sim, &sorted, &grid, s, st, 3);
        let spre = sorted.with_uniforms(Uniforms::Pregenerated(&u));
        let (tsp, csp) = time(&sim, &spre, &grid, s, st, 3);
        assert!(cf == cp && cf == cs && cs == csp, "counts differ");
        // Reference: the W3 workload's own threaded SIMD loop (no engine).
        let spec = BinomialSpec { seed: 0, theta: theta(g), d: 4, n, sims: s, null_truth: None };
        let t0 = Instant::now();
        let w3: u64 = sim.binomial_validate(&spec, 0.5, Uniforms::Fused).expect("w3").iter().sum();
        let tw = t0.elapsed().as_secs_f64();
        assert_eq!(w3, cf, "engine and W3 workload disagree");
        println!("{name}: W3 workload loop (reference) {:.3e} cmp/s ({tw:.3} s)", cmp / tw);
        println!(
            "{name} G={g} S={s} n={n}: brute fused {:.3e} cmp/s ({tf:.3} s, tile {}x{}), pregenerated {:.3e} cmp/s \
             ({tp:.3} s), fused/pregen time {:.2}; sorted fused {:.3e} eq cmp/s ({ts:.4} s, tile {}x{}), sorted pregen \
             {:.3e} ({tsp:.4} s); speed-up sorted/brute {:.1}x",
            cmp / tf,
            bt.grid_tile,
            bt.sim_tile,
            cmp / tp,
            tf / tp,
            cmp / ts,
            st.grid_tile,
            st.sim_tile,
            cmp / tsp,
            tf / ts
        );
    }
}
