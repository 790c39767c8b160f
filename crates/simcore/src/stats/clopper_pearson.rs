//! One-sided Clopper–Pearson ("exact") confidence bounds for a binomial proportion — the
//! W3 *validate* report: the type I error estimate `rej/S` comes with the upper bound
//! `clopper_pearson_upper(rej, S, 0.01)`, which exceeds the true rate with probability at
//! most 1 %.
//!
//! With `count` successes in `k` trials, the upper bound at level `1 − delta` is the
//! `1 − delta` quantile of Beta(count + 1, k − count), i.e.
//! `betaincinv(count + 1, k − count, 1 − delta)` (1 when `count == k`); the lower bound
//! is the `delta` quantile of Beta(count, k − count + 1) (0 when `count == 0`). Both are
//! computed by [`betaincinv`](super::betaincinv) on the tail of size `delta`, without
//! forming `1 − delta`: to ~1e-15 relative at the `k` of practice (the vectors,
//! `k` up to 131072, are met to 1e-12). The solver forms `1 − x` itself, and `(1 − x)^k`
//! magnifies that rounding about `k`-fold (measured at `count = 1`: 2.5e-6 relative at
//! `k = 2^40`, 4e-3 at `2^52`, 17 % too low at `2^53`), so `k` above [`MAX_TRIALS`] is
//! refused rather than given an anti-conservative bound.

use super::incomplete_beta::betaincinv_pair;
use crate::error::{self, ParamError};

/// The one-sided upper `1 − delta` Clopper–Pearson bound on the success probability
/// after `count` successes in `k` trials: the largest `p` for which
/// `P(Binomial(k, p) ≤ count) ≥ delta`, i.e. `betaincinv(count + 1, k − count, 1 − delta)`;
/// `1.0` when `count == k`.
///
/// # Errors
/// [`ParamError::ZeroSize`] for `k == 0`; [`ParamError::TooLarge`] for `count > k` or
/// `k >` [`MAX_TRIALS`]; [`ParamError::NotOpenProbability`] unless `0 < delta < 1`.
pub fn clopper_pearson_upper(count: u64, k: u64, delta: f64) -> Result<f64, ParamError> {
    check(count, k, delta)?;
    if count == k {
        return Ok(1.0);
    }
    Ok(betaincinv_pair((count + 1) as f64, (k - count) as f64, 1.0 - delta, delta))
}

/// The one-sided lower `1 − delta` Clopper–Pearson bound: the smallest `p` for which
/// `P(Binomial(k, p) ≥ count) ≥ delta`, i.e. `betaincinv(count, k − count + 1, delta)`;
/// `0.0` when `count == 0`.
///
/// # Errors
/// As [`clopper_pearson_upper`].
pub fn clopper_pearson_lower(count: u64, k: u64, delta: f64) -> Result<f64, ParamError> {
    check(count, k, delta)?;
    if count == 0 {
        return Ok(0.0);
    }
    Ok(betaincinv_pair(count as f64, (k - count + 1) as f64, delta, 1.0 - delta))
}

/// Most trials the bounds accept (module docs): `2^44`, where the relative error measured
/// 3.5e-5 — far beyond any simulation count that runs (2^44 W3 simulations would take
/// days on a GPU).
pub const MAX_TRIALS: u64 = 1 << 44;

fn check(count: u64, k: u64, delta: f64) -> Result<(), ParamError> {
    if k == 0 {
        return Err(ParamError::ZeroSize { name: "k" });
    }
    if k > MAX_TRIALS {
        return Err(ParamError::TooLarge { name: "k", max: MAX_TRIALS });
    }
    if count > k {
        return Err(ParamError::TooLarge { name: "count", max: k });
    }
    error::open_probability("delta", delta)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::binomial_cdf_le;

    /// `(k, count, delta, upper bound)`, the reference values of the task (scipy), each
    /// confirmed to < 2e-16 relative by bisection in mpmath at 40 digits.
    #[allow(clippy::excessive_precision)] // reference digits kept as published/computed
    const REFERENCE: [(u64, u64, f64, f64); 6] = [
        (8192, 0, 0.01, 0.000_561_996_584_446_803_9),
        (8192, 1, 0.01, 0.000_810_066_897_383_581_9),
        (8192, 205, 0.01, 0.029_336_264_294_530_588),
        (131_072, 3277, 0.01, 0.026_022_983_724_018_362),
        (16_384, 409, 0.01, 0.027_946_342_182_689_116),
        (1000, 25, 0.05, 0.034_742_520_099_362_566),
    ];

    #[test]
    fn reference_values() {
        for (k, count, delta, want) in REFERENCE {
            let got = clopper_pearson_upper(count, k, delta).unwrap();
            assert!(((got - want) / want).abs() < 1e-12, "({k}, {count}, {delta}): {got} vs {want}");
        }
    }

    #[test]
    fn zero_count_has_a_closed_form() {
        // P(Binomial(k, p) = 0) = (1−p)^k = delta  ⇒  p = 1 − delta^(1/k).
        for (k, delta) in [(1u64, 0.3), (10, 0.01), (8192, 0.05), (1 << 20, 1e-6)] {
            let want = -libm::expm1(libm::log(delta) / k as f64);
            let got = clopper_pearson_upper(0, k, delta).unwrap();
            assert!(((got - want) / want).abs() < 1e-13, "k={k}: {got} vs {want}");
        }
    }

    #[test]
    fn bounds_are_the_binomial_tail_roots() {
        for (count, k) in [(3u64, 10u64), (40, 400), (205, 8192), (999, 1000)] {
            let delta = 0.025;
            let up = clopper_pearson_upper(count, k, delta).unwrap();
            let tail = binomial_cdf_le(k, count, up).unwrap();
            assert!((tail - delta).abs() < 1e-12, "upper({count}, {k}): P(X <= c) = {tail}");
            let low = clopper_pearson_lower(count, k, delta).unwrap();
            let tail = 1.0 - binomial_cdf_le(k, count - 1, low).unwrap();
            assert!((tail - delta).abs() < 1e-12, "lower({count}, {k}): P(X >= c) = {tail}");
            assert!(low < count as f64 / k as f64 && (count as f64 / k as f64) < up);
        }
        assert_eq!(clopper_pearson_upper(7, 7, 0.01), Ok(1.0));
        assert_eq!(clopper_pearson_lower(0, 7, 0.01), Ok(0.0));
    }

    #[test]
    fn rejects_bad_parameters() {
        assert_eq!(clopper_pearson_upper(0, 0, 0.01), Err(ParamError::ZeroSize { name: "k" }));
        assert_eq!(clopper_pearson_upper(9, 8, 0.01), Err(ParamError::TooLarge { name: "count", max: 8 }));
        for delta in [0.0, 1.0, -0.5, 2.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                clopper_pearson_upper(1, 8, delta),
                Err(ParamError::NotOpenProbability { name: "delta", .. })
            ));
            assert!(clopper_pearson_lower(1, 8, delta).is_err());
        }
    }
}
