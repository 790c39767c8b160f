//! The stream contract of WORKLOADS.md, "Random streams" — exact, so anyone can
//! regenerate simlanes' numbers in another language:
//!
//! * key `[seed as u32, seed >> 32]`;
//! * block `c` (u64) of stream `i` (u64) is Philox4x32-10 of counter
//!   `[c as u32, c >> 32, i as u32, i >> 32]`; word `j` of a stream is word `j % 4` of
//!   block `j / 4`;
//! * uniform f32 from one word `(w >> 8)·2^-24`; f64 from two consecutive words
//!   `(lo, hi)`: `((hi << 32 | lo) >> 11)·2^-53`;
//! * normals by Box–Muller on uniforms `2m, 2m+1`: `r = sqrt(-2 ln(1 - u1))`,
//!   `z_2m = r cos(2π u2)`, `z_2m+1 = r sin(2π u2)`.
//!
//! A [`Stream`] holds one stream per lane (lane `l` may carry any stream id) under one
//! seed; every method takes the block or uniform index shared by all lanes.

use crate::lane::{Precision, Real, UintLane};
use crate::rng::philox4x32_10::{philox4x32_10, philox4x32_10_pair};

/// One Philox stream per lane of `L`, all under the same seed.
#[derive(Debug, Clone, Copy)]
pub struct Stream<L: Real> {
    key: [L::Words; 2],
    id: [L::Words; 2],
}

/// Uniforms one Philox block yields: 4 for f32, 2 for f64.
pub const fn uniforms_per_block<P: Precision>() -> usize {
    4 / P::WORDS_PER_UNIFORM
}

impl<L: Real> Stream<L> {
    /// Streams `ids(l)` for lane `l`, under `seed` (`ids` is called twice per lane).
    #[inline(always)]
    pub fn new(seed: u64, mut ids: impl FnMut(usize) -> u64) -> Self {
        let key = [L::Words::splat(seed as u32), L::Words::splat((seed >> 32) as u32)];
        let id = [L::Words::from_fn(|l| ids(l) as u32), L::Words::from_fn(|l| (ids(l) >> 32) as u32)];
        Self { key, id }
    }

    /// Streams `first, first + 1, …` in consecutive lanes (the usual batch layout).
    #[inline(always)]
    pub fn consecutive(seed: u64, first: u64) -> Self {
        Self::new(seed, |l| first.wrapping_add(l as u64))
    }

    /// The four words of block `c` of each lane's stream.
    #[inline(always)]
    pub fn block(&self, c: u64) -> [L::Words; 4] {
        philox4x32_10(self.counter(c), self.key)
    }

    /// Blocks `c` and `c + 1` of each lane's stream, made together
    /// ([`philox4x32_10_pair`]: two dependency chains in flight on vector words).
    #[inline(always)]
    pub fn block_pair(&self, c: u64) -> [[L::Words; 4]; 2] {
        philox4x32_10_pair([self.counter(c), self.counter(c.wrapping_add(1))], self.key)
    }

    /// The Philox counter of block `c`.
    #[inline(always)]
    fn counter(&self, c: u64) -> [L::Words; 4] {
        [L::Words::splat(c as u32), L::Words::splat((c >> 32) as u32), self.id[0], self.id[1]]
    }

    /// The uniforms of block `c`: uniforms `4c..4c+4` (f32) or `2c..2c+2` (f64; the first
    /// 2 entries), as [`block_uniforms`].
    #[inline(always)]
    pub fn uniform_block(&self, c: u64) -> [L; 4] {
        block_uniforms(self.block(c))
    }

    /// Uniform `j` of each lane's stream (random access; computes its whole block).
    #[inline(always)]
    pub fn uniform(&self, j: u64) -> L {
        let per = uniforms_per_block::<L::Scalar>() as u64;
        self.uniform_block(j / per)[(j % per) as usize]
    }
}

/// The uniforms of one block's words `w`: 4 in f32 (one per word), 2 in f64 (the first
/// 2 entries, from the word pairs `(w0, w1)` and `(w2, w3)`; the last 2 repeat them).
#[inline(always)]
pub fn block_uniforms<L: Real>(w: [L::Words; 4]) -> [L; 4] {
    if L::Scalar::WORDS_PER_UNIFORM == 1 {
        core::array::from_fn(|j| L::Scalar::uniform::<L>(w[j], w[j]))
    } else {
        let u0 = L::Scalar::uniform::<L>(w[0], w[1]);
        let u1 = L::Scalar::uniform::<L>(w[2], w[3]);
        [u0, u1, u0, u1]
    }
}

/// The normals of one block's words `w` in stream order: 4 in f32, 2 in f64 (the first
/// 2 entries; the last 2 repeat them). Exactly those [`NormalSeq`] yields for that block.
#[inline(always)]
pub fn block_normals<L: Real>(w: [L::Words; 4]) -> [L; 4] {
    let u = block_uniforms::<L>(w);
    let (a, b) = box_muller(u[0], u[1]);
    if L::Scalar::WORDS_PER_UNIFORM == 1 {
        let (c, d) = box_muller(u[2], u[3]);
        [a, b, c, d]
    } else {
        [a, b, a, b]
    }
}

