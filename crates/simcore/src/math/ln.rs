//! `ln x` written once over the lane type, in the style of fdlibm's `e_log.c`.
//!
//! Why this shape: fdlibm's reduction and polynomial are proven (< 1 ULP) and need one
//! division and no table, so they run the same on scalar, SIMD and PTX lanes; the
//! branches of the C original become compare + select.
//!
//! 1. Subnormal `x` (and `x ≤ 0`, whose result is replaced anyway) is first scaled by
//!    `2^25` (f32) / `2^54` (f64), chosen by select, so the bit reduction sees a normal.
//! 2. Bit reduction: `x = 2^k·m` with `m ∈ [√2/2, √2)`. Adding `bits(1) − bits(√2/2)`
//!    to the bits moves the exponent boundary to `√2/2`, so `k` (the exponent field) and
//!    `m` (the mantissa, re-based at `√2/2`) fall out of one integer add; `k` becomes a
//!    float exactly through [`Real::from_uint_exact`] of the biased exponent.
//! 3. `f = m − 1` (exact), `s = f/(2 + f)`, `ln m = f − f²/2 + s·(f²/2 + R(s²))` with
//!    fdlibm's minimax `R`, and `ln x = k·ln2_hi + (that + k·ln2_lo)`, the last step an FMA.
//! 4. Special values by select: `ln(±0) = −inf`, `ln(x < 0) = NaN`, `ln(+inf) = +inf`,
//!    `ln(NaN) = NaN` (a constant quiet NaN, the same bits on every target); `ln 1 = +0`
//!    exactly, because `f = 0` and `k = 0`.

use crate::lane::{Real, UintLane};

/// `ln x`, f32 lanes.
///
/// Max error **0.835 ULP** over every positive f32 (subnormals included), measured
/// exhaustively (all 2.1·10^9 inputs, once, against libm's f64 `log`, in f32 ulps; worst
/// at `x = 1.4055`). The test `ln_f32_ulp_sweep` repeats it with stride 101 plus every
/// input of `[0.5, 2)`, and asserts ≤ 0.84. `ln 1 = 0` exactly, `ln(±0) = −inf`, `ln(negative) = NaN`,
/// `ln(+inf) = +inf`, `ln(NaN) = NaN`.
#[inline(always)]
pub fn ln_f32<L: Real<Scalar = f32>>(x: L) -> L {
    const TWO25: f32 = 33_554_432.0;

    let s = L::splat;
    let sub = x.simd_lt(s(f32::MIN_POSITIVE));
    let xs = L::select(sub, x * s(TWO25), x);
    // k = biased exponent − 127 (− 25 more if scaled).
    let y = ln_f32_core(xs, L::select(sub, s(152.0), s(127.0)));

    let special = L::select(x.simd_eq(s(0.0)), s(f32::NEG_INFINITY), s(f32::NAN));
    let y = L::select(x.simd_gt(s(0.0)), y, special);
    L::select(x.simd_eq(s(f32::INFINITY)), s(f32::INFINITY), y)
}

/// [`ln_f32`] for positive normal finite `x` (`f32::MIN_POSITIVE ≤ x < inf`), where its
/// scaling and special-value selects change nothing: the same bits, 10 fewer lane
/// operations. Box–Muller's `1 − u1 ∈ [2^-24, 1]` is such an argument.
#[inline(always)]
pub fn ln_normal_f32<L: Real<Scalar = f32>>(x: L) -> L {
    ln_f32_core(x, L::splat(127.0))
}

/// Steps 2–3 of the module doc on a positive normal `xs`; `bias` is the exponent bias
/// (plus the scaling's 25 for a scaled subnormal).
#[inline(always)]
fn ln_f32_core<L: Real<Scalar = f32>>(xs: L, bias: L) -> L {
    const SQRT_HALF_BITS: u32 = 0x3f35_04f3; // √2/2
    const LN2_HI: f32 = core::f32::consts::LN_2; // f32 nearest ln 2 (0x3f317218)
    const LN2_LO: f32 = -1.904_654_2e-9; // ln 2 − LN2_HI
    const LG1: f32 = 0.666_666_6; // fdlibm e_logf.c Lg1..Lg4
    const LG2: f32 = 0.400_009_72;
    const LG3: f32 = 0.284_987_87;
    const LG4: f32 = 0.242_790_79;

    let s = L::splat;
    let u = L::Bits::splat;
    let ix = xs.to_bits().wrapping_add(u(0x3f80_0000 - SQRT_HALF_BITS));
    let m = L::from_bits((ix & u(0x007f_ffff)).wrapping_add(u(SQRT_HALF_BITS)));
    // Biased exponent of ix (< 512 even for negative x).
    let dk = L::from_uint_exact(ix.shr(23)) - bias;

    let f = m - s(1.0);
    let sd = f / (s(2.0) + f);
    let z = sd * sd;
    let w = z * z;
    let t1 = w * w.mul_add(s(LG4), s(LG2));
    let r = z.mul_add(w.mul_add(s(LG3), s(LG1)), t1);
    let hfsq = s(0.5) * f * f;
    let a = sd.mul_add(hfsq + r, dk * s(LN2_LO));
    dk.mul_add(s(LN2_HI), (a - hfsq) + f)
}

