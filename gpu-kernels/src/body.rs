//! Kernel bodies: what GPU thread `tid` computes, as safe Rust over `simcore`.
//!
//! Why separate from the entry points: the same function runs on the device (called by
//! the `extern "ptx-kernel"` entry after its bounds check) and on the host (called by the
//! grid emulator for every thread index), so host tests prove the device logic. Each body
//! is a pure function of its thread index and scalar arguments; outputs go either in the
//! return value or through a `put(index, value)` sink that the caller maps to global
//! memory, with the index documented per body.

use simcore::models::heun::{self, HeunCoeffs, LaneBuf, Network, RING, Scratch};
use simcore::models::jansen_rit::{JansenRit, JansenRitParams};
use simcore::models::mpr::{Mpr, MprParams, RateStats};
use simcore::models::ou::OuCoeffs;
use simcore::rng::jax::{JaxLanes, JaxNormals, JaxNormalsWidened, Key, Layout};
use simcore::rng::{NormalSeq, NormalSource, Stream};

/// The JAX stream mode of a batch (simlanes `workload::jax`): member `b` of `count` draws
/// with key `jax.random.split(key, count)[b]`, computed per thread (one threefry hash
/// under the partitionable layout, two under the legacy one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JaxNoise {
    /// The parent key (`jax.random.key_data(key)`).
    pub key: [u32; 2],
    /// `jax_threefry_partitionable=False`.
    pub legacy: bool,
    /// Batch size the key is split into.
    pub count: u64,
}

impl JaxNoise {
    /// From the kernel arguments: `key = key[0] << 32 | key[1]`, `layout` 1 = legacy,
    /// anything else = partitionable.
    #[inline(always)]
    pub fn from_args(key: u64, layout: u32, count: u64) -> Self {
        Self { key: [(key >> 32) as u32, key as u32], legacy: layout == 1, count }
    }

    /// The kernel arguments `(key, layout)` of [`Self::from_args`].
    pub fn to_args(&self) -> (u64, u32) {
        ((u64::from(self.key[0]) << 32) | u64::from(self.key[1]), u32::from(self.legacy))
    }

    /// Member `b`'s draw of `n` words; `None` only for sizes the host rejects.
    #[inline(always)]
    pub fn member(&self, b: u64, n: u64) -> Option<JaxLanes<u32>> {
        let layout = if self.legacy { Layout::Legacy } else { Layout::Partitionable };
        JaxLanes::for_members(Key(self.key), layout, self.count, b, n).ok()
    }
}

/// W1, JAX mode: hits of estimate `first + tid` over its first `pairs` pairs of
/// `jax.random.uniform(k, (pairs, 2))` ([`simcore::models::pi::pi_hits_jax_each_pair`]).
#[inline(always)]
pub fn pi_hits_jax(tid: u32, jax: &JaxNoise, first: u64, pairs: u64) -> u32 {
    match jax.member(first.wrapping_add(u64::from(tid)), 2 * pairs) {
        Some(l) => simcore::models::pi::pi_hits_jax_each_pair::<f32>(&l, pairs),
        None => 0,
    }
}

/// W2 mode (b), JAX mode: as [`ou_final`] with `z[t]` = element `t` of
/// `jax.random.normal(k, (num_steps,))` widened to f64.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub fn ou_final_jax(
    tid: u32,
    jax: &JaxNoise,
    first: u64,
    num_steps: u64,
    x0: f64,
    relax: f64,
    diffuse: f64,
) -> f64 {
    let c = OuCoeffs { relax, diffuse };
    match jax.member(first.wrapping_add(u64::from(tid)), num_steps) {
        Some(l) => {
            simcore::models::ou::ou_final_from(&mut JaxNormalsWidened::<f64>::new(l, 0), num_steps, x0, &c)
        }
        None => f64::NAN,
    }
}

/// W2 mode (a), JAX mode: as [`ou_path`] with the normals of [`ou_final_jax`].
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub fn ou_path_jax(
    tid: u32,
    jax: &JaxNoise,
    first: u64,
    num_steps: u64,
    x0: f64,
    relax: f64,
    diffuse: f64,
    put: impl FnMut(u64, f64),
) -> f64 {
    let c = OuCoeffs { relax, diffuse };
    match jax.member(first.wrapping_add(u64::from(tid)), num_steps) {
        Some(l) => simcore::models::ou::ou_path_from(
            &mut JaxNormalsWidened::<f64>::new(l, 0),
            num_steps,
            x0,
            &c,
            put,
        ),
        None => f64::NAN,
    }
}

