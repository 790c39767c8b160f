//! W1 on the SIMD and threaded backends: `simcore::models::pi::pi_hits` on `f32x16`
//! groups (16 estimates, 16 streams per Philox call), `f32` for the remainder.
//!
//! Why `f32x16` (on AVX2: two `f32x8` per operation): W1 is bound by the latency of
//! Philox's ten dependent rounds (`vpmuludq` 5 cycles, then shift/blend/xor), not by
//! throughput; two independent chains per operation measured +15–50 % pairs/s over
//! `f32x8` on the dev machine (noisy, shared 2-core EPYC). Tried and rejected (perf
//! probe, `examples/perf_probe.rs`): one estimate at a time on `f32`, vectorised by LLVM
//! along the blocks (faster in an isolated loop, 0.055 → 0.076–0.092 CPU-s for 5e7 pairs
//! in the backend), and 2 interleaved blocks on `f32x16` (`pi_hits_interleaved`, ≈ 5 %
//! slower: the 16-lane type already carries two chains).
//!
//! With a JAX key each estimate has its own key, and its pairs run across the lanes
//! instead (`pi_hits_jax_across`, see `jax_estimates`).

use super::{GroupKernel, drive_with, run_groups_with};
use crate::backend::threaded::for_each_tile;
use crate::simulator::{Backend, Simulator};
use crate::workload::jax::member_lanes;
use crate::workload::pi::PiSpec;
use simcore::lane::{Real, UintLane};
use simcore::models::pi::{pi_hits, pi_hits_jax_across};

struct Hits<'a>(&'a PiSpec);

impl GroupKernel<f32> for Hits<'_> {
    type Out = u64;
    fn group<L: Real<Scalar = f32>>(&self, first: u64, out: &mut [u64]) {
        // Philox streams only: the JAX mode runs `jax_estimates`.
        let s = self.0;
        let h = pi_hits::<L>(s.seed, first, s.pairs_per_estimate);
        for (l, o) in out.iter_mut().enumerate() {
            *o = u64::from(h.lane(l));
        }
    }
}

/// Tiles per thread the threaded backend aims for by default (instead of the generic
/// 4): W1 has no working set, only compute, so finer tiles cost nothing and trim the
/// tail where one thread idles. Measured (`perf_probe w1t`, 2 threads, 1000 estimates ×
/// 5e4 pairs): the generic default (tile 128, 8 tiles) 1.09–1.10e9 pairs/s, tiles of 16,
/// 32 or 64 estimates 1.73–1.76e9 (one thread: 8.8e8).
const TILES_PER_THREAD: usize = 16;

/// Hits of every estimate of a validated `spec` on `sim`'s backend.
pub fn run(sim: &Simulator, spec: &PiSpec) -> Vec<u64> {
    let mut hits = vec![0u64; spec.estimates];
    match (sim.backend(), sim.pool()) {
        (Backend::Threaded(cfg), Some(pool)) => {
            // `tile_for` honours a tile the caller fixed; otherwise it targets 4 tiles per
            // thread of the `n` it is given, so `n / 4` gives `TILES_PER_THREAD` per thread.
            let tile = cfg.tile_for(spec.estimates.div_ceil(TILES_PER_THREAD / 4), 64);
            for_each_tile(pool, tile, 1, &mut hits, |first, chunk| {
                if spec.jax_key.is_some() {
                    jax_estimates(spec, first, chunk);
                } else {
                    drive_with::<f32, wide::f32x16, _>(&Hits(spec), first, chunk);
                }
            });
        }
        _ if spec.jax_key.is_some() => jax_estimates(spec, 0, &mut hits),
        _ => run_groups_with::<f32, wide::f32x16, _>(sim, &Hits(spec), &mut hits),
    }
    hits
}

/// JAX mode: the hits of estimates `first ..` into `out`, one estimate at a time with its
/// pairs across `f32x16` lanes ([`pi_hits_jax_across`]: four threefry hashes in flight
/// per 16-lane word, two `u32x8` halves each). Measured (Zen 3 VM, `perf_probe jax`, one
/// thread): 1.95e8 pairs/s with one `f32` lane per estimate (the earlier path, where LLVM
/// vectorised the loop over pairs), 2.60e8 across `f32x8`, 2.86e8 across `f32x16`; the
/// legacy layout, whose counters are built lane by lane, 1.75e8 before and after.
fn jax_estimates(spec: &PiSpec, first: usize, out: &mut [u64]) {
    let Some(key) = spec.jax_key else { return };
    let (n, pairs) = (spec.estimates, spec.pairs_per_estimate);
    for (i, o) in (first as u64..).zip(out.iter_mut()) {
        // `spec.validate()` checked the sizes.
        if let Some(lanes) = member_lanes::<u32>(key, n, i, 2 * pairs) {
            *o = pi_hits_jax_across::<wide::f32x16>(&lanes.broadcast(), pairs);
        }
    }
}
