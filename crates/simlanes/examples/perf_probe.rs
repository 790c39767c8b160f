//! Release-mode timing probe for the CPU backends (W1–W5): min over repeats.
//!
//! `cargo run --release -p simlanes --example perf_probe -- [WHAT] [repeats]`, `WHAT` one of
//! `w1 w1k w1t w2 w2p w2path w3 w4 w5 all`, or `jax` (the JAX stream mode of W1, W2 (b)
//! and W4, not part of `all`).
//! Prints one line per (workload, backend) with the min wall time and the throughput
//! metric, preceded by the min CPU time of all threads (`[cpu …]`): on a machine shared
//! with other jobs the CPU time is the steadier figure. `w1k` times the Philox interleave
//! variants of W1 on one thread; `w1t` W1 on 2 threads at several tile sizes; `w2p` the
//! parallel-in-time W2 mode (b); `w2path` mode (a) sequential and parallel in time. W4
//! runs `nn = 32, nt = 64, B = 1024`, W5 the sweep with `nt = 450`. `w3` runs W3
//! validate (fused and pregenerated) at the seed sizes B1–B4 (`λ = 0.5`, `θ` a fixed grid
//! in `[0, 1)`) on the SIMD and threaded backends.

use simlanes::simcore::lane::{Real, UintLane};
use simlanes::simcore::models::pi::pi_hits_interleaved;
use simlanes::workload::binomial::{BinomialSpec, Uniforms};
use simlanes::workload::jansen_rit::JansenRitSpec;
use simlanes::workload::jax::{JaxKey, Layout};
use simlanes::workload::mpr::MprSpec;
use simlanes::workload::ou::OuSpec;
use simlanes::workload::pi::PiSpec;
use simlanes::{Backend, Simulator, ThreadConfig};
use std::time::Instant;

/// CPU time of every thread of this process, in ns (`/proc/self/task/*/schedstat`): on a
/// machine shared with other jobs, CPU time is a steadier measure than wall time.
fn cpu_ns() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else { return 0 };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_to_string(e.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()))
        .sum()
}

/// Min wall time and min CPU time (all threads) over `reps` runs, in seconds.
fn min_time2(reps: usize, mut f: impl FnMut()) -> (f64, f64) {
    let (mut wall, mut cpu) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..reps {
        let c = cpu_ns();
        let t = Instant::now();
        f();
        wall = wall.min(t.elapsed().as_secs_f64());
        cpu = cpu.min((cpu_ns() - c) as f64 * 1e-9);
    }
    (wall, cpu)
}

/// Min wall time; prints the CPU-time view alongside (the caller prints the rest).
fn min_time(reps: usize, f: impl FnMut()) -> f64 {
    let (wall, cpu) = min_time2(reps, f);
    print!("[cpu {cpu:7.4} s] ");
    wall
}

