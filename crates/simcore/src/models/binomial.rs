//! W3 — binomial rejection counting, the calibration kernel.
//!
//! Simulation `s` draws `n` uniforms per arm, `U[s,k,a]` = f32 uniform `k·d + a` of stream
//! `s` (the same stream at every grid point: common random numbers), and at grid point
//! `g` counts `count[g,s] = #{(k, a) : U[s,k,a] < p[g,a]}`; its test statistic is
//! `T[g,s] = f32(count) / f32(n·d)` ([`statistic`]: one correctly rounded f32 division).
//! Everything here is written over the lane type: lane `l` carries simulation `first + l`.
//!
//! Uniforms come **fused** (generated from the stream in registers: [`count_fused`],
//! [`count_fused_grid`]) or **pregenerated** (an `[s][k][a]` row-major f32 array the caller
//! owns, filled by [`fill_uniforms`] from the same streams: [`count_pregenerated`],
//! [`count_pregenerated_grid`]); both give identical counts.
//!
//! `p[g,a] = expit(θ[g,a])` is computed on the host once per grid point in f64 and rounded
//! to f32 ([`expit_f32`]), so every backend compares against the same f32 numbers.
//!
//! One simulation may use at most [`MAX_UNIFORMS_PER_SIM`] `= 2^24` uniforms (`n·d`): then
//! counts and `n·d` convert to f32 exactly and every uniform index fits a u32.

use crate::error::ParamError;
use crate::lane::{Real, UintLane};
use crate::rng::Stream;
use crate::rng::jax::JaxLanes;
use crate::rng::jax::lanes::uniforms_strided;

/// Largest `n·d` (uniforms per simulation): `2^24`, so that `f32(count)` and `f32(n·d)`
/// are exact.
pub const MAX_UNIFORMS_PER_SIM: usize = 1 << 24;

/// `expit(θ) = 1 / (1 + e^-θ)`, evaluated in f64 and rounded once to f32.
///
/// The f64 formula (fixed, so the f32 result is reproducible): for `θ >= 0`,
/// `1 / (1 + libm::exp(-θ))`; for `θ < 0`, `e / (1 + e)` with `e = libm::exp(θ)` (no
/// overflow, no cancellation). `±inf` give `1` and `0`; NaN gives NaN (callers validate θ).
/// It runs on the host once per grid point; kernels only see the f32 `p`.
pub fn expit_f32(theta: f64) -> f32 {
    let p = if theta >= 0.0 {
        1.0 / (1.0 + libm::exp(-theta))
    } else {
        let e = libm::exp(theta);
        e / (1.0 + e)
    };
    p as f32
}

/// Checks the per-simulation shape: `n >= 1`, `d >= 1`, `n·d <= 2^24`. Returns `n·d`.
///
/// # Errors
/// [`ParamError::ZeroSize`] for `n = 0` or `d = 0`; [`ParamError::TooLarge`] (name `"n*d"`)
/// when `n·d` overflows or exceeds [`MAX_UNIFORMS_PER_SIM`].
pub fn validate_shape(n: usize, d: usize) -> Result<usize, ParamError> {
    crate::error::nonzero("n", n)?;
    crate::error::nonzero("d", d)?;
    match n.checked_mul(d) {
        Some(nd) if nd <= MAX_UNIFORMS_PER_SIM => Ok(nd),
        _ => Err(ParamError::TooLarge { name: "n*d", max: MAX_UNIFORMS_PER_SIM as u64 }),
    }
}

/// `1` where `u < p`, else `0`, per lane.
#[inline(always)]
fn below<L: Real<Scalar = f32>>(u: L, p: f32) -> L::Bits {
    L::select_bits(u.simd_lt(L::splat(p)), L::Bits::splat(1), L::Bits::splat(0))
}

/// Calls `f(a, u)` for uniforms `j = 0..nd` of streams `first, first + 1, …` (one per
/// lane) in order, `a = j mod d` being the arm. Whole Philox blocks are generated once.
#[inline(always)]
fn for_each_uniform<L: Real<Scalar = f32>>(
    seed: u64,
    first: u64,
    nd: usize,
    d: usize,
    mut f: impl FnMut(usize, L),
) {
    let stream = Stream::<L>::consecutive(seed, first);
    let mut a = 0;
    let mut j = 0;
    let mut c = 0u64;
    while j < nd {
        let u = stream.uniform_block(c);
        for &uw in u.iter().take((nd - j).min(4)) {
            f(a, uw);
            a += 1;
            if a == d {
                a = 0;
            }
        }
        j += 4;
        c += 1;
    }
}

