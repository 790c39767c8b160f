//! What the machine can do: CPU, caches, measured bandwidth ceilings (see [`super::stream`]),
//! the theoretical DRAM bandwidth and the FMA peak (see [`super::fma`]).
//!
//! **Measured peak.** The best Read (Dot, Sum), Write (Fill) and Copy (Copy, Scale,
//! Add, Triad) figures over f32 and f64 and over one and all threads are the measured
//! ceilings; a
//! workload row's bandwidth is compared with the ceiling of its own kind of traffic.
//! The JSON's single `measured_peak_gbs` is the largest of the three.
//!
//! **Theoretical peak.** `--theoretical-gbs` if given, else the table below (channels ×
//! MT/s × 8 bytes, the socket's DRAM peak, matched on the CPU model name), else unknown
//! (`null` in the JSON): it is never guessed. In a VM (like the 2-vCPU dev machine, whose
//! CPU calls itself just "AMD EPYC") the socket's peak is not what the guest can reach.

use super::fma::{self, FmaPeak};
use super::stream::{self, Kernel, KernelResult, StreamConfig, Traffic};

/// Known CPUs: (model-name substring, channels, MT/s). Socket DRAM peak =
/// channels × MT/s × 8 bytes. Sources: the vendors' product pages.
pub const KNOWN_CPUS: &[(&str, u32, u32)] = &[
    ("EPYC 9654", 12, 4800),
    ("EPYC 9554", 12, 4800),
    ("EPYC 9454", 12, 4800),
    ("EPYC 9354", 12, 4800),
    ("EPYC 9R14", 12, 4800),
    ("EPYC 7763", 8, 3200),
    ("EPYC 7713", 8, 3200),
    ("EPYC 7B13", 8, 3200),
    ("EPYC 7742", 8, 3200),
    ("EPYC 7R32", 8, 3200),
    ("Xeon(R) Platinum 8480", 8, 4800),
    ("Xeon(R) Platinum 8380", 8, 3200),
    ("Xeon(R) Platinum 8375C", 8, 3200),
    ("Xeon(R) Platinum 8275CL", 6, 2933),
    ("Ryzen 9 7950X", 2, 5200),
    ("Core(TM) i9-13900K", 2, 5600),
];

/// Socket DRAM peak of a known CPU, GB/s.
pub fn known_theoretical_gbs(model: &str) -> Option<f64> {
    KNOWN_CPUS
        .iter()
        .find(|(name, _, _)| model.contains(name))
        .map(|&(_, ch, mts)| f64::from(ch) * f64::from(mts) * 8.0 / 1e3)
}

/// The CPU model name from `/proc/cpuinfo` text.
pub fn cpu_model(cpuinfo: &str) -> String {
    cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or_else(|| "unknown".to_string(), |s| s.trim().to_string())
}

/// Size in bytes of a `/sys` cache size string (`"32768K"`, `"1M"`).
pub fn parse_cache_size(s: &str) -> Option<usize> {
    let s = s.trim();
    let (num, mult) = match s.as_bytes().last()? {
        b'K' => (&s[..s.len() - 1], 1 << 10),
        b'M' => (&s[..s.len() - 1], 1 << 20),
        b'G' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<usize>().ok().map(|n| n * mult)
}

/// The largest data or unified cache of CPU 0 (`/sys/devices/system/cpu/cpu0/cache`):
/// (level, bytes). `None` if the files are missing.
pub fn last_level_cache() -> Option<(u32, usize)> {
    let dir = std::fs::read_dir("/sys/devices/system/cpu/cpu0/cache").ok()?;
    dir.filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("index"))
        .filter_map(|e| {
            let read = |f: &str| std::fs::read_to_string(e.path().join(f)).ok();
            if read("type")?.trim() == "Instruction" {
                return None;
            }
            Some((read("level")?.trim().parse().ok()?, parse_cache_size(&read("size")?)?))
        })
        .max_by_key(|&(level, size)| (level, size))
}

/// A rayon pool of `threads` threads, thread `i` pinned to core `i % cores`.
pub fn pinned_pool(threads: usize) -> Result<rayon::ThreadPool, String> {
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .start_handler(move |i| {
            if !cores.is_empty() {
                // Pinning is best effort: a refused pin leaves the thread floating.
                let _ = core_affinity::set_for_current(cores[i % cores.len()]);
            }
        })
        .build()
        .map_err(|e| format!("cannot start {threads} threads: {e}"))
}

