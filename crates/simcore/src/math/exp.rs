//! `exp` over the lane type. PLACEHOLDER: lane-wise libm until the lane-generic kernel lands.
use crate::lane::Real;

/// `e^x`, f32 lanes.
#[inline(always)]
pub fn exp_f32<L: Real<Scalar = f32>>(x: L) -> L {
    L::from_fn(|i| libm::expf(x.lane(i)))
}

/// `e^x`, f64 lanes.
#[inline(always)]
pub fn exp_f64<L: Real<Scalar = f64>>(x: L) -> L {
    L::from_fn(|i| libm::exp(x.lane(i)))
}
