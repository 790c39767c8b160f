//! JAX draws fused into the kernels: per-lane keys, one threefry hash per element, the
//! element index shared by all lanes — so a kernel reads element `i` of every lane's own
//! `jax.random.bits/uniform/normal(k_l, shape)` draw without ever storing the array.
//!
//! Why: the workloads' JAX stream mode (simlanes `workload::jax`) gives member `b` of a
//! batch the key `k_b = jax.random.split(key, B)[b]` ([`JaxLanes::for_members`]) and reads
//! its noise as JAX's flat row-major draw of the member's whole array. Both layouts
//! give any element in O(1) here; under [`Layout::Legacy`] each element costs the same
//! single hash, but the *values* depend on the member's total draw size `n` (which must
//! be known up front and stay below `2^32 - 1` words), and the member keys of
//! `split(key, B)` depend on `B` — see [`crate::rng::jax`].

use super::convert::{normal_f32, uniform_f32};
use super::{Key, Layout, legacy_words_check, split_at, threefry2x32_many};
use crate::ParamError;
use crate::lane::{Real, UintLane};
use crate::rng::NormalSource;

/// Per-lane JAX keys and the draw they make: 32-bit word `i` of lane `l` is element `i` of
/// `jax.random.bits(k_l, (n,), uint32)` (any shape with `n` elements, flattened).
#[derive(Debug, Clone, Copy)]
pub struct JaxLanes<W> {
    key: [W; 2],
    layout: Layout,
    words: u32,
}

impl JaxLanes<u32> {
    /// This one lane's key and draw in every lane of `V`: for spreading one member's
    /// draw over vector lanes ([`JaxLanes::words_strided`] with lane-varying rows).
    pub fn broadcast<V: UintLane<Scalar = u32>>(&self) -> JaxLanes<V> {
        JaxLanes { key: self.key.map(V::splat), layout: self.layout, words: self.words }
    }
}

impl<W: UintLane<Scalar = u32>> JaxLanes<W> {
    /// Lane `l` draws `n` words from `keys(l)` under `layout`.
    ///
    /// # Errors
    /// [`ParamError::TooLarge`] under [`Layout::Legacy`] for `n >= 2^32 - 1`.
    pub fn new(mut keys: impl FnMut(usize) -> Key, layout: Layout, n: u64) -> Result<Self, ParamError> {
        let words = match layout {
            Layout::Partitionable => 0,
            Layout::Legacy => legacy_words_check(u128::from(n))?,
        };
        let k0 = W::from_fn(|l| keys(l).0[0]);
        let k1 = W::from_fn(|l| keys(l).0[1]);
        Ok(Self { key: [k0, k1], layout, words })
    }

    /// Lane `l` = member `first + l` of a batch of `count`: key
    /// `jax.random.split(parent, count)[first + l]` (lanes past the batch repeat the last
    /// member; their results are to be discarded), `n` words each.
    ///
    /// # Errors
    /// `count == 0` or `first >= count` (`TooLarge`, `"split index"`); under
    /// [`Layout::Legacy`], `count >= 2^31` or `n >= 2^32 - 1` (`TooLarge`).
    pub fn for_members(
        parent: Key,
        layout: Layout,
        count: u64,
        first: u64,
        n: u64,
    ) -> Result<Self, ParamError> {
        let last = count.checked_sub(1).ok_or(ParamError::TooLarge { name: "split index", max: 0 })?;
        let mut keys = [Key::default(); 2];
        // Validate once; the per-lane calls below then cannot fail.
        keys[0] = split_at(parent, layout, count, first)?;
        keys[1] = split_at(parent, layout, count, last)?;
        Self::new(
            |l| match first.checked_add(l as u64) {
                Some(m) if m < count => split_at(parent, layout, count, m).unwrap_or(keys[0]),
                _ => keys[1],
            },
            layout,
            n,
        )
    }

