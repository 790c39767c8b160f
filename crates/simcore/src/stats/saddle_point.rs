//! Binomial probabilities without cancellation: Loader's saddle-point form
//! (C. Loader, "Fast and accurate computation of binomial probabilities", 2000; the
//! algorithm of R's `dbinom`).
//!
//! Why not `exp(lgamma(n+1) − lgamma(k+1) − lgamma(n−k+1) + k ln p + (n−k) ln q)`? For
//! `n ~ 1e6` the lgamma terms are ~1e7 and cancel to O(1): their rounding alone costs
//! ~1e-9 relative in the result. Loader writes the log-probability as small terms —
//! Stirling-series remainders [`stirlerr`] and deviance terms [`bd0`] computed by a series
//! near the mode — so the binomial pmf (and the prefactor of the incomplete beta function,
//! which is the same expression) is accurate to a few ulps for any `n`.

/// `ln(2π)`.
const LN_2PI: f64 = 1.837_877_066_409_345_5;
/// `ln(sqrt(2π))`.
const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;

/// `stirlerr(k/2)` for `k = 1..=30` (computed with mpmath at 40 digits).
#[allow(clippy::excessive_precision)] // reference digits kept as published/computed
const SFERR_HALVES: [f64; 30] = [
    0.153_426_409_720_027_345_291_383_9,
    0.081_061_466_795_327_258_219_670_26,
    0.054_814_121_051_917_653_896_138_7,
    0.041_340_695_955_409_294_093_822_08,
    0.033_162_873_519_936_287_485_110_51,
    0.027_677_925_684_998_339_148_789_29,
    0.023_746_163_656_297_495_971_330_28,
    0.020_790_672_103_765_093_111_522_77,
    0.018_488_450_532_673_185_230_779_36,
    0.016_644_691_189_821_192_163_194_87,
    0.015_134_973_221_917_378_873_513_84,
    0.013_876_128_823_070_747_998_745_73,
    0.012_810_465_242_920_226_924_250_66,
    0.011_896_709_945_891_770_095_055_72,
    0.011_104_559_758_206_917_326_630_76,
    0.010_411_265_261_972_096_497_478_57,
    0.009_799_416_126_158_803_298_390_373,
    0.009_255_462_182_712_732_917_728_637,
    0.008_768_700_134_139_385_462_955_047,
    0.008_330_563_433_362_871_256_469_319,
    0.007_934_114_564_314_020_547_249_562,
    0.007_573_675_487_951_840_794_972_024,
    0.007_244_554_301_320_383_179_546_197,
    0.006_942_840_107_209_529_865_664_153,
    0.006_665_247_032_707_682_442_356_181,
    0.006_408_994_188_004_207_068_439_631,
    0.006_171_712_263_039_457_647_534_605,
    0.005_951_370_112_758_847_735_624_416,
    0.005_746_216_513_010_115_682_026_102,
    0.005_554_733_551_962_801_371_038_69,
];

/// The remainder of Stirling's series, `ln Γ(n+1) − (n + ½) ln n + n − ln √(2π)`, for
/// `n > 0`: tabulated at half-integers up to 15, the asymptotic series above 15
/// (absolute error < 2e-16), `lgamma` otherwise (absolute error ~1e-14).
pub(crate) fn stirlerr(n: f64) -> f64 {
    const S0: f64 = 1.0 / 12.0;
    const S1: f64 = 1.0 / 360.0;
    const S2: f64 = 1.0 / 1260.0;
    const S3: f64 = 1.0 / 1680.0;
    const S4: f64 = 1.0 / 1188.0;
    if n <= 15.0 {
        let twice = n + n;
        if twice == libm::floor(twice) && twice >= 1.0 {
            return SFERR_HALVES[twice as usize - 1];
        }
        return libm::lgamma(n + 1.0) - (n + 0.5) * libm::log(n) + n - LN_SQRT_2PI;
    }
    let nn = n * n;
    if n > 500.0 {
        (S0 - S1 / nn) / n
    } else if n > 80.0 {
        (S0 - (S1 - S2 / nn) / nn) / n
    } else if n > 35.0 {
        (S0 - (S1 - (S2 - S3 / nn) / nn) / nn) / n
    } else {
        (S0 - (S1 - (S2 - (S3 - S4 / nn) / nn) / nn) / nn) / n
    }
}

/// The deviance term `x ln(x/m) + m − x` (≥ 0) for `x ≥ 0`, `m > 0`, by a series in
/// `v = (x−m)/(x+m)` when `x` is within 10 % of `m` (where the direct form cancels).
pub(crate) fn bd0(x: f64, m: f64) -> f64 {
    let d = x - m;
    if d.abs() < 0.1 * (x + m) {
        let mut v = d / (x + m);
        let mut s = d * v;
        if s.abs() < f64::MIN_POSITIVE {
            return s;
        }
        let mut ej = 2.0 * x * v;
        v *= v;
        for j in 1..1000 {
            ej *= v;
            let s1 = s + ej / f64::from(2 * j + 1);
            if s1 == s {
                return s1;
            }
            s = s1;
        }
        return s;
    }
    x * libm::log(x / m) + m - x
}

