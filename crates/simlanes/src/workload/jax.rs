//! JAX-compatible random numbers: take a JAX key instead of a seed and draw exactly what
//! `jax.random` (JAX/jaxlib 0.10.2, default threefry2x32 generator) would, so a port from
//! JAX can be proven exact — same key, same uniforms, same rejection counts. The
//! arithmetic lives in [`simcore::rng::jax`]; this module owns the arrays, the shapes and
//! the threads.
//!
//! | JAX | simlanes | bit-exact? |
//! |---|---|---|
//! | `jax.random.key(seed)` / `PRNGKey(seed)` | [`JaxKey::new`] ([`JaxKey::new_x64`] under `jax_enable_x64`) | yes (integer) |
//! | `jax.random.fold_in(key, d)` | [`JaxKey::fold_in`] | yes (integer) |
//! | `jax.random.split(key, num)` | [`JaxKey::split`] | yes (integer) |
//! | `jax.random.bits(key, shape, uint8/16/32/64)` | [`jax_bits`] | yes (integer) |
//! | `jax.random.uniform(key, shape)` (+ `minval`, `maxval`) | [`jax_uniform`], [`jax_uniform_range`] | yes: mantissa trick + one fused multiply-add |
//! | `jax.random.uniform(..., dtype=float64)` (x64) | [`jax_uniform_f64`] | yes by construction (same integer path; no real-JAX vector checked) |
//! | `jax.random.normal(key, shape)` (f32) | [`jax_normal`] | yes against jaxlib 0.10.2 on x86 CPU with FMA; it follows XLA:CPU's `erf_inv`/`log1p`/`log`, which another jaxlib version or backend (GPU/TPU) may evaluate differently |
//!
//! Everything else in `jax.random` (other distributions, `permutation`, `choice`, …) is not
//! offered. Inside a larger `jit`, XLA may rewrite arithmetic done *on* the samples (e.g.
//! `normal * 1.5`); only the raw samples are guaranteed to match.
//!
//! **Layouts.** Each [`JaxKey`] carries the [`Layout`] of the JAX configuration it mimics:
//! [`Layout::Partitionable`] (`jax_threefry_partitionable=True`, the default since JAX
//! 0.5) unless [`JaxKey::with_layout`] says [`Layout::Legacy`] (older code). Under
//! `Partitionable` element `i` of any draw is a function of `i` alone: arrays are filled
//! in parallel (rayon) and fused generation is possible. Under `Legacy` every value also
//! depends on the size of the whole draw (see [`simcore::rng::jax`]). Either way, results
//! do not depend on the thread count.
//!
//! # W3: JAX's binomial validation, ported
//! The JAX code draws `u = jax.random.uniform(key, (S, n, d))` — layout `[s][k][a]`, the
//! same as simlanes' pregenerated W3 uniforms — and counts `u < p`. Feed that very array
//! to [`Simulator::binomial_validate`] with [`Uniforms::Pregenerated`] and the rejection
//! counts equal the JAX code's:
//!
//! ```python
//! key = jax.random.key(0)
//! u = jax.random.uniform(key, (S, n, d))                   # (S, n, d) float32
//! p = jax.nn.sigmoid(theta).astype(jnp.float32)            # (G, d); simlanes: f64 expit -> f32
//! T = (u[None] < p[:, None, None, :]).sum(axis=(2, 3)) / (n * d)
//! rej = (T < lam).sum(axis=1)                              # (G,)
//! ```
//! ```
//! use simlanes::simcore::models::binomial::expit_f32; // f32(expit(θ)), θ in f64
//! use simlanes::workload::binomial::{BinomialSpec, Uniforms};
//! use simlanes::workload::jax::{JaxKey, binomial_uniforms_from_jax_key};
//! use simlanes::{Backend, Simulator};
//!
//! # fn main() -> Result<(), simlanes::SimError> {
//! let (sims, n, d) = (4096, 5, 4);
//! let key = JaxKey::new(0)?; // jax.random.key(0); .with_layout(Layout::Legacy) for old JAX
//! let u = binomial_uniforms_from_jax_key(key, sims, n, d)?; // == jax.random.uniform(key, (S, n, d))
//! assert_eq!(u[0].to_bits(), 0x3f729a4e); // the first value JAX prints: 0.947667
//!
//! let theta = vec![0.0, 0.1, -0.2, 0.3, -1.0, -1.0, -1.0, -1.0]; // G = 2 points of d = 4 arms
//! let spec = BinomialSpec { seed: 0, theta: theta.clone(), d, n, sims, null_truth: None };
//! let rej = Simulator::new(Backend::Simd)?.binomial_validate(&spec, 0.5, Uniforms::Pregenerated(&u))?;
//!
//! // The JAX computation above, written out: the same counts.
//! for (g, &r) in rej.iter().enumerate() {
//!     let p: Vec<f32> = theta[g * d..(g + 1) * d].iter().map(|&t| expit_f32(t)).collect();
//!     let jax_rej = u
//!         .chunks(n * d)
//!         .filter(|sim| {
//!             let count = sim.iter().enumerate().filter(|&(j, &x)| x < p[j % d]).count();
//!             (count as f32 / (n * d) as f32) < 0.5
//!         })
//!         .count();
//!     assert_eq!(r, jax_rej as u64);
//! }
//! # Ok(())
//! # }
//! ```
//! (`expit` in f64 rounded to f32 matches `jax.nn.sigmoid` on f32 inputs only up to an ulp
//! of `p`; for exact equality pass the same f32 `p`, i.e. the same `θ`-to-`p` rule, on both
//! sides.)
//!
//! Or give the key itself, `Uniforms::Jax { key, sims: S }`: the same uniforms generated
//! in registers element by element (one threefry hash each), never stored — the same
//! counts without the `4·S·n·d` bytes, on every CPU backend and in the calibration engine
//! (`BinomialModel::with_uniforms`); the GPU backend draws the array on the host and
//! uploads it. `Uniforms::Fused` draws Philox streams, not JAX's.
//!
//! # W1, W2, W4/W4d, W5: the JAX stream mode (`jax_key`)
//! [`PiSpec`], [`OuSpec`], [`JansenRitSpec`] and [`MprSpec`] have a field
//! `jax_key: Option<JaxKey>`. When it is `Some(key)`, the uniforms/normals come from the
//! key instead of the Philox streams of `seed`, generated in registers (fused: no array is
//! stored) on every backend — scalar, SIMD, threaded and GPU — with the same bits. The
//! mapping, for a batch of `count` members (estimates, simulations):
//!
//! * member `i` gets key `k_i = jax.random.split(key, count)[i]` (under
//!   [`Layout::Partitionable`] this is `fold_in(key, i)` and does not depend on `count`;
//!   under [`Layout::Legacy`] it does);
//! * within a member, JAX's own draw of the member's whole array, flat row-major index =
//!   the same word order as the Philox contract of WORKLOADS.md:
//!   * **W1**: `xy = jax.random.uniform(k_i, (N, 2))`; pair `j` is `x = xy[j, 0]`,
//!     `y = xy[j, 1]` (JAX's 23-bit f32 uniforms instead of `(w >> 8)·2^-24`); the same
//!     exact hit test `x² + y² < 1`;
//!   * **W2** (modes a and b): `z = jax.random.normal(k_i, (num_steps,))` (f32), widened
//!     exactly to f64; the f64 OU recursion is unchanged, so this equals mode (c) fed those
//!     normals. The parallel-in-time variants run the sequential mode with a key;
//!   * **W4, W4d, W5**: `z = jax.random.normal(k_b, (nt, nn, nv))` (f32, `nv` = 6 or 2);
//!     the noise of variable `v` of node `i` at step `t` is `z[t, i, v]`, flat index
//!     `(t·nn + i)·nv + v`. The default connectivity (weights, lags) still comes from the
//!     Philox stream of `seed`: it is a fixed network, not noise.
//!
//! The equivalent JAX, e.g. for W4:
//! ```python
//! keys = jax.random.split(key, B)
//! z = jax.vmap(lambda k: jax.random.normal(k, (nt, nn, 6)))(keys)   # (B, nt, nn, 6)
//! # ... your Heun loop, step t reading z[:, t] ...
//! ```
//! and the simlanes call:
//! ```
//! use simlanes::workload::jansen_rit::JansenRitSpec;
//! use simlanes::workload::jax::JaxKey;
//! use simlanes::workload::pi::PiSpec;
//! use simlanes::{Backend, Simulator};
//!
//! # fn main() -> Result<(), simlanes::SimError> {
//! let key = JaxKey::new(0)?; // jax.random.key(0)
//! let sim = Simulator::new(Backend::Simd)?;
//! let spec = JansenRitSpec { jax_key: Some(key), ..JansenRitSpec::with_size(0, 4, 16, 3)? };
//! let x = sim.jansen_rit(&spec)?; // final states [6][nn][B], noise of split(key, 3)[b]
//! assert_eq!(x.len(), 6 * 4 * 3);
//!
//! // W1: xy = jax.random.uniform(split(key, I)[i], (N, 2)); hits = (x*x + y*y < 1).sum()
//! let pi = sim.pi(&PiSpec { seed: 0, pairs_per_estimate: 1000, estimates: 8, jax_key: Some(key) })?;
//! assert!((pi.mean - std::f64::consts::PI).abs() < 0.2);
//! # Ok(())
//! # }
//! ```
//! (For W4/W5 the samples are bit-exact; the model arithmetic around them is simlanes'
//! own fixed-rounding integrator, so results equal a JAX port of the same integrator only
//! where that port performs the same f32 operations in the same order.)
//!
//! **Cost of the legacy layout.** Under [`Layout::Partitionable`] element `j` of member
//! `i` is one threefry hash of `(k_i, j)`. Under [`Layout::Legacy`] it is still one hash
//! per element here (the fused kernels compute the legacy counter pair of word `j`
//! directly), but: (1) every value depends on the member's total draw size `n` (2N, num_steps,
//! nt·nn·nv), so a run cannot be extended or cut without changing all its numbers, and
//! `n` must stay below `2^32 - 1` words per member; (2) the member keys of
//! `split(key, count)` depend on `count` (below `2^31`), so a prefix of a batch is not the
//! smaller batch; (3) computing `k_i` costs two hashes instead of one. Under both layouts
//! the fused mode costs a threefry2x32 (20 rounds) per word instead of a quarter of a
//! Philox4x32-10 block, and for normals XLA's `erf_inv` instead of Box–Muller.
//!
//! [`Simulator::binomial_validate`]: crate::Simulator::binomial_validate
//! [`Uniforms::Pregenerated`]: crate::workload::binomial::Uniforms::Pregenerated
//! [`PiSpec`]: crate::workload::pi::PiSpec
//! [`OuSpec`]: crate::workload::ou::OuSpec
//! [`JansenRitSpec`]: crate::workload::jansen_rit::JansenRitSpec
//! [`MprSpec`]: crate::workload::mpr::MprSpec