fn sims() -> Vec<(&'static str, Simulator)> {
    let mk = |b| Simulator::new(b).expect("backend");
    vec![
        ("scalar", mk(Backend::Scalar)),
        ("simd", mk(Backend::Simd)),
        ("threaded1", mk(Backend::Threaded(ThreadConfig::new(1).pinned()))),
        ("threaded2", mk(Backend::Threaded(ThreadConfig::new(2).pinned()))),
    ]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let what = args.get(1).map_or("all", |s| s.as_str()).to_string();
    let reps: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(3);
    let want = |w: &str| what == "all" || what == w;
    let sims = sims();
    if want("w1") {
        let spec = PiSpec { seed: 0, pairs_per_estimate: 50_000, estimates: 1_000, jax_key: None };
        for (name, sim) in &sims {
            let mut h = 0;
            let t = min_time(reps, || h = sim.pi(&spec).expect("pi").hits.iter().sum::<u64>());
            let pairs = spec.pairs_per_estimate as f64 * spec.estimates as f64;
            println!("W1 {name:10} {t:8.4} s  {:.3e} pairs/s  (hits {h})", pairs / t);
        }
    }
    if want("w3") {
        w3(&sims[1..], reps);
    }
    if what == "w1t" {
        // W1 on 2 threads: tile sizes and pinning.
        let spec = PiSpec { seed: 0, pairs_per_estimate: 50_000, estimates: 1_000, jax_key: None };
        for (name, cfg) in [
            ("auto pin", ThreadConfig::new(2).pinned()),
            ("auto", ThreadConfig::new(2)),
            ("tile 500", ThreadConfig::new(2).pinned().with_tile(500)),
            ("tile 16", ThreadConfig::new(2).pinned().with_tile(16)),
            ("tile 64", ThreadConfig::new(2).pinned().with_tile(64)),
            ("tile 128", ThreadConfig::new(2).pinned().with_tile(128)),
            ("tile 256", ThreadConfig::new(2).pinned().with_tile(256)),
            ("tile 96", ThreadConfig::new(2).pinned().with_tile(96)),
            ("tile 112", ThreadConfig::new(2).pinned().with_tile(112)),
            ("tile 144", ThreadConfig::new(2).pinned().with_tile(144)),
            ("tile 192", ThreadConfig::new(2).pinned().with_tile(192)),
        ] {
            let sim = Simulator::new(Backend::Threaded(cfg)).expect("backend");
            let t = min_time(reps, || assert!(sim.pi(&spec).expect("pi").hits[0] > 0));
            println!("W1 threaded2 {name:9} {t:8.4} s  {:.3e} pairs/s", 5e7 / t);
        }
    }
    if what == "w1k" {
        w1_variants(reps);
    }
    if want("w2") || want("w2p") {
        let spec =
            OuSpec { seed: 0, num_sim: 8, num_steps: 5_000_000, params: Default::default(), jax_key: None };
        for (name, sim) in &sims {
            if want("w2") {
                let mut x = vec![];
                let t = min_time(reps, || x = sim.ou_final(&spec).expect("ou"));
                let steps = (spec.num_sim * spec.num_steps) as f64;
                println!("W2b {name:9} {t:8.4} s  {:.3e} steps/s  x0={:e}", steps / t, x[0]);
            }
            ou_parallel(name, sim, &spec, reps);
        }
    }
    if want("w2path") {
        let spec =
            OuSpec { seed: 0, num_sim: 8, num_steps: 5_000_000, params: Default::default(), jax_key: None };
        let mut out = vec![0.0f64; spec.path_len().expect("len")];
        for (name, sim) in &sims {
            let t = min_time(reps, || sim.ou_path(&spec, &mut out).expect("path"));
            let steps = (spec.num_sim * spec.num_steps) as f64;
            println!("W2a {name:9} {t:8.4} s  {:.3e} steps/s  {:.2} GB/s", steps / t, 8.0 * steps / t / 1e9);
            for chunks in [16usize, 64] {
                let t =
                    min_time(reps, || sim.ou_path_parallel_in_time(&spec, &mut out, chunks).expect("path"));
                println!(
                    "W2a-pit {name:9} C={chunks:3} {t:8.4} s  {:.3e} steps/s  {:.2} GB/s",
                    steps / t,
                    8.0 * steps / t / 1e9
                );
            }
        }
    }
    if want("w4") {
        let spec = JansenRitSpec::with_size(0, 32, 64, 1024).expect("spec");
        for (name, sim) in sims.iter().skip(1) {
            let t = min_time(reps, || {
                sim.jansen_rit(&spec).expect("jr");
            });
            let ns = (spec.nn * spec.nt * spec.batch) as f64;
            println!("W4 {name:10} {t:8.4} s  {:.3e} node-steps/s", ns / t);
        }
    }
    if want("w5") {
        let spec = MprSpec::sweep_sized(0, 164, 450).expect("spec");
        for (name, sim) in sims.iter().skip(1) {
            let t = min_time(reps, || {
                sim.mpr(&spec).expect("mpr");
            });
            let ns = (spec.nn * spec.nt * spec.batch) as f64;
            println!("W5 {name:10} {t:8.4} s  {:.3e} node-steps/s", ns / t);
        }
    }
    if what == "jax" {
        jax_modes(&sims, reps);
    }
}

