//! Bad input, across the public API: every class of mistake the foundation issue lists
//! (NaN/inf parameters, probabilities outside [0, 1], zero or overflowing sizes, mismatched
//! lengths, dt <= 0, bad thread settings) is a typed error on every backend, and nothing is
//! written to caller-owned outputs. Per-workload details live in each `wN_*.rs`.

use simlanes::simcore::ParamError;
use simlanes::simcore::models::ou::OuParams;
use simlanes::workload::binomial::{BinomialSpec, Uniforms};
use simlanes::workload::jansen_rit::JansenRitSpec;
use simlanes::workload::mpr::MprSpec;
use simlanes::workload::ou::OuSpec;
use simlanes::workload::pi::PiSpec;
use simlanes::{Backend, SimError, Simulator, ThreadConfig};

fn cpu_backends() -> Vec<Simulator> {
    [Backend::Scalar, Backend::Simd, Backend::Threaded(ThreadConfig::new(2))]
        .into_iter()
        .map(|b| Simulator::new(b).expect("CPU backends start"))
        .collect()
}

fn param(e: SimError) -> ParamError {
    match e {
        SimError::Param(p) => p,
        other => panic!("expected a parameter error, got {other:?}"),
    }
}

#[test]
fn zero_sizes_are_rejected_by_name() {
    for sim in cpu_backends() {
        let e = sim.pi(&PiSpec { seed: 0, pairs_per_estimate: 10, estimates: 0, jax_key: None }).unwrap_err();
        assert_eq!(param(e), ParamError::ZeroSize { name: "estimates" });
        let e = sim.pi(&PiSpec { seed: 0, pairs_per_estimate: 0, estimates: 3, jax_key: None }).unwrap_err();
        assert!(matches!(param(e), ParamError::ZeroSize { .. }));
        let ou = OuSpec { seed: 0, num_sim: 0, num_steps: 10, params: OuParams::default(), jax_key: None };
        assert!(matches!(param(sim.ou_final(&ou).unwrap_err()), ParamError::ZeroSize { .. }));
    }
}

#[test]
fn overflowing_sizes_are_rejected() {
    for sim in cpu_backends() {
        let e = sim.pi(&PiSpec {
            seed: 0,
            pairs_per_estimate: u64::from(u32::MAX) + 1,
            estimates: 1,
            jax_key: None,
        });
        assert!(matches!(param(e.unwrap_err()), ParamError::TooLarge { .. }));
        let ou = OuSpec {
            seed: 0,
            num_sim: usize::MAX,
            num_steps: usize::MAX,
            params: OuParams::default(),
            jax_key: None,
        };
        let mut out = [0.0; 4];
        assert!(matches!(param(sim.ou_path(&ou, &mut out).unwrap_err()), ParamError::TooLarge { .. }));
        assert_eq!(out, [0.0; 4], "nothing written on error");
    }
}

