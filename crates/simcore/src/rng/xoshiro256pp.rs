//! xoshiro256++ (Blackman & Vigna, "Scrambled linear pseudorandom number generators",
//! ACM TOMS 2021; C reference `xoshiro256plusplus.c`), bit-identical to
//! `rand_xoshiro::Xoshiro256PlusPlus` 0.7 — the fast *sequential* option of
//! WORKLOADS.md, "Random streams" (Philox is the counter-based reference).
//!
//! 256 bits of state, period 2^256 − 1; [`jump`](Xoshiro256PlusPlus::jump) advances by
//! 2^128 outputs and [`long_jump`](Xoshiro256PlusPlus::long_jump) by 2^192, for
//! non-overlapping parallel streams. [`for_stream`](Xoshiro256PlusPlus::for_stream) is
//! the per-stream seeding of the workload contract.

use rand_core::impls::fill_bytes_via_next;
use rand_core::{RngCore, SeedableRng};

use super::splitmix64::{SplitMix64, u32_to_f32, u64_to_f64};

/// The xoshiro256++ generator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Xoshiro256PlusPlus {
    s: [u64; 4],
}

impl Xoshiro256PlusPlus {
    /// Generator of stream `stream_id` under `seed`: exactly
    /// `seed_from_u64(seed ^ stream_id)`, i.e. the state is four consecutive
    /// [`SplitMix64`] outputs from state `seed ^ stream_id` (WORKLOADS.md, "Random
    /// streams"). Streams are distinct states of the same 2^256 cycle, not provably
    /// disjoint; use [`jump`](Self::jump) from one seed where disjointness must be proven.
    pub fn for_stream(seed: u64, stream_id: u64) -> Self {
        Self::seed_from_u64(seed ^ stream_id)
    }

    /// Jumps ahead by 2^128 outputs (the reference `jump()`): 2^128 non-overlapping
    /// subsequences for parallel computations.
    pub fn jump(&mut self) {
        self.apply_jump([
            0x180e_c6d3_3cfd_0aba,
            0xd5a6_1266_f0c9_392c,
            0xa958_2618_e03f_c9aa,
            0x39ab_dc45_29b1_661c,
        ]);
    }

    /// Jumps ahead by 2^192 outputs (the reference `long_jump()`): 2^64 starting points,
    /// from each of which [`jump`](Self::jump) gives 2^64 non-overlapping subsequences.
    pub fn long_jump(&mut self) {
        self.apply_jump([
            0x76e1_5d3e_fefd_cbbf,
            0xc500_4e44_1c52_2fb3,
            0x7771_0069_854e_e241,
            0x3910_9bb0_2acb_e635,
        ]);
    }

    /// Multiplies the state by the jump polynomial given by its bits (reference code).
    fn apply_jump(&mut self, poly: [u64; 4]) {
        let mut acc = [0u64; 4];
        for word in poly {
            for b in 0..64 {
                if word & (1u64 << b) != 0 {
                    for (a, s) in acc.iter_mut().zip(self.s) {
                        *a ^= s;
                    }
                }
                self.next_u64();
            }
        }
        self.s = acc;
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

impl RngCore for Xoshiro256PlusPlus {
    /// The upper half of [`next_u64`](Self::next_u64) (the low bits of the `++`
    /// scrambler are the weaker ones), as `rand_xoshiro`.
    #[inline]
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    #[inline]
    fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Little-endian `next_u64` words, the tail from one more `next_u64` (5–7 bytes) or
    /// `next_u32` (1–4 bytes), as `rand_core::impls::fill_bytes_via_next`.
    #[inline]
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        fill_bytes_via_next(self, dest);
    }
}

impl SeedableRng for Xoshiro256PlusPlus {
    type Seed = [u8; 32];

