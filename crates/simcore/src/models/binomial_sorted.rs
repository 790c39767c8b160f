//! W3 counts by bucketing instead of brute force — the calibration engine's algorithmic
//! speed-up for the binomial model.
//!
//! The W3 statistic depends on simulation `s` and grid point `g` only through the arm
//! counts `c[g,s,a] = #{k : U[s,k,a] < p[g,a]}`. Brute force costs `n` comparisons per
//! `(g, s, a)`. Here, for one arm and a tile of `G'` grid points:
//!
//! 1. once per tile, the points' `p[·,a]` are sorted ([`SortedArm::build`]): `sorted[j]`,
//!    the rank `rank[g]` of each point, and a bucket table over `[min p, max p]`
//!    (see [`SortedArm`]);
//! 2. per simulation, each uniform `u` gets its position `r(u) = #{j : sorted[j] <= u}`
//!    ([`SortedArm::position`]: the table, then at most [`PAD`] branch-free comparisons
//!    inside one bucket) and a histogram of positions is kept;
//! 3. the prefix sums of the histogram are `cum[j] = #{u : r(u) <= j} = #{u : u < sorted[j]}`
//!    ([`SortedArm::cumulative`]), and `c[g,s,a] = cum[rank[g]]` ([`take_arm_counts`]).
//!
//! Steps 2–3 run for `W` simulations at once (`[u32; W]` rows, vectorised by the
//! compiler). Cost per simulation and arm: `O(n + G'/W)` instead of `O(n·G')`. Every comparison is the
//! same f32 `<` as brute force (`u < p ⇔ ¬(p <= u)` for non-NaN values; a NaN uniform
//! counts nowhere, as `NaN < p` is false), so the counts are **exactly** brute force's,
//! ties and duplicated `p` included. No allocation: callers own every buffer.

use core::cmp::Ordering;

/// Entries past the tile's sorted probabilities that [`SortedArm::build`] sets to `+inf`
/// (so the branch-free window never reads out of bounds), and the widest bucket the
/// branch-free path handles.
pub const PAD: usize = 4;

/// Length of the bucket table for a tile of `points` grid points: `4·points` buckets
/// (at most `2^16`), plus one.
pub fn lut_len(points: usize) -> usize {
    (4 * points).clamp(1, 1 << 16) + 1
}

/// One arm's sorted probabilities and bucket table over a tile of grid points (borrowed
/// buffers, see [`SortedArm::build`]).
///
/// Buckets: `bucket(u) = clamp(⌊(u − lo)·scale⌋, 0, K − 1)` with `lo` the smallest and
/// `scale = K / (largest − lo)` — any monotone map would do, because the table is built by
/// applying the very same map to the probabilities: `lut[k] = #{j : bucket(sorted[j]) < k}`.
/// Monotonicity gives `lut[k] <= r(u) <= lut[k+1]` for `u` in bucket `k`, so `r(u)` is
/// `lut[k]` plus the number of the bucket's own probabilities `<= u`. When no bucket holds
/// more than [`PAD`] probabilities that is a fixed, branch-free sum of [`PAD`] comparisons
/// (entries past the bucket are `> u`, the padding is `+inf`); otherwise a binary search.
#[derive(Debug, Clone, Copy)]
pub struct SortedArm<'a> {
    sorted: &'a [f32],
    lut: &'a [u32],
    base: f32,
    scale: f32,
    buckets: usize,
    span: usize,
}

/// Total order on the (non-NaN) probabilities; NaN last.
fn order(a: f32, b: f32) -> Ordering {
    a.total_cmp(&b)
}

