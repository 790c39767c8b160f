//! W1 — Monte Carlo π: count the uniform pairs `(x, y)` that fall inside the quarter
//! unit circle, for a group of consecutive estimates at once (lane `l` carries estimate
//! `first + l`, i.e. its own stream `first + l`).
//!
//! The stream layout is WORKLOADS.md's: pair `j` of an estimate is `x` = f32 uniform
//! `2j`, `y` = f32 uniform `2j + 1` of its stream, so one Philox block (4 words) gives
//! pairs `2c` and `2c + 1`.
//!
//! **The hit test** every backend must reproduce, in f32 with round-to-nearest-even:
//! `hit = fma(x, x, y * y) < 1` — `y * y` rounded once, then `x * x + (y * y)` with a
//! single rounding. (Neither `x²` nor the sum is exact in f32; this fixes which roundings
//! happen so that scalar, SIMD and GPU count the same hits.)
//!
//! Hits are counted per lane in 32-bit integers (`L::Bits`), hence the limit of
//! `u32::MAX` pairs per estimate checked by [`validate_pairs`].

use crate::error::ParamError;
use crate::lane::{Real, UintLane};
use crate::rng::Stream;

/// Largest number of pairs per estimate: hit counts are kept in `u32` lanes.
pub const MAX_PAIRS: u64 = u32::MAX as u64;

/// Checks a pairs-per-estimate count: at least 1 and at most [`MAX_PAIRS`].
///
/// # Errors
/// [`ParamError::ZeroSize`] for 0, [`ParamError::TooLarge`] above [`MAX_PAIRS`].
pub fn validate_pairs(pairs: u64) -> Result<u64, ParamError> {
    if pairs == 0 {
        Err(ParamError::ZeroSize { name: "pairs_per_estimate" })
    } else if pairs > MAX_PAIRS {
        Err(ParamError::TooLarge { name: "pairs_per_estimate", max: MAX_PAIRS })
    } else {
        Ok(pairs)
    }
}

/// `1` where `(x, y)` lies inside the quarter circle, `0` elsewhere, per lane — the hit
/// test of the module docs: `fma(x, x, y * y) < 1` in f32.
#[inline(always)]
pub fn hit<L: Real<Scalar = f32>>(x: L, y: L) -> L::Bits {
    let inside = x.mul_add(x, y * y).simd_lt(L::splat(1.0));
    L::select_bits(inside, L::Bits::splat(1), L::Bits::splat(0))
}

/// Hits among the first `pairs` pairs of streams `first, first + 1, …` (one per lane),
/// under `seed`. `pairs` must pass [`validate_pairs`] (larger counts wrap).
#[inline(always)]
pub fn pi_hits<L: Real<Scalar = f32>>(seed: u64, first: u64, pairs: u64) -> L::Bits {
    let stream = Stream::<L>::consecutive(seed, first);
    let mut hits = L::Bits::splat(0);
    // Block c holds uniforms 4c..4c+4: pairs 2c (u0, u1) and 2c + 1 (u2, u3).
    for c in 0..pairs / 2 {
        let u = stream.uniform_block(c);
        hits = hits.wrapping_add(hit(u[0], u[1])).wrapping_add(hit(u[2], u[3]));
    }
    if pairs % 2 == 1 {
        let u = stream.uniform_block(pairs / 2);
        hits = hits.wrapping_add(hit(u[0], u[1]));
    }
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The oracle: a direct loop over `Stream::uniform`, one pair at a time.
    fn hand_hits(seed: u64, i: u64, pairs: u64) -> u32 {
        let s = Stream::<f32>::consecutive(seed, i);
        let mut n = 0;
        for j in 0..pairs {
            let (x, y) = (s.uniform(2 * j), s.uniform(2 * j + 1));
            if x.mul_add(x, y * y) < 1.0 {
                n += 1;
            }
        }
        n
    }

    #[test]
    fn one_lane_matches_a_hand_loop_even_and_odd_pairs() {
        for pairs in [1u64, 2, 3, 4, 7, 100, 1001] {
            for i in [0u64, 1, 5, u64::MAX] {
                assert_eq!(pi_hits::<f32>(42, i, pairs), hand_hits(42, i, pairs), "pairs {pairs} i {i}");
            }
        }
    }

    #[test]
    fn hit_counts_are_prefix_consistent() {
        // Counting 2k + 1 pairs adds exactly the last pair's hit to 2k pairs' count.
        let s = Stream::<f32>::consecutive(3, 11);
        for k in 0..20u64 {
            let (x, y) = (s.uniform(4 * k), s.uniform(4 * k + 1));
            let extra = u32::from(x.mul_add(x, y * y) < 1.0);
            assert_eq!(pi_hits::<f32>(3, 11, 2 * k + 1), pi_hits::<f32>(3, 11, 2 * k) + extra);
        }
    }

    #[test]
    fn hit_test_boundary() {
        assert_eq!(hit(0.0f32, 0.0f32), 1);
        assert_eq!(hit(0.6f32, 0.8f32), u32::from(0.6f32.mul_add(0.6, 0.8 * 0.8) < 1.0));
        let below_one = 1.0 - f32::EPSILON / 2.0; // largest f32 below 1
        assert_eq!(hit(below_one, 0.0f32), 1);
        assert_eq!(hit(below_one, below_one), 0);
    }

    #[test]
    fn hit_fraction_is_near_pi_over_four() {
        // 64 estimates × 4096 pairs: 4·hits/N has se = sqrt(π(4-π)/N) ≈ 3.2e-3.
        let pairs = 4096u64;
        let total: u64 = (0..64).map(|i| u64::from(pi_hits::<f32>(0, i, pairs))).sum();
        let n = (64 * pairs) as f64;
        let est = 4.0 * total as f64 / n;
        let se = (core::f64::consts::PI * (4.0 - core::f64::consts::PI) / n).sqrt();
        assert!((est - core::f64::consts::PI).abs() < 4.0 * se, "{est}");
    }

    #[test]
    fn validate_pairs_bounds() {
        assert_eq!(validate_pairs(0), Err(ParamError::ZeroSize { name: "pairs_per_estimate" }));
        assert_eq!(validate_pairs(1), Ok(1));
        assert_eq!(validate_pairs(MAX_PAIRS), Ok(MAX_PAIRS));
        assert!(matches!(validate_pairs(MAX_PAIRS + 1), Err(ParamError::TooLarge { .. })));
    }
}
