//! JAX-compatible random streams: `jax.random`'s default generator (threefry2x32), bit
//! for bit, so a JAX user's keys, splits, bits, uniforms and normals can be reproduced on
//! every simlanes backend (spec: `../shared/JAX_STREAMS.md`, JAX/jaxlib 0.10.2).
//!
//! * [`threefry2x32()`] — the 20-round hash, over integer lanes.
//! * [`key()`], [`fold_in()`], [`split_at()`] / [`split_into()`] — key derivation.
//! * [`RandomBits`] — `jax.random.bits` for 8/16/32/64-bit widths under both
//!   `jax_threefry_partitionable` [`Layout`]s; [`convert`] turns bits into uniforms and
//!   normals, lane-generically.
//! * [`fill_uniform_f32`], [`fill_uniform_f64`], [`fill_normal_f32`] — whole or partial
//!   arrays, `L::LANES` elements per step.
//!
//! # Costs of the two layouts
//! * [`Layout::Partitionable`] (JAX ≥ 0.5 default): element `i` is one threefry of the
//!   counter `(i >> 32, i as u32)`: O(1) and independent of the array's shape, so fused
//!   (in-register) generation and any parallel split of the work give the same values.
//! * [`Layout::Legacy`] (`jax_threefry_partitionable=False`, older JAX): the array is the
//!   hash of `0..W` (`W` 32-bit words), which threefry pairs as counters `(j, h + j)` with
//!   `h = ⌈W/2⌉` and returns as `concat(y0, y1)`. Word `m` is therefore still O(1) — but
//!   only *given `W`*: every value depends on the total size of the draw (a
//!   `(S, n, d)` array and its first `S/2` rows share nothing), its two outputs land `h`
//!   words apart (one call serves elements `j` and `h + j`; computing one element alone
//!   wastes half a hash, so an element-wise fill costs twice the hashes of a pairwise one),
//!   and `W` must stay below `2^32 - 1` (beyond, JAX splits the key into blocks: not
//!   supported here, a typed error). A fused kernel can reproduce it only if it knows the
//!   whole shape and reads (or recomputes) the partner half.
//!
//! # What is bit-exact
//! Keys, `fold_in`, `split`, `bits` and `uniform` are integer work plus (for `minval`/
//! `maxval`) one fused multiply-add: exact on every CPU and GPU. `normal` follows XLA:CPU's
//! `erf_inv`/`log1p`/`log` step by step; it reproduces jaxlib 0.10.2 on x86 with FMA — a
//! different jaxlib or backend (GPU, TPU) may evaluate those functions differently.

pub mod convert;
pub mod lanes;
pub mod threefry2x32;

pub use lanes::{JaxLanes, JaxNormals, JaxNormalsWidened};
pub use threefry2x32::{threefry2x32, threefry2x32_many};

use crate::ParamError;
use crate::lane::{Real, UintLane};

/// A JAX PRNG key: `jax.random.key_data(key)`, two u32 words `[k0, k1]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Key(pub [u32; 2]);

/// The `jax_threefry_partitionable` setting that produced (or should produce) the numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Layout {
    /// `jax_threefry_partitionable=True`, the default since JAX 0.5: element `i` of any
    /// draw is the hash of the counter `i`.
    #[default]
    Partitionable,
    /// `jax_threefry_partitionable=False`, what older JAX produced: a draw of `W` words is
    /// the hash of `0..W` as one array.
    Legacy,
}

/// Width of the integers `jax.random.bits` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BitWidth {
    /// `uint8`.
    W8,
    /// `uint16`.
    W16,
    /// `uint32`.
    W32,
    /// `uint64` (needs `jax_enable_x64` in JAX).
    W64,
}

impl BitWidth {
    /// Bits per element.
    pub const fn bits(self) -> u32 {
        match self {
            Self::W8 => 8,
            Self::W16 => 16,
            Self::W32 => 32,
            Self::W64 => 64,
        }
    }
}

