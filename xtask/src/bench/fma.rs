//! FMA peak: `cores × lanes × FMA units × 2 flops × clock`, every factor found at run time.
//!
//! * **clock** — a dependent chain of scalar FMAs (`x = x·a + b`, each waiting for the
//!   previous one) runs at one FMA per FMA *latency*; latency is 4 cycles on every
//!   x86-64-v3 core since Intel Skylake and on AMD Zen 1–5, 5 cycles on Intel
//!   Haswell/Broadwell (family 6, models 0x3C/3F/45/46/3D/47/4F/56, read from
//!   `/proc/cpuinfo`). `clock = FMAs × latency / seconds`. The loop counter and branch
//!   run beside the chain, so the chain alone sets the pace. The clock is measured with
//!   every thread of the pool running its own chain at once (the all-core clock,
//!   which is what a fully loaded machine runs at; one-thread turbo may be higher);
//! * **lanes** — 16 f32 lanes if the CPU has AVX-512F (`is_x86_feature_detected!`), else 8;
//! * **FMA units** — an independent-accumulator loop at that width (12 accumulators,
//!   enough to hide a 4-cycle latency on 2 pipes) gives FMA instructions per cycle on one
//!   core; rounded to the nearest integer (at least 1) that is the unit count. AMD Zen 4
//!   runs a 512-bit FMA on both 256-bit pipes, so it measures 1 unit at 512 bits and 2 at
//!   256: 16 lanes per cycle either way;
//! * **cores** — the threads of the measuring pool (one per core, pinned).
//!
//! Every loop is short (about a millisecond) and the best of many runs is kept: on a
//! machine shared with other work (or a VM with stolen time) some runs are preempted,
//! and the fastest run is the one that was not. A thread's CPU time (schedstat) is no
//! help here: Linux updates it at scheduler ticks, too coarse for millisecond loops.
//!
//! Our kernels are compiled for x86-64-v3 (AVX2), so the AVX2 peak
//! (`cores × 8 × units₂₅₆ × 2 × clock`) is reported too; it equals the headline figure on
//! machines that split AVX-512 into two halves.

use std::hint::black_box;
use std::time::Instant;

/// The FMA peak and how it was found.
#[derive(Debug, Clone, PartialEq)]
pub struct FmaPeak {
    /// Assumed FMA latency in cycles (see module docs).
    pub latency_cycles: u32,
    /// All-core clock measured by the dependent chain, GHz.
    pub clock_ghz: f64,
    /// Widest vector width detected, bits (256 or 512).
    pub width_bits: u32,
    /// f32 lanes at that width.
    pub lanes: u32,
    /// FMA units at that width (measured FMA instructions per cycle, rounded).
    pub units: u32,
    /// FMA instructions per cycle measured at 256 bits on one core: the fastest of the
    /// loop run alone and the same loop run on every core at once.
    pub ipc_256: f64,
    /// FMA instructions per cycle measured at 512 bits (one core), if AVX-512F exists.
    pub ipc_512: Option<f64>,
    /// Cores counted.
    pub cores: usize,
    /// `cores × lanes × units × 2 × clock`, GFLOP/s f32 (never below the AVX2 peak).
    pub peak_gflops: f64,
    /// The same peak for AVX2 code, GFLOP/s f32.
    pub peak_avx2_gflops: f64,
    /// f32 GFLOP/s reached by the 256-bit throughput loop on every core at once.
    pub achieved_avx2_gflops: f64,
}

/// FMA latency of the running CPU in cycles (see module docs).
pub fn fma_latency_cycles(cpuinfo: &str) -> u32 {
    let field = |name: &str| {
        cpuinfo.lines().find(|l| l.starts_with(name)).and_then(|l| l.split(':').nth(1)).map(str::trim)
    };
    let intel = field("vendor_id") == Some("GenuineIntel");
    let family = field("cpu family").and_then(|v| v.parse::<u32>().ok());
    let model = field("model").and_then(|v| v.parse::<u32>().ok());
    let haswell_broadwell = [0x3C, 0x3F, 0x45, 0x46, 0x3D, 0x47, 0x4F, 0x56];
    if intel && family == Some(6) && model.is_some_and(|m| haswell_broadwell.contains(&m)) { 5 } else { 4 }
}

/// Seconds taken by a chain of `n` dependent scalar FMAs.
fn chain_seconds(n: u64) -> f64 {
    let (a, b) = (black_box(0.999_999_9f32), black_box(1e-7f32));
    let mut x = black_box(0.5f32);
    let t = Instant::now();
    for _ in 0..n {
        x = x.mul_add(a, b);
    }
    let s = t.elapsed().as_secs_f64();
    black_box(x);
    s
}

/// Seconds for `n` rounds of 12 independent 256-bit FMA accumulators.
#[cfg(target_arch = "x86_64")]
// The intrinsics are safe calls when the build enables AVX2/FMA (x86-64-v3), unsafe ones
// otherwise: the `unsafe` blocks are needed in one build and not the other.
#[allow(unused_unsafe)]
fn tput_256(n: u64) -> f64 {
    use std::arch::x86_64::*;
    // SAFETY (every block here): AVX and FMA are present, checked by `measure`.
    let a = unsafe { _mm256_set1_ps(black_box(0.999_999_9)) };
    let b = unsafe { _mm256_set1_ps(black_box(1e-7)) };
    let mut acc = [unsafe { _mm256_set1_ps(black_box(0.5)) }; 12];
    let t = Instant::now();
    for _ in 0..n {
        for v in &mut acc {
            *v = unsafe { _mm256_fmadd_ps(*v, a, b) };
        }
    }
    let s = t.elapsed().as_secs_f64();
    black_box(acc);
    s
}