use crate::error::SimError;
use rayon::prelude::*;
use simcore::ParamError;
use simcore::error::nonzero;
use simcore::lane::UintLane;
use simcore::models::binomial::validate_shape;
use simcore::rng::jax::{self as core_jax, JaxLanes, Key, RandomBits};
pub use simcore::rng::jax::{BitWidth, Layout};
use wide::{f32x8, u32x8};

/// Below this many elements a draw is filled on the calling thread.
const PARALLEL_MIN: usize = 1 << 16;
/// Elements per rayon task (a multiple of 8 lanes).
const CHUNK: usize = 1 << 14;

/// A JAX PRNG key (`jax.random.key_data(key)`, two u32 words) and the
/// `jax_threefry_partitionable` [`Layout`] its draws follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct JaxKey {
    key: Key,
    layout: Layout,
}

impl JaxKey {
    /// `jax.random.key(seed)` with JAX's defaults (x64 off: `[0, seed mod 2^32]`;
    /// partitionable layout).
    ///
    /// # Errors
    /// [`SimError::Param`] (`IntOutOfRange`, name `"seed"`) for seeds outside int64, where
    /// JAX raises `OverflowError`.
    pub fn new(seed: i128) -> Result<Self, SimError> {
        Ok(Self { key: core_jax::key(seed, false)?, layout: Layout::default() })
    }

