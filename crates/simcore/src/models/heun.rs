//! Stochastic Heun for networks of neural masses (W4 Jansen–Rit, W5 Montbrio–Pazo–Roxin),
//! written once over the lane type and over the memory that holds the state.
//!
//! # Why it looks like this
//! One lane carries one batch member; the same code runs on `f32` (scalar reference, one
//! GPU thread) and on `wide::f32x8` (eight consecutive members). Backends keep the state
//! where it suits them — a contiguous slice per group of lanes on the CPU, a strided
//! `[var][node][batch]` array in GPU global memory — so the integrator reads and writes
//! only through [`LaneBuf`], a flat array of lanes indexed by element. Every buffer uses
//! the same element layout, `var * nn + node` (`[var][node]`); the ring buffer of the
//! delayed coupling is `[slot][node]` (`slot * nn + node`). The core never allocates:
//! callers provide all buffers ([`Scratch`]).
//!
//! # The scheme (WORKLOADS.md, W4), with every rounding fixed
//! With `c(x)` the coupling, `f` the model drift, `s = sigma*sqrt(dt)` computed once in the
//! working precision ([`HeunCoeffs::new`]) and one normal `z` per variable per step:
//! ```text
//! nz = s * z                                   (rounded once)
//! xp = fma(dt, f(x, c(x)), x) + nz             # predictor
//! x' = fma(dt/2, f(x, c(x)) + f(xp, c(xp)), x) + nz   # corrector, then the model's post-step
//! ```
//! `dt/2` is exact. The noise of variable `v` of node `i` at step `t` is normal
//! `(t*nn + i)*NV + v` of the member's stream: one step draws `nn*NV` consecutive normals,
//! node-major, so a [`NormalSeq`](crate::rng::NormalSeq) started at normal 0 and read in order stays in step.
//! The kernels take any [`NormalSource`]: simlanes' Philox [`NormalSeq`](crate::rng::NormalSeq), or the
//! JAX-compatible [`crate::rng::jax::JaxNormals`] (element `(t*nn + i)*NV + v` of
//! `jax.random.normal(k_b, (nt, nn, NV))`, the same order).
//!
//! **Coupling** ([`coupling`]): `c[i] = k * acc_i`, `acc_i` accumulated over `j` ascending
//! from `0` with one fused multiply–add per term, `acc = fma(W[i,j], cv[j], acc)`, and
//! `cv[j]` the model's coupling variable of node `j` ([`NetworkModel::coupling_var`]).
//! Instantaneous coupling ([`step`]) is recomputed from the predictor for the corrector.
//!
//! **Delays** ([`step_delayed`], W4d): `c[i] = k * sum_j W[i,j] * cv[j](t - L[i,j])`,
//! summed in the same order and roundings, read from a ring buffer of [`RING`] slots
//! holding `cv` of the states `t-255..=t` (slot `t mod 256`). At the start of step `t` the
//! current `cv` is written to slot `t mod 256` and the coupling is computed **once**; both
//! Heun stages use it. [`init_history`] fills every slot with the initial state's `cv`
//! (history before `t = 0` holds the initial state).
//!
//! # Cost per node-step (for % of FMA peak; FMA = 2 flops)
//! Heun itself: `NV` noise products (`nz`), predictor `NV` FMAs + `NV` adds, corrector
//! `NV` adds (`f1 + f2`) + `NV` FMAs + `NV` adds: `8 NV` flops, `2 NV` of them FMAs.
//! Coupling: `nn` FMAs + 1 multiply per node and evaluation (`2 nn + 1` flops), evaluated
//! twice per step (instantaneous) or once (delayed), plus the model's coupling variable.
//! Plus `NV` normals and two drifts; the model files give the totals.
//!
//! # Phases on node ranges
//! A step is a sequence of phases — coupling variables, coupling, predictor, coupling of
//! the predictor, corrector — and each phase is a public function over a range of nodes
//! (rows, for the coupling). [`step`] and [`step_delayed`] run them over `0..nn`. A
//! driver that splits one group's nodes across threads runs the same functions on its
//! own range and exchanges the coupling variables between phases: a node's numbers do
//! not depend on the split, because its coupling sum and its normals
//! (`(t*nn + i)*NV + v`, see [`predictor`]) are the same whatever range it is in.

use crate::error::ParamError;
use crate::lane::{Precision, Real};
use crate::rng::NormalSource;
use core::ops::Range;

/// Slots in the delay ring buffer: lags `0..=255` steps (`u8`) are always in range.
pub const RING: usize = 256;

/// A flat array of lanes, indexed by element (`var * nn + node`, or `slot * nn + node`).
///
/// The contiguous implementation is `[L]`; a GPU backend implements it over a strided
/// `[element][batch]` array (element `e` of member `b` at `e * B + b`).
pub trait LaneBuf<L> {
    /// Element `i`.
    fn get(&self, i: usize) -> L;
    /// Sets element `i`.
    fn set(&mut self, i: usize, x: L);
}

impl<L: Copy> LaneBuf<L> for [L] {
    #[inline(always)]
    fn get(&self, i: usize) -> L {
        self[i]
    }
    #[inline(always)]
    fn set(&mut self, i: usize, x: L) {
        self[i] = x;
    }
}

/// A neural-mass model with `NV` state variables per node, as the integrator sees it.
pub trait NetworkModel<L: Real, const NV: usize> {
    /// The drift `f(x, c)` of one node with state `x` and coupling input `c`.
    fn drift(&self, x: [L; NV], c: L) -> [L; NV];
    /// The variable other nodes are coupled through (JR: `y1 - y2`; MPR: `max(r, 0)`).
    fn coupling_var(&self, x: &[L; NV]) -> L;
    /// Applied to the state after every full step (MPR clamps `r` at 0). Default: none.
    #[inline(always)]
    fn post_step(&self, x: [L; NV]) -> [L; NV] {
        x
    }
}

