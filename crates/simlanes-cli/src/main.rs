//! `simlanes`: validate and calibrate a trial design over a grid of parameter values.
//!
//! A thin shell over `simlanes::calibration`: it reads the grid from CSV (RFC 4180), checks
//! every input (naming the row, its line or the flag at fault, exit code 2), runs the engine
//! with a progress bar on stderr, and streams CSV or JSON — to a temporary file renamed into
//! place, so an output file is either complete or absent, also when the run is interrupted
//! by SIGINT, SIGTERM or SIGHUP.

use clap::{Args, Parser, Subcommand, ValueEnum};
use simlanes::calibration::binomial::{BinomialModel, Counting};
use simlanes::calibration::two_arm_z::TwoArmZModel;
use simlanes::calibration::{self, Calibration, Grid, Model, Tiling, Validation};
use simlanes::simcore::ParamError;
use simlanes::workload::binomial::Uniforms;
use simlanes::workload::jax::{JaxKey, Layout};
use simlanes::{Backend, SimError, Simulator, ThreadConfig};
use std::fs::File;
use std::io::{self, BufWriter, Write};
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

/// Why the run failed; `Input` errors exit with code 2.
#[derive(Debug)]
enum CliError {
    Input(String),
    Other(String),
}

impl From<SimError> for CliError {
    /// The library names its parameters (`s`, `n*d`, ...): the message names the flags.
    fn from(e: SimError) -> Self {
        let msg = e.to_string();
        let name = match &e {
            SimError::Param(p) => param_name(p),
            SimError::TooSmall { name, .. } => Some(*name),
            _ => None,
        };
        CliError::Input(match name.and_then(|n| flag_for(n).map(|f| (n, f))) {
            Some((name, flag)) => msg.replacen(&format!("`{name}`"), flag, 1),
            None => msg,
        })
    }
}

/// The name a [`ParamError`] reports.
fn param_name(p: &ParamError) -> Option<&'static str> {
    match *p {
        ParamError::NotFinite { name, .. }
        | ParamError::NotProbability { name, .. }
        | ParamError::NotOpenProbability { name, .. }
        | ParamError::NotPositive { name, .. }
        | ParamError::Negative { name, .. }
        | ParamError::ZeroSize { name }
        | ParamError::TooLarge { name, .. }
        | ParamError::IntOutOfRange { name, .. } => Some(name),
        _ => None,
    }
}

/// The command-line flag behind a library parameter name, for error messages.
fn flag_for(name: &str) -> Option<&'static str> {
    Some(match name {
        "s" | "sims" => "--sims (-K)",
        "n" => "-n",
        "n*d" => "-n times the number of arms (n*d)",
        "sims*n*d" => "--sims times -n times the number of arms",
        "lambda" => "--lambda",
        "alpha" => "--alpha",
        "delta" => "--delta",
        "seed" => "--jax-key",
        "threads" => "--threads",
        "tile" => "--grid-tile/--sim-tile",
        _ => return None,
    })
}

/// The grid as read from CSV.
struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    /// The line of the file on which each row starts (1-based), for error messages.
    lines: Vec<usize>,
}

