//! W2 rows — Ornstein–Uhlenbeck (f64), steps per second, in the three modes of
//! WORKLOADS.md: `path` (a, every state written), `final` (b) and `normals` (c, the
//! deterministic part on caller-supplied normals); `final, parallel in time` (b with each
//! path cut into 64 chunks of time on the CPU, 16 384 on the GPU, stitched); on the CPU
//! backends also `path, parallel in time` (a, 64 chunks) and `noise only` (the normals of
//! (a)/(b) drawn alone, see `noise`).
//!
//! Sizes (`num_steps × num_sim`): quick `500_000 × 8`; seed `5_000_000 × 8`; sweep
//! `5_000_000 × 8`, `500_000 × 64`, `50_000 × 1024` (4e7, 3.2e7, 5.1e7 steps).
//!
//! Byte model: `path` writes `(num_steps + 1)·num_sim` f64 (8 B each, the mode's "bytes
//! written per second"); `final` writes `num_sim` f64; `normals` reads
//! `num_steps·num_sim` f64 normals (and writes `num_sim` f64). Flops: only `normals` is
//! counted, 3 per step (`x·relax + diffuse·z`: one multiply, one FMA); the other modes
//! are bound by the normal generator, which is not flop-counted.
//!
//! Checks (computed from the outputs):
//! * `path`: over every simulation and the states after a burn-in of 200 steps
//!   (`relax^200 = e^-20`), the variance is the stationary `σ² = 4` and the lag-1
//!   autocorrelation is `relax = e^-0.1` (`simcore::stats::Lag1`, each simulation a
//!   series, pooled), each within 4 standard errors of the AR(1) law:
//!   `se(s²) = σ²·sqrt(2(1+ρ²)/((1−ρ²)M))`, `se(r₁) = sqrt((1−ρ²)/M)` for `M` samples;
//! * `final`: equal, bit for bit, to the last row of the `path` output (same streams);
//! * `normals`: fed normal `t` of stream `i` of the seed (generated here through
//!   `simcore`'s `NormalSeq`, untimed), equal bit for bit to the `final` output;
//! * `path, parallel in time`: every state within the mode's documented bound of `path`
//!   (`Simulator::ou_path_parallel_in_time`; `M_x`, `M_z` as below);
//! * `final, parallel in time`: within the mode's documented bound of `final`
//!   (`Simulator::ou_final_parallel_in_time`), with `M_x` the largest `|x|` of the `path`
//!   output and `M_z` the largest `|diffuse·z|` of the normals of `normals`;
//! * `noise only`: the mean of the normals within 4 standard errors of 0.

use simlanes::Backend;
use simlanes::backend::simd::ou::Chunking;
use simlanes::simcore::rng::{NormalSeq, Stream};
use simlanes::simcore::stats::Lag1;
use simlanes::workload::ou::{OuParams, OuSpec};

use super::{Ctx, Measured, Meta, Size, both, noise, simulator, within_4se};
use crate::bench::report::{Check, Row};
use crate::bench::stream::Traffic;
use crate::bench::timing::repeat;

/// Steps dropped before the stationary statistics.
const BURN_IN: usize = 200;

/// The rows of W2 on `b`.
pub fn rows(b: Backend, ctx: &Ctx) -> Vec<Row> {
    let sizes: &[(usize, usize)] = match ctx.size {
        Size::Quick => &[(500_000, 8)],
        Size::Seed => &[(5_000_000, 8)],
        Size::Sweep => &[(5_000_000, 8), (500_000, 64), (50_000, 1024)],
    };
    sizes.iter().flat_map(|&(steps, sims)| run(b, ctx, steps, sims)).collect()
}

/// Variance and lag-1 autocorrelation of a `[t][sim]` path after the burn-in, every
/// simulation a series of its own, pooled (`simcore::stats::Lag1`), and the number of
/// samples.
fn path_stats(path: &[f64], sims: usize) -> (f64, f64, usize) {
    let rows = path.len() / sims;
    let mut pool = Lag1::new();
    for i in 0..sims {
        let mut series = Lag1::new();
        for t in BURN_IN..rows {
            series.push(path[t * sims + i]);
        }
        pool.merge(&series);
    }
    let var = pool.moments().variance_population().unwrap_or(f64::NAN);
    (var, pool.autocorrelation().unwrap_or(f64::NAN), pool.moments().count() as usize)
}

/// The AR(1) law check of a path.
fn path_check(path: &[f64], sims: usize, params: &OuParams) -> Check {
    let rho = (-params.dt / params.tau).exp();
    let var = params.sigma * params.sigma;
    let (v, r1, m) = path_stats(path, sims);
    let m = m as f64;
    let se_var = var * (2.0 * (1.0 + rho * rho) / ((1.0 - rho * rho) * m)).sqrt();
    let se_r1 = ((1.0 - rho * rho) / m).sqrt();
    both(within_4se("variance", v, var, se_var), within_4se("lag-1 autocorr", r1, rho, se_r1))
}

