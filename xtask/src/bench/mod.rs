//! `cargo xtask bench`: measures the machine, then runs every workload of
//! `WORKLOADS.md` on every available backend and reports throughput and utilisation.
//!
//! 1. **Machine** ([`machine`]): BabelStream-style bandwidth ([`stream`]) on one thread
//!    and on all threads, the theoretical DRAM peak (option or table, never guessed)
//!    and the f32 FMA peak with a measured clock ([`fma`]).
//! 2. **Workload rows** ([`workloads`]): W1–W5 at `--size quick|seed|sweep` on each
//!    backend; best and median time of the repeats (warm-up excluded), throughput in the
//!    workload's unit, bytes per a byte model written beside each workload's rows,
//!    flops where counted, and the workload's check computed from its outputs.
//! 3. **Report** ([`report`], [`plot`]): terminal table (with a progress bar while it
//!    runs), `--json PATH`, `--out DIR` (Markdown + SVG roofline and W3 tile sweep); when
//!    the GPU ran, its speed goals judged from the same rows ([`goals`]).
//!
//! A failed check is printed loudly and the command exits with status 1 (2 on errors).
//! `--verify PATH` only checks a JSON report (CI: `cargo xtask bench --quick --json
//! out.json && cargo xtask bench --verify out.json`).

pub mod fma;
pub mod goals;
pub mod gpu_stream;
pub mod machine;
pub mod plot;
pub mod report;
pub mod stream;
pub mod timing;
pub mod verify;
pub mod workloads;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};

use workloads::{Size, Workload};

/// Options of `cargo xtask bench`.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Same as `--size quick`: small sizes that finish in under a minute on 2 cores.
    #[arg(long, conflicts_with = "size")]
    pub quick: bool,
    /// Problem sizes: `quick`, `seed` (WORKLOADS.md's seed sizes) or `sweep`.
    #[arg(long, value_parser = parse_size)]
    pub size: Option<Size>,
    /// Workloads to run, comma-separated (`w1`..`w5`, or `pi`, `ou`, `binomial`,
    /// `jansen-rit`, `mpr`); default all.
    #[arg(long, value_delimiter = ',', value_parser = parse_workload)]
    pub workload: Vec<Workload>,
    /// Backends to run, comma-separated; default every available one.
    #[arg(long, value_delimiter = ',', value_parser = workloads::parse_backend)]
    pub backend: Vec<simlanes::Backend>,
    /// Threads for the all-threads measurements and the threaded backend (default: all
    /// logical CPUs).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub threads: Option<u32>,
    /// The machine's theoretical DRAM bandwidth in GB/s (1e9), if known; otherwise a
    /// small table of known CPUs is consulted, else it is reported as unknown.
    #[arg(long, allow_negative_numbers = true)]
    pub theoretical_gbs: Option<f64>,
    /// Write the results as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write a Markdown report and SVG plots into this directory.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Seed of every workload's random streams.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Only check a JSON report written by `--json` (schema, and every check "pass").
    #[arg(long, value_name = "PATH")]
    pub verify: Option<PathBuf>,
}

fn parse_size(s: &str) -> Result<Size, String> {
    Size::parse(s).ok_or_else(|| format!("unknown size `{s}`; valid: quick, seed, sweep"))
}

fn parse_workload(s: &str) -> Result<Workload, String> {
    Workload::parse(s).ok_or_else(|| {
        let valid: Vec<String> =
            Workload::ALL.iter().map(|w| format!("{} ({})", w.id().to_lowercase(), w.name())).collect();
        format!("unknown workload `{s}`; valid: {}", valid.join(", "))
    })
}

