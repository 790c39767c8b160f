//! SIMD lane implementations for `wide` vectors: [`Real`] for `f32x8`, `f64x4` and their
//! two-register forms `f32x16`, `f64x8`; [`UintLane`] for `u32x4`, `u32x8`, `u32x16`,
//! `u64x4` and `u64x8` (`simd` feature).
//!
//! Why these and not others: `f32x8`/`f64x4` fill one AVX2 `ymm` register (the build
//! floor is x86-64-v3), so one vector is one instruction. `f32x8` pairs with `u32x8`
//! words (Philox runs 8 streams at once); `f64x4` takes its words as `u32x4` (one word per
//! lane, as [`Real::Words`] requires) and its bits as `u64x4`. The two-register forms
//! (two AVX2 vectors per operation) run two independent dependency chains side by side;
//! `f64x8` also takes its words as one full `u32x8`, so one Philox call feeds all its
//! lanes (W2's f64 Box–Muller normals: 1.15× the `f64x4` pair it replaced).
//!
//! Every method maps to a single correctly rounded instruction (`vfmadd`, `vsqrtp`,
//! ordered `vcmpp`, `vblendvp`) or to exact integer/bit work, so a lane gives the same
//! bits as the scalar `f32`/`f64` implementation — the tests below check this lane by lane
//! over random bit patterns, NaN, infinities and subnormals included. Two places need more
//! than a one-line mapping:
//!
//! * Philox's 32×32→64 multiply ([`UintLane::mul_hi_lo`] on `u32x8`/`u32x4`): AVX2 has
//!   only `vpmuludq` (even 32-bit lanes → 64-bit products). [`mul_hi_lo_u32x8`] runs it
//!   on the even and the odd lanes and blends the halves back; those and the AVX-512
//!   form for `u32x16` (one `zmm` register in x86-64-v4 builds, else two `u32x8` halves)
//!   are the places this crate calls `safe_arch` directly. Other targets use a lane
//!   loop; tests check all of them agree.
//! * `f64x4::from_uint_exact`: AVX2 has no u64→f64 conversion. Integers below 2^53 are
//!   converted exactly by the magic-number trick in [`u53_to_f64x4`].
//!
//! **Caution for code on concrete vectors:** `wide` has inherent methods of the same names
//! (`exp`, `ln`, `sqrt`, `mul_add`, `max`, `min`, `simd_lt`, …), and inherent methods win
//! method resolution — `v.exp()` on an `f32x8` is wide's approximation, not
//! [`Real::exp`], and `v.max(w)` has wide's NaN rules. Generic code (`L: Real`) is not
//! affected; concrete code must write `Real::exp(v)`.
//!
//! FMA must be compiled in: without it `wide`'s `mul_add` silently becomes `a*b + c`
//! (two roundings) while scalar `f32::mul_add` stays fused, and SIMD stops giving the
//! scalar bits. The `compile_error!` below refuses such a build on x86_64.

use super::{Real, UintLane};
use core::ops::{BitAnd, BitOr, Not};
use wide::{f32x8, f32x16, f64x4, f64x8, u32x4, u32x8, u32x16, u64x4, u64x8};

// Not under rustdoc: it does not receive the target rustflags, and documents no arithmetic.
#[cfg(all(target_arch = "x86_64", not(target_feature = "fma"), not(doc)))]
compile_error!(
    "simcore's `simd` feature needs FMA on x86_64 (build with -C target-cpu=x86-64-v3 or \
     -C target-feature=+avx2,+fma, as .cargo/config.toml does): without it wide's mul_add \
     rounds twice and SIMD lanes stop matching the scalar reference bit for bit"
);

macro_rules! uint_lane_common {
    ($t:ty, $s:ty, $n:expr) => {
        type Scalar = $s;
        const LANES: usize = $n;
        #[inline(always)]
        fn splat(x: $s) -> Self {
            <$t>::splat(x)
        }
        #[inline(always)]
        fn from_fn(f: impl FnMut(usize) -> $s) -> Self {
            <$t>::new(core::array::from_fn(f))
        }
        #[inline(always)]
        fn lane(self, i: usize) -> $s {
            self.as_array()[i]
        }
        #[inline(always)]
        fn wrapping_add(self, other: Self) -> Self {
            // wide's integer `+`/`-` wrap (vpaddd/vpaddq).
            self + other
        }
        #[inline(always)]
        fn wrapping_sub(self, other: Self) -> Self {
            self - other
        }
        #[inline(always)]
        fn shl(self, n: u32) -> Self {
            self << n
        }
        #[inline(always)]
        fn shr(self, n: u32) -> Self {
            self >> n
        }
    };
}

impl UintLane for u32x8 {
    uint_lane_common!(u32x8, u32, 8);
    #[inline(always)]
    fn mul_hi_lo(self, m: u32) -> (Self, Self) {
        mul_hi_lo_u32x8(self, m)
    }
}

impl UintLane for u32x16 {
    uint_lane_common!(u32x16, u32, 16);
    #[inline(always)]
    fn mul_hi_lo(self, m: u32) -> (Self, Self) {
        #[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
        {
            mul_hi_lo_u32x16_avx512(self, m)
        }
        #[cfg(not(all(target_arch = "x86_64", target_feature = "avx512f")))]
        {
            mul_hi_lo_u32x16_halves(self, m)
        }
    }
}

