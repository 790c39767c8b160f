//! Backend agreement: every workload gives the same answer on every backend — integer
//! counts exactly, floats bit for bit — for random seeds, batch sizes around the SIMD
//! width (1, lanes − 1, lanes, lanes + 1 and random; 16 lanes for W1's `f32x16`, 8 for
//! the other f32 workloads, 4 for W2's `f64x4`), thread counts 1–3 and tile sizes.
//!
//! Written once: each property runs the workload on [`Backend::Scalar`] (the oracle) and
//! on every other backend of [`backends`], and compares. Sizes are small and cases few so
//! that the whole file runs in seconds on 2 cores.

use proptest::prelude::*;
use simlanes::simcore::models::ou::OuParams;
use simlanes::workload::binomial::{BinomialSpec, Uniforms};
use simlanes::workload::jansen_rit::JansenRitSpec;
use simlanes::workload::mpr::MprSpec;
use simlanes::workload::ou::OuSpec;
use simlanes::workload::pi::PiSpec;
use simlanes::{Backend, Simulator, ThreadConfig};

/// The backends compared with the scalar oracle: SIMD, and threaded with `threads`
/// workers and `tile` simulations per tile (`None` = default tiles).
fn backends(threads: usize, tile: Option<usize>) -> Vec<Simulator> {
    let cfg = ThreadConfig { threads, tile, pin: false };
    [Backend::Simd, Backend::Threaded(cfg)]
        .into_iter()
        .map(|b| Simulator::new(b).unwrap_or_else(|e| panic!("{b:?}: {e}")))
        .collect()
}

fn scalar() -> Simulator {
    Simulator::default()
}

/// Batch sizes around a SIMD width of `lanes`, and random ones.
fn batch(lanes: usize) -> impl Strategy<Value = usize> {
    prop_oneof![Just(1), Just(lanes - 1), Just(lanes), Just(lanes + 1), 1..5 * lanes]
}

fn threads() -> impl Strategy<Value = usize> {
    1usize..=3
}

fn tile() -> impl Strategy<Value = Option<usize>> {
    prop_oneof![Just(None), (1usize..20).prop_map(Some)]
}