/// The GPU's name from `nvidia-smi`, if there is one.
pub fn gpu_name() -> Option<String> {
    let out = std::process::Command::new("nvidia-smi")
        .args(["--query-gpu=name", "--format=csv,noheader"])
        .output()
        .ok()?;
    let name = String::from_utf8_lossy(&out.stdout).lines().next()?.trim().to_string();
    (out.status.success() && !name.is_empty()).then_some(name)
}

/// Bandwidth ceilings of one thread count, GB/s.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ceilings {
    /// Threads.
    pub threads: usize,
    /// Best of Dot and Sum.
    pub read: f64,
    /// Fill.
    pub write: f64,
    /// Best of Copy, Scale, Add, Triad.
    pub copy: f64,
}

impl Ceilings {
    /// From the kernel results of one thread count.
    pub fn from_results(threads: usize, results: &[KernelResult]) -> Self {
        let best = |t: Traffic| {
            results
                .iter()
                .filter(|r| r.threads == threads && r.kernel.traffic() == t)
                .map(KernelResult::gbs)
                .fold(0.0, f64::max)
        };
        Self { threads, read: best(Traffic::Read), write: best(Traffic::Write), copy: best(Traffic::Copy) }
    }

    /// The ceiling for traffic of kind `t`.
    pub fn of(&self, t: Traffic) -> f64 {
        match t {
            Traffic::Read => self.read,
            Traffic::Write => self.write,
            Traffic::Copy => self.copy,
        }
    }

    /// The largest of the three.
    pub fn max(&self) -> f64 {
        self.read.max(self.write).max(self.copy)
    }
}

/// Everything measured about the machine.
#[derive(Debug, Clone)]
pub struct Machine {
    /// CPU model name.
    pub cpu: String,
    /// Logical CPUs available to this process.
    pub cores: usize,
    /// Threads used for the all-threads measurements.
    pub threads: usize,
    /// Last-level cache (level, bytes), if known.
    pub llc: Option<(u32, usize)>,
    /// Bytes per stream array.
    pub array_bytes: usize,
    /// Stream iterations (run 1 dropped).
    pub repeats: usize,
    /// Every kernel result.
    pub stream: Vec<KernelResult>,
    /// One-thread ceilings.
    pub one_thread: Ceilings,
    /// All-threads ceilings.
    pub all_threads: Ceilings,
    /// The measured peak: the best of the one-thread and all-threads figures of each kind.
    pub peak: Ceilings,
    /// Theoretical DRAM peak, GB/s, and where it came from.
    pub theoretical: Option<(f64, &'static str)>,
    /// FMA peak.
    pub fma: FmaPeak,
    /// GPU name, if any.
    pub gpu: Option<String>,
    /// The GPU's BabelStream, when the GPU backend is benchmarked (GPU rows use its
    /// ceilings; see [`super::gpu_stream`]).
    pub gpu_stream: Option<super::gpu_stream::GpuStream>,
}

impl Machine {
    /// The measured peak: the largest ceiling.
    pub fn measured_peak_gbs(&self) -> f64 {
        self.peak.max()
    }
}

/// Stream iterations per kernel (run 1 dropped): fewer for quick runs.
pub fn stream_repeats(quick: bool) -> usize {
    if quick { 4 } else { 10 }
}

/// Steps [`measure`] reports through `tick`.
pub fn measure_ticks(repeats: usize, thread_counts: usize) -> u64 {
    let per_run = Kernel::ALL.iter().map(|k| if k.writes() { 2 } else { 1 }).sum::<usize>() * repeats;
    (2 * thread_counts * per_run + 1) as u64
}

/// Measures the machine with `threads` threads (and with one). `quick` shortens the
/// repeats and the FMA loops (the arrays keep their size: smaller would measure cache).
pub fn measure(
    threads: usize,
    quick: bool,
    theoretical_arg: Option<f64>,
    tick: &dyn Fn(),
) -> Result<Machine, String> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpu_model(&cpuinfo);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let llc = last_level_cache();
    // At least 4× the LLC per array and at least 64 MiB (if the LLC is unknown).
    let array_bytes = llc.map_or(0, |(_, b)| 4 * b).max(64 << 20);
    let repeats = stream_repeats(quick);
    let cfg = StreamConfig { array_bytes, repeats };

