//! # gpu-kernels — simlanes' CUDA kernels, written in Rust
//!
//! One GPU thread carries one simulation, exactly as one lane of the scalar backend does,
//! so the kernels call the very same `simcore` functions (instantiated at the one-lane
//! type `f32`) and give the CPU's bits. Nothing here re-implements model math.
//!
//! The crate has two halves:
//!
//! * [`body`] — one function per kernel that computes what thread `tid` computes, as
//!   plain safe Rust over `simcore`. It compiles everywhere: on the host the grid
//!   emulator of `simlanes` calls it for every thread index (so tests prove the kernel
//!   logic without a GPU), and on the device the entry points call it.
//! * `entry` — thin kernel entry points: read the thread index ([`grid`]), bounds-check
//!   it, call the body, store the result. They are the only `unsafe` code besides
//!   [`host`]. On the device they are the PTX's `extern "ptx-kernel"` functions; on the
//!   host the same source compiles to plain `unsafe fn`s that [`host`] launches grid by
//!   grid for the libcuda stand-in (`crates/cuda-stand-in`), so the GPU host runner can run
//!   without a GPU. (The `kernel!` macro writes both forms from one definition.)
//! * [`calibrate`] (W3 calibrate: per-point histograms of the counts) and [`stream_bench`]
//!   (GPU BabelStream) — bodies and their own nvptx-only entries, one file each.
//!
//! Build for the device with `cargo xtask ptx` (Debian's `rustc-web` + LLVM, see
//! `xtask/src/ptx/`); the PTX is checked in under `gpu-kernels/ptx/` so a plain
//! `cargo build` needs no GPU toolchain. [`signature`] writes every kernel's parameter
//! list once; the entries, the host runner's launches and [`ENTRY_POINTS`] (which `cargo
//! xtask ptx --check` compares with the PTX) are all held to it.
#![cfg_attr(target_arch = "nvptx64", no_std)]
#![cfg_attr(target_arch = "nvptx64", feature(abi_ptx, stdarch_nvptx))]
// On the host `unsafe` is allowed only where the entries are defined and launched.
#![cfg_attr(not(target_arch = "nvptx64"), deny(unsafe_code))]
#![deny(missing_docs)]
#![deny(missing_debug_implementations)]

/// Defines a kernel entry point once for both targets: on nvptx an unmangled
/// `extern "ptx-kernel"` function (a PTX `.entry`), on the host a plain `unsafe fn` of the
/// same parameters and body, which [`host::launch`] runs for the libcuda stand-in. (A
/// kernel's parameter list is what it is: [`signature`] fixes it, so no argument-count lint.)
macro_rules! kernel {
    ($(#[$attr:meta])* pub unsafe fn $name:ident($($p:ident: $t:ty),* $(,)?) $body:block) => {
        $(#[$attr])*
        #[cfg(target_arch = "nvptx64")]
        #[unsafe(no_mangle)]
        #[allow(clippy::too_many_arguments)]
        pub unsafe extern "ptx-kernel" fn $name($($p: $t),*) $body

        $(#[$attr])*
        #[cfg(not(target_arch = "nvptx64"))]
        #[allow(clippy::too_many_arguments)]
        pub unsafe fn $name($($p: $t),*) $body
    };
}

pub mod body;
pub mod calibrate;
#[allow(unsafe_code)]
mod entry;
pub mod grid;
#[cfg(not(target_arch = "nvptx64"))]
#[allow(unsafe_code)]
pub mod host;
pub mod signature;
pub mod stream_bench;

/// Most threads per block the host runner launches: it asks the driver's occupancy
/// calculator for the best block up to this, and uses smaller blocks for small batches so
/// that they reach every SM. The emulator runs blocks of this size; no kernel's result
/// depends on the block size (each thread works from its global index alone).
pub const BLOCK_THREADS: u32 = 256;

/// One kernel of the PTX: its name and parameter list (PTX types, from its
/// [`signature`]) and, on the host, the entry point itself.
#[cfg(not(target_arch = "nvptx64"))]
#[derive(Debug, Clone, Copy)]
pub struct EntryPoint {
    /// The `.entry` name.
    pub name: &'static str,
    /// The parameters' PTX types, in order.
    pub params: &'static [&'static str],
    /// Runs the entry for the current grid thread with parameters read from an argument
    /// block ([`host::RawParams`]); [`host::launch`] calls it.
    run: unsafe fn(host::RawParams),
}

/// The entry points' table: `name in module: Signature`.
#[cfg(not(target_arch = "nvptx64"))]
macro_rules! entry_points {
    ($($name:ident in $($m:ident)::+ : $sig:ty),* $(,)?) => {
        &[$(EntryPoint {
            name: stringify!($name),
            params: signature::ptx::<$sig>(),
            // SAFETY (of the call): `host::launch`'s contract — `p` holds this entry's
            // parameters by its signature, and its buffers are valid host memory.
            run: |p| unsafe { signature::HostEntry::call($($m)::+::$name as $sig, p) },
        }),*]
    };
}

/// The kernels in the PTX, each with its parameter list in order (PTX types) and its host
/// form, derived from the kernels' [`signature`]s. `cargo xtask ptx --check` compares the
/// built PTX against this; the host runner's launches are held to the same signatures by
/// the compiler, and the libcuda stand-in finds the entries it launches here
/// ([`host::find`]).
#[cfg(not(target_arch = "nvptx64"))]
#[allow(unsafe_code)]
pub const ENTRY_POINTS: &[EntryPoint] = {
    use signature::*;
    entry_points![
        pi_hits in entry: PiHits,
        fill_uniforms in entry: Fill,
        fill_normals in entry: Fill,
        ou_final in entry: Ou,
        ou_path in entry: Ou,
        ou_chunk_sums in entry: OuChunkSums,
        ou_with_normals in entry: OuWithNormals,
        binomial_validate in entry: BinomialValidate,
        jansen_rit in entry: JansenRit,
        mpr in entry: Mpr,
        pi_hits_jax in entry: PiHitsJax,
        ou_final_jax in entry: OuJax,
        ou_path_jax in entry: OuJax,
        ou_chunk_sums_jax in entry: OuChunkSumsJax,
        jansen_rit_jax in entry: JansenRitJax,
        mpr_jax in entry: MprJax,
        binomial_histogram in calibrate::device: BinomialHistogram,
        stream_fill_f32 in stream_bench::device: StreamFill<f32>,
        stream_copy_f32 in stream_bench::device: StreamCopy<f32>,
        stream_scale_f32 in stream_bench::device: StreamScale<f32>,
        stream_add_f32 in stream_bench::device: StreamAdd<f32>,
        stream_triad_f32 in stream_bench::device: StreamTriad<f32>,
        stream_dot_f32 in stream_bench::device: StreamDot<f32>,
        stream_sum_f32 in stream_bench::device: StreamSum<f32>,
        stream_fill_f64 in stream_bench::device: StreamFill<f64>,
        stream_copy_f64 in stream_bench::device: StreamCopy<f64>,
        stream_scale_f64 in stream_bench::device: StreamScale<f64>,
        stream_add_f64 in stream_bench::device: StreamAdd<f64>,
        stream_triad_f64 in stream_bench::device: StreamTriad<f64>,
        stream_dot_f64 in stream_bench::device: StreamDot<f64>,
        stream_sum_f64 in stream_bench::device: StreamSum<f64>,
    ]
};
