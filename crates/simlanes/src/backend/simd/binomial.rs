//! W3 on the SIMD and threaded backends: `simcore::models::binomial`'s grid counters on
//! `f32x8` groups (8 simulations, their uniforms generated or loaded once per group and
//! compared with every active grid point), `f32` for the remainder.
//!
//! **validate** reduces over simulations: each tile of simulations counts its
//! rejections per point and the tiles' integer counts are added (order-free, so exact).
//! **calibrate** needs every `T[g,s]`: each tile of simulations returns its counts at
//! every point, they are copied into the matrix `[g][s]`, and the `m`-th smallest count of
//! each point is selected (points in parallel). `T` is non-decreasing in the count, so
//! this is the scalar backend's answer.

use super::{GroupKernel, WidePrecision, run_groups};
use crate::backend::threaded::map_tiles;
use crate::simulator::{Backend, Simulator};
use crate::workload::binomial::{BinomialPlan, Uniforms};
use rayon::prelude::*;
use simcore::lane::{Real, UintLane};
use simcore::models::binomial::{count_fused_grid, count_pregenerated_grid, statistic};
use simcore::rng::Stream;
use std::ops::Range;

type Wide = <f32 as WidePrecision>::Wide;
const LANES: usize = <Wide as Real>::LANES;

/// Working set of one simulation: its uniforms (pregenerated) or little (fused).
const BYTES_PER_SIM: usize = 64;

/// Counts of simulations `first ..` (one per lane of `L`) at every point of `p`.
fn counts_of<L: Real<Scalar = f32>>(
    plan: &BinomialPlan<'_>,
    first: usize,
    p: &[f32],
    counts: &mut [L::Bits],
) {
    match plan.uniforms {
        Uniforms::Fused => count_fused_grid::<L>(plan.seed, first as u64, plan.n, plan.d, p, counts),
        Uniforms::Pregenerated(u) => count_pregenerated_grid::<L>(u, first, plan.n, plan.d, p, counts),
    }
}

/// `range` as its full `f32x8` groups' first simulations and the remaining simulations.
fn split(range: Range<usize>) -> (impl Iterator<Item = usize>, Range<usize>) {
    let full = range.start + range.len() / LANES * LANES;
    ((range.start..full).step_by(LANES), full..range.end)
}

/// Adds to `rej` the rejections of the groups starting at `firsts` (lanes of `L`).
fn validate_groups<L: Real<Scalar = f32>>(
    plan: &BinomialPlan<'_>,
    lambda: f32,
    firsts: impl Iterator<Item = usize>,
    rej: &mut [u64],
) {
    let mut counts = vec![L::Bits::splat(0); rej.len()];
    let (one, zero, lambda) = (L::Bits::splat(1), L::Bits::splat(0), L::splat(lambda));
    for first in firsts {
        counts_of::<L>(plan, first, &plan.p, &mut counts);
        for (r, &c) in rej.iter_mut().zip(&counts) {
            let hits = L::select_bits(statistic::<L>(c, plan.nd).simd_lt(lambda), one, zero);
            *r += (0..L::LANES).map(|l| u64::from(hits.lane(l))).sum::<u64>();
        }
    }
}

/// Rejections per active point among the simulations of `range`.
fn validate_range(plan: &BinomialPlan<'_>, lambda: f32, range: Range<usize>) -> Vec<u64> {
    let mut rej = vec![0u64; plan.active.len()];
    let (groups, rest) = split(range);
    validate_groups::<Wide>(plan, lambda, groups, &mut rej);
    validate_groups::<f32>(plan, lambda, rest, &mut rej);
    rej
}

/// `rej[g] = #{s : T[g,s] < lambda}` at the active points, 0 elsewhere.
pub fn validate(sim: &Simulator, plan: &BinomialPlan<'_>, lambda: f32) -> Vec<u64> {
    let rej_active = if plan.active.is_empty() {
        Vec::new()
    } else {
        match (sim.backend(), sim.pool()) {
            (Backend::Threaded(cfg), Some(pool)) => {
                let tile = cfg.tile_for(plan.sims, BYTES_PER_SIM);
                let parts = map_tiles(pool, plan.sims, tile, |r| validate_range(plan, lambda, r));
                let mut total = vec![0u64; plan.active.len()];
                for part in parts {
                    for (t, p) in total.iter_mut().zip(part) {
                        *t += p;
                    }
                }
                total
            }
            _ => validate_range(plan, lambda, 0..plan.sims),
        }
    };
    let mut rej = vec![0u64; plan.grid];
    for (&g, &r) in plan.active.iter().zip(&rej_active) {
        rej[g] = r;
    }
    rej
}

