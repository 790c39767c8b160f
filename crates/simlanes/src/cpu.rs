//! Run-time CPU checks and a short description of the machine.
//!
//! The host build targets x86-64-v3 (`.cargo/config.toml`): AVX2, FMA, BMI2 and friends
//! are compiled in unconditionally, because FMA is what makes `wide`'s `mul_add` give the
//! scalar bits. A CPU without them would die of SIGILL somewhere deep in a kernel. The
//! opt-in x86-64-v4 build (`RUSTFLAGS="-C target-cpu=x86-64-v4"`: AVX-512 F/BW/CD/DQ/VL
//! on top) is checked the same way, its AVX-512 features included.
//! [`check_cpu`] compares what the build assumed (`cfg!(target_feature = …)`) with what
//! the running CPU reports (`is_x86_feature_detected!`) and returns a clear
//! [`SimError::UnsupportedCpu`] instead. Binaries call it first thing in `main` (before
//! any kernel; the check itself is plain code, though the compiler may already use VEX
//! encodings there, so it is a best effort, not a guarantee).
//!
//! [`CpuInfo`] also carries what the benchmark report prints about the machine: model
//! name, core count, AVX-512 presence and cache sizes (read from `/proc` and `/sys` on
//! Linux; `None` where not available), and the default tile size of
//! [`crate::Backend::Threaded`] is derived from the L2 size.

use crate::error::SimError;
use std::sync::OnceLock;

/// What [`check_cpu`] found out about the running machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuInfo {
    /// Model name (`/proc/cpuinfo`'s "model name"), or `"unknown"`.
    pub model: String,
    /// Logical CPUs this process may use (`std::thread::available_parallelism`).
    pub logical_cpus: usize,
    /// Whether the CPU has AVX-512F (used only by an x86-64-v4 build, see the README's
    /// "Target CPU" section; reported for context).
    pub avx512f: bool,
    /// The instruction-set features this build requires, all present.
    pub required: Vec<&'static str>,
    /// L1 data cache per core, bytes.
    pub l1d_bytes: Option<usize>,
    /// L2 cache per core, bytes.
    pub l2_bytes: Option<usize>,
    /// Last-level (L3) cache, bytes.
    pub l3_bytes: Option<usize>,
}

impl std::fmt::Display for CpuInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kib = |b: Option<usize>| b.map_or_else(|| "?".to_string(), |b| format!("{} KiB", b / 1024));
        write!(
            f,
            "{} ({} logical CPUs; AVX-512F {}; L1d {}, L2 {}, L3 {}; build requires {})",
            self.model,
            self.logical_cpus,
            if self.avx512f { "yes" } else { "no" },
            kib(self.l1d_bytes),
            kib(self.l2_bytes),
            kib(self.l3_bytes),
            self.required.join(", "),
        )
    }
}

/// Features the build was compiled with, paired with whether the running CPU has them.
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
fn feature_table() -> Vec<(&'static str, bool)> {
    let mut v = Vec::new();
    macro_rules! check {
        ($($f:tt),*) => {$(
            if cfg!(target_feature = $f) {
                v.push(($f, std::arch::is_x86_feature_detected!($f)));
            }
        )*};
    }
    check!(
        "sse2", "sse3", "ssse3", "sse4.1", "sse4.2", "popcnt", "avx", "avx2", "fma", "bmi1", "bmi2", "lzcnt",
        "movbe", "f16c", "xsave", "avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"
    );
    v
}

#[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
fn feature_table() -> Vec<(&'static str, bool)> {
    Vec::new()
}

#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
fn has_avx512f() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
}

#[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
fn has_avx512f() -> bool {
    false
}

