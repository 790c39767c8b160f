//! Elementary functions written once over the lane type.
//!
//! Built only from correctly rounded lane operations (`mul_add`, `*`, `+`, `-`, `/`,
//! `sqrt`, `select`) and bit manipulation, so scalar, SIMD and PTX give the same bits.
//! No kernel branches or loops over lanes: special values are handled by compare +
//! select, and where a special result is a NaN it is a selected one (the input's or a
//! constant), never one made by arithmetic, whose bits differ between x86 and PTX.
//! `libm` is their accuracy oracle in tests; each function's doc states its measured
//! maximum error.
//!
//! | function (f32 / f64) | f32, exhaustive | f64 vs libm | f64 vs mpmath |
//! | --- | --- | --- | --- |
//! | [`exp::exp_f32`] / [`exp::exp_f64`] | 0.894 ULP on `[-104, 89]` | ≤ 1 ULP | 0.91 ULP |
//! | [`ln::ln_f32`] / [`ln::ln_f64`] | 0.835 ULP, all `x > 0` | ≤ 1 ULP | 0.77 ULP |
//! | [`sincos::sin_cos_2pi_f32`] / `_f64` | 0.969 ULP, finite `u`¹ | ≤ 2 ULP | 0.96 ULP |
//!
//! ¹ 1.05 ULP for `sin` of a subnormal `u`.
//!
//! The f32 figures are measured once over every f32 input of the range against libm's
//! f64 functions (far more accurate than an f32 ulp); the tests repeat that with a stride
//! (seconds each) and assert the bound. The f64 figures are against libm's f64
//! functions (4 million inputs each), themselves < 1 ULP, so they can only be whole
//! ULPs; an mpmath check of 30 000 random arguments per function gave the last column.
//! Each function's doc says how its sweep is made.
//!
//! One exception is not over the lane type: [`exp_correctly_rounded`], scalar f64 in
//! 256-bit fixed point, for constants computed once per parameter set (W2's `relax`), so
//! that they equal what any other correctly rounding `exp` (glibc's, NumPy's) gives.

pub mod exp;
pub mod exp_correctly_rounded;
pub mod ln;
pub mod sincos;

/// SIMD lanes against the scalar reference: every kernel, bit for bit (NaNs included:
/// the kernels only ever return selected NaNs).
#[cfg(all(test, feature = "simd"))]
mod simd_agreement {
    use super::testutil::SplitMix64;
    use crate::lane::Real;
    use wide::{f32x8, f64x4};

    fn check_f32x8(xs: [f32; 8]) {
        let v = <f32x8 as Real>::from_fn(|l| xs[l]);
        let (e, n) = (exp::exp_f32(v), ln::ln_f32(v));
        let (s, c) = sincos::sin_cos_2pi_f32(v);
        for (l, &x) in xs.iter().enumerate() {
            let (ss, sc) = sincos::sin_cos_2pi_f32(x);
            assert_eq!(e.lane(l).to_bits(), exp::exp_f32(x).to_bits(), "exp({x:e})");
            assert_eq!(n.lane(l).to_bits(), ln::ln_f32(x).to_bits(), "ln({x:e})");
            assert_eq!(s.lane(l).to_bits(), ss.to_bits(), "sin 2π·{x:e}");
            assert_eq!(c.lane(l).to_bits(), sc.to_bits(), "cos 2π·{x:e}");
        }
    }

    fn check_f64x4(xs: [f64; 4]) {
        let v = <f64x4 as Real>::from_fn(|l| xs[l]);
        let (e, n) = (exp::exp_f64(v), ln::ln_f64(v));
        let (s, c) = sincos::sin_cos_2pi_f64(v);
        for (l, &x) in xs.iter().enumerate() {
            let (ss, sc) = sincos::sin_cos_2pi_f64(x);
            assert_eq!(e.lane(l).to_bits(), exp::exp_f64(x).to_bits(), "exp({x:e})");
            assert_eq!(n.lane(l).to_bits(), ln::ln_f64(x).to_bits(), "ln({x:e})");
            assert_eq!(s.lane(l).to_bits(), ss.to_bits(), "sin 2π·{x:e}");
            assert_eq!(c.lane(l).to_bits(), sc.to_bits(), "cos 2π·{x:e}");
        }
    }

    use super::{exp, ln, sincos};

    #[test]
    fn f32x8_kernels_equal_scalar_bits() {
        // Every 2053rd f32 bit pattern (all classes: NaNs, infinities, subnormals)...
        let mut xs = [0f32; 8];
        for (i, b) in (0..=u32::MAX).step_by(2053).enumerate() {
            xs[i % 8] = f32::from_bits(b);
            if i % 8 == 7 {
                check_f32x8(xs);
            }
        }
        // ...and dense samples of the ranges that matter: exp's, and uniforms.
        let mut rng = SplitMix64(17);
        for _ in 0..(1 << 16) {
            check_f32x8(core::array::from_fn(|_| (-110.0 + 205.0 * rng.unit_f64()) as f32));
            check_f32x8(core::array::from_fn(|_| rng.unit_f64() as f32));
        }
    }

