//! W3 calibrate on the GPU (kernel `binomial_histogram`): the histogram-and-prefix-sum
//! selection must give the CPU's `λ*` bit for bit.
//!
//! * Emulator (every machine): the kernel body run for every thread of an emulated grid
//!   (`simlanes::backend::gpu::calibrate::binomial_calibrate_emulated`) against the scalar
//!   and SIMD calibrate, for random small `G, S, n, d, α`, null masks, any simulations per
//!   thread, fused and pregenerated uniforms (proptest).
//! * Device (with a GPU; prints `SKIP: …` and passes without one): the same through
//!   `Backend::Gpu`.

use proptest::prelude::*;
use simlanes::backend::gpu::calibrate::binomial_calibrate_emulated;
use simlanes::backend::gpu::{Gpu, GpuError};
use simlanes::workload::binomial::{BinomialSpec, Uniforms, calibration_rank};
use simlanes::{Backend, SimError, Simulator};

fn sim(b: Backend) -> Simulator {
    Simulator::new(b).expect("CPU backends always start")
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn spec(seed: u64, grid: usize, d: usize, n: usize, sims: usize, mask: Option<Vec<bool>>) -> BinomialSpec {
    // Logits around 0 (p near 1/2, every count possible) and a few extreme ones.
    let theta = (0..grid * d)
        .map(|i| {
            let x = ((i as f64 + 1.0) * 0.618_034 + seed as f64 * 0.1).fract();
            if i % 7 == 3 { 12.0 * (x - 0.5) } else { 2.0 * (x - 0.5) }
        })
        .collect();
    BinomialSpec { seed, theta, d, n, sims, null_truth: mask }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn emulated_histogram_calibrate_equals_cpu(
        seed in any::<u64>(),
        grid in 1usize..20,
        d in 1usize..5,
        n in 1usize..9,
        sims in 1usize..300,
        alpha in 0.001f64..0.999,
        mask_bits in any::<u32>(),
        masked in any::<bool>(),
        spt in 1u32..40,
    ) {
        let mask = masked.then(|| (0..grid).map(|g| mask_bits >> (g % 32) & 1 == 1).collect());
        let spec = spec(seed, grid, d, n, sims, mask);
        let scalar = sim(Backend::Scalar);
        let simd = sim(Backend::Simd);
        let u = scalar.binomial_fill_uniforms(seed, sims, n, d).unwrap();
        let m = calibration_rank(sims, alpha).unwrap();
        for uniforms in [Uniforms::Fused, Uniforms::Pregenerated(&u)] {
            let want = scalar.binomial_calibrate(&spec, alpha, uniforms).unwrap();
            prop_assert_eq!(bits(&simd.binomial_calibrate(&spec, alpha, uniforms).unwrap()), bits(&want));
            let plan = spec.plan(uniforms).unwrap();
            let got = binomial_calibrate_emulated(&plan, m, spt).unwrap();
            prop_assert_eq!(bits(&got), bits(&want), "m {} uniforms {:?}", m, matches!(uniforms, Uniforms::Fused));
        }
    }
}

#[test]
fn emulated_calibrate_at_the_extreme_ranks_and_a_seed_like_size() {
    // m = 1 (minimum) and m = S (maximum), and a B2-like shape (n = 5, d = 4) at small S.
    let spec = spec(0, 33, 4, 5, 1001, None);
    let scalar = sim(Backend::Scalar);
    for alpha in [1e-6, 0.05, 0.5, 0.999_999] {
        let want = scalar.binomial_calibrate(&spec, alpha, Uniforms::Fused).unwrap();
        let m = calibration_rank(1001, alpha).unwrap();
        let plan = spec.plan(Uniforms::Fused).unwrap();
        for spt in [1, 64, 1001, 5000] {
            assert_eq!(bits(&binomial_calibrate_emulated(&plan, m, spt).unwrap()), bits(&want), "α {alpha}");
        }
    }
}

#[test]
fn emulated_calibrate_rejects_bad_ranks_and_marks_non_null_points() {
    let spec = spec(1, 3, 2, 2, 10, Some(vec![true, false, true]));
    let plan = spec.plan(Uniforms::Fused).unwrap();
    assert!(matches!(binomial_calibrate_emulated(&plan, 0, 1), Err(SimError::Param(_))));
    assert!(matches!(binomial_calibrate_emulated(&plan, 11, 1), Err(SimError::Param(_))));
    let got = binomial_calibrate_emulated(&plan, 10, 3).unwrap();
    assert!(got[1].is_nan() && !got[0].is_nan() && !got[2].is_nan());
    let none = BinomialSpec { null_truth: Some(vec![false; 3]), ..spec };
    let plan = none.plan(Uniforms::Fused).unwrap();
    assert!(binomial_calibrate_emulated(&plan, 5, 1).unwrap().iter().all(|x| x.is_nan()));
}

fn gpu_or_skip() -> Option<Simulator> {
    match Gpu::new(0) {
        Ok(g) => {
            println!("GPU: {} ({} PTX)", g.info().name, g.info().ptx_arch);
            Some(Simulator::new(Backend::Gpu { device: 0 }).expect("the GPU opened once already"))
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

#[test]
fn gpu_calibrate_equals_cpu() {
    let Some(gpu) = gpu_or_skip() else { return };
    let scalar = sim(Backend::Scalar);
    let threaded = sim(Backend::Threaded(simlanes::ThreadConfig::new(2)));
    // Small random-ish shapes, then a B3-like one (n = 150) with a null mask.
    let mut cases: Vec<(BinomialSpec, f64)> = Vec::new();
    for (i, (grid, d, n, sims)) in
        [(1usize, 1usize, 1usize, 1usize), (9, 4, 1, 257), (17, 3, 7, 1000), (300, 4, 5, 2048)]
            .into_iter()
            .enumerate()
    {
        let mask = (i % 2 == 1).then(|| (0..grid).map(|g| g % 3 != 1).collect());
        cases.push((spec(i as u64 * 77, grid, d, n, sims, mask), [0.05, 0.5, 0.01, 0.2][i]));
    }
    cases.push((spec(0, 64, 4, 150, 16384, Some((0..64).map(|g| g % 5 != 0).collect())), 0.05));
    for (spec, alpha) in &cases {
        let u = scalar.binomial_fill_uniforms(spec.seed, spec.sims, spec.n, spec.d).unwrap();
        for uniforms in [Uniforms::Fused, Uniforms::Pregenerated(&u)] {
            let cpu = if spec.n * spec.sims > 100_000 { &threaded } else { &scalar };
            let want = cpu.binomial_calibrate(spec, *alpha, uniforms).unwrap();
            let got = gpu.binomial_calibrate(spec, *alpha, uniforms).unwrap();
            assert_eq!(bits(&got), bits(&want), "G {} n {} S {}", spec.grid_points(), spec.n, spec.sims);
        }
    }
}
