//! `simlanes`: validate and calibrate a trial design over a grid of parameter values.
//!
//! A thin shell over `simlanes::calibration`: it reads the grid from CSV, checks every
//! input (naming the row or the flag at fault, exit code 2), runs the engine with a
//! progress bar on stderr, and writes CSV or JSON — to a temporary file renamed into place,
//! so an output file is either complete or absent.

use clap::{Args, Parser, Subcommand, ValueEnum};
use simlanes::calibration::binomial::{BinomialModel, Counting};
use simlanes::calibration::two_arm_z::TwoArmZModel;
use simlanes::calibration::{self, Calibration, Grid, Model, Tiling, Validation};
use simlanes::workload::binomial::Uniforms;
use simlanes::workload::jax::{JaxKey, Layout};
use simlanes::{Backend, Simulator, ThreadConfig};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const ABOUT: &str = "Type I error and threshold calibration of a trial design over a parameter grid.

Each row of the grid CSV is one parameter point (a scenario). At every point where the null
hypothesis holds, K virtual trials are simulated; trial s uses the same random numbers at every
point (common random numbers). A trial rejects when its test statistic T is below the
threshold lambda (lower T = more evidence against the null).

  validate   For a given lambda: the number of rejecting trials, the type I error estimate
             count/K and its one-sided (1 - delta) Clopper-Pearson upper bound, per point.
  calibrate  For a target level alpha: per point the threshold lambda* = the m-th smallest T,
             m = max(floor((K+1) alpha), 1), and the overall minimum (the threshold that keeps
             the estimated type I error at or below alpha at every point of the grid).