/// W2 mode (b) parallel in time, stage 1: thread `tid` runs chunk `c = tid % chunks` of
/// simulation `tid / chunks` **from 0** — steps `c·len ..` (`last` steps for the last
/// chunk, `len` otherwise) — and returns its sum `y` ([`simcore::models::ou::ou_chunk_sums`]
/// on one f64 lane, the bits every CPU backend's chunk gives). The host stitches the
/// chunks of a simulation in order, `x ← fma(x, relax^steps, y)`, as the CPU mode does.
/// `len` must be a multiple of 4 (a chunk starts at the start of a Philox block).
#[inline(always)]
pub fn ou_chunk_sum(tid: u32, seed: u64, chunks: u32, len: u64, last: u64, relax: f64, diffuse: f64) -> f64 {
    let c = OuCoeffs { relax, diffuse };
    let (sim, chunk) = (u64::from(tid / chunks), tid % chunks);
    let steps = if chunk + 1 == chunks { last } else { len };
    let start = u64::from(chunk) * len;
    simcore::models::ou::ou_chunk_sums::<f64>(seed, |_| sim, |_| start, steps, &c)
}

/// [`ou_chunk_sum`] on the JAX normals of [`ou_final_jax`]: the chunk reads elements
/// `c·len ..` of its simulation's draw of `(chunks − 1)·len + last` normals
/// ([`simcore::models::ou::ou_chunk_sums_jax`] on one lane, normals computed in f32 and
/// widened, as on the CPU). NaN if the draw cannot be formed (the host validates first).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub fn ou_chunk_sum_jax(
    tid: u32,
    jax: &JaxNoise,
    chunks: u32,
    len: u64,
    last: u64,
    relax: f64,
    diffuse: f64,
) -> f64 {
    let c = OuCoeffs { relax, diffuse };
    let (sim, chunk) = (u64::from(tid / chunks), tid % chunks);
    let steps = if chunk + 1 == chunks { last } else { len };
    let num_steps = u64::from(chunks - 1) * len + last;
    match jax.member(sim, num_steps) {
        Some(l) => {
            simcore::models::ou::ou_chunk_sums_jax::<f64, f32>(&l, 0, 0, u64::from(chunk) * len, steps, &c)
        }
        None => f64::NAN,
    }
}

/// W1: hits of estimate `first + tid` over its first `pairs` pairs
/// ([`simcore::models::pi::pi_hits`] on one lane). `pairs` must pass
/// [`simcore::models::pi::validate_pairs`] (the host checks it).
#[inline(always)]
pub fn pi_hits(tid: u32, seed: u64, first: u64, pairs: u64) -> u32 {
    simcore::models::pi::pi_hits::<f32>(seed, first.wrapping_add(u64::from(tid)), pairs)
}

/// Uniforms `0..count` of stream `first + tid`: `put(j, u_j)`. Written by the caller at
/// `out[tid * count + j]` (row `tid` of a row-major `n × count` array: W3's pregenerated
/// `[s][k][a]` layout when `count = n * d`).
#[inline(always)]
pub fn fill_uniforms(tid: u32, seed: u64, first: u64, count: u32, mut put: impl FnMut(u32, f32)) {
    let stream = Stream::<f32>::consecutive(seed, first.wrapping_add(u64::from(tid)));
    let mut j = 0u32;
    let mut c = 0u64;
    while j < count {
        let u = stream.uniform_block(c);
        let mut k = 0;
        while k < 4 && j < count {
            put(j, u[k]);
            j += 1;
            k += 1;
        }
        c += 1;
    }
}

/// Normals `0..count` of stream `first + tid` (Box–Muller pairs, [`NormalSeq`]):
/// `put(j, z_j)`, written by the caller at `out[tid * count + j]`.
#[inline(always)]
pub fn fill_normals(tid: u32, seed: u64, first: u64, count: u32, mut put: impl FnMut(u32, f32)) {
    let mut seq = NormalSeq::new(Stream::<f32>::consecutive(seed, first.wrapping_add(u64::from(tid))), 0);
    for j in 0..count {
        put(j, seq.next());
    }
}

