//! W2 on the SIMD and threaded backends: the OU loop of `simcore::models::ou` on `f64x8`
//! groups (8 simulations, one `u32x8` Philox call per block feeding all 8 streams; two
//! `f64x4` per operation on AVX2), `f64x4` and `f64` for the remainder.
//!
//! Mode (b) also has a parallel-in-time variant ([`chunk_sums`], then
//! [`stitch_final_states`], which the GPU backend shares): lanes and threads along the
//! time axis of each path, stitched afterwards.
//!
//! Modes (b) and (c) have one output per simulation and run on tiles when threaded.
//! Mode (a) writes layout `[t][sim]`, where a group's values are strided across every
//! row, so it runs on one thread on both backends (its seed size has 8 simulations, two
//! `f64x8` group: there is little to split).

use super::{GroupKernel, WidePrecision, drive, run_groups};
use crate::backend::threaded::{for_each_tile, map_tiles};
use crate::simulator::{Backend, Simulator};
use crate::workload::jax::JaxKey;
use crate::workload::jax::member_lanes;
use crate::workload::ou::OuSpec;
use simcore::lane::Real;
use simcore::models::ou::{
    OuCoeffs, ou_chunk_sums, ou_chunk_sums_jax, ou_evolve, ou_evolve_blocks, ou_final_from, ou_path_from,
    ou_step, ou_stitch, relax_pow,
};
use simcore::rng::NormalSource;
use simcore::rng::jax::{JaxLanes, JaxNormals, JaxNormalsWidened};
use wide::{f32x8, f64x4, f64x8, u32x8};

/// Mode (b) by groups of lanes; the coefficients are computed once per call.
struct Final<'a>(&'a OuSpec, OuCoeffs<f64>);

impl GroupKernel<f64> for Final<'_> {
    type Out = f64;
    fn group<L: Real<Scalar = f64>>(&self, first: u64, out: &mut [f64]) {
        let (s, c) = (self.0, self.1.lanes::<L>());
        let (steps, x0) = (s.num_steps as u64, L::splat(s.params.x0));
        let x = match s.jax_key {
            None => ou_evolve_blocks::<L>(s.seed, first, 0, steps, x0, &c, |_, _| {}),
            // `spec.validate()` checked the sizes.
            Some(key) => match member_lanes::<L::Words>(key, s.num_sim, first, steps) {
                Some(lanes) => ou_final_from(&mut JaxNormalsWidened::<L>::new(lanes, 0), steps, x0, &c),
                None => return,
            },
        };
        for (l, o) in out.iter_mut().enumerate() {
            *o = x.lane(l);
        }
    }
}

struct WithNormals<'a>(&'a OuSpec, &'a [f64], OuCoeffs<f64>);

impl GroupKernel<f64> for WithNormals<'_> {
    type Out = f64;
    fn group<L: Real<Scalar = f64>>(&self, first: u64, out: &mut [f64]) {
        let (s, z, c) = (self.0, self.1, self.2.lanes::<L>());
        let (n, first) = (s.num_sim, first as usize);
        // One bounds check per step (a slice of the lanes), so that the loads vectorise.
        let normals = |t: u64| {
            let row = &z[t as usize * n + first..][..L::LANES];
            L::from_fn(|l| row[l])
        };
        let x = ou_evolve(L::splat(s.params.x0), &c, s.num_steps as u64, normals, |_, _| {});
        for (l, o) in out.iter_mut().enumerate() {
            *o = x.lane(l);
        }
    }
}

