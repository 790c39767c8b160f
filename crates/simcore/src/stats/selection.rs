//! Order statistics without sorting — the W3 *calibrate* step: `lambda*[g]` is the
//! `m`-th smallest statistic `T[g, s]` over the simulations, with
//! `m = max(floor((S + 1)·alpha), 1)` (1-based; [`calibration_index`]).
//!
//! [`select_nth`] is an introselect: quickselect with a median-of-3 pivot and a
//! branch-free Lomuto partition on integer keys of the order below; when the pivot is
//! the minimum of its range, its copies are split off by a second pass — W3 statistics
//! are ratios of small integer counts, so ties are the rule, and a plain two-way
//! partition would stall on them. After `2·log2(n)` partitions it falls back to
//! heapsort of the remaining range. Expected O(n), worst case O(n log n); in place, no
//! allocation. (Measured at S = 131072 with ~1400 distinct values: ~0.23 ms, on par
//! with `core`'s `select_nth_unstable_by`.)
//!
//! When the statistic is a non-decreasing function of a small integer (W3's count), a
//! histogram of the integers gives the same order statistic in `O(S + bins)`:
//! [`mth_smallest_count`].
//!
//! **Order.** A total order: numbers as IEEE `<`, `-0.0` just before `+0.0`, and every
//! NaN (whatever its sign or payload) after `+inf`, all NaNs equal — so a NaN statistic
//! sorts last and is returned only when `m` exceeds the number of non-NaN values. The
//! result is therefore a unique value (up to NaN payload), whatever the algorithm. The
//! slice is permuted.

use crate::error::{self, ParamError};

/// Ranges this short are finished by insertion sort.
const SMALL: usize = 16;

/// The order as an integer key: IEEE order with `-0.0` just below `+0.0`, every NaN
/// mapped to `u32::MAX` (after `+inf`, all NaNs equal). Branch-light, and a total order.
/// Public so that every consumer of selected values (the calibration engine's levels and
/// its overall minimum) compares in this same order.
#[inline(always)]
pub fn order_key(x: f32) -> u32 {
    let b = x.to_bits();
    if x.is_nan() {
        u32::MAX
    } else if b >> 31 == 1 {
        !b
    } else {
        b | 0x8000_0000
    }
}

/// `a` before `b` in the order of the module docs.
#[inline(always)]
fn less(a: f32, b: f32) -> bool {
    order_key(a) < order_key(b)
}

/// The 1-based rank `m = max(floor((s + 1)·alpha), 1)` of the W3 calibration threshold
/// among `s` statistics, with the product taken in f64 (as the seed notebooks do; for
/// `alpha` not exact in binary, `(s + 1)·alpha` may round across an integer, e.g.
/// `100 × 0.29 = 28.999…96` gives 28).
///
/// # Errors
/// [`ParamError::ZeroSize`] for `s == 0`; [`ParamError::NotProbability`] unless
/// `alpha ∈ [0, 1]`; [`ParamError::TooLarge`] when `m > s` (alpha too close to 1 for
/// this `s`) or `s > 2^53`.
pub fn calibration_index(s: u64, alpha: f64) -> Result<usize, ParamError> {
    if s == 0 {
        return Err(ParamError::ZeroSize { name: "s" });
    }
    const EXACT: u64 = 1 << 53;
    if s >= EXACT {
        return Err(ParamError::TooLarge { name: "s", max: EXACT - 1 });
    }
    let alpha = error::probability("alpha", alpha)?;
    let m = (libm::floor((s + 1) as f64 * alpha) as u64).max(1);
    if m > s {
        return Err(ParamError::TooLarge { name: "m", max: s });
    }
    usize::try_from(m).map_err(|_| ParamError::TooLarge { name: "m", max: usize::MAX as u64 })
}

/// The `m`-th smallest value (1-based) of `values`, in the order of the module docs
/// (NaN last). Permutes `values`: afterwards `values[m − 1]` holds the result, smaller
/// values lie before it and larger ones after.
///
/// # Errors
/// [`ParamError::ZeroSize`] for an empty slice or `m == 0`; [`ParamError::TooLarge`] for
/// `m > values.len()`.
pub fn select_nth(values: &mut [f32], m: usize) -> Result<f32, ParamError> {
    error::nonzero("values", values.len())?;
    error::nonzero("m", m)?;
    if m > values.len() {
        return Err(ParamError::TooLarge { name: "m", max: values.len() as u64 });
    }
    let rounds = 2 * (usize::BITS - values.len().leading_zeros()) as usize;
    Ok(select_with_budget(values, m - 1, rounds))
}

/// The W3 calibration threshold: `select_nth(values, calibration_index(len, alpha))`.
///
/// # Errors
/// As [`calibration_index`] (with `s = values.len()`) and [`select_nth`].
pub fn calibration_threshold(values: &mut [f32], alpha: f64) -> Result<f32, ParamError> {
    let m = calibration_index(values.len() as u64, alpha)?;
    select_nth(values, m)
}

