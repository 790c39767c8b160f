//! Why a run fails, and the exit code that says so: `Input` (bad grid, options or output
//! path) exits with 2, anything else with 1. The library names its parameters as the code
//! does (`s`, `n*d`, ...); the user typed flags, so a library error is rewritten here to name
//! the flag instead.

use simlanes::SimError;
use simlanes::simcore::ParamError;

/// Why the run failed; `Input` errors exit with code 2.
#[derive(Debug)]
pub(crate) enum CliError {
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
        | ParamError::IsNan { name }
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