/// [`UintLane::mul_hi_lo`] of `u32x16` as two independent [`mul_hi_lo_u32x8`] halves
/// (without AVX-512, where `u32x16` is two `ymm` registers: twice the instruction-level
/// parallelism of one), and the oracle the AVX-512 path is tested against.
#[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "avx512f"))))]
#[inline(always)]
fn mul_hi_lo_u32x16_halves(a: u32x16, m: u32) -> (u32x16, u32x16) {
    let x = a.to_array();
    let (h0, l0) = mul_hi_lo_u32x8(u32x8::new(core::array::from_fn(|i| x[i])), m);
    let (h1, l1) = mul_hi_lo_u32x8(u32x8::new(core::array::from_fn(|i| x[8 + i])), m);
    let join = |a: u32x8, b: u32x8| {
        let (a, b) = (a.to_array(), b.to_array());
        u32x16::new(core::array::from_fn(|i| if i < 8 { a[i] } else { b[i - 8] }))
    };
    (join(h0, h1), join(l0, l1))
}

/// [`mul_hi_lo_u32x8`] on one AVX-512 `zmm` register (x86-64-v4 builds, where `u32x16`
/// is one register): the same even/odd `vpmuludq` pair, the halves put back in place by
/// two masked blends (`vpblendmd` with mask `0xAAAA`): 16 products in 7 instructions.
#[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
#[inline(always)]
fn mul_hi_lo_u32x16_avx512(a: u32x16, m: u32) -> (u32x16, u32x16) {
    use safe_arch::{
        blend_varying_i32_m512i, m512i, mul_u32_wide_m512i, shl_all_u64_m512i, shr_all_u64_m512i,
    };
    let x = m512i(a.into());
    let mm = m512i(u32x16::splat(m).into());
    // Products of lanes 0,2,…,14 and of lanes 1,3,…,15 (each as u64: lo, hi words).
    let even = mul_u32_wide_m512i(x, mm);
    let odd = mul_u32_wide_m512i(shr_all_u64_m512i(x, 32), mm);
    // Odd lanes (mask bits set) from the second operand, as in the AVX2 version.
    let hi = blend_varying_i32_m512i(shr_all_u64_m512i(even, 32), odd, 0xAAAA);
    let lo = blend_varying_i32_m512i(even, shl_all_u64_m512i(odd, 32), 0xAAAA);
    (u32x16::from(hi.0), u32x16::from(lo.0))
}

impl UintLane for u32x4 {
    uint_lane_common!(u32x4, u32, 4);
    #[inline(always)]
    fn mul_hi_lo(self, m: u32) -> (Self, Self) {
        mul_hi_lo_u32x4(self, m)
    }
}

impl UintLane for u64x4 {
    uint_lane_common!(u64x4, u64, 4);
    #[inline(always)]
    fn mul_hi_lo(self, m: u32) -> (Self, Self) {
        // Low 32 bits of each lane times m: exactly what vpmuludq computes per u64 lane.
        let p = u64x4::new(self.to_array().map(|x| u64::from(x as u32) * u64::from(m)));
        (p >> 32, p & u64x4::splat(0xffff_ffff))
    }
}

impl UintLane for u64x8 {
    uint_lane_common!(u64x8, u64, 8);
    #[inline(always)]
    fn mul_hi_lo(self, m: u32) -> (Self, Self) {
        // Low 32 bits of each lane times m: exactly what vpmuludq computes per u64 lane.
        let p = u64x8::new(self.to_array().map(|x| u64::from(x as u32) * u64::from(m)));
        (p >> 32, p & u64x8::splat(0xffff_ffff))
    }
}

/// Full 32×32→64 products of every lane of `a` with `m`, as `(high words, low words)`:
/// Philox's multiply for 8 streams at once.
///
/// With AVX2: `vpmuludq` on the even lanes and on the odd lanes (shifted down), then
/// two blends put each lane's high and low word back in place (5 instructions
/// for 8 products). Elsewhere: [`mul_hi_lo_u32x8_portable`].
#[inline(always)]
pub fn mul_hi_lo_u32x8(a: u32x8, m: u32) -> (u32x8, u32x8) {
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
    {
        use safe_arch::{
            blend_imm_i32_m256i, m256i, mul_u64_low_bits_m256i, shl_imm_u64_m256i, shr_imm_u64_m256i,
        };
        let x = m256i(a.into());
        let mm = m256i(u32x8::splat(m).into());
        // Products of lanes 0,2,4,6 (each as u64 in lanes 2k, 2k+1 = lo, hi).
        let even = mul_u64_low_bits_m256i(x, mm);
        // Products of lanes 1,3,5,7.
        let odd = mul_u64_low_bits_m256i(shr_imm_u64_m256i::<32>(x), mm);
        // hi: lane 2k = even's hi word (moved down), lane 2k+1 = odd's hi word (in place).
        let hi = blend_imm_i32_m256i::<0b1010_1010>(shr_imm_u64_m256i::<32>(even), odd);
        // lo: lane 2k = even's lo word (in place), lane 2k+1 = odd's lo word (moved up).
        let lo = blend_imm_i32_m256i::<0b1010_1010>(even, shl_imm_u64_m256i::<32>(odd));
        (u32x8::from(hi.0), u32x8::from(lo.0))
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "avx2")))]
    {
        mul_hi_lo_u32x8_portable(a, m)
    }
}

/// Portable lane-loop version of [`mul_hi_lo_u32x8`] (the fallback on targets without
/// AVX2, and the oracle the AVX2 path is tested against).
#[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "avx2"))))]
#[inline(always)]
pub fn mul_hi_lo_u32x8_portable(a: u32x8, m: u32) -> (u32x8, u32x8) {
    let p = a.to_array().map(|x| u64::from(x) * u64::from(m));
    (u32x8::new(p.map(|x| (x >> 32) as u32)), u32x8::new(p.map(|x| x as u32)))
}

