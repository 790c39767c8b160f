//! `exp` in f64, correctly rounded (round to nearest, ties to even): the one value every
//! careful implementation agrees on.
//!
//! Why: W2's `relax = exp(-dt/τ)` is a constant that every backend receives as a number,
//! and an independent implementation computes it with its platform's `exp`. Glibc's
//! `exp` (what NumPy's `math.exp`/`np.exp` call on Linux) returns the correctly rounded
//! value on all inputs anyone has reported; `libm`'s is only faithful, and differed in the
//! last bit for about one random `(dt, τ)` in ten, which made every state of the path
//! differ. The correctly rounded value is the platform-free choice.
//!
//! How: not fast, and it need not be (one call per parameter set, on the host). The value
//! is computed in 256-bit fixed point with 240 fractional bits, `exp(x) = 2^k · exp(r)`,
//! `r = x − k·ln 2 ∈ [0, ln 2)`, `exp(r)` by its Taylor series, every step truncating.
//! The total error is below `2^14` units of `2^-240` on a value in `[1, 2)`, i.e.
//! `2^-226` relative. Rounding to 53 bits is then decided by the computed bits unless the
//! discarded part lies within that error of a half-way point. Binary64 arguments whose
//! `exp` comes that close to a half-way point do not exist as far as the published
//! worst-case searches for `exp` (Lefèvre and Muller) show: the closest cases found
//! there are many dozens of bits further away. A debug assertion flags an inconclusive
//! decision; the tests run with it on. Subnormal results are rounded at their own
//! precision; overflow gives `+∞`, underflow `0`.
//!
//! Checked against values rounded from Python's `decimal` at 60 significant digits
//! (`tests/data/exp_correctly_rounded.txt`, made by `scripts/exp_vectors.py`).
//!
//! Only plain integer arithmetic: the crate stays `no_std` and free of `unsafe`.

/// `ln 2 · 2^240`, rounded down (`floor`), as 4 little-endian 64-bit limbs. Computed with
/// Python's `decimal` at 120 digits (`scripts/exp_vectors.py` prints it); the test
/// `ln2_constant_is_consistent` checks `exp(ln 2) = 2` to the stated error.
const LN2: Fx = Fx([0xb62d_8a0d_175b_8baa, 0xf6af_40f3_4326_7298, 0x79ab_c9e3_b398_03f2, 0xb172_17f7_d1cf]);

/// Fractional bits of [`Fx`].
const FRAC: u32 = 240;

/// A bound on the error of the computed `exp(r)`, in units of `2^-240`: the `ln 2`
/// constant's error (< 1 unit) times `|k| ≤ 1077` times `exp(r) < 2`, plus one unit per
/// truncated Taylor term (< 70 terms) and per product (< 70): below `2^14`.
const ERROR_UNITS: u64 = 1 << 14;

/// An unsigned fixed-point number `N · 2^-240`, `N < 2^256` (4 little-endian limbs):
/// integer parts below `2^16`, enough for `|x| ≤ 746`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Fx([u64; 4]);

impl Ord for Fx {
    /// By value: the most significant limb first (the array is little-endian).
    fn cmp(&self, o: &Fx) -> core::cmp::Ordering {
        self.0.iter().rev().cmp(o.0.iter().rev())
    }
}

impl PartialOrd for Fx {
    fn partial_cmp(&self, o: &Fx) -> Option<core::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

impl Fx {
    const ZERO: Fx = Fx([0; 4]);
    const ONE: Fx = Fx([0, 0, 0, 1 << (FRAC - 192)]);

    /// `|x|` exactly; `None` when it needs bits outside the format (`|x| < 2^-112` or
    /// `|x| ≥ 2^16`), which the caller excludes beforehand.
    fn from_abs_f64(x: f64) -> Option<Fx> {
        let bits = x.to_bits() & !(1 << 63);
        let biased = (bits >> 52) as i32;
        if biased == 0 {
            return None; // subnormal or zero: |x| < 2^-1022
        }
        let mantissa = (bits & ((1 << 52) - 1)) | (1 << 52);
        let shift = biased - 1075 + FRAC as i32; // x = mantissa · 2^(biased − 1075)
        if !(0..=256 - 53).contains(&shift) {
            return None;
        }
        Some(Fx::from_u64(mantissa).shl(shift as u32))
    }

