//! Why the GPU backend could not run, each case with what to do about it.

/// A GPU backend failure. Wrapped in [`crate::SimError::Gpu`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GpuError {
    /// `libcuda.so` could not be loaded: no NVIDIA driver on this machine.
    #[error(
        "no CUDA driver found (libcuda.so could not be loaded): install the NVIDIA driver, \
         or use a CPU backend (scalar, simd, threaded)"
    )]
    NoDriver,
    /// The driver is there but reports no usable device (or not the one asked for).
    #[error(
        "no CUDA device {ordinal} (the driver reports {count}); check `nvidia-smi` and CUDA_VISIBLE_DEVICES"
    )]
    NoDevice {
        /// Device asked for.
        ordinal: usize,
        /// Devices the driver sees.
        count: usize,
    },
    /// The device is older than the oldest PTX target shipped (sm_80).
    #[error("GPU `{name}` has compute capability {major}.{minor}; simlanes' kernels need 8.0 or newer")]
    Unsupported {
        /// Device name.
        name: String,
        /// Compute capability, major.
        major: i32,
        /// Compute capability, minor.
        minor: i32,
    },
    /// The driver refused the PTX (too old for its ISA version, or invalid).
    #[error(
        "the CUDA driver rejected the {arch} PTX ({reason}); update the NVIDIA driver (the PTX \
         needs one for CUDA 11.8 or newer) or rebuild it with `cargo xtask ptx`"
    )]
    PtxRejected {
        /// Which PTX file (`sm_80` or `sm_90`).
        arch: &'static str,
        /// The driver's error.
        reason: String,
    },
    /// Device memory ran out.
    #[error("out of GPU memory allocating {bytes} bytes for `{what}`; use a smaller batch")]
    OutOfMemory {
        /// The buffer's purpose.
        what: &'static str,
        /// Bytes requested.
        bytes: usize,
    },
    /// A kernel failed to launch or to run to completion.
    #[error("kernel `{kernel}` failed: {reason}")]
    Launch {
        /// Kernel name.
        kernel: &'static str,
        /// The driver's error.
        reason: String,
    },
    /// Any other driver call failed.
    #[error("CUDA driver call `{call}` failed: {reason}")]
    Driver {
        /// What was being done.
        call: &'static str,
        /// The driver's error.
        reason: String,
    },
}
