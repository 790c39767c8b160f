//! Bits → floats exactly as JAX/XLA:CPU convert them (`jax.random.uniform`, `normal`),
//! written once over the lane type so scalar, SIMD and GPU lanes give the same bits.
//!
//! Why these are bit-exact: `uniform` is integer work plus one fused multiply-add that XLA
//! fuses on CPU; `normal` is XLA's `erf_inv` polynomial (Giles' single-precision
//! approximation) over XLA's own `log1p` (a Cephes rational function for small arguments,
//! Eigen's Cephes-style `logf` otherwise). Every step is `+ - * /`, fused `mul_add`, `sqrt`,
//! compare/select or bit work — all correctly rounded on every [`Real`] lane — in the
//! order `../shared/JAX_STREAMS.md` fixes. `std`'s `ln_1p`/`ln` are *not* XLA's: about 15%
//! of normals would differ by an ulp.

use crate::lane::{Real, UintLane};

/// Uniform in `[minval, maxval)` from 32 random bits, as `jax.random.uniform` (f32):
/// `f = from_bits((b >> 9) | 0x3F800000) - 1` (23 random mantissa bits, exact), then
/// `max(lo, fma(f, hi - lo, lo))` with one rounding (XLA:CPU fuses the multiply and add).
/// With `lo = 0, hi = 1` the result is `f` exactly.
#[inline(always)]
pub fn uniform_f32<L: Real<Scalar = f32>>(bits: L::Bits, lo: L, hi: L) -> L {
    let one = L::from_bits(bits.shr(9) | L::Bits::splat(0x3F80_0000));
    let f = one - L::splat(1.0);
    f.mul_add(hi - lo, lo).max(lo)
}

/// Uniform in `[minval, maxval)` from 64 random bits, as `jax.random.uniform` with
/// `dtype=float64` under `jax_enable_x64`: mantissa trick with `>> 12` and
/// `0x3FF0000000000000`, then `max(lo, fma(f, hi - lo, lo))`.
#[inline(always)]
pub fn uniform_f64<L: Real<Scalar = f64>>(bits: L::Bits, lo: L, hi: L) -> L {
    let one = L::from_bits(bits.shr(12) | L::Bits::splat(0x3FF0_0000_0000_0000));
    let f = one - L::splat(1.0);
    f.mul_add(hi - lo, lo).max(lo)
}

/// Standard normal from 32 random bits, as `jax.random.normal` (f32):
/// `u = uniform(bits, nextafter(-1, 0), 1)` (the scale `hi - lo` rounds to 2), then
/// `f32(√2) · erf_inv(u)` with XLA's `erf_inv` ([`erf_inv_xla`]).
#[inline(always)]
pub fn normal_f32<L: Real<Scalar = f32>>(bits: L::Bits) -> L {
    let lo = L::splat(f32::from_bits(0xbf7f_ffff));
    let u = uniform_f32(bits, lo, L::splat(1.0));
    L::splat(core::f64::consts::SQRT_2 as f32) * erf_inv_xla(u)
}

// The digits as XLA/Cephes publish them (traceable), not the shortest round-trip form.
#[allow(clippy::excessive_precision)]
const ERFINV_SMALL: [f32; 9] = [
    2.810_226_36e-08,
    3.432_739_39e-07,
    -3.523_387_7e-06,
    -4.391_506_54e-06,
    0.000_218_580_87,
    -0.001_253_725_03,
    -0.004_177_681_64,
    0.246_640_727,
    1.501_409_41,
];
// The digits as XLA/Cephes publish them (traceable), not the shortest round-trip form.
#[allow(clippy::excessive_precision)]
const ERFINV_LARGE: [f32; 9] = [
    -0.000_200_214_257,
    0.000_100_950_558,
    0.001_349_343_22,
    -0.003_673_428_44,
    0.005_739_507_73,
    -0.007_622_461_3,
    0.009_438_870_47,
    1.001_674_06,
    2.832_976_82,
];

