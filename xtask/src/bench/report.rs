//! The results: one [`Row`] per (workload, variant, backend, size), rendered as the
//! terminal table, the JSON document (schema below, kept exactly) and the Markdown report.
//!
//! JSON: `{machine: {cpu, cores, measured_peak_gbs, theoretical_peak_gbs,
//! fma_peak_gflops, gpu}, results: [{workload, variant, backend, threads, size, seconds,
//! throughput, unit, bytes_per_s, pct_measured_peak, pct_theoretical_peak, pct_fma_peak,
//! check}]}`, `null` where a figure does not apply or is unknown. `seconds` is the best
//! of the timed repeats (warm-up excluded); `throughput` is work / `seconds` in `unit`;
//! `bytes_per_s` is the row's byte model / `seconds`; percentages are 0–100:
//! `pct_measured_peak` against the measured ceiling of the row's kind of traffic (read,
//! write or copy, best over one and all threads; see [`super::machine`]), `pct_theoretical_peak`
//! against the theoretical DRAM peak, `pct_fma_peak` (flops / `seconds`) against the
//! machine's whole FMA peak (all cores, whatever the row's thread count). `check` is
//! `"pass"` or `"fail"`. GPU rows (`backend` `"gpu"`) use the GPU's BabelStream ceilings
//! and theoretical bandwidth instead ([`super::gpu_stream`]); when the GPU was measured
//! the document has a top-level `gpu_stream` object (its figures), else no such key; when
//! any row ran on the GPU, a top-level `gpu_goals` array ([`super::goals`]: `{name, target,
//! measured, verdict, detail}`).

use serde_json::{Value, json};

use super::machine::Machine;
use super::stream::Traffic;
use super::timing::Stats;

/// A workload's WORKLOADS.md check, computed from the outputs.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// Whether it held.
    pub pass: bool,
    /// What was compared, with the numbers.
    pub detail: String,
}

impl Check {
    /// A check with its detail.
    pub fn new(pass: bool, detail: impl Into<String>) -> Self {
        Self { pass, detail: detail.into() }
    }
}

/// One measured row.
#[derive(Debug, Clone)]
pub struct Row {
    /// `W1` … `W5`.
    pub workload: &'static str,
    /// Mode of the workload (e.g. `final`, `B3 fused`).
    pub variant: String,
    /// Backend name.
    pub backend: String,
    /// Threads the backend used.
    pub threads: usize,
    /// Sizes, e.g. `N=50000 I=10000`, with `(reduced)` when smaller than asked.
    pub size: String,
    /// Remarks shown in the Markdown report (e.g. why the size is reduced).
    pub note: Option<String>,
    /// Timing.
    pub stats: Stats,
    /// Work per run, in `unit` × seconds.
    pub work: f64,
    /// Throughput unit, e.g. `pairs/s`.
    pub unit: &'static str,
    /// Bytes per run by the workload's byte model, and their kind.
    pub bytes: Option<(f64, Traffic)>,
    /// f32/f64 flops per run, where the workload is compute-bound and counted.
    pub flops: Option<f64>,
    /// The workload's check.
    pub check: Check,
    /// W3 tiling sweep: (tile or batch size, label) for the sweep plot.
    pub tile: Option<usize>,
}

impl Row {
    /// work / best time.
    pub fn throughput(&self) -> f64 {
        self.work / self.stats.best
    }
    /// bytes / best time.
    pub fn bytes_per_s(&self) -> Option<f64> {
        self.bytes.map(|(b, _)| b / self.stats.best)
    }
    /// flops / best time.
    pub fn flops_per_s(&self) -> Option<f64> {
        self.flops.map(|f| f / self.stats.best)
    }
    /// % of the measured ceiling of this row's traffic kind.
    pub fn pct_measured(&self, m: &Machine) -> Option<f64> {
        let (b, t) = self.bytes?;
        // GPU rows against the GPU's own BabelStream ceilings (none measured: no figure).
        let ceiling = match (&m.gpu_stream, self.backend == "gpu") {
            (Some(g), true) => g.peak.of(t),
            (None, true) => return None,
            (_, false) => m.peak.of(t),
        };
        (ceiling > 0.0).then(|| 100.0 * b / self.stats.best / (ceiling * 1e9))
    }
    /// % of the theoretical DRAM peak.
    pub fn pct_theoretical(&self, m: &Machine) -> Option<f64> {
        let theoretical =
            if self.backend == "gpu" { m.gpu_stream.as_ref()?.theoretical_gbs } else { m.theoretical?.0 };
        Some(100.0 * self.bytes_per_s()? / (theoretical * 1e9))
    }
    /// % of the machine's FMA peak.
    pub fn pct_fma(&self, m: &Machine) -> Option<f64> {
        Some(100.0 * self.flops_per_s()? / (m.fma.peak_gflops * 1e9))
    }
}

