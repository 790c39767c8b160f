//! The workloads of WORKLOADS.md: for each, its specification (sizes, seed, parameters),
//! validation, output type, and the `impl Simulator` method that dispatches to a backend.

pub mod binomial;
pub mod jansen_rit;
pub mod jax;
pub mod mpr;
pub mod ou;
pub mod pi;
