//! GPU BabelStream: the device's measured memory bandwidth (kernels `stream_*_f32` /
//! `stream_*_f64`, bodies in [`gpu_kernels::stream_bench`]), for `cargo xtask bench` to
//! report beside the theoretical figure ([`super::DeviceInfo::theoretical_bandwidth`]) and
//! to use as the GPU rows' measured peak.
//!
//! Why here: it needs the loaded module, the stream and the typed errors of [`Gpu`]. It
//! follows the CPU stream of the bench (and BabelStream): three arrays `a, b, c` started
//! at `0.1, 0.2, 0.0`; each iteration runs Fill, Copy, Scale, Add, Triad, Dot in that
//! order, each timed alone with CUDA events; run 1 is dropped; bandwidth = bytes the
//! kernel asks for / best time; after the last iteration the arrays and the dot product
//! are checked against gold values (the same operations on one host scalar — the device
//! uses `mul.rn`/`add.rn`, so the arrays must match bit for bit). Dot's time covers its
//! two launches (grid-wide partials, then 1024 partial sums); the host's final sum of
//! those 1024 values is outside it.

use cudarc::driver::sys::CUevent_flags;
use cudarc::driver::{CudaFunction, DriverError, LaunchConfig, ValidAsZeroBits};
use gpu_kernels::signature::{
    Signature, StreamAdd, StreamCopy, StreamDot, StreamFill, StreamScale, StreamSum, StreamTriad,
};
use gpu_kernels::stream_bench::{self as sb, StreamElem};

use super::args::{KernelArgs, ScalarParam, push_args};
use super::emulator::grid;
use super::{Gpu, GpuError, driver};
use crate::error::SimError;
use simcore::ParamError;

/// A BabelStream kernel, in run order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamKernel {
    /// `c = 0.3` (write only; not in BabelStream, gives the write figure).
    Fill,
    /// `c = a`.
    Copy,
    /// `b = s·c`.
    Scale,
    /// `c = a + b`.
    Add,
    /// `a = b + s·c`.
    Triad,
    /// `Σ a·b`.
    Dot,
}

impl StreamKernel {
    /// All kernels, in run order.
    pub const ALL: [StreamKernel; 6] =
        [Self::Fill, Self::Copy, Self::Scale, Self::Add, Self::Triad, Self::Dot];

    /// Name as in the CPU stream table.
    pub fn name(self) -> &'static str {
        match self {
            Self::Fill => "Fill",
            Self::Copy => "Copy",
            Self::Scale => "Scale",
            Self::Add => "Add",
            Self::Triad => "Triad",
            Self::Dot => "Dot",
        }
    }

    /// Arrays the kernel touches per element (bytes counted = arrays × array bytes).
    pub fn arrays(self) -> usize {
        match self {
            Self::Fill => 1,
            Self::Copy | Self::Scale | Self::Dot => 2,
            Self::Add | Self::Triad => 3,
        }
    }

    /// `"read"`, `"write"` or `"copy"` (loads only, stores only, both).
    pub fn traffic(self) -> &'static str {
        match self {
            Self::Fill => "write",
            Self::Dot => "read",
            _ => "copy",
        }
    }

    fn entry(self) -> &'static str {
        match self {
            Self::Fill => "fill",
            Self::Copy => "copy",
            Self::Scale => "scale",
            Self::Add => "add",
            Self::Triad => "triad",
            Self::Dot => "dot",
        }
    }
}

/// One kernel's measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamResult {
    /// The kernel.
    pub kernel: StreamKernel,
    /// `"f32"` or `"f64"`.
    pub precision: &'static str,
    /// Bytes counted per run (arrays × array bytes).
    pub bytes: usize,
    /// Seconds of every run after the first (dropped).
    pub times_s: Vec<f64>,
}

impl StreamResult {
    /// Best (shortest) time, seconds.
    pub fn best_s(&self) -> f64 {
        self.times_s.iter().copied().fold(f64::INFINITY, f64::min)
    }

    /// Bandwidth at the best time, GB/s (1e9 bytes/s).
    pub fn gbs(&self) -> f64 {
        self.bytes as f64 / self.best_s() / 1e9
    }
}

