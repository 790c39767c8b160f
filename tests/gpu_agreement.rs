//! CPU/GPU agreement on a real GPU: every kernel against the scalar oracle (counts exact,
//! floats bit for bit). Without a CUDA driver or device the test prints
//! `SKIP: no CUDA driver (...)` / `SKIP: ...` and passes — the emulator tests
//! (`gpu_emulator`) still prove the kernel bodies on every machine.

use simlanes::backend::gpu::{Gpu, GpuError};
use simlanes::simcore::models::ou::OuParams;
use simlanes::simcore::rng::{NormalSeq, Stream};
use simlanes::workload::binomial::{BinomialSpec, Uniforms};
use simlanes::workload::ou::OuSpec;
use simlanes::workload::pi::PiSpec;
use simlanes::{Backend, SimError, Simulator};

fn gpu_or_skip() -> Option<Gpu> {
    match Gpu::new(0) {
        Ok(g) => {
            let i = g.info();
            println!(
                "GPU: {} (cc {}.{}, {} SMs, {:.0} GB/s theoretical, {} PTX)",
                i.name,
                i.compute_capability.0,
                i.compute_capability.1,
                i.multiprocessors,
                i.theoretical_bandwidth() / 1e9,
                i.ptx_arch
            );
            Some(g)
        }
        Err(e @ GpuError::NoDriver) => {
            eprintln!("SKIP: no CUDA driver ({e})");
            None
        }
        // No device, or one older than the kernels' sm_80: nothing to run on.
        Err(e @ (GpuError::NoDevice { .. } | GpuError::Unsupported { .. })) => {
            eprintln!("SKIP: no usable GPU ({e})");
            None
        }
        // A device is there but does not open (PTX rejected, context, out of memory): that
        // is a failure to report, not a machine without a GPU.
        Err(e) => panic!("a GPU is present but the backend does not start: {e}"),
    }
}

fn scalar() -> Simulator {
    Simulator::new(Backend::Scalar).expect("the scalar backend always starts")
}

#[test]
fn gpu_agrees_with_scalar_on_every_kernel() {
    let Some(gpu) = gpu_or_skip() else { return };

    // W1, around the block size and with odd pairs.
    for (estimates, pairs) in [(1usize, 1u64), (257, 1001), (5000, 2000)] {
        let spec = PiSpec { seed: 42, pairs_per_estimate: pairs, estimates, jax_key: None };
        assert_eq!(gpu.pi(&spec).unwrap(), scalar().pi(&spec).unwrap().hits, "pi {estimates} × {pairs}");
    }

    // Uniforms and Box–Muller normals (exp/ln/sin/cos on the device).
    let (n, count) = (1000usize, 16u32);
    let u = gpu.uniforms(5, 0, n, count).unwrap();
    let z = gpu.normals(5, 0, n, count).unwrap();
    for i in 0..n {
        let stream = Stream::<f32>::consecutive(5, i as u64);
        let mut seq = NormalSeq::new(stream, 0);
        for j in 0..count as usize {
            assert_eq!(u[i * count as usize + j].to_bits(), stream.uniform(j as u64).to_bits());
            assert_eq!(z[i * count as usize + j].to_bits(), seq.next().to_bits(), "normal {j} of stream {i}");
        }
    }

    // W2, f64 on the device.
    let spec = OuSpec { seed: 1, num_sim: 300, num_steps: 500, params: OuParams::default(), jax_key: None };
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&gpu.ou_final(&spec).unwrap()), bits(&scalar().ou_final(&spec).unwrap()));
    let mut got = vec![0f64; spec.path_len().unwrap()];
    let mut want = got.clone();
    gpu.ou_path(&spec, &mut got).unwrap();
    scalar().ou_path(&spec, &mut want).unwrap();
    assert_eq!(bits(&got), bits(&want));
    // In batches of simulations, as when a path exceeds device memory.
    let mut batched = vec![f64::NAN; got.len()];
    gpu.ou_path_in_batches(&spec, &mut batched, 7).unwrap();
    assert_eq!(bits(&batched), bits(&want), "ou_path in batches of 7");
    let zc: Vec<f64> = (0..spec.num_steps * spec.num_sim).map(|k| (k % 17) as f64 / 4.0 - 2.0).collect();
    assert_eq!(
        bits(&gpu.ou_with_normals(&spec, &zc).unwrap()),
        bits(&scalar().ou_with_normals(&spec, &zc).unwrap())
    );

    // W2 parallel in time: one device thread per chunk, stitched on the host; the CPU
    // backends' bits for the same chunking (Philox, and a JAX key).
    let gpu_sim = Simulator::new(Backend::Gpu { device: 0 }).expect("the GPU opened once already");
    for jax_key in [None, Some(simlanes::workload::jax::JaxKey::new(3).unwrap())] {
        let spec = OuSpec { seed: 2, num_sim: 5, num_steps: 100_003, params: OuParams::default(), jax_key };
        for chunks in [1usize, 64, 1000] {
            assert_eq!(
                bits(&gpu_sim.ou_final_parallel_in_time(&spec, chunks).unwrap()),
                bits(&scalar().ou_final_parallel_in_time(&spec, chunks).unwrap()),
                "W2 parallel in time, {chunks} chunks, key {jax_key:?}"
            );
        }
    }

    // W3 validate, fused and pregenerated.
    let theta = (0..37 * 4).map(|k| ((k * 37) % 61) as f64 / 20.0 - 1.5).collect();
    let spec = BinomialSpec { seed: 8, theta, d: 4, n: 5, sims: 4097, null_truth: None };
    let uni = scalar().binomial_fill_uniforms(8, 4097, 5, 4).unwrap();
    let want = scalar().binomial_validate(&spec, 0.5, Uniforms::Fused).unwrap();
    for src in [Uniforms::Fused, Uniforms::Pregenerated(&uni)] {
        let plan = spec.plan(src).unwrap();
        assert_eq!(gpu.binomial_validate(&plan, 0.5).unwrap(), want);
    }
}

