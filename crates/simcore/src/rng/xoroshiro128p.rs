//! xoroshiro128+ (Blackman & Vigna, "Scrambled linear pseudorandom number generators",
//! ACM TOMS 2021; C reference `xoroshiro128plus.c`, the 2018 constants 24/16/37),
//! bit-identical to `rand_xoshiro::Xoroshiro128Plus` 0.7 — the smallest-state
//! sequential option of WORKLOADS.md, "Random streams".
//!
//! 128 bits of state, period 2^128 − 1. The lowest bits of `+` outputs have low linear
//! complexity, which is why [`next_u32`](RngCore::next_u32) and the float conversions use
//! the upper bits only. [`jump`](Xoroshiro128Plus::jump) advances by 2^64 outputs and
//! [`long_jump`](Xoroshiro128Plus::long_jump) by 2^96.

use rand_core::impls::fill_bytes_via_next;
use rand_core::{RngCore, SeedableRng};

use super::splitmix64::{SplitMix64, u32_to_f32, u64_to_f64};

/// The xoroshiro128+ generator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Xoroshiro128Plus {
    s0: u64,
    s1: u64,
}

impl Xoroshiro128Plus {
    /// Generator of stream `stream_id` under `seed`: exactly
    /// `seed_from_u64(seed ^ stream_id)`, i.e. the state is two consecutive
    /// [`SplitMix64`] outputs from state `seed ^ stream_id` (WORKLOADS.md, "Random
    /// streams"). Streams are distinct states of the same cycle, not provably disjoint;
    /// use [`jump`](Self::jump) from one seed where disjointness must be proven.
    pub fn for_stream(seed: u64, stream_id: u64) -> Self {
        Self::seed_from_u64(seed ^ stream_id)
    }

    /// Jumps ahead by 2^64 outputs (the reference `jump()`): 2^64 non-overlapping
    /// subsequences for parallel computations.
    pub fn jump(&mut self) {
        self.apply_jump([0xdf90_0294_d8f5_54a5, 0x1708_65df_4b32_01fc]);
    }

    /// Jumps ahead by 2^96 outputs (the reference `long_jump()`): 2^32 starting points,
    /// from each of which [`jump`](Self::jump) gives 2^32 non-overlapping subsequences.
    pub fn long_jump(&mut self) {
        self.apply_jump([0xd2a9_8b26_625e_ee7b, 0xdddf_9b10_90aa_7ac1]);
    }

    /// Multiplies the state by the jump polynomial given by its bits (reference code).
    fn apply_jump(&mut self, poly: [u64; 2]) {
        let (mut a0, mut a1) = (0u64, 0u64);
        for word in poly {
            for b in 0..64 {
                if word & (1u64 << b) != 0 {
                    a0 ^= self.s0;
                    a1 ^= self.s1;
                }
                self.next_u64();
            }
        }
        self.s0 = a0;
        self.s1 = a1;
    }

    /// Uniform `f32` in `[0, 1)`: `(next_u32() >> 8)·2^-24`, i.e. bits 40..63 of
    /// `next_u64()` (24 bits, every value exact).
    #[inline]
    pub fn next_f32(&mut self) -> f32 {
        u32_to_f32(self.next_u32())
    }

    /// Uniform `f64` in `[0, 1)`: `(next_u64() >> 11)·2^-53` (53 bits, every value exact).
    #[inline]
    pub fn next_f64(&mut self) -> f64 {
        u64_to_f64(self.next_u64())
    }
}

impl RngCore for Xoroshiro128Plus {
    /// The upper half of [`next_u64`](Self::next_u64) (the lowest bits of `+` outputs
    /// are weak), as `rand_xoshiro`.
    #[inline]
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    #[inline]
    fn next_u64(&mut self) -> u64 {
        let r = self.s0.wrapping_add(self.s1);
        self.s1 ^= self.s0;
        self.s0 = self.s0.rotate_left(24) ^ self.s1 ^ (self.s1 << 16);
        self.s1 = self.s1.rotate_left(37);
        r
    }

    /// Little-endian `next_u64` words, the tail from one more `next_u64` (5–7 bytes) or
    /// `next_u32` (1–4 bytes), as `rand_core::impls::fill_bytes_via_next`.
    #[inline]
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        fill_bytes_via_next(self, dest);
    }
}

impl SeedableRng for Xoroshiro128Plus {
    type Seed = [u8; 16];