/// Gold values of `(a, b, c)` after `repeats` iterations of Copy, Scale, Add, Triad from
/// the start values, computed on one host scalar exactly as the kernels compute them
/// (Fill's value is overwritten by Copy).
pub fn gold<T: StreamElem>(repeats: usize) -> (T, T, T) {
    let s = T::from_f64(sb::SCALAR);
    let (mut a, mut b, mut c) =
        (T::from_f64(sb::START_A), T::from_f64(sb::START_B), T::from_f64(sb::START_C));
    for _ in 0..repeats {
        c = a;
        b = sb::scale(s, c);
        c = sb::add(a, b);
        a = sb::triad(b, s, c);
    }
    (a, b, c)
}

/// Relative tolerance of the dot product against `n·a·b` (its order of summation differs
/// from a sequential sum: grid-stride partials, then 1024 partial sums, then the host).
pub fn dot_tolerance<T: StreamElem>() -> f64 {
    if T::NAME == "f32" { 1e-4 } else { 1e-11 }
}

/// Threads of Dot's second pass (the partials the host adds up).
pub const DOT_SECOND_PASS: u32 = 1024;

/// One BabelStream iteration on host slices through the host grid emulator, running the
/// kernel bodies exactly as the device entries do (one element per thread; Dot with
/// `dot_threads` grid-stride threads, then [`DOT_SECOND_PASS`]). Returns the dot product.
/// For tests of the bodies without a GPU.
pub fn emulate_iteration<T: StreamElem>(a: &mut [T], b: &mut [T], c: &mut [T], dot_threads: u32) -> f64
where
    f64: From<T>,
{
    let n = a.len();
    let n32 = u32::try_from(n).unwrap_or(u32::MAX);
    let s = T::from_f64(sb::SCALAR);
    grid(n32, |i| c[i as usize] = T::from_f64(0.3));
    grid(n32, |i| c[i as usize] = a[i as usize]);
    grid(n32, |i| b[i as usize] = sb::scale(s, c[i as usize]));
    grid(n32, |i| c[i as usize] = sb::add(a[i as usize], b[i as usize]));
    grid(n32, |i| a[i as usize] = sb::triad(b[i as usize], s, c[i as usize]));
    let threads = dot_threads as usize;
    let mut partial = vec![T::default(); threads];
    grid(dot_threads, |t| partial[t as usize] = sb::dot_partial(t as usize, threads, n, |i| a[i], |i| b[i]));
    let second = DOT_SECOND_PASS as usize;
    let mut sums = vec![T::default(); second];
    grid(DOT_SECOND_PASS, |t| {
        sums[t as usize] = sb::sum_partial(t as usize, second, threads, |i| partial[i])
    });
    sums.into_iter().map(f64::from).sum()
}

/// The gold check after `repeats` iterations: every element of `a, b, c` equals the gold
/// value and `dot` is within [`dot_tolerance`] of `n·a·b`.
///
/// # Errors
/// A message naming the first wrong array element or the dot product.
pub fn check_gold<T: StreamElem>(repeats: usize, a: &[T], b: &[T], c: &[T], dot: f64) -> Result<(), String>
where
    f64: From<T>,
{
    let (ga, gb, gc) = gold::<T>(repeats);
    for (name, arr, g) in [("a", a, ga), ("b", b, gb), ("c", c, gc)] {
        if let Some(i) = arr.iter().position(|&x| x != g) {
            return Err(format!(
                "GPU stream {}: {name}[{i}] = {} but gold is {}",
                T::NAME,
                f64::from(arr[i]),
                f64::from(g)
            ));
        }
    }
    let want = a.len() as f64 * f64::from(ga) * f64::from(gb);
    let rel = ((dot - want) / want).abs();
    if rel.is_nan() || rel > dot_tolerance::<T>() {
        return Err(format!(
            "GPU stream {}: dot = {dot} but gold is {want} (relative error {rel:e})",
            T::NAME
        ));
    }
    Ok(())
}

impl Gpu {
    fn stream_fn(&self, kernel: &str, elem: &str) -> Result<CudaFunction, GpuError> {
        let name = format!("stream_{kernel}_{elem}");
        self._module.load_function(&name).map_err(|e| GpuError::PtxRejected {
            arch: self.info.ptx_arch,
            reason: format!("kernel `{name}` missing: {e}"),
        })
    }

