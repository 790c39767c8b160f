//! The Jansen–Rit neural mass (WORKLOADS.md, W4): six state variables per node, coupled
//! through the pyramidal potential `lfp = y1 - y2`. Written once over the lane type so the
//! scalar reference, the SIMD backend and the GPU kernel evaluate the same arithmetic.
//!
//! ```text
//! sigm(v) = 2*nu_max / (1 + exp(r*(v0 - v)))
//! dy0 = y3;  dy1 = y4;  dy2 = y5
//! dy3 = A*a*sigm(y1 - y2) - 2*a*y3 - a^2*y0
//! dy4 = A*a*(mu + a_2*J*sigm(a_1*J*y0) + c) - 2*a*y4 - a^2*y1
//! dy5 = B*b*(a_4*J*sigm(a_3*J*y0)) - 2*b*y5 - b^2*y2
//! ```
//!
//! # Roundings (fixed, so every backend gives the same bits)
//! Derived constants (`A*a`, `2a`, `a^2`, `B*b*a_4*J`, `2b`, `b^2`, `2*nu_max`, `a_1*J`,
//! `a_2*J`, `a_3*J`) are computed in f64 from the f32 parameters and rounded once to f32
//! ([`JansenRit::new`]). Then, per node, with `fma(x, y, z) = x*y + z` rounded once:
//! ```text
//! sigm(v) = (2 nu_max) / (1 + exp(r * (v0 - v)))
//! dy3 = fma(Aa, sigm(y1 - y2), -fma(2a, y3, a2 * y0))
//! dy4 = fma(Aa, fma(a2J, sigm(a1J * y0), mu) + c, -fma(2a, y4, a2 * y1))
//! dy5 = fma(Bba4J, sigm(a3J * y0), -fma(2b, y5, b2 * y2))
//! ```
//! When `r*(v0 - v)` exceeds ~88.7, `exp` overflows to `+inf`, `1 + inf = inf` and
//! `sigm = 2 nu_max / inf = 0` — never NaN.
//!
//! # Cost (for % of FMA peak; FMA = 2 flops)
//! One drift: 3 `exp` + 33 flops, 7 of them FMAs: 3 sigmoids × (argument 1 + sub, mul,
//! add, div = 5) = 15, then 5 + 8 + 5 for `dy3..dy5`. One Heun node-step with
//! instantaneous coupling ([`crate::models::heun`]): 6 `exp`, 6 normals (3 Box–Muller
//! pairs: 3 `ln`, 3 `sincos`, 3 `sqrt`), and `66` (drifts) `+ 48` (Heun, `8 NV`) `+ 2`
//! (`lfp`, twice) `+ 2 (2 nn + 1)` (coupling, twice) `= 118 + 4 nn` flops — 246 at
//! `nn = 32` — of which `2 nn + 26` are FMAs (14 drift, 12 Heun, `2 nn` coupling). With
//! delays (coupling once per step): `116 + 2 nn` flops, `nn + 26` FMAs, plus `nn`
//! random-access history reads per node.

use super::heun::NetworkModel;
use crate::error::{ParamError, finite};
use crate::lane::Real;

/// Default per-member input `mu` (WORKLOADS.md, W4).
pub const DEFAULT_MU: f32 = 0.22;
/// Default per-member coupling strength `k` (WORKLOADS.md, W4).
pub const DEFAULT_K: f32 = 0.01;
/// State variables per node.
pub const NV: usize = 6;

/// Jansen–Rit parameters in the paper's symbols (shared by every member; the per-member
/// `mu` and `k` are lanes, see [`JansenRit::new`]).
#[allow(non_snake_case)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JansenRitParams {
    /// Maximum excitatory PSP amplitude `A` (mV).
    pub A: f32,
    /// Maximum inhibitory PSP amplitude `B` (mV).
    pub B: f32,
    /// Excitatory rate constant `a` (1/ms).
    pub a: f32,
    /// Inhibitory rate constant `b` (1/ms).
    pub b: f32,
    /// Sigmoid midpoint `v0` (mV).
    pub v0: f32,
    /// Maximum firing rate `nu_max` (1/ms); the sigmoid's ceiling is `2 nu_max`.
    pub nu_max: f32,
    /// Sigmoid steepness `r` (1/mV).
    pub r: f32,
    /// Average number of synapses `J`.
    pub J: f32,
    /// Connectivity constant `a_1` (pyramidal → excitatory).
    pub a_1: f32,
    /// Connectivity constant `a_2` (excitatory → pyramidal).
    pub a_2: f32,
    /// Connectivity constant `a_3` (pyramidal → inhibitory).
    pub a_3: f32,
    /// Connectivity constant `a_4` (inhibitory → pyramidal).
    pub a_4: f32,
}