#[inline(always)]
fn hash(key: Key, c0: u32, c1: u32) -> [u32; 2] {
    threefry2x32::<u32>(key.0, [c0, c1])
}

/// `jax.random.key(seed)` / `PRNGKey(seed)` for the default implementation.
///
/// `seed` is a Python int; JAX converts it to int64 first. With `x64 = false` (JAX's
/// default) the value wraps to int32 and the key is `[0, seed mod 2^32]`; with
/// `jax_enable_x64` it is `[hi32, lo32]` of the int64. (A nonzero `jax_random_seed_offset`
/// is added to the seed by JAX first: add it yourself.)
///
/// # Errors
/// [`ParamError::IntOutOfRange`] (name `"seed"`) for seeds outside int64, where JAX raises
/// `OverflowError`.
pub fn key(seed: i128, x64: bool) -> Result<Key, ParamError> {
    let s = i64::try_from(seed).map_err(|_| ParamError::IntOutOfRange {
        name: "seed",
        value: seed,
        min: i64::MIN.into(),
        max: i64::MAX.into(),
    })?;
    let u = s as u64;
    Ok(if x64 { Key([(u >> 32) as u32, u as u32]) } else { Key([0, u as u32]) })
}

/// `jax.random.fold_in(key, data)`: `threefry(key, (0, data))`; the same under both layouts.
///
/// # Errors
/// [`ParamError::IntOutOfRange`] (name `"data"`) unless `data < 2^32` (JAX raises
/// `OverflowError`; negative Python ints cannot be passed as `u64` at all).
pub fn fold_in(key: Key, data: u64) -> Result<Key, ParamError> {
    let d = u32::try_from(data).map_err(|_| ParamError::IntOutOfRange {
        name: "data",
        value: data.into(),
        min: 0,
        max: u32::MAX.into(),
    })?;
    Ok(Key(hash(key, 0, d)))
}

fn legacy_words_check(words: u128) -> Result<u32, ParamError> {
    // JAX hashes one iota while the word count is below 2^32 - 1; beyond, it splits the key.
    match u32::try_from(words) {
        Ok(w) if w < u32::MAX => Ok(w),
        _ => {
            Err(ParamError::TooLarge { name: "words of a legacy-layout draw", max: u64::from(u32::MAX) - 1 })
        }
    }
}

/// Word `m` of the legacy hash of `0..w` (`h = ⌈w/2⌉`, the odd count padded with a 0).
#[inline(always)]
fn legacy_word(key: Key, w: u32, m: u32) -> u32 {
    let h = w.div_ceil(2);
    let j = if m < h { m } else { m - h };
    let c1 = if h + j < w { h + j } else { 0 };
    let y = hash(key, j, c1);
    if m < h { y[0] } else { y[1] }
}

/// Key `i` of `jax.random.split(key, num)`, O(1) under both layouts.
///
/// Partitionable: `threefry(key, (i >> 32, i))` (so `split(k, n)[i] == fold_in(k, i)` for
/// `i < 2^32`). Legacy: words `2i`, `2i + 1` of the hash of `0..2·num`.
///
/// # Errors
/// [`ParamError::TooLarge`] if `i >= num`, or under the legacy layout when `2·num`
/// reaches `2^32 - 1`.
pub fn split_at(key: Key, layout: Layout, num: u64, i: u64) -> Result<Key, ParamError> {
    if i >= num {
        return Err(ParamError::TooLarge { name: "split index", max: num.saturating_sub(1) });
    }
    Ok(match layout {
        Layout::Partitionable => Key(hash(key, (i >> 32) as u32, i as u32)),
        Layout::Legacy => {
            let w = legacy_words_check(2 * u128::from(num))?;
            let i = i as u32;
            Key([legacy_word(key, w, 2 * i), legacy_word(key, w, 2 * i + 1)])
        }
    })
}

