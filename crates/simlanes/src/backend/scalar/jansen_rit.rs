//! W4 on the scalar backend: one member at a time with `f32` lanes, through the one Heun
//! loop of `simcore::models::heun`. The member's state is gathered from the
//! `[var][node][batch]` layout into a contiguous `[var][node]` buffer, integrated, and
//! scattered back. `integrate_member` is shared with W5.

use crate::error::SimError;
use crate::workload::jansen_rit::{JansenRitSpec, NV, member};
use simcore::models::heun::{self, HeunCoeffs, Network, NetworkModel, RING, Scratch};
use simcore::models::jansen_rit::JansenRit;
use simcore::rng::{NormalSeq, Stream};

/// Per-member buffers of a network SDE with `nv` variables and `nn` nodes, reused from one
/// member to the next.
pub(crate) struct MemberBufs {
    pub(crate) x: Vec<f32>,
    xp: Vec<f32>,
    f1: Vec<f32>,
    nz: Vec<f32>,
    cv: Vec<f32>,
    c: Vec<f32>,
    hist: Vec<f32>,
}

impl MemberBufs {
    /// Buffers for `nv` variables and `nn` nodes; the ring buffer only when `delayed`.
    pub(crate) fn new(nv: usize, nn: usize, delayed: bool) -> Self {
        Self {
            x: vec![0.0; nv * nn],
            xp: vec![0.0; nv * nn],
            f1: vec![0.0; nv * nn],
            nz: vec![0.0; nv * nn],
            cv: vec![0.0; nn],
            c: vec![0.0; nn],
            hist: if delayed { vec![0.0; RING * nn] } else { Vec::new() },
        }
    }
}

/// Integrates member `b` (stream `b` of `seed`) from the state in `bufs.x` for `nt` steps;
/// `after(t, x)` sees each state `x[t]`, `t = 1..=nt`. Delayed when `net` has lags.
#[allow(clippy::too_many_arguments)]
pub(crate) fn integrate_member<M: NetworkModel<f32, V>, const V: usize>(
    model: &M,
    net: &Network<'_, f32>,
    k: f32,
    h: &HeunCoeffs<f32>,
    seed: u64,
    b: usize,
    nt: usize,
    bufs: &mut MemberBufs,
    after: impl FnMut(u64, &[f32]),
) {
    let nn = net.nn();
    let MemberBufs { x, xp, f1, nz, cv, c, hist } = bufs;
    let mut s = Scratch { xp: &mut xp[..], f1: &mut f1[..], nz: &mut nz[..], cv: &mut cv[..], c: &mut c[..] };
    let mut normals = NormalSeq::new(Stream::<f32>::consecutive(seed, b as u64), 0);
    let hist = if net.lags().is_some() {
        heun::init_history::<f32, M, [f32], V>(model, nn, &x[..], &mut hist[..]);
        Some(&mut hist[..])
    } else {
        None
    };
    heun::run::<f32, M, [f32], V>(
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

/// W4 for a validated `spec`: the final states, `[6][nn][B]`.
///
/// # Errors
/// Only those of `spec.validate()` (re-checked by the core constructors).
pub fn run(spec: &JansenRitSpec) -> Result<Vec<f32>, SimError> {
    spec.params.validate()?;
    let (nn, bsz) = (spec.nn, spec.batch);
    let len = spec.state_len()?;
    let h = HeunCoeffs::<f32>::new(spec.dt, spec.sigma)?;
    let net = Network::new(nn, &spec.weights, spec.lags.as_deref())?;
    let mut out = vec![0.0f32; len];
    let mut bufs = MemberBufs::new(NV, nn, spec.lags.is_some());
    for b in 0..bsz {
        for e in 0..NV * nn {
            bufs.x[e] = spec.initial.as_ref().map_or(0.0, |x0| x0[e * bsz + b]);
        }
        let model = JansenRit::<f32>::new(&spec.params, member(&spec.mu, b));
        integrate_member(&model, &net, member(&spec.k, b), &h, spec.seed, b, spec.nt, &mut bufs, |_, _| {});
        for e in 0..NV * nn {
            out[e * bsz + b] = bufs.x[e];
        }
    }
    Ok(out)
}