Models (--model):
  binomial  d arms, n patients per arm, response probability p = expit(theta) per arm;
            T = (total responders) / (n d). Grid columns: theta0, theta1, ... (every column
            whose name starts with \"theta\", in file order; d = their number). Every point is
            null unless a column `null` says otherwise.
  ztest     two arms, n patients each, normal outcomes with unit variance; T = -z,
            z = (mean_treatment - mean_control) / sqrt(2/n). Grid columns: mu_control,
            mu_treatment. Null where mu_treatment <= mu_control (or as a `null` column says).

An optional column `null` (true/false, 1/0, yes/no) overrides the null hypothesis per point.
Other columns are ignored. Exit codes: 0 success, 2 bad input, 1 other failures.";

#[derive(Parser, Debug)]
#[command(name = "simlanes", version, about = "Validate and calibrate trial designs over parameter grids", long_about = ABOUT)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Type I error at every grid point for a given threshold lambda.
    Validate {
        /// Rejection threshold: a trial rejects when T < lambda (rounded to f32).
        #[arg(long, allow_negative_numbers = true)]
        lambda: f64,
        /// One minus the confidence level of the Clopper-Pearson upper bound.
        #[arg(long, default_value_t = 0.01, allow_negative_numbers = true)]
        delta: f64,
        #[command(flatten)]
        common: Common,
    },
    /// Threshold lambda* per grid point for a target type I error alpha, and its minimum.
    Calibrate {
        /// Target type I error level.
        #[arg(long, default_value_t = 0.025, allow_negative_numbers = true)]
        alpha: f64,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum ModelKind {
    /// Binomial design, grid columns theta0..theta{d-1}.
    Binomial,
    /// Two-arm z-test, grid columns mu_control, mu_treatment.
    Ztest,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    /// One row per grid point, with a header.
    Csv,
    /// One JSON object with the settings and a `points` array.
    Json,
}

#[derive(Args, Debug)]
struct Common {
    /// Grid CSV: a header row naming the columns, then one row per parameter point.
    #[arg(long)]
    grid: PathBuf,
    /// The design to simulate.
    #[arg(long, value_enum, default_value_t = ModelKind::Binomial)]
    model: ModelKind,
    /// Patients per arm.
    #[arg(short, long, default_value_t = 350)]
    n: usize,
    /// Number of simulated trials K per grid point.
    #[arg(short = 'K', long = "sims", default_value_t = 8192)]
    sims: usize,
    /// Random seed (trial s uses random stream s of this seed).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Binomial: draw the uniforms as JAX does instead, exactly
    /// jax.random.uniform(jax.random.key(JAX_KEY), (K, n, d)) (trial s reads row s), so that
    /// the counts equal those of the same computation in JAX. Generated as needed, never
    /// stored. Replaces --seed.
    #[arg(long, allow_negative_numbers = true, conflicts_with = "seed")]
    jax_key: Option<i64>,
    /// With --jax-key: the layout of jax_threefry_partitionable=False (older JAX).
    #[arg(long, requires = "jax_key")]
    jax_legacy: bool,
    /// Worker threads (default: all CPUs).
    #[arg(long)]
    threads: Option<usize>,
    /// Grid points per work tile (default: autotuned when the run is large, else 1024).
    #[arg(long)]
    grid_tile: Option<usize>,
    /// Trials per work tile (default: autotuned when the run is large, else 1024).
    #[arg(long)]
    sim_tile: Option<usize>,
    /// Binomial: always count every comparison (by default the sorted method is used from
    /// n = 5 on, for tiles of 96 points or more; the results are identical, only the
    /// speed differs).
    #[arg(long)]
    brute_force: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    format: Format,
    /// Output file (written completely or not at all); default: standard output.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// No progress bar or summary on stderr.
    #[arg(short, long)]
    quiet: bool,
}

/// Why the run failed; `Input` errors exit with code 2.
#[derive(Debug)]
enum CliError {
    Input(String),
    Other(String),
}

impl From<simlanes::SimError> for CliError {
    fn from(e: simlanes::SimError) -> Self {
        CliError::Input(e.to_string())
    }
}

/// The grid as read from CSV.
struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

fn read_table(path: &Path) -> Result<Table, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Input(format!("cannot read grid file {}: {e}", path.display())))?;
    // Spreadsheet programs often save CSV with a UTF-8 byte order mark: it is not part of
    // the first column's name.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let split = |l: &str| l.split(',').map(|f| f.trim().to_string()).collect::<Vec<_>>();
    let (_, head) = lines
        .next()
        .ok_or_else(|| CliError::Input(format!("grid file {} is empty (no header row)", path.display())))?;
    let header = split(head);
    let mut rows = Vec::new();
    for (i, line) in lines {
        let row = split(line);
        if row.len() != header.len() {
            return Err(CliError::Input(format!(
                "grid row {} (line {}) has {} fields, the header has {}",
                rows.len() + 1,
                i + 1,
                row.len(),
                header.len()
            )));
        }
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(CliError::Input(format!("grid file {} has a header but no points", path.display())));
    }
    Ok(Table { header, rows })
}

/// The model's coordinate columns, in order.
fn coordinate_columns(t: &Table, model: ModelKind) -> Result<Vec<usize>, CliError> {
    let find = |name: &str| {
        t.header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| CliError::Input(format!("grid has no column `{name}` (needed by --model ztest)")))
    };
    match model {
        ModelKind::Binomial => {
            let cols: Vec<usize> =
                (0..t.header.len()).filter(|&c| t.header[c].starts_with("theta")).collect();
            if cols.is_empty() {
                return Err(CliError::Input(
                    "grid has no theta column (--model binomial needs columns theta0, theta1, ...)".into(),
                ));
            }
            Ok(cols)
        }
        ModelKind::Ztest => Ok(vec![find("mu_control")?, find("mu_treatment")?]),
    }
}