#[test]
fn non_finite_and_non_positive_parameters_are_rejected() {
    for sim in cpu_backends() {
        let bad = |params| OuSpec { seed: 0, num_sim: 2, num_steps: 3, params, jax_key: None };
        let nan_sigma = bad(OuParams { sigma: f64::NAN, ..OuParams::default() });
        assert!(matches!(param(sim.ou_final(&nan_sigma).unwrap_err()), ParamError::NotFinite { .. }));
        let zero_dt = bad(OuParams { dt: 0.0, ..OuParams::default() });
        assert!(matches!(param(sim.ou_final(&zero_dt).unwrap_err()), ParamError::NotPositive { .. }));
        let neg_dt = bad(OuParams { dt: -0.1, ..OuParams::default() });
        assert!(matches!(param(sim.ou_final(&neg_dt).unwrap_err()), ParamError::NotPositive { .. }));

        let mut jr = JansenRitSpec::with_size(0, 2, 4, 3).expect("small spec");
        jr.dt = 0.0;
        assert!(sim.jansen_rit(&jr).is_err(), "dt = 0 must be rejected");
        let mut jr = JansenRitSpec::with_size(0, 2, 4, 3).expect("small spec");
        jr.mu = vec![f32::NAN];
        assert!(sim.jansen_rit(&jr).is_err(), "NaN mu must be rejected");

        let mut mpr = MprSpec::sweep_sized(0, 2, 420).expect("small sweep");
        mpr.sigma = f32::INFINITY;
        assert!(sim.mpr(&mpr).is_err(), "infinite sigma must be rejected");

        // Finite parameters whose derived constants overflow f32 gave NaN states: now the
        // constant is named.
        let not_finite = |e: SimError| match param(e) {
            ParamError::NotFinite { name, .. } => name,
            other => panic!("expected NotFinite, got {other:?}"),
        };
        let mut jr = JansenRitSpec::with_size(0, 2, 4, 3).expect("small spec");
        jr.params.A = 3e38;
        jr.params.a = 100.0;
        assert_eq!(not_finite(sim.jansen_rit(&jr).unwrap_err()), "A*a");
        let mut jr = JansenRitSpec::with_size(0, 2, 4, 3).expect("small spec");
        jr.params.a = 1e20;
        assert_eq!(not_finite(sim.jansen_rit(&jr).unwrap_err()), "a*a");
        let mut jr = JansenRitSpec::with_size(0, 2, 4, 3).expect("small spec");
        (jr.sigma, jr.dt) = (3e38, 4.0);
        assert_eq!(not_finite(sim.jansen_rit(&jr).unwrap_err()), "sigma*sqrt(dt)");
        for (tau, name) in [(1e-40f32, "1/tau"), (1e20, "pi^2*tau^2")] {
            let mut mpr = MprSpec::sweep_sized(0, 2, 420).expect("small sweep");
            mpr.params.tau = tau;
            assert_eq!(not_finite(sim.mpr(&mpr).unwrap_err()), name, "tau {tau}");
        }
        // The drift's per-member constant `eta + I` (it ran, and reported std_r = 0).
        let mut mpr = MprSpec::sweep_sized(0, 2, 420).expect("small sweep");
        mpr.params.I = 3e38;
        mpr.eta = vec![3e38; mpr.batch];
        assert_eq!(not_finite(sim.mpr(&mpr).unwrap_err()), "eta+I");
    }
}

#[test]
fn probabilities_outside_the_unit_interval_are_rejected() {
    let spec = BinomialSpec { seed: 0, theta: vec![0.0; 4], d: 4, n: 2, sims: 16, null_truth: None };
    for sim in cpu_backends() {
        for alpha in [0.0, 1.0, -0.1, 1.5, f64::NAN] {
            let e = sim.binomial_calibrate(&spec, alpha, Uniforms::Fused).unwrap_err();
            assert!(
                matches!(param(e), ParamError::NotOpenProbability { name: "alpha", .. }),
                "alpha {alpha}"
            );
        }
        let e = sim.binomial_validate(&spec, f64::NAN, Uniforms::Fused).unwrap_err();
        assert!(matches!(param(e), ParamError::NotFinite { name: "lambda", .. }));
    }
}

#[test]
fn mismatched_lengths_are_shape_errors() {
    for sim in cpu_backends() {
        let ou = OuSpec { seed: 0, num_sim: 3, num_steps: 5, params: OuParams::default(), jax_key: None };
        let mut out = vec![7.0; 17];
        let e = sim.ou_path(&ou, &mut out).unwrap_err();
        assert!(matches!(e, SimError::Shape { name: "out", expected: 18, got: 17 }), "{e:?}");
        assert!(out.iter().all(|&x| x == 7.0), "nothing written on error");
        let e = sim.ou_with_normals(&ou, &[0.0; 14]).unwrap_err();
        assert!(matches!(e, SimError::Shape { name: "z", expected: 15, got: 14 }), "{e:?}");

        let spec = BinomialSpec { seed: 0, theta: vec![0.0; 8], d: 4, n: 2, sims: 4, null_truth: None };
        let short = vec![0.5f32; 4 * 2 * 4 - 1];
        assert!(sim.binomial_validate(&spec, 0.5, Uniforms::Pregenerated(&short)).is_err());
        // Pregenerated uniforms must be uniforms: NaN or a value outside [0, 1] would count
        // silently as below every p, or below none.
        for bad in [f32::NAN, -0.25, 1.5, f32::INFINITY] {
            let mut u = vec![0.5f32; 4 * 2 * 4];
            u[13] = bad;
            for e in [
                sim.binomial_validate(&spec, 0.5, Uniforms::Pregenerated(&u)).unwrap_err(),
                sim.binomial_calibrate(&spec, 0.25, Uniforms::Pregenerated(&u)).unwrap_err(),
            ] {
                assert!(matches!(param(e), ParamError::NotProbability { name: "uniforms", .. }), "{bad}");
            }
        }
        let ragged = BinomialSpec { theta: vec![0.0; 7], ..spec };
        assert!(sim.binomial_validate(&ragged, 0.5, Uniforms::Fused).is_err());

        let mut jr = JansenRitSpec::with_size(0, 3, 4, 2).expect("small spec");
        jr.weights.pop();
        assert!(matches!(sim.jansen_rit(&jr).unwrap_err(), SimError::Shape { .. }));
    }
}

