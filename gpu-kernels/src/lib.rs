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
//! * `entry` (nvptx only) — thin `extern "ptx-kernel"` functions: read the thread index,
//!   bounds-check it, call the body, store the result. They are the only `unsafe` code.
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
#![cfg_attr(not(target_arch = "nvptx64"), forbid(unsafe_code))]
#![deny(missing_docs)]
#![deny(missing_debug_implementations)]

pub mod body;
pub mod calibrate;
#[cfg(target_arch = "nvptx64")]
mod entry;
pub mod signature;
pub mod stream_bench;

/// Most threads per block the host runner launches: it asks the driver's occupancy
/// calculator for the best block up to this, and uses smaller blocks for small batches so
/// that they reach every SM. The emulator runs blocks of this size; no kernel's result
/// depends on the block size (each thread works from its global index alone).
pub const BLOCK_THREADS: u32 = 256;

/// The kernels in the PTX, each with its parameter list in order (PTX types), as
/// `(name, params)`, derived from the kernels' [`signature`]s. `cargo xtask ptx --check`
/// compares the built PTX against this; the host runner's launches are held to the same
/// signatures by the compiler.
#[cfg(not(target_arch = "nvptx64"))]
pub const ENTRY_POINTS: &[(&str, &[&str])] = {
    use signature::*;
    &[
        ("pi_hits", ptx::<PiHits>()),
        ("fill_uniforms", ptx::<Fill>()),
        ("fill_normals", ptx::<Fill>()),
        ("ou_final", ptx::<Ou>()),
        ("ou_path", ptx::<Ou>()),
        ("ou_chunk_sums", ptx::<OuChunkSums>()),
        ("ou_with_normals", ptx::<OuWithNormals>()),
        ("binomial_validate", ptx::<BinomialValidate>()),
        ("jansen_rit", ptx::<JansenRit>()),
        ("mpr", ptx::<Mpr>()),
        ("pi_hits_jax", ptx::<PiHitsJax>()),
        ("ou_final_jax", ptx::<OuJax>()),
        ("ou_path_jax", ptx::<OuJax>()),
        ("ou_chunk_sums_jax", ptx::<OuChunkSumsJax>()),
        ("jansen_rit_jax", ptx::<JansenRitJax>()),
        ("mpr_jax", ptx::<MprJax>()),
        ("binomial_histogram", ptx::<BinomialHistogram>()),
        ("stream_fill_f32", ptx::<StreamFill<f32>>()),
        ("stream_copy_f32", ptx::<StreamCopy<f32>>()),
        ("stream_scale_f32", ptx::<StreamScale<f32>>()),
        ("stream_add_f32", ptx::<StreamAdd<f32>>()),
        ("stream_triad_f32", ptx::<StreamTriad<f32>>()),
        ("stream_dot_f32", ptx::<StreamDot<f32>>()),
        ("stream_sum_f32", ptx::<StreamSum<f32>>()),
        ("stream_fill_f64", ptx::<StreamFill<f64>>()),
        ("stream_copy_f64", ptx::<StreamCopy<f64>>()),
        ("stream_scale_f64", ptx::<StreamScale<f64>>()),
        ("stream_add_f64", ptx::<StreamAdd<f64>>()),
        ("stream_triad_f64", ptx::<StreamTriad<f64>>()),
        ("stream_dot_f64", ptx::<StreamDot<f64>>()),
        ("stream_sum_f64", ptx::<StreamSum<f64>>()),
    ]
};