/// Step constants, in the working precision: `dt`, `dt/2` and the noise scale
/// `sigma*sqrt(dt)` (computed once: one correctly rounded `sqrt`, one multiply).
#[derive(Debug, Clone, Copy)]
pub struct HeunCoeffs<L> {
    /// Time step.
    pub dt: L,
    /// `dt / 2` (exact).
    pub half_dt: L,
    /// `sigma * sqrt(dt)`.
    pub noise: L,
}

impl<L: Real> HeunCoeffs<L> {
    /// Coefficients for step `dt > 0` and noise intensity `sigma >= 0`.
    ///
    /// # Errors
    /// [`ParamError`] when `dt` is not finite and positive, `sigma` not finite and `>= 0`,
    /// or the noise scale `sigma·sqrt(dt)` overflows.
    pub fn new(dt: L::Scalar, sigma: L::Scalar) -> Result<Self, ParamError> {
        crate::error::positive("dt", dt.to_f64())?;
        crate::error::non_negative("sigma", sigma.to_f64())?;
        let dt_l = L::splat(dt);
        let half = L::splat(L::Scalar::from_f64(0.5));
        let noise = L::splat(sigma) * dt_l.sqrt();
        crate::error::finite("sigma*sqrt(dt)", noise.lane(0).to_f64())?;
        Ok(Self { dt: dt_l, half_dt: dt_l * half, noise })
    }
}

/// The network every member shares: `nn` nodes, weights `W` (`[i][j]` row-major,
/// `nn*nn`) and, for the delayed coupling, integer lags `L[i][j]` in steps.
#[derive(Debug, Clone, Copy)]
pub struct Network<'a, S> {
    nn: usize,
    weights: &'a [S],
    lags: Option<&'a [u8]>,
}

impl<'a, S: Precision> Network<'a, S> {
    /// A network of `nn` nodes with weights `weights[i*nn + j]` (`W[i,j]`: input of `i`
    /// from `j`) and optional lags of the same layout (then use [`step_delayed`]).
    ///
    /// # Errors
    /// [`ParamError::ZeroSize`] for `nn = 0`, [`ParamError::TooLarge`] when `nn*nn`
    /// overflows or an array has the wrong length (`max` = the expected length),
    /// [`ParamError::NotFinite`] for a NaN or infinite weight.
    pub fn new(nn: usize, weights: &'a [S], lags: Option<&'a [u8]>) -> Result<Self, ParamError> {
        crate::error::nonzero("nn", nn)?;
        let n2 = nn.checked_mul(nn).ok_or(ParamError::TooLarge { name: "nn", max: u32::MAX as u64 })?;
        if weights.len() != n2 {
            return Err(ParamError::TooLarge { name: "weights (length must be nn*nn)", max: n2 as u64 });
        }
        if let Some(l) = lags
            && l.len() != n2
        {
            return Err(ParamError::TooLarge { name: "lags (length must be nn*nn)", max: n2 as u64 });
        }
        for &w in weights {
            crate::error::finite("weights", w.to_f64())?;
        }
        Ok(Self { nn, weights, lags })
    }

    /// Number of nodes.
    #[inline(always)]
    pub fn nn(&self) -> usize {
        self.nn
    }

    /// The weights, `[i][j]` row-major.
    #[inline(always)]
    pub fn weights(&self) -> &'a [S] {
        self.weights
    }

    /// The lags, if this is a delayed network.
    #[inline(always)]
    pub fn lags(&self) -> Option<&'a [u8]> {
        self.lags
    }
}

/// Scratch buffers of one step, each a [`LaneBuf`] (sizes in elements):
/// `xp`, `f1`, `nz`: `NV*nn` (`[var][node]`); `cv`, `c`: `nn`.
#[derive(Debug)]
pub struct Scratch<'a, B: ?Sized> {
    /// Predictor state.
    pub xp: &'a mut B,
    /// Drift at the start of the step.
    pub f1: &'a mut B,
    /// Noise increments `sigma*sqrt(dt)*z` of the step.
    pub nz: &'a mut B,
    /// Coupling variable of every node.
    pub cv: &'a mut B,
    /// Coupling input of every node.
    pub c: &'a mut B,
}

#[inline(always)]
fn load<L: Real, B: LaneBuf<L> + ?Sized, const NV: usize>(b: &B, nn: usize, i: usize) -> [L; NV] {
    core::array::from_fn(|v| b.get(v * nn + i))
}

#[inline(always)]
fn store<L: Real, B: LaneBuf<L> + ?Sized, const NV: usize>(b: &mut B, nn: usize, i: usize, x: [L; NV]) {
    for (v, xv) in x.into_iter().enumerate() {
        b.set(v * nn + i, xv);
    }
}

/// Writes the coupling variable of the nodes `nodes` of `x` into `cv[i]`, `i` in `nodes`.
#[inline(always)]
pub fn coupling_vars<L, M, B, const NV: usize>(model: &M, nn: usize, nodes: Range<usize>, x: &B, cv: &mut B)
where
    L: Real,
    M: NetworkModel<L, NV>,
    B: LaneBuf<L> + ?Sized,
{
    for i in nodes {
        cv.set(i, model.coupling_var(&load::<L, B, NV>(x, nn, i)));
    }
}

/// Rows of `W` whose sums [`coupling`] and [`coupling_delayed`] run side by side: each
/// row keeps its own accumulator and its own order (so the bits are those of one row at a
/// time), but eight independent FMA chains hide the FMA latency (4 cycles on 2 ports)
/// and share each load of `cv[j]`.
const ROWS: usize = 8;

