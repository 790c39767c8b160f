//! W2 — the Ornstein–Uhlenbeck process by its exact discretisation,
//! `x[t+1] = x[t]·relax + diffuse·z[t]`, `relax = exp(-dt/τ)`,
//! `diffuse = σ·sqrt(1 - relax²)`, `z[t] ~ N(0, 1)`.
//!
//! Written once over the lane type (W2 runs in f64: `f64` lane by lane, `f64x8` on
//! SIMD, one f64 GPU thread); lane `l` carries simulation `first + l`, whose normals are
//! stream `first + l`: `z[t]` is normal `t` ([`NormalSeq`], WORKLOADS.md "Random streams").
//!
//! **Roundings every backend must reproduce** — the formulas of WORKLOADS.md evaluated as
//! written, one IEEE operation at a time and no fused multiply-add, so that a plain NumPy
//! loop over the same normals (`x = x*relax + diffuse*z`) gives the same bits:
//! * Coefficients, once per parameter set in f64 ([`OuParams::coeffs`]):
//!   `relax = exp(-(dt / τ))`, the quotient rounded, then the correctly rounded `exp`
//!   ([`exp_correctly_rounded`]: what glibc's `exp`, and so NumPy's, gives; `libm`'s
//!   faithful `exp` missed the last bit for about one random `(dt, τ)` in ten);
//!   `diffuse = σ · sqrt(1 - relax·relax)` (each operation rounded, `sqrt` correctly
//!   rounded). They are then rounded to the lane precision (a no-op for f64). Kernels
//!   receive them as numbers; they never recompute them.
//! * Each step ([`ou_step`]): `x' = x·relax + diffuse·z`, both products and the sum
//!   rounded. (Earlier versions fused `1 − relax²` and the step into FMAs; that differed
//!   from the plain evaluation by a few ULP after some hundred steps.)
//!
//! The three modes of WORKLOADS.md share one loop, [`ou_evolve`]: (a) every state
//! written to a sink ([`ou_path_group`]), (b) the final state only ([`ou_final_group`]),
//! (c) normals supplied by the caller (the `normals` closure of [`ou_evolve`]).

use crate::error::{self, ParamError};
use crate::lane::{Precision, Real, UintLane};
use crate::math::exp_correctly_rounded::exp_correctly_rounded;
use crate::rng::jax::JaxLanes;
use crate::rng::jax::convert::normal_f32;
use crate::rng::philox4x32_10::{philox4x32_10, philox4x32_10_pair};
use crate::rng::stream::block_normals;
use crate::rng::{NormalSeq, NormalSource, Stream};

/// Parameters of the OU process (WORKLOADS.md W2 symbols).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OuParams {
    /// Time step `dt` (> 0).
    pub dt: f64,
    /// Relaxation time `τ` (> 0).
    pub tau: f64,
    /// Stationary standard deviation `σ` (>= 0): the stationary variance is `σ²`.
    pub sigma: f64,
    /// Initial state `x0`, the same for every simulation.
    pub x0: f64,
}

impl Default for OuParams {
    /// WORKLOADS.md defaults: `dt = 0.1, τ = 1, σ = 2, x0 = 0`.
    fn default() -> Self {
        Self { dt: 0.1, tau: 1.0, sigma: 2.0, x0: 0.0 }
    }
}

/// The two step coefficients, broadcast to a lane type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OuCoeffs<L> {
    /// `exp(-dt/τ)`: the lag-1 autocorrelation.
    pub relax: L,
    /// `σ·sqrt(1 - relax²)`: the noise scale of one step.
    pub diffuse: L,
}

impl OuParams {
    /// Checks every field: all finite, `dt > 0`, `τ > 0`, `σ >= 0`.
    ///
    /// # Errors
    /// The first offending field, as [`ParamError::NotFinite`], [`ParamError::NotPositive`]
    /// or [`ParamError::Negative`].
    pub fn validate(&self) -> Result<Self, ParamError> {
        error::positive("dt", self.dt)?;
        error::positive("tau", self.tau)?;
        error::non_negative("sigma", self.sigma)?;
        error::finite("x0", self.x0)?;
        Ok(*self)
    }