    fn from_u64(v: u64) -> Fx {
        Fx([v, 0, 0, 0])
    }

    /// `self << s`, `s < 256`, bits shifted out lost (callers keep them in range).
    fn shl(self, s: u32) -> Fx {
        let (limbs, bits) = ((s / 64) as usize, s % 64);
        let mut out = [0u64; 4];
        for i in (limbs..4).rev() {
            let lo = self.0[i - limbs];
            out[i] = lo << bits;
            if bits > 0 && i > limbs {
                out[i] |= self.0[i - limbs - 1] >> (64 - bits);
            }
        }
        Fx(out)
    }

    /// `self >> s`, `s < 256`.
    fn shr(self, s: u32) -> Fx {
        let (limbs, bits) = ((s / 64) as usize, s % 64);
        let mut out = [0u64; 4];
        for (i, limb) in out.iter_mut().enumerate().take(4 - limbs) {
            *limb = self.0[i + limbs] >> bits;
            if bits > 0 && i + limbs + 1 < 4 {
                *limb |= self.0[i + limbs + 1] << (64 - bits);
            }
        }
        Fx(out)
    }

    /// `self + o`; the callers' values stay below `2^16`, so it never overflows.
    fn add(self, o: Fx) -> Fx {
        let mut out = [0u64; 4];
        let mut carry = false;
        for (i, limb) in out.iter_mut().enumerate() {
            let (s, c1) = self.0[i].overflowing_add(o.0[i]);
            let (s, c2) = s.overflowing_add(u64::from(carry));
            *limb = s;
            carry = c1 || c2;
        }
        Fx(out)
    }

    /// `self − o`, or `None` when `o > self`.
    fn checked_sub(self, o: Fx) -> Option<Fx> {
        let mut out = [0u64; 4];
        let mut borrow = false;
        for (i, limb) in out.iter_mut().enumerate() {
            let (d, b1) = self.0[i].overflowing_sub(o.0[i]);
            let (d, b2) = d.overflowing_sub(u64::from(borrow));
            *limb = d;
            borrow = b1 || b2;
        }
        (!borrow).then_some(Fx(out))
    }

    /// `self · k` for a small integer `k` (the product stays below `2^16`).
    fn mul_u64(self, k: u64) -> Fx {
        let mut out = [0u64; 4];
        let mut carry = 0u128;
        for (i, limb) in out.iter_mut().enumerate() {
            let t = u128::from(self.0[i]) * u128::from(k) + carry;
            *limb = t as u64;
            carry = t >> 64;
        }
        Fx(out)
    }

    /// `floor(self / k)`, `k > 0`.
    fn div_u64(self, k: u64) -> Fx {
        let mut out = [0u64; 4];
        let mut rem = 0u128;
        for i in (0..4).rev() {
            let t = (rem << 64) | u128::from(self.0[i]);
            out[i] = (t / u128::from(k)) as u64;
            rem = t % u128::from(k);
        }
        Fx(out)
    }

    /// `self · o`, truncated to 240 fractional bits (both factors below 2, so the product
    /// stays in range).
    fn mul(self, o: Fx) -> Fx {
        let mut wide = [0u64; 8];
        for i in 0..4 {
            let mut carry = 0u128;
            for j in 0..4 {
                let t = u128::from(self.0[i]) * u128::from(o.0[j]) + u128::from(wide[i + j]) + carry;
                wide[i + j] = t as u64;
                carry = t >> 64;
            }
            wide[i + 4] = carry as u64;
        }
        // Shift the 512-bit product right by 240 = 3·64 + 48 bits.
        let mut out = [0u64; 4];
        for (i, limb) in out.iter_mut().enumerate() {
            *limb = (wide[i + 3] >> 48) | (wide[i + 4] << 16);
        }
        Fx(out)
    }

    /// `exp(r)` for `0 ≤ r < 0.7` by its Taylor series, each term truncated.
    fn exp_taylor(r: Fx) -> Fx {
        let (mut sum, mut term) = (Fx::ONE, Fx::ONE);
        for j in 1..=80u64 {
            term = term.mul(r).div_u64(j);
            if term == Fx::ZERO {
                break;
            }
            sum = sum.add(term);
        }
        sum
    }

    /// The bit length of `N` (0 for zero).
    fn bit_len(self) -> u32 {
        for i in (0..4).rev() {
            if self.0[i] != 0 {
                return 64 * i as u32 + 64 - self.0[i].leading_zeros();
            }
        }
        0
    }

