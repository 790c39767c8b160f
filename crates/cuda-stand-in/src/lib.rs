//! # cuda-stand-in — a `libcuda.so` that runs simlanes' kernels on the host CPU
//!
//! **A test harness, never a product path.** This `cdylib` exports the CUDA driver API
//! functions that `cudarc` (and through it simlanes' GPU backend,
//! `simlanes::backend::gpu`) calls. Device memory is host memory; a kernel launch runs the
//! kernel's entry point from `gpu-kernels` for every thread of the grid on the host
//! ([`gpu_kernels::host::launch`]). The device calls itself "simlanes CUDA stand-in
//! (kernels on the host CPU, not a GPU)" and the library says so on stderr when it is
//! initialised.
//!
//! ## Why
//!
//! CI has no GPU, so without this the host runner — driver calls, allocations, copies,
//! launch configuration, chunking of large jobs, events and timing, error mapping — never
//! executes outside a GPU machine. With the stand-in on the loader path, the GPU tests
//! (`tests/gpu_agreement.rs`, `gpu_calibrate.rs`, `gpu_stream.rs`) and
//! `cargo xtask bench --backend gpu` run end to end on the CPU: the real runner, the real
//! `cudarc`, and the real entry points (the very functions the PTX is compiled from,
//! bounds checks and stores included), with memory on the host.
//!
//! It is also stricter than a GPU in a few ways that catch host-runner bugs early:
//! copies and memsets must lie inside one live allocation; every pointer argument of a
//! launch must be null or point into a live allocation; each allocation is followed by a
//! guard zone that is checked after every launch and at free (a kernel writing past its
//! buffer fails with `CUDA_ERROR_ILLEGAL_ADDRESS`); fresh allocations are filled with
//! `0xFF` bytes (NaN / `u32::MAX`), so reading memory nobody wrote shows.
//!
//! ## What it does not prove
//!
//! * PTX code generation and `ptxas`: the PTX is only parsed for its `.version`,
//!   `.target` and `.entry` parameter lists (each checked against the host entry point's
//!   signature); it is never compiled or run.
//! * Real timing: events measure host wall time, so bandwidths and throughputs are the
//!   host's, not a GPU's.
//! * Memory-access behaviour of a GPU (coalescing, caches, alignment faults) and anything
//!   about concurrency between the threads of a block: here the threads of a block run
//!   one after another on one host thread (blocks are spread over host threads), and the
//!   kernels never communicate within a block.
//! * Asynchrony: every call completes before it returns (launches and copies included),
//!   so missing synchronisation in the runner cannot show here.
//!
//! ## Limits
//!
//! It exports only the 29 driver calls simlanes makes through cudarc (the functions
//! below), which cudarc looks up by name on first use: a call missing here makes cudarc
//! panic with "Missing symbol NAME". The GPU tests and benchmark make 27 of them; the other
//! two are reached only after a driver error: `cuGetErrorString` (cudarc formats every
//! `DriverError` with it) and `cuFuncGetAttribute` (simlanes' block size when the
//! occupancy query fails).
//!
//! One device (ordinal 0), compute capability 9.0, 132 SMs, H100-like memory clock and
//! bus width; memory pools are reported unsupported, so cudarc allocates with
//! `cuMemAlloc_v2`. Other device attributes fail with `CUDA_ERROR_NOT_SUPPORTED` (said on
//! stderr). Only the default stream (null, or the legacy and per-thread handles) exists.
//! Device memory totals `CUDA_STAND_IN_MEMORY_MIB` MiB (default 2048); an allocation past
//! it fails with `CUDA_ERROR_OUT_OF_MEMORY`, which exercises the runner's chunking and
//! out-of-memory paths. Launches must be 1-D (`CUDA_ERROR_INVALID_VALUE` otherwise)
//! without `extra` (`CUDA_ERROR_NOT_SUPPORTED`). A kernel thread that panics (the
//! device's `trap`) fails the launch with `CUDA_ERROR_LAUNCH_FAILED`, and, as on a device,
//! that error is sticky: every later call in the context returns it until the primary
//! context is released. A kernel that dereferences a null pointer it was given crashes
//! the process (the stand-in cannot tell an optional input, which may be null, from a
//! required one).
//!
//! `CUDA_STAND_IN_FAIL` makes chosen calls fail as a real driver's do (no device, a PTX
//! too new for the driver, out of memory, a trapping kernel, a fault at the next copy: see
//! `faults.rs`), for the tests of the runner's error paths.
//!
//! ## Use
//!
//! ```text
//! cargo build --release -p cuda-stand-in
//! mkdir -p target/cuda-stand-in
//! cp target/release/libcuda_stand_in.so target/cuda-stand-in/libcuda.so
//! LD_LIBRARY_PATH=$PWD/target/cuda-stand-in cargo test --release -p simlanes-tests \
//!     --test gpu_agreement --test gpu_calibrate --test gpu_stream
//! LD_LIBRARY_PATH=$PWD/target/cuda-stand-in cargo xtask bench --quick --backend gpu
//! ```
//!
//! Keep the copy in a directory of its own: never put it where a real driver is looked
//! for.