/// `ln x`, f64 lanes.
///
/// Max error **≤ 1 ULP versus libm's `log`** (itself < 1 ULP) over 4.5 million inputs:
/// 2^22 strided f64 over every positive exponent (subnormals included), random ones in
/// `[0.5, 2)`; see `ln_f64_vs_libm`. An mpmath spot check (30 000 random arguments)
/// found 0.77 ULP against the exact value. `ln 1 = 0` exactly, `ln(±0) = −inf`,
/// `ln(negative) = NaN`, `ln(+inf) = +inf`, `ln(NaN) = NaN`.
#[inline(always)]
pub fn ln_f64<L: Real<Scalar = f64>>(x: L) -> L {
    const TWO54: f64 = 18_014_398_509_481_984.0;

    let s = L::splat;
    let sub = x.simd_lt(s(f64::MIN_POSITIVE));
    let xs = L::select(sub, x * s(TWO54), x);
    let y = ln_f64_core(xs, L::select(sub, s(1077.0), s(1023.0)));

    let special = L::select(x.simd_eq(s(0.0)), s(f64::NEG_INFINITY), s(f64::NAN));
    let y = L::select(x.simd_gt(s(0.0)), y, special);
    L::select(x.simd_eq(s(f64::INFINITY)), s(f64::INFINITY), y)
}

/// [`ln_f64`] for positive normal finite `x` (`f64::MIN_POSITIVE ≤ x < inf`), where its
/// scaling and special-value selects change nothing: the same bits, 10 fewer lane
/// operations. Box–Muller's `1 − u1 ∈ [2^-53, 1]` is such an argument.
#[inline(always)]
pub fn ln_normal_f64<L: Real<Scalar = f64>>(x: L) -> L {
    ln_f64_core(x, L::splat(1023.0))
}

