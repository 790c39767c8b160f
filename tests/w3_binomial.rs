//! W3 (binomial rejection counting) checks of WORKLOADS.md at CI scale: rejection rates
//! against the exact binomial law, fused == pregenerated, calibration's order statistic,
//! and every bad input as a typed error.

use simlanes::simcore::ParamError;
use simlanes::simcore::models::binomial::expit_f32;
use simlanes::simcore::stats::binomial_cdf_lt;
use simlanes::workload::binomial::{BinomialSpec, Uniforms, type_one_error};
use simlanes::{SimError, Simulator};

/// `logit(p)`, so that `expit_f32(logit(p))` is `p` rounded to f32.
fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

/// `P(U < p)` for the f32 uniform `U = m·2^-24`, `m` uniform in `[0, 2^24)`: exactly
/// `ceil(p·2^24)/2^24` (the product is exact in f64).
fn prob_below(p: f32) -> f64 {
    (f64::from(p) * 16_777_216.0).ceil() / 16_777_216.0
}

/// `P(T < λ)` under `n·d·T ~ Binomial(n·d, q)`, with the decision taken exactly as the
/// kernel does (`f32(c)/f32(n·d) < λ` in f32): `P(count < c*)`, `c*` the first count that
/// passes — `⌈λ·n·d⌉` whenever no rounding intervenes, as for λ = 0.5 below.
fn reject_prob(nd: usize, q: f64, lambda: f32) -> f64 {
    let c_star = (0..=nd).find(|&c| (c as f32) / (nd as f32) >= lambda).unwrap_or(nd + 1);
    binomial_cdf_lt(nd as u64, c_star as u64, q).unwrap()
}

#[test]
fn rejection_rate_matches_the_exact_binomial_law() {
    let sim = Simulator::default();
    let sims = 60_000usize;
    for (n, d, lambda) in [(5usize, 4usize, 0.5f64), (1, 4, 0.5), (3, 3, 0.4)] {
        // Two grid points, every arm at p = 0.5 and at p = 0.3.
        let ps = [0.5, 0.3];
        let theta: Vec<f64> = ps.iter().flat_map(|&p| vec![logit(p); d]).collect();
        let spec = BinomialSpec { seed: 3, theta, d, n, sims, null_truth: None };
        let rej = sim.binomial_validate(&spec, lambda, Uniforms::Fused).unwrap();
        for (g, &p) in ps.iter().enumerate() {
            let q = prob_below(expit_f32(logit(p)));
            let want = reject_prob(n * d, q, lambda as f32);
            let got = rej[g] as f64 / sims as f64;
            let se = (want * (1.0 - want) / sims as f64).sqrt();
            assert!((got - want).abs() < 4.0 * se, "n {n} d {d} p {p}: {got} vs {want} (se {se})");
            let (est, upper) = type_one_error(rej[g], sims as u64).unwrap();
            assert_eq!(est, got);
            assert!(upper > est && upper < est + 5.0 * se);
        }
    }
}

fn seed_like_spec(g: usize, n: usize, sims: usize) -> BinomialSpec {
    // θ ~ U[0,1)^{G×4} as in the seed sizes (a fixed LCG here; any values will do).
    let mut x = 12345u64;
    let theta = (0..g * 4)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (x >> 11) as f64 / (1u64 << 53) as f64
        })
        .collect();
    BinomialSpec { seed: 9, theta, d: 4, n, sims, null_truth: None }
}

#[test]
fn fused_equals_pregenerated() {
    let sim = Simulator::default();
    for n in [1usize, 5, 7] {
        let spec = seed_like_spec(16, n, 3000);
        let u = sim.binomial_fill_uniforms(spec.seed, spec.sims, n, 4).unwrap();
        assert_eq!(u.len(), 3000 * n * 4);
        let fused = sim.binomial_validate(&spec, 0.5, Uniforms::Fused).unwrap();
        let pre = sim.binomial_validate(&spec, 0.5, Uniforms::Pregenerated(&u)).unwrap();
        assert_eq!(fused, pre);
        assert!(fused.iter().any(|&r| r > 0));
        let fused = sim.binomial_calibrate(&spec, 0.05, Uniforms::Fused).unwrap();
        let pre = sim.binomial_calibrate(&spec, 0.05, Uniforms::Pregenerated(&u)).unwrap();
        assert_eq!(fused, pre);
    }
}

#[test]
fn calibrated_threshold_is_the_m_th_smallest_statistic() {
    // #{s : T < λ*} < m <= #{s : T <= λ*}, checked through validate (T < λ) at λ* and at
    // the next f32 above λ*.
    let sim = Simulator::default();
    let spec = seed_like_spec(8, 5, 999);
    for alpha in [0.001, 0.05, 0.5, 0.95] {
        let m = (((999 + 1) as f64 * alpha).floor() as u64).max(1);
        let lam = sim.binomial_calibrate(&spec, alpha, Uniforms::Fused).unwrap();
        for (g, &l) in lam.iter().enumerate() {
            let below = sim.binomial_validate(&spec, f64::from(l), Uniforms::Fused).unwrap()[g];
            let at_most = sim.binomial_validate(&spec, f64::from(l.next_up()), Uniforms::Fused).unwrap()[g];
            assert!(below < m && m <= at_most, "alpha {alpha} g {g}: {below} < {m} <= {at_most}");
            // λ* is a value T can take: a multiple of 1/(n·d) rounded to f32.
            assert!((0..=20).any(|c| (c as f32) / 20.0 == l));
        }
    }
}

