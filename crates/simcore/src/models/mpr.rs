//! The Montbrio–Pazo–Roxin next-generation neural mass (WORKLOADS.md, W5): firing rate `r`
//! and mean membrane potential `V` per node, coupled through the rate. Written once over
//! the lane type so every backend evaluates the same arithmetic.
//!
//! ```text
//! dr = (1/tau) * (Delta/(pi*tau) + 2*r*V)
//! dV = (1/tau) * (V^2 + eta + J*tau*r + I + cr*c_r - pi^2 * r^2 * tau^2)
//! c_r = k * sum_j W[i,j] * r[j]
//! ```
//! `r` is clamped at 0 before every use: the drift and the coupling read `max(r, 0)`, and
//! after every full step the stored `r` is set to `max(r, 0)`
//! ([`NetworkModel::post_step`]). The predictor's `r` is not clamped when stored; every
//! reader clamps it. `max` is compare + select ([`Real::max`]): a NaN `r` would become 0.
//!
//! # Roundings (fixed, so every backend gives the same bits)
//! Derived constants are computed in f64 from the f32 parameters (`pi` in f64) and rounded
//! once to f32 ([`Mpr::new`]): `1/tau`, `Delta/(pi tau)`, `J tau`, `pi^2 tau^2`; the
//! per-lane `eta + I` is one f32 addition. Then, with `r+ = max(r, 0)` and
//! `fma(x, y, z) = x*y + z` rounded once:
//! ```text
//! dr = inv_tau * fma(r+ + r+, V, Delta/(pi tau))
//! dV = inv_tau * fma(-(pi2tau2 * r+), r+, fma(cr, c, fma(Jtau, r+, fma(V, V, eta + I))))
//! ```
//!
//! # Cost (for % of FMA peak; FMA = 2 flops)
//! One drift: 1 compare + select and 14 flops, 5 of them FMAs: `dr` add + FMA + mul = 4;
//! `dV` 4 FMAs + 2 muls = 10 (the sign is free). One Heun node-step
//! ([`crate::models::heun`]): 2 drifts (28) `+ 16` (Heun, `8 NV`) `+ 2 (2 nn + 1)`
//! (coupling, twice) `= 46 + 4 nn` flops — 702 at `nn = 164` — of which `2 nn + 14` are
//! FMAs (10 drift, 4 Heun, `2 nn` coupling); plus 4 clamps (compare + select) and 2
//! normals (1 Box–Muller pair: `ln`, `sincos`, `sqrt`). The coupling dominates: at
//! `nn = 164` it is 94 % of the flops, all FMAs.

use super::heun::NetworkModel;
use crate::error::{ParamError, finite};
use crate::lane::Real;

/// State variables per node (`r`, `V`).
pub const NV: usize = 2;

/// MPR parameters in the paper's symbols (shared by every member; per-member `eta` and
/// the coupling strength `k` are lanes).
#[allow(non_snake_case)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MprParams {
    /// Membrane time constant `tau`.
    pub tau: f32,
    /// External current `I`.
    pub I: f32,
    /// Half-width of the excitability distribution `Delta`.
    pub Delta: f32,
    /// Recurrent synaptic weight `J`.
    pub J: f32,
    /// Gain of the network input on `V`, `cr`.
    pub cr: f32,
}

/// Default mean excitability `eta` (WORKLOADS.md, W5; per member in sweeps).
pub const DEFAULT_ETA: f32 = -5.0;
/// Initial firing rate of every node.
pub const R0: f32 = 0.1;
/// Initial membrane potential of every node.
pub const V0: f32 = -2.0;

impl Default for MprParams {
    /// WORKLOADS.md defaults: `tau=1 I=0 Delta=1 J=15 cr=1` (and `eta = -5`,
    /// [`DEFAULT_ETA`], per member).
    fn default() -> Self {
        Self { tau: 1.0, I: 0.0, Delta: 1.0, J: 15.0, cr: 1.0 }
    }
}

impl MprParams {
    /// Checks every parameter is finite and `tau != 0`.
    ///
    /// # Errors
    /// [`ParamError::NotFinite`] naming the first NaN or infinite parameter;
    /// [`ParamError::NotPositive`] when `tau <= 0`.
    pub fn validate(&self) -> Result<(), ParamError> {
        let Self { tau, I, Delta, J, cr } = *self;
        for (name, v) in [("tau", tau), ("I", I), ("Delta", Delta), ("J", J), ("cr", cr)] {
            finite(name, f64::from(v))?;
        }
        crate::error::positive("tau", f64::from(tau))?;
        // The constants the model evaluates (`Mpr::new`, in f64 rounded to f32) must be
        // finite too (`tau = 1e-40` made `1/tau` infinite, `tau = 1e20` `pi^2 tau^2`).
        let (pi, t) = (core::f64::consts::PI, f64::from(tau));
        for (name, v) in [
            ("1/tau", 1.0 / t),
            ("Delta/(pi*tau)", f64::from(Delta) / (pi * t)),
            ("J*tau", f64::from(J) * t),
            ("pi^2*tau^2", pi * pi * t * t),
        ] {
            finite(name, f64::from(v as f32))?;
        }
        Ok(())
    }

