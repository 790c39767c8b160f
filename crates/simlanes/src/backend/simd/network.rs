//! The W4/W5 network SDEs on SIMD lanes: one group of members (16 on `f32x16`, 8 on
//! `f32x8`, 1 on `f32`) through the one Heun loop of `simcore::models::heun`, with the
//! group's state in contiguous `[var][node]` buffers of lanes (lane `l` = member
//! `first + l`).
//!
//! The outputs are `[var][node][B]` (batch innermost), strided for a group, so a range of
//! members ([`for_ranges`]: the whole batch on one thread, or tiles on the pool) returns
//! its own `[element][member]` block and the blocks are copied into place afterwards —
//! a copy of the final state only, negligible next to `nt` steps.

use crate::backend::threaded::map_tiles;
use crate::simulator::{Backend, Simulator};
use simcore::lane::Real;
use simcore::models::heun::{self, HeunCoeffs, Network, NetworkModel, RING, Scratch};
use simcore::rng::{NormalSeq, Stream};
use std::ops::Range;

/// Buffers of one group of lanes with `nv` variables and `nn` nodes.
pub(crate) struct GroupBufs<L> {
    pub(crate) x: Vec<L>,
    xp: Vec<L>,
    f1: Vec<L>,
    nz: Vec<L>,
    cv: Vec<L>,
    c: Vec<L>,
    hist: Vec<L>,
}

impl<L: Real<Scalar = f32>> GroupBufs<L> {
    /// Buffers for `nv` variables and `nn` nodes; the ring buffer only when `delayed`.
    pub(crate) fn new(nv: usize, nn: usize, delayed: bool) -> Self {
        let z = L::splat(0.0);
        Self {
            x: vec![z; nv * nn],
            xp: vec![z; nv * nn],
            f1: vec![z; nv * nn],
            nz: vec![z; nv * nn],
            cv: vec![z; nn],
            c: vec![z; nn],
            hist: if delayed { vec![z; RING * nn] } else { Vec::new() },
        }
    }
}

/// Integrates members `first .. first + L::LANES` (streams of the same indices under
/// `seed`) from the state in `bufs.x` for `nt` steps; `after(t, x)` sees every state
/// `x[t]`, `t = 1..=nt`. Delayed when `net` has lags.
#[allow(clippy::too_many_arguments)]
pub(crate) fn integrate_group<L: Real<Scalar = f32>, M: NetworkModel<L, V>, const V: usize>(
    model: &M,
    net: &Network<'_, f32>,
    k: L,
    h: &HeunCoeffs<L>,
    seed: u64,
    first: u64,
    nt: usize,
    bufs: &mut GroupBufs<L>,
    after: impl FnMut(u64, &[L]),
) {
    let nn = net.nn();
    let GroupBufs { x, xp, f1, nz, cv, c, hist } = bufs;
    let mut s = Scratch { xp: &mut xp[..], f1: &mut f1[..], nz: &mut nz[..], cv: &mut cv[..], c: &mut c[..] };
    let mut normals = NormalSeq::new(Stream::<L>::consecutive(seed, first), 0);
    let hist = if net.lags().is_some() {
        heun::init_history::<L, M, [L], V>(model, nn, &x[..], &mut hist[..]);
        Some(&mut hist[..])
    } else {
        None
    };
    heun::run::<L, M, [L], V>(model, net, k, h, &mut x[..], hist, &mut s, &mut normals, 0, nt as u64, after);
}

/// Lane `l` is `v[first + l]`, or `v[0]` for every lane when `v` has one entry (a
/// broadcast per-member parameter).
pub(crate) fn members<L: Real<Scalar = f32>>(v: &[f32], first: usize) -> L {
    L::from_fn(|l| if v.len() == 1 { v[0] } else { v[first + l] })
}

/// `range` as the first members of its full groups of `lanes`, and the remaining members.
pub(crate) fn split_by(range: Range<usize>, lanes: usize) -> (impl Iterator<Item = usize>, Range<usize>) {
    let full = range.start + range.len() / lanes * lanes;
    ((range.start..full).step_by(lanes), full..range.end)
}

/// `f(range)` over `[0, batch)`: once on [`Backend::Simd`], per tile (in tile order) on
/// [`Backend::Threaded`]; tiles sized for `bytes_per_member`.
pub(crate) fn for_ranges<R: Send>(
    sim: &Simulator,
    batch: usize,
    bytes_per_member: usize,
    f: impl Fn(Range<usize>) -> R + Sync,
) -> Vec<(Range<usize>, R)> {
    match (sim.backend(), sim.pool()) {
        (Backend::Threaded(cfg), Some(pool)) => {
            let tile = cfg.tile_for(batch, bytes_per_member);
            map_tiles(pool, batch, tile, |r| (r.clone(), f(r)))
        }
        _ => vec![(0..batch, f(0..batch))],
    }
}

/// Copies a range's `[element][member − range.start]` block into the `[element][B]`
/// array `out`.
pub(crate) fn scatter(out: &mut [f32], batch: usize, range: &Range<usize>, block: &[f32]) {
    if range.is_empty() {
        return;
    }
    for (e, row) in block.chunks_exact(range.len()).enumerate() {
        out[e * batch + range.start..e * batch + range.end].copy_from_slice(row);
    }
}
