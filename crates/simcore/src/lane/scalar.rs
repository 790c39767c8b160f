//! One-lane implementations: `f32`, `f64`, `u32`, `u64`. These are the scalar reference
//! backend and, compiled for `nvptx64`, one GPU thread.
//!
//! `mul_add` and `sqrt` must be the hardware's correctly rounded instructions: on the host
//! they come from `std` (feature `std`, inlined `vfmadd`/`vsqrt`), on nvptx from
//! `core::f32::math` (`fma.rn`/`sqrt.rn`), elsewhere from `libm` (same bits, slower).

use super::{Precision, Real, UintLane};
use crate::math;

macro_rules! uint_lane {
    ($t:ty) => {
        impl UintLane for $t {
            type Scalar = $t;
            const LANES: usize = 1;
            #[inline(always)]
            fn splat(x: $t) -> Self {
                x
            }
            #[inline(always)]
            fn from_fn(mut f: impl FnMut(usize) -> $t) -> Self {
                f(0)
            }
            #[inline(always)]
            fn lane(self, _i: usize) -> $t {
                self
            }
            #[inline(always)]
            fn wrapping_add(self, other: Self) -> Self {
                <$t>::wrapping_add(self, other)
            }
            #[inline(always)]
            fn wrapping_sub(self, other: Self) -> Self {
                <$t>::wrapping_sub(self, other)
            }
            #[inline(always)]
            fn shl(self, n: u32) -> Self {
                self << n
            }
            #[inline(always)]
            fn shr(self, n: u32) -> Self {
                self >> n
            }
            #[inline(always)]
            fn mul_hi_lo(self, m: u32) -> (Self, Self) {
                let p = u64::from(self as u32) * u64::from(m);
                ((p >> 32) as $t, (p as u32) as $t)
            }
        }
    };
}
uint_lane!(u32);
uint_lane!(u64);

#[inline(always)]
fn fma32(a: f32, b: f32, c: f32) -> f32 {
    #[cfg(target_arch = "nvptx64")]
    {
        core::f32::math::mul_add(a, b, c)
    }
    #[cfg(all(not(target_arch = "nvptx64"), feature = "std"))]
    {
        a.mul_add(b, c)
    }
    #[cfg(all(not(target_arch = "nvptx64"), not(feature = "std")))]
    {
        libm::fmaf(a, b, c)
    }
}

#[inline(always)]
fn sqrt32(a: f32) -> f32 {
    #[cfg(target_arch = "nvptx64")]
    {
        core::f32::math::sqrt(a)
    }
    #[cfg(all(not(target_arch = "nvptx64"), feature = "std"))]
    {
        a.sqrt()
    }
    #[cfg(all(not(target_arch = "nvptx64"), not(feature = "std")))]
    {
        libm::sqrtf(a)
    }
}

#[inline(always)]
fn fma64(a: f64, b: f64, c: f64) -> f64 {
    #[cfg(target_arch = "nvptx64")]
    {
        core::f64::math::mul_add(a, b, c)
    }
    #[cfg(all(not(target_arch = "nvptx64"), feature = "std"))]
    {
        a.mul_add(b, c)
    }
    #[cfg(all(not(target_arch = "nvptx64"), not(feature = "std")))]
    {
        libm::fma(a, b, c)
    }
}

#[inline(always)]
fn sqrt64(a: f64) -> f64 {
    #[cfg(target_arch = "nvptx64")]
    {
        core::f64::math::sqrt(a)
    }
    #[cfg(all(not(target_arch = "nvptx64"), feature = "std"))]
    {
        a.sqrt()
    }
    #[cfg(all(not(target_arch = "nvptx64"), not(feature = "std")))]
    {
        libm::sqrt(a)
    }
}

macro_rules! real_scalar {
    ($t:ty, $bits:ty, $fma:ident, $sqrt:ident) => {
        impl Real for $t {
            type Scalar = $t;
            type Mask = bool;
            type Bits = $bits;
            type Words = u32;
            const LANES: usize = 1;
            #[inline(always)]
            fn splat(x: $t) -> Self {
                x
            }
            #[inline(always)]
            fn from_fn(mut f: impl FnMut(usize) -> $t) -> Self {
                f(0)
            }
            #[inline(always)]
            fn lane(self, _i: usize) -> $t {
                self
            }
            #[inline(always)]
            fn mul_add(self, a: Self, b: Self) -> Self {
                $fma(self, a, b)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                $sqrt(self)
            }
            #[inline(always)]
            fn simd_lt(self, other: Self) -> bool {
                self < other
            }
            #[inline(always)]
            fn simd_le(self, other: Self) -> bool {
                self <= other
            }
            #[inline(always)]
            fn simd_eq(self, other: Self) -> bool {
                self == other
            }
            #[inline(always)]
            fn select(mask: bool, t: Self, f: Self) -> Self {
                if mask { t } else { f }
            }
            #[inline(always)]
            fn select_bits(mask: bool, t: $bits, f: $bits) -> $bits {
                if mask { t } else { f }
            }
            #[inline(always)]
            fn to_bits(self) -> $bits {
                <$t>::to_bits(self)
            }
            #[inline(always)]
            fn from_bits(bits: $bits) -> Self {
                <$t>::from_bits(bits)
            }
            #[inline(always)]
            fn from_uint_exact(bits: $bits) -> Self {
                bits as $t
            }
            #[inline(always)]
            fn bits_from_words(words: u32) -> $bits {
                <$bits>::from(words)
            }
            #[inline(always)]
            fn any(mask: bool) -> bool {
                mask
            }
            #[inline(always)]
            fn bitmask(mask: bool) -> u32 {
                u32::from(mask)
            }
        }
    };
}
real_scalar!(f32, u32, fma32, sqrt32);
real_scalar!(f64, u64, fma64, sqrt64);

