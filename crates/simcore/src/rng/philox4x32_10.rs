//! Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11),
//! the counter-based generator of Random123, written over integer lanes so one call
//! produces a block for every lane (every simulation) at once.

use crate::lane::UintLane;

const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;

/// One Philox4x32 round.
#[inline(always)]
fn round<W: UintLane<Scalar = u32>>(ctr: [W; 4], key: [W; 2]) -> [W; 4] {
    let (hi0, lo0) = ctr[0].mul_hi_lo(M0);
    let (hi1, lo1) = ctr[2].mul_hi_lo(M1);
    [hi1 ^ ctr[1] ^ key[0], lo1, hi0 ^ ctr[3] ^ key[1], lo0]
}

/// Philox4x32-10: ten rounds of the counter `ctr` under `key`, lane-wise.
#[inline(always)]
pub fn philox4x32_10<W: UintLane<Scalar = u32>>(mut ctr: [W; 4], mut key: [W; 2]) -> [W; 4] {
    let bump = [W::splat(W0), W::splat(W1)];
    for r in 0..10 {
        if r > 0 {
            key = [key[0].wrapping_add(bump[0]), key[1].wrapping_add(bump[1])];
        }
        ctr = round(ctr, key);
    }
    ctr
}

/// `K` independent Philox4x32-10 blocks under one key, their rounds interleaved
/// (round `r` of every block, then round `r + 1`): `K` dependency chains in flight at
/// once, for kernels bound by the latency of the ten dependent rounds. Block `b` of the
/// result equals `philox4x32_10(ctrs[b], key)` exactly.
#[inline(always)]
pub fn philox4x32_10_many<W: UintLane<Scalar = u32>, const K: usize>(
    mut ctrs: [[W; 4]; K],
    mut key: [W; 2],
) -> [[W; 4]; K] {
    let bump = [W::splat(W0), W::splat(W1)];
    for r in 0..10 {
        if r > 0 {
            key = [key[0].wrapping_add(bump[0]), key[1].wrapping_add(bump[1])];
        }
        for c in ctrs.iter_mut() {
            *c = round(*c, key);
        }
    }
    ctrs
}

/// Two blocks under one key: [`philox4x32_10_many`] with `K = 2` on 4- and 8-lane words,
/// one block after the other otherwise. Same results either way.
///
/// Why: one block's ten rounds are a chain of dependent multiplies (about 60 cycles on
/// AVX2, where each 32×32→64 multiply is two `vpmuludq` and three shuffles), and a
/// kernel that draws one block at a time leaves the core waiting on it. Two chains in
/// flight made `u32x8` Philox 1.25× faster (Zen 3; four chains were slower, out of
/// registers). `u32x16` already runs two chains (its multiply is two `u32x8` halves).
/// Single lanes are the scalar backend's and the GPU's (one simulation per thread, whose
/// latency the other warps hide and whose registers bound occupancy).
#[inline(always)]
pub fn philox4x32_10_pair<W: UintLane<Scalar = u32>>(ctrs: [[W; 4]; 2], key: [W; 2]) -> [[W; 4]; 2] {
    if W::LANES == 4 || W::LANES == 8 {
        philox4x32_10_many(ctrs, key)
    } else {
        ctrs.map(|c| philox4x32_10(c, key))
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use std::vec::Vec;

    #[test]
    fn many_equals_one_at_a_time() {
        let key = [0xa409_3822u32, 0x299f_31d0];
        let ctrs: [[u32; 4]; 3] =
            [[0; 4], [u32::MAX; 4], [0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344]];
        let got = philox4x32_10_many(ctrs, key);
        for (c, g) in ctrs.iter().zip(got) {
            assert_eq!(g, philox4x32_10(*c, key));
        }
    }

    /// Lane `l` of `W` runs counters `ctr(l)`: the pair equals two single blocks on single
    /// lanes and on the vector words (interleaved or not), lane by lane.
    fn pair_is_two_blocks<W: UintLane<Scalar = u32>>() {
        let key = [W::splat(0xa409_3822), W::splat(0x299f_31d0)];
        let ctr = |c: u32| {
            [
                W::from_fn(|l| c.wrapping_add(l as u32)),
                W::splat(c),
                W::from_fn(|l| 7 * l as u32),
                W::splat(u32::MAX),
            ]
        };
        let got = philox4x32_10_pair([ctr(3), ctr(u32::MAX)], key);
        let want = [philox4x32_10(ctr(3), key), philox4x32_10(ctr(u32::MAX), key)];
        for (g, w) in got.iter().zip(&want) {
            for (gw, ww) in g.iter().zip(w) {
                assert_eq!(
                    (0..W::LANES).map(|l| gw.lane(l)).collect::<Vec<_>>(),
                    (0..W::LANES).map(|l| ww.lane(l)).collect::<Vec<_>>()
                );
            }
        }
    }

    #[test]
    fn pair_equals_two_blocks() {
        pair_is_two_blocks::<u32>();
        #[cfg(feature = "simd")]
        {
            pair_is_two_blocks::<wide::u32x4>();
            pair_is_two_blocks::<wide::u32x8>();
            pair_is_two_blocks::<wide::u32x16>();
        }
    }

    // Random123 tests/kat_vectors, "philox4x32 10" lines.
    #[test]
    fn random123_kat_zero() {
        assert_eq!(philox4x32_10::<u32>([0; 4], [0; 2]), [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
    }

    #[test]
    fn random123_kat_ones() {
        assert_eq!(
            philox4x32_10::<u32>([u32::MAX; 4], [u32::MAX; 2]),
            [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]
        );
    }

    #[test]
    fn random123_kat_pi() {
        assert_eq!(
            philox4x32_10::<u32>([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0]),
            [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]
        );
    }
}
