//! Elementary functions written once over the lane type.
//!
//! Built only from correctly rounded lane operations (`mul_add`, `*`, `+`, `-`, `/`,
//! `sqrt`, `select`) and bit manipulation, so scalar, SIMD and PTX give the same bits.
//! `libm` is their accuracy oracle in tests; each function's doc states its measured
//! maximum error.

pub mod exp;
pub mod ln;
pub mod sincos;