/// Mode (b) for a validated `spec` on `sim`'s backend.
///
/// On SIMD and threaded backends, groups of 8 simulations run as `f64x8` ([`ou_evolve_blocks`]),
/// or with a JAX key fed by one `f32x8` of JAX normals (`jax_evolve8`); the rest as single
/// lanes.
pub fn final_states(sim: &Simulator, spec: &OuSpec) -> Vec<f64> {
    let n = spec.num_sim;
    let mut out = vec![0.0; n];
    let c = spec.params.coeffs_f64();
    if sim.backend() == Backend::Scalar {
        run_groups(sim, &Final(spec, c), &mut out);
        return out;
    }
    let x8 = n / 8 * 8;
    let (head, tail) = out.split_at_mut(x8);
    let c8 = c.lanes::<f64x8>();
    let x0 = f64x8::splat(spec.params.x0);
    let run8 = |first: usize, chunk: &mut [f64]| {
        for (g, o) in chunk.chunks_exact_mut(8).enumerate() {
            let f = (first + 8 * g) as u64;
            let x = match spec.jax_key {
                None => ou_evolve_blocks(spec.seed, f, 0, spec.num_steps as u64, x0, &c8, |_, _| {}),
                Some(key) => jax_evolve8(spec, &c8, key, f, |_, _| {}),
            };
            o.copy_from_slice(&x.to_array());
        }
    };
    match (sim.backend(), sim.pool()) {
        // Tiles are multiples of 16 simulations, so every tile holds whole groups of 8.
        (Backend::Threaded(cfg), Some(pool)) => {
            // A tile past the head is the head (a multiple of 8): rounding a larger one up
            // could wrap to 0.
            for_each_tile(pool, cfg.tile_for(x8, 64).min(x8).next_multiple_of(8), 1, head, run8);
            for_each_tile(pool, cfg.tile_for(tail.len(), 64), 1, tail, |first, chunk| {
                drive(&Final(spec, c), x8 + first, chunk)
            });
        }
        _ => {
            run8(0, head);
            drive(&Final(spec, c), x8, tail);
        }
    }
    out
}

/// Mode (c) for a validated `spec`; `z` has `num_steps·num_sim` entries, layout `[t][sim]`.
pub fn with_normals(sim: &Simulator, spec: &OuSpec, z: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; spec.num_sim];
    run_groups(sim, &WithNormals(spec, z, spec.params.coeffs_f64()), &mut out);
    out
}

/// Mode (a) for a validated `spec` (one thread); `out` has `(num_steps + 1)·num_sim`
/// entries, layout `[t][sim]`.
pub fn path(spec: &OuSpec, out: &mut [f64]) {
    let n = spec.num_sim;
    // Groups of 8 simulations on `f64x8` (or fed by one f32x8 of JAX normals), then
    // `f64x4` groups and single lanes.
    let x8 = n / 8 * 8;
    let c = spec.params.coeffs_f64();
    let c8 = c.lanes::<f64x8>();
    let x0 = f64x8::splat(spec.params.x0);
    for first in (0..x8).step_by(8) {
        out[first..first + 8].fill(spec.params.x0);
        let row = |s: u64, x: f64x8| out[(s as usize + 1) * n + first..][..8].copy_from_slice(&x.to_array());
        match spec.jax_key {
            None => {
                ou_evolve_blocks(spec.seed, first as u64, 0, spec.num_steps as u64, x0, &c8, row);
            }
            Some(key) => {
                jax_evolve8(spec, &c8, key, first as u64, row);
            }
        }
    }
    let x4 = x8 + (n - x8) / 4 * 4;
    for first in (x8..x4).step_by(4) {
        group_path::<f64x4>(spec, &c, first, out);
    }
    for first in x4..n {
        group_path::<f64>(spec, &c, first, out);
    }
}

/// JAX mode, simulations `first .. first + 8` at once: the f32 normals of the 8 members
/// on one `f32x8` ([`JaxNormals`]: threefry on `u32x8`, XLA's `erf_inv` on 8 lanes),
/// widened exactly into one `f64x8` step — the same bits as [`JaxNormalsWidened`] (which
/// computes the f32 normal one lane at a time): measured 1.5e8 against 4.1e7 steps/s at
/// the seed size. `row(t, x)` sees the states after step `t` (`x[t + 1]`), as in
/// [`ou_evolve_blocks`].
fn jax_evolve8(
    spec: &OuSpec,
    c8: &OuCoeffs<f64x8>,
    key: JaxKey,
    first: u64,
    mut row: impl FnMut(u64, f64x8),
) -> f64x8 {
    let steps = spec.num_steps as u64;
    let mut x = f64x8::splat(spec.params.x0);
    // `spec.validate()` checked the sizes.
    let Some(lanes) = member_lanes::<u32x8>(key, spec.num_sim, first, steps) else { return x };
    let mut z = JaxNormals8(JaxNormals::new(lanes, 0));
    for t in 0..steps {
        x = ou_step(x, z.next(), c8);
        row(t, x);
    }
    x
}

