//! Test statistics and the reference laws the workload checks use — scalar f64, no
//! allocation, so the same code serves every backend's host-side checks.
//!
//! * [`binomial`] — the exact Binomial(n, p) pmf, CDF and survival function (W3 check).
//! * [`incomplete_beta`] — the regularized incomplete beta `I_x(a, b)` and its inverse.
//! * [`clopper_pearson`] — exact one-sided confidence bounds on a binomial proportion
//!   (W3 validate: the type I error's 99 % upper bound).
//! * [`moments`] — streaming, mergeable mean/variance and lag-1 autocorrelation (W2).
//! * [`selection`] — the `m`-th order statistic in O(n) and the W3 calibration rank.
//!
//! Loader's saddle-point binomial density (private module `saddle_point`) underlies the
//! first three: it keeps binomial probabilities accurate to a few ulps for `n ~ 1e6`,
//! where differences of `lgamma` lose ~7 digits.

pub mod binomial;
pub mod clopper_pearson;
pub mod incomplete_beta;
pub mod moments;
mod saddle_point;
pub mod selection;

pub use binomial::{binomial_cdf_le, binomial_cdf_lt, binomial_ln_pmf, binomial_pmf, binomial_sf};
pub use clopper_pearson::{clopper_pearson_lower, clopper_pearson_upper};
pub use incomplete_beta::{betainc, betainc_complement, betaincinv, betaincinv_complement};
pub use moments::{Lag1, Moments};
pub use selection::{calibration_index, calibration_threshold, mth_smallest_count, order_key, select_nth};