/// Fails now, before any measurement, if `path` cannot be written. A file created by
/// the probe is removed again.
fn probe_file(path: &Path) -> Result<(), String> {
    let existed = path.exists();
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    if !existed {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

fn probe_dir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    probe_file(&dir.join(".simlanes-bench-probe"))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Runs the benchmark (or, with `--verify`, checks a report).
pub fn run(args: BenchArgs) -> Result<ExitCode, String> {
    if let Some(path) = &args.verify {
        return match verify::verify_file(path) {
            Ok(n) => {
                println!("{}: {n} rows, every check passed", path.display());
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("VERIFY FAILED: {}: {e}", path.display());
                Ok(ExitCode::FAILURE)
            }
        };
    }
    if let Some(g) = args.theoretical_gbs
        && !(g.is_finite() && g > 0.0)
    {
        return Err(format!("--theoretical-gbs must be a positive number of GB/s, got {g}"));
    }
    if let Some(p) = &args.json {
        probe_file(p)?;
    }
    if let Some(d) = &args.out {
        probe_dir(d)?;
    }
    let size = if args.quick { Size::Quick } else { args.size.unwrap_or(Size::Seed) };
    let all_cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = args.threads.map_or(all_cpus, |t| t as usize);
    let chosen_workloads =
        if args.workload.is_empty() { Workload::ALL.to_vec() } else { args.workload.clone() };
    let backends: Vec<simlanes::Backend> = if args.backend.is_empty() {
        workloads::available_backends(threads)
    } else {
        args.backend.iter().map(|&b| workloads::with_threads(b, threads)).collect()
    };
    // A backend asked for by name that cannot run here (no GPU) fails before the run.
    for &b in &backends {
        workloads::usable(b)?;
    }

    println!(
        "simlanes bench {} — size {}, workloads {}, backends {}, {threads} threads, seed {}",
        env!("CARGO_PKG_VERSION"),
        size.name(),
        chosen_workloads.iter().map(|w| w.id()).collect::<Vec<_>>().join(","),
        backends.iter().map(|b| b.name()).collect::<Vec<_>>().join(","),
        args.seed,
    );

    let quick = size == Size::Quick;
    let thread_counts = if threads > 1 { 2 } else { 1 };
    let machine_ticks = machine::measure_ticks(machine::stream_repeats(quick), thread_counts);
    let jobs = (chosen_workloads.len() * backends.len()) as u64;
    let pb = ProgressBar::new(machine_ticks + jobs);
    pb.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb.set_message("machine: bandwidth and FMA peak");
    let mut m = machine::measure(threads, quick, args.theoretical_gbs, &|| pb.inc(1))?;
    if backends.iter().any(|b| matches!(b, simlanes::Backend::Gpu { .. })) {
        pb.set_message("machine: GPU bandwidth");
        m.gpu_stream = Some(gpu_stream::measure(machine::stream_repeats(quick))?);
    }
    pb.set_position(machine_ticks);
    pb.println(report::machine_summary(&m));

    let ctx = workloads::Ctx { size, seed: args.seed, quick };
    let mut rows = Vec::new();
    for w in &chosen_workloads {
        for &b in &backends {
            pb.set_message(format!("{} {} on {}", w.id(), w.name(), b.name()));
            let new = workloads::run(*w, b, &ctx);
            for r in &new {
                if !r.check.pass {
                    pb.println(format!(
                        "CHECK FAILED: {} {} on {}: {}",
                        r.workload, r.variant, r.backend, r.check.detail
                    ));
                }
            }
            rows.extend(new);
            pb.inc(1);
        }
    }
    pb.finish_and_clear();

    println!("\n{}", report::machine_summary(&m));
    println!("\n{}", report::table(&m, &rows));
    let gpu_goals = goals::summary(&goals::judge(&m, &rows));
    if !gpu_goals.is_empty() {
        println!("\n{gpu_goals}");
    }
    if rows.is_empty() {
        println!("(no workload rows: none of the chosen workloads is available on the chosen backends yet)");
    }

    if let Some(p) = &args.json {
        let text = serde_json::to_string_pretty(&report::to_json(&m, &rows)).map_err(|e| e.to_string())?;
        write(p, &text)?;
        println!("\nJSON written to {}", p.display());
    }
    if let Some(dir) = &args.out {
        let mut plots = Vec::new();
        plot::roofline(&dir.join("roofline.svg"), &m, &rows)?;
        plots.push(("roofline.svg", "Roofline"));
        if plot::w3_tiles(&dir.join("w3_tiles.svg"), &rows)? {
            plots.push(("w3_tiles.svg", "W3 tile-size sweep"));
        }
        let command: Vec<String> = std::env::args().skip(1).collect();
        let md = report::markdown(&m, &rows, &plots, &format!("cargo xtask {}", command.join(" ")));
        write(&dir.join("report.md"), &md)?;
        println!("Report written to {}", dir.join("report.md").display());
    }

    let failed = report::failures(&rows);
    if failed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("\n{}", "!".repeat(72));
        eprint!("{failed}");
        eprintln!("{}", "!".repeat(72));
        Ok(ExitCode::FAILURE)
    }
}