/// The JSON document.
pub fn to_json(m: &Machine, rows: &[Row]) -> Value {
    let results: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "workload": r.workload,
                "variant": r.variant,
                "backend": r.backend,
                "threads": r.threads,
                "size": r.size,
                "seconds": r.stats.best,
                "throughput": r.throughput(),
                "unit": r.unit,
                "bytes_per_s": r.bytes_per_s(),
                "pct_measured_peak": r.pct_measured(m),
                "pct_theoretical_peak": r.pct_theoretical(m),
                "pct_fma_peak": r.pct_fma(m),
                "check": if r.check.pass { "pass" } else { "fail" },
            })
        })
        .collect();
    let mut doc = json!({
        "machine": {
            "cpu": m.cpu,
            "cores": m.cores,
            "measured_peak_gbs": m.measured_peak_gbs(),
            "theoretical_peak_gbs": m.theoretical.map(|t| t.0),
            "fma_peak_gflops": m.fma.peak_gflops,
            "gpu": m.gpu,
        },
        "results": results,
    });
    if let (Some(g), Some(obj)) = (&m.gpu_stream, doc.as_object_mut()) {
        obj.insert("gpu_stream".into(), super::gpu_stream::to_json(g));
    }
    let goals = super::goals::judge(m, rows);
    if let (false, Some(obj)) = (goals.is_empty(), doc.as_object_mut()) {
        obj.insert("gpu_goals".into(), super::goals::to_json(&goals));
    }
    doc
}

/// A figure to about 3 significant digits, in scientific notation when small, or `-`.
pub fn fig(x: Option<f64>) -> String {
    match x {
        None => "-".into(),
        Some(x) if x == 0.0 || x.abs() >= 0.1 => {
            format!("{x:.prec$}", prec = if x.abs() >= 100.0 { 0 } else { 2 })
        }
        Some(x) => format!("{x:.1e}"),
    }
}

/// A percentage, as [`fig`].
pub fn pct(x: Option<f64>) -> String {
    fig(x)
}

/// Which instruction set the kernels of this binary were compiled for, and whether the
/// running CPU has AVX-512 that this build leaves unused (README, "Target CPU"), from
/// [`simlanes::cpu::check_cpu`]: the features the build requires and the CPU's AVX-512F.
fn build_isa() -> String {
    let info = match simlanes::cpu::check_cpu() {
        Ok(info) => info,
        Err(e) => return format!("Kernels: {e}"),
    };
    let built = |f: &str| info.required.contains(&f);
    match (built("avx512f"), built("avx2"), info.avx512f) {
        (true, _, _) => {
            "Kernels built for x86-64-v4 (AVX-512: f32x16 and u32x16 are one zmm register)".into()
        }
        (false, true, true) => "Kernels built for x86-64-v3 (AVX2 + FMA); this CPU also has AVX-512, \
                                used only by an x86-64-v4 build (README, \"Target CPU\")"
            .into(),
        (false, true, false) => "Kernels built for x86-64-v3 (AVX2 + FMA)".into(),
        _ => "Kernels built without AVX2".into(),
    }
}

