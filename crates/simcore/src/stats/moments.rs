//! Streaming moments in f64 — the W2 check (stationary variance `sigma²` and lag-1
//! autocorrelation `relax` of the OU process) and any other mean/variance a backend
//! reports.
//!
//! * [`Moments`]: count, mean and variance by Welford's update, with Chan et al.'s
//!   `merge` so partial accumulators from tiles or threads combine (no catastrophic
//!   cancellation, unlike `Σx²/n − mean²`).
//! * [`Lag1`]: the lag-1 autocorrelation of a series, as the Pearson correlation of the
//!   consecutive pairs `(x_t, x_{t+1})` (bivariate Welford). A long series split into
//!   segments is recombined with [`Lag1::append`] (which adds the pair straddling the
//!   cut); independent series are pooled with [`Lag1::merge`].
//!
//! **Merging order.** Floating-point merging is not associative: merging the same
//! partials in a different order changes the last bits. Backends that promise identical
//! results must merge in a fixed order (e.g. tile 0, 1, 2, … left to right), never in
//! completion order.

/// Count, mean and sum of squared deviations of a stream of f64 values.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Moments {
    count: u64,
    mean: f64,
    m2: f64,
}

impl Moments {
    /// An empty accumulator.
    pub const fn new() -> Self {
        Self { count: 0, mean: 0.0, m2: 0.0 }
    }

    /// Adds one value (Welford).
    #[inline]
    pub fn push(&mut self, x: f64) {
        self.count += 1;
        let d = x - self.mean;
        self.mean += d / self.count as f64;
        self.m2 += d * (x - self.mean);
    }

    /// Adds every value of a slice, in order.
    pub fn extend_from_slice(&mut self, xs: &[f64]) {
        for &x in xs {
            self.push(x);
        }
    }

    /// Folds in another accumulator (Chan, Golub & LeVeque): afterwards `self` describes
    /// the union of both streams. The result depends on the order of merges in its last
    /// bits (see the module docs).
    pub fn merge(&mut self, other: &Self) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = *other;
            return;
        }
        let (na, nb) = (self.count as f64, other.count as f64);
        let n = na + nb;
        let d = other.mean - self.mean;
        self.mean += d * (nb / n);
        self.m2 += other.m2 + d * d * (na * nb / n);
        self.count += other.count;
    }

    /// Number of values seen.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The mean; `None` when empty.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then_some(self.mean)
    }

    /// The population variance `Σ(x − mean)² / n`; `None` when empty.
    pub fn variance_population(&self) -> Option<f64> {
        (self.count > 0).then(|| self.m2 / self.count as f64)
    }

    /// The sample (unbiased) variance `Σ(x − mean)² / (n − 1)`; `None` below 2 values.
    pub fn variance_sample(&self) -> Option<f64> {
        (self.count > 1).then(|| self.m2 / (self.count - 1) as f64)
    }

    /// `Σ(x − mean)²`.
    pub fn sum_sq_dev(&self) -> f64 {
        self.m2
    }
}

/// Co-moments of pairs `(a, b)`: means, squared deviations and cross deviations.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct CoMoments {
    count: u64,
    mean_a: f64,
    mean_b: f64,
    m2_a: f64,
    m2_b: f64,
    c_ab: f64,
}

impl CoMoments {
    fn push(&mut self, a: f64, b: f64) {
        self.count += 1;
        let n = self.count as f64;
        let da = a - self.mean_a;
        self.mean_a += da / n;
        let db = b - self.mean_b;
        self.mean_b += db / n;
        self.m2_a += da * (a - self.mean_a);
        self.m2_b += db * (b - self.mean_b);
        self.c_ab += da * (b - self.mean_b);
    }

    fn merge(&mut self, other: &Self) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = *other;
            return;
        }
        let (na, nb) = (self.count as f64, other.count as f64);
        let n = na + nb;
        let (da, db) = (other.mean_a - self.mean_a, other.mean_b - self.mean_b);
        let w = na * nb / n;
        self.mean_a += da * (nb / n);
        self.mean_b += db * (nb / n);
        self.m2_a += other.m2_a + da * da * w;
        self.m2_b += other.m2_b + db * db * w;
        self.c_ab += other.c_ab + da * db * w;
        self.count += other.count;
    }
}

