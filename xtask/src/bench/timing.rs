//! Repeat timing: warm-up excluded, best and median kept (BabelStream reports min, max
//! and average; the minimum is the figure least disturbed by other load on the machine,
//! the median says how typical it is).

use std::time::Instant;

/// Summary of repeated timings, seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    /// Fastest run.
    pub best: f64,
    /// Median run.
    pub median: f64,
    /// Mean run.
    pub mean: f64,
    /// Slowest run.
    pub worst: f64,
    /// Runs summarised.
    pub runs: usize,
}

impl Stats {
    /// Summary of `times` (at least one).
    pub fn of(times: &[f64]) -> Self {
        assert!(!times.is_empty(), "no timings");
        let mut t = times.to_vec();
        t.sort_by(f64::total_cmp);
        let n = t.len();
        let median = if n % 2 == 1 { t[n / 2] } else { 0.5 * (t[n / 2 - 1] + t[n / 2]) };
        Self { best: t[0], median, mean: t.iter().sum::<f64>() / n as f64, worst: t[n - 1], runs: n }
    }

    /// Summary of `times` without the first (warm-up) run, when there is more than one.
    pub fn dropping_first(times: &[f64]) -> Self {
        if times.len() > 1 { Self::of(&times[1..]) } else { Self::of(times) }
    }
}

/// Runs `f` once as warm-up (not timed into the result), then `repeats` timed times, or
/// fewer when the timed runs already took longer than `budget_s` in total (at least one
/// timed run always happens). Returns the stats and the output of the last run.
pub fn repeat<T>(repeats: usize, budget_s: f64, mut f: impl FnMut() -> T) -> (Stats, T) {
    let mut out = f();
    let mut times = Vec::with_capacity(repeats);
    let start = Instant::now();
    for _ in 0..repeats.max(1) {
        let t = Instant::now();
        out = f();
        times.push(t.elapsed().as_secs_f64());
        if start.elapsed().as_secs_f64() > budget_s {
            break;
        }
    }
    (Stats::of(&times), out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_of_known_times() {
        let s = Stats::of(&[3.0, 1.0, 2.0, 10.0]);
        assert_eq!((s.best, s.median, s.mean, s.worst, s.runs), (1.0, 2.5, 4.0, 10.0, 4));
        let s = Stats::dropping_first(&[100.0, 2.0, 1.0, 3.0]);
        assert_eq!((s.best, s.median, s.worst, s.runs), (1.0, 2.0, 3.0, 3));
        assert_eq!(Stats::dropping_first(&[5.0]).best, 5.0);
    }

    #[test]
    fn repeat_runs_warm_up_plus_repeats_and_stops_at_budget() {
        let mut calls = 0;
        let (s, last) = repeat(4, 1e9, || {
            calls += 1;
            calls
        });
        assert_eq!((calls, s.runs, last), (5, 4, 5));
        let mut calls = 0;
        let (s, _) = repeat(100, 0.0, || calls += 1);
        assert_eq!((calls, s.runs), (2, 1));
    }
}
