//! The GPU kernels' bodies, run for every thread of an emulated grid on the host
//! (`simlanes::backend::gpu::emulator`), must equal the scalar oracle bit for bit: hit and
//! rejection counts exactly, f32/f64 results as bit patterns. This is what proves the
//! device code without a GPU — the PTX entry points only add the thread index, the bounds
//! check and the stores around these same bodies.

use simlanes::backend::gpu::emulator;
use simlanes::simcore::models::ou::OuParams;
use simlanes::simcore::rng::{NormalSeq, Stream};
use simlanes::workload::binomial::{BinomialSpec, Uniforms};
use simlanes::workload::ou::OuSpec;
use simlanes::workload::pi::PiSpec;
use simlanes::{Backend, Simulator};

fn scalar() -> Simulator {
    Simulator::new(Backend::Scalar).expect("the scalar backend always starts")
}

#[test]
fn pi_hits_equal_scalar_for_partial_blocks_and_odd_pairs() {
    // Grid sizes around the block size (256) exercise the bounds check; odd pair counts
    // the half Philox block.
    for (estimates, pairs) in [(1usize, 1u64), (255, 7), (256, 100), (257, 1001), (600, 64)] {
        for seed in [0u64, 0xdead_beef_0123_4567] {
            let want = scalar()
                .pi(&PiSpec { seed, pairs_per_estimate: pairs, estimates, jax_key: None })
                .unwrap()
                .hits;
            let mut got = vec![u32::MAX; estimates];
            emulator::pi_hits(&mut got, seed, 0, pairs);
            let got: Vec<u64> = got.into_iter().map(u64::from).collect();
            assert_eq!(got, want, "estimates {estimates} pairs {pairs} seed {seed}");
        }
    }
}

#[test]
fn pi_hits_with_an_offset_first_stream() {
    let want =
        scalar().pi(&PiSpec { seed: 3, pairs_per_estimate: 50, estimates: 40, jax_key: None }).unwrap().hits;
    let mut got = vec![0u32; 30];
    emulator::pi_hits(&mut got, 3, 10, 50);
    assert!(got.iter().zip(&want[10..]).all(|(&g, &w)| u64::from(g) == w));
}

#[test]
fn uniforms_and_normals_follow_the_stream_contract() {
    let (n, count) = (300usize, 7u32);
    let mut u = vec![f32::NAN; n * count as usize];
    let mut z = vec![f32::NAN; n * count as usize];
    emulator::fill_uniforms(&mut u, 11, 5, count);
    emulator::fill_normals(&mut z, 11, 5, count);
    for i in 0..n {
        let stream = Stream::<f32>::consecutive(11, 5 + i as u64);
        let mut seq = NormalSeq::new(stream, 0);
        for j in 0..count as usize {
            assert_eq!(
                u[i * count as usize + j].to_bits(),
                stream.uniform(j as u64).to_bits(),
                "u[{i}][{j}]"
            );
            assert_eq!(z[i * count as usize + j].to_bits(), seq.next().to_bits(), "z[{i}][{j}]");
        }
    }
    // The uniform rows are W3's pregenerated `[s][k][a]` layout.
    let mut w3 = vec![0f32; 300 * 8];
    simlanes::simcore::models::binomial::fill_uniforms(4, 0, 8, &mut w3);
    let mut emu = vec![0f32; 300 * 8];
    emulator::fill_uniforms(&mut emu, 4, 0, 8);
    assert_eq!(emu, w3);
}

fn ou_spec(num_sim: usize, num_steps: usize, seed: u64) -> OuSpec {
    OuSpec { seed, num_sim, num_steps, params: OuParams::default(), jax_key: None }
}

