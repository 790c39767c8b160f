//! A two-arm z-test on normal outcomes as a calibration [`Model`] — the second design,
//! showing the engine is not W3-specific. Math: `simcore::models::two_arm_z`.
//!
//! Grid coordinates `(μ_c, μ_t)` (control and treatment means, unit variance known), `n`
//! patients per arm; statistic `T = −z = −(X̄_t − X̄_c)·sqrt(n/2)`, reject when `T < λ`
//! (λ ≈ −1.96 at one-sided 2.5 %); null `μ_t <= μ_c`. Simulation `s` uses stream `s`.
//! The noise sums are computed once per simulation (`f32x8` groups), then each grid point
//! costs one `mul_add` and one multiply.

use super::{Grid, Model};
use crate::backend::simd::WidePrecision;
use crate::error::SimError;
use simcore::lane::Real;
use simcore::models::two_arm_z::{ZCoeffs, arm_sums, effect, null_holds, statistic};
use std::ops::Range;

type Wide = <f32 as WidePrecision>::Wide;
const LANES: usize = <Wide as Real>::LANES;

/// The two-arm z-test design.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TwoArmZModel {
    /// Seed of the streams.
    pub seed: u64,
    coeffs: ZCoeffs,
}

impl TwoArmZModel {
    /// `n` patients per arm.
    ///
    /// # Errors
    /// [`SimError::Param`] for `n = 0` or `n > 2^24`.
    pub fn new(seed: u64, n: usize) -> Result<Self, SimError> {
        Ok(Self { seed, coeffs: ZCoeffs::new(n)? })
    }

    /// Patients per arm.
    pub fn n(&self) -> usize {
        self.coeffs.n
    }
}

impl Model for TwoArmZModel {
    /// The effect `μ_t − μ_c` of every point (f32).
    type Prepared = Vec<f32>;

    fn name(&self) -> &'static str {
        "ztest"
    }

    fn dim(&self) -> usize {
        2
    }

    /// `μ_t <= μ_c`.
    fn null_hypothesis(&self, point: &[f64]) -> bool {
        null_holds(point[0], point[1])
    }

    fn prepare(&self, grid: &Grid) -> Result<Vec<f32>, SimError> {
        Ok(grid.values().chunks_exact(2).map(|pt| effect(pt[0], pt[1])).collect())
    }

    fn simulate(&self, prep: &Vec<f32>, points: Range<usize>, sims: Range<usize>, stats: &mut [f32]) {
        let eff = &prep[points.clone()];
        let (s0, ns) = (sims.start, sims.len());
        let full = s0 + sims.len() / LANES * LANES;
        for first in (s0..full).step_by(LANES) {
            let sums = arm_sums::<Wide>(self.seed, first as u64, self.coeffs.n);
            for (gi, &e) in eff.iter().enumerate() {
                let t = statistic::<Wide>(sums, e, &self.coeffs);
                for l in 0..LANES {
                    stats[gi * ns + first - s0 + l] = t.lane(l);
                }
            }
        }
        for s in full..sims.end {
            let sums = arm_sums::<f32>(self.seed, s as u64, self.coeffs.n);
            for (gi, &e) in eff.iter().enumerate() {
                stats[gi * ns + s - s0] = statistic::<f32>(sums, e, &self.coeffs);
            }
        }
    }
}
