//! W5 Montbrio–Pazo–Roxin sweep: node-steps per second (`Throughput::Elements` =
//! `nn·nt·B`), the full 1152-member grid on a 32-node network (the seed's `nn = 164`
//! takes seconds per call; `cargo xtask bench` times that).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use simlanes::workload::mpr::MprSpec;
use simlanes_benches::{cpu_backends, simulator};
use std::hint::black_box;

fn mpr(c: &mut Criterion) {
    let mut g = c.benchmark_group("w5_mpr");
    g.sample_size(10);
    let spec = MprSpec::sweep_sized(0, 32, 450).unwrap_or_else(|e| panic!("spec: {e}"));
    g.throughput(Throughput::Elements((spec.nn * spec.nt * spec.batch) as u64));
    for b in cpu_backends() {
        let sim = simulator(b);
        g.bench_with_input(BenchmarkId::new(b.name(), "nn=32 nt=450 B=1152"), &spec, |bench, s| {
            bench.iter(|| sim.mpr(black_box(s)))
        });
    }
    g.finish();
}

criterion_group!(benches, mpr);
criterion_main!(benches);