/// Quickselect of the 0-based rank `k` in `v` (`k < v.len()`), switching to heapsort
/// after `rounds` partitions.
fn select_with_budget(v: &mut [f32], k: usize, mut rounds: usize) -> f32 {
    let (mut lo, mut hi) = (0usize, v.len());
    loop {
        let range = &mut v[lo..hi];
        if range.len() <= SMALL {
            insertion_sort(range);
            return v[k];
        }
        if rounds == 0 {
            heapsort(range);
            return v[k];
        }
        rounds -= 1;
        let pk = order_key(median_of_3(range));
        let lt = partition_below(range, |x| x < pk);
        if k < lo + lt {
            hi = lo + lt;
        } else if lt > 0 {
            lo += lt;
        } else {
            // The pivot is the range's minimum: split off its copies (ties are the rule
            // in W3, and skipping this would stall on them).
            let eq = partition_below(range, |x| x <= pk);
            if k < lo + eq {
                return v[k];
            }
            lo += eq;
        }
    }
}

/// Median of the first, middle and last elements (by value).
fn median_of_3(v: &[f32]) -> f32 {
    let (a, b, c) = (v[0], v[v.len() / 2], v[v.len() - 1]);
    if less(a, b) {
        if less(b, c) {
            b
        } else if less(a, c) {
            c
        } else {
            a
        }
    } else if less(a, c) {
        a
    } else if less(b, c) {
        c
    } else {
        b
    }
}

/// Moves the elements whose [`key`] satisfies `goes_first` to the front, keeping no
/// order, and returns their count. Lomuto's scheme with an unconditional swap (the
/// store index advances by the comparison's 0/1), so the loop has no data-dependent
/// branch: `v[..store]` pass, `v[store..i]` fail.
#[inline(always)]
fn partition_below(v: &mut [f32], goes_first: impl Fn(u32) -> bool) -> usize {
    let mut store = 0;
    for i in 0..v.len() {
        let pass = goes_first(order_key(v[i]));
        v.swap(store, i);
        store += usize::from(pass);
    }
    store
}

fn insertion_sort(v: &mut [f32]) {
    for i in 1..v.len() {
        let mut j = i;
        while j > 0 && less(v[j], v[j - 1]) {
            v.swap(j, j - 1);
            j -= 1;
        }
    }
}

fn heapsort(v: &mut [f32]) {
    fn sift_down(v: &mut [f32], mut root: usize, end: usize) {
        loop {
            let mut child = 2 * root + 1;
            if child >= end {
                return;
            }
            if child + 1 < end && less(v[child], v[child + 1]) {
                child += 1;
            }
            if !less(v[root], v[child]) {
                return;
            }
            v.swap(root, child);
            root = child;
        }
    }
    let n = v.len();
    for root in (0..n / 2).rev() {
        sift_down(v, root, n);
    }
    for end in (1..n).rev() {
        v.swap(0, end);
        sift_down(v, 0, end);
    }
}

