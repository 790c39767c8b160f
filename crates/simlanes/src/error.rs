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
    /// The running CPU lacks instruction-set features this binary was compiled to use
    /// (see [`crate::cpu::check_cpu`]); running on would die of SIGILL.
    #[error(
        "this CPU lacks {missing:?}, which this build of simlanes was compiled to use (the \
         default build targets x86-64-v3: AVX2, FMA, BMI2; an x86-64-v4 build adds AVX-512); \
         rebuild with `-C target-cpu=x86-64-v3` (the default of .cargo/config.toml) or run on \
         a CPU that has them"
    )]
    UnsupportedCpu {
        /// The missing features, as `is_x86_feature_detected!` names them.
        missing: Vec<&'static str>,
    },
    /// The worker thread pool of [`crate::Backend::Threaded`] could not be started.
    #[error("could not start the worker thread pool: {0}")]
    ThreadPool(String),
    /// A size is below the minimum the workload needs (e.g. W5's statistic window
    /// `x[401..=nt]` needs `nt >= 401`).
    #[error("`{name}` is {got}, must be at least {min}")]
    TooSmall {
        /// The argument's name.
        name: &'static str,
        /// Smallest accepted value.
        min: usize,
        /// The value given.
        got: usize,
    },
    /// The GPU backend could not run (no driver, no device, PTX rejected, launch failure,
    /// out of memory); the message says what to do.
    #[error(transparent)]
    Gpu(#[from] crate::backend::gpu::GpuError),
    /// An output or working buffer of this size cannot be allocated on this machine
    /// (checked before any work, see [`crate::memory`]).
    #[error("`{what}` needs {bytes} bytes, which cannot be allocated: use smaller sizes or split the run")]
    OutOfMemory {
        /// The buffer.
        what: &'static str,
        /// Bytes it needs.
        bytes: u128,
    },
    /// A user's calibration [`Model`](crate::calibration::Model) broke its documented
    /// contract (e.g. `levels` not ascending, or NaN among them), so no number it gave can
    /// be trusted.
    #[error("the model broke its contract: {0}")]
    ModelContract(String),
    /// The run was stopped by a [`crate::CancelToken`] (see
    /// [`crate::Simulator::cancellable`]); its partial results were dropped.
    #[error("cancelled")]
    Cancelled,
}