    /// Words `first .. first + K` of every lane ([`JaxLanes::word`] of each: one threefry
    /// hash per word under either layout), the `K` hashes interleaved
    /// ([`threefry2x32_many`]) so vector lanes are not bound by one hash's latency.
    /// Indices past the draw (`>= n`) give unspecified words, never a panic.
    #[inline(always)]
    pub fn words<const K: usize>(&self, first: u64) -> [W; K] {
        match self.layout {
            Layout::Partitionable => {
                let ctr = core::array::from_fn(|k| {
                    let i = first.wrapping_add(k as u64);
                    [W::splat((i >> 32) as u32), W::splat(i as u32)]
                });
                threefry2x32_many(self.key, ctr).map(|[b1, b2]| b1 ^ b2)
            }
            Layout::Legacy => {
                let w = self.words;
                let h = w.div_ceil(2);
                let at = |k: usize| {
                    let m = first.wrapping_add(k as u64) as u32;
                    let j = if m < h { m } else { m.wrapping_sub(h) };
                    let c1 = if h.wrapping_add(j) < w { h.wrapping_add(j) } else { 0 };
                    (m < h, [W::splat(j), W::splat(c1)])
                };
                let ctr: [[W; 2]; K] = core::array::from_fn(|k| at(k).1);
                let out = threefry2x32_many(self.key, ctr);
                core::array::from_fn(|k| if at(k).0 { out[k][0] } else { out[k][1] })
            }
        }
    }

    /// Word `i` (`i < n`) of every lane: `b1 ^ b2` of threefry at counter `[i >> 32, i]`
    /// (partitionable), or word `i` of the legacy `n`-word draw (one hash either way).
    #[inline(always)]
    pub fn word(&self, i: u64) -> W {
        self.words::<1>(i)[0]
    }

    /// Words `j .. j + K` of rows `row0 + l` of a row-major draw with `stride` words per
    /// row, lane `l` reading its own row: word `k` of lane `l` is element
    /// `(row0 + l)·stride + j + k` of the lane's draw (one threefry hash each, interleaved).
    /// With one key in every lane this reads an array such as
    /// `jax.random.uniform(key, (S, n, d))` a row (simulation) per lane. Elements past
    /// the draw (`>= n`) give unspecified words, never a panic.
    ///
    /// Cost: under [`Layout::Partitionable`], while every element index fits in 32 bits
    /// (draws below `2^32` words), the counters are one vector add per word; otherwise,
    /// and under [`Layout::Legacy`], they are built lane by lane.
    #[inline(always)]
    pub fn words_strided<const K: usize>(&self, row0: u64, stride: u64, j: u64) -> [W; K] {
        let index = |k: usize, l: usize| {
            row0.wrapping_add(l as u64).wrapping_mul(stride).wrapping_add(j).wrapping_add(k as u64)
        };
        match self.layout {
            Layout::Partitionable => {
                let last = index(K.saturating_sub(1), W::LANES - 1);
                let ctr: [[W; 2]; K] = if last <= u64::from(u32::MAX) && index(0, 0) <= last {
                    // No lane's index leaves 32 bits: high word 0, low word row base + j + k.
                    let base = W::from_fn(|l| index(0, l) as u32);
                    core::array::from_fn(|k| [W::splat(0), base.wrapping_add(W::splat(k as u32))])
                } else {
                    core::array::from_fn(|k| {
                        [W::from_fn(|l| (index(k, l) >> 32) as u32), W::from_fn(|l| index(k, l) as u32)]
                    })
                };
                threefry2x32_many(self.key, ctr).map(|[b1, b2]| b1 ^ b2)
            }
            Layout::Legacy => {
                let w = self.words;
                let h = w.div_ceil(2);
                // Word m of the legacy draw: hash of the pair (j, c1), first or second half.
                let pair = |m: u32| {
                    let jm = if m < h { m } else { m.wrapping_sub(h) };
                    let c1 = if h.wrapping_add(jm) < w { h.wrapping_add(jm) } else { 0 };
                    (jm, c1)
                };
                let m = |k: usize, l: usize| index(k, l) as u32;
                let ctr: [[W; 2]; K] = core::array::from_fn(|k| {
                    [W::from_fn(|l| pair(m(k, l)).0), W::from_fn(|l| pair(m(k, l)).1)]
                });
                let out = threefry2x32_many(self.key, ctr);
                core::array::from_fn(|k| {
                    W::from_fn(|l| if m(k, l) < h { out[k][0].lane(l) } else { out[k][1].lane(l) })
                })
            }
        }
    }
}

/// Element `i` of `jax.random.uniform(k_l, shape)` (f32 in `[0, 1)`, 23 random bits) of
/// every lane.
#[inline(always)]
pub fn uniform_at<L: Real<Scalar = f32>>(lanes: &JaxLanes<L::Words>, i: u64) -> L {
    unit_uniform::<L>(lanes.word(i))
}