/// Fused count at one grid point: `#{(k, a) : U[s,k,a] < p[a]}` for simulations
/// `s = first, first + 1, …` (one per lane), the uniforms generated from stream `s` under
/// `seed`; `d = p.len()` arms, `n` samples per arm. The shape must pass
/// [`validate_shape`].
#[inline(always)]
pub fn count_fused<L: Real<Scalar = f32>>(seed: u64, first: u64, n: usize, p: &[f32]) -> L::Bits {
    let mut count = L::Bits::splat(0);
    for_each_uniform::<L>(seed, first, n * p.len(), p.len(), |a, u| {
        count = count.wrapping_add(below(u, p[a]));
    });
    count
}

/// Fused counts at many grid points at once, each uniform generated once and compared
/// with every point: `p` is `counts.len() × d` row-major (`p[g·d + a]`), and
/// `counts[g]` is set to the count of point `g` (as [`count_fused`] would give it).
///
/// # Panics
/// If `p.len() != counts.len() * d`.
#[inline(always)]
pub fn count_fused_grid<L: Real<Scalar = f32>>(
    seed: u64,
    first: u64,
    n: usize,
    d: usize,
    p: &[f32],
    counts: &mut [L::Bits],
) {
    assert_eq!(p.len(), counts.len() * d, "p must be counts.len() × d");
    if d == 4 {
        let stream = Stream::<L>::consecutive(seed, first);
        // d = 4: Philox block k holds exactly sample k's four arms.
        count_grid4::<L>(n, p, counts, |k| stream.uniform_block(k as u64));
        return;
    }
    counts.fill(L::Bits::splat(0));
    for_each_uniform::<L>(seed, first, n * d, d, |a, u| {
        for (cnt, pg) in counts.iter_mut().zip(p.chunks_exact(d)) {
            *cnt = cnt.wrapping_add(below(u, pg[a]));
        }
    });
}

/// Fused counts with JAX's uniforms (as [`count_fused_grid`], `p` and `counts` alike):
/// `U[s,k,a]` is element `(s·n + k)·d + a` of the draw of `lanes` — with one key `key` in
/// every lane and `n·d·S` words, exactly `jax.random.uniform(key, (S, n, d))` — for
/// simulations `s = first, first + 1, …` (one per lane). Equals [`count_pregenerated_grid`]
/// on that array. One threefry hash per uniform, four interleaved at a time.
///
/// # Panics
/// If `p.len() != counts.len() * d`.
#[inline(always)]
pub fn count_jax_grid<L: Real<Scalar = f32>>(
    lanes: &JaxLanes<L::Words>,
    first: u64,
    n: usize,
    d: usize,
    p: &[f32],
    counts: &mut [L::Bits],
) {
    assert_eq!(p.len(), counts.len() * d, "p must be counts.len() × d");
    let nd = (n * d) as u64;
    if d == 4 {
        count_grid4::<L>(n, p, counts, |k| uniforms_strided::<L, 4>(lanes, first, nd, 4 * k as u64));
        return;
    }
    count_general::<L>(nd as usize, d, p, counts, |j| {
        uniforms_strided::<L, 1>(lanes, first, nd, j as u64)[0]
    });
}

/// The general-`d` grid count: uniform `j` (arm `j mod d`) of every lane from
/// `uniform(j)`, compared with every point.
#[inline(always)]
fn count_general<L: Real<Scalar = f32>>(
    nd: usize,
    d: usize,
    p: &[f32],
    counts: &mut [L::Bits],
    mut uniform: impl FnMut(usize) -> L,
) {
    counts.fill(L::Bits::splat(0));
    for j in 0..nd {
        let u = uniform(j);
        let a = j % d;
        for (cnt, pg) in counts.iter_mut().zip(p.chunks_exact(d)) {
            *cnt = cnt.wrapping_add(below(u, pg[a]));
        }
    }
}