/// Splits CSV text into records (RFC 4180): fields separated by commas, records by line
/// breaks (`\n` or `\r\n`); a field in double quotes may hold commas, line breaks and
/// doubled quotes (`""` for `"`). Spaces around a field are dropped, blank lines skipped.
/// Each record comes with the line it starts on; an error names the line.
fn parse_csv(text: &str) -> Result<Vec<(usize, Vec<String>)>, String> {
    let mut records = Vec::new();
    let mut fields: Vec<String> = Vec::new();
    let mut field = String::new();
    let (mut line, mut start) = (1, 1);
    // The line of the open quote while inside a quoted field.
    let mut open: Option<usize> = None;
    // The current field was quoted and is closed: only spaces may follow until `,`.
    let mut closed = false;
    // The record has something besides white space (a blank line is no record).
    let mut content = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if open.is_some() {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => {
                    open = None;
                    closed = true;
                }
                '\r' if chars.peek() == Some(&'\n') => {}
                '\n' => {
                    line += 1;
                    field.push('\n');
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            ',' | '\n' => {
                fields.push(field.trim().to_string());
                field.clear();
                closed = false;
                content |= c == ',';
                if c == '\n' {
                    if content {
                        records.push((start, std::mem::take(&mut fields)));
                    }
                    fields.clear();
                    content = false;
                    line += 1;
                    start = line;
                }
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '"' if !closed && field.trim().is_empty() => {
                field.clear();
                open = Some(line);
                content = true;
            }
            c if closed && c.is_whitespace() => {}
            c if closed => {
                return Err(format!(
                    "line {line}: unexpected {c:?} after the closing quote of a field (a quote inside \
                     a quoted field is written twice: \"\")"
                ));
            }
            c => {
                content |= !c.is_whitespace();
                field.push(c);
            }
        }
    }
    if let Some(l) = open {
        return Err(format!("line {l}: the quoted field that starts here is never closed (a missing \")"));
    }
    if content {
        fields.push(field.trim().to_string());
        records.push((start, fields));
    }
    Ok(records)
}

fn read_table(path: &Path) -> Result<Table, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Input(format!("cannot read grid file {}: {e}", path.display())))?;
    // Spreadsheet programs often save CSV with a UTF-8 byte order mark: it is not part of
    // the first column's name.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let records =
        parse_csv(text).map_err(|e| CliError::Input(format!("grid file {}: {e}", path.display())))?;
    let mut records = records.into_iter();
    let (_, header) = records
        .next()
        .ok_or_else(|| CliError::Input(format!("grid file {} is empty (no header row)", path.display())))?;
    let (mut rows, mut lines) = (Vec::new(), Vec::new());
    for (line, row) in records {
        if row.len() != header.len() {
            return Err(CliError::Input(format!(
                "grid row {} (line {line}) has {} fields, the header has {}",
                rows.len() + 1,
                row.len(),
                header.len()
            )));
        }
        rows.push(row);
        lines.push(line);
    }
    if rows.is_empty() {
        return Err(CliError::Input(format!("grid file {} has a header but no points", path.display())));
    }
    Ok(Table { header, rows, lines })
}

/// The columns the run reads.
struct Columns {
    /// The model's coordinates, in order.
    coords: Vec<usize>,
    /// The `null` column, if any.
    null: Option<usize>,
}

fn duplicate(t: &Table, a: usize, b: usize) -> CliError {
    CliError::Input(format!(
        "grid column `{}` appears twice (columns {} and {}; names are matched without regard to \
         case): remove or rename one",
        t.header[b],
        a + 1,
        b + 1
    ))
}

fn columns(t: &Table, model: ModelKind) -> Result<Columns, CliError> {
    // The one column called `name` (any case), if any.
    let named = |name: &str| {
        let mut hits = (0..t.header.len()).filter(|&c| t.header[c].eq_ignore_ascii_case(name));
        match (hits.next(), hits.next()) {
            (Some(a), Some(b)) => Err(duplicate(t, a, b)),
            (a, _) => Ok(a),
        }
    };
    let coords = match model {
        ModelKind::Binomial => {
            let cols: Vec<usize> = (0..t.header.len())
                .filter(|&c| t.header[c].get(..5).is_some_and(|p| p.eq_ignore_ascii_case("theta")))
                .collect();
            if cols.is_empty() {
                return Err(CliError::Input(
                    "grid has no theta column (--model binomial needs columns theta0, theta1, ...)".into(),
                ));
            }
            let mut seen = std::collections::HashMap::new();
            for &c in &cols {
                if let Some(&a) = seen.get(&t.header[c].to_ascii_lowercase()) {
                    return Err(duplicate(t, a, c));
                }
                seen.insert(t.header[c].to_ascii_lowercase(), c);
            }
            cols
        }
        ModelKind::Ztest => {
            let need = |name: &str| {
                named(name)?.ok_or_else(|| {
                    CliError::Input(format!("grid has no column `{name}` (needed by --model ztest)"))
                })
            };
            vec![need("mu_control")?, need("mu_treatment")?]
        }
    };
    Ok(Columns { coords, null: named("null")? })
}