impl<'a> SortedArm<'a> {
    /// Sorts arm `a` of the tile `p` (`G' × d` row-major, `G' = rank.len()`, `p` not NaN).
    /// Fills `order_buf` (`G'` entries, scratch), `sorted` (`G' + PAD`: the sorted
    /// `p[·,a]`, then `+inf`), `rank` (`G'`: point `g`'s index in `sorted`) and `lut`
    /// (`K + 1` entries, `K >= 1` buckets, e.g. [`lut_len`]).
    ///
    /// # Panics
    /// If the buffers' lengths disagree with `p.len() / d`, or `lut.len() < 2`.
    pub fn build(
        p: &[f32],
        d: usize,
        a: usize,
        order_buf: &mut [u32],
        sorted: &'a mut [f32],
        rank: &mut [u32],
        lut: &'a mut [u32],
    ) -> Self {
        let gp = p.len() / d;
        assert!(order_buf.len() == gp && sorted.len() == gp + PAD && rank.len() == gp, "tile buffers");
        assert!(lut.len() >= 2, "lut length");
        for (g, o) in order_buf.iter_mut().enumerate() {
            *o = g as u32;
        }
        order_buf.sort_unstable_by(|&x, &y| order(p[x as usize * d + a], p[y as usize * d + a]));
        for (j, &g) in order_buf.iter().enumerate() {
            sorted[j] = p[g as usize * d + a];
            rank[g as usize] = j as u32;
        }
        sorted[gp..].fill(f32::INFINITY);
        let k = lut.len() - 1;
        let (base, top) = if gp > 0 { (sorted[0], sorted[gp - 1]) } else { (0.0, 0.0) };
        let width = top - base;
        let scale = if width > 0.0 && width.is_finite() { k as f32 / width } else { 0.0 };
        let mut arm = Self { sorted: &[], lut: &[], base, scale, buckets: k, span: 0 };
        // lut[b] = #{j : bucket(sorted[j]) < b}.
        lut.fill(0);
        for &x in &sorted[..gp] {
            lut[arm.bucket(x) + 1] += 1;
        }
        let mut run = 0;
        let mut span = 0;
        for l in lut.iter_mut() {
            span = span.max(*l as usize);
            run += *l;
            *l = run;
        }
        arm.sorted = sorted;
        arm.lut = lut;
        arm.span = span;
        arm
    }

    /// The bucket of `u` (monotone in `u`; NaN goes to bucket 0 and is handled apart).
    #[inline(always)]
    fn bucket(&self, u: f32) -> usize {
        let x = (u - self.base) * self.scale;
        // Saturating float-to-int cast; NaN gives 0.
        let k = x as i64;
        k.clamp(0, self.buckets as i64 - 1) as usize
    }

    /// Points in the tile.
    pub fn len(&self) -> usize {
        self.sorted.len() - PAD
    }

    /// Whether the tile is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `r(u) = #{j : sorted[j] <= u}` (`G'` for a NaN `u`, which is below no `p`).
    #[inline(always)]
    pub fn position(&self, u: f32) -> usize {
        if u.is_nan() {
            return self.len();
        }
        let k = self.bucket(u);
        let lo = self.lut[k] as usize;
        if self.span <= PAD {
            let w = &self.sorted[lo..lo + PAD];
            lo + usize::from(w[0] <= u)
                + usize::from(w[1] <= u)
                + usize::from(w[2] <= u)
                + usize::from(w[3] <= u)
        } else {
            let hi = self.lut[k + 1] as usize;
            lo + self.sorted[lo..hi].partition_point(|&p| p <= u)
        }
    }

    /// For `W` simulations at once (`uniforms[j][l]` = uniform `j` of simulation `l`,
    /// `n·d` rows, arm `a` at rows `a, a + d, …`): `cum[j][l] = #{k : U[l,k,a] < sorted[j]}`
    /// for `j < G'`, computed in `cum` (`G' + 1` rows; the last is scratch). `cum` must come
    /// in all zero — as [`take_arm_counts`] leaves it.
    ///
    /// # Panics
    /// If `cum.len() != G' + 1`.
    #[inline]
    pub fn cumulative<const W: usize>(
        &self,
        uniforms: &[[f32; W]],
        d: usize,
        a: usize,
        cum: &mut [[u32; W]],
    ) {
        assert_eq!(cum.len(), self.len() + 1, "histogram buffer");
        let rows = uniforms.iter().skip(a).step_by(d);
        if self.span <= PAD {
            // The fast path of `position`, buckets of all lanes first (vectorised).
            let (len, kmax) = (self.len(), (self.buckets - 1) as f32);
            for u in rows {
                let mut ks = [0usize; W];
                for (k, &x) in ks.iter_mut().zip(u) {
                    // = bucket(x): the same two roundings, clamped before the cast.
                    *k = ((x - self.base) * self.scale).max(0.0).min(kmax) as usize;
                }
                for (l, (&k, &x)) in ks.iter().zip(u).enumerate() {
                    let lo = self.lut[k] as usize;
                    let w = &self.sorted[lo..lo + PAD];
                    let r = lo
                        + usize::from(w[0] <= x)
                        + usize::from(w[1] <= x)
                        + usize::from(w[2] <= x)
                        + usize::from(w[3] <= x);
                    cum[if x.is_nan() { len } else { r }][l] += 1;
                }
            }
        } else {
            for u in rows {
                for (l, &x) in u.iter().enumerate() {
                    cum[self.position(x)][l] += 1;
                }
            }
        }
        let mut run = [0u32; W];
        for c in cum.iter_mut() {
            for l in 0..W {
                run[l] += c[l];
            }
            *c = run;
        }
    }
}

