//! The per-group driver of the W4/W5 network SDEs, shared by every CPU backend: one group
//! of members (1 on the scalar backend's `f32`, 8 or 16 on SIMD lanes) through the one
//! Heun loop of `simcore::models::heun`, with the group's state in contiguous
//! `[var][node]` buffers of lanes (lane `l` = member `first + l`, stream `first + l`).
//! Backends differ only in how they walk the batch and where they copy the results.

use crate::backend::threaded::nodes::{integrate_group_split, node_threads};
use crate::simulator::ThreadConfig;
use crate::workload::jax::{JaxKey, member_lanes};
use simcore::lane::Real;
use simcore::models::heun::{self, HeunCoeffs, Network, NetworkModel, RING, Scratch};
use simcore::rng::jax::{JaxLanes, JaxNormals};
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

    /// The state, the step's scratch and, when `net` has lags, the ring buffer filled from
    /// the state (history before `t = 0` holds the initial state): what a run of `net`
    /// from the state in `x` needs.
    pub(crate) fn prepare<M: NetworkModel<L, V>, const V: usize>(
        &mut self,
        model: &M,
        net: &Network<'_, f32>,
    ) -> (&mut [L], Scratch<'_, [L]>, Option<&mut [L]>) {
        let Self { x, xp, f1, nz, cv, c, hist } = self;
        let s = Scratch { xp: &mut xp[..], f1: &mut f1[..], nz: &mut nz[..], cv: &mut cv[..], c: &mut c[..] };
        let hist = if net.lags().is_some() {
            heun::init_history::<L, M, [L], V>(model, net.nn(), &x[..], &mut hist[..]);
            Some(&mut hist[..])
        } else {
            None
        };
        (&mut x[..], s, hist)
    }
}

/// A group's noise resolved for its members: their Philox streams, or their JAX draws.
#[derive(Debug, Clone, Copy)]
pub(crate) enum GroupNoise<L: Real> {
    /// Member `first + l`'s stream in lane `l`.
    Philox(Stream<L>),
    /// Member `first + l`'s draw in lane `l`.
    Jax(JaxLanes<L::Words>),
}

impl<L: Real> GroupNoise<L> {
    /// The noise of members `first .. first + L::LANES`, `draws` normals each; `None` when
    /// a JAX batch does not hold those members or draws (`spec.validate()` checks both).
    pub(crate) fn of(noise: Noise, first: u64, draws: u64) -> Option<Self> {
        match noise {
            Noise::Philox(seed) => Some(Self::Philox(Stream::<L>::consecutive(seed, first))),
            Noise::Jax { key, count } => member_lanes::<L::Words>(key, count, first, draws).map(Self::Jax),
        }
    }
}

/// Integrates members `first .. first + L::LANES` (their streams under `noise`) from the
/// state in `bufs.x` for `nt` steps; `after(t, x)` sees every state `x[t]`, `t = 1..=nt`.
/// Delayed when `net` has lags.
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
    let Some(noise) = GroupNoise::<L>::of(noise, first, (nt * net.nn() * V) as u64) else { return };
    let (x, mut s, hist) = bufs.prepare::<M, V>(model, net);
    let steps = nt as u64;
    match noise {
        GroupNoise::Philox(stream) => {
            let mut normals = NormalSeq::new(stream, 0);
            heun::run::<L, M, [L], V>(model, net, k, h, x, hist, &mut s, &mut normals, 0, steps, after);
        }
        GroupNoise::Jax(lanes) => {
            let mut normals = JaxNormals::<L, 4>::new(lanes, 0);
            heun::run::<L, M, [L], V>(model, net, k, h, x, hist, &mut s, &mut normals, 0, steps, after);
        }
    }
}

/// [`integrate_group`], or with the group's nodes split across the threads of `split` when
/// given (`backend/threaded/nodes.rs`; same bits). Either way `after(t, x)` sees the
/// states `x[t]` from `t = observe_from` on (none when `None`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn integrate_group_on<L, M, const V: usize>(
    split: Option<&ThreadConfig>,
    model: &M,
    net: &Network<'_, f32>,
    k: L,
    h: &HeunCoeffs<L>,
    noise: Noise,
    first: u64,
    nt: usize,
    bufs: &mut GroupBufs<L>,
    observe_from: Option<u64>,
    mut after: impl FnMut(u64, &[L]) + Send,
) where
    L: Real<Scalar = f32> + Send + Sync,
    M: NetworkModel<L, V> + Sync,
{
    match split {
        Some(cfg) => {
            let parts = node_threads(cfg.threads, net.nn());
            let x = &mut bufs.x;
            integrate_group_split(parts, cfg.pin, model, net, k, h, noise, first, nt, x, observe_from, after);
        }
        None => integrate_group(model, net, k, h, noise, first, nt, bufs, |t, x| {
            if observe_from.is_some_and(|from| t >= from) {
                after(t, x);
            }
        }),
    }
}
