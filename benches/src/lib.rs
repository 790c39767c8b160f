//! Criterion benchmarks of the simlanes kernels live in `benches/benches/`, one file per
//! workload group (`cargo bench -p simlanes-benches`); this library holds what they
//! share. `cargo xtask bench` is the full report (machine peaks, checks, JSON); these
//! are the statistically careful timings of the same calls, for spotting regressions.

use simlanes::Backend;
use simlanes::simulator::ThreadConfig;

/// Every CPU backend: scalar, SIMD and threaded (one pinned worker per logical CPU).
pub fn cpu_backends() -> Vec<Backend> {
    vec![Backend::Scalar, Backend::Simd, Backend::Threaded(ThreadConfig::default().pinned())]
}

/// A simulator on `b`; benchmarks cannot run without one, so failure stops them.
pub fn simulator(b: Backend) -> simlanes::Simulator {
    simlanes::Simulator::new(b).unwrap_or_else(|e| panic!("backend {}: {e}", b.name()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_cpu_backend_starts() {
        for b in super::cpu_backends() {
            assert_eq!(super::simulator(b).backend(), b);
        }
    }
}