    /// The state is the seed read as four little-endian `u64`. The all-zero seed (a fixed
    /// point) is replaced by `seed_from_u64(0)`, as `rand_xoshiro` does.
    fn from_seed(seed: [u8; 32]) -> Self {
        if seed.iter().all(|&b| b == 0) {
            return Self::seed_from_u64(0);
        }
        let mut s = [0u64; 4];
        for (w, chunk) in s.iter_mut().zip(seed.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            *w = u64::from_le_bytes(b);
        }
        Self { s }
    }

    /// The state is filled with [`SplitMix64`] outputs from state `seed` (its
    /// `fill_bytes`, i.e. four `next_u64`), exactly as `rand_xoshiro`.
    fn seed_from_u64(seed: u64) -> Self {
        Self::from_rng(&mut SplitMix64::seed_from_u64(seed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Outputs of the reference `xoshiro256plusplus.c` from state `{1, 2, 3, 4}`.
    #[test]
    fn reference() {
        let mut seed = [0u8; 32];
        for (i, chunk) in seed.chunks_exact_mut(8).enumerate() {
            chunk[0] = i as u8 + 1;
        }
        let mut rng = Xoshiro256PlusPlus::from_seed(seed);
        let expected: [u64; 10] = [
            41943041,
            58720359,
            3588806011781223,
            3591011842654386,
            9228616714210784205,
            9973669472204895162,
            14011001112246962877,
            12406186145184390807,
            15849039046786891736,
            10450023813501588000,
        ];
        for e in expected {
            assert_eq!(rng.next_u64(), e);
        }
    }

    #[test]
    fn matches_rand_xoshiro() {
        for seed in [0u64, 1, 42, 0xdead_beef, u64::MAX] {
            let mut ours = Xoshiro256PlusPlus::seed_from_u64(seed);
            let mut theirs = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
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
        let mut seed = [0u8; 32];
        let (mut a, mut b) =
            (Xoshiro256PlusPlus::from_seed(seed), rand_xoshiro::Xoshiro256PlusPlus::from_seed(seed));
        assert_eq!(a.next_u64(), b.next_u64());
        assert_eq!(Xoshiro256PlusPlus::from_seed(seed), Xoshiro256PlusPlus::seed_from_u64(0));
        for (i, x) in seed.iter_mut().enumerate() {
            *x = (i * 37 + 5) as u8;
        }
        let (mut a, mut b) =
            (Xoshiro256PlusPlus::from_seed(seed), rand_xoshiro::Xoshiro256PlusPlus::from_seed(seed));
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
    }

    #[test]
    fn for_stream_is_seed_xor_stream() {
        for (seed, id) in [(0u64, 0u64), (0, 5), (0xabcd, 17), (u64::MAX, 1 << 40)] {
            let mut a = Xoshiro256PlusPlus::for_stream(seed, id);
            let mut b = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed ^ id);
            for _ in 0..100 {
                assert_eq!(a.next_u64(), b.next_u64());
            }
        }
        let mut s0 = Xoshiro256PlusPlus::for_stream(9, 0);
        let mut s1 = Xoshiro256PlusPlus::for_stream(9, 1);
        assert_ne!(s0.next_u64(), s1.next_u64());
    }

    #[test]
    fn uniforms_use_the_top_bits() {
        let mut a = Xoshiro256PlusPlus::seed_from_u64(3);
        let mut b = a.clone();
        assert_eq!(a.next_f32(), (b.next_u64() >> 40) as f32 / 16_777_216.0);
        assert_eq!(a.next_f64(), (b.next_u64() >> 11) as f64 / 9_007_199_254_740_992.0);
        let mut sum = 0.0;
        for _ in 0..10_000 {
            let u = a.next_f64();
            assert!((0.0..1.0).contains(&u));
            sum += u;
        }
        // Mean of 1e4 uniforms: sd = sqrt(1/12 / 1e4) ≈ 2.9e-3; 4 sd.
        assert!((sum / 10_000.0 - 0.5).abs() < 4.0 * 2.9e-3);
    }
}