/// The `d = 4` grid count (the W3 shape): sample `k`'s four arm uniforms come from
/// `sample(k)`, and each point's four comparisons (eight for two samples) are summed in
/// registers before its count in memory is touched, so the per-point load/store is paid
/// once per four (eight) comparisons instead of once per comparison. Same counts as the
/// general loop (integer sums of the same comparisons).
#[inline(always)]
fn count_grid4<L: Real<Scalar = f32>>(
    n: usize,
    p: &[f32],
    counts: &mut [L::Bits],
    mut sample: impl FnMut(usize) -> [L; 4],
) {
    // `u32::MAX` (= −1) where `u < p`, else 0: the compare mask itself, summed with
    // wrapping adds and subtracted from the count (no `and` per comparison).
    #[inline(always)]
    fn four<L: Real<Scalar = f32>>(u: &[L; 4], pg: &[f32]) -> L::Bits {
        let m = |a: usize| {
            L::select_bits(u[a].simd_lt(L::splat(pg[a])), L::Bits::splat(u32::MAX), L::Bits::splat(0))
        };
        m(0).wrapping_add(m(1)).wrapping_add(m(2).wrapping_add(m(3)))
    }
    // The first pass stores, later passes add (no separate zero fill).
    #[inline(always)]
    fn pass<L: Real<Scalar = f32>>(
        counts: &mut [L::Bits],
        p: &[f32],
        add: bool,
        f: impl Fn(&[f32]) -> L::Bits,
    ) {
        for (cnt, pg) in counts.iter_mut().zip(p.chunks_exact(4)) {
            let neg = f(pg);
            *cnt = if add { *cnt } else { L::Bits::splat(0) }.wrapping_sub(neg);
        }
    }
    let mut k = 0;
    while k + 2 <= n {
        let (u0, u1) = (sample(k), sample(k + 1));
        pass::<L>(counts, p, k > 0, |pg| four(&u0, pg).wrapping_add(four(&u1, pg)));
        k += 2;
    }
    if k < n {
        let u0 = sample(k);
        pass::<L>(counts, p, k > 0, |pg| four(&u0, pg));
    }
}

/// Lane `l` of uniform `j`: `u[(first + l)·nd + j]`.
#[inline(always)]
fn load<L: Real<Scalar = f32>>(u: &[f32], first: usize, nd: usize, j: usize) -> L {
    L::from_fn(|l| u[(first + l) * nd + j])
}

/// Pregenerated count at one grid point: like [`count_fused`] with `U[s,k,a]` read from
/// `u[(s·n + k)·d + a]` (`[s][k][a]` row-major) for `s = first, first + 1, …`.
///
/// # Panics
/// If `u` is shorter than `(first + L::LANES)·n·d`.
#[inline(always)]
pub fn count_pregenerated<L: Real<Scalar = f32>>(u: &[f32], first: usize, n: usize, p: &[f32]) -> L::Bits {
    let d = p.len();
    let nd = n * d;
    let mut count = L::Bits::splat(0);
    for k in 0..n {
        for (a, &pa) in p.iter().enumerate() {
            count = count.wrapping_add(below(load::<L>(u, first, nd, k * d + a), pa));
        }
    }
    count
}

/// Pregenerated counts at many grid points (as [`count_fused_grid`], uniforms read from
/// the `[s][k][a]` array `u`).
///
/// # Panics
/// If `p.len() != counts.len() * d` or `u` is shorter than `(first + L::LANES)·n·d`.
#[inline(always)]
pub fn count_pregenerated_grid<L: Real<Scalar = f32>>(
    u: &[f32],
    first: usize,
    n: usize,
    d: usize,
    p: &[f32],
    counts: &mut [L::Bits],
) {
    assert_eq!(p.len(), counts.len() * d, "p must be counts.len() × d");
    let nd = n * d;
    if d == 4 {
        count_grid4::<L>(n, p, counts, |k| core::array::from_fn(|a| load::<L>(u, first, nd, 4 * k + a)));
        return;
    }
    count_general::<L>(nd, d, p, counts, |j| load::<L>(u, first, nd, j));
}

/// The test statistic `T = f32(count) / f32(n·d)`: both conversions exact (`n·d <= 2^24`),
/// one correctly rounded division.
#[inline(always)]
pub fn statistic<L: Real<Scalar = f32>>(count: L::Bits, nd: usize) -> L {
    L::from_uint_exact(count) / L::splat(nd as f32)
}

