//! W1 — Monte Carlo π: count the uniform pairs `(x, y)` that fall inside the quarter
//! unit circle, for a group of consecutive estimates at once (lane `l` carries estimate
//! `first + l`, i.e. its own stream `first + l`).
//!
//! The stream layout is WORKLOADS.md's: pair `j` of an estimate is `x` = f32 uniform
//! `2j`, `y` = f32 uniform `2j + 1` of its stream, so one Philox block (4 words) gives
//! pairs `2c` and `2c + 1`.
//!
//! **The hit test** is exact: `hit = x² + y² < 1` for the f32 uniforms `x`, `y`, as real
//! numbers, with no rounding anywhere — the reading of WORKLOADS.md's `x^2 + y^2 < 1` that
//! does not depend on how an implementation evaluates it. Any implementation that squares
//! and adds the uniforms in f64 (or in integers: `x = a·2^-24`, hit iff `a² + b² < 2^48`)
//! counts the same hits; one in f32 rounds and, on about one pair in 10^8, differs (for
//! `fma(x, x, y·y) < 1`, which earlier versions counted: 2 of 4.9·10^8 pairs of seed 0).
//!
//! How it runs (`Fast`, `Exact`, `count_blocks`): `d = fma(x, x, fma(y, y, −1))` in
//! f32 is within `2^-25 + 2^-24·|d|` of `x² + y² − 1`, so its sign bit decides every pair
//! with `|d| >= 2^-24`. The loops count chunks of `CHUNK` (64) Philox blocks that way while
//! noting, branch-free, whether a pair fell inside that band (about one in 10^7); such a
//! chunk, about one in 10^4, is counted again in f64, where the squares (48 significant
//! bits) and their sum (49) are exact. Scalar, SIMD and GPU therefore count the same hits.
//! The band check costs W1 about 2 % on `f32x8` (one thread, Zen 3, paired runs).
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

/// Pairs whose f32 value `d` of `x² + y² − 1` is smaller than this in magnitude are
/// decided exactly (module docs): 2^-24.
const BAND: f32 = 1.0 / 16_777_216.0;

/// Philox blocks per chunk: each chunk is counted by the f32 test and, only if one of its
/// pairs fell in the band, counted again exactly (once in about 10^4 chunks of 8 lanes).
const CHUNK: u64 = 64;

/// How a pass over pairs counts them: [`Fast`] or [`Exact`].
trait Count<L: Real<Scalar = f32>> {
    /// Counts the pair `(x, y)` of every lane.
    fn pair(&mut self, x: L, y: L);
}

/// The f32 test with its margin: `d = fma(x, x, fma(y, y, −1))` differs from
/// `x² + y² − 1` by at most `2^-25 + 2^-24·|d|`, so its sign is exact wherever
/// `|d| >= 2^-24` ([`BAND`]). `near` collects, by OR, `bits(|d|) − bits(BAND)` of every
/// pair: its top bit is set in a lane once some `|d|` fell below the band's edge (both bit
/// patterns are below 2^31, so the difference is negative exactly then). Integer
/// operations only, so that LLVM still vectorises the one-lane (`f32`) loop.
struct Fast<L: Real<Scalar = f32>> {
    hits: L::Bits,
    near: L::Bits,
}

impl<L: Real<Scalar = f32>> Fast<L> {
    #[inline(always)]
    fn new() -> Self {
        Self { hits: L::Bits::splat(0), near: L::Bits::splat(0) }
    }
    /// Whether a pair of some lane fell in the band, where only [`Exact`] decides.
    #[inline(always)]
    fn undecided(&self) -> bool {
        (0..L::LANES).any(|l| self.near.lane(l) >> 31 != 0)
    }
}

impl<L: Real<Scalar = f32>> Count<L> for Fast<L> {
    #[inline(always)]
    fn pair(&mut self, x: L, y: L) {
        let d = x.mul_add(x, y.mul_add(y, L::splat(-1.0))).to_bits();
        // Sign bit: 1 where d < 0 (and for d = −0, which is in the band).
        self.hits = self.hits.wrapping_add(d.shr(31));
        let magnitude = d & L::Bits::splat(0x7fff_ffff);
        self.near = self.near | magnitude.wrapping_sub(L::Bits::splat(BAND.to_bits()));
    }
}

