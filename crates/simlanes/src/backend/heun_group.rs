//! The per-group driver of the W4/W5 network SDEs, shared by every CPU backend: one group
//! of members (1 on the scalar backend's `f32`, 8 or 16 on SIMD lanes) through the one
//! Heun loop of `simcore::models::heun`, with the group's state in contiguous
//! `[var][node]` buffers of lanes (lane `l` = member `first + l`, stream `first + l`).
//! Backends differ only in how they walk the batch and where they copy the results.

use simcore::lane::Real;
use simcore::models::heun::{self, HeunCoeffs, Network, NetworkModel, RING, Scratch};
use simcore::rng::{NormalSeq, Stream};

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
