//! The calibration engine (`simlanes::calibration`): Clopper–Pearson values of the issue,
//! calibrate against a sort-based oracle, pregenerated = fused, sorted = brute force,
//! tiling / thread invariance, the exact binomial law, the second (z-test) model, and
//! every bad input as a typed error.

use proptest::prelude::*;
use simlanes::calibration::binomial::{BinomialModel, Counting};
use simlanes::calibration::two_arm_z::TwoArmZModel;
use simlanes::calibration::{Calibration, Grid, Model, Tiling, Validation, calibrate, tune, validate};
use simlanes::simcore::ParamError;
use simlanes::simcore::models::binomial::expit_f32;
use simlanes::simcore::stats::{binomial_cdf_lt, clopper_pearson_upper};
use simlanes::workload::binomial::{BinomialSpec, Uniforms};
use simlanes::{Backend, SimError, Simulator, ThreadConfig};

fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

/// A fixed pseudo-random grid `θ ~ U[-1, 1)^{G×d}`.
fn grid(g: usize, d: usize, seed: u64) -> Grid {
    let mut x = seed;
    let theta = (0..g * d)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (x >> 11) as f64 / (1u64 << 52) as f64 - 1.0
        })
        .collect();
    Grid::new(d, theta).unwrap()
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// All statistics `[g][s]` of `model` at every point of `grid` (one task).
fn all_stats<M: Model>(model: &M, grid: &Grid, sims: usize) -> Vec<Vec<f32>> {
    let prep = model.prepare(grid).unwrap();
    let gp = grid.len();
    let mut flat = vec![0f32; gp * sims];
    model.simulate(&prep, 0..gp, 0..sims, &mut flat);
    flat.chunks_exact(sims).map(<[f32]>::to_vec).collect()
}

#[test]
fn clopper_pearson_values_of_the_issue() {
    for (k, c, delta, want) in [
        (8192u64, 0u64, 0.01, 0.0005619965844468039),
        (8192, 1, 0.01, 0.0008100668973835819),
        (8192, 205, 0.01, 0.029336264294530588),
        (131072, 3277, 0.01, 0.026022983724018362),
        (16384, 409, 0.01, 0.027946342182689116),
        (1000, 25, 0.05, 0.034742520099362566),
    ] {
        let got = clopper_pearson_upper(c, k, delta).unwrap();
        assert!(((got - want) / want).abs() < 1e-12, "K {k} count {c} δ {delta}: {got} vs {want}");
    }
    assert_eq!(clopper_pearson_upper(10, 10, 0.01).unwrap(), 1.0);
}

#[test]
fn validate_reports_count_rate_and_bound() {
    let sim = Simulator::default();
    let g = grid(5, 4, 1);
    let model = BinomialModel::new(2, 3, 4).unwrap();
    let v = validate(&sim, &model, &g, 0.5, 0.05, 500, Tiling::new(2, 64)).unwrap();
    assert_eq!(v.points.len(), 5);
    for p in &v.points {
        assert!(p.null);
        assert_eq!(p.rate, p.count as f64 / 500.0);
        assert_eq!(p.upper, clopper_pearson_upper(p.count, 500, 0.05).unwrap());
    }
    // The counts are the W3 workload's counts.
    let spec = BinomialSpec { seed: 2, theta: g.values().to_vec(), d: 4, n: 3, sims: 500, null_truth: None };
    let w3 = sim.binomial_validate(&spec, 0.5, Uniforms::Fused).unwrap();
    assert_eq!(v.points.iter().map(|p| p.count).collect::<Vec<_>>(), w3);
    assert!(v.points.iter().any(|p| p.count > 0 && p.count < 500));
}

#[test]
fn validate_counts_equal_the_statistics_oracle() {
    // The binomial model decides by integer counts; the oracle compares statistics.
    let sim = Simulator::new(Backend::Simd).unwrap();
    let (sims, g) = (203usize, grid(6, 4, 2));
    for counting in [Counting::Auto, Counting::BruteForce, Counting::Sorted] {
        let m = BinomialModel::new(8, 5, 4).unwrap().with_counting(counting);
        let stats = all_stats(&m, &g, sims);
        // λ on exact statistic values (ties), between them, and beyond both ends.
        for lambda in [0.5, 0.45, 0.4500001, 0.55, 0.0, 1.0, 1.5, -1.0, f64::INFINITY, f64::NEG_INFINITY] {
            let v = validate(&sim, &m, &g, lambda, 0.01, sims, Tiling::new(4, 16)).unwrap();
            for (p, col) in v.points.iter().zip(&stats) {
                let want = col.iter().filter(|&&t| t < lambda as f32).count() as u64;
                assert_eq!(p.count, want, "{counting:?} lambda {lambda}");
            }
        }
    }
}