    /// `jax.random.key(seed)` under `jax_enable_x64` (`[hi32, lo32]` of the int64).
    ///
    /// # Errors
    /// As [`JaxKey::new`].
    pub fn new_x64(seed: i128) -> Result<Self, SimError> {
        Ok(Self { key: core_jax::key(seed, true)?, layout: Layout::default() })
    }

    /// The key with these words (`jax.random.wrap_key_data(jnp.array(data, uint32))`).
    pub fn from_data(data: [u32; 2]) -> Self {
        Self { key: Key(data), layout: Layout::default() }
    }

    /// The same key, drawing under `layout`.
    pub fn with_layout(self, layout: Layout) -> Self {
        Self { layout, ..self }
    }

    /// The key's words, as `jax.random.key_data`.
    pub fn data(&self) -> [u32; 2] {
        self.key.0
    }

    /// The layout draws follow.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The core key.
    pub fn core(&self) -> Key {
        self.key
    }

    /// `jax.random.fold_in(key, data)` (the same under both layouts; the layout is kept).
    ///
    /// # Errors
    /// [`SimError::Param`] (`IntOutOfRange`, name `"data"`) unless `data < 2^32`.
    pub fn fold_in(self, data: u64) -> Result<Self, SimError> {
        Ok(Self { key: core_jax::fold_in(self.key, data)?, ..self })
    }

