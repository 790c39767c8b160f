//! The lane abstraction: one simulation per lane, math written once.
//!
//! [`Real`] is a floating-point lane type: `f32` or `f64` (one lane: the scalar reference
//! backend and one GPU thread) or a SIMD vector (`wide::f32x8`, `f64x4`; `simd` feature).
//! It offers only operations that are *correctly rounded on every target* — `+ - * /`,
//! fused `mul_add`, `sqrt`, comparisons, `select` and bit casts — so anything built from
//! them gives the same bits on scalar, SIMD and PTX. Elementary functions (`exp`, `ln`,
//! `sin`/`cos`) are built from those in [`crate::math`] and reached through [`Precision`].
//!
//! [`UintLane`] is the matching unsigned-integer lane: the bit pattern of a [`Real`]
//! (`Real::Bits`, u32 or u64 per lane) and the 32-bit words random generators produce
//! (`Real::Words`, u32 per lane, as many lanes as the float type).

mod scalar;
#[cfg(feature = "simd")]
mod simd;

use core::fmt::Debug;
use core::ops::{Add, BitAnd, BitOr, BitXor, Div, Mul, Neg, Not, Sub};

/// `[x[idx[0] % 8], …, x[idx[7] % 8]]`: eight f32 lanes picked by run-time indices — what
/// the W3 counting's filter uses to pack the in-range uniforms of a row (see
/// `models::binomial_sorted`). One `vpermps` with AVX2 and the `simd` feature (wide has no
/// variable permute, and LLVM lowered the plain loop to eight extracts and loads); a lane
/// loop elsewhere. A test checks both agree.
#[inline(always)]
pub fn pick8(x: [f32; 8], idx: &[u8; 8]) -> [f32; 8] {
    #[cfg(all(feature = "simd", target_arch = "x86_64", target_feature = "avx2"))]
    {
        simd::pick8_avx2(x, idx)
    }
    #[cfg(not(all(feature = "simd", target_arch = "x86_64", target_feature = "avx2")))]
    {
        pick8_portable(x, idx)
    }
}

/// The lane loop behind [`pick8`] (the fallback, and the oracle its AVX2 path is tested
/// against).
#[cfg_attr(all(feature = "simd", target_arch = "x86_64", target_feature = "avx2"), allow(dead_code))]
#[inline(always)]
fn pick8_portable(x: [f32; 8], idx: &[u8; 8]) -> [f32; 8] {
    core::array::from_fn(|k| x[usize::from(idx[k] & 7)])
}

/// An unsigned-integer lane (`u32`, `u64` or a SIMD vector of them). Arithmetic wraps.
pub trait UintLane:
    Copy + Debug + Send + Sync + 'static + BitAnd<Output = Self> + BitOr<Output = Self> + BitXor<Output = Self>
{
    /// The integer held in one lane (`u32` or `u64`).
    type Scalar: Copy + Debug;
    /// Number of lanes.
    const LANES: usize;
    /// Every lane set to `x`.
    fn splat(x: Self::Scalar) -> Self;
    /// Lane `i` is `f(i)`.
    fn from_fn(f: impl FnMut(usize) -> Self::Scalar) -> Self;
    /// The value in lane `i` (`i < LANES`).
    fn lane(self, i: usize) -> Self::Scalar;
    /// Wrapping addition.
    fn wrapping_add(self, other: Self) -> Self;
    /// Wrapping subtraction.
    fn wrapping_sub(self, other: Self) -> Self;
    /// Logical shift left by `n` (< bit width).
    fn shl(self, n: u32) -> Self;
    /// Logical shift right by `n` (< bit width).
    fn shr(self, n: u32) -> Self;
    /// Full 32×32→64 product of each lane with `m`, as `(high word, low word)`.
    /// Only meaningful for 32-bit lanes (Philox's multiply); 64-bit lanes use the low
    /// 32 bits of each lane.
    fn mul_hi_lo(self, m: u32) -> (Self, Self);
}

