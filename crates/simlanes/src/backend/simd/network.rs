//! The W4/W5 network SDEs on SIMD lanes: groups of members (16 on `f32x16`, 8 on
//! `f32x8`, 1 on `f32` for the remainder), each integrated by the shared
//! `backend::heun_group::integrate_group` (lane `l` = member `first + l`).
//!
//! The outputs are `[var][node][B]` (batch innermost), strided for a group, so a range of
//! members ([`for_ranges`]: the whole batch on one thread, or tiles on the pool) returns
//! its own `[element][member]` block and the blocks are copied into place afterwards —
//! a copy of the final state only, negligible next to `nt` steps.

use crate::backend::threaded::map_tiles;
use crate::backend::threaded::nodes::node_threads;
use crate::simulator::{Backend, Simulator, ThreadConfig};
use simcore::lane::Real;
use std::ops::Range;

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

/// The threaded backend's config when a batch of `batch` members would leave threads
/// idle as tiles (fewer tiles of `bytes_per_member` than threads: W4's seed size, 8
/// members, is one tile) and a network of `nn` nodes is big enough to split across
/// them instead (`backend/threaded/nodes.rs`); `None` otherwise.
pub(crate) fn split_nodes(
    sim: &Simulator,
    batch: usize,
    bytes_per_member: usize,
    nn: usize,
) -> Option<ThreadConfig> {
    match sim.backend() {
        Backend::Threaded(cfg)
            if node_threads(cfg.threads, nn) > 1
                && batch.div_ceil(cfg.tile_for(batch, bytes_per_member)) < cfg.threads =>
        {
            Some(cfg)
        }
        _ => None,
    }
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
