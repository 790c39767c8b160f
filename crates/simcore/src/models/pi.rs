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
use crate::lane::{Precision, Real, UintLane};
use crate::rng::Stream;
use crate::rng::jax::JaxLanes;
use crate::rng::jax::lanes::{uniform_at, uniforms_strided};
use crate::rng::philox4x32_10::{philox4x32_10, philox4x32_10_many};

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
///
/// Runs [`pi_hits_interleaved`] with [`BLOCKS_IN_FLIGHT`] blocks per iteration on lanes
/// of 2 to 8, one block per iteration otherwise: on a single lane (`f32`) LLVM vectorises
/// the block loop itself and a hand interleave defeats it (measured 10× slower), and
/// 16-lane types already carry two chains per operation. The count is the same for every
/// interleave (integer sums of the same hit tests).
#[inline(always)]
pub fn pi_hits<L: Real<Scalar = f32>>(seed: u64, first: u64, pairs: u64) -> L::Bits {
    if L::LANES == 1 || L::LANES > 8 {
        pi_hits_one_block::<L>(seed, first, pairs)
    } else {
        pi_hits_interleaved::<L, BLOCKS_IN_FLIGHT>(seed, first, pairs)
    }
}

/// W1's JAX stream mode: hits among the first `pairs` pairs of every lane's
/// `xy = jax.random.uniform(k_l, (pairs, 2))` — pair `j` is `x = xy[j, 0]` (flat `2j`),
/// `y = xy[j, 1]` (flat `2j + 1`), JAX's 23-bit uniforms — with the same [`hit`] test.
/// `lanes` must draw `2 * pairs` words (`JaxLanes::for_members(.., 2 * pairs)`).
#[inline(always)]
pub fn pi_hits_jax<L: Real<Scalar = f32>>(lanes: &JaxLanes<L::Words>, pairs: u64) -> L::Bits {
    let mut hits = L::Bits::splat(0);
    for j in 0..pairs {
        let x = uniform_at::<L>(lanes, 2 * j);
        let y = uniform_at::<L>(lanes, 2 * j + 1);
        hits = hits.wrapping_add(hit(x, y));
    }
    hits
}

/// [`pi_hits_jax`] of one estimate spread over the lanes of `L`: `lanes` holds the
/// estimate's key in every lane ([`JaxLanes::broadcast`]). The pairs are read as rows of
/// two (four words): lane `l` takes row `r + l` for `r = 0, LANES, 2·LANES, …`, four
/// hashes interleaved ([`uniforms_strided`]); the fewer than `2·LANES` pairs left over
/// are read on lane 0. The count equals [`pi_hits_jax`] on one lane (an integer sum of
/// the same hit tests).
///
/// Why: [`pi_hits_jax`] on vector lanes needs a key per lane and reads one hash per
/// word at a time; one key across the lanes makes every hash of a row independent, so
/// the hash chains overlap (see [`crate::rng::jax::threefry2x32::threefry2x32_many`]).
#[inline(always)]
pub fn pi_hits_jax_across<L: Real<Scalar = f32>>(lanes: &JaxLanes<L::Words>, pairs: u64) -> u64 {
    let width = L::LANES as u64;
    let rows = pairs / 2 / width * width;
    let mut hits = L::Bits::splat(0);
    for r in (0..rows).step_by(L::LANES) {
        let u = uniforms_strided::<L, 4>(lanes, r, 4, 0);
        hits = hits.wrapping_add(hit(u[0], u[1])).wrapping_add(hit(u[2], u[3]));
    }
    let mut total: u64 = (0..L::LANES).map(|l| u64::from(hits.lane(l))).sum();
    for j in 2 * rows..pairs {
        let (x, y) = (uniform_at::<L>(lanes, 2 * j), uniform_at::<L>(lanes, 2 * j + 1));
        total += u64::from(hit(x, y).lane(0));
    }
    total
}