/// Adds one arm's counts to the per-point totals of `W` simulations,
/// `counts[g] += cum[rank[g]]`, and zeroes `cum` for the next [`SortedArm::cumulative`]
/// (`rank` is a permutation of `0..G'`, so each row but the last is read exactly once).
#[inline]
pub fn take_arm_counts<const W: usize>(cum: &mut [[u32; W]], rank: &[u32], counts: &mut [[u32; W]]) {
    for (c, &r) in counts.iter_mut().zip(rank) {
        let add = core::mem::replace(&mut cum[r as usize], [0; W]);
        for l in 0..W {
            c[l] += add[l];
        }
    }
    if let Some(last) = cum.last_mut() {
        *last = [0; W];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{SplitMix64, Stream};
    use rand_core::RngCore;

    /// Brute force: `#{u : u < p}`.
    fn brute(us: &[f32], p: f32) -> u32 {
        us.iter().filter(|&&u| u < p).count() as u32
    }

    fn check(p: &[f32], d: usize, us: &[f32]) {
        let gp = p.len() / d;
        let (mut ord, mut sorted, mut rank) = ([0u32; 64], [0f32; 64 + PAD], [0u32; 64]);
        let mut lut = [0u32; 4 * 64 + 1];
        let mut cum = [[0u32; 1]; 65];
        let ncol = us.len() / d;
        let rows: [[f32; 1]; 64] = core::array::from_fn(|j| [us.get(j).copied().unwrap_or(0.0)]);
        for a in 0..d {
            for buckets in [1usize, 3, 4 * gp] {
                let arm = SortedArm::build(
                    p,
                    d,
                    a,
                    &mut ord[..gp],
                    &mut sorted[..gp + PAD],
                    &mut rank[..gp],
                    &mut lut[..buckets + 1],
                );
                arm.cumulative(&rows[..us.len()], d, a, &mut cum[..gp + 1]);
                let mut counts = [[0u32; 1]; 64];
                take_arm_counts(&mut cum[..gp + 1], &rank[..gp], &mut counts[..gp]);
                assert!(cum.iter().all(|c| c[0] == 0), "cum left zeroed");
                let col: [f32; 64] = core::array::from_fn(|k| us.get(k * d + a).copied().unwrap_or(0.0));
                for g in 0..gp {
                    assert_eq!(
                        counts[g][0],
                        brute(&col[..ncol], p[g * d + a]),
                        "g {g} a {a} p {}",
                        p[g * d + a]
                    );
                }
            }
        }
    }

    #[test]
    fn equals_brute_force_on_random_tiles() {
        let mut rng = SplitMix64::for_stream(9, 0);
        for trial in 0..200 {
            let d = 1 + trial % 4;
            let gp = 1 + (rng.next_u64() % 60) as usize / d.max(1);
            let n = 1 + (rng.next_u64() % 15) as usize;
            let unit = |r: &mut SplitMix64| (r.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
            let mut p = [0f32; 64 * 4];
            for x in p[..gp * d].iter_mut() {
                *x = match rng.next_u64() % 6 {
                    0 => 0.5,
                    1 => 0.0,
                    2 => 1.0,
                    _ => unit(&mut rng),
                };
            }
            let st = Stream::<f32>::consecutive(4, trial as u64);
            let mut us = [0f32; 64];
            for (j, u) in us[..n * d].iter_mut().enumerate() {
                *u = if j % 7 == 3 { 0.5 } else { st.uniform(j as u64) };
            }
            check(&p[..gp * d], d, &us[..n * d]);
        }
    }

    #[test]
    fn odd_uniforms_and_ties() {
        // Values outside [0, 1), NaN, and exact ties with p.
        let p = [0.25f32, 0.5, 0.5, 0.75, 0.0, 1.0];
        let us = [0.5f32, f32::NAN, -1.0, 1.0, 2.0, 0.25, 0.999_999_94, 0.0, 0.75, 0.5];
        check(&p, 1, &us);
        check(&p, 2, &us);
    }

    #[test]
    fn table_length() {
        assert_eq!(lut_len(1), 5);
        assert_eq!(lut_len(1024), 4097);
        assert_eq!(lut_len(1 << 20), (1 << 16) + 1);
    }
}