/// W2 mode (b): the final state of simulation `first + tid` after `num_steps` steps from
/// `x0` ([`simcore::models::ou::ou_final_group`] on one f64 lane). `relax`/`diffuse` are
/// the host's [`simcore::models::ou::OuParams::coeffs_f64`], never recomputed here.
#[inline(always)]
pub fn ou_final(tid: u32, seed: u64, first: u64, num_steps: u64, x0: f64, relax: f64, diffuse: f64) -> f64 {
    let c = OuCoeffs { relax, diffuse };
    simcore::models::ou::ou_final_group::<f64>(seed, first.wrapping_add(u64::from(tid)), num_steps, x0, &c)
}

/// W2 mode (a): like [`ou_final`], and `put(t, x[t])` for every `t = 0..=num_steps`; the
/// caller stores it at `out[t·n + tid]` (layout `[t][sim]`, so a warp's stores coalesce).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub fn ou_path(
    tid: u32,
    seed: u64,
    first: u64,
    num_steps: u64,
    x0: f64,
    relax: f64,
    diffuse: f64,
    put: impl FnMut(u64, f64),
) -> f64 {
    let c = OuCoeffs { relax, diffuse };
    simcore::models::ou::ou_path_group::<f64>(
        seed,
        first.wrapping_add(u64::from(tid)),
        num_steps,
        x0,
        &c,
        put,
    )
}

/// W2 mode (c): the final state from caller normals, `z(t)` being normal `t` of this
/// simulation (the caller reads `z[t·n + tid]`, layout `[t][sim]`).
#[inline(always)]
pub fn ou_with_normals(num_steps: u64, x0: f64, relax: f64, diffuse: f64, z: impl FnMut(u64) -> f64) -> f64 {
    let c = OuCoeffs { relax, diffuse };
    simcore::models::ou::ou_evolve(x0, &c, num_steps, z, |_, _| {})
}

/// Grid points one W3 thread compares each uniform with ([`binomial_validate`]): the
/// uniforms of a simulation are generated (or read) once per tile of this many points.
pub const BINOMIAL_TILE: usize = 8;

/// Where W3's uniforms come from (the device entry builds the slice from a pointer).
#[derive(Debug, Clone, Copy)]
pub enum Uniforms<'a> {
    /// Generated from stream `s` of `seed` in registers.
    Fused {
        /// Stream seed.
        seed: u64,
    },
    /// The `[s][k][a]` row-major array of `sims·n·d` uniforms.
    Pregenerated(&'a [f32]),
}

/// What a W3 kernel thread counts, shared by all threads: the points, the uniforms and
/// how the simulations are split. Thread `tid` takes simulation chunk `c = tid mod
/// chunks` (`s` in `[c·spt, min((c+1)·spt, S))`) and tile `tid / chunks` of
/// [`BINOMIAL_TILE`] points ([`tile_counts`]); validate and calibrate differ only in what
/// they do with each count.
#[derive(Debug, Clone, Copy)]
pub struct CountArgs<'a> {
    /// `p` of the points to count, `points × d` row-major.
    pub p: &'a [f32],
    /// Arms `d` (>= 1).
    pub d: usize,
    /// Samples per arm `n` (`n·d <= 2^24`).
    pub n: usize,
    /// Simulations `S`.
    pub sims: u32,
    /// Simulations one thread handles (>= 1).
    pub sims_per_thread: u32,
    /// The uniforms.
    pub uniforms: Uniforms<'a>,
}

impl CountArgs<'_> {
    /// Grid points (`p.len() / d`).
    pub fn points(&self) -> usize {
        self.p.len() / self.d.max(1)
    }

    /// Possible counts per point, `n·d + 1` (counts `0..=n·d`).
    pub fn bins(&self) -> usize {
        self.n * self.d + 1
    }

    /// Chunks of simulations, `ceil(S / sims_per_thread)`.
    pub fn chunks(&self) -> u32 {
        self.sims.div_ceil(self.sims_per_thread.max(1))
    }

    /// Threads the kernel needs: one per (tile of [`BINOMIAL_TILE`] points, chunk).
    pub fn threads(&self) -> u64 {
        self.points().div_ceil(BINOMIAL_TILE) as u64 * u64::from(self.chunks())
    }
}