/// [`pi_hits`] one block per iteration through [`Stream::uniform_block`] (the loop
/// whose code generation was measured best on `f32` and `f32x16`).
#[inline(always)]
fn pi_hits_one_block<L: Real<Scalar = f32>>(seed: u64, first: u64, pairs: u64) -> L::Bits {
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

/// Philox blocks [`pi_hits`] generates per loop iteration on 2–8 lanes, rounds
/// interleaved.
///
/// Why: W1 is bound by Philox's ten dependent rounds (each a multiply → shift → blend →
/// xor chain); `K` independent blocks in one straight-line body keep `K` chains in
/// flight. Measured on the dev machine (Zen4, AVX2 build, `simlanes/examples/perf_probe.rs
/// w1k`, one thread, 2.6e7 pairs): `f32x8` 1 block 0.0389 s, 2 blocks 0.037–0.038 s
/// (4 blocks slower: register spills, 16 `ymm` on AVX2); `f32x16` 1 block 0.038–0.040 s,
/// 2 blocks 0.041 s; `f32` (LLVM-vectorised over blocks) 0.0334 s. The kernel is near the
/// throughput of the vector ports (≈ 20 ops per round per 8 lanes), so interleaving helps
/// only a little.
pub const BLOCKS_IN_FLIGHT: usize = 2;

/// [`pi_hits`] with `K` consecutive Philox blocks (`K >= 1`) per iteration, their rounds
/// interleaved ([`philox4x32_10_many`]); the remainder of `pairs / 2` blocks and an odd
/// last pair are done one block at a time. The result does not depend on `K`.
#[inline(always)]
pub fn pi_hits_interleaved<L: Real<Scalar = f32>, const K: usize>(
    seed: u64,
    first: u64,
    pairs: u64,
) -> L::Bits {
    let key = [L::Words::splat(seed as u32), L::Words::splat((seed >> 32) as u32)];
    let id = |l: usize| first.wrapping_add(l as u64);
    let (id_lo, id_hi) = (L::Words::from_fn(|l| id(l) as u32), L::Words::from_fn(|l| (id(l) >> 32) as u32));
    // Block c of every lane's stream: counter [c lo, c hi, stream lo, stream hi].
    let ctr = |c: u64| [L::Words::splat(c as u32), L::Words::splat((c >> 32) as u32), id_lo, id_hi];
    let u = |w: L::Words| f32::uniform::<L>(w, w);
    let mut hits = L::Bits::splat(0);
    let full = pairs / 2;
    let k = K.max(1) as u64;
    let mut c = 0u64;
    // Block c holds uniforms 4c..4c+4: pairs 2c (u0, u1) and 2c + 1 (u2, u3).
    while c + k <= full {
        let blocks = philox4x32_10_many::<L::Words, K>(core::array::from_fn(|b| ctr(c + b as u64)), key);
        for w in blocks {
            hits = hits.wrapping_add(hit(u(w[0]), u(w[1]))).wrapping_add(hit(u(w[2]), u(w[3])));
        }
        c += k;
    }
    while c < full {
        let w = philox4x32_10(ctr(c), key);
        hits = hits.wrapping_add(hit(u(w[0]), u(w[1]))).wrapping_add(hit(u(w[2]), u(w[3])));
        c += 1;
    }
    if pairs % 2 == 1 {
        let w = philox4x32_10(ctr(full), key);
        hits = hits.wrapping_add(hit(u(w[0]), u(w[1])));
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
    fn interleave_does_not_change_the_count() {
        for pairs in [1u64, 2, 5, 8, 9, 17, 100, 1001] {
            let want = pi_hits_interleaved::<f32, 1>(5, 3, pairs);
            assert_eq!(want, hand_hits(5, 3, pairs), "pairs {pairs}");
            assert_eq!(pi_hits_interleaved::<f32, 2>(5, 3, pairs), want, "pairs {pairs}");
            assert_eq!(pi_hits_interleaved::<f32, 3>(5, 3, pairs), want, "pairs {pairs}");
            assert_eq!(pi_hits_interleaved::<f32, 4>(5, 3, pairs), want, "pairs {pairs}");
            assert_eq!(pi_hits::<f32>(5, 3, pairs), want, "pairs {pairs}");
            assert_eq!(pi_hits_one_block::<f32>(5, 3, pairs), want, "pairs {pairs}");
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

    /// JAX mode: pair `j` = flat elements `2j, 2j + 1` of the member's uniform draw (the
    /// array fill of `rng::jax`, itself checked against real JAX), on every lane width.
    #[test]
    fn jax_hits_count_the_pairs_of_the_uniform_draw() {
        use crate::rng::jax::{Layout, fill_uniform_f32, key, split_at};
        for layout in [Layout::Partitionable, Layout::Legacy] {
            let (parent, count, pairs) = (key(3, false).unwrap(), 5u64, 41u64);
            for m in 0..count {
                let k = split_at(parent, layout, count, m).unwrap();
                let mut xy = [0f32; 82];
                fill_uniform_f32::<f32>(k, layout, 2 * pairs, 0.0, 1.0, 0, &mut xy).unwrap();
                let want = xy.chunks(2).filter(|p| p[0].mul_add(p[0], p[1] * p[1]) < 1.0).count() as u32;
                let lanes = JaxLanes::<u32>::for_members(parent, layout, count, m, 2 * pairs).unwrap();
                assert_eq!(pi_hits_jax::<f32>(&lanes, pairs), want);
                #[cfg(feature = "simd")]
                {
                    let v =
                        JaxLanes::<wide::u32x8>::for_members(parent, layout, count, m, 2 * pairs).unwrap();
                    assert_eq!(pi_hits_jax::<wide::f32x8>(&v, pairs).lane(0), want);
                }
            }
        }
    }

    /// One estimate across the lanes counts what one lane counts: every remainder of
    /// rows (pairs around multiples of 2·LANES), both layouts, 8 and 16 lanes.
    #[cfg(feature = "simd")]
    #[test]
    fn jax_hits_across_lanes_equal_one_lane() {
        use crate::rng::jax::{Layout, key};
        let parent = key(11, false).unwrap();
        for layout in [Layout::Partitionable, Layout::Legacy] {
            for pairs in [1u64, 2, 3, 15, 16, 17, 31, 32, 33, 34, 63, 64, 65, 1000] {
                let one = JaxLanes::<u32>::for_members(parent, layout, 7, 4, 2 * pairs).unwrap();
                let want = u64::from(pi_hits_jax::<f32>(&one, pairs));
                let across8 = pi_hits_jax_across::<wide::f32x8>(&one.broadcast(), pairs);
                let across16 = pi_hits_jax_across::<wide::f32x16>(&one.broadcast(), pairs);
                assert_eq!((across8, across16), (want, want), "{layout:?}, {pairs} pairs");
            }
        }
    }
}