/// The JAX stream mode (`jax_key`, partitionable layout) of W1, W2 (b) and W4 at the
/// sizes of the Philox probes above.
fn jax_modes(sims: &[(&str, Simulator)], reps: usize) {
    let key = Some(JaxKey::new(0).expect("key"));
    let spec = PiSpec { seed: 0, pairs_per_estimate: 50_000, estimates: 1_000, jax_key: key };
    for (name, sim) in sims {
        let t = min_time(reps, || assert!(sim.pi(&spec).expect("pi").hits[0] > 0));
        println!("W1 jax {name:10} {t:8.4} s  {:.3e} pairs/s", 5e7 / t);
    }
    let spec = OuSpec { seed: 0, num_sim: 8, num_steps: 5_000_000, params: Default::default(), jax_key: key };
    for (name, sim) in sims {
        let t = min_time(reps, || assert!(sim.ou_final(&spec).expect("ou")[0].is_finite()));
        println!("W2 jax {name:10} {t:8.4} s  {:.3e} steps/s", 4e7 / t);
    }
    let spec = JansenRitSpec { jax_key: key, ..JansenRitSpec::with_size(0, 32, 64, 1024).expect("spec") };
    for (name, sim) in sims.iter().skip(1) {
        let t = min_time(reps, || {
            sim.jansen_rit(&spec).expect("jr");
        });
        let ns = (spec.nn * spec.nt * spec.batch) as f64;
        println!("W4 jax {name:10} {t:8.4} s  {:.3e} node-steps/s", ns / t);
    }
    // The legacy layout (`jax_threefry_partitionable=False`) on the SIMD backend.
    let legacy = key.map(|k| k.with_layout(Layout::Legacy));
    let (name, sim) = &sims[1];
    let spec = PiSpec { seed: 0, pairs_per_estimate: 50_000, estimates: 1_000, jax_key: legacy };
    let t = min_time(reps, || assert!(sim.pi(&spec).expect("pi").hits[0] > 0));
    println!("W1 jax legacy {name:10} {t:8.4} s  {:.3e} pairs/s", 5e7 / t);
    let spec =
        OuSpec { seed: 0, num_sim: 8, num_steps: 5_000_000, params: Default::default(), jax_key: legacy };
    let t = min_time(reps, || assert!(sim.ou_final(&spec).expect("ou")[0].is_finite()));
    println!("W2 jax legacy {name:10} {t:8.4} s  {:.3e} steps/s", 4e7 / t);
    let spec = JansenRitSpec { jax_key: legacy, ..JansenRitSpec::with_size(0, 32, 64, 1024).expect("spec") };
    let t = min_time(reps, || {
        sim.jansen_rit(&spec).expect("jr");
    });
    println!("W4 jax legacy {name:10} {t:8.4} s  {:.3e} node-steps/s", (32 * 64 * 1024) as f64 / t);
}

fn ou_parallel(name: &str, sim: &Simulator, spec: &OuSpec, reps: usize) {
    for chunks in [64usize, 256] {
        let mut x = vec![];
        let t = min_time(reps, || x = sim.ou_final_parallel_in_time(spec, chunks).expect("ou"));
        let steps = (spec.num_sim * spec.num_steps) as f64;
        println!("W2b-pit {name:9} C={chunks:4} {t:8.4} s  {:.3e} steps/s  x0={:e}", steps / t, x[0]);
    }
}

fn w1_variant<L: Real<Scalar = f32>, const K: usize>(label: &str, reps: usize) {
    let (pairs, n) = (50_000u64, 512u64);
    let mut tot = 0u64;
    let t = min_time(reps, || {
        tot = 0;
        for first in (0..n).step_by(L::LANES) {
            let h = pi_hits_interleaved::<L, K>(0, first, pairs);
            tot += (0..L::LANES).map(|l| u64::from(h.lane(l))).sum::<u64>();
        }
    });
    println!("W1 {label:12} K={K} {t:8.4} s  {:.3e} pairs/s (hits {tot})", (pairs * n) as f64 / t);
}

fn w1_variants(reps: usize) {
    w1_variant::<f32, 1>("f32", reps);
    w1_variant::<wide::f32x8, 1>("f32x8", reps);
    w1_variant::<wide::f32x8, 2>("f32x8", reps);
    w1_variant::<wide::f32x16, 1>("f32x16", reps);
    w1_variant::<wide::f32x16, 2>("f32x16", reps);
}

/// W3 validate at the seed sizes B1–B4: comparisons/s from the min wall time, and from the
/// min CPU time of all threads (the figure to compare across thread counts on a shared
/// machine).
fn w3(sims: &[(&str, Simulator)], reps: usize) {
    for (label, g, s, n) in [
        ("B1", 4096, 131_072, 1),
        ("B2", 2048, 131_072, 5),
        ("B3", 1024, 16_384, 150),
        ("B4", 1024, 8192, 350),
    ] {
        // θ in [0, 1): a fixed low-discrepancy fill (golden-ratio steps).
        let theta: Vec<f64> = (0..g * 4).map(|i| (i as f64 * 0.618_033_988_749_895).fract()).collect();
        let spec = BinomialSpec { seed: 0, theta, d: 4, n, sims: s, null_truth: None };
        let work = (g * s * n * 4) as f64;
        for (name, sim) in sims {
            let u = sim.binomial_fill_uniforms(0, s, n, 4).expect("fill");
            for (mode, uni) in [("fused", Uniforms::Fused), ("pregen", Uniforms::Pregenerated(&u))] {
                let mut r0 = 0;
                let (wall, cpu) =
                    min_time2(reps, || r0 = sim.binomial_validate(&spec, 0.5, uni).expect("w3")[0]);
                let (per_s, per_cpu_s) = (work / wall, work / cpu);
                print!("W3 {label} {mode:6} {name:10} {wall:7.4} s  {per_s:.3e} cmp/s  ");
                println!("cpu {cpu:7.4} s  {per_cpu_s:.3e} cmp/cpu-s  (rej[0] {r0})");
            }
        }
    }
}