    /// `jax.random.split(key, num)`; each new key keeps this key's layout.
    ///
    /// # Errors
    /// [`SimError::Param`] (`TooLarge`) under the legacy layout for `num >= 2^31`.
    pub fn split(self, num: usize) -> Result<Vec<Self>, SimError> {
        crate::memory::ensure_allocatable::<Self>("keys", num)?;
        let mut keys = vec![Key::default(); num];
        core_jax::split_into(self.key, self.layout, &mut keys)?;
        Ok(keys.into_iter().map(|key| Self { key, ..self }).collect())
    }
}

/// The number of elements of `shape` (1 for `[]`).
///
/// # Errors
/// [`SimError::Param`] (`TooLarge`, name `"shape"`) when the product overflows `usize`.
pub fn element_count(shape: &[usize]) -> Result<usize, SimError> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or(SimError::Param(ParamError::TooLarge { name: "shape", max: usize::MAX as u64 }))
}

/// Fills `out` with `fill(first, chunk)`, in parallel chunks for large arrays. Every
/// element depends only on its flat index (and the draw's size), so the result is the
/// same for any thread count.
fn fill_par<T: Send>(out: &mut [T], fill: impl Fn(u64, &mut [T]) + Sync) {
    if out.len() < PARALLEL_MIN {
        fill(0, out);
    } else {
        out.par_chunks_mut(CHUNK).enumerate().for_each(|(c, chunk)| fill((c * CHUNK) as u64, chunk));
    }
}

/// `jax.random.bits(key, shape, dtype)` for `dtype` of `width` bits, zero-extended to u64,
/// flattened row-major.
///
/// # Errors
/// [`SimError::Param`]: the shape's element count overflows (`TooLarge`, `"shape"`), or a
/// legacy-layout draw needs `2^32 - 1` words or more (`TooLarge`).
pub fn jax_bits(key: JaxKey, width: BitWidth, shape: &[usize]) -> Result<Vec<u64>, SimError> {
    let n = element_count(shape)?;
    let bits = RandomBits::new(key.key, key.layout, width, n as u64)?;
    crate::memory::ensure_allocatable::<u64>("jax array", n)?;
    let mut out = vec![0u64; n];
    fill_par(&mut out, |first, chunk| bits.fill_u64(first, chunk));
    Ok(out)
}

/// `jax.random.bits(key, shape, jnp.uint32)`, flattened row-major (8 hashes at a time).
///
/// # Errors
/// As [`jax_bits`].
pub fn jax_bits32(key: JaxKey, shape: &[usize]) -> Result<Vec<u32>, SimError> {
    let n = element_count(shape)?;
    let bits = RandomBits::new(key.key, key.layout, BitWidth::W32, n as u64)?;
    crate::memory::ensure_allocatable::<u32>("jax array", n)?;
    let mut out = vec![0u32; n];
    fill_par(&mut out, |first, chunk| bits.fill_u32::<u32x8>(first, chunk));
    Ok(out)
}