/// `x² + y² < 1` per lane in f64, exact for multiples of 2^-24 in `[0, 1)`: each square has
/// at most 48 significant bits and their sum 49.
struct Exact<L: Real<Scalar = f32>> {
    hits: L::Bits,
}

impl<L: Real<Scalar = f32>> Count<L> for Exact<L> {
    #[inline(never)]
    fn pair(&mut self, x: L, y: L) {
        let hit = |l: usize| {
            let (x, y) = (f64::from(x.lane(l)), f64::from(y.lane(l)));
            u32::from(x * x + y * y < 1.0)
        };
        self.hits = self.hits.wrapping_add(L::Bits::from_fn(hit));
    }
}

/// A pass over the pairs of blocks `c0..c1` (what a block holds is the pass's own: two
/// pairs of a Philox block, one JAX pair, one row of lanes), written once for both ways
/// of counting.
trait Blocks<L: Real<Scalar = f32>> {
    /// Feeds every pair of blocks `c0..c1` to `count`.
    fn run<C: Count<L>>(&self, c0: u64, c1: u64, count: &mut C);
}

/// The exact hit count of blocks `0..n` of `pass`, chunk by chunk (see [`CHUNK`]).
#[inline(always)]
fn count_blocks<L: Real<Scalar = f32>>(pass: &impl Blocks<L>, n: u64) -> L::Bits {
    let mut hits = L::Bits::splat(0);
    let mut c0 = 0;
    while c0 < n {
        let c1 = n.min(c0 + CHUNK);
        let mut fast = Fast::<L>::new();
        pass.run(c0, c1, &mut fast);
        hits = hits.wrapping_add(if fast.undecided() {
            let mut exact = Exact::<L> { hits: L::Bits::splat(0) };
            pass.run(c0, c1, &mut exact);
            exact.hits
        } else {
            fast.hits
        });
        c0 = c1;
    }
    hits
}

/// `1` where `(x, y)` lies inside the quarter circle, `0` elsewhere, per lane — the exact
/// hit test of the module docs, for `x`, `y` multiples of 2^-24 in `[0, 1)` (the f32
/// uniforms of Philox and of JAX streams).
#[inline(always)]
pub fn hit<L: Real<Scalar = f32>>(x: L, y: L) -> L::Bits {
    /// One "block" holding the one pair.
    struct One<L>(L, L);
    impl<L: Real<Scalar = f32>> Blocks<L> for One<L> {
        #[inline(always)]
        fn run<C: Count<L>>(&self, _: u64, _: u64, count: &mut C) {
            count.pair(self.0, self.1);
        }
    }
    count_blocks::<L>(&One(x, y), 1)
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
/// `y = xy[j, 1]` (flat `2j + 1`), JAX's 23-bit uniforms — with the same exact test.
/// `lanes` must draw `2 * pairs` words (`JaxLanes::for_members(.., 2 * pairs)`).
#[inline(always)]
pub fn pi_hits_jax<L: Real<Scalar = f32>>(lanes: &JaxLanes<L::Words>, pairs: u64) -> L::Bits {
    /// "Block" `c` is pair `c` here (one pair per block).
    struct Pairs<'a, W>(&'a JaxLanes<W>);
    impl<L: Real<Scalar = f32>> Blocks<L> for Pairs<'_, L::Words> {
        #[inline(always)]
        fn run<C: Count<L>>(&self, c0: u64, c1: u64, count: &mut C) {
            for j in c0..c1 {
                count.pair(uniform_at::<L>(self.0, 2 * j), uniform_at::<L>(self.0, 2 * j + 1));
            }
        }
    }
    count_blocks::<L>(&Pairs(lanes), pairs)
}