/// `c[i] = k * sum_j W[i,j] * cv[j]` for the nodes `i` in `rows` (`cv` holds every node):
/// `j` ascending, one FMA per term starting from 0, then one multiply by `k`. (Rows are evaluated several at a time with
/// separate accumulators — 8 rows on lanes of up to 8, 4 rows on wider lanes such
/// as `f32x16`, two registers each, so that the accumulators stay in the 16 AVX2
/// registers; that changes no rounding.)
#[inline(always)]
pub fn coupling<L, B>(net: &Network<'_, L::Scalar>, k: L, rows: Range<usize>, cv: &B, c: &mut B)
where
    L: Real,
    B: LaneBuf<L> + ?Sized,
{
    if L::LANES > 8 {
        coupling_rows::<L, B, { ROWS / 2 }>(net, k, rows, cv, c);
    } else {
        coupling_rows::<L, B, ROWS>(net, k, rows, cv, c);
    }
}

/// [`coupling`] with `R` rows side by side.
#[inline(always)]
fn coupling_rows<L, B, const R: usize>(
    net: &Network<'_, L::Scalar>,
    k: L,
    rows: Range<usize>,
    cv: &B,
    c: &mut B,
) where
    L: Real,
    B: LaneBuf<L> + ?Sized,
{
    let nn = net.nn;
    let w = net.weights;
    let zero = L::splat(L::Scalar::default());
    let mut i = rows.start;
    while i + R <= rows.end {
        let mut acc = [zero; R];
        // Weights read without bounds checks in the loop, whatever range of rows this is:
        // each row as its own slice of `nn` weights for 4 rows (wide lanes: W5's sweep
        // 1.12× faster than indexing `w`), the block as one slice of `R·nn` for 8 rows
        // (eight row slices cost W4's `f32x8` groups 5 %; measured, Zen 3).
        let block = &w[i * nn..][..R * nn];
        let wr: [&[L::Scalar]; R] = core::array::from_fn(|r| &block[r * nn..][..nn]);
        for j in 0..nn {
            let x = cv.get(j);
            for (r, a) in acc.iter_mut().enumerate() {
                let wij = if R <= 4 { wr[r][j] } else { block[r * nn + j] };
                *a = L::splat(wij).mul_add(x, *a);
            }
        }
        for (r, a) in acc.into_iter().enumerate() {
            c.set(i + r, k * a);
        }
        i += R;
    }
    for i in i..rows.end {
        let mut acc = zero;
        for (j, &wij) in w[i * nn..(i + 1) * nn].iter().enumerate() {
            acc = L::splat(wij).mul_add(cv.get(j), acc);
        }
        c.set(i, k * acc);
    }
}

/// The delayed coupling at step `t` for the nodes `i` in `rows`:
/// `c[i] = k * sum_j W[i,j] * hist[(t - L[i,j]) mod 256][j]`, same order and roundings as
/// [`coupling`]. `hist` must already hold slot `t mod 256` of every node.
/// A network without lags reads lag 0 everywhere.
#[inline(always)]
pub fn coupling_delayed<L, B>(
    net: &Network<'_, L::Scalar>,
    k: L,
    t: u64,
    rows: Range<usize>,
    hist: &B,
    c: &mut B,
) where
    L: Real,
    B: LaneBuf<L> + ?Sized,
{
    if L::LANES > 8 {
        coupling_delayed_rows::<L, B, { ROWS / 2 }>(net, k, t, rows, hist, c);
    } else {
        coupling_delayed_rows::<L, B, ROWS>(net, k, t, rows, hist, c);
    }
}

/// [`coupling_delayed`] with `R` rows side by side.
#[inline(always)]
fn coupling_delayed_rows<L, B, const R: usize>(
    net: &Network<'_, L::Scalar>,
    k: L,
    t: u64,
    rows: Range<usize>,
    hist: &B,
    c: &mut B,
) where
    L: Real,
    B: LaneBuf<L> + ?Sized,
{
    let nn = net.nn;
    let w = net.weights;
    let zero = L::splat(L::Scalar::default());
    let now = ring_slot(t);
    let read = |e: usize, j: usize| {
        let lag = net.lags.map_or(0, |l| usize::from(l[e]));
        hist.get(((now + RING - lag) % RING) * nn + j)
    };
    let mut i = rows.start;
    while i + R <= rows.end {
        let mut acc = [zero; R];
        for j in 0..nn {
            for (r, a) in acc.iter_mut().enumerate() {
                let e = (i + r) * nn + j;
                *a = L::splat(w[e]).mul_add(read(e, j), *a);
            }
        }
        for (r, a) in acc.into_iter().enumerate() {
            c.set(i + r, k * a);
        }
        i += R;
    }
    for i in i..rows.end {
        let mut acc = zero;
        for j in 0..nn {
            let e = i * nn + j;
            acc = L::splat(w[e]).mul_add(read(e, j), acc);
        }
        c.set(i, k * acc);
    }
}

/// The ring buffer slot of step `t` (`t mod RING`).
#[inline(always)]
pub fn ring_slot(t: u64) -> usize {
    (t % RING as u64) as usize
}

/// Writes the coupling variable of the nodes `nodes` of the state `x` at step `t` into
/// their cells of slot `t mod RING` of the ring buffer `hist` (the start of
/// [`step_delayed`]).
#[inline(always)]
pub fn record_history<L, M, B, const NV: usize>(
    model: &M,
    nn: usize,
    nodes: Range<usize>,
    t: u64,
    x: &B,
    hist: &mut B,
) where
    L: Real,
    M: NetworkModel<L, NV>,
    B: LaneBuf<L> + ?Sized,
{
    let now = ring_slot(t);
    for i in nodes {
        hist.set(now * nn + i, model.coupling_var(&load::<L, B, NV>(x, nn, i)));
    }
}

/// Fills every slot of the ring buffer `hist` (`RING*nn` elements) with the coupling
/// variable of the state `x` (history before `t = 0` holds the initial state).
pub fn init_history<L, M, B, const NV: usize>(model: &M, nn: usize, x: &B, hist: &mut B)
where
    L: Real,
    M: NetworkModel<L, NV>,
    B: LaneBuf<L> + ?Sized,
{
    for i in 0..nn {
        let v = model.coupling_var(&load::<L, B, NV>(x, nn, i));
        for slot in 0..RING {
            hist.set(slot * nn + i, v);
        }
    }
}

/// The predictor stage of the nodes `nodes` with their coupling already in `s.c`: draws
/// their normals, stores their `f1`, `nz` and `xp`. `normals` must be positioned at
/// normal `(t*nn + nodes.start)*NV` of each lane's stream (at step `t`); it is left at the
/// normal after the range's last.
// On the GPU the two stages are real calls: inlined into the step loop, ptxas needed
// 255 registers and spilled (jansen_rit, sm_90); outlined, 216 and no spills. Same
// instructions either way, so the same bits; the CPU keeps them inlined.
#[cfg_attr(not(target_arch = "nvptx64"), inline(always))]
#[cfg_attr(target_arch = "nvptx64", inline(never))]
pub fn predictor<L, M, B, const NV: usize>(
    model: &M,
    nn: usize,
    nodes: Range<usize>,
    h: &HeunCoeffs<L>,
    x: &B,
    s: &mut Scratch<'_, B>,
    normals: &mut impl NormalSource<L>,
) where
    L: Real,
    M: NetworkModel<L, NV>,
    B: LaneBuf<L> + ?Sized,
{
    for i in nodes {
        let xi = load::<L, B, NV>(x, nn, i);
        let f1 = model.drift(xi, s.c.get(i));
        let nz: [L; NV] = core::array::from_fn(|_| h.noise * normals.next());
        let xp: [L; NV] = core::array::from_fn(|v| h.dt.mul_add(f1[v], xi[v]) + nz[v]);
        store(s.f1, nn, i, f1);
        store(s.nz, nn, i, nz);
        store(s.xp, nn, i, xp);
    }
}

/// The corrector stage of the nodes `nodes` with the coupling of their predictor in `s.c`:
/// updates their `x`.
// A real call on the GPU, as `predictor`.
#[cfg_attr(not(target_arch = "nvptx64"), inline(always))]
#[cfg_attr(target_arch = "nvptx64", inline(never))]
pub fn corrector<L, M, B, const NV: usize>(
    model: &M,
    nn: usize,
    nodes: Range<usize>,
    h: &HeunCoeffs<L>,
    x: &mut B,
    s: &Scratch<'_, B>,
) where
    L: Real,
    M: NetworkModel<L, NV>,
    B: LaneBuf<L> + ?Sized,
{
    for i in nodes {
        let xi = load::<L, B, NV>(x, nn, i);
        let f1 = load::<L, B, NV>(s.f1, nn, i);
        let nz = load::<L, B, NV>(s.nz, nn, i);
        let f2 = model.drift(load::<L, B, NV>(s.xp, nn, i), s.c.get(i));
        let new: [L; NV] = core::array::from_fn(|v| h.half_dt.mul_add(f1[v] + f2[v], xi[v]) + nz[v]);
        store(x, nn, i, model.post_step(new));
    }
}

/// One stochastic Heun step with instantaneous coupling (recomputed from the predictor).
///
/// `x` holds the state `[var][node]` (`NV*nn` elements); `normals` must be positioned at
/// normal `t*nn*NV` of each lane's stream (read in order from 0, it always is); `k` is the
/// per-lane coupling strength. Lengths are the caller's contract (checked by indexing).
#[inline(always)]
pub fn step<L, M, B, const NV: usize>(
    model: &M,
    net: &Network<'_, L::Scalar>,
    k: L,
    h: &HeunCoeffs<L>,
    x: &mut B,
    s: &mut Scratch<'_, B>,
    normals: &mut impl NormalSource<L>,
) where
    L: Real,
    M: NetworkModel<L, NV>,
    B: LaneBuf<L> + ?Sized,
{
    let nn = net.nn;
    coupling_vars::<L, M, B, NV>(model, nn, 0..nn, x, s.cv);
    coupling(net, k, 0..nn, &*s.cv, s.c);
    predictor::<L, M, B, NV>(model, nn, 0..nn, h, x, s, normals);
    coupling_vars::<L, M, B, NV>(model, nn, 0..nn, &*s.xp, s.cv);
    coupling(net, k, 0..nn, &*s.cv, s.c);
    corrector::<L, M, B, NV>(model, nn, 0..nn, h, x, s);
}

/// One stochastic Heun step `t -> t+1` with delayed coupling (W4d), computed once at the
/// start of the step and used by both stages. `hist` is the ring buffer (`RING*nn`
/// elements, `[slot][node]`), prepared by [`init_history`] before step 0 and updated here
/// (slot `t mod 256` receives the coupling variable of the state at `t`). Other arguments
/// as in [`step`]; `s.cv` is not used.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn step_delayed<L, M, B, const NV: usize>(
    model: &M,
    net: &Network<'_, L::Scalar>,
    k: L,
    h: &HeunCoeffs<L>,
    t: u64,
    x: &mut B,
    hist: &mut B,
    s: &mut Scratch<'_, B>,
    normals: &mut impl NormalSource<L>,
) where
    L: Real,
    M: NetworkModel<L, NV>,
    B: LaneBuf<L> + ?Sized,
{
    let nn = net.nn;
    record_history::<L, M, B, NV>(model, nn, 0..nn, t, &*x, hist);
    coupling_delayed(net, k, t, 0..nn, &*hist, s.c);
    predictor::<L, M, B, NV>(model, nn, 0..nn, h, x, s, normals);
    corrector::<L, M, B, NV>(model, nn, 0..nn, h, x, s);
}

