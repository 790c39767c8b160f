//! W4 Jansen–Rit network: node-steps per second (`Throughput::Elements` = `nn·nt·B`),
//! instantaneous and delayed (W4d) coupling, at the seed size and at a wider batch.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use simlanes::workload::jansen_rit::JansenRitSpec;
use simlanes_benches::{cpu_backends, simulator};
use std::hint::black_box;

fn jansen_rit(c: &mut Criterion) {
    for delayed in [false, true] {
        let mut g = c.benchmark_group(if delayed { "w4_jansen_rit_delayed" } else { "w4_jansen_rit" });
        g.sample_size(10);
        for (nn, nt, batch) in [(32usize, 1024usize, 8usize), (32, 128, 256)] {
            let spec = JansenRitSpec::with_size(0, nn, nt, batch)
                .and_then(|s| if delayed { s.with_default_lags() } else { Ok(s) })
                .unwrap_or_else(|e| panic!("spec: {e}"));
            g.throughput(Throughput::Elements((nn * nt * batch) as u64));
            for b in cpu_backends() {
                let sim = simulator(b);
                g.bench_with_input(
                    BenchmarkId::new(b.name(), format!("nn={nn} nt={nt} B={batch}")),
                    &spec,
                    |bench, s| bench.iter(|| sim.jansen_rit(black_box(s))),
                );
            }
        }
        g.finish();
    }
}

criterion_group!(benches, jansen_rit);
criterion_main!(benches);