    /// Checks a member's `eta` with these parameters: `eta` and the drift's constant
    /// `eta + I` (in f32, as [`Mpr::new`] adds them) finite.
    ///
    /// # Errors
    /// [`ParamError::NotFinite`] naming `eta` or `eta+I`.
    pub fn validate_eta(&self, eta: f32) -> Result<(), ParamError> {
        finite("eta", f64::from(eta))?;
        finite("eta+I", f64::from(eta + self.I))?;
        Ok(())
    }
}

/// The model as the integrator evaluates it: derived constants splatted to lanes and the
/// per-lane `eta + I`.
#[derive(Debug, Clone, Copy)]
pub struct Mpr<L> {
    inv_tau: L,
    delta_pi_tau: L,
    j_tau: L,
    neg_pi2_tau2: L,
    cr: L,
    eta_i: L,
    zero: L,
}

impl<L: Real<Scalar = f32>> Mpr<L> {
    /// The model for parameters `p` (validate them first) and per-lane excitability `eta`.
    pub fn new(p: &MprParams, eta: L) -> Self {
        let pi = core::f64::consts::PI;
        let tau = f64::from(p.tau);
        let rd = |x: f64| L::splat(x as f32);
        Self {
            inv_tau: rd(1.0 / tau),
            delta_pi_tau: rd(f64::from(p.Delta) / (pi * tau)),
            j_tau: rd(f64::from(p.J) * tau),
            neg_pi2_tau2: rd(-(pi * pi * tau * tau)),
            cr: L::splat(p.cr),
            eta_i: eta + L::splat(p.I),
            zero: L::splat(0.0),
        }
    }
}

impl<L: Real<Scalar = f32>> Mpr<L> {
    /// `max(r, 0)` as WORKLOADS.md writes it, except that a NaN rate stays NaN: a plain
    /// `max` returns 0 for NaN, so a run that blew up would report `std_r = 0` instead of
    /// NaN. The same bits as `max(r, 0)` for every other `r`, `-0.0` included.
    #[inline(always)]
    fn clamp_rate(&self, r: L) -> L {
        L::select(r.simd_eq(r), r.max(self.zero), r)
    }
}

impl<L: Real<Scalar = f32>> NetworkModel<L, NV> for Mpr<L> {
    #[inline(always)]
    fn drift(&self, x: [L; NV], c: L) -> [L; NV] {
        let r = self.clamp_rate(x[0]);
        let v = x[1];
        let dr = self.inv_tau * (r + r).mul_add(v, self.delta_pi_tau);
        let acc = v.mul_add(v, self.eta_i);
        let acc = self.j_tau.mul_add(r, acc);
        let acc = self.cr.mul_add(c, acc);
        let acc = (self.neg_pi2_tau2 * r).mul_add(r, acc);
        [dr, self.inv_tau * acc]
    }

    /// `max(r, 0)` (NaN stays NaN, see `clamp_rate`).
    #[inline(always)]
    fn coupling_var(&self, x: &[L; NV]) -> L {
        self.clamp_rate(x[0])
    }

    /// Stores `max(r, 0)` (NaN stays NaN).
    #[inline(always)]
    fn post_step(&self, x: [L; NV]) -> [L; NV] {
        [self.clamp_rate(x[0]), x[1]]
    }
}

/// Running population variance of one member's stored `r` (W5 output), accumulated in
/// f64 in the order values are pushed (steps ascending, nodes ascending): `sum += x`,
/// `sumsq += x*x` (two roundings), then `var = sumsq/n - mean^2` clamped at 0 and
/// `std = sqrt(var)` (correctly rounded). Exact enough: values are O(1) and `n` ~ 1e5.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RateStats {
    n: u64,
    sum: f64,
    sumsq: f64,
}

impl RateStats {
    /// Adds one value.
    #[inline(always)]
    pub fn push(&mut self, r: f32) {
        let x = f64::from(r);
        self.n += 1;
        self.sum += x;
        self.sumsq += x * x;
    }

    /// Values pushed.
    pub fn count(&self) -> u64 {
        self.n
    }