#[test]
fn calibrate_agrees_with_a_sort_oracle() {
    let sim = Simulator::new(Backend::Threaded(ThreadConfig::new(2))).unwrap();
    let sims = 301;
    let g = grid(7, 4, 5).with_null(vec![true, true, false, true, true, true, true]).unwrap();
    let model = BinomialModel::new(9, 4, 4).unwrap();
    for alpha in [0.001, 0.025, 0.3, 0.99] {
        let c = calibrate(&sim, &model, &g, alpha, sims, Tiling::new(3, 40)).unwrap();
        let m = (((sims + 1) as f64 * alpha).floor() as usize).max(1);
        assert_eq!(c.rank, m);
        for (gi, mut col) in
            all_stats(&model, &Grid::new(4, g.values().to_vec()).unwrap(), sims).into_iter().enumerate()
        {
            if gi == 2 {
                assert!(c.lambda[2].is_nan());
                continue;
            }
            col.sort_by(f32::total_cmp);
            assert_eq!(c.lambda[gi].to_bits(), col[m - 1].to_bits(), "alpha {alpha} point {gi}");
        }
        let min = c.lambda.iter().filter(|x| !x.is_nan()).fold(f32::INFINITY, |a, &b| a.min(b));
        assert_eq!(c.min_lambda, min);
        assert_eq!(c.lambda[c.argmin.unwrap()], min);
    }
}

#[test]
fn pregenerated_equals_fused_and_sorted_equals_brute_force() {
    let sim = Simulator::new(Backend::Simd).unwrap();
    let (sims, n, d, seed) = (203usize, 7usize, 4usize, 17u64);
    let u = sim.binomial_fill_uniforms(seed, sims, n, d).unwrap();
    let g = grid(9, d, 3);
    let base = BinomialModel::new(seed, n, d).unwrap();
    let mut runs: Vec<(Validation, Calibration)> = Vec::new();
    for uniforms in [Uniforms::Fused, Uniforms::Pregenerated(&u)] {
        for counting in [Counting::BruteForce, Counting::Sorted] {
            let m = base.with_uniforms(uniforms).with_counting(counting);
            let v = validate(&sim, &m, &g, 0.55, 0.01, sims, Tiling::new(4, 24)).unwrap();
            let c = calibrate(&sim, &m, &g, 0.05, sims, Tiling::new(4, 24)).unwrap();
            runs.push((v, c));
        }
    }
    for (v, c) in &runs[1..] {
        assert_eq!(v, &runs[0].0);
        assert_eq!(bits(&c.lambda), bits(&runs[0].1.lambda));
    }
}

#[test]
fn results_do_not_depend_on_tiles_threads_or_backend() {
    let (sims, g) = (157usize, grid(11, 4, 8));
    let bin = BinomialModel::new(1, 5, 4).unwrap();
    let sorted = BinomialModel::new(1, 20, 4).unwrap().with_counting(Counting::Sorted);
    let z = TwoArmZModel::new(1, 12).unwrap();
    let zg = grid(11, 2, 9);
    let mut first: Option<Vec<(Validation, Vec<u32>)>> = None;
    for backend in [
        Backend::Scalar,
        Backend::Simd,
        Backend::Threaded(ThreadConfig::new(1)),
        Backend::Threaded(ThreadConfig::new(3)),
    ] {
        let sim = Simulator::new(backend).unwrap();
        // The last: a requested tile far past the run (it is fitted to it, see Tiling::fit).
        for tiling in [
            Tiling::new(1, 1),
            Tiling::new(3, 7),
            Tiling::new(4, 16),
            Tiling::new(100, 1000),
            Tiling::new(usize::MAX, usize::MAX),
        ] {
            let got = vec![
                (
                    validate(&sim, &bin, &g, 0.5, 0.01, sims, tiling).unwrap(),
                    bits(&calibrate(&sim, &bin, &g, 0.1, sims, tiling).unwrap().lambda),
                ),
                (
                    validate(&sim, &z, &zg, -1.0, 0.01, sims, tiling).unwrap(),
                    bits(&calibrate(&sim, &z, &zg, 0.1, sims, tiling).unwrap().lambda),
                ),
                (
                    validate(&sim, &sorted, &g, 0.5, 0.01, sims, tiling).unwrap(),
                    bits(&calibrate(&sim, &sorted, &g, 0.1, sims, tiling).unwrap().lambda),
                ),
            ];
            match &first {
                None => first = Some(got),
                Some(f) => assert_eq!(&got, f, "{backend:?} {tiling:?}"),
            }
        }
    }
}

