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

#[cfg(test)]
mod tests {
    use super::*;

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