/// Counts of the groups starting at `firsts` (lanes of `L`) at the points of `p`, into
/// `cols[gi·width + (s − base)]`.
fn count_groups<L: Real<Scalar = f32>>(
    plan: &BinomialPlan<'_>,
    p: &[f32],
    firsts: impl Iterator<Item = usize>,
    base: usize,
    width: usize,
    cols: &mut [u32],
) {
    let mut counts = vec![L::Bits::splat(0); p.len() / plan.d];
    for first in firsts {
        counts_of::<L>(plan, first, p, &mut counts);
        for (gi, &c) in counts.iter().enumerate() {
            for l in 0..L::LANES {
                cols[gi * width + first - base + l] = c.lane(l);
            }
        }
    }
}

/// Counts of the simulations of `range` at the points of `p`, `[gi][s − range.start]`.
fn count_range(plan: &BinomialPlan<'_>, p: &[f32], range: Range<usize>) -> Vec<u32> {
    let (base, width) = (range.start, range.len());
    let mut cols = vec![0u32; p.len() / plan.d * width];
    let (groups, rest) = split(range);
    count_groups::<Wide>(plan, p, groups, base, width, &mut cols);
    count_groups::<f32>(plan, p, rest, base, width, &mut cols);
    cols
}

/// Entries of the count matrix held at once by [`calibrate`] (64 MiB of `u32`), as in
/// the scalar backend.
const CALIBRATE_BUDGET: usize = 1 << 24;

/// `λ*[g]` = the `m`-th smallest `T[g,s]` (1-based, `1 <= m <= S`) at the active points,
/// `f32::NAN` elsewhere.
pub fn calibrate(sim: &Simulator, plan: &BinomialPlan<'_>, m: usize) -> Vec<f32> {
    let (sims, d) = (plan.sims, plan.d);
    let mut out = vec![f32::NAN; plan.grid];
    let chunk = (CALIBRATE_BUDGET / sims).max(1);
    for (ci, gs) in plan.active.chunks(chunk).enumerate() {
        let p = &plan.p[ci * chunk * d..(ci * chunk + gs.len()) * d];
        let mut matrix = match (sim.backend(), sim.pool()) {
            (Backend::Threaded(cfg), Some(pool)) => {
                let tile = cfg.tile_for(sims, BYTES_PER_SIM);
                let parts = map_tiles(pool, sims, tile, |r| (r.clone(), count_range(plan, p, r)));
                let mut matrix = vec![0u32; gs.len() * sims];
                for (r, cols) in parts {
                    for (gi, row) in cols.chunks_exact(r.len()).enumerate() {
                        matrix[gi * sims + r.start..gi * sims + r.end].copy_from_slice(row);
                    }
                }
                matrix
            }
            _ => count_range(plan, p, 0..sims),
        };
        let select = |row: &mut [u32]| -> f32 {
            let (_, &mut c, _) = row.select_nth_unstable(m - 1);
            statistic::<f32>(c, plan.nd)
        };
        let lambdas: Vec<f32> = match sim.pool() {
            Some(pool) => pool.install(|| matrix.par_chunks_mut(sims).map(select).collect()),
            None => matrix.chunks_mut(sims).map(select).collect(),
        };
        for (&g, l) in gs.iter().zip(lambdas) {
            out[g] = l;
        }
    }
    out
}

/// The uniforms of one group of simulations, `[s][k][a]` rows of `nd` values.
struct Fill {
    seed: u64,
    nd: usize,
}

impl GroupKernel<f32> for Fill {
    type Out = f32;
    fn per_item(&self) -> usize {
        self.nd
    }
    fn bytes_per_sim(&self) -> usize {
        self.nd * 4
    }
    fn group<L: Real<Scalar = f32>>(&self, first: u64, out: &mut [f32]) {
        let stream = Stream::<L>::consecutive(self.seed, first);
        for c in 0..self.nd.div_ceil(4) {
            let u = stream.uniform_block(c as u64);
            for (q, uq) in u.iter().enumerate().take((self.nd - 4 * c).min(4)) {
                for l in 0..L::LANES {
                    out[l * self.nd + 4 * c + q] = uq.lane(l);
                }
            }
        }
    }
}

/// The pregenerated uniforms of simulations `0 .. out.len() / nd` (layout `[s][k][a]`),
/// as `simcore::models::binomial::fill_uniforms` gives them.
pub fn fill_uniforms(sim: &Simulator, seed: u64, nd: usize, out: &mut [f32]) {
    run_groups(sim, &Fill { seed, nd }, out);
}
