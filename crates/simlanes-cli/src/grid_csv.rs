//! Reading the grid file: an RFC 4180 reader (the CSV that R's write.csv and spreadsheets
//! write: quoted fields, doubled quotes, line breaks inside quotes, a byte order mark), the
//! matching of the columns a model reads (without regard to case, each at most once), and
//! the conversion into a [`Grid`]. Grids are written by hand or by other tools, so every
//! error names the grid row and the line of the file at fault.

use crate::ModelKind;
use crate::error::CliError;
use simlanes::calibration::Grid;
use std::path::Path;

/// The grid as read from CSV.
pub(crate) struct Table {
    pub(crate) header: Vec<String>,
    pub(crate) rows: Vec<Vec<String>>,
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

pub(crate) fn read_table(path: &Path) -> Result<Table, CliError> {
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
pub(crate) struct Columns {
    /// The model's coordinates, in order.
    pub(crate) coords: Vec<usize>,
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

pub(crate) fn columns(t: &Table, model: ModelKind) -> Result<Columns, CliError> {
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

pub(crate) fn parse_grid(t: &Table, cols: &Columns) -> Result<Grid, CliError> {
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