    let mut thread_counts = vec![1];
    if threads > 1 {
        thread_counts.push(threads);
    }
    let mut results = Vec::new();
    for &t in &thread_counts {
        let pool = pinned_pool(t)?;
        results.extend(stream::run::<f32>(&pool, cfg, tick)?);
        results.extend(stream::run::<f64>(&pool, cfg, tick)?);
    }
    let fma = fma::measure(&pinned_pool(threads)?, if quick { 0.25 } else { 1.0 })?;
    tick();

    let one_thread = Ceilings::from_results(1, &results);
    let all_threads = Ceilings::from_results(threads, &results);
    // The measured peak is the best figure seen: on a busy machine all threads can
    // measure less than one.
    let peak = Ceilings {
        threads,
        read: all_threads.read.max(one_thread.read),
        write: all_threads.write.max(one_thread.write),
        copy: all_threads.copy.max(one_thread.copy),
    };
    let theoretical = match theoretical_arg {
        Some(g) => Some((g, "--theoretical-gbs")),
        None => known_theoretical_gbs(&cpu).map(|g| (g, "table of known CPUs")),
    };
    Ok(Machine {
        cpu,
        cores,
        threads,
        llc,
        array_bytes,
        repeats,
        stream: results,
        one_thread,
        all_threads,
        peak,
        theoretical,
        fma,
        gpu: gpu_name(),
        gpu_stream: None,
    })
}

/// A machine with made-up figures, for tests of the report.
#[cfg(test)]
pub fn fake() -> Machine {
    let c = |threads, g| Ceilings { threads, read: g, write: g / 2.0, copy: g * 0.75 };
    Machine {
        cpu: "Test CPU".into(),
        cores: 2,
        threads: 2,
        llc: Some((3, 32 << 20)),
        array_bytes: 128 << 20,
        repeats: 4,
        stream: Vec::new(),
        one_thread: c(1, 10.0),
        all_threads: c(2, 20.0),
        peak: c(2, 20.0),
        theoretical: Some((40.0, "--theoretical-gbs")),
        fma: FmaPeak {
            latency_cycles: 4,
            clock_ghz: 3.0,
            width_bits: 256,
            lanes: 8,
            units: 2,
            ipc_256: 2.0,
            ipc_512: None,
            cores: 2,
            peak_gflops: 192.0,
            peak_avx2_gflops: 192.0,
            achieved_avx2_gflops: 150.0,
        },
        gpu: None,
        gpu_stream: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_sizes_parse() {
        assert_eq!(parse_cache_size("32768K\n"), Some(32 << 20));
        assert_eq!(parse_cache_size("2M"), Some(2 << 20));
        assert_eq!(parse_cache_size("512"), Some(512));
        assert_eq!(parse_cache_size("x"), None);
    }

    #[test]
    fn theoretical_table_matches_model_names_and_never_guesses() {
        let g = known_theoretical_gbs("AMD EPYC 9654 96-Core Processor").unwrap();
        assert!((g - 460.8).abs() < 1e-9);
        assert_eq!(known_theoretical_gbs("AMD EPYC"), None);
        assert_eq!(cpu_model("processor : 0\nmodel name\t: AMD EPYC\n"), "AMD EPYC");
        assert_eq!(cpu_model(""), "unknown");
    }

    #[test]
    fn ceilings_pick_the_best_of_each_kind() {
        let k = |kernel, threads, gbs| KernelResult {
            kernel,
            precision: "f32",
            threads,
            non_temporal: false,
            gbs_cached: gbs,
            gbs_nt: None,
            stats: super::super::timing::Stats::of(&[1.0]),
        };
        let r = [
            k(Kernel::Dot, 2, 10.0),
            k(Kernel::Sum, 2, 12.0),
            k(Kernel::Fill, 2, 5.0),
            k(Kernel::Triad, 2, 8.0),
        ];
        let c = Ceilings::from_results(2, &r);
        assert_eq!((c.read, c.write, c.copy, c.max()), (12.0, 5.0, 8.0, 12.0));
        assert_eq!(c.of(Traffic::Write), 5.0);
        assert_eq!(Ceilings::from_results(1, &r).max(), 0.0);
    }
}
