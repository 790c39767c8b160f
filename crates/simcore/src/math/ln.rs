//! `ln` over the lane type. PLACEHOLDER: lane-wise libm until the lane-generic kernel lands.
use crate::lane::Real;

/// `ln x`, f32 lanes.
#[inline(always)]
pub fn ln_f32<L: Real<Scalar = f32>>(x: L) -> L {
    L::from_fn(|i| libm::logf(x.lane(i)))
}

/// `ln x`, f64 lanes.
#[inline(always)]
pub fn ln_f64<L: Real<Scalar = f64>>(x: L) -> L {
    L::from_fn(|i| libm::log(x.lane(i)))
}