/// The counts of thread `tid` (see [`CountArgs`]): for each simulation of its chunk,
/// `visit(g0, counts)` with `counts[j] = count[g0 + j, s]` for the points of its tile
/// (from [`simcore::models::binomial::count_fused_grid`] / `count_pregenerated_grid`, the
/// CPU's own counting: each uniform generated or read once per tile). Returns the tile,
/// `(g0, points in it)`, or `None` for a thread past the last tile (which visits
/// nothing). Every `(g, s)` with `g < points`, `s < S` is visited by exactly one thread,
/// once.
#[inline(always)]
pub fn tile_counts(
    tid: u32,
    a: &CountArgs<'_>,
    mut visit: impl FnMut(usize, &[u32]),
) -> Option<(usize, usize)> {
    use simcore::models::binomial::{count_fused_grid, count_pregenerated_grid};
    let chunks = a.chunks().max(1);
    let (tile, c) = ((tid / chunks) as usize, tid % chunks);
    let g0 = tile * BINOMIAL_TILE;
    let points = a.points();
    if g0 >= points {
        return None;
    }
    let gt = (points - g0).min(BINOMIAL_TILE);
    let p = &a.p[g0 * a.d..(g0 + gt) * a.d];
    let s0 = c.saturating_mul(a.sims_per_thread);
    let s1 = s0.saturating_add(a.sims_per_thread).min(a.sims);
    let mut counts = [0u32; BINOMIAL_TILE];
    for s in s0..s1 {
        match a.uniforms {
            Uniforms::Fused { seed } => {
                count_fused_grid::<f32>(seed, u64::from(s), a.n, a.d, p, &mut counts[..gt])
            }
            Uniforms::Pregenerated(u) => {
                count_pregenerated_grid::<f32>(u, s as usize, a.n, a.d, p, &mut counts[..gt])
            }
        }
        visit(g0, &counts[..gt]);
    }
    Some((g0, gt))
}

/// The arguments of the W3 validate kernel, shared by all threads.
#[derive(Debug, Clone, Copy)]
pub struct BinomialArgs<'a> {
    /// What each thread counts.
    pub counts: CountArgs<'a>,
    /// Rejection threshold `λ` (already rounded to f32).
    pub lambda: f32,
}

/// W3 validate, thread `tid` ([`CountArgs`] says which points and simulations): for each
/// point `g` of its tile, `put(g, #{s in its chunk : T[g,s] < λ})`, which the caller stores
/// at `partial[g·chunks + c]` (the host sums over `c`). The statistic is
/// [`simcore::models::binomial::statistic`], so decisions equal the CPU's.
#[inline(always)]
pub fn binomial_validate(tid: u32, a: &BinomialArgs<'_>, mut put: impl FnMut(usize, u32)) {
    use simcore::models::binomial::statistic;
    let nd = a.counts.n * a.counts.d;
    let mut rej = [0u32; BINOMIAL_TILE];
    let tile = tile_counts(tid, &a.counts, |_, counts| {
        for (r, &cnt) in rej.iter_mut().zip(counts) {
            *r += u32::from(statistic::<f32>(cnt, nd) < a.lambda);
        }
    });
    if let Some((g0, gt)) = tile {
        for (j, &r) in rej[..gt].iter().enumerate() {
            put(g0 + j, r);
        }
    }
}

/// A [`LaneBuf`] over one member's lane of a strided `[element][batch]` array in a host
/// slice: element `e` at `data[e·stride + lane]` — the GPU's global-memory layout, used
/// by the grid emulator (the device uses a raw-pointer twin).
#[derive(Debug)]
pub struct Strided<'a> {
    /// The whole array, all members.
    pub data: &'a mut [f32],
    /// Members `B` (the distance between consecutive elements of one member).
    pub stride: usize,
    /// This member `b`.
    pub lane: usize,
}

impl LaneBuf<f32> for Strided<'_> {
    #[inline(always)]
    fn get(&self, i: usize) -> f32 {
        self.data[i * self.stride + self.lane]
    }
    #[inline(always)]
    fn set(&mut self, i: usize, x: f32) {
        self.data[i * self.stride + self.lane] = x;
    }
}

/// Number of f32 in [`jansen_rit_params_to_array`].
pub const JR_PARAMS: usize = 12;

/// [`JansenRitParams`] as the f32 array the kernel receives, in the order
/// `A, B, a, b, v0, nu_max, r, J, a_1, a_2, a_3, a_4` (fixed here, not by the struct's
/// memory layout, which host and device rustc need not share).
pub fn jansen_rit_params_to_array(p: &JansenRitParams) -> [f32; JR_PARAMS] {
    [p.A, p.B, p.a, p.b, p.v0, p.nu_max, p.r, p.J, p.a_1, p.a_2, p.a_3, p.a_4]
}

