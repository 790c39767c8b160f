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
//! `cargo build` needs no GPU toolchain. [`ENTRY_POINTS`] lists the kernels and their
//! parameters; the host runner and `cargo xtask ptx --check` both rely on it.
#![cfg_attr(target_arch = "nvptx64", no_std)]
#![cfg_attr(target_arch = "nvptx64", feature(abi_ptx, stdarch_nvptx))]
#![cfg_attr(not(target_arch = "nvptx64"), forbid(unsafe_code))]
#![deny(missing_docs)]
#![deny(missing_debug_implementations)]

pub mod body;
pub mod calibrate;
#[cfg(target_arch = "nvptx64")]
mod entry;
pub mod stream_bench;

/// Most threads per block the host runner launches: it asks the driver's occupancy
/// calculator for the best block up to this, and uses smaller blocks for small batches so
/// that they reach every SM. The emulator runs blocks of this size; no kernel's result
/// depends on the block size (each thread works from its global index alone).
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
    // ou_chunk_sums(out: *mut f64, seed: u64, n: u32, chunks: u32, len: u64, last: u64, relax, diffuse: f64)
    ("ou_chunk_sums", &["u64", "u64", "u32", "u32", "u64", "u64", "f64", "f64"]),
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
    // JAX stream mode [entry.rs]: `key` = key_data[0] << 32 | key_data[1], `layout` 1 = legacy;
    // `count` = batch size the key is split into.
    // pi_hits_jax(hits: *mut u32, key: u64, layout: u32, count: u64, first: u64, n: u32, pairs: u64)
    ("pi_hits_jax", &["u64", "u64", "u32", "u64", "u64", "u32", "u64"]),
    // ou_final_jax / ou_path_jax(out: *mut f64, key: u64, layout: u32, count: u64, first: u64,
    //                            n: u32, num_steps: u64, x0, relax, diffuse: f64)
    ("ou_final_jax", &["u64", "u64", "u32", "u64", "u64", "u32", "u64", "f64", "f64", "f64"]),
    ("ou_path_jax", &["u64", "u64", "u32", "u64", "u64", "u32", "u64", "f64", "f64", "f64"]),
    // ou_chunk_sums_jax(out: *mut f64, key: u64, layout: u32, count: u64, n: u32, chunks: u32,
    //                   len: u64, last: u64, relax, diffuse: f64)
    ("ou_chunk_sums_jax", &["u64", "u64", "u32", "u64", "u32", "u32", "u64", "u64", "f64", "f64"]),
    // jansen_rit_jax: as jansen_rit with `seed: u64` replaced by `key: u64, layout: u32`
    (
        "jansen_rit_jax",
        &[
            "u64", "u64", "u64", "u64", "u64", "u64", "u64", "u32", "u32", "u32", "u32", "u64", "u64", "u32",
            "f32", "f32",
        ],
    ),
    // mpr_jax: as mpr with `seed: u64` replaced by `key: u64, layout: u32`
    (
        "mpr_jax",
        &[
            "u64", "u64", "u64", "u64", "u64", "u64", "u64", "u32", "u32", "u32", "u32", "u64", "u64", "u64",
            "u32", "f32", "f32",
        ],
    ),
    // binomial_histogram(hist: *mut u32, p: *const f32, points, d, n, sims, sims_per_thread:
    //                    u32, seed: u64, u: *const f32 (null: fused))  [calibrate.rs]
    ("binomial_histogram", &["u64", "u64", "u32", "u32", "u32", "u32", "u32", "u64", "u64"]),
    // BabelStream [stream_bench.rs], for T = f32 and f64 (n: u64 elements, s/v: T):
    // fill(c, n, v), copy(a, c, n), scale(c, b, n, s), add(a, b, c, n), triad(b, c, a, n, s),
    // dot(a, b, partial, n), sum(x, partial, n)
    ("stream_fill_f32", &["u64", "u64", "f32"]),
    ("stream_copy_f32", &["u64", "u64", "u64"]),
    ("stream_scale_f32", &["u64", "u64", "u64", "f32"]),
    ("stream_add_f32", &["u64", "u64", "u64", "u64"]),
    ("stream_triad_f32", &["u64", "u64", "u64", "u64", "f32"]),
    ("stream_dot_f32", &["u64", "u64", "u64", "u64"]),
    ("stream_sum_f32", &["u64", "u64", "u64"]),
    ("stream_fill_f64", &["u64", "u64", "f64"]),
    ("stream_copy_f64", &["u64", "u64", "u64"]),
    ("stream_scale_f64", &["u64", "u64", "u64", "f64"]),
    ("stream_add_f64", &["u64", "u64", "u64", "u64"]),
    ("stream_triad_f64", &["u64", "u64", "u64", "u64", "f64"]),
    ("stream_dot_f64", &["u64", "u64", "u64", "u64"]),
    ("stream_sum_f64", &["u64", "u64", "u64"]),
];