fn parse_grid(t: &Table, cols: &[usize]) -> Result<Grid, CliError> {
    let mut values = Vec::with_capacity(t.rows.len() * cols.len());
    for (r, row) in t.rows.iter().enumerate() {
        for &c in cols {
            let v: f64 = row[c].parse().map_err(|_| {
                CliError::Input(format!(
                    "grid row {}: column `{}` is not a number: {:?}",
                    r + 1,
                    t.header[c],
                    row[c]
                ))
            })?;
            if !v.is_finite() {
                return Err(CliError::Input(format!(
                    "grid row {}: column `{}` is {v}; every coordinate must be a finite number",
                    r + 1,
                    t.header[c]
                )));
            }
            values.push(v);
        }
    }
    let mut grid = Grid::new(cols.len(), values)?;
    if let Some(nc) = t.header.iter().position(|h| h == "null") {
        let flags = t
            .rows
            .iter()
            .enumerate()
            .map(|(r, row)| match row[nc].to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Ok(true),
                "false" | "0" | "no" => Ok(false),
                other => Err(CliError::Input(format!(
                    "grid row {}: column `null` must be true/false, 1/0 or yes/no, got {other:?}",
                    r + 1
                ))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        grid = grid.with_null(flags)?;
    }
    Ok(grid)
}

fn open_unit(name: &str, v: f64) -> Result<(), CliError> {
    if v > 0.0 && v < 1.0 {
        Ok(())
    } else {
        Err(CliError::Input(format!("--{name} must lie strictly between 0 and 1, got {v}")))
    }
}

fn check_common(c: &Common) -> Result<(), CliError> {
    if c.sims == 0 {
        return Err(CliError::Input("--sims (K) must be at least 1".into()));
    }
    if c.n == 0 {
        return Err(CliError::Input("-n (patients per arm) must be at least 1".into()));
    }
    if c.threads == Some(0) {
        return Err(CliError::Input("--threads must be at least 1".into()));
    }
    if c.grid_tile == Some(0) || c.sim_tile == Some(0) {
        return Err(CliError::Input("--grid-tile and --sim-tile must be at least 1".into()));
    }
    Ok(())
}

enum Outcome {
    Validated(Validation),
    Calibrated(Calibration),
}

/// Runs the engine for one model with a progress bar and the tile shape chosen (when
/// autotuned, on `tuner`: the model itself, or a fused copy of a model whose uniforms are
/// tied to K).
fn execute<M: Model>(
    model: &M,
    tuner: &M,
    grid: &Grid,
    command: &Command,
    common: &Common,
    sim: &Simulator,
) -> Result<Outcome, CliError> {
    let nulls = grid.null_flags(model).iter().filter(|&&b| b).count() as u64;
    let total = nulls.saturating_mul(common.sims as u64);
    let tiling = match (common.grid_tile, common.sim_tile) {
        (Some(g), Some(s)) => Tiling::new(g, s),
        (g, s) if total >= 50_000_000 && nulls > 0 => {
            let (best, _) = calibration::tune::autotune(sim, tuner, grid, 2048.min(common.sims))?;
            Tiling::new(g.unwrap_or(best.grid_tile), s.unwrap_or(best.sim_tile))
        }
        (g, s) => {
            let d = Tiling::default();
            Tiling::new(g.unwrap_or(d.grid_tile), s.unwrap_or(d.sim_tile))
        }
    };
    let bar = if common.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        let b =
            indicatif::ProgressBar::with_draw_target(Some(total), indicatif::ProgressDrawTarget::stderr());
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {percent}% ({per_sec} trial-points, eta {eta})",
        ) {
            b.set_style(style);
        }
        b
    };
    let progress = |k: u64| bar.inc(k);
    let out = match command {
        Command::Validate { lambda, delta, .. } => Outcome::Validated(calibration::validate_with_progress(
            sim,
            model,
            grid,
            *lambda,
            *delta,
            common.sims,
            tiling,
            Some(&progress),
        )?),
        Command::Calibrate { alpha, .. } => Outcome::Calibrated(calibration::calibrate_with_progress(
            sim,
            model,
            grid,
            *alpha,
            common.sims,
            tiling,
            Some(&progress),
        )?),
    };
    bar.finish_and_clear();
    Ok(out)
}