/// A floating-point lane: `f32`, `f64`, or a SIMD vector of them.
///
/// Every method is correctly rounded (IEEE 754 round-to-nearest-even) on every backend,
/// which is what makes scalar, SIMD and GPU results bit-identical.
pub trait Real:
    Copy
    + Debug
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    /// The float held in one lane (`f32` or `f64`); it chooses the elementary functions.
    type Scalar: Precision;
    /// Result of a lane-wise comparison.
    type Mask: Copy
        + Debug
        + BitAnd<Output = Self::Mask>
        + BitOr<Output = Self::Mask>
        + Not<Output = Self::Mask>;
    /// The bit pattern of each lane (u32 lanes for f32, u64 lanes for f64).
    type Bits: UintLane<Scalar = <Self::Scalar as Precision>::Bits>;
    /// 32-bit random words, one per lane.
    type Words: UintLane<Scalar = u32>;
    /// Number of lanes (simulations carried side by side).
    const LANES: usize;

    /// Every lane set to `x`.
    fn splat(x: Self::Scalar) -> Self;
    /// Lane `i` is `f(i)`.
    fn from_fn(f: impl FnMut(usize) -> Self::Scalar) -> Self;
    /// The value in lane `i` (`i < LANES`).
    fn lane(self, i: usize) -> Self::Scalar;
    /// `self * a + b` with a single rounding.
    fn mul_add(self, a: Self, b: Self) -> Self;
    /// Correctly rounded square root.
    fn sqrt(self) -> Self;
    /// `self < other`, lane-wise (false when either is NaN).
    fn simd_lt(self, other: Self) -> Self::Mask;
    /// `self <= other`, lane-wise (false when either is NaN).
    fn simd_le(self, other: Self) -> Self::Mask;
    /// `self == other`, lane-wise (false when either is NaN).
    fn simd_eq(self, other: Self) -> Self::Mask;
    /// Lane-wise `if mask { t } else { f }`.
    fn select(mask: Self::Mask, t: Self, f: Self) -> Self;
    /// Lane-wise `if mask { t } else { f }` on integer bits.
    fn select_bits(mask: Self::Mask, t: Self::Bits, f: Self::Bits) -> Self::Bits;
    /// Bit pattern of each lane.
    fn to_bits(self) -> Self::Bits;
    /// Float from bit patterns.
    fn from_bits(bits: Self::Bits) -> Self;
    /// Exact conversion of integers below `2^(mantissa bits + 1)` (2^24 for f32, 2^53 for
    /// f64); larger inputs are out of contract.
    fn from_uint_exact(bits: Self::Bits) -> Self;
    /// Widen 32-bit words to `Bits` (zero-extending for f64).
    fn bits_from_words(words: Self::Words) -> Self::Bits;
    /// True if any lane of the mask is set.
    fn any(mask: Self::Mask) -> bool;
    /// The mask as bits: bit `l` set where lane `l` is (`vmovmskps` on SIMD lanes).
    fn bitmask(mask: Self::Mask) -> u32;

    /// `self > other`, lane-wise.
    #[inline(always)]
    fn simd_gt(self, other: Self) -> Self::Mask {
        other.simd_lt(self)
    }
    /// `self >= other`, lane-wise.
    #[inline(always)]
    fn simd_ge(self, other: Self) -> Self::Mask {
        other.simd_le(self)
    }
    /// Larger of two lanes, written as compare + select so NaN handling is the same on
    /// every target: returns `other` unless `self > other`.
    #[inline(always)]
    fn max(self, other: Self) -> Self {
        Self::select(self.simd_gt(other), self, other)
    }
    /// Smaller of two lanes: returns `other` unless `self < other` (compare + select).
    #[inline(always)]
    fn min(self, other: Self) -> Self {
        Self::select(self.simd_lt(other), self, other)
    }
    /// Lane-wise `e^self`; accuracy in [`crate::math`].
    #[inline(always)]
    fn exp(self) -> Self {
        Self::Scalar::exp(self)
    }
    /// Lane-wise natural logarithm; accuracy in [`crate::math`].
    #[inline(always)]
    fn ln(self) -> Self {
        Self::Scalar::ln(self)
    }
    /// Lane-wise `(sin 2πu, cos 2πu)` for `u = self`; accuracy in [`crate::math`].
    #[inline(always)]
    fn sin_cos_2pi(self) -> (Self, Self) {
        Self::Scalar::sin_cos_2pi(self)
    }
}

/// The per-precision half of the lane math: `f32` and `f64` each supply their own
/// constants and elementary-function kernels, generic over every lane of that precision.
pub trait Precision:
    Copy
    + Debug
    + Default
    + PartialOrd
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    /// Unsigned integer of the same width (`u32` / `u64`).
    type Bits: Copy + Debug;
    /// Random 32-bit words one uniform of this precision consumes (1 for f32, 2 for f64).
    const WORDS_PER_UNIFORM: usize;
    /// `x` rounded to this precision.
    fn from_f64(x: f64) -> Self;
    /// `self` widened (exactly) to f64.
    fn to_f64(self) -> f64;
    /// True unless NaN or ±inf.
    fn is_finite(self) -> bool;
    /// `e^x` for every lane of `x`.
    fn exp<L: Real<Scalar = Self>>(x: L) -> L;
    /// `ln x` for every lane of `x`.
    fn ln<L: Real<Scalar = Self>>(x: L) -> L;
    /// `(sin 2πu, cos 2πu)` for every lane of `u`.
    fn sin_cos_2pi<L: Real<Scalar = Self>>(u: L) -> (L, L);
    /// [`Precision::ln`] for positive normal finite lanes only (the same bits there, fewer
    /// operations: no subnormal scaling, no special values).
    fn ln_normal<L: Real<Scalar = Self>>(x: L) -> L;
    /// [`Precision::sin_cos_2pi`] for lanes with `|u| ≤ 1` only (the same bits there, fewer
    /// operations: no whole-turn reduction, no special values).
    fn sin_cos_2pi_turn<L: Real<Scalar = Self>>(u: L) -> (L, L);
    /// Uniform in `[0, 1)` from the stream words `lo` (and `hi` for f64), exactly as
    /// WORKLOADS.md fixes: f32 `(lo >> 8)·2^-24`; f64 `((hi << 32 | lo) >> 11)·2^-53`.
    fn uniform<L: Real<Scalar = Self>>(lo: L::Words, hi: L::Words) -> L;
}