/// `jax.random.split(key, out.len())` into `out`. Legacy: one threefry per two words
/// (`2·num` words need `num` hashes), the same count as the partitionable layout.
///
/// # Errors
/// As [`split_at`].
pub fn split_into(key: Key, layout: Layout, out: &mut [Key]) -> Result<(), ParamError> {
    let num = out.len() as u64;
    match layout {
        Layout::Partitionable => {
            for (i, k) in out.iter_mut().enumerate() {
                *k = Key(hash(key, ((i as u64) >> 32) as u32, i as u32));
            }
        }
        Layout::Legacy => {
            legacy_words_check(2 * u128::from(num))?;
            // 2·num words, h = num: hash j gives words j and num + j; word m is
            // component m % 2 of key m / 2.
            let n = out.len();
            for j in 0..n {
                let [y0, y1] = hash(key, j as u32, (n + j) as u32);
                out[j / 2].0[j % 2] = y0;
                out[(n + j) / 2].0[(n + j) % 2] = y1;
            }
        }
    }
    Ok(())
}

/// A validated `jax.random.bits(key, shape, dtype)` draw of `n` elements: any element
/// on demand ([`RandomBits::get`], [`RandomBits::lanes32`]) and slice fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RandomBits {
    key: Key,
    layout: Layout,
    width: BitWidth,
    n: u64,
    /// Legacy layout: 32-bit words hashed, `⌈width·n/32⌉`.
    words: u32,
}

impl RandomBits {
    /// The draw of `n` elements (the product of the shape; 1 for shape `()`).
    ///
    /// # Errors
    /// [`ParamError::TooLarge`] under the legacy layout when the draw needs `2^32 - 1` or
    /// more words (JAX then splits the key into blocks; not supported).
    pub fn new(key: Key, layout: Layout, width: BitWidth, n: u64) -> Result<Self, ParamError> {
        let words = match layout {
            Layout::Partitionable => 0,
            Layout::Legacy => legacy_words_check((u128::from(width.bits()) * u128::from(n)).div_ceil(32))?,
        };
        Ok(Self { key, layout, width, n, words })
    }

    /// Number of elements.
    pub fn len(&self) -> u64 {
        self.n
    }

    /// True for an empty draw.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Element `i` (`i < len()`; beyond, the value is unspecified but no panic), zero-extended.
    /// O(1): one threefry (legacy 8/16-bit: one threefry for the word holding it).
    #[inline]
    pub fn get(&self, i: u64) -> u64 {
        match self.layout {
            Layout::Partitionable => {
                let [b1, b2] = hash(self.key, (i >> 32) as u32, i as u32);
                match self.width {
                    BitWidth::W8 => u64::from((b1 ^ b2) & 0xff),
                    BitWidth::W16 => u64::from((b1 ^ b2) & 0xffff),
                    BitWidth::W32 => u64::from(b1 ^ b2),
                    BitWidth::W64 => (u64::from(b1) << 32) | u64::from(b2),
                }
            }
            Layout::Legacy => match self.width {
                BitWidth::W64 => {
                    // W = 2n words, h = n: hi = word i, lo = word n + i, one hash.
                    let [hi, lo] = hash(self.key, i as u32, (self.n + i) as u32);
                    (u64::from(hi) << 32) | u64::from(lo)
                }
                BitWidth::W32 => u64::from(legacy_word(self.key, self.words, i as u32)),
                w => {
                    let per = u64::from(32 / w.bits());
                    let word = legacy_word(self.key, self.words, (i / per) as u32);
                    let shift = (i % per) as u32 * w.bits();
                    u64::from(word >> shift) & ((1u64 << w.bits()) - 1)
                }
            },
        }
    }