    /// The step coefficients in f64, with exactly the roundings of the module docs.
    ///
    /// About 2 µs (the correctly rounded `exp`): compute them once per call and hand
    /// them to the kernels ([`OuCoeffs::lanes`]), not once per group of lanes.
    pub fn coeffs_f64(&self) -> OuCoeffs<f64> {
        let relax = exp_correctly_rounded(-(self.dt / self.tau));
        let diffuse = self.sigma * Real::sqrt(1.0 - relax * relax);
        OuCoeffs { relax, diffuse }
    }

    /// [`Self::coeffs_f64`] rounded to the precision of `L` and broadcast to every lane.
    pub fn coeffs<L: Real>(&self) -> OuCoeffs<L> {
        self.coeffs_f64().lanes()
    }
}

impl OuCoeffs<f64> {
    /// These coefficients rounded to the precision of `L` (a no-op for f64) and broadcast
    /// to every lane.
    pub fn lanes<L: Real>(&self) -> OuCoeffs<L> {
        OuCoeffs {
            relax: L::splat(L::Scalar::from_f64(self.relax)),
            diffuse: L::splat(L::Scalar::from_f64(self.diffuse)),
        }
    }
}

/// One exact OU step: `x' = x·relax + diffuse·z`, three roundings (see module docs).
#[inline(always)]
pub fn ou_step<L: Real>(x: L, z: L, c: &OuCoeffs<L>) -> L {
    x * c.relax + c.diffuse * z
}

/// The one OU loop: from `x0`, `num_steps` steps with `z[t] = normals(t)` for
/// `t = 0, 1, …` in order; `row(t, x[t])` is called for every state `t = 0..=num_steps`
/// (`x[0] = x0` included) in order. Returns `x[num_steps]`.
///
/// Mode (c) of W2 passes caller normals here directly.
#[inline(always)]
pub fn ou_evolve<L: Real>(
    x0: L,
    c: &OuCoeffs<L>,
    num_steps: u64,
    mut normals: impl FnMut(u64) -> L,
    mut row: impl FnMut(u64, L),
) -> L {
    let mut x = x0;
    row(0, x);
    for t in 0..num_steps {
        x = ou_step(x, normals(t), c);
        row(t + 1, x);
    }
    x
}

/// Mode (b): the final state `x[num_steps]` of simulations `first, first + 1, …` (one
/// per lane) under `seed`, each starting at `x0`.
#[inline(always)]
pub fn ou_final_group<L: Real>(seed: u64, first: u64, num_steps: u64, x0: L, c: &OuCoeffs<L>) -> L {
    let mut z = NormalSeq::new(Stream::<L>::consecutive(seed, first), 0);
    ou_evolve(x0, c, num_steps, |_| z.next(), |_, _| {})
}

/// Mode (a): like [`ou_final_group`], and every state `x[t]`, `t = 0..=num_steps`, is
/// handed to `row(t, x[t])` in order (the backend stores lane `l` at
/// `out[t * num_sim + first + l]`: layout `[t][sim]`, batch innermost).
#[inline(always)]
pub fn ou_path_group<L: Real>(
    seed: u64,
    first: u64,
    num_steps: u64,
    x0: L,
    c: &OuCoeffs<L>,
    row: impl FnMut(u64, L),
) -> L {
    let mut z = NormalSeq::new(Stream::<L>::consecutive(seed, first), 0);
    ou_evolve(x0, c, num_steps, |_| z.next(), row)
}

/// Mode (b) from any [`NormalSource`]: `z[t]` is the source's `t`-th normal (the JAX
/// stream mode passes `crate::rng::jax::JaxNormalsWidened`: element `t` of
/// `jax.random.normal(k_i, (num_steps,))`, widened exactly to f64).
#[inline(always)]
pub fn ou_final_from<L: Real>(z: &mut impl NormalSource<L>, num_steps: u64, x0: L, c: &OuCoeffs<L>) -> L {
    ou_evolve(x0, c, num_steps, |_| z.next(), |_, _| {})
}