#[test]
fn null_truth_masks_points() {
    let sim = Simulator::default();
    let mut spec = seed_like_spec(4, 2, 500);
    let all = sim.binomial_validate(&spec, 0.6, Uniforms::Fused).unwrap();
    let all_cal = sim.binomial_calibrate(&spec, 0.1, Uniforms::Fused).unwrap();
    spec.null_truth = Some(vec![true, false, true, false]);
    let some = sim.binomial_validate(&spec, 0.6, Uniforms::Fused).unwrap();
    assert_eq!(some, vec![all[0], 0, all[2], 0]);
    let cal = sim.binomial_calibrate(&spec, 0.1, Uniforms::Fused).unwrap();
    assert_eq!((cal[0], cal[2]), (all_cal[0], all_cal[2]));
    assert!(cal[1].is_nan() && cal[3].is_nan());
    spec.null_truth = Some(vec![false; 4]);
    assert_eq!(sim.binomial_validate(&spec, 0.6, Uniforms::Fused).unwrap(), vec![0; 4]);
}

#[test]
fn common_random_numbers_across_grid_points() {
    // The same stream at every point: equal p at two points gives equal counts; a larger
    // p gives, simulation by simulation, a count at least as large, hence no more T < λ.
    let sim = Simulator::default();
    let theta = vec![0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.9, 0.9, 0.9, 0.9];
    let spec = BinomialSpec { seed: 1, theta, d: 4, n: 3, sims: 2000, null_truth: None };
    let rej = sim.binomial_validate(&spec, 0.7, Uniforms::Fused).unwrap();
    assert_eq!(rej[0], rej[1]);
    assert!(rej[2] <= rej[0]);
}

#[test]
fn bad_inputs_are_typed_errors() {
    let sim = Simulator::default();
    let ok = BinomialSpec { seed: 0, theta: vec![0.0; 8], d: 4, n: 2, sims: 10, null_truth: None };
    let v = |s: &BinomialSpec| sim.binomial_validate(s, 0.5, Uniforms::Fused);
    let param = |r: Result<Vec<u64>, SimError>| match r {
        Err(SimError::Param(p)) => p,
        other => panic!("expected a ParamError, got {other:?}"),
    };
    let param_f = |r: Result<Vec<f32>, SimError>| match r {
        Err(SimError::Param(p)) => p,
        other => panic!("expected a ParamError, got {other:?}"),
    };
    assert!(v(&ok).is_ok());
    let mut s = ok.clone();
    s.theta[3] = f64::NAN;
    assert!(matches!(param(v(&s)), ParamError::NotFinite { name: "theta", .. }));
    s.theta[3] = f64::INFINITY;
    assert!(matches!(param(v(&s)), ParamError::NotFinite { name: "theta", .. }));
    let s = BinomialSpec { theta: vec![], ..ok.clone() };
    assert_eq!(param(v(&s)), ParamError::ZeroSize { name: "theta" });
    let s = BinomialSpec { theta: vec![0.0; 7], ..ok.clone() };
    assert!(matches!(v(&s), Err(SimError::Shape { name: "theta", expected: 4, got: 7 })));
    let s = BinomialSpec { d: 0, ..ok.clone() };
    assert_eq!(param(v(&s)), ParamError::ZeroSize { name: "d" });
    let s = BinomialSpec { n: 0, ..ok.clone() };
    assert_eq!(param(v(&s)), ParamError::ZeroSize { name: "n" });
    let s = BinomialSpec { sims: 0, ..ok.clone() };
    assert_eq!(param(v(&s)), ParamError::ZeroSize { name: "sims" });
    let s = BinomialSpec { n: usize::MAX / 2, ..ok.clone() };
    assert!(matches!(param(v(&s)), ParamError::TooLarge { .. }));
    let s = BinomialSpec { sims: usize::MAX / 4, ..ok.clone() };
    let too_big = sim.binomial_validate(&s, 0.5, Uniforms::Pregenerated(&[]));
    assert!(matches!(param(too_big), ParamError::TooLarge { .. }));
    let s = BinomialSpec { null_truth: Some(vec![true; 3]), ..ok.clone() };
    assert!(matches!(v(&s), Err(SimError::Shape { name: "null_truth", expected: 2, got: 3 })));
    let short = vec![0.5f32; 79];
    let e = sim.binomial_validate(&ok, 0.5, Uniforms::Pregenerated(&short));
    assert!(matches!(e, Err(SimError::Shape { name: "uniforms", expected: 80, got: 79 })));
    let e = sim.binomial_validate(&ok, f64::NAN, Uniforms::Fused);
    assert!(matches!(param(e), ParamError::NotFinite { name: "lambda", .. }));
    for alpha in [0.0, 1.0, -0.5, 2.0, f64::NAN] {
        let e = sim.binomial_calibrate(&ok, alpha, Uniforms::Fused);
        assert!(matches!(param_f(e), ParamError::NotOpenProbability { name: "alpha", .. }), "{alpha}");
    }
    let e = sim.binomial_calibrate(&BinomialSpec { n: 0, ..ok.clone() }, 0.1, Uniforms::Fused);
    assert!(matches!(e, Err(SimError::Param(ParamError::ZeroSize { name: "n" }))));
    assert!(matches!(
        sim.binomial_fill_uniforms(0, 0, 1, 4),
        Err(SimError::Param(ParamError::ZeroSize { .. }))
    ));
    assert!(matches!(
        sim.binomial_fill_uniforms(0, usize::MAX / 2, 1, 4),
        Err(SimError::Param(ParamError::TooLarge { .. }))
    ));
}
