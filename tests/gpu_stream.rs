//! GPU BabelStream (kernels `stream_*_f32` / `stream_*_f64`): the kernel bodies through the
//! host grid emulator must produce BabelStream's gold arrays bit for bit and the dot
//! product within its tolerance; on a GPU (prints `SKIP: …` and passes without one) the
//! device run passes the same gold check and reports a plausible bandwidth.

use simlanes::backend::gpu::babelstream::{
    DOT_SECOND_PASS, StreamKernel, check_gold, dot_tolerance, emulate_iteration, gold,
};
use simlanes::backend::gpu::gpu_kernels::stream_bench::{START_A, START_B, START_C, StreamElem};
use simlanes::backend::gpu::{Gpu, GpuError};

fn emulate<T: StreamElem>(n: usize, dot_threads: u32, repeats: usize) -> Result<(), String>
where
    f64: From<T>,
{
    let mut a = vec![T::from_f64(START_A); n];
    let mut b = vec![T::from_f64(START_B); n];
    let mut c = vec![T::from_f64(START_C); n];
    let mut dot = 0.0;
    for _ in 0..repeats {
        dot = emulate_iteration(&mut a, &mut b, &mut c, dot_threads);
    }
    check_gold(repeats, &a, &b, &c, dot)
}

#[test]
fn emulated_stream_kernels_reach_the_gold_values() {
    // Sizes around the block (256) and the dot grid; more dot threads than elements.
    for (n, threads) in [(1usize, 256u32), (255, 256), (1000, 512), (4099, 2048), (70_000, 4096)] {
        emulate::<f32>(n, threads, 3).unwrap_or_else(|e| panic!("f32 n {n} threads {threads}: {e}"));
        emulate::<f64>(n, threads, 3).unwrap_or_else(|e| panic!("f64 n {n} threads {threads}: {e}"));
    }
    assert!(DOT_SECOND_PASS.is_multiple_of(simlanes::backend::gpu::gpu_kernels::BLOCK_THREADS));
}

#[test]
fn the_gold_check_fails_on_a_wrong_element_or_dot() {
    let n = 600;
    let (ga, gb, gc) = gold::<f32>(2);
    let (a, mut b, c) = (vec![ga; n], vec![gb; n], vec![gc; n]);
    let dot = n as f64 * f64::from(ga) * f64::from(gb);
    assert!(check_gold(2, &a, &b, &c, dot).is_ok());
    assert!(check_gold(2, &a, &b, &c, dot * (1.0 + 10.0 * dot_tolerance::<f32>())).is_err());
    b[417] *= 1.0001;
    let e = check_gold(2, &a, &b, &c, dot).unwrap_err();
    assert!(e.contains("b[417]"), "{e}");
    // Gold after one iteration, by hand: c = a + s·a, b = s·a, a = b + s·c.
    let (a1, b1, c1) = gold::<f64>(1);
    assert_eq!((b1, c1), (0.4 * 0.1, 0.1 + 0.4 * 0.1));
    assert_eq!(a1, b1 + 0.4 * c1);
}

#[test]
fn gpu_stream_passes_gold_and_measures_bandwidth() {
    let gpu = match Gpu::new(0) {
        Ok(g) => g,
        Err(e @ GpuError::NoDriver) => return eprintln!("SKIP: no CUDA driver ({e})"),
        Err(e @ (GpuError::NoDevice { .. } | GpuError::Unsupported { .. })) => {
            return eprintln!("SKIP: no usable GPU ({e})");
        }
        Err(e) => panic!("a GPU is present but the backend does not start: {e}"),
    };
    let theo = gpu.info().theoretical_bandwidth() / 1e9;
    // 64 MiB arrays: far beyond the L2 (50 MB on H100) yet quick.
    for r in gpu
        .babel_stream::<f32>(64 << 20, 5)
        .unwrap()
        .into_iter()
        .chain(gpu.babel_stream::<f64>(64 << 20, 5).unwrap())
    {
        println!("{} {} {:.1} GB/s (theoretical {theo:.0})", r.kernel.name(), r.precision, r.gbs());
        assert_eq!(r.times_s.len(), 4);
        // A plausibility range for a device's memory; the libcuda stand-in of `.ci/run`
        // runs the kernels on the host CPU, where it does not apply.
        if !gpu.info().name.contains("CUDA stand-in") {
            assert!(r.gbs() > 0.02 * theo && r.gbs() < 1.5 * theo, "{r:?}");
        }
        assert_eq!(r.bytes, r.kernel.arrays() * (64 << 20));
    }
    assert!(StreamKernel::ALL.len() == 6);
}