/// The `m`-th smallest count (1-based) of a histogram (`hist[c]` = how many simulations
/// had count `c`): the smallest `c` whose prefix sum reaches `m`, or `None` when the
/// histogram holds fewer than `m` (or `m = 0`). Calibrating a statistic that is
/// monotone in an integer count (W3) by histograms of the counts: the GPU host path and
/// the engine's `calibrate` by levels read `λ*` off it. Cells are `u32` (the GPU's
/// histograms) or `u64` (the engine's tallies, which may count more than `u32::MAX`
/// simulations); the prefix sum is kept in `u64`, saturating.
pub fn mth_smallest_count<H: Copy + Into<u64>>(hist: &[H], m: u64) -> Option<u32> {
    if m == 0 {
        return None;
    }
    let mut seen = 0u64;
    for (c, &h) in hist.iter().enumerate() {
        seen = seen.saturating_add(h.into());
        if seen >= m {
            return u32::try_from(c).ok();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    #[test]
    fn mth_smallest_count_walks_the_prefix_sum() {
        let hist = [0u32, 2, 0, 3, 1];
        let want = [None, Some(1), Some(1), Some(3), Some(3), Some(3), Some(4), None];
        for (m, w) in want.iter().enumerate() {
            assert_eq!(mth_smallest_count(&hist, m as u64), *w, "m = {m}");
        }
        assert_eq!(mth_smallest_count::<u32>(&[], 1), None);
        // u64 cells count past u32::MAX (the engine's tallies at K >= 2^32).
        let big = [u64::from(u32::MAX) + 10, 5];
        assert_eq!(mth_smallest_count(&big, u64::from(u32::MAX) + 10), Some(0));
        assert_eq!(mth_smallest_count(&big, u64::from(u32::MAX) + 11), Some(1));
        assert_eq!(mth_smallest_count(&big, u64::from(u32::MAX) + 16), None);
    }

    fn sorted(v: &[f32]) -> Vec<f32> {
        let mut s = v.to_vec();
        s.sort_by(|a, b| {
            if less(*a, *b) {
                core::cmp::Ordering::Less
            } else if less(*b, *a) {
                core::cmp::Ordering::Greater
            } else {
                core::cmp::Ordering::Equal
            }
        });
        s
    }

    /// Same value in the NaN-last order (NaN equals NaN).
    fn same(a: f32, b: f32) -> bool {
        !less(a, b) && !less(b, a)
    }

    fn check_selected(v: &[f32], k: usize, got: f32, want: f32) {
        assert!(same(got, want), "rank {k}: got {got}, want {want}");
        assert!(same(v[k], want));
        assert!(v[..k].iter().all(|&x| !less(want, x)));
        assert!(v[k + 1..].iter().all(|&x| !less(x, want)));
    }

    fn value() -> impl Strategy<Value = f32> {
        prop_oneof![
            6 => (0u32..40).prop_map(|c| c as f32 / 40.0), // W3-like: many ties
            3 => any::<f32>(),
            1 => Just(f32::NAN),
            1 => Just(-f32::NAN),
            1 => Just(f32::INFINITY),
            1 => Just(f32::NEG_INFINITY),
            1 => Just(-0.0f32),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn select_nth_agrees_with_sort(
            mut v in proptest::collection::vec(value(), 1..600),
            r in 0.0f64..1.0,
        ) {
            let k = ((v.len() as f64 * r) as usize).min(v.len() - 1);
            let want = sorted(&v)[k];
            let got = select_nth(&mut v, k + 1).unwrap();
            check_selected(&v, k, got, want);
        }

        #[test]
        fn every_fallback_depth_agrees(
            mut v in proptest::collection::vec(value(), 1..300),
            r in 0.0f64..1.0,
            rounds in 0usize..4,
        ) {
            let k = ((v.len() as f64 * r) as usize).min(v.len() - 1);
            let want = sorted(&v)[k];
            let got = select_with_budget(&mut v, k, rounds);
            check_selected(&v, k, got, want);
        }
    }

    #[test]
    fn adversarial_and_tied_inputs() {
        // All equal, sorted, reversed, organ pipe: each rank against the sort.
        let n = 2000;
        let inputs: [Vec<f32>; 4] = [
            std::vec![0.5; n],
            (0..n).map(|i| i as f32).collect(),
            (0..n).rev().map(|i| i as f32).collect(),
            (0..n).map(|i| i.min(n - i) as f32).collect(),
        ];
        for input in inputs {
            let s = sorted(&input);
            for k in [0, 1, n / 3, n / 2, n - 2, n - 1] {
                let mut v = input.clone();
                let got = select_nth(&mut v, k + 1).unwrap();
                check_selected(&v, k, got, s[k]);
            }
        }
    }

    #[test]
    fn nan_sorts_last() {
        let mut v = [f32::NAN, 3.0, -f32::NAN, 1.0, f32::INFINITY];
        assert_eq!(select_nth(&mut v, 1), Ok(1.0));
        let mut z = [0.0f32, -0.0, 0.0];
        assert!(select_nth(&mut z, 1).unwrap().is_sign_negative());
        assert!(select_nth(&mut z, 2).unwrap().is_sign_positive());
        assert_eq!(select_nth(&mut v, 3), Ok(f32::INFINITY));
        assert!(select_nth(&mut v, 4).unwrap().is_nan());
    }

    #[test]
    fn calibration_index_follows_the_w3_formula() {
        // m = max(floor((S + 1)·alpha), 1).
        assert_eq!(calibration_index(8192, 0.05), Ok(409)); // 8193·0.05 = 409.65
        assert_eq!(calibration_index(131_072, 0.025), Ok(3276)); // 3276.825
        assert_eq!(calibration_index(99, 0.05), Ok(5)); // 100·0.05 = 5 exactly
        assert_eq!(calibration_index(10, 0.01), Ok(1)); // 0.11 → floor 0 → 1
        assert_eq!(calibration_index(10, 0.0), Ok(1));
        assert_eq!(calibration_index(99, 0.29), Ok(28)); // f64: 28.999999999999996
        assert_eq!(calibration_index(10, 1.0), Err(ParamError::TooLarge { name: "m", max: 10 }));
        assert_eq!(calibration_index(0, 0.1), Err(ParamError::ZeroSize { name: "s" }));
        assert!(matches!(calibration_index(10, f64::NAN), Err(ParamError::NotProbability { .. })));
        assert!(matches!(calibration_index(10, -0.1), Err(ParamError::NotProbability { .. })));
        let mut t: Vec<f32> = (0..100).rev().map(|i| i as f32 / 100.0).collect();
        assert_eq!(calibration_threshold(&mut t[..99], 0.05), Ok(0.05)); // m = 5 of 0.01..=0.99
    }

    #[test]
    fn rejects_bad_ranks() {
        let mut v = [1.0f32, 2.0];
        assert_eq!(select_nth(&mut v, 0), Err(ParamError::ZeroSize { name: "m" }));
        assert_eq!(select_nth(&mut v, 3), Err(ParamError::TooLarge { name: "m", max: 2 }));
        assert_eq!(select_nth(&mut [], 1), Err(ParamError::ZeroSize { name: "values" }));
    }
}