/// `Real::select_bits` of the vector lanes: `t` where the compare mask `m` is all ones,
/// `f` where it is all zeros, bitwise rather than through wide's byte blend. LLVM then
/// folds constant `t`/`f` (`MAX`/`0` is the mask itself, `1`/`0` one `and`); through the
/// blend it re-derived the mask with a `vpcmpgtb` each (W3 brute force ran 1.34× slower).
#[inline(always)]
fn bit_select<U: Copy + BitAnd<Output = U> + BitOr<Output = U> + Not<Output = U>>(m: U, t: U, f: U) -> U {
    (m & t) | (!m & f)
}

/// [`super::pick8`] on AVX2: one `vpermps` (the indices' low three bits, as
/// [`super::pick8`] defines).
#[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
#[inline(always)]
pub(super) fn pick8_avx2(x: [f32; 8], idx: &[u8; 8]) -> [f32; 8] {
    use safe_arch::{m256, m256i, shuffle_av_f32_all_m256};
    // `from_fn`, not `idx.map`: LLVM turns this one into a `vpmovzxbd` load, and the
    // `map` into eight byte extracts.
    let v = m256i::from(core::array::from_fn::<i32, 8, _>(|k| i32::from(idx[k])));
    shuffle_av_f32_all_m256(m256::from_array(x), v).to_array()
}

/// [`mul_hi_lo_u32x8`] for four lanes. LLVM turns the lane loop into `vpmovzxdq` +
/// `vpmuludq` + shuffles on AVX2; it only serves `f64x4` streams.
#[inline(always)]
fn mul_hi_lo_u32x4(a: u32x4, m: u32) -> (u32x4, u32x4) {
    let p = a.to_array().map(|x| u64::from(x) * u64::from(m));
    (u32x4::new(p.map(|x| (x >> 32) as u32)), u32x4::new(p.map(|x| x as u32)))
}

/// Exact u64→f64 for lanes below 2^53 (AVX2 has no such conversion).
///
/// Split `x = hi·2^32 + lo` (`hi < 2^21`); `from_bits(0x4330_0000_0000_0000 | lo)` is
/// `2^52 + lo` and `from_bits(0x4530_0000_0000_0000 | hi)` is `2^84 + hi·2^32`, both exact.
/// `(2^84 + hi·2^32) − (2^84 + 2^52)` is exact (a multiple of 2^32 below 2^53 in
/// magnitude), and adding `2^52 + lo` gives `hi·2^32 + lo < 2^53`, exact again — so no
/// step rounds and the result equals the scalar `x as f64`.
#[inline(always)]
pub fn u53_to_f64x4(x: u64x4) -> f64x4 {
    const LO_MAGIC: u64 = 0x4330_0000_0000_0000; // 2^52
    const HI_MAGIC: u64 = 0x4530_0000_0000_0000; // 2^84
    const BOTH: f64 = 19_342_813_118_337_666_422_669_312.0; // 2^84 + 2^52
    let lo = f64x4::from_bits((x & u64x4::splat(0xffff_ffff)) | u64x4::splat(LO_MAGIC));
    let hi = f64x4::from_bits((x >> 32) | u64x4::splat(HI_MAGIC));
    (hi - f64x4::splat(BOTH)) + lo
}

/// [`u53_to_f64x4`] on eight lanes (two `f64x4` halves on AVX2).
#[inline(always)]
pub fn u53_to_f64x8(x: u64x8) -> f64x8 {
    const LO_MAGIC: u64 = 0x4330_0000_0000_0000;
    const HI_MAGIC: u64 = 0x4530_0000_0000_0000;
    const BOTH: f64 = 19_342_813_118_337_666_422_669_312.0;
    let lo = f64x8::from_bits((x & u64x8::splat(0xffff_ffff)) | u64x8::splat(LO_MAGIC));
    let hi = f64x8::from_bits((x >> 32) | u64x8::splat(HI_MAGIC));
    (hi - f64x8::splat(BOTH)) + lo
}

/// `Real` for a vector `$f` of scalar `$s` with bits `$u` and words `$w`; `$from_uint`
/// and `$widen` are the bodies of `from_uint_exact` and `bits_from_words`.
///
/// * f32 vectors (`f32x8`; `f32x16`, two `f32x8` on AVX2): bits and words are the same
///   `u32` lanes, and from the integers below 2^24 of the contract `from_uint_exact` is
///   an exact `vcvtdq2ps`.
/// * f64 vectors (`f64x4`; `f64x8`, two `f64x4` on AVX2, whose words are one `u32x8`: one
///   Philox call feeds all 8 lanes): `from_uint_exact` is the exact magic-number
///   conversion of [`u53_to_f64x4`].
macro_rules! real_vector {
    ($f:ident, $s:ty, $u:ident, $w:ident, $n:expr, $from_uint:expr, $widen:expr) => {
        impl Real for $f {
            type Scalar = $s;
            type Mask = $f;
            type Bits = $u;
            type Words = $w;
            const LANES: usize = $n;
            #[inline(always)]
            fn splat(x: $s) -> Self {
                $f::splat(x)
            }
            #[inline(always)]
            fn from_fn(f: impl FnMut(usize) -> $s) -> Self {
                $f::new(core::array::from_fn(f))
            }
            #[inline(always)]
            fn lane(self, i: usize) -> $s {
                self.as_array()[i]
            }
            #[inline(always)]
            fn mul_add(self, a: Self, b: Self) -> Self {
                $f::mul_add(self, a, b)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                $f::sqrt(self)
            }
            #[inline(always)]
            fn simd_lt(self, other: Self) -> Self::Mask {
                $f::simd_lt(self, other)
            }
            #[inline(always)]
            fn simd_le(self, other: Self) -> Self::Mask {
                $f::simd_le(self, other)
            }
            #[inline(always)]
            fn simd_eq(self, other: Self) -> Self::Mask {
                $f::simd_eq(self, other)
            }
            #[inline(always)]
            fn select(mask: Self::Mask, t: Self, f: Self) -> Self {
                mask.select(t, f)
            }
            #[inline(always)]
            fn select_bits(mask: Self::Mask, t: $u, f: $u) -> $u {
                bit_select(mask.to_bits(), t, f)
            }
            #[inline(always)]
            fn to_bits(self) -> $u {
                $f::to_bits(self)
            }
            #[inline(always)]
            fn from_bits(bits: $u) -> Self {
                $f::from_bits(bits)
            }
            #[inline(always)]
            fn from_uint_exact(bits: $u) -> Self {
                ($from_uint)(bits)
            }
            #[inline(always)]
            fn bits_from_words(words: $w) -> $u {
                ($widen)(words)
            }
            #[inline(always)]
            fn any(mask: Self::Mask) -> bool {
                mask.any()
            }
            #[inline(always)]
            fn bitmask(mask: Self::Mask) -> u32 {
                mask.to_bitmask()
            }
        }
    };
}