/// Seconds for `n` rounds of 12 independent 512-bit FMA accumulators.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn tput_512(n: u64) -> f64 {
    use std::arch::x86_64::*;
    let a = _mm512_set1_ps(black_box(0.999_999_9));
    let b = _mm512_set1_ps(black_box(1e-7));
    let mut acc = [_mm512_set1_ps(black_box(0.5)); 12];
    let t = Instant::now();
    for _ in 0..n {
        for v in &mut acc {
            *v = _mm512_fmadd_ps(*v, a, b);
        }
    }
    let s = t.elapsed().as_secs_f64();
    black_box(acc);
    s
}

#[cfg(not(target_arch = "x86_64"))]
fn tput_256(n: u64) -> f64 {
    let mut acc = [[0.5f32; 8]; 12];
    let t = Instant::now();
    for _ in 0..n {
        for v in &mut acc {
            for x in v.iter_mut() {
                *x = x.mul_add(0.999_999_9, 1e-7);
            }
        }
    }
    let s = t.elapsed().as_secs_f64();
    black_box(acc);
    s
}

fn has_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Measures the FMA peak on `pool` (one pinned thread per core). `scale` (0 < scale ≤ 1)
/// takes fewer runs for quick measurements; at 1 the whole takes a fraction of a second.
///
/// # Errors
/// The CPU lacks AVX2/FMA.
pub fn measure(pool: &rayon::ThreadPool, scale: f64) -> Result<FmaPeak, String> {
    super::stream::require_avx2_fma()?;
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let latency_cycles = fma_latency_cycles(&cpuinfo);
    let cores = pool.current_num_threads();
    let runs = ((60.0 * scale) as usize).max(15);
    let best_time = |f: &dyn Fn() -> f64| (0..runs).map(|_| f()).fold(f64::INFINITY, f64::min);
    // ~1 ms per run at 4 GHz: 1e6 cycles of 4-cycle FMAs.
    let chain_n = 250_000u64;
    // Best of the runs per thread, every thread at once; then the mean over threads.
    let per_thread: Vec<f64> = pool.broadcast(|_| {
        (chain_n * u64::from(latency_cycles)) as f64 / best_time(&|| chain_seconds(chain_n)) / 1e9
    });
    let clock_ghz = per_thread.iter().sum::<f64>() / per_thread.len() as f64;

    // 12 FMAs per round, ~0.5 ms per run.
    let tput_n = 150_000u64;
    let fmas = (12 * tput_n) as f64;
    let alone_256 = pool.install(|| fmas / best_time(&|| tput_256(tput_n)));
    #[cfg(target_arch = "x86_64")]
    // SAFETY: only called when the CPU reports AVX-512F.
    let ipc_512 = has_avx512()
        .then(|| pool.install(|| fmas / best_time(&|| unsafe { tput_512(tput_n) })) / (clock_ghz * 1e9));
    #[cfg(not(target_arch = "x86_64"))]
    let ipc_512: Option<f64> = None;
    let per_thread_256: Vec<f64> = pool.broadcast(|_| fmas / best_time(&|| tput_256(tput_n)));
    let achieved: f64 = per_thread_256.iter().sum();
    // The 256-bit loop ran alone and then on every thread at once: the same loop, so the
    // fastest of all those best runs is the one least disturbed by other work (a test
    // thread, or a VM neighbour on the same physical core, can halve one of them).
    let ipc_256 = per_thread_256.iter().copied().fold(alone_256, f64::max) / (clock_ghz * 1e9);

    let units_256 = (ipc_256.round() as u32).max(1);
    let (width_bits, lanes, units) = match ipc_512 {
        Some(ipc) => (512, 16, (ipc.round() as u32).max(1)),
        None => (256, 8, units_256),
    };
    let peak = |lanes: u32, units: u32| cores as f64 * f64::from(lanes * units) * 2.0 * clock_ghz;
    // AVX2 code runs on an AVX-512 machine too, so the widest peak is never below the
    // AVX2 one (a disturbed 512-bit measurement must not make it so).
    let peak_avx2_gflops = peak(8, units_256);
    Ok(FmaPeak {
        latency_cycles,
        clock_ghz,
        width_bits,
        lanes,
        units,
        ipc_256,
        ipc_512,
        cores,
        peak_gflops: peak(lanes, units).max(peak_avx2_gflops),
        peak_avx2_gflops,
        achieved_avx2_gflops: achieved * 8.0 * 2.0 / 1e9,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_table() {
        let hsw = "vendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 63\n";
        assert_eq!(fma_latency_cycles(hsw), 5);
        let skx = "vendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\n";
        assert_eq!(fma_latency_cycles(skx), 4);
        assert_eq!(fma_latency_cycles("vendor_id : AuthenticAMD\ncpu family : 25\nmodel : 17\n"), 4);
        assert_eq!(fma_latency_cycles(""), 4);
    }

    #[test]
    fn measured_peak_is_plausible() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let p = measure(&pool, 0.05).unwrap();
        // Any machine this runs on clocks between 0.5 and 7 GHz and has 1–4 FMA units.
        assert!((0.5..7.0).contains(&p.clock_ghz), "{p:?}");
        assert!((1..=4).contains(&p.units), "{p:?}");
        assert!(p.peak_gflops >= p.peak_avx2_gflops, "{p:?}");
        // The unit count is the best measured IPC rounded, and the achieved loop is one of
        // the measurements, so achieved per core ≤ (units + ½) FMAs per cycle: this holds
        // however noisy the machine, and fails if the peak is built from a worse run.
        let units_256 = f64::from((p.ipc_256.round() as u32).max(1));
        let bound = p.peak_avx2_gflops * (units_256 + 0.5) / units_256;
        assert!(p.achieved_avx2_gflops <= bound * (1.0 + 1e-12), "{p:?}");
    }
}