/// Box–Muller on the uniform pair `(u1, u2)`: `(z0, z1) = r·(cos 2πu2, sin 2πu2)`,
/// `r = sqrt(-2 ln(1 - u1))`, for uniforms of the contract (`u1, u2 ∈ [0, 1)`, multiples
/// of `2^-24` in f32 and `2^-53` in f64).
///
/// `1 - u1` is then exact and in `[2^-24, 1]` (f64: `[2^-53, 1]`), positive and normal,
/// so `r` is finite and [`Precision::ln_normal`] gives `ln`'s bits; `u2 ∈ [0, 1)` is at
/// most one turn, so [`Precision::sin_cos_2pi_turn`] gives `sin_cos_2pi`'s bits. Both skip
/// work that cannot change the result there: 19 of about 130 lane operations per pair in
/// f64 (`box_muller_is_ln_and_sin_cos` checks the bits, edges included).
#[inline(always)]
pub fn box_muller<L: Real>(u1: L, u2: L) -> (L, L) {
    let one = L::splat(L::Scalar::from_f64(1.0));
    let m2 = L::splat(L::Scalar::from_f64(-2.0));
    let r = (m2 * L::Scalar::ln_normal(one - u1)).sqrt();
    let (s, c) = L::Scalar::sin_cos_2pi_turn(u2);
    (r * c, r * s)
}

/// Normals `0, 1, 2, …` of each lane's stream, read in order.
///
/// Normal `2m` and `2m+1` come from uniforms `2m` and `2m+1`. One Philox block gives four
/// normals in f32 and two in f64. Vector lanes refill two blocks at a time
/// ([`Stream::block_pair`], two Philox chains in flight: W4 at the seed size 1.1× faster
/// on `f32x8`); single lanes (the scalar backend, a GPU thread) one block, as before:
/// a GPU thread's latency is hidden by other warps, and its registers bound occupancy
/// (`cargo xtask ptx`: the same register counts, 16–32 more bytes of stack for the
/// larger buffer).
#[derive(Debug, Clone)]
pub struct NormalSeq<L: Real> {
    stream: Stream<L>,
    next_block: u64,
    buf: [L; 8],
    used: usize,
    len: usize,
}

impl<L: Real> NormalSeq<L> {
    /// Starts at normal `first` (which must be even, i.e. at a Box–Muller pair; it is
    /// rounded down to the start of its block otherwise and the skipped normals dropped).
    #[inline(always)]
    pub fn new(stream: Stream<L>, first: u64) -> Self {
        let per = uniforms_per_block::<L::Scalar>() as u64;
        let zero = L::splat(L::Scalar::default());
        let mut seq = Self { stream, next_block: first / per, buf: [zero; 8], used: 0, len: 0 };
        let skip = (first % per) as usize;
        if skip > 0 {
            seq.refill();
            seq.used = skip;
        }
        seq
    }

    #[inline(always)]
    fn refill(&mut self) {
        let per = uniforms_per_block::<L::Scalar>();
        let c = self.next_block;
        if L::LANES == 1 {
            self.buf[..per].copy_from_slice(&block_normals::<L>(self.stream.block(c))[..per]);
            self.next_block = c.wrapping_add(1);
            self.len = per;
        } else {
            for (half, w) in self.buf.chunks_exact_mut(per).zip(self.stream.block_pair(c)) {
                half.copy_from_slice(&block_normals::<L>(w)[..per]);
            }
            self.next_block = c.wrapping_add(2);
            self.len = 2 * per;
        }
        self.used = 0;
    }

