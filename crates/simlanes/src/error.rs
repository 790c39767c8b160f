//! The one error type of the user-facing API.

use simcore::ParamError;

/// Everything that can go wrong before or while running a workload. Nothing is written
/// to caller-owned outputs when an error is returned.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A model or workload parameter is invalid.
    #[error(transparent)]
    Param(#[from] ParamError),
    /// Two arrays that must agree in length do not.
    #[error("`{name}` has length {got}, expected {expected}")]
    Shape {
        /// The argument's name.
        name: &'static str,
        /// Expected length.
        expected: usize,
        /// Length given.
        got: usize,
    },
}
