//! The grid emulator: runs the `gpu-kernels` kernel bodies on the host for every thread
//! index of a 1-D grid, exactly as the device entry points do (`BLOCK_THREADS` threads
//! per block, threads at or past `n` idle, thread `i` writing its own outputs).
//!
//! Why: no GPU is needed to prove the kernel logic. The entry points only add the thread
//! index, the bounds check and the stores; everything else is the body function this
//! emulator calls, compiled from the same source. Tests compare the emulator with the
//! scalar oracle ([`crate::backend::scalar`]) bit for bit, and the GPU with both when a
//! GPU is present.

use gpu_kernels::{BLOCK_THREADS, body};

use crate::error::SimError;
use crate::workload::binomial::BinomialPlan;
use crate::workload::jansen_rit::JansenRitSpec;
use crate::workload::mpr::{MprOutput, MprSpec};
use crate::workload::ou::OuSpec;
use crate::workload::pi::PiSpec;
use simcore::models::heun::Scratch;

/// Calls `thread(i)` for every thread of a grid covering `n` threads, in block order,
/// skipping threads `>= n` as the entry points' bounds check does.
pub fn grid(n: u32, mut thread: impl FnMut(u32)) {
    let blocks = n.div_ceil(BLOCK_THREADS);
    for b in 0..blocks {
        for t in 0..BLOCK_THREADS {
            let i = u64::from(b) * u64::from(BLOCK_THREADS) + u64::from(t);
            if i < u64::from(n) {
                thread(i as u32);
            }
        }
    }
}

/// Kernel `pi_hits`: `hits[i]` = hits of estimate `first + i` over `pairs` pairs.
/// `hits.len()` must fit in u32 (callers check).
pub fn pi_hits(hits: &mut [u32], seed: u64, first: u64, pairs: u64) {
    let n = u32::try_from(hits.len()).unwrap_or(u32::MAX);
    grid(n, |i| hits[i as usize] = body::pi_hits(i, seed, first, pairs));
}

/// Kernel `fill_uniforms`: row `i` of `out` (`count` wide) = uniforms `0..count` of
/// stream `first + i`. `out.len()` must be a multiple of `count`.
pub fn fill_uniforms(out: &mut [f32], seed: u64, first: u64, count: u32) {
    let n = u32::try_from(out.len() / count.max(1) as usize).unwrap_or(u32::MAX);
    grid(n, |i| {
        let row = i as usize * count as usize;
        body::fill_uniforms(i, seed, first, count, |j, u| out[row + j as usize] = u);
    });
}

/// Kernel `fill_normals`: row `i` of `out` (`count` wide) = normals `0..count` of stream
/// `first + i`.
pub fn fill_normals(out: &mut [f32], seed: u64, first: u64, count: u32) {
    let n = u32::try_from(out.len() / count.max(1) as usize).unwrap_or(u32::MAX);
    grid(n, |i| {
        let row = i as usize * count as usize;
        body::fill_normals(i, seed, first, count, |j, z| out[row + j as usize] = z);
    });
}

/// Kernel `ou_final`: `out[i]` = final state of simulation `first + i`.
#[allow(clippy::too_many_arguments)]
pub fn ou_final(out: &mut [f64], seed: u64, first: u64, num_steps: u64, x0: f64, relax: f64, diffuse: f64) {
    let n = u32::try_from(out.len()).unwrap_or(u32::MAX);
    grid(n, |i| out[i as usize] = body::ou_final(i, seed, first, num_steps, x0, relax, diffuse));
}

/// Kernels `ou_chunk_sums` / `ou_chunk_sums_jax` (`spec.jax_key` set): `out[i]` = sum of
/// chunk `i % ch.count` of simulation `i / ch.count`, run from 0. `out` holds
/// `num_sim·ch.count` entries (callers check it fits u32).
pub fn ou_chunk_sums(out: &mut [f64], spec: &OuSpec, ch: &crate::backend::simd::ou::Chunking) {
    let n = u32::try_from(out.len()).unwrap_or(u32::MAX);
    let c = spec.params.coeffs_f64();
    let (chunks, len, last) = (ch.count as u32, ch.len as u64, ch.last as u64);
    match super::jax_noise(spec.jax_key, spec.num_sim) {
        None => grid(n, |i| {
            out[i as usize] = body::ou_chunk_sum(i, spec.seed, chunks, len, last, c.relax, c.diffuse);
        }),
        Some(jax) => grid(n, |i| {
            out[i as usize] = body::ou_chunk_sum_jax(i, &jax, chunks, len, last, c.relax, c.diffuse);
        }),
    }
}