/// Elements `j .. j + K` of rows `row0 + l` of a row-major `jax.random.uniform(k_l, shape)`
/// with `stride` elements per row, lane `l` reading its own row ([`JaxLanes::words_strided`]
/// as f32 uniforms in `[0, 1)`): e.g. simulation `row0 + l` of
/// `jax.random.uniform(key, (S, n, d))` with one key in every lane.
#[inline(always)]
pub fn uniforms_strided<L: Real<Scalar = f32>, const K: usize>(
    lanes: &JaxLanes<L::Words>,
    row0: u64,
    stride: u64,
    j: u64,
) -> [L; K] {
    lanes.words_strided::<K>(row0, stride, j).map(unit_uniform::<L>)
}

/// `jax.random.uniform`'s f32 in `[0, 1)` from one random word per lane.
#[inline(always)]
fn unit_uniform<L: Real<Scalar = f32>>(w: L::Words) -> L {
    uniform_f32::<L>(L::bits_from_words(w), L::splat(0.0), L::splat(1.0))
}

/// The f32 normals of `jax.random.normal(k_l, shape)` of every lane, in flat order from
/// element `first`: the [`NormalSource`] of the f32 workloads' JAX mode.
///
/// `K` normals are computed at a time ([`JaxLanes::words`], hashes interleaved) and
/// handed out in order: `K = 4` on CPU vector lanes (the hash chains otherwise leave the
/// pipeline mostly idle), the default `K = 1` where registers are scarce (a GPU thread).
/// The sequence is the same for every `K`.
#[derive(Debug, Clone, Copy)]
pub struct JaxNormals<L: Real, const K: usize = 1> {
    lanes: JaxLanes<L::Words>,
    at: u64,
    buf: [L; K],
    used: usize,
}

impl<L: Real, const K: usize> JaxNormals<L, K> {
    /// The sequence of `lanes`' normals from element `first`.
    pub fn new(lanes: JaxLanes<L::Words>, first: u64) -> Self {
        let zero = L::splat(<L::Scalar as crate::lane::Precision>::from_f64(0.0));
        Self { lanes, at: first, buf: [zero; K], used: K }
    }
}

impl<L: Real<Scalar = f32>, const K: usize> NormalSource<L> for JaxNormals<L, K> {
    #[inline(always)]
    fn next(&mut self) -> L {
        if self.used == K {
            let w = self.lanes.words::<K>(self.at);
            self.buf = w.map(|w| normal_f32::<L>(L::bits_from_words(w)));
            self.at = self.at.wrapping_add(K as u64);
            self.used = 0;
        }
        let z = self.buf[self.used];
        self.used += 1;
        z
    }
}

/// The same f32 normals of `jax.random.normal(k_l, shape)`, each widened exactly to the
/// lane's precision: the [`NormalSource`] of W2's (f64) JAX mode. The f32 normal is
/// computed one lane at a time (there is no f32 lane type of the f64 lanes' width);
/// the threefry hashes stay vectorised.
#[derive(Debug, Clone, Copy)]
pub struct JaxNormalsWidened<L: Real> {
    lanes: JaxLanes<L::Words>,
    at: u64,
}

impl<L: Real> JaxNormalsWidened<L> {
    /// The sequence of `lanes`' normals from element `first`.
    pub fn new(lanes: JaxLanes<L::Words>, first: u64) -> Self {
        Self { lanes, at: first }
    }
}