/// The inverse of [`jansen_rit_params_to_array`].
#[inline(always)]
pub fn jansen_rit_params_from_array(v: &[f32; JR_PARAMS]) -> JansenRitParams {
    JansenRitParams {
        A: v[0],
        B: v[1],
        a: v[2],
        b: v[3],
        v0: v[4],
        nu_max: v[5],
        r: v[6],
        J: v[7],
        a_1: v[8],
        a_2: v[9],
        a_3: v[10],
        a_4: v[11],
    }
}

/// Elements of the per-member work area of W4 (strided like the state): `xp`, `f1`, `nz`
/// (`6·nn` each), `cv`, `c` (`nn` each) and, delayed, the ring buffer (`RING·nn`), in that
/// order.
pub fn jansen_rit_work_elems(nn: usize, delayed: bool) -> usize {
    (3 * JR_NV + 2) * nn + if delayed { RING * nn } else { 0 }
}

const JR_NV: usize = simcore::models::jansen_rit::NV;

/// Value of member `b` of a per-member array (length 1 broadcasts) — the workload's rule.
#[inline(always)]
fn member(v: &[f32], b: usize) -> f32 {
    if v.len() == 1 { v[0] } else { v[b] }
}

/// The arguments of the W4 kernel, shared by all threads (validated by the host).
#[derive(Debug, Clone, Copy)]
pub struct JansenRitArgs<'a> {
    /// Nodes `nn`.
    pub nn: usize,
    /// Steps `nt`.
    pub nt: u64,
    /// Stream seed; member `b` uses stream `b`.
    pub seed: u64,
    /// Time step.
    pub dt: f32,
    /// Noise intensity.
    pub sigma: f32,
    /// Model parameters ([`jansen_rit_params_to_array`]).
    pub params: [f32; JR_PARAMS],
    /// Coupling strength per member (length 1 or `B`).
    pub k: &'a [f32],
    /// Input `mu` per member (length 1 or `B`).
    pub mu: &'a [f32],
    /// `W[i,j]` at `i·nn + j`.
    pub weights: &'a [f32],
    /// Lags `L[i,j]` (W4d), or `None`.
    pub lags: Option<&'a [u8]>,
    /// JAX stream mode (replaces the Philox streams of `seed`), or `None`.
    pub jax: Option<JaxNoise>,
}

/// W4 / W4d, thread `b`: integrates member `b` in place in `x` (`[6][nn]` elements of this
/// member) for `nt` steps with [`simcore::models::heun::run`] on one f32 lane — exactly the
/// scalar backend's `integrate_member`. `s` and `hist` are this member's work area
/// ([`jansen_rit_work_elems`]); `hist` is used iff `a.lags` is set.
#[inline(always)]
pub fn jansen_rit<B: LaneBuf<f32> + ?Sized>(
    b: u32,
    a: &JansenRitArgs<'_>,
    x: &mut B,
    s: &mut Scratch<'_, B>,
    hist: Option<&mut B>,
) {
    let (Ok(h), Ok(net)) = (HeunCoeffs::<f32>::new(a.dt, a.sigma), Network::new(a.nn, a.weights, a.lags))
    else {
        return; // unreachable: the host validated both
    };
    let p = jansen_rit_params_from_array(&a.params);
    let model = JansenRit::<f32>::new(&p, member(a.mu, b as usize));
    let hist = match (a.lags, hist) {
        (Some(_), Some(hb)) => {
            heun::init_history::<f32, JansenRit<f32>, B, JR_NV>(&model, a.nn, &*x, hb);
            Some(hb)
        }
        _ => None,
    };
    let k = member(a.k, b as usize);
    match a.jax {
        None => {
            let mut normals = NormalSeq::new(Stream::<f32>::consecutive(a.seed, u64::from(b)), 0);
            heun::run::<f32, JansenRit<f32>, B, JR_NV>(
                &model,
                &net,
                k,
                &h,
                x,
                hist,
                s,
                &mut normals,
                0,
                a.nt,
                |_, _| {},
            );
        }
        Some(j) => {
            let Some(l) = j.member(u64::from(b), a.nt * (a.nn * JR_NV) as u64) else { return };
            let mut normals = JaxNormals::<f32>::new(l, 0);
            heun::run::<f32, JansenRit<f32>, B, JR_NV>(
                &model,
                &net,
                k,
                &h,
                x,
                hist,
                s,
                &mut normals,
                0,
                a.nt,
                |_, _| {},
            );
        }
    }
}