fn parse_grid(t: &Table, cols: &Columns) -> Result<Grid, CliError> {
    let at = |r: usize| format!("grid row {} (line {})", r + 1, t.lines[r]);
    let mut values = Vec::with_capacity(t.rows.len() * cols.coords.len());
    for (r, row) in t.rows.iter().enumerate() {
        for &c in &cols.coords {
            let v: f64 = row[c].parse().map_err(|_| {
                CliError::Input(format!("{}: column `{}` is not a number: {:?}", at(r), t.header[c], row[c]))
            })?;
            if !v.is_finite() {
                return Err(CliError::Input(format!(
                    "{}: column `{}` is {v}; every coordinate must be a finite number",
                    at(r),
                    t.header[c]
                )));
            }
            values.push(v);
        }
    }
    let mut grid = Grid::new(cols.coords.len(), values)?;
    if let Some(nc) = cols.null {
        let flags = t
            .rows
            .iter()
            .enumerate()
            .map(|(r, row)| match row[nc].to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Ok(true),
                "false" | "0" | "no" => Ok(false),
                other => Err(CliError::Input(format!(
                    "{}: column `{}` must be true/false, 1/0 or yes/no, got {other:?}",
                    at(r),
                    t.header[nc]
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

/// `s` as one CSV field: quoted (RFC 4180) when it holds a comma, a quote or a line break.
fn csv_field(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\"")).into()
    } else {
        s.into()
    }
}

/// An f32 quantity (λ, λ*) in JSON: its shortest round-trip decimal — the digits the CSV
/// prints — or `null` when NaN or infinite.
fn json_f32(w: &mut dyn Write, x: f32) -> io::Result<()> {
    if x.is_finite() { write!(w, "{x}") } else { w.write_all(b"null") }
}

/// A JSON string, escaped.
fn json_str(w: &mut dyn Write, s: &str) -> io::Result<()> {
    serde_json::to_writer(w, s).map_err(io::Error::from)
}

/// An f64 quantity in JSON: serde_json's shortest form, `null` when NaN or infinite.
fn json_f64(w: &mut dyn Write, x: f64) -> io::Result<()> {
    serde_json::to_writer(w, &x).map_err(io::Error::from)
}

/// Writes the results, point by point (nothing is built in memory first).
fn write_output(
    w: &mut dyn Write,
    out: &Outcome,
    t: &Table,
    cols: &[usize],
    format: Format,
    model: &str,
) -> io::Result<()> {
    let points = t.rows.iter();
    match format {
        Format::Csv => {
            for &c in cols {
                write!(w, "{},", csv_field(&t.header[c]))?;
            }
            match out {
                Outcome::Validated(v) => {
                    writeln!(w, "null,count,rate,upper")?;
                    for (row, p) in points.zip(&v.points) {
                        for &c in cols {
                            write!(w, "{},", csv_field(&row[c]))?;
                        }
                        writeln!(w, "{},{},{:e},{:e}", p.null, p.count, p.rate, p.upper)?;
                    }
                }
                Outcome::Calibrated(cal) => {
                    writeln!(w, "null,lambda_star")?;
                    for (row, l) in points.zip(&cal.lambda) {
                        for &c in cols {
                            write!(w, "{},", csv_field(&row[c]))?;
                        }
                        writeln!(w, "{},{l}", !l.is_nan())?;
                    }
                }
            }
        }
        Format::Json => {
            let command = match out {
                Outcome::Validated(_) => "validate",
                Outcome::Calibrated(_) => "calibrate",
            };
            w.write_all(b"{\n  \"command\": ")?;
            json_str(w, command)?;
            w.write_all(b",\n  \"model\": ")?;
            json_str(w, model)?;
            match out {
                Outcome::Validated(v) => {
                    write!(w, ",\n  \"sims\": {},\n  \"lambda\": ", v.sims)?;
                    json_f32(w, v.lambda)?;
                    w.write_all(b",\n  \"delta\": ")?;
                    json_f64(w, v.delta)?;
                }
                Outcome::Calibrated(c) => {
                    write!(w, ",\n  \"sims\": {},\n  \"alpha\": ", c.sims)?;
                    json_f64(w, c.alpha)?;
                    write!(w, ",\n  \"rank\": {},\n  \"min_lambda_star\": ", c.rank)?;
                    json_f32(w, c.min_lambda)?;
                    w.write_all(b",\n  \"argmin_row\": ")?;
                    match c.argmin {
                        Some(g) => write!(w, "{}", g + 1)?,
                        None => w.write_all(b"null")?,
                    }
                }
            }
            w.write_all(b",\n  \"points\": [")?;
            for (i, row) in points.enumerate() {
                w.write_all(if i == 0 { b"\n    {\"point\": {" } else { b",\n    {\"point\": {" })?;
                for (j, &c) in cols.iter().enumerate() {
                    if j > 0 {
                        w.write_all(b", ")?;
                    }
                    json_str(w, &t.header[c])?;
                    w.write_all(b": ")?;
                    json_f64(w, row[c].parse().unwrap_or(f64::NAN))?;
                }
                match out {
                    Outcome::Validated(v) => {
                        let p = &v.points[i];
                        write!(w, "}}, \"null\": {}, \"count\": {}, \"rate\": ", p.null, p.count)?;
                        json_f64(w, p.rate)?;
                        w.write_all(b", \"upper\": ")?;
                        json_f64(w, p.upper)?;
                    }
                    Outcome::Calibrated(c) => {
                        let l = c.lambda[i];
                        write!(w, "}}, \"null\": {}, \"lambda_star\": ", !l.is_nan())?;
                        json_f32(w, l)?;
                    }
                }
                w.write_all(b"}")?;
            }
            w.write_all(b"\n  ]\n}\n")?;
        }
    }
    Ok(())
}

/// The one-row CSV of `--summary`.
fn write_summary(w: &mut dyn Write, c: &Calibration) -> io::Result<()> {
    writeln!(w, "min_lambda_star,argmin_row,rank,sims,alpha")?;
    let row = c.argmin.map_or_else(String::new, |g| (g + 1).to_string());
    writeln!(w, "{},{row},{},{},{}", c.min_lambda, c.rank, c.sims, c.alpha)
}

/// Removal of the temporary output files when the process is killed by SIGINT, SIGTERM or
/// SIGHUP. The handler deletes the registered files and re-raises the signal with its default
/// action, so an interrupted run still stops at once (during the computation too) and its
/// exit status still says which signal ended it; only the half-written file is gone.
#[cfg(unix)]
mod cleanup {
    use std::ffi::{CString, c_char, c_int};
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;
    use std::ptr::null_mut;
    use std::sync::Once;
    use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

    /// The temporary files (the output and the summary), as C strings that are never freed
    /// (the handler may read them at any time).
    static FILES: [AtomicPtr<c_char>; 2] = [const { AtomicPtr::new(null_mut()) }; 2];

    extern "C" fn on_signal(sig: c_int) {
        for slot in &FILES {
            let p = slot.load(Ordering::SeqCst);
            if !p.is_null() {
                // SAFETY: `p` is a leaked, NUL-terminated CString; unlink, signal and raise
                // are async-signal-safe.
                unsafe { libc::unlink(p) };
            }
        }
        // SAFETY: as above.
        unsafe {
            libc::signal(sig, libc::SIG_DFL);
            libc::raise(sig);
        }
    }

    /// Deletes `path` should a terminating signal arrive; installs the handler the first
    /// time (not for signals the parent set to be ignored, as for `nohup`).
    pub fn register(path: &Path) {
        static INSTALL: Once = Once::new();
        INSTALL.call_once(|| {
            for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                // SAFETY: plain sigaction calls on zero-initialised structs; the handler
                // only calls async-signal-safe functions.
                unsafe {
                    let mut old: libc::sigaction = std::mem::zeroed();
                    if libc::sigaction(sig, std::ptr::null(), &mut old) == 0
                        && old.sa_sigaction != libc::SIG_IGN
                    {
                        let mut new: libc::sigaction = std::mem::zeroed();
                        new.sa_sigaction = on_signal as extern "C" fn(c_int) as libc::sighandler_t;
                        libc::sigemptyset(&mut new.sa_mask);
                        libc::sigaction(sig, &new, std::ptr::null_mut());
                    }
                }
            }
        });
        let Ok(c) = CString::new(path.as_os_str().as_bytes()) else { return };
        let p = c.into_raw();
        // The first free slot (there are at most two outputs).
        let _ = FILES
            .iter()
            .any(|slot| slot.compare_exchange(null_mut(), p, Ordering::SeqCst, Ordering::SeqCst).is_ok());
    }

    /// Whether file descriptor 1 was closed when the process started. The Rust runtime
    /// then opens /dev/null on it before `main`, so that writes "succeed" and the output
    /// would be lost without a word: this is checked earlier, from the ELF `.init_array`
    /// (Mach-O `__mod_init_func`), where a closed descriptor still shows.
    pub fn stdout_was_closed() -> bool {
        STDOUT_CLOSED.load(Ordering::Relaxed)
    }

    static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

    extern "C" fn probe_stdout() {
        // SAFETY: F_GETFD on a descriptor number only reads its flags.
        if unsafe { libc::fcntl(1, libc::F_GETFD) } == -1 {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
        }
    }

    #[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
    #[used]
    #[cfg_attr(any(target_os = "linux", target_os = "android"), unsafe(link_section = ".init_array"))]
    #[cfg_attr(target_vendor = "apple", unsafe(link_section = "__DATA,__mod_init_func"))]
    static PROBE_STDOUT: extern "C" fn() = probe_stdout;
}

#[cfg(not(unix))]
mod cleanup {
    pub fn register(_: &std::path::Path) {}
    pub fn stdout_was_closed() -> bool {
        false
    }
}

/// Resolves a chain of symlinks at `path` (a relative target is relative to the link's
/// directory), also when the last target does not exist yet.
fn resolve_links(path: &Path) -> io::Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = std::fs::read_link(&p)?;
                p = p.parent().map_or_else(|| target.clone(), |dir| dir.join(&target));
            }
            _ => return Ok(p),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

/// Where an output goes: a regular file (new or existing) is written through a temporary
/// file in its directory and a rename, so it is complete or absent (the temporary file is
/// removed on failure, on drop and on SIGINT/SIGTERM/SIGHUP); a symlink is followed (its
/// target, which need not exist yet, is replaced; the link stays); anything else that
/// exists — a FIFO, a device such as `/dev/stdout` — is written in place, since renaming
/// over it would replace the node itself.
enum Destination {
    Atomic { shown: PathBuf, file: PathBuf, tmp: PathBuf },
    InPlace { shown: PathBuf, file: PathBuf },
}

impl Destination {
    /// Resolves `path` and, for a regular file, checks now — before any computation —
    /// that its directory takes the temporary file. Every failure here is bad input.
    fn new(path: &Path) -> Result<Self, CliError> {
        let bad = |what: &dyn std::fmt::Display| {
            CliError::Input(format!("cannot write {}: {what}", path.display()))
        };
        if path.as_os_str().is_empty() {
            return Err(CliError::Input("the output path is empty".into()));
        }
        if path.as_os_str().as_encoded_bytes().ends_with(std::path::MAIN_SEPARATOR_STR.as_bytes()) {
            return Err(bad(&"it names a directory"));
        }
        let file = resolve_links(path).map_err(|e| bad(&e))?;
        let shown = path.to_path_buf();
        match std::fs::metadata(&file) {
            Ok(m) if m.is_dir() => return Err(bad(&"it is a directory")),
            Ok(m) if !m.is_file() => return Ok(Self::InPlace { shown, file }),
            _ => {}
        }
        let Some(name) = file.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            return Err(bad(&"it names a directory"));
        };
        let dir = file.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
        cleanup::register(&tmp);
        File::create(&tmp).map_err(|e| {
            let why = if e.kind() == io::ErrorKind::NotFound {
                format!("there is no directory {}", dir.display())
            } else {
                e.to_string()
            };
            if file == path {
                bad(&why)
            } else {
                bad(&format_args!("{why} (writing {}, the target of the link)", file.display()))
            }
        })?;
        let _ = std::fs::remove_file(&tmp);
        Ok(Self::Atomic { shown, file, tmp })
    }

    /// The file the user named, the file written and the file being written now.
    fn paths(&self) -> (&Path, &Path, &Path) {
        match self {
            Self::Atomic { shown, file, tmp } => (shown, file, tmp),
            Self::InPlace { shown, file } => (shown, file, file),
        }
    }

    fn fail(&self, e: &io::Error) -> CliError {
        CliError::Other(format!("cannot write {}: {e}", self.paths().0.display()))
    }

    /// Writes the content (to the temporary file, or in place); [`Destination::commit`]
    /// then puts it in place.
    fn stage(&self, body: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), CliError> {
        let res = File::create(self.paths().2).and_then(|f| {
            let mut w = BufWriter::with_capacity(1 << 16, f);
            body(&mut w)?;
            w.flush()
        });
        res.map_err(|e| self.fail(&e))
    }

    fn commit(&self) -> Result<(), CliError> {
        let (_, file, tmp) = self.paths();
        if file != tmp {
            std::fs::rename(tmp, file).map_err(|e| self.fail(&e))?;
        }
        Ok(())
    }

    /// Whether `self` and `other` would write the same file.
    fn same_file(&self, other: &Self) -> bool {
        let key = |p: &Path| {
            let dir = p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
            (std::fs::canonicalize(dir).ok(), p.file_name().map(ToOwned::to_owned))
        };
        key(self.paths().1) == key(other.paths().1)
    }
}

impl Drop for Destination {
    /// A temporary file not renamed into place (the run failed) is removed.
    fn drop(&mut self) {
        if let Self::Atomic { tmp, .. } = self {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

fn run(cli: Cli) -> Result<(), CliError> {
    simlanes::cpu::check_cpu().map_err(|e| CliError::Other(e.to_string()))?;
    let (common, summary) = match &cli.command {
        Command::Validate { lambda, delta, common } => {
            if !lambda.is_finite() {
                return Err(CliError::Input(format!("--lambda must be a finite number, got {lambda}")));
            }
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