fn group_path<L: Real<Scalar = f64>>(spec: &OuSpec, c: &OuCoeffs<f64>, first: usize, out: &mut [f64]) {
    let n = spec.num_sim;
    let c = c.lanes::<L>();
    let x0 = L::splat(spec.params.x0);
    let steps = spec.num_steps as u64;
    let row = |t: u64, x: L| {
        let row = &mut out[t as usize * n + first..][..L::LANES];
        for (l, o) in row.iter_mut().enumerate() {
            *o = x.lane(l);
        }
    };
    match spec.jax_key {
        None => {
            let mut row = row;
            row(0, x0);
            ou_evolve_blocks::<L>(spec.seed, first as u64, 0, steps, x0, &c, |t, x| row(t + 1, x));
        }
        // `spec.validate()` checked the sizes.
        Some(key) => {
            if let Some(lanes) = member_lanes::<L::Words>(key, n, first as u64, steps) {
                ou_path_from(&mut JaxNormalsWidened::<L>::new(lanes, 0), steps, x0, &c, row);
            }
        }
    }
}

/// The chunking of one path in the parallel-in-time mode: `count` chunks of `len` steps
/// (the last one `last` steps, `1 ..= len`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunking {
    /// Steps per chunk (a multiple of 4, so every chunk starts at the start of a Philox
    /// block in f32 and in f64).
    pub len: usize,
    /// Number of chunks.
    pub count: usize,
    /// Steps of the last chunk.
    pub last: usize,
}

impl Chunking {
    /// `num_steps` cut into at most `chunks` chunks: `len = ⌈num_steps / chunks⌉` rounded
    /// up to a multiple of 4; `None` when `num_steps = 0`. `chunks` must be at least 1.
    pub fn new(num_steps: usize, chunks: usize) -> Option<Self> {
        if num_steps == 0 {
            return None;
        }
        let raw = num_steps.div_ceil(chunks.max(1));
        // Rounding up can only overflow for one chunk of almost usize::MAX steps; that
        // chunk starts at 0, so it needs no rounding.
        let len = raw.checked_next_multiple_of(4).unwrap_or(raw);
        let count = num_steps.div_ceil(len);
        Some(Self { len, count, last: num_steps - (count - 1) * len })
    }
}

/// One unit of work of the parallel-in-time mode, on a lane group of `width` lanes (1 or
/// the vector's; lanes past `lanes` repeat the last real one and are discarded), all of
/// `len` steps: chunks `c0 .. c0 + lanes` of simulation `sim`, or, `across`, chunk `c0`
/// of simulations `sim .. sim + lanes` (the short last chunks, which would otherwise run
/// one lane at a time: at the seed size they cost 12 % of the mode's time that way).
#[derive(Debug, Clone, Copy)]
struct ChunkTask {
    sim: usize,
    c0: usize,
    lanes: usize,
    width: usize,
    len: usize,
    across: bool,
}

impl ChunkTask {
    /// (simulation, chunk) of lane `l`.
    fn lane(&self, l: usize) -> (usize, usize) {
        let l = l.min(self.lanes - 1);
        if self.across { (self.sim + l, self.c0) } else { (self.sim, self.c0 + l) }
    }
}

fn chunk_tasks(spec: &OuSpec, ch: &Chunking, width: usize) -> Vec<ChunkTask> {
    let mut tasks = Vec::new();
    let group = |left: usize| {
        let lanes = width.min(left);
        (lanes, if lanes == 1 { 1 } else { width })
    };
    // Chunks of full length: groups of `width` per simulation, the rest as one padded
    // group (a padded 8-lane group costs less than a few single lanes).
    let full = if ch.last == ch.len { ch.count } else { ch.count - 1 };
    for sim in 0..spec.num_sim {
        let mut c0 = 0;
        while c0 < full {
            let (lanes, width) = group(full - c0);
            tasks.push(ChunkTask { sim, c0, lanes, width, len: ch.len, across: false });
            c0 += lanes;
        }
    }
    // A shorter last chunk: groups of `width` simulations.
    if full < ch.count {
        let mut sim = 0;
        while sim < spec.num_sim {
            let (lanes, width) = group(spec.num_sim - sim);
            tasks.push(ChunkTask { sim, c0: full, lanes, width, len: ch.last, across: true });
            sim += lanes;
        }
    }
    tasks
}