/// A W2 path larger than the device's free memory runs in batches of simulations, sized
/// by `Gpu::ou_path` from the driver's free-memory figure, with the same bits. On a real
/// GPU this 25.6 MB path fits and runs in one launch; `.ci/run` also runs this test on the
/// libcuda stand-in with 16 MiB of device memory, where it takes three batches.
#[test]
fn ou_path_beyond_free_memory_runs_in_batches_with_the_same_bits() {
    let Some(gpu) = gpu_or_skip() else { return };
    let spec = OuSpec { seed: 6, num_sim: 64, num_steps: 50_000, params: OuParams::default(), jax_key: None };
    let len = spec.path_len().unwrap();
    let free = gpu.context().mem_get_info().expect("cuMemGetInfo").0;
    let how = if len * 8 > free / 4 * 3 { "in batches" } else { "in one launch" };
    println!("W2 path of {} bytes, {free} bytes free on the device: {how}", len * 8);
    let (mut got, mut want) = (vec![f64::NAN; len], vec![0f64; len]);
    gpu.ou_path(&spec, &mut got).unwrap();
    scalar().ou_path(&spec, &mut want).unwrap();
    assert!(got.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()), "W2 path {how}");
}

#[test]
fn bad_sizes_are_typed_errors_before_any_launch() {
    let Some(gpu) = gpu_or_skip() else { return };
    let spec = PiSpec { seed: 0, pairs_per_estimate: 0, estimates: 4, jax_key: None };
    assert!(matches!(gpu.pi(&spec), Err(SimError::Param(_))));
    // Zero estimates: a typed error, not the driver's refusal of a zero-byte allocation.
    assert!(matches!(gpu.pi_hits(0, 0, 0, 10), Err(SimError::Param(_))));
    assert!(matches!(gpu.uniforms(0, 0, 0, 4), Err(SimError::Param(_))));
    let spec = OuSpec { seed: 0, num_sim: 4, num_steps: 3, params: OuParams::default(), jax_key: None };
    let mut short = vec![0f64; 5];
    assert!(matches!(gpu.ou_path(&spec, &mut short), Err(SimError::Shape { name: "out", .. })));
}

#[test]
fn missing_driver_is_reported_not_panicked() {
    // On a machine without libcuda this is the path users hit; with a GPU it opens.
    match Gpu::new(0) {
        Ok(_) => {}
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.contains("install") || msg.contains("check") || msg.contains("update"), "{msg}");
        }
    }
    // A device ordinal that cannot exist is NoDevice (or NoDriver without a driver).
    assert!(matches!(Gpu::new(1 << 20), Err(GpuError::NoDevice { .. } | GpuError::NoDriver)));
}