#[test]
fn rejection_rate_matches_the_exact_binomial_law() {
    // All p equal: n·d·T ~ Binomial(n·d, q), q = P(U < p32) = ceil(p32·2^24)/2^24.
    let sim = Simulator::new(Backend::Threaded(ThreadConfig::new(2))).unwrap();
    let (n, d, sims, lambda) = (5usize, 4usize, 40_000usize, 0.5f32);
    let ps = [0.5, 0.3];
    let theta: Vec<f64> = ps.iter().flat_map(|&p| vec![logit(p); d]).collect();
    let g = Grid::new(d, theta).unwrap();
    for counting in [Counting::BruteForce, Counting::Sorted] {
        let m = BinomialModel::new(6, n, d).unwrap().with_counting(counting);
        let v = validate(&sim, &m, &g, f64::from(lambda), 0.01, sims, Tiling::default()).unwrap();
        for (gi, &p) in ps.iter().enumerate() {
            let q = (f64::from(expit_f32(logit(p))) * 16_777_216.0).ceil() / 16_777_216.0;
            let c_star = (0..=n * d).find(|&c| (c as f32) / ((n * d) as f32) >= lambda).unwrap();
            let want = binomial_cdf_lt((n * d) as u64, c_star as u64, q).unwrap();
            let se = (want * (1.0 - want) / sims as f64).sqrt();
            assert!((v.points[gi].rate - want).abs() < 4.0 * se, "p {p}: {} vs {want}", v.points[gi].rate);
        }
    }
}

#[test]
fn two_arm_z_test_model() {
    let sim = Simulator::new(Backend::Threaded(ThreadConfig::new(2))).unwrap();
    let model = TwoArmZModel::new(4, 30).unwrap();
    // (μ_c, μ_t): two null points with effect 0, one null with effect −0.2, one alternative.
    let g = Grid::new(2, vec![0.0, 0.0, 0.5, 0.5, 0.2, 0.0, 0.0, 0.5]).unwrap();
    let sims = 20_000;
    let v = validate(&sim, &model, &g, -1.959_964, 0.01, sims, Tiling::default()).unwrap();
    let se = (0.025f64 * 0.975 / sims as f64).sqrt();
    assert!((v.points[0].rate - 0.025).abs() < 4.0 * se, "{}", v.points[0].rate);
    // Common random numbers: same effect, same statistics, same counts.
    assert_eq!(v.points[0].count, v.points[1].count);
    assert!(v.points[2].count < v.points[0].count);
    assert!(!v.points[3].null && v.points[3].count == 0);
    let c = calibrate(&sim, &model, &g, 0.025, sims, Tiling::default()).unwrap();
    assert_eq!(c.lambda[0].to_bits(), c.lambda[1].to_bits());
    assert!(c.lambda[3].is_nan());
    // λ* ≈ z_{0.025} = −1.96: 4 standard errors of the quantile (sd ≈ sqrt(α(1−α)/K)/φ(z)).
    let q_se = (0.025f64 * 0.975 / sims as f64).sqrt() / 0.058_45;
    assert!((f64::from(c.lambda[0]) + 1.959_964).abs() < 4.0 * q_se, "{}", c.lambda[0]);
    // The calibrated threshold is the minimum and sits at the effect-0 points.
    assert!(c.min_lambda == c.lambda[0] && c.argmin == Some(0));
    // And the oracle: the m-th smallest statistic.
    let mut col = all_stats(&model, &g, sims).swap_remove(2);
    col.sort_by(f32::total_cmp);
    assert_eq!(c.lambda[2], col[c.rank - 1]);
}