/// The machine summary, a few lines.
pub fn machine_summary(m: &Machine) -> String {
    let llc = m.llc.map_or_else(|| "unknown".into(), |(l, b)| format!("L{l} {} MiB", b >> 20));
    let theo = m.theoretical.map_or_else(
        || "unknown (give --theoretical-gbs)".to_string(),
        |(g, src)| format!("{g:.1} GB/s ({src})"),
    );
    let gpu =
        m.gpu_stream.as_ref().map_or_else(String::new, |g| format!("\n{}", super::gpu_stream::summary(g)));
    format!(
        "CPU: {} ({} logical CPUs; {} threads used), LLC {llc}, GPU: {}\n\
         {}\n\
         Measured bandwidth (GB/s, 1e9), {} MiB arrays, best of {} (run 1 dropped):\n\
         \x20 1 thread:   read {:.1}  write {:.1}  copy {:.1}\n\
         \x20 {} threads: read {:.1}  write {:.1}  copy {:.1}\n\
         \x20 measured peak (best of both): read {:.1}  write {:.1}  copy {:.1}  -> {:.1} GB/s\n\
         Theoretical DRAM peak: {theo}\n\
         FMA: clock {:.2} GHz (dependent chain, latency {} cycles), {}-bit: {} lanes x {} units,\n\
         \x20 peak {:.1} GFLOP/s f32 ({} cores); AVX2 peak {:.1}, AVX2 loop reached {:.1}{gpu}",
        m.cpu,
        m.cores,
        m.threads,
        m.gpu.as_deref().unwrap_or("none"),
        build_isa(),
        m.array_bytes >> 20,
        m.repeats - 1,
        m.one_thread.read,
        m.one_thread.write,
        m.one_thread.copy,
        m.threads,
        m.all_threads.read,
        m.all_threads.write,
        m.all_threads.copy,
        m.peak.read,
        m.peak.write,
        m.peak.copy,
        m.measured_peak_gbs(),
        m.fma.clock_ghz,
        m.fma.latency_cycles,
        m.fma.width_bits,
        m.fma.lanes,
        m.fma.units,
        m.fma.peak_gflops,
        m.fma.cores,
        m.fma.peak_avx2_gflops,
        m.fma.achieved_avx2_gflops,
    )
}

const HEADER: [&str; 13] = [
    "workload",
    "variant",
    "backend",
    "thr",
    "size",
    "best s",
    "median s",
    "throughput",
    "GB/s",
    "%meas",
    "%theo",
    "%FMA",
    "check",
];

fn cells(m: &Machine, r: &Row) -> [String; 13] {
    [
        r.workload.to_string(),
        r.variant.clone(),
        r.backend.clone(),
        r.threads.to_string(),
        r.size.clone(),
        format!("{:.4}", r.stats.best),
        format!("{:.4}", r.stats.median),
        format!("{:.3e} {}", r.throughput(), r.unit),
        fig(r.bytes_per_s().map(|b| b / 1e9)),
        pct(r.pct_measured(m)),
        pct(r.pct_theoretical(m)),
        pct(r.pct_fma(m)),
        if r.check.pass { "pass".into() } else { "FAIL".into() },
    ]
}