fn chunk_group<L: Real<Scalar = f64>>(
    spec: &OuSpec,
    c: &OuCoeffs<f64>,
    ch: &Chunking,
    t: &ChunkTask,
) -> Vec<f64> {
    let c = c.lanes::<L>();
    let sim = |l: usize| t.lane(l).0 as u64;
    let start = |l: usize| (t.lane(l).1 * ch.len) as u64;
    let y = ou_chunk_sums::<L>(spec.seed, sim, start, t.len as u64, &c);
    (0..t.lanes).map(|l| y.lane(l)).collect()
}

/// [`chunk_group`] with a JAX key: the task's lanes read their chunks of
/// `jax.random.normal(k_i, (num_steps,))` ([`ou_chunk_sums_jax`]): one member's key in
/// every lane (chunks `c0 ..` of one path), or members `sim ..` (the short last chunks of
/// several paths). `spec.validate()` checked the draws, so the lanes always exist (were
/// they missing, the chunks would come out NaN, never silently 0).
fn chunk_group_jax<L, N>(
    spec: &OuSpec,
    c: &OuCoeffs<f64>,
    key: JaxKey,
    ch: &Chunking,
    t: &ChunkTask,
) -> Vec<f64>
where
    L: Real<Scalar = f64>,
    N: Real<Scalar = f32, Words = L::Words>,
{
    let (c, steps, n) = (c.lanes::<L>(), spec.num_steps as u64, spec.num_sim);
    let (sim, len) = (t.sim as u64, t.len as u64);
    let y = if t.across {
        member_lanes::<L::Words>(key, n, sim, steps)
            .map(|lanes| ou_chunk_sums_jax::<L, N>(&lanes, 0, 0, (t.c0 * ch.len) as u64, len, &c))
    } else {
        member_lanes::<u32>(key, n, sim, steps)
            .map(|one| ou_chunk_sums_jax::<L, N>(&one.broadcast(), t.c0 as u64, ch.len as u64, 0, len, &c))
    };
    let y = y.unwrap_or(L::splat(f64::NAN));
    (0..t.lanes).map(|l| y.lane(l)).collect()
}

/// W2 mode (b), parallel in time, stage 1 on the CPU, for a validated `spec` on `sim`'s
/// backend: every path cut as `ch`, `y[i·count + c]` = chunk `c` of simulation `i` run
/// from 0, computed eight chunks at a time (`f64x8`, one `u32x8` Philox call per block,
/// [`ou_chunk_sums`], or with a JAX key the JAX normals on `f32x8`,
/// [`ou_chunk_sums_jax`]; the short last chunks of eight simulations together; `f64` for
/// every chunk on [`Backend::Scalar`]) on one thread, or as tasks on the pool when
/// threaded. Stage 2 is [`stitch_final_states`]. The bits depend on `ch` only, not on the
/// backend, the lane type or the threads (each lane's arithmetic is the same).
pub fn chunk_sums(sim: &Simulator, spec: &OuSpec, ch: &Chunking) -> Vec<f64> {
    let lanes = match sim.backend() {
        Backend::Scalar => 1,
        _ => 8,
    };
    let tasks = chunk_tasks(spec, ch, lanes);
    let c = &spec.params.coeffs_f64();
    let run = |t: &ChunkTask| match (spec.jax_key, t.width) {
        (None, 1) => chunk_group::<f64>(spec, c, ch, t),
        (None, _) => chunk_group::<<f64 as WidePrecision>::Wide>(spec, c, ch, t),
        (Some(key), 1) => chunk_group_jax::<f64, f32>(spec, c, key, ch, t),
        (Some(key), _) => chunk_group_jax::<f64x8, f32x8>(spec, c, key, ch, t),
    };
    let sums: Vec<Vec<f64>> = match (sim.backend(), sim.pool()) {
        (Backend::Threaded(_), Some(pool)) => {
            map_tiles(pool, tasks.len(), 1, |r| r.map(|k| run(&tasks[k])).collect::<Vec<_>>())
                .into_iter()
                .flatten()
                .collect()
        }
        _ => tasks.iter().map(run).collect(),
    };
    let mut y = vec![0.0f64; spec.num_sim * ch.count];
    for (t, s) in tasks.iter().zip(&sums) {
        for (l, &v) in s.iter().enumerate() {
            let (sim, c) = t.lane(l);
            y[sim * ch.count + c] = v;
        }
    }
    y
}