    /// The state is the seed read as two little-endian `u64`. The all-zero seed (a fixed
    /// point) is replaced by `seed_from_u64(0)`, as `rand_xoshiro` does.
    fn from_seed(seed: [u8; 16]) -> Self {
        if seed == [0; 16] {
            return Self::seed_from_u64(0);
        }
        let (lo, hi) = seed.split_at(8);
        let word = |c: &[u8]| {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            u64::from_le_bytes(b)
        };
        Self { s0: word(lo), s1: word(hi) }
    }

    /// The state is filled with [`SplitMix64`] outputs from state `seed` (its
    /// `fill_bytes`, i.e. two `next_u64`), exactly as `rand_xoshiro`.
    fn seed_from_u64(seed: u64) -> Self {
        Self::from_rng(&mut SplitMix64::seed_from_u64(seed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Outputs of the reference `xoroshiro128plus.c` from state `{1, 2}` (the values
    /// `rand_xoshiro`'s own `reference()` test lists; the first is `1 + 2`).
    #[test]
    fn reference() {
        let mut seed = [0u8; 16];
        seed[0] = 1;
        seed[8] = 2;
        let mut rng = Xoroshiro128Plus::from_seed(seed);
        let expected: [u64; 10] = [
            3,
            412333834243,
            2360170716294286339,
            9295852285959843169,
            2797080929874688578,
            6019711933173041966,
            3076529664176959358,
            3521761819100106140,
            7493067640054542992,
            920801338098114767,
        ];
        for e in expected {
            assert_eq!(rng.next_u64(), e);
        }
    }

    #[test]
    fn matches_rand_xoshiro() {
        for seed in [0u64, 1, 42, 0xdead_beef, u64::MAX] {
            let mut ours = Xoroshiro128Plus::seed_from_u64(seed);
            let mut theirs = rand_xoshiro::Xoroshiro128Plus::seed_from_u64(seed);
            for i in 0..3000 {
                if i % 3 == 0 {
                    assert_eq!(ours.next_u32(), theirs.next_u32());
                } else {
                    assert_eq!(ours.next_u64(), theirs.next_u64());
                }
            }
            for len in [0usize, 1, 3, 4, 5, 7, 8, 9, 16, 31] {
                let (mut a, mut b) = ([0u8; 31], [0u8; 31]);
                ours.fill_bytes(&mut a[..len]);
                theirs.fill_bytes(&mut b[..len]);
                assert_eq!(a, b);
            }
            ours.jump();
            theirs.jump();
            assert_eq!(ours.next_u64(), theirs.next_u64());
            ours.long_jump();
            theirs.long_jump();
            for _ in 0..100 {
                assert_eq!(ours.next_u64(), theirs.next_u64());
            }
        }
    }

    #[test]
    fn from_seed_matches_including_zero_seed() {
        let mut seed = [0u8; 16];
        assert_eq!(Xoroshiro128Plus::from_seed(seed), Xoroshiro128Plus::seed_from_u64(0));
        let (mut a, mut b) =
            (Xoroshiro128Plus::from_seed(seed), rand_xoshiro::Xoroshiro128Plus::from_seed(seed));
        assert_eq!(a.next_u64(), b.next_u64());
        for (i, x) in seed.iter_mut().enumerate() {
            *x = (i * 53 + 11) as u8;
        }
        let (mut a, mut b) =
            (Xoroshiro128Plus::from_seed(seed), rand_xoshiro::Xoroshiro128Plus::from_seed(seed));
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
    }

    #[test]
    fn for_stream_is_seed_xor_stream() {
        for (seed, id) in [(0u64, 0u64), (0, 5), (0xabcd, 17), (u64::MAX, 1 << 40)] {
            let mut a = Xoroshiro128Plus::for_stream(seed, id);
            let mut b = rand_xoshiro::Xoroshiro128Plus::seed_from_u64(seed ^ id);
            for _ in 0..100 {
                assert_eq!(a.next_u64(), b.next_u64());
            }
        }
    }

    #[test]
    fn uniforms_use_the_top_bits() {
        let mut a = Xoroshiro128Plus::seed_from_u64(3);
        let mut b = a.clone();
        assert_eq!(a.next_f32(), (b.next_u64() >> 40) as f32 / 16_777_216.0);
        assert_eq!(a.next_f64(), (b.next_u64() >> 11) as f64 / 9_007_199_254_740_992.0);
        let mut sum = 0.0f64;
        for _ in 0..10_000 {
            let u = a.next_f32();
            assert!((0.0..1.0).contains(&u));
            sum += f64::from(u);
        }
        // Mean of 1e4 uniforms: sd = sqrt(1/12 / 1e4) ≈ 2.9e-3; 4 sd.
        assert!((sum / 10_000.0 - 0.5).abs() < 4.0 * 2.9e-3);
    }
}
