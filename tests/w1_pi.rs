//! W1 (Monte Carlo π) checks of WORKLOADS.md at CI scale: the mean estimate against π,
//! and the properties that make the answer backend-independent.

use simlanes::simcore::ParamError;
use simlanes::simcore::rng::Stream;
use simlanes::workload::pi::PiSpec;
use simlanes::{SimError, Simulator};
use std::f64::consts::PI;

#[test]
fn mean_within_four_standard_errors_of_pi() {
    // N = 50_000 (seed size) × I = 200: 1e7 pairs, se = sqrt(π(4-π)/(N·I)) ≈ 5.2e-4.
    let sim = Simulator::default();
    for seed in [0u64, 1] {
        let spec = PiSpec { seed, pairs_per_estimate: 50_000, estimates: 200, jax_key: None };
        let out = sim.pi(&spec).unwrap();
        let n = (spec.pairs_per_estimate * spec.estimates as u64) as f64;
        let se = (PI * (4.0 - PI) / n).sqrt();
        assert!((out.mean - PI).abs() < 4.0 * se, "seed {seed}: mean {} se {se}", out.mean);
        assert_eq!(out.estimates.len(), 200);
        let mean_of_estimates = out.estimates.iter().sum::<f64>() / 200.0;
        assert!((mean_of_estimates - out.mean).abs() < 1e-12);
        // Each estimate is 4·hits/N and the estimates scatter as the binomial law says:
        // their sample variance is within 4 SE of π(4-π)/N (SE of a variance of I normal-ish
        // values ≈ var·sqrt(2/(I-1))).
        let var = out.estimates.iter().map(|e| (e - out.mean).powi(2)).sum::<f64>() / 199.0;
        let want = PI * (4.0 - PI) / 50_000.0;
        assert!((var - want).abs() < 4.0 * want * (2.0f64 / 199.0).sqrt(), "var {var} want {want}");
        for (h, e) in out.hits.iter().zip(&out.estimates) {
            assert_eq!(*e, 4.0 * *h as f64 / 50_000.0);
        }
    }
}

#[test]
fn estimate_i_depends_only_on_seed_and_i() {
    // The first estimates of a long batch equal a short batch's: stream i is estimate i.
    let sim = Simulator::default();
    let long = sim.pi(&PiSpec { seed: 5, pairs_per_estimate: 1001, estimates: 40, jax_key: None }).unwrap();
    let short = sim.pi(&PiSpec { seed: 5, pairs_per_estimate: 1001, estimates: 7, jax_key: None }).unwrap();
    assert_eq!(&long.hits[..7], &short.hits[..]);
    let other = sim.pi(&PiSpec { seed: 6, pairs_per_estimate: 1001, estimates: 7, jax_key: None }).unwrap();
    assert_ne!(other.hits, short.hits);
}

#[test]
fn hits_follow_the_stream_contract() {
    // Estimate i, pair j: x = f32 uniform 2j, y = uniform 2j+1 of stream i; hit when
    // x² + y² < 1 exactly (in f64, where it is exact: simcore::models::pi).
    let sim = Simulator::default();
    let pairs = 333u64; // odd: the last Philox block is half used
    let out = sim.pi(&PiSpec { seed: 11, pairs_per_estimate: pairs, estimates: 3, jax_key: None }).unwrap();
    for i in 0..3u64 {
        let s = Stream::<f32>::consecutive(11, i);
        let hits = (0..pairs)
            .filter(|&j| {
                let (x, y) = (s.uniform(2 * j), s.uniform(2 * j + 1));
                f64::from(x) * f64::from(x) + f64::from(y) * f64::from(y) < 1.0
            })
            .count() as u64;
        assert_eq!(out.hits[i as usize], hits);
    }
}

#[test]
fn bad_sizes_are_typed_errors() {
    let sim = Simulator::default();
    let ok = PiSpec { seed: 0, pairs_per_estimate: 8, estimates: 2, jax_key: None };
    let zero_pairs = sim.pi(&PiSpec { pairs_per_estimate: 0, ..ok });
    assert!(matches!(zero_pairs, Err(SimError::Param(ParamError::ZeroSize { name: "pairs_per_estimate" }))));
    let too_many = sim.pi(&PiSpec { pairs_per_estimate: u64::from(u32::MAX) + 1, ..ok });
    assert!(matches!(too_many, Err(SimError::Param(ParamError::TooLarge { .. }))));
    let zero_est = sim.pi(&PiSpec { estimates: 0, ..ok });
    assert!(matches!(zero_est, Err(SimError::Param(ParamError::ZeroSize { name: "estimates" }))));
}