/// Mode (a) from any [`NormalSource`], as [`ou_final_from`]; `row(t, x[t])` as in
/// [`ou_path_group`].
#[inline(always)]
pub fn ou_path_from<L: Real>(
    z: &mut impl NormalSource<L>,
    num_steps: u64,
    x0: L,
    c: &OuCoeffs<L>,
    row: impl FnMut(u64, L),
) -> L {
    ou_evolve(x0, c, num_steps, |_| z.next(), row)
}

/// Normals one Philox block yields for precision `P` (4 in f32, 2 in f64): a chunk of the
/// parallel-in-time mode must start at a multiple of this (see [`ou_chunk_sums`]).
pub const fn normals_per_block<P: Precision>() -> u64 {
    (4 / P::WORDS_PER_UNIFORM) as u64
}

/// `f(z)` for the normals `z` of each block `k = 0, 1, …` in order, as many blocks as
/// `len` normals take (`z` holds a block's normals, fewer for a partial last one).
/// `pair(k)` gives blocks `k` and `k + 1` (two at a time: [`Stream::block_pair`]), `one(k)`
/// block `k` alone.
#[inline(always)]
fn for_each_block<L: Real>(
    len: u64,
    pair: impl Fn(u64) -> [[L::Words; 4]; 2],
    one: impl Fn(u64) -> [L::Words; 4],
    mut f: impl FnMut(&[L]),
) {
    let per = normals_per_block::<L::Scalar>();
    let full = len / per;
    let mut k = 0;
    while k + 2 <= full {
        for w in pair(k) {
            f(&block_normals::<L>(w)[..per as usize]);
        }
        k += 2;
    }
    if k < full {
        f(&block_normals::<L>(one(k))[..per as usize]);
        k += 1;
    }
    let rest = (len % per) as usize;
    if rest > 0 {
        f(&block_normals::<L>(one(k))[..rest]);
    }
}

/// Parallel-in-time W2, stage 1: lane `l` runs the OU recurrence **from 0** over steps
/// `start(l) .. start(l) + len` of stream `sim(l)` (normals `z[start(l)] ..` of that
/// stream; lanes usually read one stream at their own counters, but may read several,
/// e.g. the short last chunks of several simulations), and returns
/// `y_l = Σ_s relax^(len-1-s)·diffuse·z[start(l) + s]` as the steps round it
/// ([`ou_step`], same roundings as the sequential loop).
///
/// The recurrence is linear, so the state after a chunk is `x_end = relax^len·x_start +
/// y` ([`ou_stitch`]): chunks of one path run side by side in lanes (or threads) and are
/// stitched afterwards. `start(l)` must be a multiple of [`normals_per_block`] (a chunk
/// starts at a Box–Muller pair, at the start of a block); `len` may be anything (a partial
/// last block uses its first normals only).
///
/// Why lanes along time: W2's seed size has 8 simulations and 5e6 steps, one `f64x8`
/// group — too few to feed threads; chunks of time give as many independent lanes as
/// wanted.
#[inline(always)]
pub fn ou_chunk_sums<L: Real>(
    seed: u64,
    sim: impl Fn(usize) -> u64,
    start: impl Fn(usize) -> u64,
    len: u64,
    c: &OuCoeffs<L>,
) -> L {
    let per = normals_per_block::<L::Scalar>();
    let key = [L::Words::splat(seed as u32), L::Words::splat((seed >> 32) as u32)];
    let id = [L::Words::from_fn(|l| sim(l) as u32), L::Words::from_fn(|l| (sim(l) >> 32) as u32)];
    let block0 = |l: usize| start(l) / per;
    let nblocks = len.div_ceil(per);
    // Fast path: no lane's low counter word wraps inside the chunk, so block k of lane l
    // is `[lo_l + k, hi_l]` with a plain vector add; otherwise the counters are rebuilt.
    let no_wrap = (0..L::LANES).all(|l| u64::from(block0(l) as u32) + nblocks <= 1 << 32);
    let lo0 = L::Words::from_fn(|l| block0(l) as u32);
    let hi0 = L::Words::from_fn(|l| (block0(l) >> 32) as u32);
    let ctr = |k: u64| {
        if no_wrap {
            [lo0.wrapping_add(L::Words::splat(k as u32)), hi0, id[0], id[1]]
        } else {
            let b = |l: usize| block0(l).wrapping_add(k);
            [L::Words::from_fn(|l| b(l) as u32), L::Words::from_fn(|l| (b(l) >> 32) as u32), id[0], id[1]]
        }
    };
    let mut y = L::splat(L::Scalar::default());
    let pair = |k: u64| philox4x32_10_pair([ctr(k), ctr(k + 1)], key);
    for_each_block::<L>(
        len,
        pair,
        |k| philox4x32_10(ctr(k), key),
        |z| {
            for zi in z {
                y = ou_step(y, *zi, c);
            }
        },
    );
    y
}

