//! Micro-timing of one calibration task of the binomial model (sorted vs brute force):
//! `cargo run --release -p simlanes-cli --example calib_micro -- [gp] [sims] [n]`.

use simlanes::calibration::binomial::{BinomialModel, Counting};
use simlanes::calibration::{Grid, Model};
use std::time::Instant;

fn main() {
    let arg = |i: usize, d: usize| std::env::args().nth(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    let (gp, sims, n) = (arg(1, 1024), arg(2, 64), arg(3, 350));
    let mut x = 12345u64;
    let theta: Vec<f64> = (0..gp * 4)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (x >> 11) as f64 / (1u64 << 53) as f64
        })
        .collect();
    let grid = Grid::new(4, theta).expect("grid");
    let total = 41 * sims;
    let u = simlanes::Simulator::default().binomial_fill_uniforms(0, total, n, 4).expect("uniforms");
    for (pre, counting) in
        [(false, Counting::Sorted), (true, Counting::Sorted), (false, Counting::BruteForce)]
    {
        let m = BinomialModel::new(0, n, 4).expect("model").with_counting(counting);
        let m =
            if pre { m.with_uniforms(simlanes::workload::binomial::Uniforms::Pregenerated(&u)) } else { m };
        let prep = m.prepare(&grid).expect("prepare");
        let mut stats = vec![0f32; gp * sims];
        let reps = if counting == Counting::Sorted { 40 } else { 3 };
        let t0 = Instant::now();
        for r in 0..reps {
            if pre {
                // check_sims wants the whole array: simulate reads only these rows.
                m.simulate(&prep, 0..gp, r * sims..(r + 1) * sims, &mut stats);
            } else {
                m.simulate(&prep, 0..gp, r * sims..(r + 1) * sims, &mut stats);
            }
        }
        let per_sim = t0.elapsed().as_secs_f64() / (reps * sims) as f64;
        println!(
            "{counting:?} (pregenerated {pre}): {:.2} us per simulation, {:.3e} (equivalent) comparisons/s on one thread",
            per_sim * 1e6,
            (gp * n * 4) as f64 / per_sim
        );
    }
}