    /// Elements `first .. first + W::LANES` of a 32-bit draw, one per lane. The
    /// partitionable layout hashes all lanes in one lane-wide threefry (8 on `u32x8`).
    /// For other widths the lanes hold the low 32 bits of [`RandomBits::get`].
    #[inline(always)]
    pub fn lanes32<W: UintLane<Scalar = u32>>(&self, first: u64) -> W {
        match (self.layout, self.width) {
            (Layout::Partitionable, BitWidth::W32) => {
                let (hi, lo) = if (first as u32).checked_add(W::LANES as u32 - 1).is_some() {
                    // No carry into the high word inside this vector: splat + iota.
                    let iota = W::from_fn(|l| l as u32);
                    (W::splat((first >> 32) as u32), W::splat(first as u32).wrapping_add(iota))
                } else {
                    (
                        W::from_fn(|l| (first.wrapping_add(l as u64) >> 32) as u32),
                        W::from_fn(|l| first.wrapping_add(l as u64) as u32),
                    )
                };
                let [b1, b2] = threefry2x32(self.key.0.map(W::splat), [hi, lo]);
                b1 ^ b2
            }
            (Layout::Legacy, BitWidth::W32) => {
                let (w, h) = (self.words, self.words.div_ceil(2));
                let m = |l: usize| first.wrapping_add(l as u64) as u32;
                let j = |l: usize| if m(l) < h { m(l) } else { m(l).wrapping_sub(h) };
                let c0 = W::from_fn(j);
                let c1 = W::from_fn(|l| if h + j(l) < w { h + j(l) } else { 0 });
                let [y0, y1] = threefry2x32(self.key.0.map(W::splat), [c0, c1]);
                let first_half = W::from_fn(|l| if m(l) < h { u32::MAX } else { 0 });
                (y0 & first_half) | (y1 & (first_half ^ W::splat(u32::MAX)))
            }
            _ => W::from_fn(|l| self.get(first.wrapping_add(l as u64)) as u32),
        }
    }

    /// Fills `out` with elements `first .. first + out.len()`, zero-extended to u64
    /// (any width; see [`RandomBits::fill_u32`] for the fast 32-bit path).
    pub fn fill_u64(&self, first: u64, out: &mut [u64]) {
        for (i, o) in out.iter_mut().enumerate() {
            *o = self.get(first + i as u64);
        }
    }

    /// Fills `out` with elements `first .. first + out.len()` truncated to 32 bits,
    /// `W::LANES` at a time (use `u32x8` for speed; `u32` gives the same values).
    pub fn fill_u32<W: UintLane<Scalar = u32>>(&self, first: u64, out: &mut [u32]) {
        let mut chunks = out.chunks_exact_mut(W::LANES);
        let mut at = first;
        for c in &mut chunks {
            let v = self.lanes32::<W>(at);
            for (l, o) in c.iter_mut().enumerate() {
                *o = v.lane(l);
            }
            at += W::LANES as u64;
        }
        for (i, o) in chunks.into_remainder().iter_mut().enumerate() {
            *o = self.get(at + i as u64) as u32;
        }
    }

    /// Fills `out` with elements `first ..` of a 16-bit (or narrower) draw, truncated.
    pub fn fill_u16(&self, first: u64, out: &mut [u16]) {
        for (i, o) in out.iter_mut().enumerate() {
            *o = self.get(first + i as u64) as u16;
        }
    }

    /// Fills `out` with elements `first ..` of an 8-bit draw, truncated.
    pub fn fill_u8(&self, first: u64, out: &mut [u8]) {
        for (i, o) in out.iter_mut().enumerate() {
            *o = self.get(first + i as u64) as u8;
        }
    }
}

/// Elements `first .. first + out.len()` of `jax.random.uniform(key, shape, float32,
/// minval, maxval)` with `n` = the shape's element count, `L::LANES` at a time.
/// `minval`/`maxval` are the f32-rounded bounds (JAX rounds Python floats to f32 first).
///
/// # Errors
/// As [`RandomBits::new`] (legacy draws of `2^32 - 1` words or more).
pub fn fill_uniform_f32<L: Real<Scalar = f32>>(
    key: Key,
    layout: Layout,
    n: u64,
    minval: f32,
    maxval: f32,
    first: u64,
    out: &mut [f32],
) -> Result<(), ParamError> {
    let bits = RandomBits::new(key, layout, BitWidth::W32, n)?;
    let (lo, hi) = (L::splat(minval), L::splat(maxval));
    fill_lanes::<L>(out, first, |at| convert::uniform_f32(bits.lanes32::<L::Bits>(at), lo, hi));
    Ok(())
}