/// [`ou_chunk_sums`] on JAX normals: lane `l` runs the OU recurrence from 0 over the
/// normals `(row0 + l)·stride + j0 + s`, `s = 0..len`, of its own draw in `lanes`
/// (element `t` of `jax.random.normal(k_l, (num_steps,))`, widened exactly to f64, as
/// the sequential JAX mode reads them through
/// [`crate::rng::jax::JaxNormalsWidened`]), and returns `y_l` as [`ou_chunk_sums`] does.
/// The normals are computed on `N`, the f32 lanes of `L`'s words (`f32x8` for `f64x8`),
/// four hashes at a time ([`JaxLanes::words_strided`]).
///
/// With one key in every lane, `row0 = c0` and `stride = len` give chunks `c0, c0 + 1,
/// …` of one path; with one member per lane, `stride = 0` and `j0 = c·len` give chunk
/// `c` of several paths. Elements past the draw give unspecified normals (lanes to
/// discard), never a panic.
#[inline(always)]
pub fn ou_chunk_sums_jax<L, N>(
    lanes: &JaxLanes<L::Words>,
    row0: u64,
    stride: u64,
    j0: u64,
    len: u64,
    c: &OuCoeffs<L>,
) -> L
where
    L: Real,
    N: Real<Scalar = f32, Words = L::Words>,
{
    let widen = |w: L::Words| {
        let z = normal_f32::<N>(N::bits_from_words(w));
        L::from_fn(|l| L::Scalar::from_f64(f64::from(z.lane(l))))
    };
    let mut y = L::splat(L::Scalar::default());
    let mut s = 0;
    while s + 4 <= len {
        for w in lanes.words_strided::<4>(row0, stride, j0 + s) {
            y = ou_step(y, widen(w), c);
        }
        s += 4;
    }
    while s < len {
        y = ou_step(y, widen(lanes.words_strided::<1>(row0, stride, j0 + s)[0]), c);
        s += 1;
    }
    y
}

/// The OU loop over whole Philox blocks: simulations `first, first + 1, …` (one per
/// lane) from states `x0`, steps `start .. start + len` with normals `z[start] ..` of each
/// lane's stream (`start` a multiple of [`normals_per_block`], a Box–Muller pair
/// boundary); `row(s, x)` receives the states after step `start + s`, `s = 0..len`.
/// Returns the last state (`x0` when `len = 0`).
///
/// Each lane gives the bits of the [`NormalSeq`] loops ([`ou_final_group`] and
/// [`ou_path_group`] for `start = 0`), with the normals of a block made together, two
/// blocks' Philox at a time ([`Stream::block_pair`]), and no per-step refill test.
/// Parallel-in-time mode (a) runs each chunk of rows through it from 0 (linearity: the
/// true path is `x[start + s + 1] = relax^(s+1)·x[start] + y_s`, and the backend adds
/// that carry afterwards).
///
/// On `f64x8` the words are one `u32x8`, so one Philox call feeds all eight lanes and
/// the vector's two `f64x4` halves run their Box–Muller side by side.
#[inline(always)]
pub fn ou_evolve_blocks<L: Real>(
    seed: u64,
    first: u64,
    start: u64,
    len: u64,
    x0: L,
    c: &OuCoeffs<L>,
    mut row: impl FnMut(u64, L),
) -> L {
    let per = normals_per_block::<L::Scalar>();
    let stream = Stream::<L>::consecutive(seed, first);
    let b0 = start / per;
    let mut x = x0;
    let mut s = 0u64;
    let pair = |k: u64| stream.block_pair(b0.wrapping_add(k));
    for_each_block::<L>(
        len,
        pair,
        |k| stream.block(b0.wrapping_add(k)),
        |z| {
            for zj in z {
                x = ou_step(x, *zj, c);
                row(s, x);
                s += 1;
            }
        },
    );
    x
}