    /// The next normal of every lane.
    #[inline(always)]
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> L {
        if self.used == self.len {
            self.refill();
        }
        let z = self.buf[self.used];
        self.used += 1;
        z
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;

    #[test]
    fn block_uses_the_documented_counter_and_key() {
        let seed = 0x0123_4567_89ab_cdefu64;
        let s = Stream::<f32>::new(seed, |_| 0xfedc_ba98_7654_3210);
        let c = 0x1111_2222_3333_4444u64;
        let want = philox4x32_10::<u32>(
            [c as u32, (c >> 32) as u32, 0x7654_3210, 0xfedc_ba98],
            [seed as u32, (seed >> 32) as u32],
        );
        assert_eq!(s.block(c), want);
    }

    #[test]
    fn uniform_j_is_word_j() {
        let s = Stream::<f32>::consecutive(7, 3);
        for j in 0..12u64 {
            let w = s.block(j / 4)[(j % 4) as usize];
            assert_eq!(s.uniform(j), (w >> 8) as f32 / 16_777_216.0);
        }
        let s = Stream::<f64>::consecutive(7, 3);
        for j in 0..6u64 {
            let b = s.block(j / 2);
            let (lo, hi) = (b[(2 * (j % 2)) as usize], b[(2 * (j % 2) + 1) as usize]);
            let want = (((u64::from(hi) << 32) | u64::from(lo)) >> 11) as f64 / 9_007_199_254_740_992.0;
            assert_eq!(s.uniform(j), want);
        }
    }

    #[test]
    fn normal_seq_follows_box_muller_pairs() {
        for first in [0u64, 2, 4, 6] {
            let s = Stream::<f32>::consecutive(1, 9);
            let mut seq = NormalSeq::new(s, first);
            for m in (first / 2)..(first / 2 + 5) {
                let (z0, z1) = box_muller(s.uniform(2 * m), s.uniform(2 * m + 1));
                assert_eq!(seq.next().to_bits(), z0.to_bits());
                assert_eq!(seq.next().to_bits(), z1.to_bits());
            }
        }
        let s = Stream::<f64>::consecutive(1, 9);
        let mut seq = NormalSeq::new(s, 0);
        for m in 0..5 {
            let (z0, z1) = box_muller(s.uniform(2 * m), s.uniform(2 * m + 1));
            assert_eq!(seq.next().to_bits(), z0.to_bits());
            assert_eq!(seq.next().to_bits(), z1.to_bits());
        }
    }

    /// Vector lanes refill two blocks at a time: lane `l` still reads stream `first + l`'s
    /// normals in order, from any even start (both halves of a pair, past several refills).
    #[cfg(feature = "simd")]
    fn vector_seq_is_each_lanes_seq<L: Real>()
    where
        L::Scalar: Real,
    {
        for first in [0u64, 2, 4, 6, 10] {
            let mut seq = NormalSeq::new(Stream::<L>::consecutive(8, 21), first);
            let mut lanes: std::vec::Vec<NormalSeq<L::Scalar>> = (0..L::LANES)
                .map(|l| NormalSeq::new(Stream::<L::Scalar>::consecutive(8, 21 + l as u64), first))
                .collect();
            for i in 0..19 {
                let z = seq.next();
                for (l, one) in lanes.iter_mut().enumerate() {
                    let (got, want) = (Precision::to_f64(z.lane(l)), Precision::to_f64(one.next()));
                    assert_eq!(got.to_bits(), want.to_bits(), "start {first}, draw {i}, lane {l}");
                }
            }
        }
    }

    #[cfg(feature = "simd")]
    #[test]
    fn vector_normal_seqs_are_lane_seqs() {
        vector_seq_is_each_lanes_seq::<wide::f32x8>();
        vector_seq_is_each_lanes_seq::<wide::f32x16>();
        vector_seq_is_each_lanes_seq::<wide::f64x4>();
        vector_seq_is_each_lanes_seq::<wide::f64x8>();
    }

    /// `box_muller` skips the scaling, turn reduction and special values of `ln` and
    /// `sin_cos_2pi`; on the contract's uniforms that must not change one bit.
    #[test]
    fn box_muller_is_ln_and_sin_cos() {
        fn full<L: Real>(u1: L, u2: L) -> (L, L) {
            let one = L::splat(L::Scalar::from_f64(1.0));
            let r = (L::splat(L::Scalar::from_f64(-2.0)) * (one - u1).ln()).sqrt();
            let (s, c) = u2.sin_cos_2pi();
            (r * c, r * s)
        }
        let b32 = |(a, b): (f32, f32)| (a.to_bits(), b.to_bits());
        let b64 = |(a, b): (f64, f64)| (a.to_bits(), b.to_bits());
        // The extreme words: uniforms 0 and 1 − 2^-24 (f32), 0 and 1 − 2^-53 (f64).
        let words = [0u32, 1, 255, 256, 0x8000_0000, u32::MAX - 255, u32::MAX];
        for &a in &words {
            for &b in &words {
                let (u1, u2) = (f32::uniform::<f32>(a, a), f32::uniform::<f32>(b, b));
                assert_eq!(b32(box_muller(u1, u2)), b32(full(u1, u2)), "words {a:#x} {b:#x}");
                let (v1, v2) = (f64::uniform::<f64>(a, b), f64::uniform::<f64>(b, a));
                assert_eq!(b64(box_muller(v1, v2)), b64(full(v1, v2)), "words {a:#x} {b:#x}");
            }
        }
        // Random blocks of a stream.
        let (s32, s64) = (Stream::<f32>::consecutive(5, 0), Stream::<f64>::consecutive(5, 0));
        for c in 0..(1u64 << 15) {
            let u = s32.uniform_block(c);
            assert_eq!(b32(box_muller(u[0], u[1])), b32(full(u[0], u[1])));
            assert_eq!(b32(box_muller(u[2], u[3])), b32(full(u[2], u[3])));
            let v = s64.uniform_block(c);
            assert_eq!(b64(box_muller(v[0], v[1])), b64(full(v[0], v[1])));
        }
    }
}