/// XLA's f32 `erf_inv` (for `|x| < 1`): `w = -log1p(-x²)`; for `w < 5` a degree-8
/// polynomial in `w - 2.5`, else in `√w - 3`, evaluated with fused multiply-adds;
/// result `p · x`. Both branches are evaluated and one selected per lane.
/// (XLA also maps `|x| = 1` to `±inf`; `normal` never produces `|u| = 1`, so that select
/// is left out.)
#[inline(always)]
pub fn erf_inv_xla<L: Real<Scalar = f32>>(x: L) -> L {
    let t = -(x * x);
    let w = -log1p_xla(t);
    let small = w.simd_lt(L::splat(5.0));
    let w = L::select(small, w - L::splat(2.5), w.sqrt() - L::splat(3.0));
    let mut p = L::select(small, L::splat(ERFINV_SMALL[0]), L::splat(ERFINV_LARGE[0]));
    for k in 1..9 {
        p = p.mul_add(w, L::select(small, L::splat(ERFINV_SMALL[k]), L::splat(ERFINV_LARGE[k])));
    }
    p * x
}

/// Cephes `log1p` numerator and denominator, highest degree first (f64 literals rounded
/// to f32 as XLA does).
// The digits as XLA/Cephes publish them (traceable), not the shortest round-trip form.
#[allow(clippy::excessive_precision)]
const LOG1P_NUM: [f64; 7] = [
    4.527_000_086_244_519_963_521_5e-5,
    0.498_541_028_231_933_759_722_12,
    6.578_732_594_206_104_484_696_9,
    29.911_919_328_553_073_277_375,
    60.949_667_980_987_787_057_556,
    57.112_963_590_585_538_103_336,
    20.039_553_499_201_281_259_648,
];
// The digits as XLA/Cephes publish them (traceable), not the shortest round-trip form.
#[allow(clippy::excessive_precision)]
const LOG1P_DEN: [f64; 7] = [
    1.0,
    15.062_909_083_469_192_043_167,
    83.047_565_967_967_209_469_434,
    221.762_398_237_328_564_653_94,
    309.098_722_253_120_597_749_38,
    216.427_886_144_959_476_850_03,
    60.118_660_497_603_843_919_306,
];

/// XLA:CPU's f32 `log1p`: for `|t| < 0.41421356` the Cephes rational approximation
/// `t + (t·t²·P(t)/Q(t) - t²/2)` (Horner with fused multiply-adds), else
/// [`log_xla`]`(1 + t)`.
#[inline(always)]
pub fn log1p_xla<L: Real<Scalar = f32>>(t: L) -> L {
    let abs = L::from_bits(t.to_bits() & L::Bits::splat(0x7fff_ffff));
    let small = abs.simd_lt(L::splat(0.414_213_56));
    let mut num = L::splat(0.0);
    let mut den = L::splat(0.0);
    for k in 0..7 {
        num = num.mul_add(t, L::splat(LOG1P_NUM[k] as f32));
        den = den.mul_add(t, L::splat(LOG1P_DEN[k] as f32));
    }
    let r = num / den;
    let s = t * t;
    let near = t + ((t * s) * r - L::splat(0.5) * s);
    L::select(small, near, log_xla(L::splat(1.0) + t))
}

// The digits as XLA/Cephes publish them (traceable), not the shortest round-trip form.
#[allow(clippy::excessive_precision)]
const LN2_HI: f32 = 0.693_359_375;
#[allow(clippy::excessive_precision)]
const LN2_LO: f32 = -2.121_944_40e-4;
#[allow(clippy::excessive_precision)]
const LOG_P: [f32; 9] = [
    7.037_683_629_2e-2,
    -1.151_461_031_0e-1,
    1.167_699_874_0e-1,
    -1.242_014_084_6e-1,
    1.424_932_278_7e-1,
    -1.666_805_766_5e-1,
    2.000_071_476_5e-1,
    -2.499_999_399_3e-1,
    3.333_333_117_4e-1,
];