/// `jax.random.uniform(key, shape)` (float32 in `[0, 1)`), flattened row-major.
///
/// # Errors
/// As [`jax_bits`].
pub fn jax_uniform(key: JaxKey, shape: &[usize]) -> Result<Vec<f32>, SimError> {
    jax_uniform_range(key, shape, 0.0, 1.0)
}

/// `jax.random.uniform(key, shape, minval=minval, maxval=maxval)` (float32):
/// the bounds are rounded to f32 first, then `max(lo, fma(u, hi - lo, lo))`.
///
/// # Errors
/// As [`jax_bits`], and [`ParamError::NotFinite`] for a bound that is NaN or infinite
/// once rounded to f32, or a width `hi − lo` that overflows (JAX would return NaN there).
pub fn jax_uniform_range(
    key: JaxKey,
    shape: &[usize],
    minval: f64,
    maxval: f64,
) -> Result<Vec<f32>, SimError> {
    let n = element_count(shape)?;
    // Validate once (legacy size) before splitting the work.
    RandomBits::new(key.key, key.layout, BitWidth::W32, n as u64)?;
    let (lo, hi) = (minval as f32, maxval as f32);
    finite_bounds(f64::from(lo), f64::from(hi), f64::from(hi - lo))?;
    crate::memory::ensure_allocatable::<f32>("jax array", n)?;
    let mut out = vec![0f32; n];
    fill_par(&mut out, |first, chunk| {
        // Cannot fail: the size was validated above.
        let _ = core_jax::fill_uniform_f32::<f32x8>(key.key, key.layout, n as u64, lo, hi, first, chunk);
    });
    Ok(out)
}

/// `jax.random.uniform(key, shape, dtype=jnp.float64, minval, maxval)` under
/// `jax_enable_x64` (64-bit draws, 52 random mantissa bits).
///
/// # Errors
/// As [`jax_uniform_range`] (bounds and width checked in f64).
pub fn jax_uniform_f64(key: JaxKey, shape: &[usize], minval: f64, maxval: f64) -> Result<Vec<f64>, SimError> {
    finite_bounds(minval, maxval, maxval - minval)?;
    let n = element_count(shape)?;
    RandomBits::new(key.key, key.layout, BitWidth::W64, n as u64)?;
    crate::memory::ensure_allocatable::<f64>("jax array", n)?;
    let mut out = vec![0f64; n];
    fill_par(&mut out, |first, chunk| {
        let _ = core_jax::fill_uniform_f64::<wide::f64x4>(
            key.key, key.layout, n as u64, minval, maxval, first, chunk,
        );
    });
    Ok(out)
}

/// The uniform draws' bounds and width must be finite: JAX returns NaN otherwise, which
/// no caller wants silently.
fn finite_bounds(lo: f64, hi: f64, width: f64) -> Result<(), SimError> {
    for (name, value) in [("minval", lo), ("maxval", hi), ("maxval - minval", width)] {
        simcore::error::finite(name, value)?;
    }
    Ok(())
}

/// `jax.random.normal(key, shape)` (float32), flattened row-major.
///
/// # Errors
/// As [`jax_bits`].
pub fn jax_normal(key: JaxKey, shape: &[usize]) -> Result<Vec<f32>, SimError> {
    let n = element_count(shape)?;
    RandomBits::new(key.key, key.layout, BitWidth::W32, n as u64)?;
    crate::memory::ensure_allocatable::<f32>("jax array", n)?;
    let mut out = vec![0f32; n];
    fill_par(&mut out, |first, chunk| {
        let _ = core_jax::fill_normal_f32::<f32x8>(key.key, key.layout, n as u64, first, chunk);
    });
    Ok(out)
}

