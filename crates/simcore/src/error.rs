//! Parameter validation errors of the core (no_std, so no `thiserror`; the user-facing
//! crate wraps these in its own error type).

use core::fmt;

/// Why a parameter set was rejected. Each variant names the offending parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamError {
    /// A parameter is NaN or infinite.
    NotFinite {
        /// Parameter name.
        name: &'static str,
        /// The value given.
        value: f64,
    },
    /// A parameter is NaN where any other value, infinities included, has a meaning
    /// (e.g. a rejection threshold: `+inf` rejects every simulation, `-inf` none).
    IsNan {
        /// Parameter name.
        name: &'static str,
    },
    /// A probability lies outside `[0, 1]`.
    NotProbability {
        /// Parameter name.
        name: &'static str,
        /// The value given.
        value: f64,
    },
    /// A probability lies outside the open interval `(0, 1)` (e.g. a confidence level
    /// `delta`, where 0 and 1 give no bound).
    NotOpenProbability {
        /// Parameter name.
        name: &'static str,
        /// The value given.
        value: f64,
    },
    /// A parameter that must be strictly positive is not (e.g. `dt <= 0`).
    NotPositive {
        /// Parameter name.
        name: &'static str,
        /// The value given.
        value: f64,
    },
    /// A parameter that must be non-negative is negative.
    Negative {
        /// Parameter name.
        name: &'static str,
        /// The value given.
        value: f64,
    },
    /// A size or count is zero.
    ZeroSize {
        /// Parameter name.
        name: &'static str,
    },
    /// A size product overflows, or exceeds what the stream layout can address.
    TooLarge {
        /// Parameter name.
        name: &'static str,
        /// Largest accepted value.
        max: u64,
    },
    /// An integer lies outside the range a conversion accepts (e.g. a JAX seed outside
    /// int64, `fold_in` data outside `[0, 2^32)`: where JAX raises `OverflowError`).
    IntOutOfRange {
        /// Parameter name.
        name: &'static str,
        /// The value given.
        value: i128,
        /// Smallest accepted value.
        min: i128,
        /// Largest accepted value.
        max: i128,
    },
    /// A delay is longer than the ring buffer holds.
    DelayTooLong {
        /// The lag given (steps).
        lag: u32,
        /// Largest lag the buffer holds.
        max: u32,
    },
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::NotFinite { name, value } => write!(f, "parameter `{name}` must be finite, got {value}"),
            Self::IsNan { name } => write!(f, "parameter `{name}` must be a number or an infinity, got NaN"),
            Self::NotProbability { name, value } => {
                write!(f, "parameter `{name}` must be a probability in [0, 1], got {value}")
            }
            Self::NotOpenProbability { name, value } => {
                write!(f, "parameter `{name}` must lie strictly between 0 and 1, got {value}")
            }
            Self::NotPositive { name, value } => write!(f, "parameter `{name}` must be > 0, got {value}"),
            Self::Negative { name, value } => write!(f, "parameter `{name}` must be >= 0, got {value}"),
            Self::ZeroSize { name } => write!(f, "size `{name}` must be at least 1"),
            Self::TooLarge { name, max } => write!(f, "size `{name}` is too large (at most {max})"),
            Self::IntOutOfRange { name, value, min, max } => {
                write!(f, "`{name}` = {value} is outside [{min}, {max}]")
            }
            Self::DelayTooLong { lag, max } => {
                write!(f, "delay of {lag} steps exceeds the ring buffer (at most {max})")
            }
        }
    }
}

impl core::error::Error for ParamError {}

/// Checks that `value` is finite.
pub fn finite(name: &'static str, value: f64) -> Result<f64, ParamError> {
    if value.is_finite() { Ok(value) } else { Err(ParamError::NotFinite { name, value }) }
}

/// Checks that `value` is finite and `> 0`.
pub fn positive(name: &'static str, value: f64) -> Result<f64, ParamError> {
    let v = finite(name, value)?;
    if v > 0.0 { Ok(v) } else { Err(ParamError::NotPositive { name, value }) }
}

/// Checks that `value` is finite and `>= 0`.
pub fn non_negative(name: &'static str, value: f64) -> Result<f64, ParamError> {
    let v = finite(name, value)?;
    if v >= 0.0 { Ok(v) } else { Err(ParamError::Negative { name, value }) }
}

/// Checks that `value` is a probability in `[0, 1]` (NaN rejected).
pub fn probability(name: &'static str, value: f64) -> Result<f64, ParamError> {
    if (0.0..=1.0).contains(&value) { Ok(value) } else { Err(ParamError::NotProbability { name, value }) }
}

/// Checks that `value` lies in the open interval `(0, 1)` (NaN rejected).
pub fn open_probability(name: &'static str, value: f64) -> Result<f64, ParamError> {
    if value > 0.0 && value < 1.0 { Ok(value) } else { Err(ParamError::NotOpenProbability { name, value }) }
}

/// Checks that a size is at least 1.
pub fn nonzero(name: &'static str, value: usize) -> Result<usize, ParamError> {
    if value == 0 { Err(ParamError::ZeroSize { name }) } else { Ok(value) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validators_reject_bad_values() {
        assert!(matches!(finite("x", f64::NAN), Err(ParamError::NotFinite { name: "x", .. })));
        assert!(matches!(positive("dt", 0.0), Err(ParamError::NotPositive { .. })));
        assert!(matches!(positive("dt", f64::INFINITY), Err(ParamError::NotFinite { .. })));
        assert!(matches!(non_negative("s", -1e-300), Err(ParamError::Negative { .. })));
        assert!(matches!(probability("p", 1.5), Err(ParamError::NotProbability { .. })));
        assert!(matches!(probability("p", f64::NAN), Err(ParamError::NotProbability { .. })));
        assert!(matches!(nonzero("n", 0), Err(ParamError::ZeroSize { name: "n" })));
        assert_eq!(probability("p", 1.0), Ok(1.0));
        assert_eq!(nonzero("n", 3), Ok(3));
    }

    #[test]
    fn nan_message_does_not_claim_infinities_are_refused() {
        extern crate std;
        use std::string::ToString;
        let msg = ParamError::IsNan { name: "lambda" }.to_string();
        assert_eq!(msg, "parameter `lambda` must be a number or an infinity, got NaN");
    }
}