/// Kernel `ou_path`: `out[t·n + i]` = state `t` of simulation `first + i`, where
/// `n = out.len() / (num_steps + 1)`.
#[allow(clippy::too_many_arguments)]
pub fn ou_path(out: &mut [f64], seed: u64, first: u64, num_steps: u64, x0: f64, relax: f64, diffuse: f64) {
    let stride = out.len() / (num_steps as usize + 1);
    let n = u32::try_from(stride).unwrap_or(u32::MAX);
    grid(n, |i| {
        body::ou_path(i, seed, first, num_steps, x0, relax, diffuse, |t, x| {
            out[t as usize * stride + i as usize] = x;
        });
    });
}

/// Kernel `ou_with_normals`: `out[i]` = final state of simulation `i` driven by
/// `z[t·n + i]`, `n = out.len()`.
pub fn ou_with_normals(out: &mut [f64], z: &[f64], num_steps: u64, x0: f64, relax: f64, diffuse: f64) {
    let stride = out.len();
    let n = u32::try_from(stride).unwrap_or(u32::MAX);
    grid(n, |i| {
        out[i as usize] =
            body::ou_with_normals(num_steps, x0, relax, diffuse, |t| z[t as usize * stride + i as usize]);
    });
}

/// Kernel `pi_hits_jax`: `hits[i]` = hits of estimate `first + i` of `jax`'s batch.
pub fn pi_hits_jax(hits: &mut [u32], jax: &body::JaxNoise, first: u64, pairs: u64) {
    let n = u32::try_from(hits.len()).unwrap_or(u32::MAX);
    grid(n, |i| hits[i as usize] = body::pi_hits_jax(i, jax, first, pairs));
}

/// Kernel `ou_final_jax`: `out[i]` = final state of simulation `first + i` of `jax`'s batch.
#[allow(clippy::too_many_arguments)]
pub fn ou_final_jax(
    out: &mut [f64],
    jax: &body::JaxNoise,
    first: u64,
    num_steps: u64,
    x0: f64,
    relax: f64,
    diffuse: f64,
) {
    let n = u32::try_from(out.len()).unwrap_or(u32::MAX);
    grid(n, |i| out[i as usize] = body::ou_final_jax(i, jax, first, num_steps, x0, relax, diffuse));
}

/// Kernel `ou_path_jax`: `out[t·n + i]` = state `t` of simulation `first + i` of `jax`'s
/// batch, `n = out.len() / (num_steps + 1)`.
#[allow(clippy::too_many_arguments)]
pub fn ou_path_jax(
    out: &mut [f64],
    jax: &body::JaxNoise,
    first: u64,
    num_steps: u64,
    x0: f64,
    relax: f64,
    diffuse: f64,
) {
    let stride = out.len() / (num_steps as usize + 1);
    let n = u32::try_from(stride).unwrap_or(u32::MAX);
    grid(n, |i| {
        body::ou_path_jax(i, jax, first, num_steps, x0, relax, diffuse, |t, x| {
            out[t as usize * stride + i as usize] = x;
        });
    });
}

/// W1 through the emulated kernels as [`super::Gpu::pi`] launches them (`pi_hits`, or
/// `pi_hits_jax` when `spec.jax_key` is set): the hits of every estimate.
///
/// # Errors
/// As [`PiSpec::validate`], and [`SimError::Param`] when `I` exceeds `u32::MAX`.
pub fn pi(spec: &PiSpec) -> Result<Vec<u64>, SimError> {
    spec.validate()?;
    u32::try_from(spec.estimates)
        .map_err(|_| simcore::ParamError::TooLarge { name: "estimates", max: u64::from(u32::MAX) })?;
    let mut hits = vec![0u32; spec.estimates];
    match super::jax_noise(spec.jax_key, spec.estimates) {
        Some(jax) => pi_hits_jax(&mut hits, &jax, 0, spec.pairs_per_estimate),
        None => pi_hits(&mut hits, spec.seed, 0, spec.pairs_per_estimate),
    }
    Ok(hits.into_iter().map(u64::from).collect())
}