#[test]
fn ou_final_path_and_caller_normals_equal_scalar_bits() {
    for (num_sim, num_steps) in [(1usize, 0usize), (3, 1), (257, 40), (20, 333)] {
        let spec = ou_spec(num_sim, num_steps, 9);
        let c = spec.params.coeffs_f64();
        let x0 = spec.params.x0;

        let want = scalar().ou_final(&spec).unwrap();
        let mut got = vec![f64::NAN; num_sim];
        emulator::ou_final(&mut got, 9, 0, num_steps as u64, x0, c.relax, c.diffuse);
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&got), bits(&want), "final, {num_sim} × {num_steps}");

        let len = spec.path_len().unwrap();
        let mut want_path = vec![0f64; len];
        scalar().ou_path(&spec, &mut want_path).unwrap();
        let mut got_path = vec![f64::NAN; len];
        emulator::ou_path(&mut got_path, 9, 0, num_steps as u64, x0, c.relax, c.diffuse);
        assert_eq!(bits(&got_path), bits(&want_path), "path, {num_sim} × {num_steps}");

        let z: Vec<f64> =
            (0..num_steps * num_sim).map(|k| ((k * 7919) % 1000) as f64 / 250.0 - 2.0).collect();
        let want_c = scalar().ou_with_normals(&spec, &z).unwrap();
        let mut got_c = vec![f64::NAN; num_sim];
        emulator::ou_with_normals(&mut got_c, &z, num_steps as u64, x0, c.relax, c.diffuse);
        assert_eq!(bits(&got_c), bits(&want_c), "caller normals, {num_sim} × {num_steps}");
    }
}

/// W2 parallel in time: the `ou_chunk_sums` kernel bodies, stitched by the host, give the
/// CPU backends' bits for every chunking — Philox streams and JAX keys under both layouts,
/// grids of one to several blocks, short last chunks, a single chunk.
#[test]
fn ou_chunk_sums_stitched_equal_the_cpu_parallel_in_time_bits() {
    use simlanes::backend::simd::ou::{Chunking, stitch_final_states};
    use simlanes::workload::jax::{JaxKey, Layout};
    let threads = Simulator::new(Backend::Threaded(simlanes::ThreadConfig::new(2))).expect("threads");
    let keys = [
        None,
        Some(JaxKey::new(5).unwrap().with_layout(Layout::Partitionable)),
        Some(JaxKey::new(6).unwrap().with_layout(Layout::Legacy)),
    ];
    for jax_key in keys {
        for (num_sim, num_steps, chunks) in
            [(3usize, 1000usize, 7usize), (9, 4001, 64), (2, 37, 1), (1, 10, 3)]
        {
            let spec = OuSpec { jax_key, ..ou_spec(num_sim, num_steps, 21) };
            let ch = Chunking::new(num_steps, chunks).expect("steps > 0");
            let mut y = vec![f64::NAN; num_sim * ch.count];
            emulator::ou_chunk_sums(&mut y, &spec, &ch);
            let got = stitch_final_states(&spec, &ch, &y);
            let want = scalar().ou_final_parallel_in_time(&spec, chunks).unwrap();
            assert_eq!(want, threads.ou_final_parallel_in_time(&spec, chunks).unwrap());
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            let what = format!("{num_sim} × {num_steps}, {chunks} chunks, key {jax_key:?}");
            assert_eq!(bits(&got), bits(&want), "{what}");
            // Not trivially equal: the chunks carry the noise (and differ from one chunk).
            assert!(got.iter().all(|x| x.is_finite() && *x != 0.0), "{what}: {got:?}");
        }
    }
}

fn binomial_spec(grid: usize, n: usize, sims: usize, null_truth: Option<Vec<bool>>) -> BinomialSpec {
    // θ spread over [-1.5, 1.5] so that p covers about (0.18, 0.82) and counts vary.
    let d = 4;
    let theta = (0..grid * d).map(|k| ((k * 37) % 61) as f64 / 20.0 - 1.5).collect();
    BinomialSpec { seed: 17, theta, d, n, sims, null_truth }
}