#[test]
fn gpu_agrees_with_scalar_on_the_network_models() {
    use simlanes::workload::jansen_rit::JansenRitSpec;
    use simlanes::workload::mpr::MprSpec;
    let Some(gpu) = gpu_or_skip() else { return };
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    // W4 and W4d at the seed size with noise on (exp in the sigmoid, Box–Muller normals).
    let spec = JansenRitSpec::seed_size(0).unwrap();
    for s in [spec.clone(), spec.with_default_lags().unwrap()] {
        assert_eq!(bits(&gpu.jansen_rit(&s).unwrap()), bits(&scalar().jansen_rit(&s).unwrap()));
    }
    // W5: the whole sweep (B = 1152) on a 16-node network.
    let spec = MprSpec::sweep_sized(0, 16, 450).unwrap();
    let (got, want) = (gpu.mpr(&spec).unwrap(), scalar().mpr(&spec).unwrap());
    assert_eq!(bits(&got.final_state), bits(&want.final_state));
    let b64 = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(b64(&got.std_r), b64(&want.std_r));
}

/// The JAX-key kernels of W1, W2 (final state and path, also in batches of simulations),
/// W4 and W5 on the device against the scalar backend, both layouts: each entry reads its
/// member's key and layout on the device, which the emulator alone does not prove.
#[test]
fn gpu_agrees_with_scalar_with_a_jax_key() {
    use simlanes::workload::jansen_rit::JansenRitSpec;
    use simlanes::workload::jax::{JaxKey, Layout};
    use simlanes::workload::mpr::MprSpec;
    let Some(raw) = gpu_or_skip() else { return };
    let gpu = Simulator::new(Backend::Gpu { device: 0 }).expect("the GPU opened once already");
    let b32 = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    let b64 = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    for layout in [Layout::Partitionable, Layout::Legacy] {
        let key = Some(JaxKey::new(3).unwrap().with_layout(layout));
        let pi = PiSpec { seed: 0, pairs_per_estimate: 1001, estimates: 257, jax_key: key };
        assert_eq!(gpu.pi(&pi).unwrap().hits, scalar().pi(&pi).unwrap().hits, "W1 {layout:?}");

        let ou = OuSpec { seed: 0, num_sim: 33, num_steps: 500, params: OuParams::default(), jax_key: key };
        assert_eq!(b64(&gpu.ou_final(&ou).unwrap()), b64(&scalar().ou_final(&ou).unwrap()), "W2 {layout:?}");
        let mut want = vec![0f64; ou.path_len().unwrap()];
        scalar().ou_path(&ou, &mut want).unwrap();
        let mut got = vec![f64::NAN; want.len()];
        gpu.ou_path(&ou, &mut got).unwrap();
        assert_eq!(b64(&got), b64(&want), "W2 path {layout:?}");
        let mut batched = vec![f64::NAN; want.len()];
        raw.ou_path_in_batches(&ou, &mut batched, 7).unwrap();
        assert_eq!(b64(&batched), b64(&want), "W2 path in batches of 7, {layout:?}");

        let jr = JansenRitSpec { jax_key: key, ..JansenRitSpec::with_size(0, 8, 64, 19).unwrap() };
        assert_eq!(
            b32(&gpu.jansen_rit(&jr).unwrap()),
            b32(&scalar().jansen_rit(&jr).unwrap()),
            "W4 {layout:?}"
        );

        let full = MprSpec::sweep_sized(0, 4, 405).unwrap();
        let mpr = MprSpec {
            batch: 19,
            k: full.k[..19].to_vec(),
            eta: full.eta[..19].to_vec(),
            jax_key: key,
            ..full
        };
        let (got, want) = (gpu.mpr(&mpr).unwrap(), scalar().mpr(&mpr).unwrap());
        assert_eq!(b32(&got.final_state), b32(&want.final_state), "W5 {layout:?}");
        assert_eq!(b64(&got.std_r), b64(&want.std_r), "W5 statistic {layout:?}");
    }
}