/// [`pi_hits_jax`] deciding each pair on its own ([`hit`]): the same count. For the GPU,
/// where the JAX hash, not the test, bounds the loop and this form takes 40 registers per
/// thread against 60 for the chunked passes (on the CPU the chunked form vectorises, and
/// this one would not).
#[inline(always)]
pub fn pi_hits_jax_each_pair<L: Real<Scalar = f32>>(lanes: &JaxLanes<L::Words>, pairs: u64) -> L::Bits {
    let mut hits = L::Bits::splat(0);
    for j in 0..pairs {
        hits = hits.wrapping_add(hit(uniform_at::<L>(lanes, 2 * j), uniform_at::<L>(lanes, 2 * j + 1)));
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
    /// Block `c` is rows `c·LANES ..` (two pairs per lane).
    struct Rows<'a, W>(&'a JaxLanes<W>);
    impl<L: Real<Scalar = f32>> Blocks<L> for Rows<'_, L::Words> {
        #[inline(always)]
        fn run<C: Count<L>>(&self, c0: u64, c1: u64, count: &mut C) {
            for c in c0..c1 {
                let u = uniforms_strided::<L, 4>(self.0, c * L::LANES as u64, 4, 0);
                count.pair(u[0], u[1]);
                count.pair(u[2], u[3]);
            }
        }
    }
    let width = L::LANES as u64;
    let blocks = pairs / 2 / width;
    let hits = count_blocks::<L>(&Rows(lanes), blocks);
    let mut total: u64 = (0..L::LANES).map(|l| u64::from(hits.lane(l))).sum();
    for j in 2 * blocks * width..pairs {
        let (x, y) = (uniform_at::<L>(lanes, 2 * j), uniform_at::<L>(lanes, 2 * j + 1));
        total += u64::from(hit(x, y).lane(0));
    }
    total
}