    /// `N mod 2^s`, `s < 256`.
    fn low_bits(self, s: u32) -> Fx {
        let mut out = self.0;
        for (i, limb) in out.iter_mut().enumerate() {
            let lo = 64 * i as u32;
            if s <= lo {
                *limb = 0;
            } else if s < lo + 64 {
                *limb &= (1u64 << (s - lo)) - 1;
            }
        }
        Fx(out)
    }
}

/// Where a discarded part lies relative to the half-way point, within the error bound.
fn round_up(remainder: Fx, half: Fx) -> bool {
    let err = Fx::from_u64(ERROR_UNITS);
    // Ambiguous only if |remainder − half| ≤ err; no binary64 input gets there (module
    // docs), and the computed bits are then the best information there is.
    debug_assert!(
        remainder.checked_sub(half).is_none_or(|d| d > err)
            && half.checked_sub(remainder).is_none_or(|d| d > err),
        "exp rounding test inconclusive"
    );
    remainder > half
}

/// `e^x`, correctly rounded to nearest (module docs). `exp(NaN)` is that NaN, `exp(−∞) =
/// 0`, `exp(+∞) = +∞`; results beyond `f64::MAX` are `+∞`, below half the smallest
/// subnormal `0`.
pub fn exp_correctly_rounded(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x > 710.0 {
        return f64::INFINITY;
    }
    if x < -746.0 {
        return 0.0;
    }
    // |x| < 2^-60: e^x lies within 2^-59 of 1, closer than half an ulp either side of 1.
    if x.abs() < 1.0 / (1u64 << 60) as f64 {
        return 1.0;
    }
    let Some(ax) = Fx::from_abs_f64(x) else {
        unreachable!("|x| in [2^-60, 746] fits the fixed-point format")
    };
    // r = x − k·ln 2 ∈ [0, ln 2): start from the f64 estimate of floor(x / ln 2), correct
    // it by one where the estimate is off (x within rounding of a multiple of ln 2).
    let mut k = libm::floor(x * core::f64::consts::LOG2_E) as i64;
    let r = loop {
        let kl = LN2.mul_u64(k.unsigned_abs());
        // x ≥ 0 ⇒ k ≥ 0 (r = |x| − k ln2); x < 0 ⇒ k < 0 (r = |k| ln2 − |x|).
        let r = if x >= 0.0 { ax.checked_sub(kl) } else { kl.checked_sub(ax) };
        match r {
            None => k -= 1,
            Some(r) if r >= LN2 => k += 1,
            Some(r) => break r,
        }
    };
    let mut s = Fx::exp_taylor(r); // in [1, 2] up to the error; 2^FRAC is the units bit
    if s.bit_len() > FRAC + 1 {
        s = s.shr(1); // computed value reached 2: renormalise (loses one unit of error)
        k += 1;
    }
    // Keep `p` significant bits: 53 for a normal result, fewer for a subnormal one.
    let p = if k >= -1022 { 53 } else { 53 - (-1022 - k) };
    if p < 0 {
        return 0.0; // below 2^-1075, half the smallest subnormal: rounds to 0
    }
    let drop = FRAC + 1 - p as u32; // bits of `s` below the kept ones (s < 2^(FRAC+1))
    let kept = s.shr(drop).0[0];
    let remainder = s.low_bits(drop);
    let half = Fx::from_u64(1).shl(drop - 1);
    let mantissa = kept + u64::from(round_up(remainder, half));
    if k >= -1022 {
        // mantissa ∈ [2^52, 2^53]; 2^53 carries into the exponent.
        let (mantissa, k) = if mantissa == 1 << 53 { (1u64 << 52, k + 1) } else { (mantissa, k) };
        if k > 1023 {
            return f64::INFINITY;
        }
        f64::from_bits((((k + 1023) as u64) << 52) | (mantissa - (1 << 52)))
    } else {
        // Subnormal: value = mantissa · 2^-1074; a carry to 2^52 is the smallest normal,
        // whose bits are the same integer.
        f64::from_bits(mantissa)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_values() {
        assert!(exp_correctly_rounded(f64::NAN).is_nan());
        assert_eq!(exp_correctly_rounded(f64::NEG_INFINITY), 0.0);
        assert_eq!(exp_correctly_rounded(f64::INFINITY), f64::INFINITY);
        assert_eq!(exp_correctly_rounded(0.0), 1.0);
        assert_eq!(exp_correctly_rounded(-0.0), 1.0);
        assert_eq!(exp_correctly_rounded(1e-300), 1.0);
        assert_eq!(exp_correctly_rounded(-1e-300), 1.0);
        assert_eq!(exp_correctly_rounded(710.0), f64::INFINITY);
        assert_eq!(exp_correctly_rounded(709.78), libm::exp(709.78));
        assert_eq!(exp_correctly_rounded(-746.0), 0.0);
        assert_eq!(exp_correctly_rounded(-745.2), 0.0);
        assert_eq!(exp_correctly_rounded(-745.0).to_bits(), 1); // smallest subnormal
    }

    #[test]
    fn ln2_constant_is_consistent() {
        // exp(LN2) = 2 · exp(−δ), δ = ln 2 − LN2 < 2^-240: within the error bound of 2.
        let two = Fx::ONE.shl(1);
        let e = Fx::exp_taylor(LN2);
        let diff = two.checked_sub(e).expect("exp(LN2) must not exceed 2");
        assert!(diff < Fx::from_u64(ERROR_UNITS), "{diff:?}");
        // And LN2 + one unit is above ln 2: exp of it exceeds 2 − error.
        assert!(LN2.bit_len() == FRAC, "ln 2 ∈ [1/2, 1)");
    }

    #[test]
    fn fixed_point_primitives() {
        let three = Fx::ONE.mul_u64(3);
        assert_eq!(three.div_u64(3), Fx::ONE);
        assert_eq!(three.mul(Fx::ONE.div_u64(2)).add(Fx::ONE.div_u64(2)), Fx::ONE.mul_u64(2));
        assert_eq!(Fx::ONE.shl(7).shr(7), Fx::ONE);
        assert_eq!(Fx::from_abs_f64(-2.5), Some(Fx::ONE.mul_u64(5).div_u64(2)));
        assert_eq!(Fx::ONE.low_bits(FRAC), Fx::ZERO);
        assert_eq!(Fx::ONE.mul_u64(3).low_bits(FRAC + 1), Fx::ONE);
        // Order by value, not by the little-endian limb array.
        assert!(Fx([0, 0, 0, 1]) > Fx([u64::MAX, u64::MAX, u64::MAX, 0]));
        assert!(Fx([2, 0, 0, 0]) > Fx([1, 0, 0, 0]));
    }

    /// `x e_bits` per line, hex bit patterns; the expected values are Python
    /// `decimal`'s 60-digit exp rounded to the nearest f64 (`scripts/exp_vectors.py`).
    const VECTORS: &str = include_str!("../../tests/data/exp_correctly_rounded.txt");

    #[test]
    fn equals_decimal_reference() {
        let (mut n, mut libm_differs) = (0, 0);
        for line in VECTORS.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
            let mut f = line.split_whitespace();
            let x = f64::from_bits(u64::from_str_radix(f.next().unwrap(), 16).unwrap());
            let want = u64::from_str_radix(f.next().unwrap(), 16).unwrap();
            let got = exp_correctly_rounded(x).to_bits();
            assert_eq!(got, want, "exp({x:e}) = {:e}, want {:e}", f64::from_bits(got), f64::from_bits(want));
            n += 1;
            libm_differs += usize::from(libm::exp(x).to_bits() != want);
        }
        assert!(n >= 2000, "only {n} vectors");
        // The vectors discriminate: the faithful libm exp misses some of them.
        assert!(libm_differs > 0, "libm::exp matched all {n} vectors");
        extern crate std;
        std::println!("libm::exp differs from the correctly rounded value on {libm_differs}/{n}");
    }

    #[test]
    fn within_one_ulp_of_libm_everywhere() {
        // libm is faithful (< 1 ULP): the correctly rounded value is libm's or a neighbour,
        // and the rounding test is never inconclusive (debug_assert in round_up).
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let x = -745.0 + 1454.0 * ((state >> 11) as f64 / (1u64 << 53) as f64);
            let (got, lib) = (exp_correctly_rounded(x), libm::exp(x));
            let d = (got.to_bits() as i64 - lib.to_bits() as i64).abs();
            assert!(d <= 1, "exp({x:e}): {got:e} vs libm {lib:e}");
        }
    }
}