/// Moments and lag-1 autocorrelation of one series (or of several pooled series).
///
/// The autocorrelation is the Pearson correlation of the consecutive pairs
/// `(x_t, x_{t+1})`, `C / √(M_a M_b)` — each pair's two members centred on their own
/// means. It differs from the textbook `Σ(x_t − x̄)(x_{t+1} − x̄) / Σ(x_t − x̄)²` by
/// `O(1/n)`, and, unlike it, pools exactly across segments and series.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Lag1 {
    values: Moments,
    pairs: CoMoments,
    first: Option<f64>,
    last: Option<f64>,
}

impl Lag1 {
    /// An empty accumulator.
    pub const fn new() -> Self {
        Self {
            values: Moments::new(),
            pairs: CoMoments { count: 0, mean_a: 0.0, mean_b: 0.0, m2_a: 0.0, m2_b: 0.0, c_ab: 0.0 },
            first: None,
            last: None,
        }
    }

    /// Appends the next value of the series (pairing it with the previous one, if any).
    #[inline]
    pub fn push(&mut self, x: f64) {
        if let Some(prev) = self.last {
            self.pairs.push(prev, x);
        } else if self.values.count == 0 {
            self.first = Some(x);
        }
        self.values.push(x);
        self.last = Some(x);
    }

    /// Appends every value of a slice, in order.
    pub fn extend_from_slice(&mut self, xs: &[f64]) {
        for &x in xs {
            self.push(x);
        }
    }

    /// Appends `next`, the accumulator of the segment that *continues* this series: the
    /// pair (last value here, first value there) is added, so splitting a series into
    /// segments and appending them in order gives the same moments (to rounding) as one
    /// pass.
    pub fn append(&mut self, next: &Self) {
        if let (Some(prev), Some(head)) = (self.last, next.first) {
            self.pairs.push(prev, head);
        }
        if self.values.count == 0 {
            self.first = next.first;
        }
        self.values.merge(&next.values);
        self.pairs.merge(&next.pairs);
        if next.values.count > 0 {
            self.last = next.last;
        }
    }

    /// Pools an *independent* series (e.g. another simulation): its values and pairs are
    /// added, no pair joins the two. The result is a pool, not a series: a value pushed
    /// afterwards starts a new series (it is paired with nothing).
    pub fn merge(&mut self, other: &Self) {
        self.values.merge(&other.values);
        self.pairs.merge(&other.pairs);
        self.first = None;
        self.last = None;
    }

    /// Moments of all values seen.
    pub fn moments(&self) -> &Moments {
        &self.values
    }

    /// Number of consecutive pairs seen.
    pub fn pair_count(&self) -> u64 {
        self.pairs.count
    }