/// As [`fill_uniform_f32`] for `jax.random.normal(key, shape, float32)`.
///
/// # Errors
/// As [`RandomBits::new`].
pub fn fill_normal_f32<L: Real<Scalar = f32>>(
    key: Key,
    layout: Layout,
    n: u64,
    first: u64,
    out: &mut [f32],
) -> Result<(), ParamError> {
    let bits = RandomBits::new(key, layout, BitWidth::W32, n)?;
    fill_lanes::<L>(out, first, |at| convert::normal_f32(bits.lanes32::<L::Bits>(at)));
    Ok(())
}

/// Elements `first ..` of `jax.random.uniform(key, shape, float64, minval, maxval)` under
/// `jax_enable_x64` (64-bit draws), `L::LANES` at a time.
///
/// # Errors
/// As [`RandomBits::new`].
pub fn fill_uniform_f64<L: Real<Scalar = f64>>(
    key: Key,
    layout: Layout,
    n: u64,
    minval: f64,
    maxval: f64,
    first: u64,
    out: &mut [f64],
) -> Result<(), ParamError> {
    let bits = RandomBits::new(key, layout, BitWidth::W64, n)?;
    let (lo, hi) = (L::splat(minval), L::splat(maxval));
    let mut at = first;
    let mut chunks = out.chunks_exact_mut(L::LANES);
    for c in &mut chunks {
        let b = L::Bits::from_fn(|l| bits.get(at + l as u64));
        let v = convert::uniform_f64(b, lo, hi);
        for (l, o) in c.iter_mut().enumerate() {
            *o = v.lane(l);
        }
        at += L::LANES as u64;
    }
    for (i, o) in chunks.into_remainder().iter_mut().enumerate() {
        *o = convert::uniform_f64::<f64>(bits.get(at + i as u64), minval, maxval);
    }
    Ok(())
}

/// Runs `f(at)` for each full chunk of `L::LANES` outputs starting at flat index `at`;
/// the tail is done with the same `f` on a full lane vector, keeping the first lanes.
#[inline(always)]
fn fill_lanes<L: Real>(out: &mut [L::Scalar], first: u64, f: impl Fn(u64) -> L) {
    let mut at = first;
    let mut chunks = out.chunks_exact_mut(L::LANES);
    for c in &mut chunks {
        let v = f(at);
        for (l, o) in c.iter_mut().enumerate() {
            *o = v.lane(l);
        }
        at += L::LANES as u64;
    }
    let tail = chunks.into_remainder();
    if !tail.is_empty() {
        let v = f(at);
        for (l, o) in tail.iter_mut().enumerate() {
            *o = v.lane(l);
        }
    }
}

