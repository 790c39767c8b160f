//! W5 — Montbrio–Pazo–Roxin sweep: the grid, the output statistic, `r >= 0`,
//! determinism and batch-size independence, and typed errors for bad input.

use simlanes::workload::mpr::{MprSpec, NV, STAT_FIRST, sweep_grid};
use simlanes::{Backend, SimError, Simulator};

fn sim() -> Simulator {
    Simulator::new(Backend::Scalar).expect("scalar simulator")
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// The first `b` members of a sweep spec.
fn first_members(spec: &MprSpec, b: usize) -> MprSpec {
    MprSpec { batch: b, k: spec.k[..b].to_vec(), eta: spec.eta[..b].to_vec(), ..spec.clone() }
}

#[test]
fn sweep_grid_is_k_outer_eta_inner() {
    let (k, eta) = sweep_grid();
    assert_eq!((k.len(), eta.len()), (1152, 1152));
    for i in 0..32 {
        for j in 0..36 {
            let b = i * 36 + j;
            assert_eq!(k[b], (2.0 * i as f64 / 31.0) as f32, "k at {b}");
            assert_eq!(eta[b], (-6.0 + 3.0 * j as f64 / 35.0) as f32, "eta at {b}");
        }
    }
    assert_eq!((k[0], k[1151], eta[0], eta[35]), (0.0, 2.0, -6.0, -3.0));
    let full = MprSpec::sweep(0).unwrap();
    assert_eq!((full.nn, full.nt, full.batch, full.dt, full.sigma), (164, 1000, 1152, 0.01, 0.2));
    assert!(full.validate().is_ok());
}

#[test]
fn small_sweep_is_finite_non_negative_and_r_stays_non_negative() {
    let (nn, nt) = (8, 450);
    let spec = MprSpec::sweep_sized(3, nn, nt).unwrap();
    let out = sim().mpr(&spec).unwrap();
    let bsz = spec.batch;
    assert_eq!(out.std_r.len(), bsz);
    assert_eq!(out.final_state.len(), NV * nn * bsz);
    assert!(out.std_r.iter().all(|s| s.is_finite() && *s >= 0.0));
    // Noise makes r fluctuate: no member's r is constant over the window.
    assert!(out.std_r.iter().all(|&s| s > 0.0));
    // Stored r is clamped after every step (r rows: the first nn*B entries).
    assert!(out.final_state[..nn * bsz].iter().all(|&r| r >= 0.0 && r.is_finite()));
    assert!(out.final_state.iter().all(|x| x.is_finite()));
    // At low eta and k = 0 the rate sits at the clamp for some nodes: the clamp is active.
    assert!(out.final_state[..nn * bsz].contains(&0.0));
}

#[test]
fn statistic_over_a_one_state_window_is_the_node_std_of_the_final_rate() {
    // nt = 401: the window is x[401] alone, so the statistic is the population std of the
    // final r over the nodes.
    let (nn, b) = (6, 5);
    let spec = first_members(&MprSpec::sweep_sized(1, nn, STAT_FIRST).unwrap(), b);
    let out = sim().mpr(&spec).unwrap();
    for m in 0..b {
        let r: Vec<f64> = (0..nn).map(|i| f64::from(out.final_state[i * b + m])).collect();
        let mean = r.iter().sum::<f64>() / nn as f64;
        let var = r.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / nn as f64;
        let got = out.std_r[m];
        assert!(
            (got - var.sqrt()).abs() <= 1e-12 * (1.0 + mean.abs()),
            "member {m}: {got} vs {}",
            var.sqrt()
        );
    }
}

#[test]
fn deterministic_and_batch_size_independent() {
    let spec = first_members(&MprSpec::sweep_sized(7, 8, 420).unwrap(), 40);
    let a = sim().mpr(&spec).unwrap();
    let again = sim().mpr(&spec).unwrap();
    assert_eq!(bits(&a.std_r), bits(&again.std_r));
    // A smaller batch is the prefix (member b uses stream b).
    let p = sim().mpr(&first_members(&spec, 9)).unwrap();
    assert_eq!(bits(&p.std_r), bits(&a.std_r[..9]));
    // Another seed (other noise and other default weights) changes every member.
    let other = sim().mpr(&MprSpec { seed: 8, ..spec.clone() }).unwrap();
    assert!(a.std_r.iter().zip(&other.std_r).all(|(x, y)| x != y));
    // Without noise, members with equal (k, eta) and equal weights agree.
    let quiet = MprSpec { sigma: 0.0, batch: 2, k: vec![0.5], eta: vec![-5.0], ..spec.clone() };
    let q = sim().mpr(&quiet).unwrap();
    assert_eq!(q.std_r[0].to_bits(), q.std_r[1].to_bits());
}

#[test]
fn bad_input_is_a_typed_error() {
    let ok = first_members(&MprSpec::sweep_sized(0, 4, 401).unwrap(), 3);
    assert!(ok.validate().is_ok());
    let s = sim();
    let param = |spec: MprSpec| matches!(s.mpr(&spec), Err(SimError::Param(_)));
    let shape =
        |spec: MprSpec, n: &str| matches!(s.mpr(&spec), Err(SimError::Shape { name, .. }) if name == n);
    assert!(matches!(
        s.mpr(&MprSpec { nt: 400, ..ok.clone() }),
        Err(SimError::TooSmall { name: "nt", min: 401, got: 400 })
    ));
    let mut p = ok.params;
    p.J = f32::NAN;
    assert!(param(MprSpec { params: p, ..ok.clone() }));
    p = ok.params;
    p.tau = 0.0;
    assert!(param(MprSpec { params: p, ..ok.clone() }));
    assert!(param(MprSpec { nn: 0, weights: vec![], ..ok.clone() }));
    assert!(param(MprSpec { nt: 0, ..ok.clone() }));
    assert!(param(MprSpec { batch: 0, ..ok.clone() }));
    assert!(param(MprSpec { dt: 0.0, ..ok.clone() }));
    assert!(param(MprSpec { sigma: -0.2, ..ok.clone() }));
    assert!(param(MprSpec { eta: vec![f32::NAN], ..ok.clone() }));
    assert!(param(MprSpec { k: vec![f32::NEG_INFINITY], ..ok.clone() }));
    assert!(param(MprSpec { weights: vec![f32::INFINITY; 16], ..ok.clone() }));
    assert!(shape(MprSpec { weights: vec![0.0; 17], ..ok.clone() }, "weights"));
    assert!(shape(MprSpec { k: vec![0.0; 2], ..ok.clone() }, "k"));
    assert!(shape(MprSpec { eta: vec![0.0; 4], ..ok.clone() }, "eta"));
    assert!(s.mpr(&MprSpec { k: vec![0.3], eta: vec![-4.0], ..ok }).is_ok());
}

#[test]
fn a_run_that_blows_up_reports_nan_not_zero() {
    // dt = 1 is far past the scheme's stability at eta = -5: the rate overflows to inf and
    // then NaN. Its statistic must say so (it read 0.0: the variance's clamp at 0 ate the NaN).
    let mut spec = first_members(&MprSpec::sweep_sized(0, 2, 410).unwrap(), 1);
    (spec.k, spec.eta, spec.dt) = (vec![0.5], vec![-5.0], 1.0);
    for backend in [Backend::Scalar, Backend::Simd, Backend::Threaded(simlanes::ThreadConfig::new(2))] {
        let out = Simulator::new(backend).unwrap().mpr(&spec).unwrap();
        assert!(
            out.final_state.iter().any(|x| !x.is_finite()),
            "{}: the run did not blow up",
            backend.name()
        );
        assert!(out.std_r[0].is_nan(), "{}: std_r = {}", backend.name(), out.std_r[0]);
    }
}

#[test]
fn simd_and_threaded_backends_give_the_scalar_bits() {
    use simlanes::ThreadConfig;
    // 19 members: two full f32x8 groups and a remainder of 3 on plain f32.
    let spec = first_members(&MprSpec::sweep_sized(5, 6, 420).unwrap(), 19);
    let want = sim().mpr(&spec).unwrap();
    for backend in [Backend::Simd, Backend::Threaded(ThreadConfig::new(2).with_tile(5))] {
        let got = Simulator::new(backend).unwrap().mpr(&spec).unwrap();
        assert_eq!(bits(&got.std_r), bits(&want.std_r), "{}", backend.name());
        let fb = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(fb(&got.final_state), fb(&want.final_state), "{}", backend.name());
    }
}