#[test]
fn bad_inputs_are_typed_errors() {
    let sim = Simulator::default();
    let g = grid(3, 4, 1);
    let m = BinomialModel::new(0, 2, 4).unwrap();
    let t = Tiling::default();
    let param = |r: Result<Validation, SimError>| match r {
        Err(SimError::Param(e)) => e,
        other => panic!("expected a parameter error, got {other:?}"),
    };
    assert!(matches!(
        param(validate(&sim, &m, &g, f64::NAN, 0.01, 10, t)),
        ParamError::IsNan { name: "lambda" }
    ));
    for delta in [0.0, 1.0, -0.5, f64::NAN] {
        assert!(matches!(
            param(validate(&sim, &m, &g, 0.5, delta, 10, t)),
            ParamError::NotOpenProbability { name: "delta", .. }
        ));
    }
    assert!(matches!(param(validate(&sim, &m, &g, 0.5, 0.01, 0, t)), ParamError::ZeroSize { name: "K" }));
    assert!(matches!(
        param(validate(&sim, &m, &g, 0.5, 0.01, 10, Tiling::new(0, 8))),
        ParamError::ZeroSize { name: "grid_tile" }
    ));
    for alpha in [0.0, 1.0, 1.5, f64::NAN] {
        assert!(matches!(
            calibrate(&sim, &m, &g, alpha, 10, t),
            Err(SimError::Param(ParamError::NotOpenProbability { name: "alpha", .. }))
        ));
    }
    assert!(matches!(
        Grid::new(4, vec![0.0, f64::NAN, 0.0, 0.0]),
        Err(SimError::Param(ParamError::NotFinite { name: "theta", .. }))
    ));
    assert!(matches!(Grid::new(4, vec![]), Err(SimError::Param(ParamError::ZeroSize { name: "grid" }))));
    // Wrong dimension, wrong pregenerated length, bad model shapes.
    assert!(matches!(
        validate(&sim, &m, &grid(3, 2, 1), 0.5, 0.01, 10, t),
        Err(SimError::Shape { name: "grid columns", expected: 4, got: 2 })
    ));
    let u = vec![0.5f32; 10 * 8 - 1];
    let mp = m.with_uniforms(Uniforms::Pregenerated(&u));
    assert!(matches!(
        validate(&sim, &mp, &g, 0.5, 0.01, 10, t),
        Err(SimError::Shape { name: "uniforms", expected: 80, got: 79 })
    ));
    assert!(matches!(BinomialModel::new(0, 0, 4), Err(SimError::Param(ParamError::ZeroSize { name: "n" }))));
    assert!(matches!(TwoArmZModel::new(0, 0), Err(SimError::Param(ParamError::ZeroSize { name: "n" }))));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    /// Sorted counting gives brute force's statistics exactly, ties and extreme p included.
    #[test]
    fn sorted_counts_equal_brute_force(
        seed in any::<u64>(),
        n in 1usize..40,
        d in 1usize..5,
        theta in proptest::collection::vec(
            prop_oneof![-3.0f64..3.0, Just(0.0), Just(-40.0), Just(40.0)], 1..120),
        first in 0usize..1000,
        sims in 1usize..20,
    ) {
        let gp = (theta.len() / d).max(1);
        let mut theta = theta;
        theta.resize(gp * d, 0.25);
        let g = Grid::new(d, theta).unwrap();
        let m = BinomialModel::new(seed, n, d).unwrap();
        let prep = m.prepare(&g).unwrap();
        let (mut a, mut b) = (vec![0f32; gp * sims], vec![0f32; gp * sims]);
        m.with_counting(Counting::BruteForce).simulate(&prep, 0..gp, first..first + sims, &mut a);
        m.with_counting(Counting::Sorted).simulate(&prep, 0..gp, first..first + sims, &mut b);
        prop_assert_eq!(bits(&a), bits(&b));
    }
}