    /// Population standard deviation (divides by the count); NaN when empty, and NaN when
    /// a value was NaN or infinite (a run that blew up must not read as `std_r = 0`, as
    /// the rate clamp of [`Mpr`] also ensures). A variance that rounds below 0 reads 0.
    pub fn std(&self) -> f64 {
        if self.n == 0 {
            return f64::NAN;
        }
        let n = self.n as f64;
        let mean = self.sum / n;
        let var = self.sumsq / n - mean * mean;
        Real::sqrt(if var > 0.0 || var.is_nan() { var } else { 0.0 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_at_a_hand_computed_point() {
        let m = Mpr::<f32>::new(&MprParams::default(), -5.0);
        let pi = core::f64::consts::PI;
        // r = 0.5, V = -1, c = 0.25:
        // dr = 1/pi + 2*0.5*(-1) = 1/pi - 1
        // dV = 1 - 5 + 7.5 + 0.25 - pi^2/4
        let d = m.drift([0.5, -1.0], 0.25);
        let want = [1.0 / pi - 1.0, 3.75 - pi * pi / 4.0];
        for v in 0..NV {
            assert!((f64::from(d[v]) - want[v]).abs() < 1e-6, "d{v}: {} vs {}", d[v], want[v]);
        }
        // tau = 2 scales the drift: dr = (1/2)(1/(2pi) + 2 r V), dV = (1/2)(V^2+eta+2Jr+I+c - 4 pi^2 r^2).
        let p = MprParams { tau: 2.0, I: 0.5, ..Default::default() };
        let d = Mpr::<f32>::new(&p, -5.0).drift([0.5, -1.0], 0.25);
        let want = [0.5 * (1.0 / (2.0 * pi) - 1.0), 0.5 * (1.0 - 5.0 + 15.0 + 0.5 + 0.25 - pi * pi)];
        for v in 0..NV {
            assert!((f64::from(d[v]) - want[v]).abs() < 1e-6, "tau=2 d{v}: {} vs {}", d[v], want[v]);
        }
    }

    #[test]
    fn negative_rate_reads_as_zero_and_is_clamped() {
        let m = Mpr::<f32>::new(&MprParams::default(), -5.0);
        assert_eq!(m.drift([-0.3, -1.0], 0.0), m.drift([0.0, -1.0], 0.0));
        assert_eq!(m.coupling_var(&[-0.3, 2.0]), 0.0);
        assert_eq!(m.coupling_var(&[0.3, 2.0]), 0.3);
        assert_eq!(m.post_step([-0.3, 2.0]), [0.0, 2.0]);
        assert_eq!(m.post_step([0.3, 2.0]), [0.3, 2.0]);
        // The clamp keeps max's bits for ±0 and lets NaN through (a blown-up run must not
        // read as r = 0).
        assert_eq!(m.post_step([-0.0, 2.0])[0].to_bits(), 0.0f32.to_bits());
        assert!(m.post_step([f32::NAN, 2.0])[0].is_nan());
        assert!(m.coupling_var(&[f32::NAN, 2.0]).is_nan());
        assert!(m.drift([f32::NAN, -1.0], 0.0).iter().all(|d| d.is_nan()));
    }

    #[test]
    fn rate_stats_std_is_nan_once_a_value_is_not_finite() {
        let std_of = |v: &[f32]| {
            let mut st = RateStats::default();
            v.iter().for_each(|&x| st.push(x));
            st.std()
        };
        assert_eq!(std_of(&[1.0, 3.0]), 1.0);
        assert_eq!(std_of(&[0.25, 0.25, 0.25]).to_bits(), 0.0f64.to_bits());
        assert!(std_of(&[]).is_nan());
        assert!(std_of(&[1.0, f32::NAN]).is_nan());
        assert!(std_of(&[1.0, f32::INFINITY]).is_nan());
        assert!(std_of(&[f32::NEG_INFINITY, 1.0]).is_nan());
    }

    #[test]
    fn eta_plus_i_must_be_finite() {
        let p = MprParams::default();
        assert_eq!(p.validate_eta(-5.0), Ok(()));
        assert!(matches!(p.validate_eta(f32::NAN), Err(ParamError::NotFinite { name: "eta", .. })));
        let big = MprParams { I: 3e38, ..p };
        assert!(matches!(big.validate_eta(3e38), Err(ParamError::NotFinite { name: "eta+I", .. })));
    }

    #[test]
    fn validate_rejects_bad_params() {
        assert_eq!(MprParams::default().validate(), Ok(()));
        let p = MprParams { Delta: f32::NAN, ..Default::default() };
        assert!(matches!(p.validate(), Err(ParamError::NotFinite { name: "Delta", .. })));
        let p = MprParams { tau: 0.0, ..Default::default() };
        assert!(matches!(p.validate(), Err(ParamError::NotPositive { name: "tau", .. })));
    }

    #[test]
    fn rate_stats_is_the_population_std() {
        let mut s = RateStats::default();
        for x in [2.0f32, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0] {
            s.push(x);
        }
        assert_eq!(s.count(), 8);
        assert_eq!(s.std(), 2.0);
        let mut c = RateStats::default();
        c.push(1.5);
        c.push(1.5);
        assert_eq!(c.std(), 0.0);
        assert!(RateStats::default().std().is_nan());
    }
}
