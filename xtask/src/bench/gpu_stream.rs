//! The GPU's memory bandwidth for `cargo xtask bench`: BabelStream on the device
//! ([`simlanes::backend::gpu::Gpu::babel_stream`], f32 and f64, three arrays of
//! [`ARRAY_BYTES`] each, run 1 dropped, gold-checked) beside the theoretical figure
//! ([`simlanes::backend::gpu::DeviceInfo::theoretical_bandwidth`]).
//!
//! Why: the GPU rows' "% of measured peak" must be against the GPU's own ceiling, not the
//! CPU's. The measured GPU peak per traffic kind (read = Dot, write = Fill, copy = best of
//! Copy, Scale, Add, Triad, over f32 and f64) is used for GPU rows exactly as the CPU
//! ceilings are for CPU rows, and their "% of theoretical" is against the device's
//! theoretical bandwidth. Measured only when the GPU backend is among the benchmarked
//! ones and opens; otherwise nothing is printed and no CPU figure changes.

use simlanes::backend::gpu::Gpu;
use simlanes::backend::gpu::babelstream::{StreamKernel, StreamResult};

use super::machine::Ceilings;
use super::stream::Traffic;

/// Bytes per array (2^28 = 256 MiB: five times the 50 MB L2 of an H100).
pub const ARRAY_BYTES: usize = 1 << 28;

/// What was measured on the GPU.
#[derive(Debug, Clone)]
pub struct GpuStream {
    /// Device name.
    pub name: String,
    /// Theoretical bandwidth, GB/s (1e9).
    pub theoretical_gbs: f64,
    /// Bytes per array.
    pub array_bytes: usize,
    /// Iterations (run 1 dropped).
    pub repeats: usize,
    /// Every kernel, f32 then f64.
    pub results: Vec<StreamResult>,
    /// The measured ceilings (`threads` = the device's resident threads).
    pub peak: Ceilings,
}

fn traffic(k: StreamKernel) -> Traffic {
    match k.traffic() {
        "read" => Traffic::Read,
        "write" => Traffic::Write,
        _ => Traffic::Copy,
    }
}

/// The best figure of each traffic kind.
pub fn ceilings(threads: usize, results: &[StreamResult]) -> Ceilings {
    let best = |t: Traffic| {
        results.iter().filter(|r| traffic(r.kernel) == t).map(StreamResult::gbs).fold(0.0, f64::max)
    };
    Ceilings { threads, read: best(Traffic::Read), write: best(Traffic::Write), copy: best(Traffic::Copy) }
}

/// Runs BabelStream on GPU 0 with `repeats` iterations.
///
/// # Errors
/// The GPU's error (no device, out of memory, failed gold check) as text.
pub fn measure(repeats: usize) -> Result<GpuStream, String> {
    let gpu = Gpu::new(0).map_err(|e| e.to_string())?;
    let mut results = gpu.babel_stream::<f32>(ARRAY_BYTES, repeats).map_err(|e| e.to_string())?;
    results.extend(gpu.babel_stream::<f64>(ARRAY_BYTES, repeats).map_err(|e| e.to_string())?);
    let info = gpu.info();
    let threads = info.multiprocessors as usize * 2048;
    Ok(GpuStream {
        name: info.name.clone(),
        theoretical_gbs: info.theoretical_bandwidth() / 1e9,
        array_bytes: ARRAY_BYTES,
        repeats,
        peak: ceilings(threads, &results),
        results,
    })
}

/// A few lines for the terminal and the Markdown report.
pub fn summary(g: &GpuStream) -> String {
    let mut s = format!(
        "GPU bandwidth (BabelStream on {}, GB/s, 1e9), {} MiB arrays, best of {} (run 1 dropped):\n",
        g.name,
        g.array_bytes >> 20,
        g.repeats - 1
    );
    for prec in ["f32", "f64"] {
        let figs: Vec<String> = g
            .results
            .iter()
            .filter(|r| r.precision == prec)
            .map(|r| format!("{} {:.1}", r.kernel.name(), r.gbs()))
            .collect();
        s += &format!("  {prec}: {}\n", figs.join("  "));
    }
    let best = g.peak.read.max(g.peak.write).max(g.peak.copy);
    s += &format!(
        "  measured peak: read {:.1}  write {:.1}  copy {:.1}  -> {:.1} GB/s = {:.1} % of the theoretical {:.1} GB/s",
        g.peak.read,
        g.peak.write,
        g.peak.copy,
        best,
        100.0 * best / g.theoretical_gbs,
        g.theoretical_gbs
    );
    s
}

/// The `gpu_stream` object of the JSON report.
pub fn to_json(g: &GpuStream) -> serde_json::Value {
    let kernels: Vec<serde_json::Value> = g
        .results
        .iter()
        .map(|r| {
            serde_json::json!({
                "kernel": r.kernel.name(),
                "precision": r.precision,
                "gbs": r.gbs(),
                "best_seconds": r.best_s(),
            })
        })
        .collect();
    serde_json::json!({
        "gpu": g.name,
        "array_bytes": g.array_bytes,
        "measured_peak_gbs": g.peak.read.max(g.peak.write).max(g.peak.copy),
        "read_gbs": g.peak.read,
        "write_gbs": g.peak.write,
        "copy_gbs": g.peak.copy,
        "theoretical_peak_gbs": g.theoretical_gbs,
        "kernels": kernels,
    })
}

/// A GPU stream with made-up figures, for tests of the report.
#[cfg(test)]
pub fn fake() -> GpuStream {
    let r = |kernel, gbs: f64| StreamResult {
        kernel,
        precision: "f32",
        bytes: kernel.arrays() * 1_000_000_000,
        times_s: vec![kernel.arrays() as f64 / gbs],
    };
    let results = vec![
        r(StreamKernel::Fill, 2000.0),
        r(StreamKernel::Copy, 3000.0),
        r(StreamKernel::Triad, 2900.0),
        r(StreamKernel::Dot, 3100.0),
    ];
    GpuStream {
        name: "Test GPU".into(),
        theoretical_gbs: 3352.0,
        array_bytes: ARRAY_BYTES,
        repeats: 4,
        peak: ceilings(1, &results),
        results,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_pick_the_best_of_each_kind() {
        let g = fake();
        assert!((g.peak.read - 3100.0).abs() < 1e-9);
        assert!((g.peak.write - 2000.0).abs() < 1e-9);
        assert!((g.peak.copy - 3000.0).abs() < 1e-9);
        let s = summary(&g);
        assert!(s.contains("Test GPU") && s.contains("92.5 % of the theoretical 3352.0"), "{s}");
        assert_eq!(to_json(&g)["kernels"].as_array().map(Vec::len), Some(4));
    }
}
