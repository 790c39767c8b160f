//! W1 Monte Carlo π: pairs per second (`Throughput::Elements` = pairs), every CPU backend.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use simlanes::workload::pi::PiSpec;
use simlanes_benches::{cpu_backends, simulator};
use std::hint::black_box;

fn pi(c: &mut Criterion) {
    let mut g = c.benchmark_group("w1_pi");
    g.sample_size(10);
    let spec = PiSpec { seed: 0, pairs_per_estimate: 50_000, estimates: 64, jax_key: None };
    g.throughput(Throughput::Elements(spec.pairs_per_estimate * spec.estimates as u64));
    for b in cpu_backends() {
        let sim = simulator(b);
        g.bench_with_input(BenchmarkId::new(b.name(), "N=50000 I=64"), &spec, |bench, s| {
            bench.iter(|| sim.pi(black_box(s)))
        });
    }
    g.finish();
}

criterion_group!(benches, pi);
criterion_main!(benches);