impl<L: Real> NormalSource<L> for JaxNormalsWidened<L> {
    #[inline(always)]
    fn next(&mut self) -> L {
        let w = self.lanes.word(self.at);
        self.at += 1;
        L::from_fn(|l| {
            let z = normal_f32::<f32>(w.lane(l));
            <L::Scalar as crate::lane::Precision>::from_f64(f64::from(z))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{BitWidth, RandomBits, fill_normal_f32, fill_uniform_f32, key};
    use super::*;

    #[test]
    fn lanes_read_each_members_draw() {
        for layout in [Layout::Partitionable, Layout::Legacy] {
            let parent = key(42, false).unwrap();
            let (count, n) = (5u64, 11u64);
            for m in 0..count {
                let lanes = JaxLanes::<u32>::for_members(parent, layout, count, m, n).unwrap();
                let k = split_at(parent, layout, count, m).unwrap();
                let bits = RandomBits::new(k, layout, BitWidth::W32, n).unwrap();
                let mut z = [0f32; 11];
                fill_normal_f32::<f32>(k, layout, n, 0, &mut z).unwrap();
                let mut u = [0f32; 11];
                fill_uniform_f32::<f32>(k, layout, n, 0.0, 1.0, 0, &mut u).unwrap();
                let mut seq = JaxNormals::<f32>::new(lanes, 0);
                let mut seq4 = JaxNormals::<f32, 4>::new(lanes, 0);
                let w3 = lanes.words::<3>(0);
                let mut wide = JaxNormalsWidened::<f64>::new(
                    JaxLanes::for_members(parent, layout, count, m, n).unwrap(),
                    0,
                );
                for i in 0..n {
                    assert_eq!(u64::from(lanes.word(i)), bits.get(i));
                    assert_eq!(uniform_at::<f32>(&lanes, i).to_bits(), u[i as usize].to_bits());
                    assert_eq!(seq.next().to_bits(), z[i as usize].to_bits());
                    assert_eq!(seq4.next().to_bits(), z[i as usize].to_bits());
                    if i < 3 {
                        assert_eq!(w3[i as usize], lanes.word(i));
                    }
                    assert_eq!(wide.next(), f64::from(z[i as usize]));
                }
            }
        }
    }

    #[test]
    fn bad_sizes_are_typed_errors() {
        let parent = key(0, false).unwrap();
        assert!(JaxLanes::<u32>::for_members(parent, Layout::Partitionable, 0, 0, 1).is_err());
        assert!(JaxLanes::<u32>::for_members(parent, Layout::Partitionable, 3, 3, 1).is_err());
        assert!(JaxLanes::<u32>::for_members(parent, Layout::Legacy, 3, 0, u64::from(u32::MAX)).is_err());
        assert!(JaxLanes::<u32>::for_members(parent, Layout::Partitionable, 3, 0, u64::MAX).is_ok());
    }

    #[cfg(feature = "simd")]
    #[test]
    fn vector_lanes_are_the_members_and_padding_repeats_the_last() {
        for layout in [Layout::Partitionable, Layout::Legacy] {
            let parent = key(7, false).unwrap();
            let v = JaxLanes::<wide::u32x8>::for_members(parent, layout, 5, 1, 6).unwrap();
            for i in 0..6 {
                let w = v.word(i);
                for l in 0..8u64 {
                    let m = (1 + l).min(4);
                    let one = JaxLanes::<u32>::for_members(parent, layout, 5, m, 6).unwrap();
                    assert_eq!(w.lane(l as usize), one.word(i));
                }
            }
        }
    }

    #[cfg(feature = "simd")]
    #[test]
    fn strided_words_read_one_row_per_lane() {
        // One key in every lane; lane l reads row row0 + l of a (rows × stride) draw.
        let k = key(3, false).unwrap();
        for layout in [Layout::Partitionable, Layout::Legacy] {
            let n = 9 * 13;
            let v = JaxLanes::<wide::u32x8>::new(|_| k, layout, n).unwrap();
            let one = JaxLanes::<u32>::new(|_| k, layout, n).unwrap();
            for (row0, j) in [(0u64, 0u64), (1, 5), (1, 10)] {
                let w = v.words_strided::<3>(row0, 13, j);
                for (kk, wk) in w.iter().enumerate() {
                    for l in 0..8u64 {
                        let i = (row0 + l) * 13 + j + kk as u64;
                        if i < n {
                            assert_eq!(
                                wk.lane(l as usize),
                                one.word(i),
                                "{layout:?} row {} word {}",
                                row0 + l,
                                j
                            );
                        }
                    }
                }
            }
        }
        // Partitionable indices past 32 bits take the lane-by-lane counters.
        let v = JaxLanes::<wide::u32x8>::new(|_| k, Layout::Partitionable, 0).unwrap();
        let one = JaxLanes::<u32>::new(|_| k, Layout::Partitionable, 0).unwrap();
        let row0 = (1u64 << 32) / 7 - 3;
        let w = v.words_strided::<2>(row0, 7, 4);
        for (kk, wk) in w.iter().enumerate() {
            for l in 0..8u64 {
                assert_eq!(wk.lane(l as usize), one.word((row0 + l) * 7 + 4 + kk as u64));
            }
        }
    }
}