fn bits32(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn bits64(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn w1_pi_agrees(seed in any::<u64>(), estimates in batch(16), pairs in 1u64..64, th in threads(), tl in tile()) {
        let spec = PiSpec { seed, pairs_per_estimate: pairs, estimates, jax_key: None };
        let want = scalar().pi(&spec).expect("valid spec");
        for sim in backends(th, tl) {
            let got = sim.pi(&spec).expect("valid spec");
            prop_assert_eq!(&got.hits, &want.hits, "{:?}", sim.backend());
            prop_assert_eq!(bits64(&got.estimates), bits64(&want.estimates));
            prop_assert_eq!(got.mean.to_bits(), want.mean.to_bits());
        }
    }

    #[test]
    fn w2_ou_agrees(
        seed in any::<u64>(),
        num_sim in batch(4),
        num_steps in 0usize..24,
        x0 in -3.0f64..3.0,
        th in threads(),
        tl in tile(),
    ) {
        let spec = OuSpec { seed, num_sim, num_steps, params: OuParams { x0, ..OuParams::default() }, jax_key: None };
        let s = scalar();
        let want_final = s.ou_final(&spec).expect("valid spec");
        let mut want_path = vec![0.0; spec.path_len().expect("fits")];
        s.ou_path(&spec, &mut want_path).expect("valid spec");
        // Mode (c) on normals that are not a stream's (so the layout [t][sim] matters).
        let z: Vec<f64> = (0..num_steps * num_sim).map(|j| ((j * 7919 % 1013) as f64 - 506.0) / 97.0).collect();
        let want_c = s.ou_with_normals(&spec, &z).expect("valid spec");
        // The path's last row is the final state.
        prop_assert_eq!(bits64(&want_path[num_steps * num_sim..]), bits64(&want_final));
        for sim in backends(th, tl) {
            prop_assert_eq!(bits64(&sim.ou_final(&spec).expect("valid")), bits64(&want_final), "{:?}", sim.backend());
            let mut path = vec![f64::NAN; want_path.len()];
            sim.ou_path(&spec, &mut path).expect("valid spec");
            prop_assert_eq!(bits64(&path), bits64(&want_path));
            prop_assert_eq!(bits64(&sim.ou_with_normals(&spec, &z).expect("valid")), bits64(&want_c));
        }
    }

    #[test]
    fn w3_binomial_agrees(
        seed in any::<u64>(),
        sims in batch(8),
        grid in 1usize..5,
        d in 1usize..5,
        n in 1usize..7,
        null_mask in any::<u8>(),
        lambda in 0.2f64..0.8,
        alpha in 0.05f64..0.95,
        th in threads(),
        tl in tile(),
    ) {
        let theta: Vec<f64> = (0..grid * d).map(|j| ((seed >> (j % 61)) % 1000) as f64 / 250.0 - 2.0).collect();
        let null_truth = Some((0..grid).map(|g| g == 0 || null_mask >> g & 1 == 1).collect());
        let spec = BinomialSpec { seed, theta, d, n, sims, null_truth };
        let s = scalar();
        let u = s.binomial_fill_uniforms(seed, sims, n, d).expect("valid shape");
        let want_rej = s.binomial_validate(&spec, lambda, Uniforms::Fused).expect("valid spec");
        let want_lam = s.binomial_calibrate(&spec, alpha, Uniforms::Fused).expect("valid spec");
        // Fused and pregenerated agree on the oracle too.
        prop_assert_eq!(&s.binomial_validate(&spec, lambda, Uniforms::Pregenerated(&u)).expect("valid"), &want_rej);
        for sim in backends(th, tl) {
            let b = sim.backend();
            prop_assert_eq!(bits32(&sim.binomial_fill_uniforms(seed, sims, n, d).expect("valid")), bits32(&u), "{:?}", b);
            for src in [Uniforms::Fused, Uniforms::Pregenerated(&u)] {
                prop_assert_eq!(&sim.binomial_validate(&spec, lambda, src).expect("valid"), &want_rej, "{:?}", b);
                let lam = sim.binomial_calibrate(&spec, alpha, src).expect("valid");
                prop_assert_eq!(bits32(&lam), bits32(&want_lam), "{:?}", b);
            }
        }
    }
}

proptest! {
    // The network models cost more per case: fewer cases, tiny networks.
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn w4_jansen_rit_agrees(seed in any::<u64>(), b in batch(8), nn in 1usize..4, delays in any::<bool>(), th in threads(), tl in tile()) {
        let mut spec = JansenRitSpec::with_size(seed, nn, 6, b).expect("valid size");
        spec.sigma = 0.1; // noise visible at f32 resolution within 6 steps
        spec.k = (0..b).map(|i| 0.01 + i as f32 * 1e-3).collect();
        if delays {
            spec = spec.with_default_lags().expect("valid size");
        }
        let want = scalar().jansen_rit(&spec).expect("valid spec");
        for sim in backends(th, tl) {
            prop_assert_eq!(bits32(&sim.jansen_rit(&spec).expect("valid")), bits32(&want), "{:?}", sim.backend());
        }
    }

    #[test]
    fn w5_mpr_agrees(seed in any::<u64>(), b in batch(8), nn in 1usize..4, th in threads(), tl in tile()) {
        let mut spec = MprSpec::sweep_sized(seed, nn, 401).expect("valid size");
        spec.batch = b;
        spec.k = (0..b).map(|i| (2.0 * (i % 32) as f64 / 31.0) as f32).collect();
        // Members from across the sweep grid, not only its first row.
        spec.eta = (0..b).map(|i| -6.0 + 3.0 * (i % 36) as f32 / 35.0).collect();
        let want = scalar().mpr(&spec).expect("valid spec");
        for sim in backends(th, tl) {
            let got = sim.mpr(&spec).expect("valid spec");
            prop_assert_eq!(bits64(&got.std_r), bits64(&want.std_r), "{:?}", sim.backend());
            prop_assert_eq!(bits32(&got.final_state), bits32(&want.final_state));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// W2 parallel in time: the bits depend on the chunk count only, not on the backend,
    /// the lane groups (1, 4 or 8 chunks per task) or the threads.
    #[test]
    fn w2_ou_parallel_in_time_agrees(
        seed in any::<u64>(), n in batch(4), steps in 0usize..400, chunks in 1usize..40, th in threads(),
    ) {
        let spec = OuSpec { seed, num_sim: n, num_steps: steps, params: OuParams::default(), jax_key: None };
        let want = scalar().ou_final_parallel_in_time(&spec, chunks).expect("valid spec");
        for sim in backends(th, None) {
            let got = sim.ou_final_parallel_in_time(&spec, chunks).expect("valid spec");
            prop_assert_eq!(bits64(&got), bits64(&want), "{:?}", sim.backend());
        }
    }
}

/// W4/W5 on networks big enough for the blocked coupling (`nn = 11`: blocks of 8 rows on
/// `f32x8`, of 4 rows on `f32x16`, and remainders) and batches that use `f32x16`, `f32x8`
/// and single-member groups (16 + 8 + 3).
#[test]
fn w4_w5_wide_groups_and_row_blocks_agree() {
    let b = 27;
    for delays in [false, true] {
        let mut spec = JansenRitSpec::with_size(7, 11, 6, b).expect("valid size");
        spec.sigma = 0.1;
        spec.k = (0..b).map(|i| 0.01 + i as f32 * 1e-3).collect();
        if delays {
            spec = spec.with_default_lags().expect("valid size");
        }
        let want = scalar().jansen_rit(&spec).expect("valid spec");
        for sim in backends(2, Some(19)) {
            assert_eq!(bits32(&sim.jansen_rit(&spec).expect("valid")), bits32(&want), "{:?}", sim.backend());
        }
    }
    let mut spec = MprSpec::sweep_sized(5, 11, 401).expect("valid size");
    spec.batch = b;
    spec.k = (0..b).map(|i| (2.0 * (i % 32) as f64 / 31.0) as f32).collect();
    spec.eta = (0..b).map(|i| -6.0 + 3.0 * (i % 36) as f32 / 35.0).collect();
    let want = scalar().mpr(&spec).expect("valid spec");
    for sim in backends(2, None) {
        let got = sim.mpr(&spec).expect("valid spec");
        assert_eq!(bits64(&got.std_r), bits64(&want.std_r), "{:?}", sim.backend());
        assert_eq!(bits32(&got.final_state), bits32(&want.final_state));
    }
}

/// W4 batches that make fewer tiles than threads: the threaded backend splits each
/// group's nodes across threads (2 or 3 of them: at least 8 nodes each) and must give the
/// scalar bits — one member (an `f32` group), 7 (single members), 8, 9 and 12 (an
/// `f32x8` group and single members), 16 (`f32x16`), and 40 (three tiles: tiles
/// instead); instantaneous and delayed coupling; Philox and JAX noise.
#[test]
fn w4_small_batches_split_across_nodes_agree() {
    use simlanes::workload::jax::JaxKey;
    for (b, threads) in [(1, 2), (7, 3), (12, 2), (8, 2), (9, 3), (16, 2), (40, 2)] {
        for delays in [false, true] {
            for jax in [false, true] {
                let mut spec = JansenRitSpec::with_size(b as u64, 24, 30, b).expect("valid size");
                spec.sigma = 0.1;
                spec.k = (0..b).map(|i| 0.01 + i as f32 * 1e-3).collect();
                if delays {
                    spec = spec.with_default_lags().expect("valid size");
                }
                if jax {
                    spec.jax_key = Some(JaxKey::new(b as i128).expect("key"));
                }
                let want = scalar().jansen_rit(&spec).expect("valid spec");
                for sim in backends(threads, None) {
                    let got = sim.jansen_rit(&spec).expect("valid");
                    assert_eq!(
                        bits32(&got),
                        bits32(&want),
                        "B={b} delays={delays} jax={jax} {:?}",
                        sim.backend()
                    );
                }
            }
        }
    }
}

/// W5 batches that make fewer tiles than threads: nodes split across threads, the
/// statistic's thread fed every node's state from step 401 on; scalar bits for `std_r`
/// and the final state, Philox and JAX noise.
#[test]
fn w5_small_batches_split_across_nodes_agree() {
    use simlanes::workload::jax::JaxKey;
    for (b, threads) in [(1, 2), (8, 2), (12, 2), (9, 3), (16, 2)] {
        for jax in [false, true] {
            let mut spec = MprSpec::sweep_sized(b as u64, 24, 420).expect("valid size");
            spec.batch = b;
            spec.k = (0..b).map(|i| (2.0 * (i % 32) as f64 / 31.0) as f32).collect();
            spec.eta = (0..b).map(|i| -6.0 + 3.0 * (i % 36) as f32 / 35.0).collect();
            if jax {
                spec.jax_key = Some(JaxKey::new(b as i128).expect("key"));
            }
            let want = scalar().mpr(&spec).expect("valid spec");
            for sim in backends(threads, None) {
                let got = sim.mpr(&spec).expect("valid spec");
                let what = format!("B={b} jax={jax} {:?}", sim.backend());
                assert_eq!(bits64(&got.std_r), bits64(&want.std_r), "{what}");
                assert_eq!(bits32(&got.final_state), bits32(&want.final_state), "{what}");
            }
        }
    }
}

#[test]
fn bad_thread_settings_are_typed_errors() {
    use simlanes::SimError;
    use simlanes::simcore::ParamError;
    let zero = Simulator::new(Backend::Threaded(ThreadConfig::new(0)));
    assert!(matches!(zero, Err(SimError::Param(ParamError::ZeroSize { name: "threads" }))));
    let tile0 = Simulator::new(Backend::Threaded(ThreadConfig::new(2).with_tile(0)));
    assert!(matches!(tile0, Err(SimError::Param(ParamError::ZeroSize { name: "tile" }))));
}