/// Steps 2–3 of the module doc on a positive normal `xs`; `bias` is the exponent bias
/// (plus the scaling's 54 for a scaled subnormal).
#[inline(always)]
fn ln_f64_core<L: Real<Scalar = f64>>(xs: L, bias: L) -> L {
    const SQRT_HALF_HI: u64 = 0x3fe6_a09e << 32; // high word of √2/2
    const LN2_HI: f64 = core::f64::consts::LN_2;
    const LN2_LO: f64 = 2.319_046_813_846_299_6e-17; // ln 2 − LN2_HI
    const LG1: f64 = 6.666_666_666_666_735e-1; // fdlibm e_log.c Lg1..Lg7
    const LG2: f64 = 3.999_999_999_940_942e-1;
    const LG3: f64 = 2.857_142_874_366_239e-1;
    const LG4: f64 = 2.222_219_843_214_978_4e-1;
    const LG5: f64 = 1.818_357_216_161_805e-1;
    const LG6: f64 = 1.531_383_769_920_937_3e-1;
    const LG7: f64 = 1.479_819_860_511_658_6e-1;

    let s = L::splat;
    let u = L::Bits::splat;
    let ix = xs.to_bits().wrapping_add(u((0x3ff0_0000 << 32) - SQRT_HALF_HI));
    let m = L::from_bits((ix & u(0x000f_ffff_ffff_ffff)).wrapping_add(u(SQRT_HALF_HI)));
    let dk = L::from_uint_exact(ix.shr(52)) - bias;

    let f = m - s(1.0);
    let sd = f / (s(2.0) + f);
    let z = sd * sd;
    let w = z * z;
    let t1 = w * w.mul_add(w.mul_add(s(LG6), s(LG4)), s(LG2));
    let t2 = w.mul_add(w.mul_add(w.mul_add(s(LG7), s(LG5)), s(LG3)), s(LG1));
    let r = z.mul_add(t2, t1);
    let hfsq = s(0.5) * f * f;
    let a = sd.mul_add(hfsq + r, dk * s(LN2_LO));
    dk.mul_add(s(LN2_HI), (a - hfsq) + f)
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::math::testutil::{SplitMix64, Ulp, ulp_err_f32, ulp_err_f64};

    #[test]
    fn ln_f32_special_values() {
        assert_eq!(ln_f32(1.0f32).to_bits(), 0);
        assert_eq!(ln_f32(0.0f32), f32::NEG_INFINITY);
        assert_eq!(ln_f32(-0.0f32), f32::NEG_INFINITY);
        assert!(ln_f32(-1.0f32).is_nan());
        assert!(ln_f32(-f32::from_bits(1)).is_nan());
        assert!(ln_f32(f32::NEG_INFINITY).is_nan());
        assert_eq!(ln_f32(f32::INFINITY), f32::INFINITY);
        assert!(ln_f32(f32::NAN).is_nan());
        assert!(ln_f32(-f32::NAN).is_nan());
        assert_eq!(ln_f32(f32::MAX), 88.722_84);
        assert_eq!(ln_f32(f32::from_bits(1)), -103.278_93); // smallest subnormal
        assert_eq!(ln_f32(2.0f32), core::f32::consts::LN_2);
        assert_eq!(ln_f32(core::f32::consts::E), 1.0);
    }

    fn sweep(from: u32, to: u32, stride: usize, w: &mut Ulp) {
        for b in (from..to).step_by(stride) {
            let x = f32::from_bits(b);
            w.add(f64::from(x), ulp_err_f32(ln_f32(x), libm::log(f64::from(x))));
        }
    }

    #[test]
    fn ln_f32_ulp_sweep() {
        let mut w = Ulp::default();
        sweep(1, 0x0080_0000, 101, &mut w); // subnormals
        sweep(0x0080_0000, 0x7f80_0000, 101, &mut w); // normals
        sweep(0.5f32.to_bits(), 2f32.to_bits(), 1, &mut w); // all of [0.5, 2), around ln = 0
        std::eprintln!("ln_f32: max {:.4} ULP at x = {:e}", w.max, w.at);
        assert!(w.max <= 0.84, "ln_f32 max error {} ULP at {:e}", w.max, w.at);
    }

    #[test]
    fn ln_f64_special_values() {
        assert_eq!(ln_f64(1.0f64).to_bits(), 0);
        assert_eq!(ln_f64(0.0f64), f64::NEG_INFINITY);
        assert_eq!(ln_f64(-0.0f64), f64::NEG_INFINITY);
        assert!(ln_f64(-1.0f64).is_nan());
        assert!(ln_f64(f64::NEG_INFINITY).is_nan());
        assert_eq!(ln_f64(f64::INFINITY), f64::INFINITY);
        assert!(ln_f64(f64::NAN).is_nan());
        assert_eq!(ln_f64(f64::from_bits(1)), -744.440_071_921_381_2); // −1074·ln 2, rounded
        assert_eq!(ln_f64(2.0f64), core::f64::consts::LN_2);
    }

    #[test]
    fn ln_f64_vs_libm() {
        let mut w = Ulp::default();
        let mut check = |x: f64| w.add(x, ulp_err_f64(ln_f64(x), libm::log(x)));
        let top = f64::INFINITY.to_bits();
        for i in 1..(1u64 << 22) {
            check(f64::from_bits(i * (top >> 22) + (i & 0xfff)));
        }
        let mut rng = SplitMix64(5);
        for _ in 0..(1 << 18) {
            check(0.5 + 1.5 * rng.unit_f64());
        }
        std::eprintln!("ln_f64: max {:.4} ULP vs libm at x = {:e}", w.max, w.at);
        assert!(w.max <= 1.0, "ln_f64 max error {} ULP vs libm at {:e}", w.max, w.at);
    }

    #[test]
    fn ln_normal_equals_ln_on_positive_normals() {
        let mut rng = SplitMix64(23);
        let edges32 = [f32::MIN_POSITIVE, 2f32.powi(-24), 0.5, 1.0, 1.0 - 2f32.powi(-24), f32::MAX];
        for x in edges32.into_iter().chain((0..(1 << 16)).map(|_| {
            // Every normal exponent: bits 0x0080_0000 ..= 0x7f7f_ffff.
            f32::from_bits(0x0080_0000 + (rng.next_u64() % (0x7f80_0000 - 0x0080_0000)) as u32)
        })) {
            assert_eq!(ln_normal_f32(x).to_bits(), ln_f32(x).to_bits(), "x = {x:e}");
        }
        let edges64 = [f64::MIN_POSITIVE, 2f64.powi(-53), 0.5, 1.0, 1.0 - 2f64.powi(-53), f64::MAX];
        for x in edges64.into_iter().chain((0..(1 << 16)).map(|_| {
            f64::from_bits(
                0x0010_0000_0000_0000 + rng.next_u64() % (0x7ff0_0000_0000_0000 - 0x0010_0000_0000_0000),
            )
        })) {
            assert_eq!(ln_normal_f64(x).to_bits(), ln_f64(x).to_bits(), "x = {x:e}");
        }
    }
}