#[test]
fn bad_thread_settings_are_rejected_before_any_work() {
    let e = Simulator::new(Backend::Threaded(ThreadConfig::new(0))).unwrap_err();
    assert_eq!(param(e), ParamError::ZeroSize { name: "threads" });
    let e = Simulator::new(Backend::Threaded(ThreadConfig::new(2).with_tile(0))).unwrap_err();
    assert_eq!(param(e), ParamError::ZeroSize { name: "tile" });
}

#[test]
fn a_tile_larger_than_the_batch_is_one_tile() {
    // Tiles near usize::MAX were rounded up to whole groups and wrapped to 0: the threaded
    // W2 final state then left its full groups at 0.0.
    let spec = OuSpec { seed: 0, num_sim: 20, num_steps: 3, params: OuParams::default(), jax_key: None };
    let want = Simulator::new(Backend::Simd).expect("simd").ou_final(&spec).expect("ou");
    for tile in [usize::MAX, usize::MAX - 3, usize::MAX - 6, 1 << 40] {
        let sim = Simulator::new(Backend::Threaded(ThreadConfig::new(2).with_tile(tile))).expect("threaded");
        let got = sim.ou_final(&spec).expect("ou");
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&got), bits(&want), "tile {tile}");
        let pi = PiSpec { seed: 0, pairs_per_estimate: 100, estimates: 20, jax_key: None };
        assert_eq!(
            sim.pi(&pi).expect("pi").hits,
            Simulator::new(Backend::Simd).unwrap().pi(&pi).unwrap().hits
        );
    }
    // The default tile of an unchecked config with absurdly many threads does not overflow.
    let cfg = ThreadConfig { threads: usize::MAX / 4 + 1, tile: None, pin: false };
    assert!(cfg.tile_for(100, 64) >= 1);
}

#[test]
fn a_missing_gpu_is_a_typed_error_not_a_panic() {
    match Simulator::new(Backend::Gpu { device: 0 }) {
        Ok(sim) => {
            eprintln!("GPU present ({:?}): nothing to check here", sim.gpu().map(|g| &g.info().name));
        }
        Err(e) => {
            assert!(matches!(e, SimError::Gpu(_)), "{e:?}");
            assert!(!e.to_string().is_empty());
            eprintln!("no GPU here, as expected on CI: {e}");
        }
    }
}

/// Sizes that pass validation but no machine can hold are [`SimError::OutOfMemory`] before
/// any work, never an abort in the allocator or a "capacity overflow" panic.
#[test]
fn impossible_sizes_are_out_of_memory_errors_not_aborts() {
    use simlanes::workload::jax::JaxKey;
    let huge = 1usize << 40;
    let oom = |r: Result<(), SimError>, what: &str| match r {
        Err(SimError::OutOfMemory { .. }) => {}
        other => panic!("{what}: expected OutOfMemory, got {other:?}"),
    };
    for sim in cpu_backends() {
        let pi = PiSpec { seed: 0, pairs_per_estimate: 1, estimates: usize::MAX / 2, jax_key: None };
        oom(sim.pi(&pi).map(drop), "pi");
        let ou = OuSpec { seed: 0, num_sim: huge, num_steps: 1, params: OuParams::default(), jax_key: None };
        oom(sim.ou_final(&ou).map(drop), "ou_final");
        oom(sim.ou_final_parallel_in_time(&ou, 1).map(drop), "ou_final parallel in time");
        // Chunk sums of a few paths but absurdly many chunks.
        let long = OuSpec { num_sim: 1 << 20, num_steps: huge, ..ou };
        oom(sim.ou_final_parallel_in_time(&long, huge).map(drop), "chunk sums");
        oom(sim.binomial_fill_uniforms(0, huge, 1, 4).map(drop), "uniforms");
        let jr = JansenRitSpec::with_size(0, 1, 1, huge).expect("one node");
        oom(sim.jansen_rit(&jr).map(drop), "jansen_rit");
    }
    oom(simlanes::workload::jansen_rit::default_weights(0, 1 << 31).map(drop), "weights");
    let key = JaxKey::new(0).expect("key");
    oom(key.split(usize::MAX / 4).map(drop), "split");
    oom(simlanes::workload::jax::jax_uniform(key, &[huge]).map(drop), "jax array");
}
