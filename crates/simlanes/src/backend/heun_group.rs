//! The per-group driver of the W4/W5 network SDEs, shared by every CPU backend: one group
//! of members (1 on the scalar backend's `f32`, 8 or 16 on SIMD lanes) through the one
//! Heun loop of `simcore::models::heun`, with the group's state in contiguous
//! `[var][node]` buffers of lanes (lane `l` = member `first + l`, stream `first + l`).
//! Backends differ only in how they walk the batch and where they copy the results.

use crate::workload::jax::{JaxKey, member_lanes};
use simcore::lane::Real;
use simcore::models::heun::{self, HeunCoeffs, Network, NetworkModel, RING, Scratch};
use simcore::rng::jax::JaxNormals;
use simcore::rng::{NormalSeq, Stream};

/// Where a group's noise comes from: the Philox streams of a seed (member `b` = stream
/// `b`) or a JAX key (member `b` of a batch of `count` draws
/// `jax.random.normal(split(key, count)[b], (nt, nn, V))`, read in flat order).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Noise {
    /// Philox streams of this seed.
    Philox(u64),
    /// JAX draws of the members of a batch of `count`.
    Jax { key: JaxKey, count: usize },
}

impl Noise {
    /// The noise of a spec: the JAX key when given, else the seed's streams.
    pub(crate) fn of(seed: u64, jax_key: Option<JaxKey>, count: usize) -> Self {
        jax_key.map_or(Self::Philox(seed), |key| Self::Jax { key, count })
    }
}

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

/// Integrates members `first .. first + L::LANES` (their streams under `noise`) from the state in `bufs.x` for `nt` steps; `after(t, x)` sees every state
/// `x[t]`, `t = 1..=nt`. Delayed when `net` has lags.
#[allow(clippy::too_many_arguments)]
pub(crate) fn integrate_group<L: Real<Scalar = f32>, M: NetworkModel<L, V>, const V: usize>(
    model: &M,
    net: &Network<'_, f32>,
    k: L,
    h: &HeunCoeffs<L>,
    noise: Noise,
    first: u64,
    nt: usize,
    bufs: &mut GroupBufs<L>,
    after: impl FnMut(u64, &[L]),
) {
    let nn = net.nn();
    let GroupBufs { x, xp, f1, nz, cv, c, hist } = bufs;
    let mut s = Scratch { xp: &mut xp[..], f1: &mut f1[..], nz: &mut nz[..], cv: &mut cv[..], c: &mut c[..] };
    let hist = if net.lags().is_some() {
        heun::init_history::<L, M, [L], V>(model, nn, &x[..], &mut hist[..]);
        Some(&mut hist[..])
    } else {
        None
    };
    match noise {
        Noise::Philox(seed) => {
            let mut normals = NormalSeq::new(Stream::<L>::consecutive(seed, first), 0);
            heun::run::<L, M, [L], V>(
                model,
                net,
                k,
                h,
                &mut x[..],
                hist,
                &mut s,
                &mut normals,
                0,
                nt as u64,
                after,
            );
        }
        Noise::Jax { key, count } => {
            // `spec.validate()` checked the batch and draw sizes.
            let n = (nt * nn * V) as u64;
            let Some(lanes) = member_lanes::<L::Words>(key, count, first, n) else { return };
            let mut normals = JaxNormals::<L, 4>::new(lanes, 0);
            heun::run::<L, M, [L], V>(
                model,
                net,
                k,
                h,
                &mut x[..],
                hist,
                &mut s,
                &mut normals,
                0,
                nt as u64,
                after,
            );
        }
    }
}