/// Stage 2 of the parallel-in-time final state, shared by every backend: simulation `i`'s
/// chunk sums `y[i·count ..][..count]` ([`chunk_sums`], or the GPU's) stitched in order
/// from `x0`, `x ← fma(x, relax^len_c, y_c)`.
pub fn stitch_final_states(spec: &OuSpec, ch: &Chunking, y: &[f64]) -> Vec<f64> {
    let relax = spec.params.coeffs::<f64>().relax;
    let (carry, carry_last) = (relax_pow(relax, ch.len as u64), relax_pow(relax, ch.last as u64));
    y.chunks_exact(ch.count)
        .map(|ys| {
            ys.iter().enumerate().fold(spec.params.x0, |x, (c, &yc)| {
                ou_stitch(x, if c + 1 == ch.count { carry_last } else { carry }, yc)
            })
        })
        .collect()
}

/// Stage 1 of the parallel-in-time path: rows `c·len + 1 ..` of chunk `c` (the `rows`
/// slice, `[row][sim]`) from 0, `f64x8` and `f64x4` groups of simulations (`f64` for the
/// rest, and for all on [`Backend::Scalar`]).
fn path_chunk_from_zero(
    spec: &OuSpec,
    coeffs: &OuCoeffs<f64>,
    wide: bool,
    c: usize,
    chunk_len: usize,
    rows: &mut [f64],
) {
    let n = spec.num_sim;
    let (len, start) = ((rows.len() / n) as u64, (c * chunk_len) as u64);
    let mut first = 0;
    if wide {
        first = chunk_rows::<f64x8, _>(spec, coeffs, first, start, len, rows, |l, at| {
            JaxNormals8(JaxNormals::new(l, at))
        });
        first = chunk_rows::<f64x4, _>(spec, coeffs, first, start, len, rows, JaxNormalsWidened::new);
    }
    chunk_rows::<f64, _>(spec, coeffs, first, start, len, rows, JaxNormalsWidened::new);
}

/// The rows of simulations `first ..` from 0 as groups of `L`, as many whole groups as
/// fit ([`ou_evolve_blocks`], or with a JAX key the normals `jax(lanes, start)` reads
/// from element `start` of the members' draws); returns the first simulation left over.
fn chunk_rows<L: Real<Scalar = f64>, S: NormalSource<L>>(
    spec: &OuSpec,
    coeffs: &OuCoeffs<f64>,
    mut first: usize,
    start: u64,
    len: u64,
    rows: &mut [f64],
    jax: impl Fn(JaxLanes<L::Words>, u64) -> S,
) -> usize {
    let (n, c) = (spec.num_sim, coeffs.lanes::<L>());
    let zero = L::splat(0.0);
    while first + L::LANES <= n {
        let mut row = |s: u64, y: L| {
            for (l, o) in rows[s as usize * n + first..][..L::LANES].iter_mut().enumerate() {
                *o = y.lane(l);
            }
        };
        match spec.jax_key {
            None => {
                ou_evolve_blocks::<L>(spec.seed, first as u64, start, len, zero, &c, &mut row);
            }
            // `spec.validate()` checked the draws; were the lanes missing, the rows would
            // be NaN, never silently left as they were.
            Some(key) => match member_lanes::<L::Words>(key, n, first as u64, spec.num_steps as u64) {
                Some(lanes) => {
                    let mut z = jax(lanes, start);
                    // `ou_evolve` also hands over the start state, as its row 0.
                    ou_evolve(
                        zero,
                        &c,
                        len,
                        |_| z.next(),
                        |t, y| {
                            if t > 0 {
                                row(t - 1, y);
                            }
                        },
                    );
                }
                None => (0..len).for_each(|s| row(s, L::splat(f64::NAN))),
            },
        }
        first += L::LANES;
    }
    first
}

