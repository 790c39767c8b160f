//! `sin`/`cos` of `2πu` written once over the lane type.
//!
//! Why `2πu` and not `sin x`: Box–Muller needs the angle of a uniform `u ∈ [0, 1)`,
//! and in turns the reduction is *exact* — no multi-word `π`, no Payne–Hanek — so it is
//! a handful of correctly rounded ops that give the same bits on scalar, SIMD and PTX.
//!
//! 1. Whole turns: `v = u − n` with `n` an integer near `u` from the shifter trick
//!    (`(u + 1.5·2^24) − 1.5·2^24` in f32, `2^53` in f64: an even integer within 1 of
//!    `u`), so `|v| ≤ 1`, exact for `|u| < 2^23` (f32) / `2^52` (f64); from there on every
//!    float is an integer and `v = 0`.
//! 2. Quarter turns: `q = round(4v)` by the shifter trick (ties to even on every target),
//!    `t = v − q/4` exact, `|t| ≤ 1/8`; the quadrant `q mod 4` is read from the bits.
//! 3. Minimax polynomials in `t` (Remez, relative error): `sin 2πt = t·P(t²)` with the
//!    leading `2π` split in two so that it is carried to more than working precision,
//!    and `cos 2πt = 1 + t²·Q(t²)`.
//! 4. The quadrant swaps `sin`/`cos` by select and flips signs by xor on the sign bit.
//!
//! Special values: `u = 0` gives `(0, 1)` exactly, quarter turns give exact `0`, `±1`
//! (zeros from the sign flip may be `-0`: `cos` at `u = 1/4`, `sin` at `u = 1/2`); every
//! integer `u` gives `(±0, 1)`; `u = ±inf` or NaN gives `(NaN, NaN)` (a constant NaN,
//! selected, the same bits everywhere).

use crate::lane::{Real, UintLane};

/// `(sin 2πu, cos 2πu)`, f32 lanes.
///
/// Valid for every finite `u` with the same accuracy (the reduction is exact).
/// Max error **0.966 ULP (sin) and 0.969 ULP (cos)**, measured exhaustively (once) over
/// every normal f32 `u` of `[-1, 2^23)` against libm's f64 `sin`/`cos` of the exactly
/// reduced argument, in f32 ulps; `sin` of a *subnormal* `u` reaches 1.05 ULP (the low
/// half of `2π` underflows). Larger `|u|` are integers and give `(±0, 1)` exactly. The
/// test `sin_cos_2pi_f32_ulp_sweep` covers `[0, 1)` with stride 53, every f32 of
/// `[0.2, 0.3]` and 2^20 random `u` of every exponent and sign, and asserts ≤ 0.97
/// (≤ 1.05 for subnormal `u`).
#[inline(always)]
pub fn sin_cos_2pi_f32<L: Real<Scalar = f32>>(u: L) -> (L, L) {
    const TURN_SHIFT: f32 = 25_165_824.0; // 1.5·2^24: u + it rounds to an even integer
    const BIG: f32 = 8_388_608.0; // 2^23: from here on every f32 is an integer

    let s = L::splat;
    let b = L::Bits::splat;
    let au = L::from_bits(u.to_bits() & b(0x7fff_ffff));
    let small = au.simd_lt(s(BIG));
    let n = (u + s(TURN_SHIFT)) - s(TURN_SHIFT);
    let v = L::select(small, u - n, s(0.0));
    let (sin, cos) = sin_cos_2pi_turn_f32(v);
    let finite = au.simd_le(s(f32::MAX));
    (L::select(finite, sin, s(f32::NAN)), L::select(finite, cos, s(f32::NAN)))
}