/// Tiles far smaller than the grid (more than 16× here) take each arm's order by sorting
/// their own points instead of filtering the grid's order: the same order, so the same
/// counts as brute force, ties included (sub-tiles cut at odd places).
#[test]
fn sorted_tiles_of_a_large_grid_equal_brute_force() {
    let d = 3;
    let g = grid(600, d, 7);
    let p: Vec<f32> = g.values().iter().map(|&t| expit_f32(t)).collect();
    let (n, sims) = (9, 37);
    let u = tie_uniforms(&p, sims * n * d, 3);
    let m = BinomialModel::new(0, n, d).unwrap().with_uniforms(Uniforms::Pregenerated(&u));
    let prep = m.prepare(&g).unwrap();
    for points in [0..600, 0..7, 5..35, 590..600, 123..124] {
        let gp = points.len();
        let (mut a, mut b) = (vec![0f32; gp * sims], vec![0f32; gp * sims]);
        m.with_counting(Counting::BruteForce).simulate(&prep, points.clone(), 0..sims, &mut a);
        m.with_counting(Counting::Sorted).simulate(&prep, points.clone(), 0..sims, &mut b);
        assert_eq!(bits(&a), bits(&b), "points {points:?}");
    }
}

/// Uniforms `K × n × d` for a pregenerated run: a mix of fresh values, exact copies of the
/// grid's probabilities (ties `u == p`), and 0, 1 and values just around a probability.
fn tie_uniforms(p: &[f32], len: usize, seed: u64) -> Vec<f32> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let pick = p[(x >> 33) as usize % p.len()];
            match (x >> 20) % 6 {
                0 | 1 => pick,
                2 => f32::from_bits(pick.to_bits().saturating_sub(1)),
                3 => [0.0, 1.0, 0.999_999_94][(x >> 40) as usize % 3],
                _ => (x >> 40) as f32 / (1u64 << 24) as f32,
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]
    /// Sorted = brute-force rejection counts through `validate` with pregenerated uniforms
    /// full of exact ties `u == p`, `p` in {0, 1} (θ = ±∞ is rejected by the grid, so
    /// θ = ±200, whose f32 probabilities are exactly 0 and 1), null masks, random tiles
    /// (the sorted tables are per grid tile) and 1 or 2 threads.
    #[test]
    fn sorted_validate_equals_brute_force_with_ties_and_masks(
        seed in any::<u64>(),
        n in 1usize..400,
        d in 1usize..5,
        theta in proptest::collection::vec(
            prop_oneof![-3.0f64..3.0, Just(0.0), Just(-200.0), Just(200.0)], 1..200),
        mask in any::<u64>(),
        sims in 1usize..40,
        grid_tile in 1usize..80,
        sim_tile in 1usize..30,
        threads in 1usize..3,
        lambda in 0.0f64..1.0,
    ) {
        let gp = (theta.len() / d).max(1);
        let mut theta = theta;
        theta.resize(gp * d, 0.25);
        let null: Vec<bool> = (0..gp).map(|g| mask >> (g % 64) & 1 == 1).collect();
        let g = Grid::new(d, theta).unwrap().with_null(null.clone()).unwrap();
        let p: Vec<f32> = g.values().iter().map(|&t| expit_f32(t)).collect();
        let u = tie_uniforms(&p, sims * n * d, seed);
        let m = BinomialModel::new(seed, n, d).unwrap().with_uniforms(Uniforms::Pregenerated(&u));
        let sim = Simulator::new(Backend::Threaded(ThreadConfig::new(threads))).unwrap();
        let t = Tiling::new(grid_tile, sim_tile);
        let brute = validate(&sim, &m.with_counting(Counting::BruteForce), &g, lambda, 0.01, sims, t).unwrap();
        let sorted = validate(&sim, &m.with_counting(Counting::Sorted), &g, lambda, 0.01, sims, t).unwrap();
        let counts = |v: &Validation| v.points.iter().map(|q| (q.null, q.count)).collect::<Vec<_>>();
        prop_assert_eq!(counts(&brute), counts(&sorted));
        for (q, &nl) in sorted.points.iter().zip(&null) {
            prop_assert_eq!(q.null, nl);
            prop_assert!(nl || q.count == 0);
        }
    }
}

/// A model's statistics with its levels hidden (`levels = None`: calibrate selects among
/// f32 statistics) or kept with the default `simulate_levels` (statistics looked up).
struct Wrapped<'a> {
    inner: BinomialModel<'a>,
    levels: bool,
}