    /// The lag-1 autocorrelation; `None` below 2 pairs or when either member of the
    /// pairs has zero variance.
    pub fn autocorrelation(&self) -> Option<f64> {
        let p = &self.pairs;
        let denom = libm::sqrt(p.m2_a * p.m2_b);
        (p.count > 1 && denom > 0.0).then(|| p.c_ab / denom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Xoshiro256PlusPlus;
    use rand_core::SeedableRng;

    fn normal(rng: &mut Xoshiro256PlusPlus) -> f64 {
        // Box–Muller on two f64 uniforms (test-only oracle).
        let (u1, u2) = (rng.next_f64(), rng.next_f64());
        libm::sqrt(-2.0 * libm::log(1.0 - u1)) * libm::cos(2.0 * core::f64::consts::PI * u2)
    }

    #[test]
    fn known_small_sample() {
        let mut m = Moments::new();
        assert_eq!((m.mean(), m.variance_population(), m.variance_sample()), (None, None, None));
        m.extend_from_slice(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!(m.count(), 8);
        assert_eq!(m.mean(), Some(5.0));
        assert_eq!(m.variance_population(), Some(4.0));
        assert!((m.variance_sample().unwrap() - 32.0 / 7.0).abs() < 1e-15);
        let mut one = Moments::new();
        one.push(3.0);
        assert_eq!((one.variance_population(), one.variance_sample()), (Some(0.0), None));
    }

    #[test]
    fn no_cancellation_with_a_large_offset() {
        // Naive Σx² − n·mean² loses everything here; Welford keeps ~1e-9 relative.
        let mut m = Moments::new();
        for i in 0..1000 {
            m.push(1e9 + f64::from(i % 4));
        }
        assert!((m.variance_population().unwrap() - 1.25).abs() < 1e-6);
    }

    #[test]
    fn merge_equals_one_pass() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
        let xs: [f64; 1000] = core::array::from_fn(|_| 3.0 + 2.0 * normal(&mut rng));
        let mut whole = Moments::new();
        whole.extend_from_slice(&xs);
        let mut merged = Moments::new();
        for chunk in xs.chunks(77) {
            let mut part = Moments::new();
            part.extend_from_slice(chunk);
            merged.merge(&part);
        }
        merged.merge(&Moments::new());
        assert_eq!(merged.count(), whole.count());
        assert!((merged.mean().unwrap() - whole.mean().unwrap()).abs() < 1e-13);
        let (a, b) = (merged.variance_sample().unwrap(), whole.variance_sample().unwrap());
        assert!(((a - b) / b).abs() < 1e-13);
    }

    /// An AR(1)/OU series with `relax = exp(−0.1)`, `sigma = 2` (W2's exact step),
    /// started in the stationary law: variance ≈ 4 and lag-1 autocorrelation ≈ relax.
    #[test]
    fn ou_series_has_the_stationary_variance_and_lag1() {
        let relax = libm::exp(-0.1);
        let sigma = 2.0;
        let diffuse = sigma * libm::sqrt(1.0 - relax * relax);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(2026);
        let n = 400_000;
        let mut x = sigma * normal(&mut rng);
        let mut whole = Lag1::new();
        let mut segments = [Lag1::new(); 7];
        for t in 0..n {
            whole.push(x);
            segments[t * 7 / n].push(x);
            x = x * relax + diffuse * normal(&mut rng);
        }
        let mut joined = Lag1::new();
        for s in &segments {
            joined.append(s);
        }
        assert_eq!(joined.pair_count(), whole.pair_count());
        assert_eq!(whole.pair_count(), n as u64 - 1);
        let (r, rj) = (whole.autocorrelation().unwrap(), joined.autocorrelation().unwrap());
        assert!((r - rj).abs() < 1e-12);
        // Standard errors for a correlated series: the effective sample size of an AR(1)
        // is n(1−ρ)/(1+ρ) for the mean; for the variance n(1−ρ²)/(1+ρ²); for ρ̂ the
        // asymptotic variance is (1−ρ²)/n.
        let var = whole.moments().variance_sample().unwrap();
        let se_var =
            sigma * sigma * libm::sqrt(2.0 * (1.0 + relax * relax) / (1.0 - relax * relax) / n as f64);
        assert!((var - 4.0).abs() < 4.0 * se_var, "variance {var}, se {se_var}");
        let se_r = libm::sqrt((1.0 - relax * relax) / n as f64);
        assert!((r - relax).abs() < 4.0 * se_r, "lag-1 {r} vs {relax}, se {se_r}");
    }

    #[test]
    fn merge_pools_independent_series_without_a_joining_pair() {
        let mut a = Lag1::new();
        a.extend_from_slice(&[1.0, 2.0, 3.0]);
        let mut b = Lag1::new();
        b.extend_from_slice(&[10.0, 11.0]);
        let mut pooled = a;
        pooled.merge(&b);
        assert_eq!(pooled.pair_count(), 3);
        assert_eq!(pooled.moments().count(), 5);
        let mut appended = a;
        appended.append(&b);
        assert_eq!(appended.pair_count(), 4);
        // A pure linear trend is perfectly correlated with itself shifted.
        let mut line = Lag1::new();
        line.extend_from_slice(&[0.0, 1.0, 2.0, 3.0, 4.0]);
        assert!((line.autocorrelation().unwrap() - 1.0).abs() < 1e-15);
        let mut alternating = Lag1::new();
        alternating.extend_from_slice(&[1.0, -1.0, 1.0, -1.0, 1.0]);
        assert!((alternating.autocorrelation().unwrap() + 1.0).abs() < 1e-15);
        let mut flat = Lag1::new();
        flat.extend_from_slice(&[2.0; 4]);
        assert_eq!(flat.autocorrelation(), None);
    }
}