fn same_bits(what: &str, got: &[f64], want: &[f64]) -> Check {
    let bad = got.iter().zip(want).filter(|(a, b)| a.to_bits() != b.to_bits()).count();
    let pass = bad == 0 && got.len() == want.len();
    Check::new(pass, format!("{what}: {bad} of {} differ", want.len()))
}

/// Whether the largest `|got − want|` is at most `bound`; `what` names that maximum.
fn within_bound(what: &str, got: &[f64], want: &[f64], bound: f64) -> Check {
    let worst = got.iter().zip(want).fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    Check::new(worst <= bound, format!("{what} {worst:.2e} <= bound {bound:.2e}"))
}

fn run(b: Backend, ctx: &Ctx, steps: usize, sims: usize) -> Vec<Row> {
    let size = format!("steps={steps} sims={sims}");
    let metas: Vec<Meta> = ["path", "final", "normals"]
        .iter()
        .map(|v| Meta::new("W2", *v, b, "steps/s").size(size.clone(), None))
        .collect();
    let sim = match simulator(b) {
        Ok(s) => s,
        Err(e) => return metas.iter().map(|m| m.failed(e.clone())).collect(),
    };
    let params = OuParams::default();
    let spec = OuSpec { seed: ctx.seed, num_sim: sims, num_steps: steps, params, jax_key: None };
    let work = (steps * sims) as f64;
    let mut rows = Vec::new();

    // (a) full path.
    let len = (steps + 1) * sims;
    let mut path = vec![0.0f64; len];
    let (stats, res) = repeat(ctx.repeats(), ctx.budget_s(), || sim.ou_path(&spec, &mut path));
    if let Err(e) = res {
        return metas.iter().map(|m| m.failed(e.to_string())).collect();
    }
    rows.push(metas[0].row(Measured {
        stats,
        work,
        bytes: Some((8.0 * len as f64, Traffic::Write)),
        flops: None,
        check: path_check(&path, sims, &params),
    }));
    let last_row = path[steps * sims..].to_vec();
    let max_x = path.iter().fold(0.0f64, |m, x| m.max(x.abs()));

    // (b) final state.
    let (stats, res) = repeat(ctx.repeats(), ctx.budget_s(), || sim.ou_final(&spec));
    let fin = match res {
        Ok(f) => f,
        Err(e) => {
            rows.push(metas[1].failed(e.to_string()));
            return rows;
        }
    };
    rows.push(metas[1].row(Measured {
        stats,
        work,
        bytes: Some((8.0 * sims as f64, Traffic::Write)),
        flops: None,
        check: same_bits("final vs last path row", &fin, &last_row),
    }));

    // (c) caller-supplied normals: the streams' own normals, so the result must be (b)'s.
    let mut z = vec![0.0f64; steps * sims];
    for i in 0..sims {
        let mut seq = NormalSeq::new(Stream::<f64>::consecutive(ctx.seed, i as u64), 0);
        for t in 0..steps {
            z[t * sims + i] = seq.next();
        }
    }
    let (stats, res) = repeat(ctx.repeats(), ctx.budget_s(), || sim.ou_with_normals(&spec, &z));
    match res {
        Ok(out) => rows.push(metas[2].row(Measured {
            stats,
            work,
            bytes: Some((8.0 * (steps * sims) as f64, Traffic::Read)),
            flops: Some(3.0 * work),
            check: same_bits("normals-fed vs final", &out, &fin),
        })),
        Err(e) => rows.push(metas[2].failed(e.to_string())),
    }
    let max_dz = params.coeffs_f64().diffuse * z.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    drop(z);
    // The chunks of the path row, as the mode cuts them.
    let (chunks, _) = chunking(steps, PIT_CHUNKS);

    // (a) parallel in time, against the sequential path within its stated bound.
    if !matches!(b, Backend::Gpu { .. }) {
        let meta = Meta::new("W2", format!("path, parallel in time (C={PIT_CHUNKS})"), b, "steps/s")
            .size(size.clone(), None);
        let mut pit = vec![0.0f64; len];
        let (stats, res) = repeat(ctx.repeats(), ctx.budget_s(), || {
            sim.ou_path_parallel_in_time(&spec, &mut pit, PIT_CHUNKS)
        });
        rows.push(match res {
            Ok(()) => {
                let bound = pit_path_bound(&params, max_x, max_dz, chunks);
                let check = within_bound("max over the path |parallel - sequential|", &pit, &path, bound);
                meta.row(Measured {
                    stats,
                    work,
                    bytes: Some((8.0 * len as f64, Traffic::Write)),
                    flops: None,
                    check,
                })
            }
            Err(e) => meta.failed(e.to_string()),
        });
    }
    drop(path);

    // (b) parallel in time, against the sequential oracle within its stated bound. The
    // GPU takes a chunk per thread, so it gets many more chunks.
    {
        let c = if matches!(b, Backend::Gpu { .. }) { GPU_PIT_CHUNKS } else { PIT_CHUNKS };
        let (chunks, chunk_len) = chunking(steps, c);
        let meta = Meta::new("W2", format!("final, parallel in time (C={c})"), b, "steps/s")
            .size(size.clone(), None);
        let (stats, res) = repeat(ctx.repeats(), ctx.budget_s(), || sim.ou_final_parallel_in_time(&spec, c));
        rows.push(match res {
            Ok(x) => {
                let bound = pit_bound(&params, max_x, max_dz, chunks, chunk_len);
                let check = within_bound("max |parallel - sequential|", &x, &fin, bound);
                meta.row(Measured {
                    stats,
                    work,
                    bytes: Some((8.0 * sims as f64, Traffic::Write)),
                    flops: None,
                    check,
                })
            }
            Err(e) => meta.failed(e.to_string()),
        });
    }

    // What the normals alone cost (see `noise`): (a) and (b) cannot run much faster.
    let meta = Meta::new("W2", "noise only", b, "steps/s").size(size, None);
    rows.extend(noise::row::<f64>(b, ctx, meta, sims, steps, work));
    rows
}