impl Model for Wrapped<'_> {
    type Prepared = <BinomialModel<'static> as Model>::Prepared;
    fn name(&self) -> &'static str {
        "wrapped"
    }
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn null_hypothesis(&self, point: &[f64]) -> bool {
        self.inner.null_hypothesis(point)
    }
    fn check_sims(&self, sims: usize) -> Result<(), SimError> {
        self.inner.check_sims(sims)
    }
    fn prepare(&self, grid: &Grid) -> Result<Self::Prepared, SimError> {
        self.inner.prepare(grid)
    }
    fn simulate(
        &self,
        prep: &Self::Prepared,
        points: std::ops::Range<usize>,
        sims: std::ops::Range<usize>,
        stats: &mut [f32],
    ) {
        self.inner.simulate(prep, points, sims, stats);
    }
    fn levels<'p>(&self, prep: &'p Self::Prepared) -> Option<&'p [f32]> {
        if self.levels { self.inner.levels(prep) } else { None }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// calibrate by counting levels (the binomial model's own `simulate_levels`, and the
    /// default one that looks statistics up) = calibrate by selection, bit for bit, with
    /// null masks, any tiles and 1 or 2 threads.
    #[test]
    fn calibrate_by_levels_equals_calibrate_by_selection(
        seed in any::<u64>(),
        n in 1usize..60,
        d in 1usize..5,
        points in 1usize..40,
        mask in any::<u64>(),
        sims in 1usize..300,
        grid_tile in 1usize..50,
        sim_tile in 1usize..120,
        threads in 1usize..3,
        alpha in 0.001f64..0.999,
        sorted in any::<bool>(),
    ) {
        let null: Vec<bool> = (0..points).map(|g| mask >> (g % 64) & 1 == 1).collect();
        let g = grid(points, d, seed).with_null(null).unwrap();
        let counting = if sorted { Counting::Sorted } else { Counting::BruteForce };
        let inner = BinomialModel::new(seed, n, d).unwrap().with_counting(counting);
        let sim = Simulator::new(Backend::Threaded(ThreadConfig::new(threads))).unwrap();
        let t = Tiling::new(grid_tile, sim_tile);
        let own = calibrate(&sim, &inner, &g, alpha, sims, t);
        let looked_up = calibrate(&sim, &Wrapped { inner, levels: true }, &g, alpha, sims, t);
        let selected = calibrate(&sim, &Wrapped { inner, levels: false }, &g, alpha, sims, t);
        match (own, looked_up, selected) {
            (Ok(a), Ok(b), Ok(c)) => {
                prop_assert_eq!(bits(&a.lambda), bits(&c.lambda));
                prop_assert_eq!(bits(&b.lambda), bits(&c.lambda));
                prop_assert_eq!((a.min_lambda.to_bits(), a.argmin), (c.min_lambda.to_bits(), c.argmin));
            }
            // α so close to 1 that m > K: the same error either way.
            (Err(a), Err(b), Err(c)) => {
                prop_assert_eq!(a.to_string(), c.to_string());
                prop_assert_eq!(b.to_string(), c.to_string());
            }
            (a, b, c) => prop_assert!(false, "{:?} / {:?} / {:?}", a.is_ok(), b.is_ok(), c.is_ok()),
        }
    }
}

/// The tuner on a grid larger than its sample (`TUNE_POINTS` evenly spaced null points),
/// with non-null points in it: it times its shapes and the shape it picks gives the run's
/// results.
#[test]
fn autotune_probes_a_sample_of_a_large_grid() {
    let g = grid(3 * tune::TUNE_POINTS, 1, 5);
    let null: Vec<bool> = (0..g.len()).map(|i| i % 3 != 1).collect();
    let g = g.with_null(null).unwrap();
    let m = BinomialModel::new(0, 1, 1).unwrap();
    let sim = Simulator::new(Backend::Threaded(ThreadConfig::new(2))).unwrap();
    let (best, sweep) = tune::autotune(&sim, &m, &g, 8).unwrap();
    assert!(!sweep.is_empty() && sweep.iter().any(|p| p.tiling == best));
    assert!(sweep.iter().all(|p| p.tiling.grid_tile <= tune::TUNE_POINTS && p.seconds > 0.0));
    // The run's results do not depend on the shape found.
    let a = validate(&sim, &m, &g, 0.6, 0.01, 40, best).unwrap();
    let b = validate(&sim, &m, &g, 0.6, 0.01, 40, Tiling::default()).unwrap();
    assert_eq!(a, b);
}

