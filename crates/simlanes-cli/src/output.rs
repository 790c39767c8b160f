//! Writing the results: CSV or JSON, streamed point by point (nothing is built in memory
//! first) to the staged output file or standard output, and the one-row CSV of `--summary`.
//! The JSON is written by hand so that the f32 thresholds print as the same shortest
//! round-trip decimals as in the CSV.

use crate::grid_csv::Table;
use crate::{Format, Outcome};
use simlanes::calibration::Calibration;
use std::io::{self, Write};

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
pub(crate) fn write_output(
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
pub(crate) fn write_summary(w: &mut dyn Write, c: &Calibration) -> io::Result<()> {
    writeln!(w, "min_lambda_star,argmin_row,rank,sims,alpha")?;
    let row = c.argmin.map_or_else(String::new, |g| (g + 1).to_string());
    writeln!(w, "{},{row},{},{},{}", c.min_lambda, c.rank, c.sims, c.alpha)
}