/// Number of f32 in [`mpr_params_to_array`].
pub const MPR_PARAMS: usize = 5;

/// [`MprParams`] as the f32 array the kernel receives: `tau, I, Delta, J, cr`.
pub fn mpr_params_to_array(p: &MprParams) -> [f32; MPR_PARAMS] {
    [p.tau, p.I, p.Delta, p.J, p.cr]
}

/// The inverse of [`mpr_params_to_array`].
#[inline(always)]
pub fn mpr_params_from_array(v: &[f32; MPR_PARAMS]) -> MprParams {
    MprParams { tau: v[0], I: v[1], Delta: v[2], J: v[3], cr: v[4] }
}

const MPR_NV: usize = simcore::models::mpr::NV;

/// Elements of the per-member work area of W5 (strided like the state): `xp`, `f1`, `nz`
/// (`2·nn` each), `cv`, `c` (`nn` each).
pub fn mpr_work_elems(nn: usize) -> usize {
    (3 * MPR_NV + 2) * nn
}

/// The arguments of the W5 kernel, shared by all threads (validated by the host).
#[derive(Debug, Clone, Copy)]
pub struct MprArgs<'a> {
    /// Nodes `nn`.
    pub nn: usize,
    /// Steps `nt`.
    pub nt: u64,
    /// First state `x[t]` whose `r` enters the statistic (401 in W5).
    pub stat_first: u64,
    /// Stream seed; member `b` uses stream `b`.
    pub seed: u64,
    /// Time step.
    pub dt: f32,
    /// Noise intensity.
    pub sigma: f32,
    /// Model parameters ([`mpr_params_to_array`]).
    pub params: [f32; MPR_PARAMS],
    /// Coupling strength per member (length 1 or `B`).
    pub k: &'a [f32],
    /// Excitability `eta` per member (length 1 or `B`).
    pub eta: &'a [f32],
    /// `W[i,j]` at `i·nn + j`.
    pub weights: &'a [f32],
    /// JAX stream mode (replaces the Philox streams of `seed`), or `None`.
    pub jax: Option<JaxNoise>,
}

/// W5, thread `b`: integrates member `b` in place in `x` (`[2][nn]`, holding the initial
/// state) for `nt` steps, exactly as the scalar backend does, and returns the population
/// standard deviation of the stored `r` of every node over the states
/// `x[stat_first..=nt]` ([`RateStats`], f64).
#[inline(always)]
pub fn mpr<B: LaneBuf<f32> + ?Sized>(b: u32, a: &MprArgs<'_>, x: &mut B, s: &mut Scratch<'_, B>) -> f64 {
    let (Ok(h), Ok(net)) = (HeunCoeffs::<f32>::new(a.dt, a.sigma), Network::new(a.nn, a.weights, None))
    else {
        return f64::NAN; // unreachable: the host validated both
    };
    let p = mpr_params_from_array(&a.params);
    let model = Mpr::<f32>::new(&p, member(a.eta, b as usize));
    let mut stats = RateStats::default();
    let nn = a.nn;
    let k = member(a.k, b as usize);
    let after = |t: u64, x: &B| {
        if t >= a.stat_first {
            for i in 0..nn {
                stats.push(x.get(i));
            }
        }
    };
    match a.jax {
        None => {
            let mut normals = NormalSeq::new(Stream::<f32>::consecutive(a.seed, u64::from(b)), 0);
            mpr_run(&model, &net, k, &h, x, s, &mut normals, a.nt, after);
        }
        Some(j) => {
            let Some(l) = j.member(u64::from(b), a.nt * (nn * MPR_NV) as u64) else { return f64::NAN };
            mpr_run(&model, &net, k, &h, x, s, &mut JaxNormals::<f32>::new(l, 0), a.nt, after);
        }
    }
    stats.std()
}

/// The W5 Heun loop of one member from any noise source.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn mpr_run<B: LaneBuf<f32> + ?Sized>(
    model: &Mpr<f32>,
    net: &Network<'_, f32>,
    k: f32,
    h: &HeunCoeffs<f32>,
    x: &mut B,
    s: &mut Scratch<'_, B>,
    normals: &mut impl NormalSource<f32>,
    nt: u64,
    after: impl FnMut(u64, &B),
) {
    heun::run::<f32, Mpr<f32>, B, MPR_NV>(model, net, k, h, x, None, s, normals, 0, nt, after);
}