/// Natural log of the binomial density `C(n, x) p^x q^(n−x)` extended to real
/// `0 ≤ x ≤ n` (`C` through Γ), with `q = 1 − p` passed separately so that callers holding
/// both (e.g. `x` and `1 − x` of the incomplete beta) lose nothing to `1 − p`.
/// Requires `p, q` in `[0, 1]`; returns `-inf` where the density is 0.
pub(crate) fn ln_binomial_density(x: f64, n: f64, p: f64, q: f64) -> f64 {
    if p == 0.0 {
        return if x == 0.0 { 0.0 } else { f64::NEG_INFINITY };
    }
    if q == 0.0 {
        return if x == n { 0.0 } else { f64::NEG_INFINITY };
    }
    if x < 0.0 || x > n {
        return f64::NEG_INFINITY;
    }
    if x == 0.0 {
        if n == 0.0 {
            return 0.0;
        }
        return if p < 0.1 { -bd0(n, n * q) - n * p } else { n * libm::log(q) };
    }
    if x == n {
        return if q < 0.1 { -bd0(n, n * p) - n * q } else { n * libm::log(p) };
    }
    // The products n·p and n·q are rounded; bd0(x, m) moves by (1 − x/m)·dm, which at
    // n ~ 1e6 is ~|x − m|·1e-16: correct it to first order with the exact residuals.
    let (np, nq) = (n * p, n * q);
    let (np_err, nq_err) = (libm::fma(n, p, -np), libm::fma(n, q, -nq));
    let lc = stirlerr(n)
        - stirlerr(x)
        - stirlerr(n - x)
        - bd0(x, np)
        - bd0(n - x, nq)
        - (1.0 - x / np) * np_err
        - (1.0 - (n - x) / nq) * nq_err;
    let lf = LN_2PI + libm::log(x) + libm::log1p(-x / n);
    lc - 0.5 * lf
}

/// The binomial density of [`ln_binomial_density`], as a probability.
pub(crate) fn binomial_density(x: f64, n: f64, p: f64, q: f64) -> f64 {
    libm::exp(ln_binomial_density(x, n, p, q))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stirlerr_by_lgamma(n: f64) -> f64 {
        libm::lgamma(n + 1.0) - (n + 0.5) * libm::log(n) + n - LN_SQRT_2PI
    }

    /// `stirlerr(n)` by mpmath 1.3 at 40 digits, one `n` per branch.
    #[allow(clippy::excessive_precision)] // reference digits kept as published/computed
    const MPMATH: [(f64, f64); 9] = [
        (0.3, 0.236_064_900_748_215_581_37),
        (3.3, 0.025_177_132_967_245_102_069),
        (15.5, 0.005_375_599_032_926_834_493_6),
        (20.25, 0.004_114_892_049_850_343_946_7),
        (35.5, 0.002_347_355_765_761_607_217_8),
        (80.5, 0.001_035_191_362_724_942_094_2),
        (500.5, 0.000_166_500_144_344_503_103_31),
        (10000.0, 8.333_333_330_555_555_563_5e-6),
        (1e6, 8.333_333_333_333_055_555_6e-8),
    ];

    #[test]
    fn stirlerr_matches_mpmath() {
        for (n, want) in MPMATH {
            // Absolute error is what enters the log-density; lgamma (n ≤ 15) costs ~1e-15.
            assert!((stirlerr(n) - want).abs() < 2e-16 + 2e-15 * libm::log(n + 1.0), "n = {n}");
        }
    }

    #[test]
    fn stirlerr_table_matches_lgamma() {
        for k in 1..=30 {
            let n = f64::from(k) / 2.0;
            assert!((stirlerr(n) - stirlerr_by_lgamma(n)).abs() < 1e-14, "n = {n}");
        }
    }

    #[test]
    fn bd0_matches_the_direct_form_away_from_the_mode() {
        for (x, m) in [(10.0, 3.0), (3.0, 10.0), (1e6, 5e5), (100.0, 95.0), (95.0, 100.0)] {
            let direct: f64 = x * libm::log(x / m) + m - x;
            assert!((bd0(x, m) - direct).abs() <= 1e-12 * direct.abs(), "({x}, {m})");
        }
        assert_eq!(bd0(5.0, 5.0), 0.0);
    }

    #[test]
    fn density_sums_to_one() {
        let (n, p) = (1000.0, 0.37);
        let total: f64 = (0..=1000).map(|k| binomial_density(f64::from(k), n, p, 1.0 - p)).sum();
        assert!((total - 1.0).abs() < 1e-13, "{total}");
    }
}