impl Default for JansenRitParams {
    /// WORKLOADS.md defaults: `A=3.25 B=22 a=0.1 b=0.05 v0=5.52 nu_max=0.0025 r=0.56
    /// J=135 a_1=1 a_2=0.8 a_3=0.25 a_4=0.25`.
    fn default() -> Self {
        Self {
            A: 3.25,
            B: 22.0,
            a: 0.1,
            b: 0.05,
            v0: 5.52,
            nu_max: 0.0025,
            r: 0.56,
            J: 135.0,
            a_1: 1.0,
            a_2: 0.8,
            a_3: 0.25,
            a_4: 0.25,
        }
    }
}

impl JansenRitParams {
    /// Checks every parameter is finite.
    ///
    /// # Errors
    /// [`ParamError::NotFinite`] naming the first NaN or infinite parameter.
    pub fn validate(&self) -> Result<(), ParamError> {
        let Self { A, B, a, b, v0, nu_max, r, J, a_1, a_2, a_3, a_4 } = *self;
        for (name, v) in [
            ("A", A),
            ("B", B),
            ("a", a),
            ("b", b),
            ("v0", v0),
            ("nu_max", nu_max),
            ("r", r),
            ("J", J),
            ("a_1", a_1),
            ("a_2", a_2),
            ("a_3", a_3),
            ("a_4", a_4),
        ] {
            finite(name, f64::from(v))?;
        }
        // The constants the model evaluates (`JansenRit::new`, products in f64 rounded to
        // f32) must be finite too: `A = 3e38, a = 100` would otherwise give NaN states
        // from finite parameters.
        let f = f64::from;
        for (name, v) in [
            ("A*a", f(A) * f(a)),
            ("a*a", f(a) * f(a)),
            ("B*b*a_4*J", f(B) * f(b) * f(a_4) * f(J)),
            ("b*b", f(b) * f(b)),
            ("2*nu_max", 2.0 * f(nu_max)),
            ("a_1*J", f(a_1) * f(J)),
            ("a_2*J", f(a_2) * f(J)),
            ("a_3*J", f(a_3) * f(J)),
        ] {
            finite(name, f64::from(v as f32))?;
        }
        Ok(())
    }
}

/// The model as the integrator evaluates it: derived constants splatted to lanes, and the
/// per-lane input `mu`.
#[derive(Debug, Clone, Copy)]
pub struct JansenRit<L> {
    aa: L,
    two_a: L,
    a_sq: L,
    bb_a4j: L,
    two_b: L,
    b_sq: L,
    two_nu: L,
    r: L,
    v0: L,
    a1j: L,
    a2j: L,
    a3j: L,
    one: L,
    mu: L,
}

#[inline(always)]
fn rd<L: Real<Scalar = f32>>(x: f64) -> L {
    L::splat(x as f32)
}

impl<L: Real<Scalar = f32>> JansenRit<L> {
    /// The model for parameters `p` (validate them first) and per-lane input `mu`.
    pub fn new(p: &JansenRitParams, mu: L) -> Self {
        let f = f64::from;
        Self {
            aa: rd(f(p.A) * f(p.a)),
            two_a: rd(2.0 * f(p.a)),
            a_sq: rd(f(p.a) * f(p.a)),
            bb_a4j: rd(f(p.B) * f(p.b) * f(p.a_4) * f(p.J)),
            two_b: rd(2.0 * f(p.b)),
            b_sq: rd(f(p.b) * f(p.b)),
            two_nu: rd(2.0 * f(p.nu_max)),
            r: L::splat(p.r),
            v0: L::splat(p.v0),
            a1j: rd(f(p.a_1) * f(p.J)),
            a2j: rd(f(p.a_2) * f(p.J)),
            a3j: rd(f(p.a_3) * f(p.J)),
            one: L::splat(1.0),
            mu,
        }
    }

    /// The sigmoid `2 nu_max / (1 + exp(r (v0 - v)))`; 0 (not NaN) when `exp` overflows.
    #[inline(always)]
    pub fn sigm(&self, v: L) -> L {
        self.two_nu / (self.one + (self.r * (self.v0 - v)).exp())
    }
}

impl<L: Real<Scalar = f32>> NetworkModel<L, NV> for JansenRit<L> {
    #[inline(always)]
    fn drift(&self, y: [L; NV], c: L) -> [L; NV] {
        let s0 = self.sigm(y[1] - y[2]);
        let s1 = self.sigm(self.a1j * y[0]);
        let s2 = self.sigm(self.a3j * y[0]);
        let dy3 = self.aa.mul_add(s0, -self.two_a.mul_add(y[3], self.a_sq * y[0]));
        let dy4 =
            self.aa.mul_add(self.a2j.mul_add(s1, self.mu) + c, -self.two_a.mul_add(y[4], self.a_sq * y[1]));
        let dy5 = self.bb_a4j.mul_add(s2, -self.two_b.mul_add(y[5], self.b_sq * y[2]));
        [y[3], y[4], y[5], dy3, dy4, dy5]
    }