/// [`sin_cos_2pi_f32`] for `|v| ≤ 1` (at most one turn): steps 2–4 of the module doc.
/// There the whole-turn reduction is the identity (`v + 1.5·2^24` rounds back to
/// `1.5·2^24`, the spacing there being 2, so `n = 0`) and the selects change nothing:
/// the same bits, 9 fewer lane operations. Box–Muller's `u2 ∈ [0, 1)` is such an
/// argument.
#[inline(always)]
pub fn sin_cos_2pi_turn_f32<L: Real<Scalar = f32>>(v: L) -> (L, L) {
    const SHIFT: f32 = 12_582_912.0; // 1.5·2^23: rounds 4v to an integer
    // sin 2πt ≈ t·(S1_HI + S1_LO + S3·t² + S5·t⁴ + S7·t⁶) on |t| ≤ 1/8 (2^-28.2).
    const S1_HI: f32 = core::f32::consts::TAU;
    const S1_LO: f32 = -1.951_918e-7;
    const S3: f32 = -41.341_663;
    const S5: f32 = 81.592_354;
    const S7: f32 = -75.393_56;
    // cos 2πt ≈ 1 + t²·(C2 + C4·t² + C6·t⁴ + C8·t⁶) on |t| ≤ 1/8 (2^-34).
    const C2: f32 = -19.739_208;
    const C4: f32 = 64.939_31;
    const C6: f32 = -85.442_3;
    const C8: f32 = 59.202_797;

    let s = L::splat;
    let b = L::Bits::splat;
    let tq = v.mul_add(s(4.0), s(SHIFT));
    let q = tq - s(SHIFT);
    let t = q.mul_add(s(-0.25), v);
    let qb = tq.to_bits();

    let z = t * t;
    let ps = z.mul_add(z.mul_add(z.mul_add(s(S7), s(S5)), s(S3)), s(S1_LO));
    let sn = t.mul_add(s(S1_HI), t * ps);
    let pc = z.mul_add(z.mul_add(z.mul_add(s(C8), s(C6)), s(C4)), s(C2));
    let cs = z.mul_add(pc, s(1.0));

    // Odd quadrant: swap. Bit 0 of q moved into the exponent gives 0 or 2^-126.
    let odd = L::from_bits((qb & b(1)).shl(23)).simd_gt(s(0.0));
    let (s0, c0) = (L::select(odd, cs, sn), L::select(odd, sn, cs));
    // sin flips sign in quadrants 2, 3; cos in quadrants 1, 2.
    let sin = L::from_bits(s0.to_bits() ^ (qb & b(2)).shl(30));
    let cos = L::from_bits(c0.to_bits() ^ (qb.wrapping_add(b(1)) & b(2)).shl(30));
    (sin, cos)
}

/// `(sin 2πu, cos 2πu)`, f64 lanes.
///
/// Valid for every finite `u` with the same accuracy (the reduction is exact).
/// Max error **≤ 2 ULP versus libm's `sin`/`cos`** (itself < 1 ULP, fed the exactly
/// reduced argument times 2π in double-double) over 4.2 million inputs: 2^21 strided and
/// 2^21 random `u ∈ [0, 1)`, and random `u` of every exponent; see
/// `sin_cos_2pi_f64_vs_libm`. An mpmath spot check (30 000 random `u ∈ [0, 1)`) found
/// 0.91 ULP (sin) and 0.96 ULP (cos) against the exact values.
#[inline(always)]
pub fn sin_cos_2pi_f64<L: Real<Scalar = f64>>(u: L) -> (L, L) {
    const TURN_SHIFT: f64 = 13_510_798_882_111_488.0; // 1.5·2^53
    const BIG: f64 = 4_503_599_627_370_496.0; // 2^52
    let s = L::splat;
    let b = L::Bits::splat;
    let au = L::from_bits(u.to_bits() & b(0x7fff_ffff_ffff_ffff));
    let small = au.simd_lt(s(BIG));
    let n = (u + s(TURN_SHIFT)) - s(TURN_SHIFT);
    let v = L::select(small, u - n, s(0.0));
    let (sin, cos) = sin_cos_2pi_turn_f64(v);
    let finite = au.simd_le(s(f64::MAX));
    (L::select(finite, sin, s(f64::NAN)), L::select(finite, cos, s(f64::NAN)))
}