impl Precision for f32 {
    type Bits = u32;
    const WORDS_PER_UNIFORM: usize = 1;
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    #[inline(always)]
    fn is_finite(self) -> bool {
        f32::is_finite(self)
    }
    #[inline(always)]
    fn exp<L: Real<Scalar = Self>>(x: L) -> L {
        math::exp::exp_f32(x)
    }
    #[inline(always)]
    fn ln<L: Real<Scalar = Self>>(x: L) -> L {
        math::ln::ln_f32(x)
    }
    #[inline(always)]
    fn sin_cos_2pi<L: Real<Scalar = Self>>(u: L) -> (L, L) {
        math::sincos::sin_cos_2pi_f32(u)
    }
    #[inline(always)]
    fn ln_normal<L: Real<Scalar = Self>>(x: L) -> L {
        math::ln::ln_normal_f32(x)
    }
    #[inline(always)]
    fn sin_cos_2pi_turn<L: Real<Scalar = Self>>(u: L) -> (L, L) {
        math::sincos::sin_cos_2pi_turn_f32(u)
    }
    #[inline(always)]
    fn uniform<L: Real<Scalar = Self>>(lo: L::Words, _hi: L::Words) -> L {
        // (w >> 8) < 2^24 converts exactly; the scaling by 2^-24 is exact.
        L::from_uint_exact(L::bits_from_words(lo.shr(8))) * L::splat(1.0 / 16_777_216.0)
    }
}

impl Precision for f64 {
    type Bits = u64;
    const WORDS_PER_UNIFORM: usize = 2;
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn is_finite(self) -> bool {
        f64::is_finite(self)
    }
    #[inline(always)]
    fn exp<L: Real<Scalar = Self>>(x: L) -> L {
        math::exp::exp_f64(x)
    }
    #[inline(always)]
    fn ln<L: Real<Scalar = Self>>(x: L) -> L {
        math::ln::ln_f64(x)
    }
    #[inline(always)]
    fn sin_cos_2pi<L: Real<Scalar = Self>>(u: L) -> (L, L) {
        math::sincos::sin_cos_2pi_f64(u)
    }
    #[inline(always)]
    fn ln_normal<L: Real<Scalar = Self>>(x: L) -> L {
        math::ln::ln_normal_f64(x)
    }
    #[inline(always)]
    fn sin_cos_2pi_turn<L: Real<Scalar = Self>>(u: L) -> (L, L) {
        math::sincos::sin_cos_2pi_turn_f64(u)
    }
    #[inline(always)]
    fn uniform<L: Real<Scalar = Self>>(lo: L::Words, hi: L::Words) -> L {
        let bits = L::bits_from_words(hi).shl(32) | L::bits_from_words(lo);
        // (bits >> 11) < 2^53 converts exactly; the scaling by 2^-53 is exact.
        L::from_uint_exact(bits.shr(11)) * L::splat(1.0 / 9_007_199_254_740_992.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_f32_matches_contract() {
        for w in [0u32, 1, 255, 256, 0x8000_0000, u32::MAX] {
            let u: f32 = <f32 as Precision>::uniform::<f32>(w, 0);
            assert_eq!(u, (w >> 8) as f32 * 2f32.powi(-24));
            assert!((0.0..1.0).contains(&u));
        }
    }

    #[test]
    fn uniform_f64_matches_contract() {
        for (lo, hi) in [(0u32, 0u32), (u32::MAX, u32::MAX), (0x1234_5678, 0x9abc_def0)] {
            let u: f64 = <f64 as Precision>::uniform::<f64>(lo, hi);
            let want = (((u64::from(hi) << 32) | u64::from(lo)) >> 11) as f64 * 2f64.powi(-53);
            assert_eq!(u, want);
            assert!((0.0..1.0).contains(&u));
        }
    }

    #[test]
    fn mul_hi_lo_is_the_full_product() {
        let (hi, lo) = 0xffff_ffffu32.mul_hi_lo(0xD251_1F53);
        let p = 0xffff_ffffu64 * 0xD251_1F53u64;
        assert_eq!((hi, lo), ((p >> 32) as u32, p as u32));
    }

    #[test]
    fn min_max_return_other_on_nan() {
        assert!(Real::max(f32::NAN, 1.0) == 1.0);
        assert!(Real::max(1.0f32, f32::NAN).is_nan());
        assert_eq!(Real::min(2.0f64, 3.0), 2.0);
    }
}