/// The JAX normals of eight members on one `f32x8` ([`JaxNormals`]: threefry on `u32x8`,
/// XLA's `erf_inv` on 8 lanes), each widened exactly to f64: the same values as
/// [`JaxNormalsWidened`] on `f64x8`, which computes the f32 normals one lane at a time.
struct JaxNormals8(JaxNormals<f32x8, 4>);

impl NormalSource<f64x8> for JaxNormals8 {
    #[inline(always)]
    fn next(&mut self) -> f64x8 {
        f64x8::new(NormalSource::next(&mut self.0).to_array().map(f64::from))
    }
}

/// Runs `f(c, rows of chunk c)` for every chunk of the `[row][sim]` rows `1..` of a path:
/// on the pool when threaded, else in order.
fn for_each_chunk(
    sim: &Simulator,
    n: usize,
    ch: &Chunking,
    rows: &mut [f64],
    f: impl Fn(usize, &mut [f64]) + Sync,
) {
    match (sim.backend(), sim.pool()) {
        (Backend::Threaded(_), Some(pool)) => {
            for_each_tile(pool, ch.len, n, rows, |r0, chunk| f(r0 / ch.len, chunk))
        }
        _ => rows.chunks_mut(ch.len * n).enumerate().for_each(|(c, chunk)| f(c, chunk)),
    }
}

