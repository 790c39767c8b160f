//! Backends: how each workload's core math is looped over simulations and where its data
//! lives. The math itself is in `simcore`; a backend never re-implements it.

pub mod gpu;
pub(crate) mod heun_group;
pub mod scalar;
pub mod simd;
pub mod threaded;