/// W2 mode (b) through the emulated kernels as [`super::Gpu::ou_final`] launches them.
///
/// # Errors
/// As [`OuSpec::validate`], and [`SimError::Param`] when `num_sim` exceeds `u32::MAX`.
pub fn ou_final_spec(spec: &OuSpec) -> Result<Vec<f64>, SimError> {
    spec.validate()?;
    u32::try_from(spec.num_sim)
        .map_err(|_| simcore::ParamError::TooLarge { name: "num_sim", max: u64::from(u32::MAX) })?;
    let c = spec.params.coeffs_f64();
    let (steps, x0) = (spec.num_steps as u64, spec.params.x0);
    let mut out = vec![0.0; spec.num_sim];
    match super::jax_noise(spec.jax_key, spec.num_sim) {
        Some(jax) => ou_final_jax(&mut out, &jax, 0, steps, x0, c.relax, c.diffuse),
        None => ou_final(&mut out, spec.seed, 0, steps, x0, c.relax, c.diffuse),
    }
    Ok(out)
}

/// W2 mode (a) through the emulated kernels as [`super::Gpu::ou_path`] launches them:
/// `(num_steps + 1)·num_sim` values, layout `[t][sim]`.
///
/// # Errors
/// As [`ou_final_spec`].
pub fn ou_path_spec(spec: &OuSpec) -> Result<Vec<f64>, SimError> {
    spec.validate()?;
    u32::try_from(spec.num_sim)
        .map_err(|_| simcore::ParamError::TooLarge { name: "num_sim", max: u64::from(u32::MAX) })?;
    let c = spec.params.coeffs_f64();
    let (steps, x0) = (spec.num_steps as u64, spec.params.x0);
    let mut out = vec![0.0; spec.path_len()?];
    match super::jax_noise(spec.jax_key, spec.num_sim) {
        Some(jax) => ou_path_jax(&mut out, &jax, 0, steps, x0, c.relax, c.diffuse),
        None => ou_path(&mut out, spec.seed, 0, steps, x0, c.relax, c.diffuse),
    }
    Ok(out)
}

/// Kernel `binomial_validate`: `partial[g·chunks + c]` for every point `g` and chunk `c`
/// (`partial.len()` must be `points·chunks`).
pub fn binomial_validate(partial: &mut [u32], args: &body::BinomialArgs<'_>) {
    let chunks = args.counts.chunks() as usize;
    let n = u32::try_from(args.counts.threads()).unwrap_or(u32::MAX);
    grid(n, |i| {
        let c = i as usize % chunks;
        body::binomial_validate(i, args, |g, r| partial[g * chunks + c] = r);
    });
}

/// W3 validate through the emulated kernel, exactly as [`super::Gpu::binomial_validate`]
/// runs it but with `sims_per_thread` chosen by the caller (any value >= 1 must give the
/// same counts): `rej[g]` at the active points of `plan`, 0 elsewhere.
///
/// # Errors
/// [`SimError::Param`] when `S` exceeds `u32::MAX`.
pub fn binomial_validate_plan(
    plan: &BinomialPlan<'_>,
    lambda: f32,
    sims_per_thread: u32,
) -> Result<Vec<u64>, SimError> {
    let sims = u32::try_from(plan.sims)
        .map_err(|_| simcore::ParamError::TooLarge { name: "sims", max: u64::from(u32::MAX) })?;
    let mut host = Vec::new();
    let counts = body::CountArgs {
        p: &plan.p,
        d: plan.d,
        n: plan.n,
        sims,
        sims_per_thread: sims_per_thread.max(1),
        uniforms: super::kernel_uniforms(plan, &mut host)?,
    };
    let args = body::BinomialArgs { counts, lambda };
    let chunks = counts.chunks() as usize;
    let mut partial = vec![0u32; plan.active.len() * chunks];
    binomial_validate(&mut partial, &args);
    let mut rej = vec![0u64; plan.grid];
    super::reduce_partials(plan, &partial, chunks, &mut rej);
    Ok(rej)
}

