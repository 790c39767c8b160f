//! The explicit-SIMD backend: the core's group functions on `wide` vectors.
//!
//! A workload describes one *group* of simulations — lanes `0..L::LANES` carry
//! simulations `first..first + L::LANES` — once, generic over the lane type, as a
//! [`GroupKernel`]. [`drive`] walks a range of simulations with full `f32x8` (`f64x8`)
//! groups and finishes the remainder one simulation at a time with plain `f32` (`f64`):
//! the same core function on both, hence the same bits as the scalar backend.
//! [`run_groups`] picks one thread ([`Backend::Simd`]) or the tiles of
//! [`crate::backend::threaded`] ([`Backend::Threaded`]), so each workload's SIMD and
//! threaded variants are a few lines around its core function (this directory holds one
//! file per workload).

use crate::backend::threaded::for_each_tile;
use crate::simulator::{Backend, Simulator};
use simcore::lane::{Precision, Real};
use wide::{f32x8, f64x8};

pub mod binomial;
pub mod jansen_rit;
pub mod mpr;
mod network;
pub mod ou;
pub mod pi;

/// A precision with a SIMD vector type: `f32` → `f32x8` (one AVX2 register), `f64` →
/// `f64x8` (two: its words are one `u32x8`, so one Philox call feeds all 8 lanes).
pub trait WidePrecision: Precision + Real<Scalar = Self> {
    /// The vector of this precision the SIMD backend uses.
    type Wide: Real<Scalar = Self>;
}

impl WidePrecision for f32 {
    type Wide = f32x8;
}

impl WidePrecision for f64 {
    type Wide = f64x8;
}

/// One workload's computation for one group of consecutive simulations, written once for
/// every lane type of precision `P`.
pub trait GroupKernel<P: WidePrecision>: Sync {
    /// Output value type.
    type Out: Send;

    /// Output values per simulation (at least 1); simulation `i`'s values are
    /// `out[i·per_item .. (i+1)·per_item]`.
    fn per_item(&self) -> usize {
        1
    }

    /// Working set of one simulation in bytes (sizes the default tiles of
    /// [`Backend::Threaded`]).
    fn bytes_per_sim(&self) -> usize {
        64
    }

    /// Runs simulations `first .. first + L::LANES` (lane `l` = simulation `first + l`)
    /// and writes their outputs to `out` (`L::LANES · per_item` values, simulation-major).
    fn group<L: Real<Scalar = P>>(&self, first: u64, out: &mut [Self::Out]);
}

/// Runs `k` for simulations `first ..` covering `out`: `P::Wide` groups, then single
/// lanes of `P` for the remainder.
#[inline]
pub fn drive<P: WidePrecision, K: GroupKernel<P>>(k: &K, first: usize, out: &mut [K::Out]) {
    drive_with::<P, P::Wide, K>(k, first, out);
}

/// [`drive`] with groups of the vector type `W` (e.g. `f32x16`, two `f32x8` per
/// operation: two independent dependency chains, for latency-bound kernels).
#[inline]
pub fn drive_with<P: WidePrecision, W: Real<Scalar = P>, K: GroupKernel<P>>(
    k: &K,
    first: usize,
    out: &mut [K::Out],
) {
    let per = k.per_item();
    if per == 0 {
        return;
    }
    let lanes = W::LANES;
    let mut groups = out.chunks_exact_mut(lanes * per);
    let mut i = first as u64;
    for g in &mut groups {
        k.group::<W>(i, g);
        i += lanes as u64;
    }
    for one in groups.into_remainder().chunks_exact_mut(per) {
        k.group::<P>(i, one);
        i += 1;
    }
}

/// Runs `k` for every simulation of `out` (`out.len() / per_item` of them) on `sim`'s
/// backend: one-lane `P` groups on [`Backend::Scalar`], [`drive`] on one thread on
/// [`Backend::Simd`], [`drive`] per tile on the pool of [`Backend::Threaded`].
pub fn run_groups<P: WidePrecision, K: GroupKernel<P>>(sim: &Simulator, k: &K, out: &mut [K::Out]) {
    run_groups_with::<P, P::Wide, K>(sim, k, out);
}

/// [`run_groups`] with groups of the vector type `W` ([`drive_with`]).
pub fn run_groups_with<P: WidePrecision, W: Real<Scalar = P>, K: GroupKernel<P>>(
    sim: &Simulator,
    k: &K,
    out: &mut [K::Out],
) {
    let per = k.per_item();
    if per == 0 {
        return;
    }
    match (sim.backend(), sim.pool()) {
        (Backend::Threaded(cfg), Some(pool)) => {
            let tile = cfg.tile_for(out.len() / per, k.bytes_per_sim());
            for_each_tile(pool, tile, per, out, |first, chunk| drive_with::<P, W, K>(k, first, chunk));
        }
        (Backend::Scalar, _) => {
            for (i, one) in out.chunks_exact_mut(per).enumerate() {
                k.group::<P>(i as u64, one);
            }
        }
        _ => drive_with::<P, W, K>(k, 0, out),
    }
}

/// Writes lane `l` of `v` to `out[l·stride]` for every lane.
#[inline(always)]
pub fn store_lanes<L: Real>(v: L, out: &mut [L::Scalar], stride: usize) {
    for l in 0..L::LANES {
        out[l * stride] = v.lane(l);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::ThreadConfig;
    use simcore::rng::Stream;

    /// Uniform 5 of each simulation's stream, and its lane count (to see which path ran).
    struct Probe;
    impl GroupKernel<f32> for Probe {
        type Out = (u32, usize);
        fn group<L: Real<Scalar = f32>>(&self, first: u64, out: &mut [(u32, usize)]) {
            let u = Stream::<L>::consecutive(9, first).uniform(5);
            for (l, o) in out.iter_mut().enumerate() {
                *o = (u.lane(l).to_bits(), L::LANES);
            }
        }
    }

    #[test]
    fn drive_uses_wide_groups_then_scalar_and_matches_the_stream() {
        for n in [0usize, 1, 7, 8, 9, 17, 40] {
            let want: Vec<u32> =
                (0..n as u64).map(|i| Stream::<f32>::consecutive(9, i).uniform(5).to_bits()).collect();
            for backend in
                [Backend::Scalar, Backend::Simd, Backend::Threaded(ThreadConfig::new(2).with_tile(3))]
            {
                let sim = Simulator::new(backend).expect("backend");
                let mut out = vec![(0, 0); n];
                run_groups(&sim, &Probe, &mut out);
                assert_eq!(out.iter().map(|o| o.0).collect::<Vec<_>>(), want, "{backend:?} n={n}");
                if backend == Backend::Simd {
                    let wide = out.iter().filter(|o| o.1 == 8).count();
                    assert_eq!(wide, n / 8 * 8, "n={n}: full groups must run on f32x8");
                }
            }
        }
    }
}
