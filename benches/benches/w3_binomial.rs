//! W3 binomial rejection counting: comparisons per second (`Throughput::Elements` =
//! `G·S·n·d`) with fused uniforms, and bytes of uniforms read per second
//! (`Throughput::Bytes` = `4·G·S·n·d`) with pregenerated ones. B3's shape (`S = 16384,
//! n = 150`) on a 16-point grid.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use simlanes::workload::binomial::{BinomialSpec, Uniforms};
use simlanes_benches::{cpu_backends, simulator};
use std::hint::black_box;

fn binomial(c: &mut Criterion) {
    let (g, s, n, d) = (16usize, 16_384usize, 150usize, 4usize);
    let theta: Vec<f64> = (0..g * d).map(|j| (j as f64 * 0.618_033_988_7).fract()).collect();
    let spec = BinomialSpec { seed: 0, theta, d, n, sims: s, null_truth: None };
    let cmp = (g * s * n * d) as u64;
    let label = "G=16 S=16384 n=150";

    let mut grp = c.benchmark_group("w3_validate_fused");
    grp.sample_size(10);
    grp.throughput(Throughput::Elements(cmp));
    for b in cpu_backends() {
        let sim = simulator(b);
        grp.bench_function(BenchmarkId::new(b.name(), label), |bench| {
            bench.iter(|| sim.binomial_validate(black_box(&spec), 0.5, Uniforms::Fused))
        });
    }
    grp.finish();

    let mut grp = c.benchmark_group("w3_validate_pregen");
    grp.sample_size(10);
    grp.throughput(Throughput::Bytes(4 * cmp));
    for b in cpu_backends() {
        let sim = simulator(b);
        let u = sim.binomial_fill_uniforms(0, s, n, d).unwrap_or_else(|e| panic!("fill: {e}"));
        grp.bench_function(BenchmarkId::new(b.name(), label), |bench| {
            bench.iter(|| sim.binomial_validate(black_box(&spec), 0.5, Uniforms::Pregenerated(&u)))
        });
    }
    grp.finish();

    let mut grp = c.benchmark_group("w3_calibrate_fused");
    grp.sample_size(10);
    grp.throughput(Throughput::Elements(cmp));
    for b in cpu_backends() {
        let sim = simulator(b);
        grp.bench_function(BenchmarkId::new(b.name(), label), |bench| {
            bench.iter(|| sim.binomial_calibrate(black_box(&spec), 0.05, Uniforms::Fused))
        });
    }
    grp.finish();
}

criterion_group!(benches, binomial);
criterion_main!(benches);