real_vector!(f32x8, f32, u32x8, u32x8, 8, |b: u32x8| f32x8::from_i32x8(b.cast_signed()), |w| w);
real_vector!(f32x16, f32, u32x16, u32x16, 16, |b: u32x16| f32x16::from_i32x16(b.cast_signed()), |w| w);
real_vector!(f64x4, f64, u64x4, u32x4, 4, u53_to_f64x4, |w: u32x4| u64x4::new(w.to_array().map(u64::from)));
real_vector!(f64x8, f64, u64x8, u32x8, 8, u53_to_f64x8, |w: u32x8| u64x8::new(w.to_array().map(u64::from)));

#[cfg(test)]
// Lane-wise comparisons read clearest indexed by lane.
#[allow(clippy::needless_range_loop)]
mod tests {
    extern crate std;

    use super::*;
    use crate::rng::{NormalSeq, Stream, philox4x32_10};
    use proptest::prelude::*;

    /// f32 bit patterns weighted towards the interesting classes.
    fn f32_bits() -> impl Strategy<Value = u32> {
        prop_oneof![
            any::<u32>(),
            Just(0x7f80_0000u32),                              // +inf
            Just(0xff80_0000u32),                              // -inf
            Just(0x7fc0_0000u32),                              // NaN
            Just(0x8000_0000u32),                              // -0
            Just(0u32),                                        // +0
            (0u32..0x0080_0000).prop_map(|m| m),               // +subnormal
            (0u32..0x0080_0000).prop_map(|m| m | 0x8000_0000), // -subnormal
            (0u32..0x0080_0000).prop_map(|m| m | 0x7f80_0001), // NaN payloads
            (0x3f00_0000u32..0x4000_0000).prop_map(|m| m),     // [0.5, 2)
        ]
    }

    fn f64_bits() -> impl Strategy<Value = u64> {
        prop_oneof![
            any::<u64>(),
            Just(0x7ff0_0000_0000_0000u64),
            Just(0xfff0_0000_0000_0000u64),
            Just(0x7ff8_0000_0000_0000u64),
            Just(0x8000_0000_0000_0000u64),
            Just(0u64),
            (0u64..(1 << 52)).prop_map(|m| m),
            (0u64..(1 << 52)).prop_map(|m| m | (1 << 63)),
            (0x3fe0_0000_0000_0000u64..0x4000_0000_0000_0000).prop_map(|m| m),
        ]
    }