/// W2 mode (a), parallel in time, for a validated `spec` on `sim`'s backend; `out` has
/// `(num_steps + 1)·num_sim` entries, layout `[t][sim]`.
///
/// 1. Every chunk of rows runs from 0 ([`ou_evolve_blocks`]), chunks as threads.
/// 2. The carries `p[k] = relax^k` by a running product (`p[k] = p[k-1]·relax`, rounded
///    each time) for `k = 1 ..` until it underflows to 0 (≈ 7 450 rows at the defaults)
///    or `len`; a correction `fma(p[k], x_start, y)` is applied to row `k` of a chunk
///    while `p[k] ≠ 0` — beyond, it is exactly `y + 0`, and rows are left as they are.
/// 3. Serially over chunks, the start state of chunk `c + 1` is its row `len` corrected
///    with `x_start(c)` (the same formula, so the stored row equals it); then the
///    corrections of all chunks run as threads.
///
/// Bits depend on `ch` only, not on the backend or the threads.
pub fn path_parallel_in_time(sim: &Simulator, spec: &OuSpec, ch: &Chunking, out: &mut [f64]) {
    let n = spec.num_sim;
    let wide = sim.backend() != Backend::Scalar;
    let (row0, rows) = out.split_at_mut(n);
    row0.fill(spec.params.x0);
    let coeffs = spec.params.coeffs_f64();
    for_each_chunk(sim, n, ch, rows, |c, chunk| path_chunk_from_zero(spec, &coeffs, wide, c, ch.len, chunk));
    let relax = coeffs.relax;
    let mut p = Vec::new();
    let mut pk = relax;
    while pk != 0.0 && p.len() < ch.len {
        p.push(pk);
        pk *= relax;
    }
    let fix = |k: usize, x_start: f64, y: f64| if k <= p.len() { p[k - 1].mul_add(x_start, y) } else { y };
    // Start states: chunk 0 starts at x0; chunk c + 1 at the corrected last row of c.
    let mut starts = vec![spec.params.x0; ch.count * n];
    for c in 1..ch.count {
        for i in 0..n {
            let y = rows[(c * ch.len - 1) * n + i];
            starts[c * n + i] = fix(ch.len, starts[(c - 1) * n + i], y);
        }
    }
    for_each_chunk(sim, n, ch, rows, |c, chunk| {
        let x_start = &starts[c * n..][..n];
        if x_start.iter().all(|&x| x == 0.0) {
            return;
        }
        let kmax = p.len().min(chunk.len() / n);
        for (k, row) in chunk[..kmax * n].chunks_exact_mut(n).enumerate() {
            for (y, &x) in row.iter_mut().zip(x_start) {
                *y = fix(k + 1, x, *y);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::ou::OuParams;

    #[test]
    fn chunking_covers_the_steps() {
        assert_eq!(Chunking::new(0, 3), None);
        assert_eq!(Chunking::new(10, 100), Some(Chunking { len: 4, count: 3, last: 2 }));
        // One chunk of almost usize::MAX steps: no rounding overflow (it used to wrap to 0).
        assert_eq!(
            Chunking::new(usize::MAX, 1),
            Some(Chunking { len: usize::MAX, count: 1, last: usize::MAX })
        );
        assert_eq!(
            Chunking::new(usize::MAX, 2).map(|c| (c.len % 4, c.count)),
            Some((0, 2)),
            "two chunks still round"
        );
        assert_eq!(Chunking::new(5_000_000, 64), Some(Chunking { len: 78_128, count: 64, last: 77_936 }));
        for (n, c) in [(1usize, 1usize), (7, 2), (400, 7), (401, 40), (12, 3)] {
            let ch = Chunking::new(n, c).expect("n > 0");
            assert!(
                ch.len.is_multiple_of(4)
                    && ch.count <= c.max(n.div_ceil(4))
                    && (1..=ch.len).contains(&ch.last)
            );
            assert_eq!((ch.count - 1) * ch.len + ch.last, n);
        }
    }

    #[test]
    fn eight_chunk_groups_equal_single_lanes() {
        let spec =
            OuSpec { seed: 11, num_sim: 2, num_steps: 1000, params: OuParams::default(), jax_key: None };
        let ch = Chunking { len: 36, count: 28, last: 28 };
        for len in [36usize, 7, 1] {
            let t = ChunkTask { sim: 1, c0: 8, lanes: 8, width: 8, len, across: false };
            let got = chunk_group::<f64x8>(&spec, &spec.params.coeffs_f64(), &ch, &t);
            let four = chunk_group::<f64x4>(
                &spec,
                &spec.params.coeffs_f64(),
                &ch,
                &ChunkTask { lanes: 4, width: 4, ..t },
            );
            for (l, g) in got.iter().enumerate() {
                let one = chunk_group::<f64>(
                    &spec,
                    &spec.params.coeffs_f64(),
                    &ch,
                    &ChunkTask { c0: t.c0 + l, lanes: 1, width: 1, ..t },
                );
                assert_eq!(g.to_bits(), one[0].to_bits(), "len {len} lane {l}");
            }
            assert_eq!(got[..4], four[..]);
            // A padded group (3 real chunks) gives the same first lanes.
            let padded =
                chunk_group::<f64x8>(&spec, &spec.params.coeffs_f64(), &ch, &ChunkTask { lanes: 3, ..t });
            assert_eq!(padded[..], got[..3]);
        }
    }

    #[test]
    fn last_chunks_across_simulations_equal_single_lanes() {
        let spec =
            OuSpec { seed: 5, num_sim: 11, num_steps: 1000, params: OuParams::default(), jax_key: None };
        let ch = Chunking::new(1000, 7).expect("steps > 0");
        assert!(ch.last < ch.len);
        let tasks = chunk_tasks(&spec, &ch, 8);
        let across: Vec<_> = tasks.iter().filter(|t| t.across).collect();
        assert_eq!(
            across.iter().map(|t| (t.sim, t.lanes, t.width)).collect::<Vec<_>>(),
            [(0, 8, 8), (8, 3, 8)]
        );
        for t in across {
            let got = chunk_group::<f64x8>(&spec, &spec.params.coeffs_f64(), &ch, t);
            for (l, g) in got.iter().enumerate() {
                let one = ChunkTask { sim: t.sim + l, lanes: 1, width: 1, ..*t };
                assert_eq!(
                    g.to_bits(),
                    chunk_group::<f64>(&spec, &spec.params.coeffs_f64(), &ch, &one)[0].to_bits(),
                    "lane {l}"
                );
            }
        }
        // Every (simulation, chunk) exactly once.
        let mut seen = vec![0u8; spec.num_sim * ch.count];
        for t in &tasks {
            for l in 0..t.lanes {
                let (sim, c) = t.lane(l);
                seen[sim * ch.count + c] += 1;
            }
        }
        assert!(seen.iter().all(|&k| k == 1));
    }
}
