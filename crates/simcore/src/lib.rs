//! # simcore — the simulator math of simlanes, written once
//!
//! Everything a simulation computes lives here: random streams ([`rng`]), elementary
//! functions ([`math`]), models and their integrator ([`models`]) and test statistics
//! ([`stats`]). All of it is written against the [`Real`] lane trait, so the same source
//! runs on one `f32`/`f64` (the scalar reference and one GPU thread) and on SIMD vectors
//! (`wide::f32x8`, `f64x4`, behind the `simd` feature) — and gives the same bits on each.
//!
//! The crate is `#![no_std]`, forbids `unsafe` and allocates nothing: backends own the
//! memory and the loops; this crate owns the arithmetic.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(missing_debug_implementations)]
#![cfg_attr(target_arch = "nvptx64", feature(core_float_math))]

#[cfg(feature = "std")]
extern crate std;

pub mod error;
pub mod lane;
pub mod math;
pub mod models;
pub mod rng;
pub mod stats;

pub use error::ParamError;
pub use lane::{Precision, Real, UintLane};