/// Fills `out` with the uniforms of simulations `first, first + 1, …`: simulation
/// `first + i` occupies `out[i·nd .. (i+1)·nd]`, its uniform `j` (`= k·d + a`) at offset
/// `j` — the `[s][k][a]` layout. A trailing partial row gets that simulation's first
/// uniforms.
///
/// # Panics
/// If `nd == 0`.
pub fn fill_uniforms(seed: u64, first: u64, nd: usize, out: &mut [f32]) {
    for (i, row) in out.chunks_mut(nd).enumerate() {
        let stream = Stream::<f32>::consecutive(seed, first.wrapping_add(i as u64));
        for (c, quad) in row.chunks_mut(4).enumerate() {
            let u = stream.uniform_block(c as u64);
            quad.copy_from_slice(&u[..quad.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jax_counts_equal_pregenerated_counts_on_the_jax_array() {
        use crate::rng::jax::{Layout, fill_uniform_f32, key};
        let k = key(11, false).unwrap();
        for layout in [Layout::Partitionable, Layout::Legacy] {
            for (n, d) in [(3usize, 4usize), (2, 3), (1, 4)] {
                let (sims, nd) = (5usize, n * d);
                let total = (sims * nd) as u64;
                let mut u = [0f32; 60];
                fill_uniform_f32::<f32>(k, layout, total, 0.0, 1.0, 0, &mut u[..total as usize]).unwrap();
                let lanes = JaxLanes::<u32>::new(|_| k, layout, total).unwrap();
                let p: [f32; 12] = core::array::from_fn(|i| (i as f32 * 0.37).fract());
                let gp = 12 / d;
                for s in 0..sims {
                    let (mut a, mut b) = ([0u32; 12], [0u32; 12]);
                    count_jax_grid::<f32>(&lanes, s as u64, n, d, &p[..gp * d], &mut a[..gp]);
                    count_pregenerated_grid::<f32>(&u, s, n, d, &p[..gp * d], &mut b[..gp]);
                    assert_eq!(a, b, "{layout:?} n {n} d {d} sim {s}");
                }
            }
        }
    }

    #[test]
    fn expit_known_values() {
        assert_eq!(expit_f32(0.0), 0.5);
        assert_eq!(expit_f32(f64::INFINITY), 1.0);
        assert_eq!(expit_f32(f64::NEG_INFINITY), 0.0);
        assert_eq!(expit_f32(-800.0), 0.0);
        assert_eq!(expit_f32(40.0), 1.0);
        // expit(ln 3) = 3/4, expit(-ln 3) = 1/4 (f64 error far below an f32 half-ulp).
        assert_eq!(expit_f32(libm::log(3.0)), 0.75);
        assert_eq!(expit_f32(-libm::log(3.0)), 0.25);
        for t in [0.1f64, 0.7, 2.5, 9.0] {
            let (a, b) = (expit_f32(t), expit_f32(-t));
            assert!((f64::from(a) + f64::from(b) - 1.0).abs() <= f64::from(f32::EPSILON));
            assert!(a > 0.5 && b < 0.5);
        }
    }

    #[test]
    fn shape_validation() {
        assert_eq!(validate_shape(5, 4), Ok(20));
        assert_eq!(validate_shape(0, 4), Err(ParamError::ZeroSize { name: "n" }));
        assert_eq!(validate_shape(4, 0), Err(ParamError::ZeroSize { name: "d" }));
        assert_eq!(validate_shape(1 << 22, 4), Ok(1 << 24));
        assert!(matches!(validate_shape((1 << 22) + 1, 4), Err(ParamError::TooLarge { .. })));
        assert!(matches!(validate_shape(usize::MAX, 2), Err(ParamError::TooLarge { .. })));
    }

    /// The oracle: a direct loop over `Stream::uniform`.
    fn hand_count(seed: u64, s: u64, n: usize, p: &[f32]) -> u32 {
        let st = Stream::<f32>::consecutive(seed, s);
        let d = p.len();
        let mut c = 0;
        for k in 0..n {
            for (a, &pa) in p.iter().enumerate() {
                c += u32::from(st.uniform((k * d + a) as u64) < pa);
            }
        }
        c
    }

    #[test]
    fn fused_matches_hand_loop_and_pregenerated() {
        let seed = 77;
        for (n, p) in [
            (1usize, &[0.5f32, 0.1, 0.9, 0.3][..]),
            (5, &[0.5, 0.1, 0.9, 0.3][..]),
            (7, &[0.25][..]),
            (3, &[0.6, 0.4, 0.2][..]),
            (6, &[0.2, 0.8, 0.5, 0.5, 0.7][..]),
        ] {
            let nd = n * p.len();
            let sims = 6usize;
            let mut u = [0f32; 6 * 35];
            let u = &mut u[..sims * nd];
            fill_uniforms(seed, 10, nd, u);
            for s in 0..sims {
                let want = hand_count(seed, 10 + s as u64, n, p);
                assert_eq!(count_fused::<f32>(seed, 10 + s as u64, n, p), want, "n {n} d {}", p.len());
                assert_eq!(count_pregenerated::<f32>(u, s, n, p), want);
            }
        }
    }

    #[test]
    fn grid_counts_equal_point_counts() {
        let (seed, n, d) = (5u64, 9usize, 3usize);
        let p = [0.1f32, 0.5, 0.9, 0.3, 0.3, 0.3, 1.0, 0.0, 0.5, 0.05, 0.95, 0.6];
        let mut u = [0f32; 2 * 27];
        fill_uniforms(seed, 40, n * d, &mut u);
        for s in 0..2usize {
            let mut fused = [0u32; 4];
            let mut pre = [0u32; 4];
            count_fused_grid::<f32>(seed, 40 + s as u64, n, d, &p, &mut fused);
            count_pregenerated_grid::<f32>(&u, s, n, d, &p, &mut pre);
            for g in 0..4 {
                let want = count_fused::<f32>(seed, 40 + s as u64, n, &p[g * d..(g + 1) * d]);
                assert_eq!(fused[g], want);
                assert_eq!(pre[g], want);
            }
            // p = 1 counts every uniform of that arm, p = 0 none.
            let arm0 = count_fused::<f32>(seed, 40 + s as u64, n, &[1.0, 0.0, 0.0]);
            assert_eq!(arm0, n as u32);
        }
    }

    #[test]
    fn grid_counts_four_arms_match_point_counts() {
        // d = 4 takes the blocked path: n = 1 (one sample), 5 (pairs + a single), 6.
        let seed = 11u64;
        let p = [0.1f32, 0.5, 0.9, 0.3, 0.3, 0.3, 1.0, 0.0, 0.5, 0.05, 0.95, 0.6, 0.7, 0.2, 0.4, 0.8];
        for n in [1usize, 5, 6] {
            let mut u = [0f32; 3 * 24];
            let u = &mut u[..3 * n * 4];
            fill_uniforms(seed, 7, n * 4, u);
            for s in 0..3usize {
                let (mut fused, mut pre) = ([0u32; 4], [0u32; 4]);
                count_fused_grid::<f32>(seed, 7 + s as u64, n, 4, &p, &mut fused);
                count_pregenerated_grid::<f32>(u, s, n, 4, &p, &mut pre);
                for g in 0..4 {
                    let want = hand_count(seed, 7 + s as u64, n, &p[g * 4..(g + 1) * 4]);
                    assert_eq!((fused[g], pre[g]), (want, want), "n {n} s {s} g {g}");
                }
                // Point 1 has p = (0.3, 0.3, 1, 0): arm 2 always counts, arm 3 never.
                assert!(fused[1] >= n as u32 && fused[1] <= 3 * n as u32);
            }
        }
    }

    #[test]
    fn fill_uniforms_layout() {
        let mut u = [0f32; 3 * 10];
        fill_uniforms(3, 100, 10, &mut u);
        for i in 0..3 {
            let st = Stream::<f32>::consecutive(3, 100 + i as u64);
            for j in 0..10 {
                assert_eq!(u[i * 10 + j], st.uniform(j as u64));
            }
        }
    }

    #[test]
    fn statistic_is_one_division() {
        assert_eq!(statistic::<f32>(3, 20), 3.0f32 / 20.0);
        assert_eq!(statistic::<f32>(0, 4), 0.0);
        assert_eq!(statistic::<f32>(1400, 1400), 1.0);
        assert_eq!(statistic::<f32>(1, 3), 1.0f32 / 3.0);
    }
}