/// [`sin_cos_2pi_f64`] for `|v| ≤ 1` (at most one turn): steps 2–4 of the module doc.
/// There the whole-turn reduction is the identity (`v + 1.5·2^53` rounds back to
/// `1.5·2^53`, the spacing there being 2, so `n = 0`) and the selects change nothing:
/// the same bits, 9 fewer lane operations. Box–Muller's `u2 ∈ [0, 1)` is such an
/// argument.
#[inline(always)]
pub fn sin_cos_2pi_turn_f64<L: Real<Scalar = f64>>(v: L) -> (L, L) {
    const SHIFT: f64 = 6_755_399_441_055_744.0; // 1.5·2^52
    // sin 2πt ≈ t·(S1_HI + S1_LO + S3·t² + … + S13·t¹²) on |t| ≤ 1/8 (2^-58).
    const S1_HI: f64 = core::f64::consts::TAU;
    const S1_LO: f64 = 2.241_191_482_279_902e-16;
    const S3: f64 = -41.341_702_240_399_634;
    const S5: f64 = 81.605_249_275_944_52;
    const S7: f64 = -76.705_859_703_315_08;
    const S9: f64 = 42.058_684_902_048_41;
    const S11: f64 = -15.093_797_504_866_615;
    const S13: f64 = 3.780_726_163_414_673_4;
    // cos 2πt ≈ 1 + t²·(C2 + C4·t² + … + C14·t¹²) on |t| ≤ 1/8 (2^-64.6).
    const C2: f64 = -19.739_208_802_178_716;
    const C4: f64 = 64.939_394_022_667_93;
    const C6: f64 = -85.456_817_206_509_58;
    const C8: f64 = 60.244_641_326_482_67;
    const C10: f64 = -26.426_250_686_050_77;
    const C12: f64 = 7.903_081_376_942_225;
    const C14: f64 = -1.696_661_683_535_137_1;

    let s = L::splat;
    let b = L::Bits::splat;
    let tq = v.mul_add(s(4.0), s(SHIFT));
    let q = tq - s(SHIFT);
    let t = q.mul_add(s(-0.25), v);
    let qb = tq.to_bits();

    let z = t * t;
    let mut ps = s(S13).mul_add(z, s(S11));
    for c in [S9, S7, S5, S3, S1_LO] {
        ps = ps.mul_add(z, s(c));
    }
    let sn = t.mul_add(s(S1_HI), t * ps);
    let mut pc = s(C14).mul_add(z, s(C12));
    for c in [C10, C8, C6, C4, C2] {
        pc = pc.mul_add(z, s(c));
    }
    let cs = z.mul_add(pc, s(1.0));

    let odd = L::from_bits((qb & b(1)).shl(52)).simd_gt(s(0.0));
    let (s0, c0) = (L::select(odd, cs, sn), L::select(odd, sn, cs));
    let sin = L::from_bits(s0.to_bits() ^ (qb & b(2)).shl(62));
    let cos = L::from_bits(c0.to_bits() ^ (qb.wrapping_add(b(1)) & b(2)).shl(62));
    (sin, cos)
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::math::testutil::{SplitMix64, Ulp, ulp_err_f32, ulp_err_f64};

    /// `u = n + q/4 + t` split exactly: (quadrant `q mod 4`, `t ∈ [-1/8, 1/8]`).
    fn reduce(u: f64) -> (u64, f64) {
        // Independent of the kernels' shifter trick: libm's round, both steps exact.
        let v = u - libm::round(u);
        let q = libm::round(4.0 * v);
        ((q as i64).rem_euclid(4) as u64, v - 0.25 * q)
    }

    /// Quadrant rotation: (sin, cos) of `q/4 + t` turns from those of `t`.
    fn rotate(q: u64, s: f64, c: f64) -> (f64, f64) {
        match q {
            0 => (s, c),
            1 => (c, -s),
            2 => (-s, -c),
            _ => (-c, s),
        }
    }

    /// f64 reference for f32 arguments: libm on `2π·t`, `|t| ≤ 1/8` (f64 rounding of the
    /// product is far below an f32 ulp).
    fn oracle32(u: f32) -> (f64, f64) {
        let (q, t) = reduce(f64::from(u));
        let x = core::f64::consts::TAU * t;
        rotate(q, libm::sin(x), libm::cos(x))
    }

    /// f64 reference for f64 arguments: `2π·t` in double-double, libm on the high part
    /// plus the first-order term of the low part.
    fn oracle64(u: f64) -> (f64, f64) {
        let (q, t) = reduce(u);
        let tau_lo = 2.449_293_598_294_706_4e-16; // 2π − TAU
        let hi = core::f64::consts::TAU * t;
        let lo = core::f64::consts::TAU.mul_add(t, -hi) + tau_lo * t;
        let (sh, ch) = (libm::sin(hi), libm::cos(hi));
        rotate(q, sh + lo * ch, ch - lo * sh)
    }

    #[test]
    fn sin_cos_2pi_f32_special_values() {
        let bits = |(s, c): (f32, f32)| (s.to_bits(), c.to_bits());
        assert_eq!(bits(sin_cos_2pi_f32(0.0f32)), (0, 1f32.to_bits()));
        let (s, c) = sin_cos_2pi_f32(-0.0f32);
        assert!(s == 0.0 && c.to_bits() == 1f32.to_bits());
        let (s, c) = sin_cos_2pi_f32(0.25f32);
        assert!(s == 1.0 && c == 0.0);
        let (s, c) = sin_cos_2pi_f32(0.5f32);
        assert!(s == 0.0 && c == -1.0);
        let (s, c) = sin_cos_2pi_f32(0.75f32);
        assert!(s == -1.0 && c == 0.0);
        let (s, c) = sin_cos_2pi_f32(-0.25f32);
        assert!(s == -1.0 && c == 0.0);
        for n in [1.0f32, -3.0, 8_388_607.0, 8_388_608.0, 1e20, -1e38, f32::MAX] {
            let (s, c) = sin_cos_2pi_f32(n);
            assert!(s == 0.0 && c == 1.0, "u = {n}: ({s}, {c})");
        }
        // Half-integers near the top of the fractional range.
        let (s, c) = sin_cos_2pi_f32(-4_194_304.5f32);
        assert!(s == 0.0 && c == -1.0);
        let (s, c) = sin_cos_2pi_f32(2_097_152.0f32 - 0.25); // 3/4 turn past an integer
        assert!(s == -1.0 && c == 0.0);
        for x in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let (s, c) = sin_cos_2pi_f32(x);
            assert!(s.is_nan() && c.is_nan());
        }
        // 1/8 turn: both √2/2 (sin correctly rounded, cos within its bound).
        let (s, c) = sin_cos_2pi_f32(0.125f32);
        assert_eq!(s, core::f32::consts::FRAC_1_SQRT_2);
        assert!(ulp_err_f32(c, core::f64::consts::FRAC_1_SQRT_2) <= 0.96);
    }

    #[test]
    fn sin_cos_2pi_f32_ulp_sweep() {
        // [sin, cos] × [normal u, subnormal u].
        let mut w: [[Ulp; 2]; 2] = Default::default();
        let mut check = |u: f32| {
            let (s, c) = sin_cos_2pi_f32(u);
            let (rs, rc) = oracle32(u);
            let sub = usize::from(u != 0.0 && u.abs() < f32::MIN_POSITIVE);
            w[0][sub].add(f64::from(u), ulp_err_f32(s, rs));
            w[1][sub].add(f64::from(u), ulp_err_f32(c, rc));
        };
        for b in (0..1f32.to_bits()).step_by(53) {
            check(f32::from_bits(b));
        }
        for b in 0.2f32.to_bits()..=0.3f32.to_bits() {
            check(f32::from_bits(b));
        }
        // Any finite u: random bit patterns of every exponent, both signs.
        let mut rng = SplitMix64(3);
        for _ in 0..(1 << 20) {
            let x = f32::from_bits(rng.next_u64() as u32);
            if x.is_finite() {
                check(x);
            }
        }
        for (name, [normal, sub]) in [("sin", &w[0]), ("cos", &w[1])] {
            std::eprintln!("{name} 2πu f32: max {:.4} ULP at u = {:e}", normal.max, normal.at);
            std::eprintln!("{name} 2πu f32, subnormal u: max {:.4} ULP at u = {:e}", sub.max, sub.at);
            assert!(normal.max <= 0.97, "{name}: {} ULP at {:e}", normal.max, normal.at);
            assert!(sub.max <= 1.05, "{name}: {} ULP at {:e}", sub.max, sub.at);
        }
    }

    #[test]
    fn sin_cos_2pi_f64_special_values() {
        assert_eq!(sin_cos_2pi_f64(0.0f64), (0.0, 1.0));
        assert_eq!(sin_cos_2pi_f64(0.0f64).0.to_bits(), 0);
        let (s, c) = sin_cos_2pi_f64(0.25f64);
        assert!(s == 1.0 && c == 0.0);
        let (s, c) = sin_cos_2pi_f64(0.5f64);
        assert!(s == 0.0 && c == -1.0);
        let (s, c) = sin_cos_2pi_f64(-0.75f64);
        assert!(s == 1.0 && c == 0.0);
        for n in [7.0f64, -4_503_599_627_370_495.0, 4_503_599_627_370_496.0, 1e300] {
            let (s, c) = sin_cos_2pi_f64(n);
            assert!(s == 0.0 && c == 1.0, "u = {n}: ({s}, {c})");
        }
        for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let (s, c) = sin_cos_2pi_f64(x);
            assert!(s.is_nan() && c.is_nan());
        }
    }

    #[test]
    fn sin_cos_2pi_f64_vs_libm() {
        let (mut ws, mut wc) = (Ulp::default(), Ulp::default());
        let mut check = |u: f64| {
            let (s, c) = sin_cos_2pi_f64(u);
            let (rs, rc) = oracle64(u);
            ws.add(u, ulp_err_f64(s, rs));
            wc.add(u, ulp_err_f64(c, rc));
        };
        let mut rng = SplitMix64(9);
        for i in 0..(1u64 << 21) {
            check(i as f64 / (1u64 << 21) as f64 + 1.7e-7);
            check(rng.unit_f64());
        }
        for _ in 0..(1 << 16) {
            let x = f64::from_bits(rng.next_u64());
            if x.is_finite() {
                check(x);
            }
        }
        std::eprintln!("sin 2πu f64: max {:.4} ULP vs libm at u = {:e}", ws.max, ws.at);
        std::eprintln!("cos 2πu f64: max {:.4} ULP vs libm at u = {:e}", wc.max, wc.at);
        assert!(ws.max <= 2.0, "sin: {} ULP at {:e}", ws.max, ws.at);
        assert!(wc.max <= 2.0, "cos: {} ULP at {:e}", wc.max, wc.at);
    }

    #[test]
    fn sin_cos_2pi_turn_equals_sin_cos_2pi_within_one_turn() {
        let bits32 = |(s, c): (f32, f32)| (s.to_bits(), c.to_bits());
        let bits64 = |(s, c): (f64, f64)| (s.to_bits(), c.to_bits());
        let mut rng = SplitMix64(29);
        let edges = [0.0, -0.0, 1.0, -1.0, 0.25, 0.5, 0.75, -0.5, 1.0 - 2f64.powi(-53), 2f64.powi(-60)];
        for u in edges.into_iter().chain((0..(1 << 17)).map(|_| 2.0 * rng.unit_f64() - 1.0)) {
            assert_eq!(bits64(sin_cos_2pi_turn_f64(u)), bits64(sin_cos_2pi_f64(u)), "u = {u:e}");
            let v = u as f32;
            assert_eq!(bits32(sin_cos_2pi_turn_f32(v)), bits32(sin_cos_2pi_f32(v)), "u = {v:e}");
        }
        // Every f32 uniform of the contract's top and bottom (multiples of 2^-24).
        for k in (0..4096u32).chain((1 << 24) - 4096..(1 << 24)) {
            let u = k as f32 / 16_777_216.0;
            assert_eq!(bits32(sin_cos_2pi_turn_f32(u)), bits32(sin_cos_2pi_f32(u)), "u = {u:e}");
        }
    }
}