/// `relax^n` in f64 by binary powering (`⌈log2 n⌉` squarings and at most as many
/// multiplies, each rounded once: relative error below `2·⌈log2(n+1)⌉·2^-53`).
pub fn relax_pow(relax: f64, n: u64) -> f64 {
    let (mut base, mut n, mut acc) = (relax, n, 1.0f64);
    while n > 0 {
        if n & 1 == 1 {
            acc *= base;
        }
        base *= base;
        n >>= 1;
    }
    acc
}

/// Parallel-in-time W2, stage 2: the state after a chunk, `fma(x_start, carry, y)` with
/// `carry = relax^len` ([`relax_pow`]) and `y` the chunk's [`ou_chunk_sums`] lane.
#[inline(always)]
pub fn ou_stitch<L: Real>(x_start: L, carry: L, y: L) -> L {
    x_start.mul_add(carry, y)
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::rng::stream::box_muller;

    #[test]
    fn defaults_and_coefficients() {
        let p = OuParams::default();
        assert_eq!(p, OuParams { dt: 0.1, tau: 1.0, sigma: 2.0, x0: 0.0 });
        let c = p.coeffs_f64();
        assert!((c.relax - libm::exp(-0.1)).abs() <= f64::EPSILON * c.relax);
        // exp(-0.1) correctly rounded (Python: decimal's 60-digit exp, then float()).
        assert_eq!(c.relax.to_bits(), 0x3fec_f46d_99d5_2b3a);
        let want = 2.0 * libm::sqrt(-libm::expm1(-0.2));
        assert!((c.diffuse - want).abs() <= 4.0 * f64::EPSILON * want, "{} {want}", c.diffuse);
        // Stationarity of the coefficients: relax² + (diffuse/σ)² = 1.
        let d = c.diffuse / 2.0;
        assert!((c.relax * c.relax + d * d - 1.0).abs() < 4.0 * f64::EPSILON);
        let c32 = p.coeffs::<f32>();
        assert_eq!(c32.relax, c.relax as f32);
        assert_eq!(c32.diffuse, c.diffuse as f32);
    }

    #[test]
    fn sigma_zero_gives_pure_decay() {
        let p = OuParams { sigma: 0.0, x0: 3.0, ..OuParams::default() };
        let c = p.coeffs::<f64>();
        assert_eq!(c.diffuse, 0.0);
        let x = ou_final_group::<f64>(1, 0, 10, 3.0, &c);
        let mut want = 3.0f64;
        for _ in 0..10 {
            want *= c.relax;
        }
        assert_eq!(x, want);
    }

    /// The step and the noise scale are the plain evaluation of the formulas (what NumPy's
    /// `x*relax + diffuse*z` and `sigma*sqrt(1 - relax**2)` give), not fused: on these
    /// inputs a fused form differs.
    #[test]
    fn step_and_coefficients_are_the_plain_evaluation() {
        let c = OuCoeffs { relax: 0.9f64, diffuse: 0.3 };
        let mut fused_differs = 0;
        let mut u = 0.123_456_789f64;
        for _ in 0..1000 {
            u = (u * 7.0 + 0.377_123_4).fract();
            let (x, z) = (4.0 * u - 2.0, 3.0 - 6.0 * (u * 13.0).fract());
            assert_eq!(ou_step(x, z, &c), x * 0.9 + 0.3 * z);
            fused_differs += usize::from(ou_step(x, z, &c) != x.mul_add(0.9, 0.3 * z));
        }
        assert!(fused_differs > 0, "no input separates the plain step from the fused one");
        // Linearity in (x0, z) up to rounding: x1(2·x0, 2·z) = 2·x1(x0, z) exactly.
        assert_eq!(ou_step(2.0f64, 1.0, &c), 2.0 * ou_step(1.0, 0.5, &c));
        for (dt, tau, sigma) in [(0.1, 1.0, 2.0), (0.37, 2.5, 0.7), (1e-3, 1.0, 1.0)] {
            let c = OuParams { dt, tau, sigma, x0: 0.0 }.coeffs_f64();
            assert_eq!(c.relax, exp_correctly_rounded(-(dt / tau)));
            assert_eq!(c.diffuse, sigma * libm::sqrt(1.0 - c.relax * c.relax));
        }
        // The choice matters: over a grid of (dt, τ) the faithful libm exp misses the
        // correctly rounded relax somewhere, and coeffs follow the latter.
        let mut libm_differs = 0;
        for i in 1..=200 {
            let (dt, tau) = (0.013 * f64::from(i), 1.0 + 0.07 * f64::from(i % 17));
            let c = OuParams { dt, tau, sigma: 1.0, x0: 0.0 }.coeffs_f64();
            assert_eq!(c.relax, exp_correctly_rounded(-(dt / tau)));
            libm_differs += usize::from(c.relax != libm::exp(-(dt / tau)));
        }
        assert!(libm_differs > 0);
    }

    #[test]
    fn validate_rejects_each_bad_field() {
        let ok = OuParams::default();
        assert_eq!(ok.validate(), Ok(ok));
        let bad = [
            (OuParams { dt: 0.0, ..ok }, "dt"),
            (OuParams { dt: f64::NAN, ..ok }, "dt"),
            (OuParams { tau: -1.0, ..ok }, "tau"),
            (OuParams { tau: f64::INFINITY, ..ok }, "tau"),
            (OuParams { sigma: -0.5, ..ok }, "sigma"),
            (OuParams { x0: f64::NEG_INFINITY, ..ok }, "x0"),
        ];
        for (p, field) in bad {
            let got = match p.validate() {
                Err(ParamError::NotFinite { name, .. })
                | Err(ParamError::NotPositive { name, .. })
                | Err(ParamError::Negative { name, .. }) => name,
                other => panic!("{other:?}"),
            };
            assert_eq!(got, field);
        }
        assert_eq!(OuParams { sigma: 0.0, ..ok }.validate().map(|p| p.sigma), Ok(0.0));
    }

    #[test]
    fn final_and_path_follow_the_stream_normals() {
        let c = OuParams::default().coeffs::<f64>();
        let (seed, sim, steps) = (9u64, 4u64, 7u64);
        // Hand loop over Box–Muller pairs of stream `sim`.
        let s = Stream::<f64>::consecutive(seed, sim);
        let mut x = 0.5f64;
        let mut want = [x; 8];
        for t in 0..steps {
            let (z0, z1) = box_muller(s.uniform(t & !1), s.uniform(t | 1));
            x = ou_step(x, if t % 2 == 0 { z0 } else { z1 }, &c);
            want[t as usize + 1] = x;
        }
        assert_eq!(ou_final_group::<f64>(seed, sim, steps, 0.5, &c), x);
        let mut got = [f64::NAN; 8];
        let last = ou_path_group::<f64>(seed, sim, steps, 0.5, &c, |t, v| got[t as usize] = v);
        assert_eq!(last, x);
        assert_eq!(got, want);
    }

    #[test]
    fn evolve_with_caller_normals() {
        let c = OuCoeffs { relax: 0.5f64, diffuse: 2.0 };
        let z = [1.0, -1.0, 0.25];
        let x = ou_evolve(4.0f64, &c, 3, |t| z[t as usize], |_, _| {});
        // 4 → 2 + 2 = 4 → 2 - 2 = 0 → 0 + 0.5 = 0.5
        assert_eq!(x, 0.5);
    }

    /// The oracle of a chunk: the sequential loop from 0 over normals `start..start+len`
    /// of the stream, read through [`NormalSeq`].
    fn hand_chunk<L: Real>(seed: u64, sim: u64, start: u64, len: u64, c: &OuCoeffs<L>) -> L {
        let mut z = NormalSeq::new(Stream::<L>::new(seed, |_| sim), start);
        ou_evolve(L::splat(L::Scalar::default()), c, len, |_| z.next(), |_, _| {})
    }

    #[test]
    fn chunk_sums_equal_the_sequential_loop_from_zero() {
        let c64 = OuParams::default().coeffs::<f64>();
        let c32 = OuParams::default().coeffs::<f32>();
        for (start, len) in [(0u64, 0u64), (0, 1), (0, 9), (4, 7), (8, 16), (12, 3), (400, 101)] {
            let got = ou_chunk_sums::<f64>(3, |_| 5, |_| start, len, &c64);
            assert_eq!(got.to_bits(), hand_chunk::<f64>(3, 5, start, len, &c64).to_bits(), "{start} {len}");
            let got = ou_chunk_sums::<f32>(3, |_| 5, |_| start, len, &c32);
            assert_eq!(got.to_bits(), hand_chunk::<f32>(3, 5, start, len, &c32).to_bits(), "{start} {len}");
        }
        // Chunk 0 from x0 = 0 is the sequential mode itself, bit for bit.
        assert_eq!(
            ou_chunk_sums::<f64>(9, |_| 2, |_| 0, 1000, &c64),
            ou_final_group::<f64>(9, 2, 1000, 0.0, &c64)
        );
    }

    #[test]
    fn chunk_counters_crossing_a_low_word_wrap_take_the_slow_path() {
        // Block 2^32 - 2 .. 2^32 + 1: the low counter word wraps inside the chunk.
        let c = OuParams::default().coeffs::<f64>();
        let start = ((1u64 << 32) - 2) * 2;
        let got = ou_chunk_sums::<f64>(1, |_| 7, |_| start, 8, &c);
        assert_eq!(got.to_bits(), hand_chunk::<f64>(1, 7, start, 8, &c).to_bits());
    }

    #[test]
    fn stitched_chunks_match_the_sequential_final_state() {
        // Two chunks of 500 steps stitched vs 1000 sequential steps, from x0 = 1.5. The
        // bound of the simlanes parallel-in-time mode (a few ULP of the path's scale
        // times 1/(1 - relax)) is ~1e-13 here; both are checked against 1e-12.
        let p = OuParams { x0: 1.5, ..OuParams::default() };
        let c = p.coeffs::<f64>();
        let seq = ou_final_group::<f64>(4, 1, 1000, 1.5, &c);
        let y0 = ou_chunk_sums::<f64>(4, |_| 1, |_| 0, 500, &c);
        let y1 = ou_chunk_sums::<f64>(4, |_| 1, |_| 500, 500, &c);
        let carry = relax_pow(c.relax, 500);
        let par = ou_stitch(ou_stitch(1.5, carry, y0), carry, y1);
        assert!((par - seq).abs() < 1e-12, "{par} {seq}");
        assert_ne!(y1, 0.0);
    }

    #[test]
    fn relax_pow_is_binary_powering() {
        assert_eq!(relax_pow(0.5, 0), 1.0);
        assert_eq!(relax_pow(0.5, 10), 1.0 / 1024.0);
        assert_eq!(relax_pow(3.0, 5), 243.0);
        let r = libm::exp(-0.1);
        for n in [1u64, 7, 64, 1000, 4_999] {
            let want = libm::exp(-0.1 * n as f64);
            let bound = 2.0 * (64 - n.leading_zeros()) as f64 * f64::EPSILON + n as f64 * f64::EPSILON;
            assert!((relax_pow(r, n) / want - 1.0).abs() <= bound, "{n}");
        }
    }

    #[test]
    fn block_rows_from_zero_are_the_chunk_sums_prefixes() {
        let c = OuParams::default().coeffs::<f64>();
        let mut rows = [f64::NAN; 9];
        let last = ou_evolve_blocks::<f64>(6, 2, 12, 9, 0.0, &c, |s, y| rows[s as usize] = y);
        for (s, r) in rows.iter().enumerate() {
            let want = ou_chunk_sums::<f64>(6, |_| 2, |_| 12, s as u64 + 1, &c);
            assert_eq!(r.to_bits(), want.to_bits(), "{s}");
        }
        assert_eq!(last, rows[8]);
        assert_eq!(ou_evolve_blocks::<f64>(6, 2, 12, 0, 0.25, &c, |_, _| unreachable!()), 0.25);
    }

    #[test]
    fn block_loop_equals_the_normal_seq_loops() {
        for (x0, steps) in [(0.5f64, 0u64), (0.5, 1), (-1.0, 2), (2.0, 9), (0.0, 64)] {
            let c = OuParams { x0, ..OuParams::default() }.coeffs::<f64>();
            let mut want = std::vec::Vec::new();
            let last = ou_path_group::<f64>(3, 11, steps, x0, &c, |_, x| want.push(x.to_bits()));
            let mut got = std::vec![x0.to_bits()];
            let x = ou_evolve_blocks::<f64>(3, 11, 0, steps, x0, &c, |_, x| got.push(x.to_bits()));
            assert_eq!((x.to_bits(), got), (last.to_bits(), want), "steps {steps}");
        }
    }

    /// JAX chunk sums: each lane is the sequential JAX loop (`JaxNormalsWidened`) from 0
    /// over its own normals, for chunks of one path and one chunk of several paths,
    /// both layouts, one lane and (SIMD) eight.
    #[test]
    fn jax_chunk_sums_equal_the_sequential_jax_loop_from_zero() {
        use crate::rng::jax::{JaxNormalsWidened, Layout, key};
        let c = OuParams::default().coeffs::<f64>();
        let parent = key(4, false).unwrap();
        let hand = |lanes: JaxLanes<u32>, start: u64, len: u64| {
            let mut z = JaxNormalsWidened::<f64>::new(lanes, start);
            ou_evolve(0.0f64, &c, len, |_| z.next(), |_, _| {})
        };
        for layout in [Layout::Partitionable, Layout::Legacy] {
            let member = |m: u64| JaxLanes::<u32>::for_members(parent, layout, 9, m, 400).unwrap();
            for (chunk, len) in [(0u64, 0u64), (0, 1), (1, 7), (3, 40), (9, 37)] {
                let want = hand(member(2), chunk * len, len);
                let one_path = ou_chunk_sums_jax::<f64, f32>(&member(2), chunk, len, 0, len, &c);
                let across = ou_chunk_sums_jax::<f64, f32>(&member(2), 0, 0, chunk * len, len, &c);
                assert_eq!((one_path.to_bits(), across.to_bits()), (want.to_bits(), want.to_bits()));
                #[cfg(feature = "simd")]
                {
                    use wide::{f32x8, f64x8, u32x8};
                    let c8 = OuParams::default().coeffs::<f64x8>();
                    let path8 =
                        ou_chunk_sums_jax::<f64x8, f32x8>(&member(2).broadcast(), chunk, len, 0, len, &c8);
                    let lanes8 = JaxLanes::<u32x8>::for_members(parent, layout, 9, 1, 400).unwrap();
                    let across8 = ou_chunk_sums_jax::<f64x8, f32x8>(&lanes8, 0, 0, chunk * len, len, &c8);
                    for l in 0..8u64 {
                        let want_path = hand(member(2), (chunk + l) * len, len);
                        let want_across = hand(member((1 + l).min(8)), chunk * len, len);
                        assert_eq!(
                            path8.lane(l as usize).to_bits(),
                            want_path.to_bits(),
                            "{layout:?} lane {l}"
                        );
                        assert_eq!(
                            across8.lane(l as usize).to_bits(),
                            want_across.to_bits(),
                            "{layout:?} lane {l}"
                        );
                    }
                }
            }
        }
    }
}
