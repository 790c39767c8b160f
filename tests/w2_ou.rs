//! W2 (Ornstein–Uhlenbeck, exact step) checks of WORKLOADS.md at CI scale: stationary
//! variance `σ² = 4` and lag-1 autocorrelation `relax = e^{-0.1}`, and the agreement of the
//! three modes (path, final state, caller normals).

use simlanes::simcore::ParamError;
use simlanes::simcore::rng::{NormalSeq, Stream};
use simlanes::workload::ou::{OuParams, OuSpec};
use simlanes::{SimError, Simulator};

fn spec(num_sim: usize, num_steps: usize) -> OuSpec {
    OuSpec { seed: 0, num_sim, num_steps, params: OuParams::default(), jax_key: None }
}

/// Stationary variance and lag-1 autocorrelation, each within 4 standard errors.
///
/// Setup: `K = 8` independent paths of `B + M` steps from `x0 = 0`; the first `B = 500`
/// states are dropped (`Var x[t] = σ²(1 - ρ^{2t})`, and `ρ^{1000} = e^{-100}`), leaving
/// `M` states per path of a stationary Gaussian AR(1) with `ρ = relax`, `Var = σ²`,
/// `Cov(x_s, x_t) = σ²ρ^{|s-t|}`, mean exactly 0 (so it is not estimated).
///
/// Variance, `v̂ = (1/(KM)) Σ x_t²`. For jointly Gaussian zero-mean `x_s, x_t`,
/// `Cov(x_s², x_t²) = 2 Cov(x_s, x_t)² = 2σ⁴ρ^{2|s-t|}`, so for large `M`
/// `Var(v̂) ≈ (2σ⁴/(KM)) Σ_{k∈ℤ} ρ^{2|k|} = (2σ⁴/(KM))·(1+ρ²)/(1-ρ²)`.
///
/// Autocorrelation, least squares `ρ̂ = Σ x_t x_{t+1} / Σ x_t²` (sums over all paths).
/// Writing `x_{t+1} = ρ x_t + e_{t+1}` with `e_{t+1} = diffuse·z_t ~ N(0, σ²(1-ρ²))`
/// independent of `x_t, x_{t-1}, …`: `ρ̂ - ρ = Σ x_t e_{t+1} / Σ x_t²`. The numerator is a
/// martingale sum of `KM` uncorrelated terms of variance `σ²·σ²(1-ρ²)`; the denominator is
/// `≈ KMσ²`. Hence `Var(ρ̂) ≈ (1-ρ²)/(KM)` (the Mann–Wald result); the `O(1/M)` bias is
/// far below the bound.
#[test]
fn stationary_variance_and_lag_one_autocorrelation() {
    let (k, burn, m) = (8usize, 500usize, 250_000usize);
    let s = spec(k, burn + m);
    let mut path = vec![0.0; (burn + m + 1) * k];
    Simulator::default().ou_path(&s, &mut path).unwrap();
    let rho = (-0.1f64).exp();
    let sigma2 = 4.0;
    let (mut sxx, mut sxy, mut n) = (0.0f64, 0.0f64, 0usize);
    for i in 0..k {
        for t in burn..burn + m {
            let (x, y) = (path[t * k + i], path[(t + 1) * k + i]);
            sxx += x * x;
            sxy += x * y;
            n += 1;
        }
    }
    let km = n as f64;
    let var_hat = sxx / km;
    let se_var = sigma2 * (2.0 * (1.0 + rho * rho) / ((1.0 - rho * rho) * km)).sqrt();
    assert!((var_hat - sigma2).abs() < 4.0 * se_var, "variance {var_hat}, se {se_var}");
    let rho_hat = sxy / sxx;
    let se_rho = ((1.0 - rho * rho) / km).sqrt();
    assert!((rho_hat - rho).abs() < 4.0 * se_rho, "rho {rho_hat} vs {rho}, se {se_rho}");
}