    /// Same bits, or both NaN (NaN payloads made by arithmetic may differ by target).
    fn same32(a: f32, b: f32) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }
    fn same64(a: f64, b: f64) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }

    fn mask_lanes32(m: f32x8) -> [bool; 8] {
        m.to_bits().to_array().map(|b| {
            assert!(b == 0 || b == u32::MAX, "mask lane {b:#x} is not all-zeros/all-ones");
            b == u32::MAX
        })
    }
    fn mask_lanes64(m: f64x4) -> [bool; 4] {
        m.to_bits().to_array().map(|b| {
            assert!(b == 0 || b == u64::MAX, "mask lane {b:#x} is not all-zeros/all-ones");
            b == u64::MAX
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn f32x8_matches_scalar_lanewise(
            a in prop::array::uniform8(f32_bits()),
            b in prop::array::uniform8(f32_bits()),
            c in prop::array::uniform8(f32_bits()),
        ) {
            let fa = a.map(f32::from_bits);
            let fb = b.map(f32::from_bits);
            let fc = c.map(f32::from_bits);
            let (va, vb, vc) = (f32x8::new(fa), f32x8::new(fb), f32x8::new(fc));
            let lt = mask_lanes32(Real::simd_lt(va, vb));
            let le = mask_lanes32(Real::simd_le(va, vb));
            let eq = mask_lanes32(Real::simd_eq(va, vb));
            let gt = mask_lanes32(Real::simd_gt(va, vb));
            let ge = mask_lanes32(Real::simd_ge(va, vb));
            let and = mask_lanes32(Real::simd_lt(va, vb) & Real::simd_eq(vb, vc));
            let or = mask_lanes32(Real::simd_lt(va, vb) | Real::simd_eq(vb, vc));
            let not = mask_lanes32(!Real::simd_lt(va, vb));
            let sel = <f32x8 as Real>::select(Real::simd_lt(va, vb), va, vc);
            let selb = <f32x8 as Real>::select_bits(Real::simd_le(va, vb), u32x8::new(b), u32x8::new(c));
            let any = <f32x8 as Real>::any(Real::simd_lt(va, vb));
            prop_assert_eq!(any, (0..8).any(|l| fa[l] < fb[l]));
            let bits = <f32x8 as Real>::bitmask(Real::simd_lt(va, vb));
            prop_assert_eq!(bits, (0..8).map(|l| <f32 as Real>::bitmask(fa[l] < fb[l]) << l).sum::<u32>());
            for l in 0..8 {
                let (x, y, z) = (fa[l], fb[l], fc[l]);
                prop_assert_eq!(lt[l], Real::simd_lt(x, y));
                prop_assert_eq!(le[l], Real::simd_le(x, y));
                prop_assert_eq!(eq[l], Real::simd_eq(x, y));
                prop_assert_eq!(gt[l], Real::simd_gt(x, y));
                prop_assert_eq!(ge[l], Real::simd_ge(x, y));
                prop_assert_eq!(and[l], x < y && y == z);
                prop_assert_eq!(or[l], x < y || y == z);
                prop_assert_eq!(not[l], !Real::simd_lt(x, y));
                prop_assert_eq!(sel.lane(l).to_bits(), <f32 as Real>::select(x < y, x, z).to_bits());
                prop_assert_eq!(selb.lane(l), <f32 as Real>::select_bits(x <= y, b[l], c[l]));
                prop_assert_eq!(Real::max(va, vb).lane(l).to_bits(), Real::max(x, y).to_bits());
                prop_assert_eq!(Real::min(va, vb).lane(l).to_bits(), Real::min(x, y).to_bits());
                prop_assert_eq!(Real::to_bits(va).lane(l), x.to_bits());
                prop_assert_eq!(<f32x8 as Real>::from_bits(u32x8::new(a)).lane(l).to_bits(), a[l]);
                prop_assert_eq!(va.lane(l).to_bits(), a[l]);
                prop_assert!(same32(Real::mul_add(va, vb, vc).lane(l), Real::mul_add(x, y, z)));
                prop_assert!(same32(Real::sqrt(va).lane(l), Real::sqrt(x)));
                prop_assert!(same32((va + vb).lane(l), x + y));
                prop_assert!(same32((va - vb).lane(l), x - y));
                prop_assert!(same32((va * vb).lane(l), x * y));
                prop_assert!(same32((va / vb).lane(l), x / y));
                prop_assert_eq!((-va).lane(l).to_bits(), (-x).to_bits());
            }
        }

        #[test]
        fn f64x4_matches_scalar_lanewise(
            a in prop::array::uniform4(f64_bits()),
            b in prop::array::uniform4(f64_bits()),
            c in prop::array::uniform4(f64_bits()),
        ) {
            let fa = a.map(f64::from_bits);
            let fb = b.map(f64::from_bits);
            let fc = c.map(f64::from_bits);
            let (va, vb, vc) = (f64x4::new(fa), f64x4::new(fb), f64x4::new(fc));
            let lt = mask_lanes64(Real::simd_lt(va, vb));
            let le = mask_lanes64(Real::simd_le(va, vb));
            let eq = mask_lanes64(Real::simd_eq(va, vb));
            let not = mask_lanes64(!Real::simd_le(va, vb));
            let sel = <f64x4 as Real>::select(Real::simd_lt(va, vb), va, vc);
            let selb = <f64x4 as Real>::select_bits(Real::simd_le(va, vb), u64x4::new(b), u64x4::new(c));
            prop_assert_eq!(<f64x4 as Real>::any(Real::simd_eq(va, vb)), (0..4).any(|l| fa[l] == fb[l]));
            prop_assert_eq!(
                <f64x4 as Real>::bitmask(Real::simd_lt(va, vb)),
                (0..4).map(|l| u32::from(fa[l] < fb[l]) << l).sum::<u32>()
            );
            for l in 0..4 {
                let (x, y, z) = (fa[l], fb[l], fc[l]);
                prop_assert_eq!(lt[l], x < y);
                prop_assert_eq!(le[l], x <= y);
                prop_assert_eq!(eq[l], x == y);
                prop_assert_eq!(not[l], !Real::simd_le(x, y));
                prop_assert_eq!(sel.lane(l).to_bits(), <f64 as Real>::select(x < y, x, z).to_bits());
                prop_assert_eq!(selb.lane(l), <f64 as Real>::select_bits(x <= y, b[l], c[l]));
                prop_assert_eq!(Real::max(va, vb).lane(l).to_bits(), Real::max(x, y).to_bits());
                prop_assert_eq!(Real::min(va, vb).lane(l).to_bits(), Real::min(x, y).to_bits());
                prop_assert_eq!(Real::to_bits(va).lane(l), a[l]);
                prop_assert_eq!(<f64x4 as Real>::from_bits(u64x4::new(a)).lane(l).to_bits(), a[l]);
                prop_assert!(same64(Real::mul_add(va, vb, vc).lane(l), Real::mul_add(x, y, z)));
                prop_assert!(same64(Real::sqrt(va).lane(l), Real::sqrt(x)));
                prop_assert!(same64((va + vb).lane(l), x + y));
                prop_assert!(same64((va / vb).lane(l), x / y));
                prop_assert_eq!((-va).lane(l).to_bits(), (-x).to_bits());
            }
        }

        #[test]
        fn mul_add_matches_scalar_on_ordinary_values(
            a in prop::array::uniform8(-4.0f32..4.0),
            b in prop::array::uniform8(-4.0f32..4.0),
            c in prop::array::uniform8(-4.0f32..4.0),
        ) {
            // Random bit patterns rarely expose a double rounding; ordinary values do
            // (about half of all products would differ if mul_add were not fused).
            let v = Real::mul_add(f32x8::new(a), f32x8::new(b), f32x8::new(c));
            // f64 operands with full 53-bit mantissas (f32 inputs would multiply exactly).
            let wid = |v: f32| f64::from(v) * core::f64::consts::E;
            let d = |x: [f32; 8]| f64x4::new([x[0], x[1], x[2], x[3]].map(wid));
            let w = Real::mul_add(d(a), d(b), d(c));
            for l in 0..8 {
                prop_assert_eq!(v.lane(l).to_bits(), Real::mul_add(a[l], b[l], c[l]).to_bits());
                if l < 4 {
                    let (x, y, z) = (wid(a[l]), wid(b[l]), wid(c[l]));
                    prop_assert_eq!(w.lane(l).to_bits(), Real::mul_add(x, y, z).to_bits());
                }
            }
        }

        #[test]
        fn conversions_match_scalar(
            w in prop::array::uniform8(any::<u32>()),
            q in prop::array::uniform4(0u64..(1 << 53)),
            s in 0u32..32,
        ) {
            let small = w.map(|x| x >> 8);
            let f = <f32x8 as Real>::from_uint_exact(u32x8::new(small));
            let words4 = u32x4::new([w[0], w[1], w[2], w[3]]);
            let bits4 = <f64x4 as Real>::bits_from_words(words4);
            let d = <f64x4 as Real>::from_uint_exact(u64x4::new(q));
            for l in 0..8 {
                prop_assert_eq!(f.lane(l).to_bits(), <f32 as Real>::from_uint_exact(small[l]).to_bits());
                prop_assert_eq!(<f32x8 as Real>::bits_from_words(u32x8::new(w)).lane(l), w[l]);
            }
            for l in 0..4 {
                prop_assert_eq!(bits4.lane(l), u64::from(w[l]));
                prop_assert_eq!(d.lane(l).to_bits(), <f64 as Real>::from_uint_exact(q[l]).to_bits());
            }
            // Integer lanes: wrapping arithmetic and shifts equal the scalar u32/u64 impls.
            let (v, v2) = (u32x8::new(w), u32x8::new(w.map(|x| x.rotate_left(7))));
            for l in 0..8 {
                prop_assert_eq!(v.wrapping_add(v2).lane(l), w[l].wrapping_add(w[l].rotate_left(7)));
                prop_assert_eq!(v.wrapping_sub(v2).lane(l), w[l].wrapping_sub(w[l].rotate_left(7)));
                prop_assert_eq!(UintLane::shl(v, s).lane(l), w[l] << s);
                prop_assert_eq!(UintLane::shr(v, s).lane(l), w[l] >> s);
                prop_assert_eq!((v ^ v2).lane(l), w[l] ^ w[l].rotate_left(7));
            }
            let u = u64x4::new(q.map(|x| x.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
            for l in 0..4 {
                let x = q[l].wrapping_mul(0x9e37_79b9_7f4a_7c15);
                prop_assert_eq!(UintLane::shl(u, s + 32).lane(l), x << (s + 32));
                prop_assert_eq!(UintLane::shr(u, s + 32).lane(l), x >> (s + 32));
                prop_assert_eq!(u.wrapping_add(u).lane(l), x.wrapping_add(x));
                prop_assert_eq!(u.mul_hi_lo(w[l]).0.lane(l), UintLane::mul_hi_lo(x, w[l]).0);
                prop_assert_eq!(u.mul_hi_lo(w[l]).1.lane(l), UintLane::mul_hi_lo(x, w[l]).1);
            }
        }

        #[test]
        fn pick8_equals_the_lane_loop(x in prop::array::uniform8(any::<f32>()), idx in prop::array::uniform8(any::<u8>())) {
            let (got, want) = (super::super::pick8(x, &idx), super::super::pick8_portable(x, &idx));
            prop_assert_eq!(got.map(f32::to_bits), want.map(f32::to_bits));
        }

        #[test]
        fn mul_hi_lo_simd_equals_portable_and_scalar(w in prop::array::uniform8(any::<u32>()), m in any::<u32>()) {
            let v = u32x8::new(w);
            let (hi, lo) = mul_hi_lo_u32x8(v, m);
            let (phi, plo) = mul_hi_lo_u32x8_portable(v, m);
            prop_assert_eq!(hi.to_array(), phi.to_array());
            prop_assert_eq!(lo.to_array(), plo.to_array());
            // u32x16 (one zmm on AVX-512 builds, two halves otherwise) against the halves.
            let v16 = u32x16::new(core::array::from_fn(|i| w[i % 8].rotate_left(i as u32)));
            let ((h16, l16), (hh, lh)) = (v16.mul_hi_lo(m), mul_hi_lo_u32x16_halves(v16, m));
            prop_assert_eq!((h16.to_array(), l16.to_array()), (hh.to_array(), lh.to_array()));
            for l in 0..16 {
                prop_assert_eq!((h16.lane(l), l16.lane(l)), UintLane::mul_hi_lo(v16.lane(l), m));
            }
            let (hi4, lo4) = u32x4::new([w[0], w[1], w[2], w[3]]).mul_hi_lo(m);
            for l in 0..8 {
                let (sh, sl) = UintLane::mul_hi_lo(w[l], m);
                prop_assert_eq!((hi.lane(l), lo.lane(l)), (sh, sl));
                if l < 4 {
                    prop_assert_eq!((hi4.lane(l), lo4.lane(l)), (sh, sl));
                }
            }
        }

        #[test]
        fn philox_u32x8_equals_eight_scalar_calls(
            ctr in prop::array::uniform4(prop::array::uniform8(any::<u32>())),
            key in prop::array::uniform2(any::<u32>()),
        ) {
            let v = philox4x32_10(ctr.map(u32x8::new), key.map(u32x8::splat));
            let v4 = philox4x32_10(ctr.map(|c| u32x4::new([c[4], c[5], c[6], c[7]])), key.map(u32x4::splat));
            for l in 0..8 {
                let s = philox4x32_10::<u32>(ctr.map(|c| c[l]), key);
                prop_assert_eq!(v.map(|w| w.lane(l)), s);
                if l >= 4 {
                    prop_assert_eq!(v4.map(|w| w.lane(l - 4)), s);
                }
            }
        }

        #[test]
        fn streams_f32x8_equal_scalar_streams_per_lane(seed in any::<u64>(), first in any::<u64>(), c in any::<u64>()) {
            let v = Stream::<f32x8>::consecutive(seed, first);
            let ub = v.uniform_block(c);
            for l in 0..8u64 {
                let s = Stream::<f32>::consecutive(seed, first.wrapping_add(l));
                let sb = s.uniform_block(c);
                for j in 0..4 {
                    prop_assert_eq!(ub[j].lane(l as usize).to_bits(), sb[j].to_bits());
                }
            }
            let start = 2 * (c % 1000);
            let mut nv = NormalSeq::new(v, start);
            let mut ns: std::vec::Vec<_> = (0..8u64)
                .map(|l| NormalSeq::new(Stream::<f32>::consecutive(seed, first.wrapping_add(l)), start))
                .collect();
            for _ in 0..9 {
                let z = nv.next();
                for (l, n) in ns.iter_mut().enumerate() {
                    prop_assert_eq!(z.lane(l).to_bits(), n.next().to_bits());
                }
            }
        }

        #[test]
        fn f32x16_matches_scalar(
            a in prop::array::uniform16(f32_bits()),
            b in prop::array::uniform16(-4.0f32..4.0),
            seed in any::<u64>(),
            first in any::<u64>(),
        ) {
            let (fa, va, vb) = (a.map(f32::from_bits), f32x16::new(a.map(f32::from_bits)), f32x16::new(b));
            let sel = <f32x16 as Real>::select(Real::simd_lt(va, vb), va, vb);
            let fma = Real::mul_add(vb, vb, va);
            let conv = <f32x16 as Real>::from_uint_exact(u32x16::new(a.map(|w| w >> 8)));
            let z = NormalSeq::new(Stream::<f32x16>::consecutive(seed, first), 0).next();
            for l in 0..16 {
                let (x, y) = (fa[l], b[l]);
                prop_assert_eq!(sel.lane(l).to_bits(), <f32 as Real>::select(x < y, x, y).to_bits());
                prop_assert!(same32(fma.lane(l), Real::mul_add(y, y, x)));
                prop_assert_eq!(conv.lane(l), (a[l] >> 8) as f32);
                prop_assert_eq!(Real::to_bits(va).lane(l), a[l]);
                let zs = NormalSeq::new(Stream::<f32>::consecutive(seed, first.wrapping_add(l as u64)), 0).next();
                prop_assert_eq!(z.lane(l).to_bits(), zs.to_bits());
                let (h, lo) = u32x16::new(a).mul_hi_lo(0xD251_1F53);
                prop_assert_eq!((h.lane(l), lo.lane(l)), UintLane::mul_hi_lo(a[l], 0xD251_1F53));
            }
        }

        #[test]
        fn f64x8_matches_scalar(
            a in prop::array::uniform8(f64_bits()),
            b in prop::array::uniform8(-4.0f64..4.0),
            q in prop::array::uniform8(0u64..(1 << 53)),
            w in prop::array::uniform8(any::<u32>()),
            seed in any::<u64>(),
            first in any::<u64>(),
            c in 0u64..1000,
        ) {
            let (fa, va, vb) = (a.map(f64::from_bits), f64x8::new(a.map(f64::from_bits)), f64x8::new(b));
            let sel = <f64x8 as Real>::select(Real::simd_lt(va, vb), va, vb);
            let selb = <f64x8 as Real>::select_bits(Real::simd_le(va, vb), u64x8::new(a), u64x8::new(q));
            let fma = Real::mul_add(vb, vb, va);
            let conv = <f64x8 as Real>::from_uint_exact(u64x8::new(q));
            let words = <f64x8 as Real>::bits_from_words(u32x8::new(w));
            let mask = <f64x8 as Real>::bitmask(Real::simd_eq(va, vb));
            prop_assert_eq!(mask, (0..8).map(|l| u32::from(fa[l] == b[l]) << l).sum::<u32>());
            let v = Stream::<f64x8>::consecutive(seed, first);
            let ub = v.uniform_block(c);
            let mut nv = NormalSeq::new(v, 2 * c);
            let z: std::vec::Vec<f64x8> = (0..3).map(|_| nv.next()).collect();
            for l in 0..8 {
                let (x, y) = (fa[l], b[l]);
                prop_assert_eq!(sel.lane(l).to_bits(), <f64 as Real>::select(x < y, x, y).to_bits());
                prop_assert_eq!(selb.lane(l), <f64 as Real>::select_bits(x <= y, a[l], q[l]));
                prop_assert!(same64(fma.lane(l), Real::mul_add(y, y, x)));
                prop_assert!(same64(Real::sqrt(va).lane(l), Real::sqrt(x)));
                prop_assert!(same64((va / vb).lane(l), x / y));
                prop_assert_eq!(conv.lane(l), q[l] as f64);
                prop_assert_eq!(words.lane(l), u64::from(w[l]));
                prop_assert_eq!(Real::to_bits(va).lane(l), a[l]);
                let s = Stream::<f64>::consecutive(seed, first.wrapping_add(l as u64));
                let sb = s.uniform_block(c);
                prop_assert_eq!((ub[0].lane(l).to_bits(), ub[1].lane(l).to_bits()), (sb[0].to_bits(), sb[1].to_bits()));
                let mut ns = NormalSeq::new(s, 2 * c);
                for zv in &z {
                    prop_assert_eq!(zv.lane(l).to_bits(), ns.next().to_bits());
                }
                let u = u64x8::new(q.map(|x| x.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
                let x = q[l].wrapping_mul(0x9e37_79b9_7f4a_7c15);
                prop_assert_eq!(u.mul_hi_lo(w[l]).0.lane(l), UintLane::mul_hi_lo(x, w[l]).0);
                prop_assert_eq!(u.mul_hi_lo(w[l]).1.lane(l), UintLane::mul_hi_lo(x, w[l]).1);
            }
        }

        #[test]
        fn streams_f64x4_equal_scalar_streams_per_lane(seed in any::<u64>(), first in any::<u64>(), c in any::<u64>()) {
            let v = Stream::<f64x4>::consecutive(seed, first);
            let ub = v.uniform_block(c);
            let start = 2 * (c % 1000);
            let mut nv = NormalSeq::new(v, start);
            let mut ns: std::vec::Vec<_> = (0..4u64)
                .map(|l| NormalSeq::new(Stream::<f64>::consecutive(seed, first.wrapping_add(l)), start))
                .collect();
            for l in 0..4u64 {
                let sb = Stream::<f64>::consecutive(seed, first.wrapping_add(l)).uniform_block(c);
                prop_assert_eq!(ub[0].lane(l as usize).to_bits(), sb[0].to_bits());
                prop_assert_eq!(ub[1].lane(l as usize).to_bits(), sb[1].to_bits());
            }
            for _ in 0..5 {
                let z = nv.next();
                for (l, n) in ns.iter_mut().enumerate() {
                    prop_assert_eq!(z.lane(l).to_bits(), n.next().to_bits());
                }
            }
        }
    }

    #[test]
    fn mul_add_is_fused_on_every_lane_type() {
        // (1 + 2^-12)^2 - 1 = 2^-11 + 2^-24 exactly; rounding the product first gives 2^-11
        // (a tie, to even). This is the LANE_MATH.md trap: a build without FMA makes
        // wide's mul_add round twice while the scalar stays fused.
        let a = 1.0f32 + 2f32.powi(-12);
        let want = 2f32.powi(-11) + 2f32.powi(-24);
        assert_eq!(Real::mul_add(a, a, -1.0f32), want, "scalar f32 mul_add is not fused");
        let v = <f32x8 as Real>::mul_add(f32x8::splat(a), f32x8::splat(a), f32x8::splat(-1.0));
        assert_eq!(v.to_array(), [want; 8], "f32x8 mul_add is not fused");
        let a = 1.0f64 + 2f64.powi(-27);
        let want = 2f64.powi(-26) + 2f64.powi(-54);
        assert_eq!(Real::mul_add(a, a, -1.0f64), want, "scalar f64 mul_add is not fused");
        let v = <f64x4 as Real>::mul_add(f64x4::splat(a), f64x4::splat(a), f64x4::splat(-1.0));
        assert_eq!(v.to_array(), [want; 4], "f64x4 mul_add is not fused");
        let v = <f64x8 as Real>::mul_add(f64x8::splat(a), f64x8::splat(a), f64x8::splat(-1.0));
        assert_eq!(v.to_array(), [want; 8], "f64x8 mul_add is not fused");
    }

    #[test]
    fn u53_conversion_edges() {
        for x in [0u64, 1, (1 << 32) - 1, 1 << 32, (1 << 52) - 1, 1 << 52, (1 << 53) - 1] {
            assert_eq!(u53_to_f64x4(u64x4::splat(x)).lane(0), x as f64, "x = {x:#x}");
            assert_eq!(u53_to_f64x8(u64x8::splat(x)).lane(7), x as f64, "x = {x:#x}");
        }
    }

    #[test]
    fn elementary_functions_match_scalar() {
        // Whatever kernels `crate::math` holds, the lane types must reach the same bits.
        // Runtime inputs (black_box): what matters is the code that runs, not what LLVM
        // folds at compile time.
        let xs: [f32; 8] = core::hint::black_box([-103.5, -1.0, -1e-30, 0.0, 0.3, 1.0, 42.0, 88.5]);
        let v = f32x8::new(xs);
        // Trait calls spelled out: on a concrete `f32x8`, `v.exp()` would resolve to wide's
        // own (different) inherent `exp`.
        let (s, c) = Real::sin_cos_2pi(f32x8::new(xs.map(|x| (x.abs() * 0.01).fract())));
        for l in 0..8 {
            let (ve, se) = (Real::exp(v).lane(l), Real::exp(xs[l]));
            assert!(same32(ve, se), "exp({}): f32x8 {:#x}, f32 {:#x}", xs[l], ve.to_bits(), se.to_bits());
            let (vl, sl) = (Real::ln(v).lane(l), Real::ln(xs[l]));
            assert!(same32(vl, sl), "ln({}): f32x8 {:#x}, f32 {:#x}", xs[l], vl.to_bits(), sl.to_bits());
            let (ss, sc) = Real::sin_cos_2pi((xs[l].abs() * 0.01).fract());
            assert_eq!((s.lane(l).to_bits(), c.lane(l).to_bits()), (ss.to_bits(), sc.to_bits()));
        }
    }
}