/// Checks that the running CPU has every instruction-set feature this binary was compiled
/// to use, and describes the machine.
///
/// # Errors
/// [`SimError::UnsupportedCpu`] naming the missing features.
pub fn check_cpu() -> Result<CpuInfo, SimError> {
    let table = feature_table();
    let missing: Vec<&'static str> = table.iter().filter(|(_, ok)| !ok).map(|(f, _)| *f).collect();
    if !missing.is_empty() {
        return Err(SimError::UnsupportedCpu { missing });
    }
    let caches = caches();
    Ok(CpuInfo {
        model: model_name().unwrap_or_else(|| "unknown".to_string()),
        logical_cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        avx512f: has_avx512f(),
        required: table.into_iter().map(|(f, _)| f).collect(),
        l1d_bytes: caches.l1d,
        l2_bytes: caches.l2,
        l3_bytes: caches.l3,
    })
}

/// Cache sizes of CPU 0, bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Caches {
    l1d: Option<usize>,
    l2: Option<usize>,
    l3: Option<usize>,
}

fn caches() -> Caches {
    let mut c = Caches::default();
    let base = std::path::Path::new("/sys/devices/system/cpu/cpu0/cache");
    let Ok(dir) = std::fs::read_dir(base) else { return c };
    for entry in dir.flatten() {
        let p = entry.path();
        let read = |name: &str| std::fs::read_to_string(p.join(name)).ok();
        let (Some(level), Some(kind), Some(size)) = (read("level"), read("type"), read("size")) else {
            continue;
        };
        let size = parse_size(&size);
        match (level.trim(), kind.trim()) {
            ("1", "Data") => c.l1d = size,
            ("2", "Unified") => c.l2 = size,
            ("3", "Unified") => c.l3 = size,
            _ => {}
        }
    }
    c
}

/// L2 cache size per core in bytes, read once (`None` where `/sys` does not say).
pub fn l2_bytes() -> Option<usize> {
    static L2: OnceLock<Option<usize>> = OnceLock::new();
    *L2.get_or_init(|| caches().l2)
}

/// Parses sysfs cache sizes such as `"32K"`, `"1024K"`, `"32M"` or `"512"` (bytes).
fn parse_size(s: &str) -> Option<usize> {
    let s = s.trim();
    let (num, mult) = match s.as_bytes().last()? {
        b'K' | b'k' => (&s[..s.len() - 1], 1024),
        b'M' | b'm' => (&s[..s.len() - 1], 1024 * 1024),
        b'G' | b'g' => (&s[..s.len() - 1], 1024 * 1024 * 1024),
        _ => (s, 1),
    };
    num.trim().parse::<usize>().ok()?.checked_mul(mult)
}

fn model_name() -> Option<String> {
    let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    parse_model_name(&text)
}

fn parse_model_name(cpuinfo: &str) -> Option<String> {
    cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_machine_passes_the_check() {
        // Dev and CI machines are x86-64-v3 by project rule; a failure here means the
        // build flags and the machine disagree, which is exactly what the check is for.
        let info = check_cpu().expect("the build machine must run its own binaries");
        assert!(info.logical_cpus >= 1);
        if cfg!(target_arch = "x86_64") {
            assert!(info.required.contains(&"fma"), "x86_64 builds must require FMA: {info}");
            assert!(info.required.contains(&"avx2"), "x86_64 builds must require AVX2: {info}");
        }
        assert!(!info.to_string().is_empty());
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("32K\n"), Some(32 * 1024));
        assert_eq!(parse_size("1024K"), Some(1 << 20));
        assert_eq!(parse_size("32M"), Some(32 << 20));
        assert_eq!(parse_size("512"), Some(512));
        assert_eq!(parse_size(""), None);
        assert_eq!(parse_size("xK"), None);
    }

    #[test]
    fn model_name_parses() {
        let text =
            "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 9654 96-Core\nflags: x\n";
        assert_eq!(parse_model_name(text).as_deref(), Some("AMD EPYC 9654 96-Core"));
        assert_eq!(parse_model_name("flags: x"), None);
    }

    #[test]
    fn missing_features_are_a_typed_error() {
        let e = SimError::UnsupportedCpu { missing: vec!["fma"] };
        assert!(e.to_string().contains("fma"));
    }
}