    /// Launches `f` with `args`, which must be kernel `S`'s parameters ([`push_args`]).
    ///
    /// # Safety
    /// As cudarc's `LaunchArgs::launch`: the arguments meet the kernel's own contract
    /// (buffer sizes, disjointness).
    unsafe fn launch<'a, S: Signature, A: KernelArgs<'a, Params = S::Params>>(
        &'a self,
        f: &'a CudaFunction,
        cfg: LaunchConfig,
        args: A,
    ) -> Result<(), DriverError> {
        let mut launch = self.stream.launch_builder(f);
        push_args::<S, A>(&mut launch, args);
        // SAFETY: the caller's contract.
        unsafe { launch.launch(cfg) }.map(|_| ())
    }

    /// BabelStream on the device with three arrays of `array_bytes` bytes each (rounded
    /// down to whole elements), `repeats` iterations (run 1 dropped, so at least 2), then
    /// the gold check. Results per kernel, in [`StreamKernel::ALL`] order.
    ///
    /// # Errors
    /// [`SimError::Param`] for `repeats < 2`, arrays under one element or over `u32::MAX`
    /// elements; [`GpuError`]s (out of memory: use smaller arrays); a failed gold check is
    /// a [`GpuError::Launch`] naming the wrong element.
    pub fn babel_stream<T>(&self, array_bytes: usize, repeats: usize) -> Result<Vec<StreamResult>, SimError>
    where
        T: StreamElem + ScalarParam + ValidAsZeroBits,
        f64: From<T>,
    {
        if repeats < 2 {
            return Err(ParamError::ZeroSize { name: "repeats after the dropped first run" }.into());
        }
        let n = array_bytes / size_of::<T>();
        simcore::error::nonzero("stream array elements", n)?;
        let n32 = Self::u32_size("stream array elements", n)?;
        let n64 = n as u64;
        let f = |k: StreamKernel| self.stream_fn(k.entry(), T::NAME);
        let (fill, copy, scale, add, triad, dot) = (
            f(StreamKernel::Fill)?,
            f(StreamKernel::Copy)?,
            f(StreamKernel::Scale)?,
            f(StreamKernel::Add)?,
            f(StreamKernel::Triad)?,
            f(StreamKernel::Dot)?,
        );
        let sum = self.stream_fn("sum", T::NAME)?;
        let mut a = self.alloc::<T>("stream a", n)?;
        let mut b = self.alloc::<T>("stream b", n)?;
        let mut c = self.alloc::<T>("stream c", n)?;
        // Dot: every thread the device holds at once (2048 per SM on sm_80/sm_90).
        let dot_blocks = (self.info.multiprocessors.max(1) * 2048).div_ceil(gpu_kernels::BLOCK_THREADS);
        let dot_threads = dot_blocks * gpu_kernels::BLOCK_THREADS;
        let mut partial = self.alloc::<T>("stream dot partials", dot_threads as usize)?;
        let mut sums = self.alloc::<T>("stream dot sums", DOT_SECOND_PASS as usize)?;
        let block = |blocks| LaunchConfig {
            grid_dim: (blocks, 1, 1),
            block_dim: (gpu_kernels::BLOCK_THREADS, 1, 1),
            shared_mem_bytes: 0,
        };
        let (cfg_n, cfg_dot, cfg_sum) =
            (self.config(&copy, n32), block(dot_blocks), block(DOT_SECOND_PASS / gpu_kernels::BLOCK_THREADS));
        let s = T::from_f64(sb::SCALAR);
        let (start_a, start_b, fill_v) =
            (T::from_f64(sb::START_A), T::from_f64(sb::START_B), T::from_f64(0.3));
        let fail = |kernel: &'static str| {
            move |e: cudarc::driver::DriverError| GpuError::Launch { kernel, reason: e.to_string() }
        };
        // SAFETY (every launch below): the arguments are the kernel's (push_args); a, b, c
        // hold n elements each and are distinct allocations; element kernels run one thread
        // per element with a bounds check (cfg_n covers n); `partial` holds dot_threads
        // elements = the dot grid's threads, `sums` DOT_SECOND_PASS = the second pass's
        // threads, each thread writing its own.
        unsafe {
            // Start values (c starts at 0.0: alloc zeroes it).
            self.launch::<StreamFill<T>, _>(&fill, cfg_n, (&mut a, &n64, &start_a))
                .map_err(fail("stream_fill"))?;
            self.launch::<StreamFill<T>, _>(&fill, cfg_n, (&mut b, &n64, &start_b))
                .map_err(fail("stream_fill"))?;
        }
        self.stream.synchronize().map_err(driver("cuStreamSynchronize"))?;
        let event =
            || self.ctx.new_event(Some(CUevent_flags::CU_EVENT_DEFAULT)).map_err(driver("cuEventCreate"));
        let mut times = vec![Vec::with_capacity(repeats); StreamKernel::ALL.len()];
        let mut dot_value = 0.0;
        for _ in 0..repeats {
            for (ki, k) in StreamKernel::ALL.into_iter().enumerate() {
                let (start, stop) = (event()?, event()?);
                start.record(&self.stream).map_err(driver("cuEventRecord"))?;
                // SAFETY: see the block comment above.
                let launched = unsafe {
                    match k {
                        StreamKernel::Fill => {
                            self.launch::<StreamFill<T>, _>(&fill, cfg_n, (&mut c, &n64, &fill_v))
                        }
                        StreamKernel::Copy => {
                            self.launch::<StreamCopy<T>, _>(&copy, cfg_n, (&a, &mut c, &n64))
                        }
                        StreamKernel::Scale => {
                            self.launch::<StreamScale<T>, _>(&scale, cfg_n, (&c, &mut b, &n64, &s))
                        }
                        StreamKernel::Add => {
                            self.launch::<StreamAdd<T>, _>(&add, cfg_n, (&a, &b, &mut c, &n64))
                        }
                        StreamKernel::Triad => {
                            self.launch::<StreamTriad<T>, _>(&triad, cfg_n, (&b, &c, &mut a, &n64, &s))
                        }
                        StreamKernel::Dot => {
                            let np = u64::from(dot_threads);
                            self.launch::<StreamDot<T>, _>(&dot, cfg_dot, (&a, &b, &mut partial, &n64))
                                .and_then(|()| {
                                    self.launch::<StreamSum<T>, _>(&sum, cfg_sum, (&partial, &mut sums, &np))
                                })
                        }
                    }
                };
                launched.map_err(fail("stream"))?;
                stop.record(&self.stream).map_err(driver("cuEventRecord"))?;
                let ms = start.elapsed_ms(&stop).map_err(fail("stream"))?;
                times[ki].push(<f64 as From<f32>>::from(ms) * 1e-3);
                if k == StreamKernel::Dot {
                    let host = self.stream.clone_dtoh(&sums).map_err(driver("cuMemcpyDtoH"))?;
                    dot_value = host.into_iter().map(f64::from).sum();
                }
            }
        }
        let ha = self.stream.clone_dtoh(&a).map_err(driver("cuMemcpyDtoH"))?;
        let hb = self.stream.clone_dtoh(&b).map_err(driver("cuMemcpyDtoH"))?;
        let hc = self.stream.clone_dtoh(&c).map_err(driver("cuMemcpyDtoH"))?;
        check_gold::<T>(repeats, &ha, &hb, &hc, dot_value)
            .map_err(|reason| GpuError::Launch { kernel: "stream (gold check)", reason })?;
        Ok(StreamKernel::ALL
            .into_iter()
            .zip(times)
            .map(|(kernel, t)| StreamResult {
                kernel,
                precision: T::NAME,
                bytes: kernel.arrays() * n * size_of::<T>(),
                times_s: t[1..].to_vec(),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_table_matches_the_cpu_stream() {
        let names: Vec<&str> = StreamKernel::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(names, ["Fill", "Copy", "Scale", "Add", "Triad", "Dot"]);
        assert_eq!(StreamKernel::Triad.arrays(), 3);
        assert_eq!(StreamKernel::Dot.traffic(), "read");
        assert_eq!(StreamKernel::Fill.traffic(), "write");
        let r = StreamResult {
            kernel: StreamKernel::Copy,
            precision: "f32",
            bytes: 2_000,
            times_s: vec![2e-6, 1e-6],
        };
        assert!((r.gbs() - 2.0).abs() < 1e-12);
    }
}
