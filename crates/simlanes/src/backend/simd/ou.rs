//! W2 on the SIMD and threaded backends: the OU loop of `simcore::models::ou` on `f64x4`
//! groups (4 simulations, 4 streams per Philox call), `f64` for the remainder.
//!
//! Modes (b) and (c) have one output per simulation and run on tiles when threaded.
//! Mode (a) writes layout `[t][sim]`, where a group's values are strided across every
//! row, so it runs on one thread on both backends (its seed size has 8 simulations, two
//! `f64x4` groups: there is little to split).

use super::{GroupKernel, WidePrecision, run_groups};
use crate::simulator::Simulator;
use crate::workload::ou::OuSpec;
use simcore::lane::Real;
use simcore::models::ou::{ou_evolve, ou_final_group, ou_path_group};

struct Final<'a>(&'a OuSpec);

impl GroupKernel<f64> for Final<'_> {
    type Out = f64;
    fn group<L: Real<Scalar = f64>>(&self, first: u64, out: &mut [f64]) {
        let s = self.0;
        let c = s.params.coeffs::<L>();
        let x = ou_final_group::<L>(s.seed, first, s.num_steps as u64, L::splat(s.params.x0), &c);
        for (l, o) in out.iter_mut().enumerate() {
            *o = x.lane(l);
        }
    }
}

struct WithNormals<'a>(&'a OuSpec, &'a [f64]);

impl GroupKernel<f64> for WithNormals<'_> {
    type Out = f64;
    fn group<L: Real<Scalar = f64>>(&self, first: u64, out: &mut [f64]) {
        let (s, z) = (self.0, self.1);
        let (n, first) = (s.num_sim, first as usize);
        let c = s.params.coeffs::<L>();
        let normals = |t: u64| L::from_fn(|l| z[t as usize * n + first + l]);
        let x = ou_evolve(L::splat(s.params.x0), &c, s.num_steps as u64, normals, |_, _| {});
        for (l, o) in out.iter_mut().enumerate() {
            *o = x.lane(l);
        }
    }
}

/// Mode (b) for a validated `spec` on `sim`'s backend.
pub fn final_states(sim: &Simulator, spec: &OuSpec) -> Vec<f64> {
    let mut out = vec![0.0; spec.num_sim];
    run_groups(sim, &Final(spec), &mut out);
    out
}

/// Mode (c) for a validated `spec`; `z` has `num_steps·num_sim` entries, layout `[t][sim]`.
pub fn with_normals(sim: &Simulator, spec: &OuSpec, z: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; spec.num_sim];
    run_groups(sim, &WithNormals(spec, z), &mut out);
    out
}

/// Mode (a) for a validated `spec` (one thread); `out` has `(num_steps + 1)·num_sim`
/// entries, layout `[t][sim]`.
pub fn path(spec: &OuSpec, out: &mut [f64]) {
    let n = spec.num_sim;
    let lanes = <<f64 as WidePrecision>::Wide as Real>::LANES;
    let full = n / lanes * lanes;
    for first in (0..full).step_by(lanes) {
        group_path::<<f64 as WidePrecision>::Wide>(spec, first, out);
    }
    for first in full..n {
        group_path::<f64>(spec, first, out);
    }
}

fn group_path<L: Real<Scalar = f64>>(spec: &OuSpec, first: usize, out: &mut [f64]) {
    let n = spec.num_sim;
    let c = spec.params.coeffs::<L>();
    let x0 = L::splat(spec.params.x0);
    ou_path_group::<L>(spec.seed, first as u64, spec.num_steps as u64, x0, &c, |t, x| {
        let row = &mut out[t as usize * n + first..][..L::LANES];
        for (l, o) in row.iter_mut().enumerate() {
            *o = x.lane(l);
        }
    });
}