#[test]
fn binomial_validate_fused_and_pregenerated_equal_scalar() {
    let sim = scalar();
    // 19 points: two full tiles of 8 and a partial one; S not a multiple of any chunk.
    let truth: Vec<bool> = (0..19).map(|g| g % 5 != 3).collect();
    for (n, sims) in [(1usize, 1000usize), (5, 333), (150, 41)] {
        let spec = binomial_spec(19, n, sims, Some(truth.clone()));
        let u = sim.binomial_fill_uniforms(spec.seed, sims, n, spec.d).unwrap();
        for lambda in [0.5f64, 0.45] {
            let want = sim.binomial_validate(&spec, lambda, Uniforms::Fused).unwrap();
            // A comparison that can fail: some points reject some but not all simulations.
            assert!(want.iter().any(|&r| r > 0 && r < sims as u64), "trivial counts {want:?}");
            let want_pre = sim.binomial_validate(&spec, lambda, Uniforms::Pregenerated(&u)).unwrap();
            assert_eq!(want, want_pre);
            for spt in [1u32, 7, 64, u32::MAX] {
                let fused = spec.plan(Uniforms::Fused).unwrap();
                let got = emulator::binomial_validate_plan(&fused, lambda as f32, spt).unwrap();
                assert_eq!(got, want, "fused n {n} S {sims} λ {lambda} spt {spt}");
                let pre = spec.plan(Uniforms::Pregenerated(&u)).unwrap();
                let got = emulator::binomial_validate_plan(&pre, lambda as f32, spt).unwrap();
                assert_eq!(got, want, "pregenerated n {n} S {sims} λ {lambda} spt {spt}");
            }
        }
    }
}

#[test]
fn binomial_validate_with_no_active_points_is_all_zero() {
    let spec = binomial_spec(3, 2, 10, Some(vec![false; 3]));
    let plan = spec.plan(Uniforms::Fused).unwrap();
    assert_eq!(emulator::binomial_validate_plan(&plan, 0.5, 4).unwrap(), vec![0, 0, 0]);
}

#[test]
fn jansen_rit_instantaneous_and_delayed_equal_scalar_bits() {
    use simlanes::workload::jansen_rit::JansenRitSpec;
    let sim = scalar();
    // B = 11 members (not a block or SIMD multiple), per-member k and mu, a non-zero
    // initial state, noise on; then the same with the default lags (W4d).
    let mut spec = JansenRitSpec::with_size(21, 5, 60, 11).unwrap();
    spec.k = (0..11).map(|b| 0.002 * b as f32).collect();
    spec.mu = (0..11).map(|b| 0.1 + 0.02 * b as f32).collect();
    spec.sigma = 0.05;
    let len = spec.state_len().unwrap();
    spec.initial = Some((0..len).map(|e| ((e * 13) % 29) as f32 / 10.0 - 1.0).collect());
    let delayed = spec.clone().with_default_lags().unwrap();
    for s in [&spec, &delayed] {
        let want = sim.jansen_rit(s).unwrap();
        let got = emulator::jansen_rit(s).unwrap();
        assert_eq!(got.len(), want.len());
        let differ = got.iter().zip(&want).filter(|(g, w)| g.to_bits() != w.to_bits()).count();
        assert_eq!(differ, 0, "delayed = {}: {differ} of {} elements differ", s.lags.is_some(), want.len());
        // The run did something: states moved away from the initial ones.
        assert!(want.iter().zip(s.initial.as_ref().unwrap()).any(|(a, b)| a != b));
    }
}

#[test]
fn jansen_rit_bad_spec_is_a_typed_error() {
    use simlanes::SimError;
    use simlanes::workload::jansen_rit::JansenRitSpec;
    let mut spec = JansenRitSpec::with_size(0, 3, 4, 2).unwrap();
    spec.k = vec![0.1, 0.2, 0.3];
    assert!(matches!(emulator::jansen_rit(&spec), Err(SimError::Shape { name: "k", .. })));
}

#[test]
fn mpr_statistic_and_final_state_equal_scalar_bits() {
    use simlanes::workload::mpr::MprSpec;
    // The W5 sweep (k × eta grid, B = 1152) on a small network and the shortest run.
    let mut spec = MprSpec::sweep_sized(5, 3, 410).unwrap();
    // Keep the test quick: every 8th sweep member.
    spec.k = spec.k.iter().step_by(8).copied().collect();
    spec.eta = spec.eta.iter().step_by(8).copied().collect();
    spec.batch = spec.k.len();
    let want = scalar().mpr(&spec).unwrap();
    let got = emulator::mpr(&spec).unwrap();
    let bits64 = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    let bits32 = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits64(&got.std_r), bits64(&want.std_r));
    assert_eq!(bits32(&got.final_state), bits32(&want.final_state));
    assert!(want.std_r.iter().all(|s| s.is_finite() && *s > 0.0), "{:?}", &want.std_r[..4]);
}
