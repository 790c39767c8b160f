//! Threefry2x32 with 20 rounds (Salmon et al., "Parallel random numbers: as easy as 1, 2,
//! 3", SC'11; Random123's `threefry2x32_R(20, …)`), the hash behind JAX's default
//! generator. Written over integer lanes like [`crate::rng::philox4x32_10()`], so one call
//! hashes one counter pair per lane: 1 on the scalar backend and a GPU thread, 8 on
//! `u32x8`. Only wrapping adds, rotations and xors: the same bits on every target.

use crate::lane::UintLane;

/// Rotation constants of rounds 0–3 and 4–7 of each group of eight.
const R0: [u32; 4] = [13, 15, 26, 6];
const R1: [u32; 4] = [17, 29, 16, 24];
/// Skein's key-schedule parity constant.
const PARITY: u32 = 0x1BD1_1BDA;

#[inline(always)]
fn rotl<W: UintLane<Scalar = u32>>(x: W, r: u32) -> W {
    x.shl(r) | x.shr(32 - r)
}

/// Threefry2x32-20 of the counter `ctr` under `key`, lane-wise: JAX's `threefry2x32_p`
/// (`jax._src.prng`) and Random123's `threefry2x32(ctr, key)`.
#[inline(always)]
pub fn threefry2x32<W: UintLane<Scalar = u32>>(key: [W; 2], ctr: [W; 2]) -> [W; 2] {
    threefry2x32_many::<W, 1>(key, [ctr])[0]
}

/// [`threefry2x32`] of `K` counters under one key, the rounds of the `K` hashes
/// interleaved in program order.
///
/// Why: a hash is a chain of 20 dependent add–rotate–xor rounds, so one hash at a time
/// on vector lanes runs at the chain's latency. `K` independent chains side by side
/// fill the pipeline: measured on the dev machine (AVX2 `u32x8`), 2.7e8 hashes/s one at
/// a time, 7.1e8 with `K = 4`. Each output is exactly [`threefry2x32`] of its counter.
#[inline(always)]
pub fn threefry2x32_many<W: UintLane<Scalar = u32>, const K: usize>(
    key: [W; 2],
    ctr: [[W; 2]; K],
) -> [[W; 2]; K] {
    let ks = [key[0], key[1], key[0] ^ key[1] ^ W::splat(PARITY)];
    let mut x0: [W; K] = core::array::from_fn(|k| ctr[k][0].wrapping_add(ks[0]));
    let mut x1: [W; K] = core::array::from_fn(|k| ctr[k][1].wrapping_add(ks[1]));
    for i in 0..5usize {
        let rot = if i % 2 == 0 { R0 } else { R1 };
        for r in rot {
            for k in 0..K {
                x0[k] = x0[k].wrapping_add(x1[k]);
            }
            for k in 0..K {
                x1[k] = rotl(x1[k], r) ^ x0[k];
            }
        }
        let inject = ks[(i + 2) % 3].wrapping_add(W::splat(i as u32 + 1));
        for k in 0..K {
            x0[k] = x0[k].wrapping_add(ks[(i + 1) % 3]);
            x1[k] = x1[k].wrapping_add(inject);
        }
    }
    core::array::from_fn(|k| [x0[k], x1[k]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_is_one_hash_per_counter() {
        let key = [0x1319_8a2e, 0x0370_7344];
        let ctr: [[u32; 2]; 5] =
            core::array::from_fn(|k| [(k as u32).wrapping_mul(0x9e37_79b9), !(k as u32)]);
        let many = threefry2x32_many::<u32, 5>(key, ctr);
        for k in 0..5 {
            assert_eq!(many[k], threefry2x32::<u32>(key, ctr[k]));
        }
        assert_eq!(threefry2x32::<u32>(key, [0x243f_6a88, 0x85a3_08d3]), [0xc492_3a9c, 0x483d_f7a0]);
    }

    // Random123 tests/kat_vectors, "threefry2x32 20" lines (also in jax_vectors.json).
    #[test]
    fn random123_kat_zero() {
        assert_eq!(threefry2x32::<u32>([0, 0], [0, 0]), [0x6b200159, 0x99ba4efe]);
    }

    #[test]
    fn random123_kat_ones() {
        assert_eq!(threefry2x32::<u32>([u32::MAX; 2], [u32::MAX; 2]), [0x1cb996fc, 0xbb002be7]);
    }

    #[test]
    fn random123_kat_pi() {
        assert_eq!(
            threefry2x32::<u32>([0x13198a2e, 0x03707344], [0x243f6a88, 0x85a308d3]),
            [0xc4923a9c, 0x483df7a0]
        );
    }
}
