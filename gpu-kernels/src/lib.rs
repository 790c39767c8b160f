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
//!
//! Build for the device with `cargo xtask ptx` (Debian's `rustc-web` + LLVM, see
//! `xtask/src/ptx/`); the PTX is checked in under `gpu-kernels/ptx/` so a plain
//! `cargo build` needs no GPU toolchain. [`ENTRY_POINTS`] lists the kernels and their
//! parameters; the host runner and `cargo xtask ptx --check` both rely on it.
#![cfg_attr(target_arch = "nvptx64", no_std)]
#![cfg_attr(target_arch = "nvptx64", feature(abi_ptx, stdarch_nvptx))]
#![cfg_attr(not(target_arch = "nvptx64"), forbid(unsafe_code))]
#![deny(missing_docs)]
#![deny(missing_debug_implementations)]

pub mod body;
#[cfg(target_arch = "nvptx64")]
mod entry;

/// Threads per block the host runner launches (and the emulator mimics): a multiple of
/// the warp size that keeps every kernel's registers within one SM's file.
pub const BLOCK_THREADS: u32 = 256;

/// The kernels in the PTX, each with its parameter list in order (PTX types), as
/// `(name, params)`. `cargo xtask ptx --check` compares the built PTX against this and the
/// host runner's launches must follow it.
pub const ENTRY_POINTS: &[(&str, &[&str])] = &[
    // pi_hits(hits: *mut u32, seed: u64, first: u64, n: u32, pairs: u64)
    ("pi_hits", &["u64", "u64", "u64", "u32", "u64"]),
    // fill_uniforms(out: *mut f32, seed: u64, first: u64, n: u32, count: u32)
    ("fill_uniforms", &["u64", "u64", "u64", "u32", "u32"]),
    // fill_normals(out: *mut f32, seed: u64, first: u64, n: u32, count: u32)
    ("fill_normals", &["u64", "u64", "u64", "u32", "u32"]),
    // ou_final(out: *mut f64, seed: u64, first: u64, n: u32, num_steps: u64, x0, relax, diffuse: f64)
    ("ou_final", &["u64", "u64", "u64", "u32", "u64", "f64", "f64", "f64"]),
    // ou_path(out: *mut f64, seed: u64, first: u64, n: u32, num_steps: u64, x0, relax, diffuse: f64)
    ("ou_path", &["u64", "u64", "u64", "u32", "u64", "f64", "f64", "f64"]),
    // ou_with_normals(out: *mut f64, z: *const f64, n: u32, num_steps: u64, x0, relax, diffuse: f64)
    ("ou_with_normals", &["u64", "u64", "u32", "u64", "f64", "f64", "f64"]),
    // binomial_validate(partial: *mut u32, p: *const f32, points, d, n, sims, sims_per_thread: u32,
    //                   lambda: f32, seed: u64, u: *const f32 (null: fused))
    ("binomial_validate", &["u64", "u64", "u32", "u32", "u32", "u32", "u32", "f32", "u64", "u64"]),
    // jansen_rit(x: *mut f32, work: *mut f32, weights: *const f32, lags: *const u8 (null: no
    //            delays), k, mu, params: *const f32, nn, batch, k_len, mu_len: u32, nt: u64,
    //            seed: u64, dt: f32, sigma: f32)
    (
        "jansen_rit",
        &[
            "u64", "u64", "u64", "u64", "u64", "u64", "u64", "u32", "u32", "u32", "u32", "u64", "u64", "f32",
            "f32",
        ],
    ),
    // mpr(x: *mut f32, std_r: *mut f64, work: *mut f32, weights, k, eta, params: *const f32,
    //     nn, batch, k_len, eta_len: u32, nt: u64, stat_first: u64, seed: u64, dt, sigma: f32)
    (
        "mpr",
        &[
            "u64", "u64", "u64", "u64", "u64", "u64", "u64", "u32", "u32", "u32", "u32", "u64", "u64", "u64",
            "f32", "f32",
        ],
    ),
];