/// The number of elements of a shape (`1` for `()`).
///
/// # Errors
/// [`ParamError::TooLarge`] (name `"shape"`) when the product overflows u64 (JAX refuses
/// draws above 2^64 elements too).
pub fn shape_size(shape: &[u64]) -> Result<u64, ParamError> {
    shape
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .ok_or(ParamError::TooLarge { name: "shape", max: u64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(seed: i128) -> Key {
        key(seed, false).unwrap()
    }

    #[test]
    fn seeds_as_jax() {
        assert_eq!(k(4294967301), Key([0, 5]));
        assert_eq!(k(-1), Key([0, u32::MAX]));
        assert_eq!(key(-1, true), Ok(Key([u32::MAX, u32::MAX])));
        assert_eq!(key(4294967301, true), Ok(Key([1, 5])));
        assert!(matches!(key(1 << 63, false), Err(ParamError::IntOutOfRange { name: "seed", .. })));
        assert!(matches!(key(-(1 << 63) - 1, true), Err(ParamError::IntOutOfRange { .. })));
        assert!(key(-(1 << 63), true).is_ok());
    }

    #[test]
    fn fold_in_and_split_as_jax() {
        // jax_vectors.json
        assert_eq!(fold_in(k(0), 7), Ok(Key([2716826189, 292468403])));
        assert!(matches!(fold_in(k(0), 1 << 32), Err(ParamError::IntOutOfRange { name: "data", .. })));
        assert_eq!(split_at(k(0), Layout::Partitionable, 2, 1), Ok(Key([928981903, 3453687069])));
        let mut out = [Key::default(); 2];
        split_into(k(0), Layout::Legacy, &mut out).unwrap();
        assert_eq!(out, [Key([4146024105, 967050713]), Key([2718843009, 1272950319])]);
        assert_eq!(split_at(k(0), Layout::Legacy, 2, 1), Ok(out[1]));
        assert!(split_at(k(0), Layout::Legacy, 2, 2).is_err());
        assert!(split_at(k(0), Layout::Legacy, 1 << 31, 0).is_err());
    }

    #[test]
    fn bits_as_jax() {
        let p = RandomBits::new(k(0), Layout::Partitionable, BitWidth::W32, 7).unwrap();
        assert_eq!(p.get(0), 0xf29a4fa7);
        let l = RandomBits::new(k(0), Layout::Legacy, BitWidth::W32, 7).unwrap();
        let mut out = [0u32; 7];
        l.fill_u32::<u32>(0, &mut out);
        assert_eq!(out[0], 0x883ffec1);
        assert_eq!(out[6], 0x3204ed2f);
        assert!(RandomBits::new(k(0), Layout::Legacy, BitWidth::W64, 1 << 31).is_err());
        assert!(RandomBits::new(k(0), Layout::Partitionable, BitWidth::W64, u64::MAX).is_ok());
    }

    #[test]
    fn narrow_and_wide_bits_follow_the_words() {
        for layout in [Layout::Partitionable, Layout::Legacy] {
            let n = 9u64;
            let w32 = RandomBits::new(k(3), layout, BitWidth::W32, n).unwrap();
            let w8 = RandomBits::new(k(3), layout, BitWidth::W8, n).unwrap();
            let w16 = RandomBits::new(k(3), layout, BitWidth::W16, n).unwrap();
            let w64 = RandomBits::new(k(3), layout, BitWidth::W64, n).unwrap();
            for i in 0..n {
                match layout {
                    Layout::Partitionable => {
                        assert_eq!(w8.get(i), w32.get(i) & 0xff);
                        assert_eq!(w16.get(i), w32.get(i) & 0xffff);
                        let [a, b] = hash(k(3), 0, i as u32);
                        assert_eq!(w64.get(i), (u64::from(a) << 32) | u64::from(b));
                    }
                    Layout::Legacy => {
                        // 8-bit: 9 elements from 3 words (hash of 0..3), low byte first.
                        let word = legacy_word(k(3), 3, (i / 4) as u32);
                        assert_eq!(w8.get(i), u64::from((word >> (8 * (i % 4))) & 0xff));
                        let word = legacy_word(k(3), 5, (i / 2) as u32);
                        assert_eq!(w16.get(i), u64::from((word >> (16 * (i % 2))) & 0xffff));
                        let (hi, lo) = (legacy_word(k(3), 18, i as u32), legacy_word(k(3), 18, 9 + i as u32));
                        assert_eq!(w64.get(i), (u64::from(hi) << 32) | u64::from(lo));
                    }
                }
            }
        }
    }

    #[test]
    fn shape_size_overflows_typed() {
        assert_eq!(shape_size(&[]), Ok(1));
        assert_eq!(shape_size(&[3, 0, 5]), Ok(0));
        assert!(matches!(shape_size(&[1 << 32, 1 << 32]), Err(ParamError::TooLarge { name: "shape", .. })));
    }
}