#[test]
fn path_final_and_caller_normals_agree_bit_for_bit() {
    let sim = Simulator::default();
    let mut s = spec(5, 301);
    s.seed = 42;
    s.params.x0 = 1.5;
    let mut path = vec![f64::NAN; 302 * 5];
    sim.ou_path(&s, &mut path).unwrap();
    assert!(path[..5].iter().all(|&x| x == 1.5), "row 0 is x0");
    let fin = sim.ou_final(&s).unwrap();
    assert_eq!(&path[301 * 5..], &fin[..]);
    // Mode (c) on the stream's own normals (z[t][i] = normal t of stream i) gives mode (b).
    let mut z = vec![0.0; 301 * 5];
    for i in 0..5 {
        let mut seq = NormalSeq::new(Stream::<f64>::consecutive(42, i as u64), 0);
        for t in 0..301 {
            z[t * 5 + i] = seq.next();
        }
    }
    let with = sim.ou_with_normals(&s, &z).unwrap();
    assert_eq!(
        with.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
        fin.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
    );
    // Simulation i is stream i: a smaller batch gives the same first simulations.
    let fewer = sim.ou_final(&OuSpec { num_sim: 2, ..s }).unwrap();
    assert_eq!(&fin[..2], &fewer[..]);
}

#[test]
fn caller_normals_deterministic_part() {
    // relax, diffuse from the documented formulas; zero normals give pure decay.
    let sim = Simulator::default();
    let mut s = spec(2, 3);
    s.params.x0 = 2.0;
    let c = s.params.coeffs_f64();
    let out = sim.ou_with_normals(&s, &[0.0; 6]).unwrap();
    let want = 2.0 * c.relax * c.relax * c.relax;
    assert!(out.iter().all(|&x| (x - want).abs() <= 4.0 * f64::EPSILON * want));
    let z = [1.0, -1.0, 0.0, 0.0, 0.0, 0.0];
    let out = sim.ou_with_normals(&s, &z).unwrap();
    // The plain evaluation x·relax + diffuse·z (simcore::models::ou).
    let first = 2.0 * c.relax + c.diffuse * 1.0;
    assert_eq!(out[0], (first * c.relax + c.diffuse * 0.0) * c.relax + c.diffuse * 0.0);
    assert!(out[0] > out[1]);
    // num_steps = 0: the output is x0 and z is empty.
    assert_eq!(sim.ou_with_normals(&spec(3, 0), &[]).unwrap(), vec![0.0; 3]);
}

#[test]
fn bad_inputs_are_typed_errors_and_write_nothing() {
    let sim = Simulator::default();
    let ok = spec(3, 4);
    let mut out = vec![7.0; 14];
    let e = sim.ou_path(&ok, &mut out);
    assert!(matches!(e, Err(SimError::Shape { name: "out", expected: 15, got: 14 })));
    assert!(out.iter().all(|&x| x == 7.0));
    let e = sim.ou_with_normals(&ok, &[0.0; 11]);
    assert!(matches!(e, Err(SimError::Shape { name: "z", expected: 12, got: 11 })));
    let e = sim.ou_final(&OuSpec { num_sim: 0, ..ok });
    assert!(matches!(e, Err(SimError::Param(ParamError::ZeroSize { name: "num_sim" }))));
    let e = sim.ou_final(&OuSpec { num_steps: usize::MAX, ..ok });
    assert!(matches!(e, Err(SimError::Param(ParamError::TooLarge { name: "(num_steps+1)*num_sim", .. }))));
    let bad_params = [
        OuParams { dt: 0.0, ..OuParams::default() },
        OuParams { dt: f64::NAN, ..OuParams::default() },
        OuParams { tau: -1.0, ..OuParams::default() },
        OuParams { sigma: -2.0, ..OuParams::default() },
        OuParams { x0: f64::INFINITY, ..OuParams::default() },
    ];
    for params in bad_params {
        let mut out = vec![7.0; 15];
        let e = sim.ou_path(&OuSpec { params, ..ok }, &mut out);
        assert!(matches!(e, Err(SimError::Param(_))), "{params:?}: {e:?}");
        assert!(out.iter().all(|&x| x == 7.0));
    }
}