    /// `lfp = y1 - y2`.
    #[inline(always)]
    fn coupling_var(&self, y: &[L; NV]) -> L {
        y[1] - y[2]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sigm64(p: &JansenRitParams, v: f64) -> f64 {
        2.0 * f64::from(p.nu_max) / (1.0 + (f64::from(p.r) * (f64::from(p.v0) - v)).exp())
    }

    #[test]
    fn drift_at_a_hand_computed_point() {
        let p = JansenRitParams::default();
        let m = JansenRit::<f32>::new(&p, 0.22);
        let y = [0.5f32, 12.0, 3.0, -0.25, 0.75, 0.125];
        let c = 0.05f32;
        let d = m.drift(y, c);
        // f64 evaluation of the WORKLOADS formulas.
        let yd = y.map(f64::from);
        let (aa, a, b, bb) = (3.25 * 0.1, 0.1, 0.05, 22.0 * 0.05);
        let s0 = sigm64(&p, yd[1] - yd[2]);
        let s1 = sigm64(&p, 1.0 * 135.0 * yd[0]);
        let s2 = sigm64(&p, 0.25 * 135.0 * yd[0]);
        let want = [
            yd[3],
            yd[4],
            yd[5],
            aa * s0 - 2.0 * a * yd[3] - a * a * yd[0],
            aa * (0.22 + 0.8 * 135.0 * s1 + f64::from(c)) - 2.0 * a * yd[4] - a * a * yd[1],
            bb * (0.25 * 135.0 * s2) - 2.0 * b * yd[5] - b * b * yd[2],
        ];
        for v in 0..NV {
            let err = (f64::from(d[v]) - want[v]).abs();
            // Terms are O(0.1-1) and cancel in dy4: an absolute bound of a few f32 ulps of 1.
            assert!(err <= 4e-7, "dy{v}: {} vs {}", d[v], want[v]);
        }
        // Hand values: sigm(9) = 0.005 / (1 + exp(0.56 * -3.48)) ≈ 0.0043764.
        assert!((f64::from(m.sigm(9.0)) - 0.004_376_4).abs() < 1e-6);
        assert_eq!(m.sigm(p.v0), 0.0025); // exp(0) = 1: half the ceiling, exactly
        assert_eq!(m.coupling_var(&y), 9.0);
    }

    #[test]
    fn sigmoid_overflow_gives_zero_not_nan() {
        let m = JansenRit::<f32>::new(&JansenRitParams::default(), DEFAULT_MU);
        for v in [-200.0f32, -1e6, -3.0e38, f32::MIN] {
            let s = m.sigm(v);
            assert_eq!(s, 0.0, "sigm({v}) = {s}");
        }
        // Large positive potentials saturate at the ceiling.
        assert_eq!(m.sigm(1e6), 0.005);
        // The drift stays finite where a sigmoid overflows.
        let d = m.drift([-1e3, -500.0, 0.0, 0.0, 0.0, 0.0], 0.0);
        assert!(d.iter().all(|x| x.is_finite()), "{d:?}");
    }

    #[test]
    fn validate_rejects_non_finite() {
        assert_eq!(JansenRitParams::default().validate(), Ok(()));
        let p = JansenRitParams { J: f32::NAN, ..Default::default() };
        assert!(matches!(p.validate(), Err(ParamError::NotFinite { name: "J", .. })));
        let p = JansenRitParams { nu_max: f32::INFINITY, ..Default::default() };
        assert!(matches!(p.validate(), Err(ParamError::NotFinite { name: "nu_max", .. })));
    }

    #[test]
    fn rest_state_drift_is_the_constant_input() {
        // At y = 0 with c = 0: dy3 = Aa*sigm(0), dy4 = Aa*(mu + a2J sigm(0)), dy5 = Bba4J sigm(0).
        let p = JansenRitParams::default();
        let m = JansenRit::<f32>::new(&p, 0.0);
        let d = m.drift([0.0; NV], 0.0);
        let s = sigm64(&p, 0.0);
        assert_eq!(&d[..3], &[0.0; 3]);
        assert!(((f64::from(d[3]) - 0.325 * s) / (0.325 * s)).abs() < 1e-6);
        assert!(((f64::from(d[4]) - 0.325 * 108.0 * s) / (0.325 * 108.0 * s)).abs() < 1e-6);
        assert!(((f64::from(d[5]) - 1.1 * 33.75 * s) / (1.1 * 33.75 * s)).abs() < 1e-6);
    }
}
