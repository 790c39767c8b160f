//! The scalar reference backend: one simulation at a time in plain `f32`/`f64`, clear and
//! obviously correct — the oracle every other backend is tested against.

pub mod binomial;
pub mod jansen_rit;
pub mod mpr;
pub mod ou;
pub mod pi;