/// W4 / W4d through the emulated kernel `jansen_rit`: the final states, `[6][nn][B]`,
/// with the state and the work area in the GPU's strided layout.
///
/// # Errors
/// As [`JansenRitSpec::validate`], and [`SimError::Param`] when `nn` or `B` exceed
/// `u32::MAX`.
pub fn jansen_rit(spec: &JansenRitSpec) -> Result<Vec<f32>, SimError> {
    let (args, len) = super::jansen_rit_args(spec)?;
    let (nn, bs) = (spec.nn, spec.batch);
    let mut x = spec.initial.clone().unwrap_or_else(|| vec![0.0; len]);
    let mut work = vec![0.0f32; body::jansen_rit_work_elems(nn, spec.lags.is_some()) * bs];
    let nv = simcore::models::jansen_rit::NV;
    grid(bs as u32, |b| {
        let lane = b as usize;
        let (xp, rest) = work.split_at_mut(nv * nn * bs);
        let (f1, rest) = rest.split_at_mut(nv * nn * bs);
        let (nz, rest) = rest.split_at_mut(nv * nn * bs);
        let (cv, rest) = rest.split_at_mut(nn * bs);
        let (c, hist) = rest.split_at_mut(nn * bs);
        let view = |data| body::Strided { data, stride: bs, lane };
        let (mut xp, mut f1, mut nz, mut cv, mut c) = (view(xp), view(f1), view(nz), view(cv), view(c));
        let mut s = Scratch { xp: &mut xp, f1: &mut f1, nz: &mut nz, cv: &mut cv, c: &mut c };
        let mut hist = view(hist);
        let hist = if args.lags.is_some() { Some(&mut hist) } else { None };
        body::jansen_rit(b, &args, &mut view(&mut x[..]), &mut s, hist);
    });
    Ok(x)
}

/// W5 through the emulated kernel `mpr`: the statistic of every member and the final
/// states (`[2][nn][B]`), state and work area in the GPU's strided layout.
///
/// # Errors
/// As [`MprSpec::validate`], and [`SimError::Param`] when `nn` or `B` exceed `u32::MAX`.
pub fn mpr(spec: &MprSpec) -> Result<MprOutput, SimError> {
    let (args, mut x) = super::mpr_args(spec)?;
    let (nn, bs) = (spec.nn, spec.batch);
    let mut work = vec![0.0f32; body::mpr_work_elems(nn) * bs];
    let mut std_r = vec![f64::NAN; bs];
    let nv = simcore::models::mpr::NV;
    grid(bs as u32, |b| {
        let lane = b as usize;
        let (xp, rest) = work.split_at_mut(nv * nn * bs);
        let (f1, rest) = rest.split_at_mut(nv * nn * bs);
        let (nz, rest) = rest.split_at_mut(nv * nn * bs);
        let (cv, c) = rest.split_at_mut(nn * bs);
        let view = |data| body::Strided { data, stride: bs, lane };
        let (mut xp, mut f1, mut nz, mut cv, mut c) = (view(xp), view(f1), view(nz), view(cv), view(c));
        let mut s = Scratch { xp: &mut xp, f1: &mut f1, nz: &mut nz, cv: &mut cv, c: &mut c };
        std_r[lane] = body::mpr(b, &args, &mut view(&mut x[..]), &mut s);
    });
    Ok(MprOutput { std_r, final_state: x })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_visits_each_thread_once() {
        for n in [0u32, 1, 255, 256, 257, 1000] {
            let mut seen = vec![0u8; n as usize];
            grid(n, |i| seen[i as usize] += 1);
            assert!(seen.iter().all(|&c| c == 1), "n = {n}");
        }
    }
}