/// A model of fixed statistics: point `g`, simulation `s` gets `table[(g + s) % len]`
/// (the points' coordinates are ignored), with the given `levels` (or none).
struct Table {
    table: Vec<f32>,
    levels: Option<Vec<f32>>,
}

impl Model for Table {
    type Prepared = Option<Vec<f32>>;
    fn name(&self) -> &'static str {
        "table"
    }
    fn dim(&self) -> usize {
        1
    }
    fn null_hypothesis(&self, _: &[f64]) -> bool {
        true
    }
    fn check_sims(&self, _: usize) -> Result<(), SimError> {
        Ok(())
    }
    fn prepare(&self, _: &Grid) -> Result<Self::Prepared, SimError> {
        Ok(self.levels.clone())
    }
    fn simulate(
        &self,
        _: &Self::Prepared,
        points: std::ops::Range<usize>,
        sims: std::ops::Range<usize>,
        out: &mut [f32],
    ) {
        let ns = sims.len();
        for (g, row) in points.zip(out.chunks_exact_mut(ns)) {
            for (s, t) in sims.clone().zip(row) {
                *t = self.table[(g + s) % self.table.len()];
            }
        }
    }
    fn levels<'p>(&self, prep: &'p Self::Prepared) -> Option<&'p [f32]> {
        prep.as_deref()
    }
}

/// Levels out of order or with NaN are refused (they gave a too-large λ*, silently); the
/// sign of zero is kept by the levels path and by the overall minimum, as by selection.
#[test]
fn model_levels_are_checked_and_keep_the_selection_order() {
    let sim = Simulator::new(Backend::Simd).unwrap();
    let g = Grid::new(1, vec![0.0; 6]).unwrap();
    let table = vec![0.0, 1.0, 2.0];
    for bad in [vec![2.0, 0.0, 1.0], vec![f32::NAN, 1.0, 2.0]] {
        let m = Table { table: table.clone(), levels: Some(bad) };
        let e = calibrate(&sim, &m, &g, 0.2, 30, Tiling::default()).unwrap_err();
        assert!(matches!(e, SimError::ModelContract(_)), "{e}");
    }
    // Statistics -0.0 and 1.0: λ* is -0.0 by selection and by levels alike.
    let table = vec![-0.0, 1.0];
    let by_sel =
        calibrate(&sim, &Table { table: table.clone(), levels: None }, &g, 0.2, 10, Tiling::default());
    let by_lv =
        calibrate(&sim, &Table { table, levels: Some(vec![-0.0, 0.0, 1.0]) }, &g, 0.2, 10, Tiling::default());
    let (by_sel, by_lv) = (by_sel.unwrap(), by_lv.unwrap());
    assert_eq!(bits(&by_sel.lambda), bits(&by_lv.lambda));
    assert_eq!(by_sel.lambda[0].to_bits(), (-0.0f32).to_bits());
    // The overall minimum in the same order: -0.0 before +0.0.
    let mixed = Table { table: vec![0.0, -0.0], levels: None };
    let g2 = Grid::new(1, vec![0.0; 2]).unwrap();
    // K = 1: point 0 sees table[0] = +0.0, point 1 sees table[1] = -0.0.
    let c = calibrate(&sim, &mixed, &g2, 0.5, 1, Tiling::default()).unwrap();
    assert_eq!((c.min_lambda.to_bits(), c.argmin), ((-0.0f32).to_bits(), Some(1)));
}

#[test]
fn clopper_pearson_refuses_trial_counts_past_its_accuracy() {
    use simlanes::simcore::stats::clopper_pearson::MAX_TRIALS;
    assert!(clopper_pearson_upper(0, MAX_TRIALS, 0.01).is_ok());
    assert!(matches!(
        clopper_pearson_upper(0, MAX_TRIALS + 1, 0.01),
        Err(ParamError::TooLarge { name: "k", .. })
    ));
}