    #[test]
    fn f64x4_kernels_equal_scalar_bits() {
        let mut rng = SplitMix64(19);
        for _ in 0..(1 << 17) {
            check_f64x4(core::array::from_fn(|_| f64::from_bits(rng.next_u64())));
            check_f64x4(core::array::from_fn(|_| -750.0 + 1465.0 * rng.unit_f64()));
            check_f64x4(core::array::from_fn(|_| rng.unit_f64()));
        }
        let specials =
            [0.0, -0.0, 1.0, f64::INFINITY, f64::NEG_INFINITY, f64::NAN, f64::MIN_POSITIVE, 5e-324];
        check_f64x4([specials[0], specials[1], specials[2], specials[3]]);
        check_f64x4([specials[4], specials[5], specials[6], specials[7]]);
    }
}

/// Error measurement shared by the kernels' tests.
#[cfg(test)]
pub(crate) mod testutil {
    /// `2^n` as f64 for `-1074 ≤ n ≤ 1023` (subnormal powers included).
    pub(crate) fn pow2(n: i32) -> f64 {
        if n >= -1022 {
            f64::from_bits(((n + 1023) as u64) << 52)
        } else {
            f64::from_bits(1u64 << (n + 1074))
        }
    }

    /// Binary exponent of a finite nonzero f64 (`⌊log2 |x|⌋`).
    fn exponent(x: f64) -> i32 {
        let e = ((x.to_bits() >> 52) & 0x7ff) as i32;
        let m = x.to_bits() & ((1u64 << 52) - 1);
        if e == 0 { -1074 + (63 - m.leading_zeros() as i32) } else { e - 1023 }
    }

    /// Error of the f32 result `y` in units of the f32 ulp at `exact` (an f64 value far
    /// more accurate than f32). Both NaN, or equal infinities: 0. An infinite `y` where
    /// `exact` rounds to that infinity in f32: 0.
    pub(crate) fn ulp_err_f32(y: f32, exact: f64) -> f64 {
        let y = f64::from(y);
        if y.is_nan() || exact.is_nan() {
            return if y.is_nan() && exact.is_nan() { 0.0 } else { f64::INFINITY };
        }
        if y.is_infinite() || exact.is_infinite() {
            return if y == exact as f32 as f64 { 0.0 } else { f64::INFINITY };
        }
        let e = if exact == 0.0 { -126 } else { exponent(exact).clamp(-126, 127) };
        (y - exact).abs() / pow2(e - 23)
    }

    /// Error of the f64 result `y` in units of the f64 ulp at `reference`.
    pub(crate) fn ulp_err_f64(y: f64, reference: f64) -> f64 {
        if y.is_nan() || reference.is_nan() {
            return if y.is_nan() && reference.is_nan() { 0.0 } else { f64::INFINITY };
        }
        if y.is_infinite() || reference.is_infinite() {
            return if y == reference { 0.0 } else { f64::INFINITY };
        }
        let e = if reference == 0.0 { -1022 } else { exponent(reference).max(-1022) };
        (y - reference).abs() / pow2(e - 52)
    }

    /// Running maximum of an error and the argument where it occurred (a NaN error
    /// counts as the worst).
    #[derive(Debug, Default)]
    pub(crate) struct Ulp {
        pub(crate) max: f64,
        pub(crate) at: f64,
    }

    impl Ulp {
        pub(crate) fn add(&mut self, x: f64, err: f64) {
            if err.is_nan() || err > self.max {
                self.max = if err.is_nan() { f64::INFINITY } else { err };
                self.at = x;
            }
        }
    }

    /// SplitMix64: a tiny fixed-seed generator for random test arguments.
    #[derive(Debug)]
    pub(crate) struct SplitMix64(pub(crate) u64);

    impl SplitMix64 {
        pub(crate) fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
        /// Uniform in `[0, 1)` with 53 random bits.
        pub(crate) fn unit_f64(&mut self) -> f64 {
            (self.next_u64() >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
        }
    }

    /// The kernels are reached through the `Real` trait for any lane type: a generic
    /// caller compiles (no lane loops, no per-type code) and gets the kernels' bits.
    #[test]
    fn kernels_are_lane_generic() {
        fn all<L: crate::lane::Real>(x: L) -> [L; 4] {
            let (s, c) = x.sin_cos_2pi();
            [x.exp(), x.ln(), s, c]
        }
        let (s, c) = super::sincos::sin_cos_2pi_f32(0.3f32);
        let want = [super::exp::exp_f32(0.3f32), super::ln::ln_f32(0.3f32), s, c];
        assert_eq!(all(0.3f32).map(f32::to_bits), want.map(f32::to_bits));
        let (s, c) = super::sincos::sin_cos_2pi_f64(0.3f64);
        let want = [super::exp::exp_f64(0.3f64), super::ln::ln_f64(0.3f64), s, c];
        assert_eq!(all(0.3f64).map(f64::to_bits), want.map(f64::to_bits));
    }

    #[test]
    fn ulp_measure_is_right() {
        assert_eq!(ulp_err_f32(1.0, 1.0 + pow2(-24)), 0.5);
        assert_eq!(ulp_err_f32(f32::from_bits(1), 0.0), 1.0);
        assert_eq!(ulp_err_f32(f32::INFINITY, 3.5e38), 0.0);
        assert_eq!(ulp_err_f32(f32::INFINITY, 3.0e38), f64::INFINITY);
        assert_eq!(ulp_err_f64(1.0, 1.0 - pow2(-53)), 1.0);
        assert_eq!(ulp_err_f64(pow2(-1074), 0.0), 1.0);
        assert_eq!(exponent(pow2(-1074)), -1074);
        assert_eq!(exponent(pow2(-1030) * 3.0), -1029);
    }
}