fn render(out: &Outcome, t: &Table, cols: &[usize], format: Format, model: &str) -> String {
    let names: Vec<&str> = cols.iter().map(|&c| t.header[c].as_str()).collect();
    let mut s = String::new();
    match (out, format) {
        (Outcome::Validated(v), Format::Csv) => {
            let _ = writeln!(s, "{},null,count,rate,upper", names.join(","));
            for (row, p) in t.rows.iter().zip(&v.points) {
                let coords: Vec<&str> = cols.iter().map(|&c| row[c].as_str()).collect();
                let _ = writeln!(s, "{},{},{},{:e},{:e}", coords.join(","), p.null, p.count, p.rate, p.upper);
            }
        }
        (Outcome::Calibrated(c), Format::Csv) => {
            let _ = writeln!(s, "{},null,lambda_star", names.join(","));
            for (row, l) in t.rows.iter().zip(&c.lambda) {
                let coords: Vec<&str> = cols.iter().map(|&c| row[c].as_str()).collect();
                let _ = writeln!(s, "{},{},{}", coords.join(","), !l.is_nan(), l);
            }
        }
        (Outcome::Validated(v), Format::Json) => {
            let points: Vec<_> = t
                .rows
                .iter()
                .zip(&v.points)
                .map(|(row, p)| {
                    serde_json::json!({
                        "point": coords_json(row, cols, &names),
                        "null": p.null, "count": p.count, "rate": p.rate, "upper": p.upper,
                    })
                })
                .collect();
            let doc = serde_json::json!({
                "command": "validate", "model": model, "sims": v.sims, "lambda": v.lambda,
                "delta": v.delta, "points": points,
            });
            s = serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n";
        }
        (Outcome::Calibrated(c), Format::Json) => {
            let num = |x: f32| if x.is_nan() { serde_json::Value::Null } else { serde_json::json!(x) };
            let points: Vec<_> = t
                .rows
                .iter()
                .zip(&c.lambda)
                .map(|(row, &l)| {
                    serde_json::json!({
                        "point": coords_json(row, cols, &names), "null": !l.is_nan(), "lambda_star": num(l),
                    })
                })
                .collect();
            let doc = serde_json::json!({
                "command": "calibrate", "model": model, "sims": c.sims, "alpha": c.alpha, "rank": c.rank,
                "min_lambda_star": num(c.min_lambda), "argmin_row": c.argmin.map(|g| g + 1), "points": points,
            });
            s = serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n";
        }
    }
    s
}

fn coords_json(row: &[String], cols: &[usize], names: &[&str]) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    for (&c, &name) in cols.iter().zip(names) {
        m.insert(name.to_string(), serde_json::json!(row[c].parse::<f64>().unwrap_or(f64::NAN)));
    }
    serde_json::Value::Object(m)
}

/// Where the output goes: a regular file (new or existing) is written through a temporary
/// file in its directory and a rename, so it is complete or absent; a symlink is followed
/// (its target is replaced, the link stays); anything else that exists — a FIFO, a device
/// such as `/dev/stdout` — is written in place, since renaming over it would replace the
/// node itself.
enum Destination {
    Atomic { file: PathBuf, tmp: PathBuf },
    InPlace(PathBuf),
}

impl Destination {
    /// Resolves `path` and, for a regular file, checks now — before any computation —
    /// that its directory takes the temporary file.
    fn new(path: &Path) -> Result<Self, CliError> {
        let fail = |e: std::io::Error| CliError::Other(format!("cannot write {}: {e}", path.display()));
        let file = match std::fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(path).map_err(fail)?,
            _ => path.to_path_buf(),
        };
        if let Ok(m) = std::fs::metadata(&file) {
            if m.is_dir() {
                return Err(CliError::Other(format!("cannot write {}: it is a directory", path.display())));
            }
            if !m.is_file() {
                return Ok(Self::InPlace(file));
            }
        }
        let dir = file.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
        let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
        std::fs::write(&tmp, "").map_err(fail)?;
        let _ = std::fs::remove_file(&tmp);
        Ok(Self::Atomic { file, tmp })
    }

    fn write(&self, text: &str) -> Result<(), CliError> {
        let (file, res) = match self {
            Self::Atomic { file, tmp } => {
                let res = std::fs::write(tmp, text).and_then(|()| std::fs::rename(tmp, file));
                if res.is_err() {
                    let _ = std::fs::remove_file(tmp);
                }
                (file, res)
            }
            Self::InPlace(file) => (file, std::fs::write(file, text)),
        };
        res.map_err(|e| CliError::Other(format!("cannot write {}: {e}", file.display())))
    }
}