/// `(count, len)` of the chunks the parallel-in-time modes cut `steps > 0` into for
/// `chunks` per simulation (the library's own `Chunking`).
fn chunking(steps: usize, chunks: usize) -> (usize, usize) {
    let ch = Chunking::new(steps, chunks).expect("the bench sizes have steps");
    (ch.count, ch.len)
}

/// Chunks per simulation of the parallel-in-time rows (the mode's documented example).
const PIT_CHUNKS: usize = 64;

/// Chunks per simulation of the GPU's final-state parallel-in-time row: one device thread
/// per chunk, so at the seed size (8 simulations) 131 072 threads, about half of an
/// H100/H200's resident threads (132 SMs × 2048), of about 300 steps each.
const GPU_PIT_CHUNKS: usize = 16_384;

/// The agreement bound of `Simulator::ou_final_parallel_in_time` (its docs): with
/// `u = 2^-53`, `C` chunks of `len` steps,
/// `u·[(2·M_z + 6·M_x)/(1 − r) + C·M_x·(2 + 2⌈log2(len + 1)⌉)]`.
fn pit_bound(params: &OuParams, max_x: f64, max_dz: f64, chunks: usize, len: usize) -> f64 {
    let u = f64::EPSILON / 2.0;
    let r = params.coeffs_f64().relax;
    let log = ((len + 1) as f64).log2().ceil();
    u * ((2.0 * max_dz + 6.0 * max_x) / (1.0 - r) + chunks as f64 * max_x * (2.0 + 2.0 * log))
}

/// The agreement bound of `Simulator::ou_path_parallel_in_time` (its docs), for every
/// state of the path: `u·[(2·M_z + 6·M_x)/(1 − r) + C·M_x·(2 + 1/(1 − r))]`.
fn pit_path_bound(params: &OuParams, max_x: f64, max_dz: f64, chunks: usize) -> f64 {
    let u = f64::EPSILON / 2.0;
    let r = params.coeffs_f64().relax;
    u * ((2.0 * max_dz + 6.0 * max_x) / (1.0 - r) + chunks as f64 * max_x * (2.0 + 1.0 / (1.0 - r)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_stats_of_a_known_path() {
        // Two sims alternating 2, 2, -2, -2, …: variance 4, lag-1 autocorr about 0, far
        // from relax = 0.905 with 20000 samples.
        let rows = BURN_IN + 10_000;
        let mut p = vec![0.0; 2 * rows];
        for t in BURN_IN..rows {
            let x = if (t / 2) % 2 == 0 { 2.0 } else { -2.0 };
            p[2 * t] = x;
            p[2 * t + 1] = -x;
        }
        let (v, r1, m) = path_stats(&p, 2);
        assert_eq!(m, 20_000);
        assert!((v - 4.0).abs() < 1e-9 && r1.abs() < 1e-3, "{v} {r1}");
        let c = path_check(&p, 2, &OuParams::default());
        assert!(!c.pass, "{c:?}");
        // An AR(1) path with the right coefficients passes.
        let rho = (-0.1f64).exp();
        let mut x = 0.0;
        let mut seq = NormalSeq::new(Stream::<f64>::consecutive(3, 0), 0);
        let path: Vec<f64> = (0..200_000)
            .map(|_| {
                let out = x;
                x = x * rho + 2.0 * (1.0 - rho * rho).sqrt() * seq.next();
                out
            })
            .collect();
        let c = path_check(&path, 1, &OuParams::default());
        assert!(c.pass, "{c:?}");
    }
}
