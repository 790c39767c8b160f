//! `sin`/`cos` of `2πu` over the lane type. PLACEHOLDER: lane-wise libm until the
//! lane-generic kernel lands.
use crate::lane::Real;

/// `(sin 2πu, cos 2πu)`, f32 lanes.
#[inline(always)]
pub fn sin_cos_2pi_f32<L: Real<Scalar = f32>>(u: L) -> (L, L) {
    let t = core::f32::consts::TAU;
    (L::from_fn(|i| libm::sinf(t * u.lane(i))), L::from_fn(|i| libm::cosf(t * u.lane(i))))
}

/// `(sin 2πu, cos 2πu)`, f64 lanes.
#[inline(always)]
pub fn sin_cos_2pi_f64<L: Real<Scalar = f64>>(u: L) -> (L, L) {
    let t = core::f64::consts::TAU;
    (L::from_fn(|i| libm::sin(t * u.lane(i))), L::from_fn(|i| libm::cos(t * u.lane(i))))
}