#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

use std::ffi::c_int;
use std::sync::{Mutex, MutexGuard, PoisonError};

mod context;
mod device;
mod faults;
mod launch;
mod memory;
mod module;
mod ptx;
mod stream;

pub use context::*;
pub(crate) use context::{enter, make_sticky, sticky};
pub(crate) use device::initialized;
pub use device::*;
pub use launch::*;
pub use memory::*;
pub use module::*;
pub use stream::*;

/// `CUresult`: a C enum, returned as its 32-bit value.
pub type CUresult = u32;
/// `CUdevice`: a device ordinal.
pub type CUdevice = c_int;
/// `CUdeviceptr`: a device address (here a host address).
pub type CUdeviceptr = u64;

/// The `CUresult` codes the stand-in returns.
pub(crate) mod code {
    pub const SUCCESS: u32 = 0;
    pub const INVALID_VALUE: u32 = 1;
    pub const OUT_OF_MEMORY: u32 = 2;
    pub const NOT_INITIALIZED: u32 = 3;
    pub const NO_DEVICE: u32 = 100;
    pub const INVALID_DEVICE: u32 = 101;
    pub const INVALID_CONTEXT: u32 = 201;
    pub const INVALID_PTX: u32 = 218;
    pub const UNSUPPORTED_PTX_VERSION: u32 = 222;
    pub const INVALID_HANDLE: u32 = 400;
    pub const NOT_FOUND: u32 = 500;
    pub const ILLEGAL_ADDRESS: u32 = 700;
    pub const LAUNCH_FAILED: u32 = 719;
    pub const NOT_SUPPORTED: u32 = 801;
}

/// What the device calls itself.
pub const DEVICE_NAME: &str = "simlanes CUDA stand-in (kernels on the host CPU, not a GPU)";
/// Streaming multiprocessors (an H100 SXM's).
pub(crate) const MULTIPROCESSORS: c_int = 132;
/// Resident threads per multiprocessor (sm_90).
pub(crate) const THREADS_PER_MULTIPROCESSOR: c_int = 2048;
/// Resident blocks per multiprocessor (sm_90).
pub(crate) const BLOCKS_PER_MULTIPROCESSOR: c_int = 32;
/// Most threads in a block.
pub(crate) const MAX_BLOCK_THREADS: c_int = 1024;
/// Static shared memory a block may use without opting in.
pub(crate) const SHARED_PER_BLOCK: c_int = 48 << 10;

/// Writes `msg` to stderr, marked as the stand-in's.
pub(crate) fn say(msg: std::fmt::Arguments<'_>) {
    eprintln!("cuda-stand-in: {msg}");
}

/// Locks `m`, ignoring poisoning: no lock is held across code that can panic (kernels run
/// with no lock held), and every critical section leaves its data consistent.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `Ok(())` as `CUDA_SUCCESS`, `Err(code)` as `code`.
pub(crate) fn status(r: Result<(), CUresult>) -> CUresult {
    r.err().unwrap_or(code::SUCCESS)
}

/// Writes `v` through the caller's out-pointer, or fails with `CUDA_ERROR_INVALID_VALUE`
/// for a null one.
///
/// # Safety
/// `p` is null or valid for a write of `T`.
pub(crate) unsafe fn put<T>(p: *mut T, v: T) -> Result<(), CUresult> {
    if p.is_null() {
        return Err(code::INVALID_VALUE);
    }
    // SAFETY: non-null and valid for writes (the caller's contract); unaligned is allowed.
    unsafe { p.write_unaligned(v) };
    Ok(())
}