fn run(cli: Cli) -> Result<(), CliError> {
    simlanes::cpu::check_cpu().map_err(|e| CliError::Other(e.to_string()))?;
    let common = match &cli.command {
        Command::Validate { lambda, delta, common } => {
            if lambda.is_nan() {
                return Err(CliError::Input("--lambda must be a number, got NaN".into()));
            }
            open_unit("delta", *delta)?;
            common
        }
        Command::Calibrate { alpha, common } => {
            open_unit("alpha", *alpha)?;
            common
        }
    };
    check_common(common)?;
    let table = read_table(&common.grid)?;
    let destination = common.output.as_deref().map(Destination::new).transpose()?;
    let cols = coordinate_columns(&table, common.model)?;
    let grid = parse_grid(&table, &cols)?;
    let cfg = ThreadConfig {
        threads: common.threads.unwrap_or(ThreadConfig::default().threads),
        ..ThreadConfig::default()
    };
    let sim = Simulator::new(Backend::Threaded(cfg))?;
    let t0 = std::time::Instant::now();
    let (out, name) = match common.model {
        ModelKind::Binomial => {
            let counting = if common.brute_force { Counting::BruteForce } else { Counting::Auto };
            let fused = BinomialModel::new(common.seed, common.n, cols.len())?.with_counting(counting);
            let m = match common.jax_key {
                Some(seed) => {
                    let layout = if common.jax_legacy { Layout::Legacy } else { Layout::Partitionable };
                    let key = JaxKey::new(i128::from(seed))?.with_layout(layout);
                    fused.with_uniforms(Uniforms::Jax { key, sims: common.sims })
                }
                None => fused,
            };
            (execute(&m, &fused, &grid, &cli.command, common, &sim)?, m.name())
        }
        ModelKind::Ztest => {
            if common.jax_key.is_some() {
                return Err(CliError::Input("--jax-key applies to --model binomial only".into()));
            }
            let m = TwoArmZModel::new(common.seed, common.n)?;
            (execute(&m, &m, &grid, &cli.command, common, &sim)?, m.name())
        }
    };
    let text = render(&out, &table, &cols, common.format, name);
    match &destination {
        Some(d) => d.write(&text)?,
        None => {
            let mut so = std::io::stdout().lock();
            so.write_all(text.as_bytes())
                .map_err(|e| CliError::Other(format!("cannot write output: {e}")))?;
        }
    }
    if !common.quiet {
        let secs = t0.elapsed().as_secs_f64();
        match &out {
            Outcome::Calibrated(c) => eprintln!(
                "calibrated {} points, K = {}, alpha = {}: min lambda* = {} (row {}), {secs:.2} s",
                grid.len(),
                c.sims,
                c.alpha,
                c.min_lambda,
                c.argmin.map_or_else(|| "-".into(), |g| (g + 1).to_string())
            ),
            Outcome::Validated(v) => {
                let worst = v.points.iter().map(|p| p.upper).fold(0.0, f64::max);
                eprintln!(
                    "validated {} points, K = {}, lambda = {}: largest upper bound {worst:.6}, {secs:.2} s",
                    grid.len(),
                    v.sims,
                    v.lambda
                );
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Input(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(2)
        }
        Err(CliError::Other(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(1)
        }
    }
}