/// The terminal table.
pub fn table(m: &Machine, rows: &[Row]) -> String {
    let all: Vec<[String; 13]> = rows.iter().map(|r| cells(m, r)).collect();
    let mut width = HEADER.map(str::len);
    for c in &all {
        for (w, s) in width.iter_mut().zip(c) {
            *w = (*w).max(s.chars().count());
        }
    }
    let line = |c: &[String]| {
        c.iter()
            .zip(&width)
            .map(|(s, &w)| format!("{s:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = line(&HEADER.map(String::from));
    out.push('\n');
    out.push_str(&line(&width.map(|w| "-".repeat(w))));
    for c in &all {
        out.push('\n');
        out.push_str(&line(c));
    }
    out
}

/// Loud list of the failed checks (empty if none failed).
pub fn failures(rows: &[Row]) -> String {
    rows.iter()
        .filter(|r| !r.check.pass)
        .map(|r| {
            format!(
                "CHECK FAILED: {} {} on {} ({}): {}\n",
                r.workload, r.variant, r.backend, r.size, r.check.detail
            )
        })
        .collect()
}

/// The Markdown report (plots referenced by file name).
pub fn markdown(m: &Machine, rows: &[Row], plots: &[(&str, &str)], command: &str) -> String {
    let mut s = String::new();
    s.push_str("# simlanes benchmark report\n\n");
    s.push_str(&format!("Command: `{command}`\n\n## Machine\n\n```\n{}\n```\n\n", machine_summary(m)));
    s.push_str("### Memory bandwidth (BabelStream kernels)\n\n");
    s.push_str(
        "| kernel | type | threads | GB/s cached stores | GB/s non-temporal | reported | best s | mean s |\n",
    );
    s.push_str("|---|---|---|---|---|---|---|---|\n");
    for k in &m.stream {
        s.push_str(&format!(
            "| {} | {} | {} | {:.2} | {} | {:.2}{} | {:.5} | {:.5} |\n",
            k.kernel.name(),
            k.precision,
            k.threads,
            k.gbs_cached,
            k.gbs_nt.map_or_else(|| "-".into(), |g| format!("{g:.2}")),
            k.gbs(),
            if k.non_temporal { " (NT)" } else { "" },
            k.stats.best,
            k.stats.mean,
        ));
    }
    s.push_str("\n## Workloads\n\n");
    s.push_str(
        "Times are the best and median of the timed repeats (one warm-up run excluded). \
         `%meas` is against the measured ceiling of the row's traffic kind (bytes per the row's byte model; logical bytes can be served from cache and exceed 100 %), \
         `%FMA` against the whole machine's FMA peak.\n\n",
    );
    s.push_str(&format!("| {} | notes |\n|{}---|\n", HEADER.join(" | "), "---|".repeat(HEADER.len())));
    for r in rows {
        let c = cells(m, r);
        let mut notes = r.check.detail.clone();
        if let Some(n) = &r.note {
            notes = format!("{n}; {notes}");
        }
        if let Some((_, t)) = r.bytes {
            notes = format!("bytes: {}; {notes}", t.name());
        }
        if let Some(f) = r.flops_per_s() {
            notes = format!("{:.2} GFLOP/s; {notes}", f / 1e9);
        }
        s.push_str(&format!("| {} | {} |\n", c.join(" | "), notes.replace('|', "\\|")));
    }
    let goals = super::goals::summary(&super::goals::judge(m, rows));
    if !goals.is_empty() {
        s.push_str(&format!("\n## GPU speed goals\n\n```\n{goals}```\n"));
    }
    let failed = failures(rows);
    if !failed.is_empty() {
        s.push_str(&format!("\n## FAILED CHECKS\n\n```\n{failed}```\n"));
    }
    if !plots.is_empty() {
        s.push_str("\n## Plots\n\n");
        for (file, title) in plots {
            s.push_str(&format!("### {title}\n\n![{title}]({file})\n\n"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::super::{machine, plot, verify};
    use super::*;

    fn row(workload: &'static str, pass: bool, bytes: Option<(f64, Traffic)>, flops: Option<f64>) -> Row {
        Row {
            workload,
            variant: "v".into(),
            backend: "simd".into(),
            threads: 1,
            size: "n=1".into(),
            note: None,
            stats: Stats::of(&[0.5, 1.0]),
            work: 1e9,
            unit: "steps/s",
            bytes,
            flops,
            check: Check::new(pass, "detail"),
            tile: Some(256),
        }
    }

    #[test]
    fn figures_are_readable() {
        assert_eq!(fig(None), "-");
        assert_eq!(fig(Some(0.0)), "0.00");
        assert_eq!(fig(Some(12.345)), "12.35");
        assert_eq!(fig(Some(1234.5)), "1234");
        assert_eq!(fig(Some(0.00021)), "2.1e-4");
    }

    #[test]
    fn percentages_follow_the_documented_definitions() {
        let m = machine::fake();
        // 5e9 bytes in 0.5 s = 10 GB/s: 50 % of the 20 GB/s read ceiling, 25 % of 40 GB/s.
        let r = row("W3", true, Some((5e9, Traffic::Read)), Some(48e9));
        assert_eq!(r.throughput(), 2e9);
        assert!((r.pct_measured(&m).unwrap() - 50.0).abs() < 1e-9);
        assert!((r.pct_theoretical(&m).unwrap() - 25.0).abs() < 1e-9);
        // 96 GFLOP/s of 192.
        assert!((r.pct_fma(&m).unwrap() - 50.0).abs() < 1e-9);
        // Write traffic against the write ceiling (10 GB/s).
        let w = row("W2", true, Some((5e9, Traffic::Write)), None);
        assert!((w.pct_measured(&m).unwrap() - 100.0).abs() < 1e-9);
        assert_eq!(w.pct_fma(&m), None);
        let mut unknown = machine::fake();
        unknown.theoretical = None;
        assert_eq!(r.pct_theoretical(&unknown), None);
    }

    #[test]
    fn gpu_rows_use_the_gpu_stream_ceilings() {
        let mut m = machine::fake();
        let mut r = row("W3", true, Some((1e12, Traffic::Read)), None);
        r.backend = "gpu".into();
        // No GPU stream measured: no percentage rather than one against the CPU.
        assert_eq!((r.pct_measured(&m), r.pct_theoretical(&m)), (None, None));
        m.gpu_stream = Some(super::super::gpu_stream::fake());
        // 1e12 bytes in 0.5 s = 2000 GB/s: of the 3100 GB/s read ceiling and 3352 theoretical.
        assert!((r.pct_measured(&m).unwrap() - 100.0 * 2000.0 / 3100.0).abs() < 1e-9);
        assert!((r.pct_theoretical(&m).unwrap() - 100.0 * 2000.0 / 3352.0).abs() < 1e-9);
        // CPU rows are unchanged by a GPU measurement.
        let cpu = row("W3", true, Some((5e9, Traffic::Read)), None);
        assert!((cpu.pct_measured(&m).unwrap() - 50.0).abs() < 1e-9);
        let text = serde_json::to_string(&to_json(&m, &[r])).unwrap();
        assert_eq!(verify::verify_str(&text), Ok(1));
        assert!(machine_summary(&m).contains("GPU bandwidth (BabelStream on Test GPU"));
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["gpu_stream"]["theoretical_peak_gbs"], 3352.0);
    }

    #[test]
    fn json_has_the_schema_and_the_verifier_reads_it() {
        let m = machine::fake();
        let rows = vec![row("W1", true, None, None), row("W3", true, Some((1e9, Traffic::Read)), None)];
        let text = serde_json::to_string(&to_json(&m, &rows)).unwrap();
        assert_eq!(verify::verify_str(&text), Ok(2));
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["results"][0]["bytes_per_s"], Value::Null);
        assert_eq!(doc["results"][1]["bytes_per_s"], 2e9);
        assert_eq!(doc["machine"]["theoretical_peak_gbs"], 40.0);
        let failing = vec![row("W1", true, None, None), row("W4", false, None, Some(1e9))];
        let text = serde_json::to_string(&to_json(&m, &failing)).unwrap();
        assert!(verify::verify_str(&text).unwrap_err().contains("1 of 2 rows failed"));
        assert!(failures(&failing).contains("CHECK FAILED: W4"));
        assert!(table(&m, &failing).contains("FAIL"));
    }

    #[test]
    fn markdown_and_plots_are_written() {
        let m = machine::fake();
        let rows = vec![
            row("W3", true, Some((1e9, Traffic::Read)), Some(1e9)),
            row("W4", false, Some((1e6, Traffic::Copy)), Some(1e11)),
        ];
        let dir = std::env::temp_dir().join(format!("simlanes-bench-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        plot::roofline(&dir.join("roofline.svg"), &m, &rows).unwrap();
        assert!(plot::w3_tiles(&dir.join("w3.svg"), &rows).unwrap());
        assert!(!plot::w3_tiles(&dir.join("none.svg"), &rows[1..]).unwrap());
        let svg = std::fs::read_to_string(dir.join("roofline.svg")).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("GFLOP/s"), "{}", &svg[..200.min(svg.len())]);
        let md = markdown(&m, &rows, &[("roofline.svg", "Roofline")], "cargo xtask bench");
        assert!(md.contains("## FAILED CHECKS") && md.contains("![Roofline](roofline.svg)"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
