//! `simlanes`: validate and calibrate a trial design over a grid of parameter values.
//!
//! A thin shell over `simlanes::calibration`: it reads the grid from CSV (RFC 4180), checks
//! every input (naming the row, its line or the flag at fault, exit code 2), runs the engine
//! with a progress bar on stderr, and streams CSV or JSON — to a temporary file renamed into
//! place, so an output file is either complete or absent, also when the run is interrupted
//! by SIGINT, SIGTERM or SIGHUP.

mod cleanup;
mod destination;
mod error;
mod grid_csv;
mod output;

use clap::{Args, Parser, Subcommand, ValueEnum};
use destination::Destination;
use error::CliError;
use grid_csv::{columns, parse_grid, read_table};
use output::{write_output, write_summary};
use simlanes::calibration::binomial::{BinomialModel, Counting};
use simlanes::calibration::two_arm_z::TwoArmZModel;
use simlanes::calibration::{self, Calibration, Grid, Model, Tiling, Validation};
use simlanes::workload::binomial::Uniforms;
use simlanes::workload::jax::{JaxKey, Layout};
use simlanes::{Backend, Simulator, ThreadConfig};
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
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
Other columns are ignored. Column names are matched without regard to case, and a column the
run reads (a theta column, mu_control, mu_treatment, null) must appear only once.

Grid file: standard CSV (RFC 4180), as R's write.csv and spreadsheets write it: a field may be
quoted (\"a,b\"), a quote inside quotes is doubled (\"\"), a quoted field may span lines; a
UTF-8 byte order mark, spaces around fields and blank lines are ignored.

Output (--format):
  csv   One row per grid point: the coordinate columns, null, then count, rate, upper
        (validate) or lambda_star (calibrate; NaN where the null is false).
  json  The settings and a `points` array (one point per line); calibrate adds rank,
        min_lambda_star and argmin_row (1 = the first grid row; null when no point is null).
lambda and lambda* are single-precision (f32) numbers, printed in CSV and JSON alike as the
shortest decimal that reads back to the same f32.
The calibrate CSV has no row for the overall minimum: it is in the summary line on stderr
(unless -q) and, with --summary FILE, in a one-row CSV file with the columns min_lambda_star,
argmin_row, rank, sims, alpha (e.g. pandas.read_csv(FILE).min_lambda_star[0]).

Exit codes: 0 success, 2 bad input (grid, options, output path), 1 other failures. A run
that fails or is interrupted leaves no output file behind and never clobbers an existing one.";

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
        /// Rejection threshold: a trial rejects when T < lambda (rounded to f32). Negative
        /// values are accepted as they are written: --lambda -1.96, --lambda -.5.
        #[arg(long, allow_hyphen_values = true)]
        lambda: f64,
        /// One minus the confidence level of the Clopper-Pearson upper bound.
        #[arg(long, default_value_t = 0.01, allow_hyphen_values = true)]
        delta: f64,
        #[command(flatten)]
        common: Common,
    },
    /// Threshold lambda* per grid point for a target type I error alpha, and its minimum.
    Calibrate {
        /// Target type I error level.
        #[arg(long, default_value_t = 0.025, allow_hyphen_values = true)]
        alpha: f64,
        /// Also write the overall result as a one-row CSV file: min_lambda_star, argmin_row
        /// (1 = the first grid row; empty when no point is null), rank (m), sims (K), alpha.
        /// Written like the output: completely or not at all.
        #[arg(long, value_name = "FILE")]
        summary: Option<PathBuf>,
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
    /// Grid points per work tile (default: autotuned when the run is large, else 1024; results never depend on it).
    #[arg(long)]
    grid_tile: Option<usize>,
    /// Trials per work tile (default: autotuned when the run is large, else 1024; results never depend on it).
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
    /// Output file (written completely or not at all); default: standard output. A symlink
    /// is followed: its target is written (created if it does not exist yet), the link stays.
    /// A missing directory, or a path that is a directory, is bad input (exit code 2).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// No progress bar or summary on stderr.
    #[arg(short, long)]
    quiet: bool,
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

/// Simulations per probe of the tile-shape tuner.
const TUNE_PROBE_SIMS: usize = 2048;

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
        // Tuned only when the run is hundreds of probes large (`tune::worth_tuning`): the
        // tuner's cost then stays a small share of the run.
        (g, s) if calibration::tune::worth_tuning(nulls as usize, common.sims, TUNE_PROBE_SIMS) => {
            let (best, _) = calibration::tune::autotune(sim, tuner, grid, TUNE_PROBE_SIMS.min(common.sims))?;
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
fn run(cli: Cli) -> Result<(), CliError> {
    simlanes::cpu::check_cpu().map_err(|e| CliError::Other(e.to_string()))?;
    let (common, summary) = match &cli.command {
        // lambda is checked by the engine (NaN refused, ±inf allowed: rejects all / none).
        Command::Validate { delta, common, .. } => {
            open_unit("delta", *delta)?;
            (common, None)
        }
        Command::Calibrate { alpha, summary, common } => {
            open_unit("alpha", *alpha)?;
            (common, summary.as_deref())
        }
    };
    check_common(common)?;
    let table = read_table(&common.grid)?;
    let destination = common.output.as_deref().map(Destination::new).transpose()?;
    let summary = summary.map(Destination::new).transpose()?;
    if let (Some(o), Some(s)) = (&destination, &summary)
        && o.same_file(s)
    {
        return Err(CliError::Input("--summary and --output name the same file".into()));
    }
    if destination.is_none() && cleanup::stdout_was_closed() {
        return Err(CliError::Other(
            "standard output is closed, so the results would be lost: redirect it or use -o FILE".into(),
        ));
    }
    let cols = columns(&table, common.model)?;
    let grid = parse_grid(&table, &cols)?;
    let cfg = ThreadConfig {
        threads: common.threads.unwrap_or(ThreadConfig::default().threads),
        ..ThreadConfig::default()
    };
    let sim = Simulator::new(Backend::Threaded(cfg))?;
    let t0 = std::time::Instant::now();
    let d = cols.coords.len();
    let (out, name) = match common.model {
        ModelKind::Binomial => {
            let counting = if common.brute_force { Counting::BruteForce } else { Counting::Auto };
            let fused = BinomialModel::new(common.seed, common.n, d)?.with_counting(counting);
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
    let write = |w: &mut dyn Write| write_output(w, &out, &table, &cols.coords, common.format, name);
    match &destination {
        Some(dest) => dest.stage(write)?,
        None => {
            let mut so = BufWriter::with_capacity(1 << 16, io::stdout().lock());
            write(&mut so)
                .and_then(|()| so.flush())
                .map_err(|e| CliError::Other(format!("cannot write to standard output: {e}")))?;
        }
    }
    if let (Some(s), Outcome::Calibrated(c)) = (&summary, &out) {
        s.stage(|w| write_summary(w, c))?;
    }
    for dest in destination.iter().chain(&summary) {
        dest.commit()?;
    }
    if !common.quiet {
        let secs = t0.elapsed().as_secs_f64();
        match &out {
            Outcome::Calibrated(c) => eprintln!(
                "calibrated {} points, K = {}, alpha = {}: min lambda* = {} (row {}, rank m = {}), {secs:.2} s",
                grid.len(),
                c.sims,
                c.alpha,
                c.min_lambda,
                c.argmin.map_or_else(|| "-".into(), |g| (g + 1).to_string()),
                c.rank
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
