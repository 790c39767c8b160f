//! W2 Ornstein–Uhlenbeck: steps per second (`Throughput::Elements`) for the final-state
//! mode, and bytes per second (`Throughput::Bytes`) for the modes that stream memory —
//! the full path (bytes written) and caller-supplied normals (bytes read).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use simlanes::workload::ou::{OuParams, OuSpec};
use simlanes_benches::{cpu_backends, simulator};
use std::hint::black_box;

fn ou(c: &mut Criterion) {
    let spec = OuSpec { seed: 0, num_sim: 8, num_steps: 250_000, params: OuParams::default(), jax_key: None };
    let steps = (spec.num_sim * spec.num_steps) as u64;
    let label = "steps=250000 sims=8";

    let mut g = c.benchmark_group("w2_ou_final");
    g.sample_size(10);
    g.throughput(Throughput::Elements(steps));
    for b in cpu_backends() {
        let sim = simulator(b);
        g.bench_with_input(BenchmarkId::new(b.name(), label), &spec, |bench, s| {
            bench.iter(|| sim.ou_final(black_box(s)))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("w2_ou_path");
    g.sample_size(10);
    let len = (spec.num_steps + 1) * spec.num_sim;
    g.throughput(Throughput::Bytes(8 * len as u64));
    let mut out = vec![0.0f64; len];
    for b in cpu_backends() {
        let sim = simulator(b);
        g.bench_function(BenchmarkId::new(b.name(), label), |bench| {
            bench.iter(|| sim.ou_path(black_box(&spec), &mut out))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("w2_ou_normals");
    g.sample_size(10);
    let z: Vec<f64> = (0..spec.num_steps * spec.num_sim).map(|i| ((i % 7) as f64 - 3.0) * 0.5).collect();
    g.throughput(Throughput::Bytes(8 * z.len() as u64));
    for b in cpu_backends() {
        let sim = simulator(b);
        g.bench_function(BenchmarkId::new(b.name(), label), |bench| {
            bench.iter(|| sim.ou_with_normals(black_box(&spec), black_box(&z)))
        });
    }
    g.finish();
}

criterion_group!(benches, ou);
criterion_main!(benches);