/// XLA:CPU's f32 `log` (Eigen's Cephes-style `plog_float`): `y = m·2^e` with `m` in
/// `[√½, √2)`, a degree-8 polynomial in `m - 1` evaluated in three fused chains, and
/// `e·ln 2` added in two parts (`-2.12194440e-4`, `0.693359375`). `0 → -inf`,
/// `+inf → +inf`, negative or NaN → `f32::NAN`.
#[inline(always)]
pub fn log_xla<L: Real<Scalar = f32>>(y: L) -> L {
    let x = y.max(L::splat(f32::from_bits(0x0080_0000)));
    let bits = x.to_bits();
    let m = L::from_bits((bits & L::Bits::splat(0x807f_ffff)) | L::Bits::splat(0x3f00_0000));
    let e = L::from_uint_exact(bits.shr(23) & L::Bits::splat(0xff)) - L::splat(126.0);
    let low = m.simd_lt(L::splat(0.707_106_77));
    let one = L::splat(1.0);
    let e = L::select(low, e - one, e);
    let m = L::select(low, (m - one) + m, m - one);
    let z2 = m * m;
    let z3 = z2 * m;
    let p = |k: usize| L::splat(LOG_P[k]);
    let a = m.mul_add(p(0), p(1)).mul_add(m, p(2));
    let b = m.mul_add(p(3), p(4)).mul_add(m, p(5));
    let c = m.mul_add(p(6), p(7)).mul_add(m, p(8));
    let a = a.mul_add(z3, b).mul_add(z3, c);
    let a = a.mul_add(z3, e * L::splat(LN2_LO));
    let r = z2.mul_add(L::splat(-0.5), m) + a;
    let r = e.mul_add(L::splat(LN2_HI), r);
    let zero = L::splat(0.0);
    let inf = L::splat(f32::INFINITY);
    let r = L::select(y.simd_eq(zero), -inf, r);
    let r = L::select(y.simd_eq(inf), inf, r);
    // Negative or NaN input: NaN (a constant pattern, the same bits on every target).
    let bad = y.simd_lt(zero) | !y.simd_eq(y);
    L::select(bad, L::splat(f32::NAN), r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_01_is_the_mantissa_trick() {
        // jax_vectors.json: seed 0, partitionable, element 0.
        assert_eq!(uniform_f32::<f32>(0xf29a4fa7, 0.0, 1.0).to_bits(), 0x3f729a4e);
        assert_eq!(uniform_f32::<f32>(0, 0.0, 1.0), 0.0);
        assert_eq!(uniform_f32::<f32>(u32::MAX, 0.0, 1.0), 1.0 - f32::EPSILON);
        assert_eq!(uniform_f64::<f64>(u64::MAX, 0.0, 1.0), 1.0 - f64::EPSILON);
        assert_eq!(uniform_f64::<f64>(1 << 12, 0.0, 1.0), f64::EPSILON);
    }

    #[test]
    fn uniform_minmax_stays_in_range() {
        for b in [0u32, 1 << 9, 0x8000_0000, u32::MAX] {
            let u = uniform_f32::<f32>(b, -3.3, 17.25);
            assert!((-3.3..17.25).contains(&u), "{b:#x} -> {u}");
        }
    }

    #[test]
    fn log_xla_close_to_ln_and_special_values() {
        let mut x = 1e-30f32;
        while x < 1e30 {
            let (got, want) = (log_xla::<f32>(x) as f64, (x as f64).ln());
            assert!((got - want).abs() <= 2.0 * f32::EPSILON as f64 * want.abs().max(1.0), "{x}");
            x *= 1.37;
        }
        assert_eq!(log_xla::<f32>(1.0), 0.0);
        assert_eq!(log_xla::<f32>(0.0), f32::NEG_INFINITY);
        assert_eq!(log_xla::<f32>(f32::INFINITY), f32::INFINITY);
        assert!(log_xla::<f32>(-1.0).is_nan() && log_xla::<f32>(f32::NAN).is_nan());
    }

    #[test]
    fn log1p_xla_close_to_ln_1p() {
        for k in 1..2000 {
            let t = -(k as f32) / 2000.0;
            let (got, want) = (log1p_xla::<f32>(t) as f64, (t as f64).ln_1p());
            assert!((got - want).abs() <= 4.0 * f32::EPSILON as f64 * want.abs(), "{t}");
        }
    }

    #[test]
    fn normal_is_odd_ish_and_bounded() {
        // Top and bottom of the bit range: about ±5.4 (erf_inv of ±(1 - 2^-23)).
        let hi = normal_f32::<f32>(u32::MAX);
        let lo = normal_f32::<f32>(0);
        assert!(hi > 5.0 && hi < 6.0 && lo < -5.0 && lo > -6.0, "{lo} {hi}");
        // bits with mantissa 2^22 give u = 0 exactly: fma(0.5, 2, -1 + 2^-24) = 2^-24.
        assert!(normal_f32::<f32>(0x8000_0000).abs() < 1e-6);
    }
}