/// Runs steps `t0..t0 + steps` of one group of lanes: delayed coupling ([`step_delayed`])
/// when `hist` is given, instantaneous ([`step`]) otherwise. `after(t, x)` sees the state
/// `x[t]` after each step (`t = t0+1 ..= t0+steps`). For a run from `t0 = 0`, prepare
/// `hist` with [`init_history`] and start `normals` at normal 0; other arguments as in
/// [`step`].
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn run<L, M, B, const NV: usize>(
    model: &M,
    net: &Network<'_, L::Scalar>,
    k: L,
    h: &HeunCoeffs<L>,
    x: &mut B,
    mut hist: Option<&mut B>,
    s: &mut Scratch<'_, B>,
    normals: &mut impl NormalSource<L>,
    t0: u64,
    steps: u64,
    mut after: impl FnMut(u64, &B),
) where
    L: Real,
    M: NetworkModel<L, NV>,
    B: LaneBuf<L> + ?Sized,
{
    for t in t0..t0 + steps {
        match hist.as_deref_mut() {
            Some(hb) => step_delayed::<L, M, B, NV>(model, net, k, h, t, x, hb, s, normals),
            None => step::<L, M, B, NV>(model, net, k, h, x, s, normals),
        }
        after(t + 1, &*x);
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::rng::{NormalSeq, Stream};
    use std::vec;
    use std::vec::Vec;

    /// `dx = a*x + c`, coupled through `x` itself.
    struct Linear {
        a: f32,
    }
    impl NetworkModel<f32, 1> for Linear {
        fn drift(&self, x: [f32; 1], c: f32) -> [f32; 1] {
            [self.a.mul_add(x[0], c)]
        }
        fn coupling_var(&self, x: &[f32; 1]) -> f32 {
            x[0]
        }
    }

    struct Bufs {
        xp: Vec<f32>,
        f1: Vec<f32>,
        nz: Vec<f32>,
        cv: Vec<f32>,
        c: Vec<f32>,
    }
    impl Bufs {
        fn new(nv: usize, nn: usize) -> Self {
            Self {
                xp: vec![0.0; nv * nn],
                f1: vec![0.0; nv * nn],
                nz: vec![0.0; nv * nn],
                cv: vec![0.0; nn],
                c: vec![0.0; nn],
            }
        }
        fn scratch(&mut self) -> Scratch<'_, [f32]> {
            Scratch { xp: &mut self.xp, f1: &mut self.f1, nz: &mut self.nz, cv: &mut self.cv, c: &mut self.c }
        }
    }

    fn ulps(a: f32, b: f32) -> u32 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs() as u32
    }

    #[test]
    fn sigma_zero_linear_step_is_the_trapezoid_closed_form() {
        let w = [0.0f32];
        let net = Network::new(1, &w, None).unwrap();
        let h = HeunCoeffs::<f32>::new(0.1, 0.0).unwrap();
        let mut b = Bufs::new(1, 1);
        for (a, x0) in [(-1.0f32, 1.0f32), (0.5, -3.0), (-2.5, 0.25)] {
            let m = Linear { a };
            let mut x = [x0];
            let mut normals = NormalSeq::new(Stream::<f32>::consecutive(0, 0), 0);
            step(&m, &net, 0.0, &h, &mut x[..], &mut b.scratch(), &mut normals);
            let ad = f64::from(a) * 0.1;
            let want = (f64::from(x0) * (1.0 + ad + ad * ad / 2.0)) as f32;
            assert!(ulps(x[0], want) <= 4, "a={a}: {} vs {want}", x[0]);
        }
    }

    #[test]
    fn noise_is_added_once_with_the_streams_normal() {
        // a = 0: x' = x + s*z exactly, z = normal 0 of the stream.
        let w = [0.0f32];
        let net = Network::new(1, &w, None).unwrap();
        let h = HeunCoeffs::<f32>::new(0.25, 2.0).unwrap();
        assert_eq!(h.noise, 1.0);
        let mut b = Bufs::new(1, 1);
        let stream = Stream::<f32>::consecutive(5, 3);
        let mut normals = NormalSeq::new(stream, 0);
        let mut x = [0.0f32];
        step(&Linear { a: 0.0 }, &net, 0.0, &h, &mut x[..], &mut b.scratch(), &mut normals);
        let z0 = NormalSeq::new(stream, 0).next();
        assert_eq!(x[0].to_bits(), z0.to_bits());
        assert_ne!(x[0], 0.0);
    }

    /// No drift, two variables: the state is the running sum of the noise increments.
    struct Drifter;
    impl NetworkModel<f32, 2> for Drifter {
        fn drift(&self, _x: [f32; 2], _c: f32) -> [f32; 2] {
            [0.0; 2]
        }
        fn coupling_var(&self, x: &[f32; 2]) -> f32 {
            x[0]
        }
    }

    #[test]
    fn noise_of_var_v_node_i_step_t_is_normal_t_nn_plus_i_times_nv_plus_v() {
        let nn = 3;
        let w = [0.0f32; 9];
        let net = Network::new(nn, &w, None).unwrap();
        let h = HeunCoeffs::<f32>::new(1.0, 1.0).unwrap();
        let stream = Stream::<f32>::consecutive(12, 7);
        let normal = |j: u64| {
            let (z0, z1) = crate::rng::stream::box_muller(stream.uniform(j & !1), stream.uniform(j | 1));
            if j.is_multiple_of(2) { z0 } else { z1 }
        };
        let mut x = vec![0.0f32; 2 * nn];
        let mut b = Bufs::new(2, nn);
        let mut seq = NormalSeq::new(stream, 0);
        let mut want = vec![0.0f32; 2 * nn];
        for t in 0..3u64 {
            step(&Drifter, &net, 1.0, &h, &mut x[..], &mut b.scratch(), &mut seq);
            for i in 0..nn {
                for v in 0..2 {
                    want[v * nn + i] += normal((t * nn as u64 + i as u64) * 2 + v as u64);
                }
            }
            assert_eq!(x, want, "after step {t}");
        }
    }

    #[test]
    fn blocked_coupling_equals_one_row_at_a_time() {
        // nn = 19: two blocks of eight rows and a remainder of three.
        let nn = 19;
        let w: Vec<f32> = (0..nn * nn).map(|e| ((e * 7919 % 113) as f32 - 40.0) * 0.013).collect();
        let lags: Vec<u8> = (0..nn * nn).map(|e| (e * 31 % 256) as u8).collect();
        let cv: Vec<f32> = (0..nn).map(|j| 1.0 / (j as f32 + 0.7)).collect();
        let hist: Vec<f32> = (0..RING * nn).map(|e| ((e * 131 % 997) as f32).sqrt() - 15.0).collect();
        let k = 0.37f32;
        let naive = |i: usize, x: &dyn Fn(usize) -> f32| {
            let mut acc = 0.0f32;
            for j in 0..nn {
                acc = w[i * nn + j].mul_add(x(j), acc);
            }
            k * acc
        };
        let net = Network::new(nn, &w, None).unwrap();
        let mut c = vec![0.0f32; nn];
        coupling(&net, k, 0..nn, &cv[..], &mut c[..]);
        for (i, ci) in c.iter().enumerate() {
            assert_eq!(ci.to_bits(), naive(i, &|j| cv[j]).to_bits(), "row {i}");
        }
        // A range of rows (a block of eight from row 3 and a remainder of five) writes
        // those rows only, with the same bits.
        let mut part = vec![f32::NAN; nn];
        coupling(&net, k, 3..16, &cv[..], &mut part[..]);
        for (i, ci) in part.iter().enumerate() {
            if (3..16).contains(&i) {
                assert_eq!(ci.to_bits(), c[i].to_bits(), "row {i} of 3..16");
            } else {
                assert!(ci.is_nan(), "row {i} outside 3..16 written");
            }
        }
        let net = Network::new(nn, &w, Some(&lags)).unwrap();
        let t = 300u64;
        coupling_delayed(&net, k, t, 0..nn, &hist[..], &mut c[..]);
        for (i, ci) in c.iter().enumerate() {
            let x = |j: usize| hist[((t as usize + RING - usize::from(lags[i * nn + j])) % RING) * nn + j];
            assert_eq!(ci.to_bits(), naive(i, &x).to_bits(), "delayed row {i}");
        }
        let mut part = vec![f32::NAN; nn];
        coupling_delayed(&net, k, t, 5..19, &hist[..], &mut part[..]);
        for (i, ci) in part.iter().enumerate() {
            if i >= 5 {
                assert_eq!(ci.to_bits(), c[i].to_bits(), "delayed row {i} of 5..19");
            } else {
                assert!(ci.is_nan(), "delayed row {i} outside 5..19 written");
            }
        }
        // The half-height blocks of wide lanes (4 rows: four blocks and a remainder of 3).
        let net = Network::new(nn, &w, None).unwrap();
        coupling_rows::<f32, [f32], { ROWS / 2 }>(&net, k, 0..nn, &cv[..], &mut c[..]);
        for (i, ci) in c.iter().enumerate() {
            assert_eq!(ci.to_bits(), naive(i, &|j| cv[j]).to_bits(), "row {i} (4-row blocks)");
        }
        let net = Network::new(nn, &w, Some(&lags)).unwrap();
        coupling_delayed_rows::<f32, [f32], { ROWS / 2 }>(&net, k, t, 0..nn, &hist[..], &mut c[..]);
        for (i, ci) in c.iter().enumerate() {
            let x = |j: usize| hist[((t as usize + RING - usize::from(lags[i * nn + j])) % RING) * nn + j];
            assert_eq!(ci.to_bits(), naive(i, &x).to_bits(), "delayed row {i} (4-row blocks)");
        }
    }

    #[test]
    fn coupling_is_k_times_weighted_sum() {
        let w = [0.0f32, 0.25, 0.75, 0.5, 0.0, 0.5, 1.0, 0.0, 0.0];
        let net = Network::new(3, &w, None).unwrap();
        let cv = [2.0f32, 4.0, 8.0];
        let mut c = [0.0f32; 3];
        coupling(&net, 0.5f32, 0..3, &cv[..], &mut c[..]);
        assert_eq!(c, [0.5 * (1.0 + 6.0), 0.5 * (1.0 + 4.0), 0.5 * 2.0]);
    }

    #[test]
    fn delayed_with_zero_lags_equals_start_of_step_coupling() {
        // The delayed coupling with all lags 0 equals the instantaneous coupling at the
        // start of the step, and the step equals a Heun step that keeps that coupling.
        let nn = 4;
        let w: Vec<f32> =
            (0..nn * nn).map(|e| if e % (nn + 1) == 0 { 0.0 } else { 0.1 * e as f32 }).collect();
        let lags = vec![0u8; nn * nn];
        let delayed = Network::new(nn, &w, Some(&lags)).unwrap();
        let m = Linear { a: -0.3 };
        let k = 0.7f32;
        let x0: Vec<f32> = (0..nn).map(|i| 1.0 + i as f32).collect();
        let mut hist = vec![0.0f32; RING * nn];
        init_history::<f32, _, _, 1>(&m, nn, &x0[..], &mut hist[..]);
        let mut cd = vec![0.0f32; nn];
        coupling_delayed(&delayed, k, 0, 0..nn, &hist[..], &mut cd[..]);
        let mut ci = vec![0.0f32; nn];
        coupling(&delayed, k, 0..nn, &x0[..], &mut ci[..]);
        assert_eq!(cd, ci);

        // Full step: delayed (lags 0) vs predictor+corrector both with c(x_t).
        let h = HeunCoeffs::<f32>::new(0.1, 0.05).unwrap();
        let stream = Stream::<f32>::consecutive(9, 1);
        let mut xd = x0.clone();
        let mut b = Bufs::new(1, nn);
        let mut seq = NormalSeq::new(stream, 0);
        step_delayed(&m, &delayed, k, &h, 0, &mut xd[..], &mut hist[..], &mut b.scratch(), &mut seq);
        let mut seq = NormalSeq::new(stream, 0);
        for i in 0..nn {
            let z = h.noise * seq.next();
            let f1 = m.drift([x0[i]], ci[i])[0];
            let xp = h.dt.mul_add(f1, x0[i]) + z;
            let f2 = m.drift([xp], ci[i])[0];
            let want = h.half_dt.mul_add(f1 + f2, x0[i]) + z;
            assert_eq!(xd[i].to_bits(), want.to_bits(), "node {i}");
        }
    }

    #[test]
    fn delayed_coupling_reads_the_lagged_slot() {
        // Two nodes, node 0 listens to node 1 with lag 3. After writing distinct values
        // into history slots, the coupling reads slot t-3.
        let w = [0.0f32, 1.0, 0.0, 0.0];
        let lags = [0u8, 3, 0, 0];
        let net = Network::new(2, &w, Some(&lags)).unwrap();
        let mut hist = vec![0.0f32; RING * 2];
        for slot in 0..RING {
            hist[slot * 2 + 1] = slot as f32;
        }
        let mut c = [0.0f32; 2];
        coupling_delayed(&net, 1.0, 10, 0..2, &hist[..], &mut c[..]);
        assert_eq!(c[0], 7.0);
        coupling_delayed(&net, 1.0, 257, 0..2, &hist[..], &mut c[..]); // slot 1 - 3 wraps to 254
        assert_eq!(c[0], 254.0);
    }

    /// Runs `nt` steps of one group of lanes from zero state (or `x0` everywhere).
    #[allow(clippy::too_many_arguments)]
    fn run_group<L: Real, M: NetworkModel<L, NV>, const NV: usize>(
        model: &M,
        net: &Network<'_, L::Scalar>,
        k: L,
        h: &HeunCoeffs<L>,
        x0: [L; NV],
        seed: u64,
        first: u64,
        nt: u64,
    ) -> Vec<L> {
        let nn = net.nn();
        let z = L::splat(L::Scalar::default());
        let mut x: Vec<L> = (0..NV * nn).map(|e| x0[e / nn]).collect();
        let (mut xp, mut f1, mut nz) = (vec![z; NV * nn], vec![z; NV * nn], vec![z; NV * nn]);
        let (mut cv, mut c, mut hist) = (vec![z; nn], vec![z; nn], vec![z; RING * nn]);
        let mut s =
            Scratch { xp: &mut xp[..], f1: &mut f1[..], nz: &mut nz[..], cv: &mut cv[..], c: &mut c[..] };
        let mut seq = NormalSeq::new(Stream::<L>::consecutive(seed, first), 0);
        let hist = if net.lags().is_some() {
            init_history::<L, M, [L], NV>(model, nn, &x[..], &mut hist[..]);
            Some(&mut hist[..])
        } else {
            None
        };
        run::<L, M, [L], NV>(model, net, k, h, &mut x[..], hist, &mut s, &mut seq, 0, nt, |_, _| {});
        x
    }

    #[test]
    fn run_equals_repeated_steps() {
        let nn = 3;
        let w = [0.0f32, 0.5, 0.5, 1.0, 0.0, 0.0, 0.25, 0.75, 0.0];
        let net = Network::new(nn, &w, None).unwrap();
        let m = Linear { a: -0.2 };
        let h = HeunCoeffs::<f32>::new(0.1, 0.3).unwrap();
        let got = run_group(&m, &net, 0.4f32, &h, [1.0f32], 4, 2, 5);
        let mut x = vec![1.0f32; nn];
        let mut b = Bufs::new(1, nn);
        let mut seq = NormalSeq::new(Stream::<f32>::consecutive(4, 2), 0);
        for _ in 0..5 {
            step(&m, &net, 0.4, &h, &mut x[..], &mut b.scratch(), &mut seq);
        }
        assert_eq!(got, x);
    }

    /// The phases run on pieces of the nodes (as a node-parallel driver runs them, each
    /// piece's normals positioned at its first node) give the bits of [`step`] and
    /// [`step_delayed`] over all nodes.
    #[test]
    fn phases_on_node_ranges_equal_whole_steps() {
        use crate::models::connectivity::{default_lags, default_weights};
        use crate::models::jansen_rit::{JansenRit, JansenRitParams};
        const NV: usize = 6;
        let nn = 7;
        let mut w = vec![0.0f32; nn * nn];
        let mut lags = vec![0u8; nn * nn];
        default_weights(5, nn, &mut w).unwrap();
        default_lags(5, nn, &mut lags).unwrap();
        let model = JansenRit::new(&JansenRitParams::default(), 0.22f32);
        let h = HeunCoeffs::<f32>::new(1.0, 0.05).unwrap();
        let (k, seed, stream_id) = (3.0f32, 11u64, 6u64);
        let pieces = [0..3, 3..4, 4..7];
        for delayed in [false, true] {
            let net = Network::new(nn, &w, delayed.then_some(&lags[..])).unwrap();
            let x0: Vec<f32> = (0..NV * nn).map(|e| 0.01 * e as f32).collect();
            let (mut whole, mut split) = (x0.clone(), x0.clone());
            let (mut hw, mut hs) = (vec![0.0f32; RING * nn], vec![0.0f32; RING * nn]);
            init_history::<f32, _, [f32], NV>(&model, nn, &x0[..], &mut hw[..]);
            hs.copy_from_slice(&hw);
            let (mut bw, mut bs) = (Bufs::new(NV, nn), Bufs::new(NV, nn));
            let mut seq = NormalSeq::new(Stream::<f32>::consecutive(seed, stream_id), 0);
            for t in 0..40u64 {
                if delayed {
                    step_delayed(
                        &model,
                        &net,
                        k,
                        &h,
                        t,
                        &mut whole[..],
                        &mut hw[..],
                        &mut bw.scratch(),
                        &mut seq,
                    );
                } else {
                    step(&model, &net, k, &h, &mut whole[..], &mut bw.scratch(), &mut seq);
                }
                let mut s = bs.scratch();
                let normals_at = |i: usize| {
                    NormalSeq::new(
                        Stream::<f32>::consecutive(seed, stream_id),
                        (t * nn as u64 + i as u64) * NV as u64,
                    )
                };
                for r in pieces.clone() {
                    if delayed {
                        record_history::<f32, _, [f32], NV>(&model, nn, r, t, &split[..], &mut hs[..]);
                    } else {
                        coupling_vars::<f32, _, [f32], NV>(&model, nn, r, &split[..], s.cv);
                    }
                }
                for r in pieces.clone() {
                    if delayed {
                        coupling_delayed(&net, k, t, r.clone(), &hs[..], s.c);
                    } else {
                        coupling(&net, k, r.clone(), &*s.cv, s.c);
                    }
                    predictor::<f32, _, [f32], NV>(
                        &model,
                        nn,
                        r.clone(),
                        &h,
                        &split[..],
                        &mut s,
                        &mut normals_at(r.start),
                    );
                }
                if !delayed {
                    for r in pieces.clone() {
                        coupling_vars::<f32, _, [f32], NV>(&model, nn, r, &*s.xp, s.cv);
                    }
                    for r in pieces.clone() {
                        coupling(&net, k, r, &*s.cv, s.c);
                    }
                }
                for r in pieces.clone() {
                    corrector::<f32, _, [f32], NV>(&model, nn, r, &h, &mut split[..], &s);
                }
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&split), bits(&whole), "delayed={delayed} step {t}");
            }
        }
    }

    /// The architecture's promise: the same functions on `wide::f32x8` (member `l` in lane
    /// `l`) give the bits of eight scalar runs, for both models, with and without delays.
    #[cfg(feature = "simd")]
    #[test]
    fn f32x8_lanes_equal_scalar_members() {
        use crate::models::connectivity::{default_lags, default_weights};
        use crate::models::jansen_rit::{JansenRit, JansenRitParams};
        use crate::models::mpr::{Mpr, MprParams};
        use wide::f32x8;
        let nn = 5;
        let mut w = vec![0.0f32; nn * nn];
        let mut lags = vec![0u8; nn * nn];
        default_weights(3, nn, &mut w).unwrap();
        default_lags(3, nn, &mut lags).unwrap();
        let first = 16u64;
        let ks: [f32; 8] = core::array::from_fn(|l| 0.5 * l as f32);
        let mus: [f32; 8] = core::array::from_fn(|l| 0.1 + 0.03 * l as f32);
        for delayed in [false, true] {
            let net = Network::new(nn, &w, if delayed { Some(&lags[..]) } else { None }).unwrap();
            // Jansen–Rit.
            let p = JansenRitParams::default();
            let h8 = HeunCoeffs::<f32x8>::new(1.0, 0.01).unwrap();
            let h1 = HeunCoeffs::<f32>::new(1.0, 0.01).unwrap();
            let m8 = JansenRit::new(&p, f32x8::from(mus));
            let v8 = run_group(&m8, &net, f32x8::from(ks), &h8, [f32x8::splat(0.0); 6], 1, first, 300);
            for l in 0..8 {
                let m1 = JansenRit::new(&p, mus[l]);
                let v1 = run_group(&m1, &net, ks[l], &h1, [0.0f32; 6], 1, first + l as u64, 300);
                for e in 0..6 * nn {
                    assert_eq!(
                        v8[e].lane(l).to_bits(),
                        v1[e].to_bits(),
                        "JR delayed={delayed} lane {l} elem {e}"
                    );
                }
            }
            // MPR.
            let p = MprParams::default();
            let h8 = HeunCoeffs::<f32x8>::new(0.01, 0.2).unwrap();
            let h1 = HeunCoeffs::<f32>::new(0.01, 0.2).unwrap();
            let etas: [f32; 8] = core::array::from_fn(|l| -6.0 + 0.4 * l as f32);
            let m8 = Mpr::new(&p, f32x8::from(etas));
            let x0 = [f32x8::splat(0.1), f32x8::splat(-2.0)];
            let v8 = run_group(&m8, &net, f32x8::from(ks), &h8, x0, 2, first, 300);
            for l in 0..8 {
                let v1 = run_group(
                    &Mpr::new(&p, etas[l]),
                    &net,
                    ks[l],
                    &h1,
                    [0.1, -2.0],
                    2,
                    first + l as u64,
                    300,
                );
                for e in 0..2 * nn {
                    assert_eq!(
                        v8[e].lane(l).to_bits(),
                        v1[e].to_bits(),
                        "MPR delayed={delayed} lane {l} elem {e}"
                    );
                }
            }
        }
    }

    #[test]
    fn bad_inputs_are_typed_errors() {
        assert!(matches!(HeunCoeffs::<f32>::new(0.0, 1.0), Err(ParamError::NotPositive { .. })));
        assert!(matches!(HeunCoeffs::<f32>::new(1.0, -1.0), Err(ParamError::Negative { .. })));
        assert!(matches!(HeunCoeffs::<f32>::new(f32::NAN, 1.0), Err(ParamError::NotFinite { .. })));
        let w = [0.0f32; 3];
        assert!(Network::new(2, &w, None).is_err());
        assert!(matches!(Network::<f32>::new(0, &[], None), Err(ParamError::ZeroSize { .. })));
        let w = [0.0f32, f32::INFINITY, 0.0, 0.0];
        assert!(matches!(Network::new(2, &w, None), Err(ParamError::NotFinite { .. })));
        let w = [0.0f32; 4];
        assert!(Network::new(2, &w, Some(&[0u8; 3])).is_err());
    }
}