/// [`pi_hits`] one block per iteration through [`Stream::uniform_block`] (the loop
/// whose code generation was measured best on `f32` and `f32x16`).
#[inline(always)]
fn pi_hits_one_block<L: Real<Scalar = f32>>(seed: u64, first: u64, pairs: u64) -> L::Bits {
    /// Block `c` holds uniforms 4c..4c+4: pairs 2c (u0, u1) and 2c + 1 (u2, u3).
    struct OneBlock<L: Real>(Stream<L>);
    impl<L: Real<Scalar = f32>> Blocks<L> for OneBlock<L> {
        #[inline(always)]
        fn run<C: Count<L>>(&self, c0: u64, c1: u64, count: &mut C) {
            for c in c0..c1 {
                let u = self.0.uniform_block(c);
                count.pair(u[0], u[1]);
                count.pair(u[2], u[3]);
            }
        }
    }
    let stream = Stream::<L>::consecutive(seed, first);
    let mut hits = count_blocks::<L>(&OneBlock(stream), pairs / 2);
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
/// interleaved ([`philox4x32_10_many`]); the blocks past a multiple of `K` in a chunk and
/// an odd last pair are done one block at a time. The result does not depend on `K`.
#[inline(always)]
pub fn pi_hits_interleaved<L: Real<Scalar = f32>, const K: usize>(
    seed: u64,
    first: u64,
    pairs: u64,
) -> L::Bits {
    /// Philox of every lane's stream, `K` blocks per iteration.
    struct Interleaved<L: Real, const K: usize> {
        key: [L::Words; 2],
        id: [L::Words; 2],
    }
    impl<L: Real<Scalar = f32>, const K: usize> Interleaved<L, K> {
        /// Block c of every lane's stream: counter [c lo, c hi, stream lo, stream hi].
        #[inline(always)]
        fn ctr(&self, c: u64) -> [L::Words; 4] {
            [L::Words::splat(c as u32), L::Words::splat((c >> 32) as u32), self.id[0], self.id[1]]
        }
        #[inline(always)]
        fn block(&self, c: u64) -> [L; 4] {
            philox4x32_10(self.ctr(c), self.key).map(|w| f32::uniform::<L>(w, w))
        }
    }
    impl<L: Real<Scalar = f32>, const K: usize> Blocks<L> for Interleaved<L, K> {
        #[inline(always)]
        fn run<C: Count<L>>(&self, c0: u64, c1: u64, count: &mut C) {
            let u = |w: L::Words| f32::uniform::<L>(w, w);
            let k = K.max(1) as u64;
            let mut c = c0;
            // Block c holds uniforms 4c..4c+4: pairs 2c (u0, u1) and 2c + 1 (u2, u3).
            while c + k <= c1 {
                let blocks = philox4x32_10_many::<L::Words, K>(
                    core::array::from_fn(|b| self.ctr(c + b as u64)),
                    self.key,
                );
                for w in blocks {
                    count.pair(u(w[0]), u(w[1]));
                    count.pair(u(w[2]), u(w[3]));
                }
                c += k;
            }
            for c in c..c1 {
                let v = self.block(c);
                count.pair(v[0], v[1]);
                count.pair(v[2], v[3]);
            }
        }
    }
    let id = |l: usize| first.wrapping_add(l as u64);
    let pass = Interleaved::<L, K> {
        key: [L::Words::splat(seed as u32), L::Words::splat((seed >> 32) as u32)],
        id: [L::Words::from_fn(|l| id(l) as u32), L::Words::from_fn(|l| (id(l) >> 32) as u32)],
    };
    let mut hits = count_blocks::<L>(&pass, pairs / 2);
    if pairs % 2 == 1 {
        let v = pass.block(pairs / 2);
        hits = hits.wrapping_add(hit(v[0], v[1]));
    }
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `x² + y² < 1` in integers: `x = a·2^-24`, `y = b·2^-24`, hit iff `a² + b² < 2^48`.
    fn exact(x: f32, y: f32) -> bool {
        let (a, b) = ((x * 16_777_216.0) as u64, (y * 16_777_216.0) as u64);
        assert_eq!((a as f32 / 16_777_216.0, b as f32 / 16_777_216.0), (x, y), "not on the 2^-24 grid");
        a * a + b * b < 1 << 48
    }

    /// The oracle: a direct loop over `Stream::uniform`, one pair at a time.
    fn hand_hits(seed: u64, i: u64, pairs: u64) -> u32 {
        let s = Stream::<f32>::consecutive(seed, i);
        let mut n = 0;
        for j in 0..pairs {
            let (x, y) = (s.uniform(2 * j), s.uniform(2 * j + 1));
            if exact(x, y) {
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
            let extra = u32::from(exact(x, y));
            assert_eq!(pi_hits::<f32>(3, 11, 2 * k + 1), pi_hits::<f32>(3, 11, 2 * k) + extra);
        }
    }

    #[test]
    fn hit_test_boundary() {
        assert_eq!(hit(0.0f32, 0.0f32), 1);
        assert_eq!(hit(0.6f32, 0.8f32), u32::from(exact(0.6, 0.8)));
        let below_one = 1.0 - f32::EPSILON / 2.0; // largest f32 below 1
        assert_eq!(hit(below_one, 0.0f32), 1);
        assert_eq!(hit(below_one, below_one), 0);
    }

    /// Pairs on the 2^-24 grid right at the circle, where f32 evaluations round across 1:
    /// `hit` (one lane and eight) equals the integer test on every one, and the test set
    /// does hold pairs where `fma(x, x, y·y) < 1` in f32 alone would be wrong.
    #[test]
    fn hit_is_exact_at_the_circle() {
        let grid = |a: u64| a as f32 / 16_777_216.0;
        let (mut pairs, mut fma_wrong) = (0, 0);
        let mut xs = [0f32; 8];
        let mut ys = [0f32; 8];
        for k in 0..40_000u64 {
            // a spread over (2^23, 2^24); b = the boundary's integer part and neighbours.
            let a = (1 << 23) + (k * 209_715 + k * k * 7) % (1 << 23);
            let b0 = ((1u64 << 48) - a * a).isqrt();
            for b in b0.saturating_sub(2)..=(b0 + 2).min((1 << 24) - 1) {
                let (x, y) = (grid(a), grid(b));
                let want = exact(x, y);
                assert_eq!(hit(x, y) == 1, want, "a = {a}, b = {b}");
                fma_wrong += u32::from((x.mul_add(x, y * y) < 1.0) != want);
                xs[pairs % 8] = x;
                ys[pairs % 8] = y;
                pairs += 1;
                #[cfg(feature = "simd")]
                if pairs % 8 == 0 {
                    let h = hit(wide::f32x8::from(xs), wide::f32x8::from(ys)).to_array();
                    for l in 0..8 {
                        assert_eq!(h[l] == 1, exact(xs[l], ys[l]), "lane {l}: {} {}", xs[l], ys[l]);
                    }
                }
            }
        }
        assert!(fma_wrong > 0, "no pair in the set separates the exact test from the f32 one");
    }

    /// Two pairs of seed 0 whose `fma(x, x, y·y)` lands on the other side of 1 from the
    /// exact sum (found by scanning streams 0..120 000): stream 18 317 pair 632 and stream
    /// 44 314 pair 1708. Every loop form, one lane and vector lanes, counts them exactly.
    #[test]
    fn streams_with_a_pair_at_the_circle_count_exactly() {
        for (stream, pair) in [(18_317u64, 632u64), (44_314, 1708)] {
            let pairs = pair + 1 + 200; // the pair inside the second chunk of blocks
            let want = hand_hits(0, stream, pairs);
            let s = Stream::<f32>::consecutive(0, stream);
            let (x, y) = (s.uniform(2 * pair), s.uniform(2 * pair + 1));
            assert_ne!(x.mul_add(x, y * y) < 1.0, exact(x, y), "stream {stream}: not a boundary pair");
            assert_eq!(pi_hits::<f32>(0, stream, pairs), want, "f32, stream {stream}");
            assert_eq!(pi_hits_interleaved::<f32, 2>(0, stream, pairs), want, "f32 K=2, stream {stream}");
            #[cfg(feature = "simd")]
            {
                // Lane 3 of a group whose first stream is stream − 3.
                assert_eq!(pi_hits::<wide::f32x8>(0, stream - 3, pairs).lane(3), want, "f32x8");
                assert_eq!(pi_hits::<wide::f32x16>(0, stream - 3, pairs).lane(3), want, "f32x16");
            }
        }
    }

    /// The chunked count's exact recount: pairs at the circle on which the f32 pass alone
    /// decides wrongly, fed through `count_blocks` (one lane and eight, a different pair
    /// per lane), give the integer count.
    #[test]
    fn chunks_with_undecided_pairs_are_recounted_exactly() {
        extern crate std;
        let grid = |a: u64| a as f32 / 16_777_216.0;
        let fast_hit = |x: f32, y: f32| x.mul_add(x, y.mul_add(y, -1.0)).to_bits() >> 31 == 1;
        let mut pairs = std::vec::Vec::new();
        for k in 0..40_000u64 {
            let a = (1 << 23) + (k * 209_715 + k * k * 7) % (1 << 23);
            let b0 = ((1u64 << 48) - a * a).isqrt();
            for b in b0.saturating_sub(1)..=(b0 + 1).min((1 << 24) - 1) {
                pairs.push((grid(a), grid(b)));
            }
        }
        let wrong = pairs.iter().filter(|&&(x, y)| fast_hit(x, y) != exact(x, y)).count();
        assert!(wrong > 0, "no pair that the f32 pass decides wrongly");
        /// Block `c` is pairs `2c·W ..` of the list, lane `l` taking pair `2c·W + l` and
        /// `(2c + 1)·W + l`.
        struct Given<'a, const W: usize>(&'a [(f32, f32)]);
        impl<L: Real<Scalar = f32>, const W: usize> Blocks<L> for Given<'_, W> {
            fn run<C: Count<L>>(&self, c0: u64, c1: u64, count: &mut C) {
                for c in c0 as usize..c1 as usize {
                    for half in [2 * c, 2 * c + 1] {
                        let p = &self.0[half * W..(half + 1) * W];
                        count.pair(L::from_fn(|l| p[l].0), L::from_fn(|l| p[l].1));
                    }
                }
            }
        }
        let blocks = (pairs.len() / 2) as u64;
        let used = &pairs[..2 * blocks as usize];
        let want_used = used.iter().filter(|&&(x, y)| exact(x, y)).count() as u64;
        assert_eq!(u64::from(count_blocks::<f32>(&Given::<1>(used), blocks)), want_used);
        #[cfg(feature = "simd")]
        {
            let blocks8 = (pairs.len() / 16) as u64;
            let used8 = &pairs[..16 * blocks8 as usize];
            let want8 = used8.iter().filter(|&&(x, y)| exact(x, y)).count() as u64;
            let hits = count_blocks::<wide::f32x8>(&Given::<8>(used8), blocks8);
            assert_eq!((0..8).map(|l| u64::from(hits.lane(l))).sum::<u64>(), want8);
        }
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
                let each = u64::from(pi_hits_jax_each_pair::<f32>(&one, pairs));
                assert_eq!((across8, across16, each), (want, want, want), "{layout:?}, {pairs} pairs");
            }
        }
    }
}