/// The W3 uniforms of a JAX code: `jax.random.uniform(key, (sims, n, d))`, an
/// `S × n × d` array in the `[s][k][a]` layout that
/// [`Simulator::binomial_validate`](crate::Simulator::binomial_validate) and
/// `binomial_calibrate` take as [`Uniforms::Pregenerated`](crate::workload::binomial::Uniforms::Pregenerated).
/// Rejection counts then equal the JAX code's (see the module docs).
///
/// # Errors
/// [`SimError::Param`]: `sims`, `n` or `d` zero (`ZeroSize`); `n·d` above W3's limit or
/// `S·n·d` overflowing (`TooLarge`); a legacy-layout draw of `2^32 - 1` words or more.
pub fn binomial_uniforms_from_jax_key(
    key: JaxKey,
    sims: usize,
    n: usize,
    d: usize,
) -> Result<Vec<f32>, SimError> {
    validate_shape(n, d)?;
    nonzero("sims", sims)?;
    jax_uniform(key, &[sims, n, d])
}

/// Checks that a batch of `count` members, each drawing `n` words, can run under `key`
/// (nothing to check without a key): under [`Layout::Legacy`] `count < 2^31` (the legacy
/// `split`) and `n < 2^32 - 1`; `n` itself must fit in u64.
///
/// # Errors
/// [`SimError::Param`] (`TooLarge`) otherwise.
pub(crate) fn check_member_draws(key: Option<JaxKey>, count: usize, n: Option<u64>) -> Result<(), SimError> {
    let Some(key) = key else { return Ok(()) };
    let n = n.ok_or(SimError::Param(ParamError::TooLarge { name: "JAX draw per member", max: u64::MAX }))?;
    JaxLanes::<u32>::for_members(key.key, key.layout, count as u64, 0, n)?;
    Ok(())
}

/// The lanes of members `first ..` of a batch of `count` under `key`, `n` words each
/// ([`JaxLanes::for_members`]); `None` only for arguments [`check_member_draws`] rejects.
#[inline]
pub(crate) fn member_lanes<W: UintLane<Scalar = u32>>(
    key: JaxKey,
    count: usize,
    first: u64,
    n: u64,
) -> Option<JaxLanes<W>> {
    JaxLanes::for_members(key.key, key.layout, count as u64, first, n).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_split_fold_in() {
        let k = JaxKey::new(0).unwrap();
        let s = k.split(2).unwrap();
        assert_eq!(s[1].data(), [928981903, 3453687069]);
        assert_eq!(k.fold_in(1).unwrap(), s[1]);
        let legacy = k.with_layout(Layout::Legacy).split(2).unwrap();
        assert_eq!(legacy[0].data(), [4146024105, 967050713]);
        assert_eq!(legacy[0].layout(), Layout::Legacy);
        assert!(matches!(k.fold_in(1 << 32), Err(SimError::Param(ParamError::IntOutOfRange { .. }))));
        assert!(matches!(JaxKey::new(i128::from(i64::MAX) + 1), Err(SimError::Param(_))));
    }

    #[test]
    fn parallel_fill_equals_sequential_for_both_layouts() {
        let n = PARALLEL_MIN + 37;
        for layout in [Layout::Partitionable, Layout::Legacy] {
            let key = JaxKey::new(42).unwrap().with_layout(layout);
            let par = jax_uniform(key, &[n]).unwrap();
            let mut seq = vec![0f32; n];
            core_jax::fill_uniform_f32::<f32>(key.core(), layout, n as u64, 0.0, 1.0, 0, &mut seq).unwrap();
            assert!(par.iter().zip(&seq).all(|(a, b)| a.to_bits() == b.to_bits()), "{layout:?}");
            let bits = jax_bits32(key, &[n]).unwrap();
            let wide = jax_bits(key, BitWidth::W32, &[n]).unwrap();
            assert!(bits.iter().zip(&wide).all(|(&a, &b)| u64::from(a) == b));
        }
    }

    #[test]
    fn bad_shapes_are_typed_errors() {
        let key = JaxKey::new(0).unwrap();
        assert!(matches!(
            jax_uniform(key, &[usize::MAX, 2]),
            Err(SimError::Param(ParamError::TooLarge { name: "shape", .. }))
        ));
        assert!(matches!(binomial_uniforms_from_jax_key(key, 0, 1, 4), Err(SimError::Param(_))));
        assert_eq!(jax_uniform(key, &[]).unwrap().len(), 1);
        assert!(jax_uniform(key, &[3, 0]).unwrap().is_empty());
    }
}
