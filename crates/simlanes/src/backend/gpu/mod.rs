//! The CUDA backend: one simulation per GPU thread, running the `gpu-kernels` PTX through
//! the driver API ([`cudarc`], loaded at run time, so building needs no CUDA).
//!
//! * [`Gpu::new`] probes for the driver *before* touching cudarc (which panics without
//!   `libcuda`), opens the device, reads its facts ([`DeviceInfo`]) and loads the PTX for
//!   its compute capability ([`ptx`]). Every failure is a typed [`GpuError`] saying what to
//!   do — a machine without a GPU gets `Err(NoDriver)`, never a panic.
//! * The launch methods check sizes, allocate, launch one thread per simulation in blocks
//!   of [`gpu_kernels::BLOCK_THREADS`] and copy the results back.
//! * [`emulator`] runs the same kernel bodies on the host, for tests without a GPU.

pub mod args;
pub mod babelstream;
pub mod calibrate;
pub mod emulator;
mod error;
pub mod ptx;

use std::sync::Arc;

use cudarc::driver::sys::{CUdevice_attribute, CUresult};
use cudarc::driver::{CudaContext, CudaFunction, CudaModule, CudaStream, DriverError, LaunchConfig};

use args::push_args;
pub use error::GpuError;
/// The kernel crate (bodies, entry-point table), re-exported for tests and benchmarks.
pub use gpu_kernels;
use gpu_kernels::signature as sig;

use crate::error::SimError;
use crate::workload::binomial::{BinomialPlan, Uniforms};
use crate::workload::jansen_rit::JansenRitSpec;
use crate::workload::mpr::{MprOutput, MprSpec};
use crate::workload::ou::OuSpec;
use crate::workload::pi::PiSpec;

/// Facts about the device, read once when the backend opens it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceInfo {
    /// Device ordinal.
    pub ordinal: usize,
    /// Marketing name (e.g. "NVIDIA H100 80GB HBM3").
    pub name: String,
    /// Compute capability `(major, minor)`.
    pub compute_capability: (i32, i32),
    /// Streaming multiprocessors.
    pub multiprocessors: u32,
    /// Peak memory clock, kHz.
    pub memory_clock_khz: u32,
    /// Memory bus width, bits.
    pub bus_width_bits: u32,
    /// Total device memory, bytes.
    pub total_memory: usize,
    /// Which PTX was loaded (`sm_80` or `sm_90`).
    pub ptx_arch: &'static str,
}

impl DeviceInfo {
    /// Theoretical peak memory bandwidth in bytes/s: double data rate × memory clock × bus
    /// width (`2 · clock · width/8`), the figure vendors quote (3.35 TB/s for H100 SXM).
    pub fn theoretical_bandwidth(&self) -> f64 {
        2.0 * f64::from(self.memory_clock_khz) * 1e3 * f64::from(self.bus_width_bits) / 8.0
    }
}

/// Is a CUDA driver (`libcuda.so`) loadable? Never panics; cheap enough to call before
/// every attempt.
pub fn driver_present() -> bool {
    // SAFETY: `is_culib_present` only tries `dlopen` on the driver's library names and
    // drops what it opened; it has no preconditions.
    unsafe { cudarc::driver::sys::is_culib_present() }
}

fn driver(call: &'static str) -> impl Fn(DriverError) -> GpuError {
    move |e| GpuError::Driver { call, reason: e.to_string() }
}

/// An open GPU with the simlanes kernels loaded.
#[derive(Debug)]
pub struct Gpu {
    info: DeviceInfo,
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    _module: Arc<CudaModule>,
    pi_hits: CudaFunction,
    fill_uniforms: CudaFunction,
    fill_normals: CudaFunction,
    ou_final: CudaFunction,
    ou_path: CudaFunction,
    ou_with_normals: CudaFunction,
    binomial_validate: CudaFunction,
    jansen_rit: CudaFunction,
    mpr: CudaFunction,
    pi_hits_jax: CudaFunction,
    ou_final_jax: CudaFunction,
    ou_chunk_sums: CudaFunction,
    ou_chunk_sums_jax: CudaFunction,
    ou_path_jax: CudaFunction,
    jansen_rit_jax: CudaFunction,
    mpr_jax: CudaFunction,
}

/// The kernels' view of `plan`'s uniforms: Philox streams or an array. The kernels have
/// no JAX W3 draw: [`Uniforms::Jax`] becomes the array it equals, drawn on the host into
/// `host` (and then uploaded like any pregenerated array).
///
/// # Errors
/// As [`crate::workload::jax::binomial_uniforms_from_jax_key`].
pub(crate) fn kernel_uniforms<'b>(
    plan: &BinomialPlan<'b>,
    host: &'b mut Vec<f32>,
) -> Result<gpu_kernels::body::Uniforms<'b>, SimError> {
    Ok(match plan.uniforms {
        Uniforms::Fused => gpu_kernels::body::Uniforms::Fused { seed: plan.seed },
        Uniforms::Pregenerated(u) => gpu_kernels::body::Uniforms::Pregenerated(u),
        Uniforms::Jax { key, sims } => {
            *host = crate::workload::jax::binomial_uniforms_from_jax_key(key, sims, plan.n, plan.d)?;
            gpu_kernels::body::Uniforms::Pregenerated(host)
        }
    })
}

impl Gpu {
    /// Opens device `ordinal` and loads the kernels.
    ///
    /// # Errors
    /// [`GpuError::NoDriver`] without `libcuda`; [`GpuError::NoDevice`] if the driver sees
    /// no such device; [`GpuError::Unsupported`] below compute capability 8.0;
    /// [`GpuError::PtxRejected`] if the driver refuses the PTX; [`GpuError::Driver`]
    /// otherwise.
    pub fn new(ordinal: usize) -> Result<Self, GpuError> {
        if !driver_present() {
            return Err(GpuError::NoDriver);
        }
        let count = match CudaContext::device_count() {
            Ok(c) => usize::try_from(c).unwrap_or(0),
            Err(DriverError(CUresult::CUDA_ERROR_NO_DEVICE)) => 0,
            Err(e) => return Err(driver("cuInit/cuDeviceGetCount")(e)),
        };
        if ordinal >= count {
            return Err(GpuError::NoDevice { ordinal, count });
        }
        let ctx = CudaContext::new(ordinal).map_err(driver("cuCtxCreate"))?;
        let name = ctx.name().map_err(driver("cuDeviceGetName"))?;
        let (major, minor) = ctx.compute_capability().map_err(driver("cuDeviceGetAttribute"))?;
        let (ptx_arch, ptx_src) = ptx::for_compute_capability(major, minor).ok_or(GpuError::Unsupported {
            name: name.clone(),
            major,
            minor,
        })?;
        let attr = |a: CUdevice_attribute| {
            ctx.attribute(a).map(|v| u32::try_from(v).unwrap_or(0)).map_err(driver("cuDeviceGetAttribute"))
        };
        let info = DeviceInfo {
            ordinal,
            name,
            compute_capability: (major, minor),
            multiprocessors: attr(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)?,
            memory_clock_khz: attr(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE)?,
            bus_width_bits: attr(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH)?,
            total_memory: ctx.total_mem().map_err(driver("cuDeviceTotalMem"))?,
            ptx_arch,
        };
        let module = ctx
            .load_module(cudarc::nvrtc::Ptx::from_src(ptx_src))
            .map_err(|e| GpuError::PtxRejected { arch: ptx_arch, reason: e.to_string() })?;
        let load = |name: &str| {
            module.load_function(name).map_err(|e| GpuError::PtxRejected {
                arch: ptx_arch,
                reason: format!("kernel `{name}` missing: {e}"),
            })
        };
        let stream = ctx.default_stream();
        Ok(Self {
            pi_hits: load("pi_hits")?,
            fill_uniforms: load("fill_uniforms")?,
            fill_normals: load("fill_normals")?,
            ou_final: load("ou_final")?,
            ou_path: load("ou_path")?,
            ou_with_normals: load("ou_with_normals")?,
            binomial_validate: load("binomial_validate")?,
            jansen_rit: load("jansen_rit")?,
            mpr: load("mpr")?,
            pi_hits_jax: load("pi_hits_jax")?,
            ou_final_jax: load("ou_final_jax")?,
            ou_chunk_sums: load("ou_chunk_sums")?,
            ou_chunk_sums_jax: load("ou_chunk_sums_jax")?,
            ou_path_jax: load("ou_path_jax")?,
            jansen_rit_jax: load("jansen_rit_jax")?,
            mpr_jax: load("mpr_jax")?,
            _module: module,
            info,
            ctx,
            stream,
        })
    }

    /// The device's facts.
    pub fn info(&self) -> &DeviceInfo {
        &self.info
    }

    /// One thread per item, enough blocks to cover `n`. The block size comes from the
    /// driver's occupancy calculator for this kernel on this device
    /// (`cuOccupancyMaxPotentialBlockSize`, at most [`gpu_kernels::BLOCK_THREADS`]; that
    /// constant, capped by the kernel's own limit, if the query fails), then shrinks for
    /// small batches so that the blocks reach every SM ([`launch_block`]). The kernels
    /// index by global thread only, so results never depend on the block size.
    fn config(&self, f: &CudaFunction, n: u32) -> LaunchConfig {
        extern "C" fn no_shared_memory(_block: std::ffi::c_int) -> usize {
            0
        }
        let occupancy = f
            .occupancy_max_potential_block_size(no_shared_memory, 0, gpu_kernels::BLOCK_THREADS, None)
            .map(|(_, block)| block)
            .unwrap_or_else(|_| {
                let max = f.max_threads_per_block().ok().and_then(|m| u32::try_from(m).ok()).unwrap_or(1024);
                gpu_kernels::BLOCK_THREADS.min(max / 32 * 32)
            });
        let block = launch_block(occupancy, n, self.info.multiprocessors);
        LaunchConfig { grid_dim: (n.div_ceil(block), 1, 1), block_dim: (block, 1, 1), shared_mem_bytes: 0 }
    }

    fn alloc<T: cudarc::driver::DeviceRepr + cudarc::driver::ValidAsZeroBits>(
        &self,
        what: &'static str,
        len: usize,
    ) -> Result<cudarc::driver::CudaSlice<T>, GpuError> {
        self.stream.alloc_zeros::<T>(len).map_err(|e| match e {
            DriverError(CUresult::CUDA_ERROR_OUT_OF_MEMORY) => {
                GpuError::OutOfMemory { what, bytes: len.saturating_mul(size_of::<T>()) }
            }
            e => GpuError::Driver { call: "cuMemAlloc", reason: e.to_string() },
        })
    }

    /// Waits for the kernel and maps a failure to [`GpuError::Launch`].
    fn finish(&self, kernel: &'static str, launched: Result<(), DriverError>) -> Result<(), GpuError> {
        launched
            .and_then(|()| self.stream.synchronize())
            .map_err(|e| GpuError::Launch { kernel, reason: e.to_string() })
    }

    /// W1 hit counts of estimates `first .. first + n` (kernel `pi_hits`).
    ///
    /// # Errors
    /// [`SimError::Param`] for `n` zero or above `u32::MAX`, or invalid `pairs`;
    /// [`GpuError`]s.
    pub fn pi_hits(&self, seed: u64, first: u64, n: usize, pairs: u64) -> Result<Vec<u32>, SimError> {
        simcore::models::pi::validate_pairs(pairs)?;
        // A zero-byte device allocation is a driver error, not an empty result.
        simcore::error::nonzero("estimates", n)?;
        let n32 = u32::try_from(n)
            .map_err(|_| simcore::ParamError::TooLarge { name: "estimates", max: u64::from(u32::MAX) })?;
        let mut hits = self.alloc::<u32>("pi hits", n)?;
        let cfg = self.config(&self.pi_hits, n32);
        let mut launch = self.stream.launch_builder(&self.pi_hits);
        push_args::<sig::PiHits, _>(&mut launch, (&mut hits, &seed, &first, &n32, &pairs));
        // SAFETY: the arguments are `pi_hits`'s (push_args); `hits` holds n u32 and each
        // thread i < n writes hits[i] only.
        let launched = unsafe { launch.launch(cfg) }.map(|_| ());
        self.finish("pi_hits", launched)?;
        Ok(self.stream.clone_dtoh(&hits).map_err(driver("cuMemcpyDtoH"))?)
    }

    /// W1 on the GPU for a validated or unvalidated spec: hit counts of every estimate.
    ///
    /// # Errors
    /// As [`Gpu::pi_hits`], plus the spec's own validation.
    pub fn pi(&self, spec: &PiSpec) -> Result<Vec<u64>, SimError> {
        spec.validate()?;
        if let Some(jax) = jax_noise(spec.jax_key, spec.estimates) {
            let n = Self::u32_size("estimates", spec.estimates)?;
            let (key, layout) = jax.to_args();
            let (count, first, pairs) = (jax.count, 0u64, spec.pairs_per_estimate);
            let mut hits = self.alloc::<u32>("pi hits", spec.estimates)?;
            let cfg = self.config(&self.pi_hits_jax, n);
            let mut launch = self.stream.launch_builder(&self.pi_hits_jax);
            push_args::<sig::PiHitsJax, _>(
                &mut launch,
                (&mut hits, &key, &layout, &count, &first, &n, &pairs),
            );
            // SAFETY: the arguments are `pi_hits_jax`'s (push_args); `hits` holds n u32 and
            // each thread i < n writes hits[i] only.
            let launched = unsafe { launch.launch(cfg) }.map(|_| ());
            self.finish("pi_hits_jax", launched)?;
            let hits = self.stream.clone_dtoh(&hits).map_err(driver("cuMemcpyDtoH"))?;
            return Ok(hits.into_iter().map(u64::from).collect());
        }
        Ok(self
            .pi_hits(spec.seed, 0, spec.estimates, spec.pairs_per_estimate)?
            .into_iter()
            .map(u64::from)
            .collect())
    }

    fn fill(&self, normals: bool, seed: u64, first: u64, n: usize, count: u32) -> Result<Vec<f32>, SimError> {
        let (kernel, f) = if normals {
            ("fill_normals", &self.fill_normals)
        } else {
            ("fill_uniforms", &self.fill_uniforms)
        };
        let n32 = u32::try_from(n)
            .map_err(|_| simcore::ParamError::TooLarge { name: "streams", max: u64::from(u32::MAX) })?;
        // A zero-byte device allocation is a driver error, not an empty result.
        simcore::error::nonzero("streams", n)?;
        simcore::error::nonzero("count", count as usize)?;
        let len = n
            .checked_mul(count as usize)
            .ok_or(simcore::ParamError::TooLarge { name: "streams * count", max: usize::MAX as u64 })?;
        let mut out = self.alloc::<f32>(kernel, len)?;
        let cfg = self.config(f, n32);
        let mut launch = self.stream.launch_builder(f);
        push_args::<sig::Fill, _>(&mut launch, (&mut out, &seed, &first, &n32, &count));
        // SAFETY: the arguments are `fill_*`'s (push_args); `out` holds n * count f32 and
        // thread i < n writes row i only.
        let launched = unsafe { launch.launch(cfg) }.map(|_| ());
        self.finish(kernel, launched)?;
        Ok(self.stream.clone_dtoh(&out).map_err(driver("cuMemcpyDtoH"))?)
    }

    /// `n × count` row-major f32 uniforms: row `i` = uniforms `0..count` of stream
    /// `first + i` (W3's pregenerated layout when `count = n·d`).
    ///
    /// # Errors
    /// [`SimError::Param`] for `n` above `u32::MAX` or `count = 0`; [`GpuError`]s.
    pub fn uniforms(&self, seed: u64, first: u64, n: usize, count: u32) -> Result<Vec<f32>, SimError> {
        self.fill(false, seed, first, n, count)
    }

    /// `n × count` row-major f32 normals: row `i` = normals `0..count` of stream `first + i`.
    ///
    /// # Errors
    /// As [`Gpu::uniforms`].
    pub fn normals(&self, seed: u64, first: u64, n: usize, count: u32) -> Result<Vec<f32>, SimError> {
        self.fill(true, seed, first, n, count)
    }

    fn u32_size(name: &'static str, n: usize) -> Result<u32, SimError> {
        u32::try_from(n).map_err(|_| simcore::ParamError::TooLarge { name, max: u64::from(u32::MAX) }.into())
    }

    fn upload<T: cudarc::driver::DeviceRepr>(
        &self,
        what: &'static str,
        host: &[T],
    ) -> Result<cudarc::driver::CudaSlice<T>, GpuError> {
        self.stream.clone_htod(host).map_err(|e| match e {
            DriverError(CUresult::CUDA_ERROR_OUT_OF_MEMORY) => {
                GpuError::OutOfMemory { what, bytes: std::mem::size_of_val(host) }
            }
            e => GpuError::Driver { call: "cuMemcpyHtoD", reason: e.to_string() },
        })
    }

    /// W2 mode (b) on the GPU: the final state of every simulation (kernel `ou_final`).
    ///
    /// # Errors
    /// [`SimError::Param`] as [`OuSpec::validate`], or `num_sim` above `u32::MAX`;
    /// [`GpuError`]s.
    pub fn ou_final(&self, spec: &OuSpec) -> Result<Vec<f64>, SimError> {
        spec.validate()?;
        let n = Self::u32_size("num_sim", spec.num_sim)?;
        let mut out = self.alloc::<f64>("ou final states", spec.num_sim)?;
        self.launch_ou(false, spec, 0, n, &mut out)?;
        Ok(self.stream.clone_dtoh(&out).map_err(driver("cuMemcpyDtoH"))?)
    }

    /// Launches W2 mode (b) (`path = false`: `out` holds `num_sim` f64) or (a)
    /// (`path = true`: `out` holds `(num_steps + 1)·num_sim` f64, layout `[t][sim]`) for a
    /// validated `spec` of `n = num_sim` simulations, on Philox streams or, with a JAX key,
    /// its `_jax` twin: the four kernels take the same arguments but for the stream (`seed`
    /// or `key, layout, count`).
    fn launch_ou(
        &self,
        path: bool,
        spec: &OuSpec,
        first: u64,
        n: u32,
        out: &mut cudarc::driver::CudaSlice<f64>,
    ) -> Result<(), SimError> {
        let c = spec.params.coeffs_f64();
        let (steps, x0) = (spec.num_steps as u64, spec.params.x0);
        let jax = jax_noise(spec.jax_key, spec.num_sim);
        let (name, f) = match (path, jax.is_some()) {
            (false, false) => ("ou_final", &self.ou_final),
            (false, true) => ("ou_final_jax", &self.ou_final_jax),
            (true, false) => ("ou_path", &self.ou_path),
            (true, true) => ("ou_path_jax", &self.ou_path_jax),
        };
        let ((key, layout), count) = jax.map_or(((0, 0), 0), |j| (j.to_args(), j.count));
        let cfg = self.config(f, n);
        let mut launch = self.stream.launch_builder(f);
        let (relax, diffuse) = (&c.relax, &c.diffuse);
        if jax.is_some() {
            let args = (out, &key, &layout, &count, &first, &n, &steps, &x0, relax, diffuse);
            push_args::<sig::OuJax, _>(&mut launch, args);
        } else {
            push_args::<sig::Ou, _>(&mut launch, (out, &spec.seed, &first, &n, &steps, &x0, relax, diffuse));
        }
        // SAFETY: the arguments are those of `ou_final` / `ou_path` or their `_jax` twins
        // (push_args); `out` holds n f64 (final) or (num_steps + 1)·n f64 (path, checked by
        // the caller), and thread i < n writes out[i] (final) or column i (path) only.
        let launched = unsafe { launch.launch(cfg) }.map(|_| ());
        self.finish(name, launched)?;
        Ok(())
    }

    /// W2 mode (b) parallel in time, stage 1 on the GPU: `y[i·count + c]` = chunk `c` of
    /// simulation `i` run from 0 (kernels `ou_chunk_sums` / `ou_chunk_sums_jax`, one
    /// thread per chunk), the bits of the CPU backends' chunk sums. The caller stitches
    /// them ([`crate::backend::simd::ou::stitch_final_states`]).
    ///
    /// # Errors
    /// [`SimError::Param`] as [`OuSpec::validate`], or `num_sim·count` above `u32::MAX`;
    /// [`GpuError`]s.
    pub fn ou_chunk_sums(
        &self,
        spec: &OuSpec,
        ch: &crate::backend::simd::ou::Chunking,
    ) -> Result<Vec<f64>, SimError> {
        spec.validate()?;
        let total = spec.num_sim.saturating_mul(ch.count);
        let n = Self::u32_size("num_sim*chunks", total)?;
        let chunks = Self::u32_size("chunks", ch.count)?;
        let c = spec.params.coeffs_f64();
        let (len, last) = (ch.len as u64, ch.last as u64);
        let mut out = self.alloc::<f64>("ou chunk sums", total)?;
        let jax = jax_noise(spec.jax_key, spec.num_sim);
        let (name, f) = match jax {
            None => ("ou_chunk_sums", &self.ou_chunk_sums),
            Some(_) => ("ou_chunk_sums_jax", &self.ou_chunk_sums_jax),
        };
        let cfg = self.config(f, n);
        let mut launch = self.stream.launch_builder(f);
        let ((key, layout), count) = jax.map_or(((0, 0), 0), |j| (j.to_args(), j.count));
        let (relax, diffuse) = (&c.relax, &c.diffuse);
        if jax.is_some() {
            let args = (&mut out, &key, &layout, &count, &n, &chunks, &len, &last, relax, diffuse);
            push_args::<sig::OuChunkSumsJax, _>(&mut launch, args);
        } else {
            push_args::<sig::OuChunkSums, _>(
                &mut launch,
                (&mut out, &spec.seed, &n, &chunks, &len, &last, relax, diffuse),
            );
        }
        // SAFETY: the arguments are `ou_chunk_sums`'s or its `_jax` twin's (push_args);
        // `out` holds n f64 and thread i < n writes out[i] only; chunks >= 1 (a Chunking
        // has at least one chunk).
        let launched = unsafe { launch.launch(cfg) }.map(|_| ());
        self.finish(name, launched)?;
        Ok(self.stream.clone_dtoh(&out).map_err(driver("cuMemcpyDtoH"))?)
    }

    /// W2 mode (a) on the GPU: `out[t·num_sim + i] = x_i[t]` (kernel `ou_path`).
    ///
    /// # Errors
    /// As [`Gpu::ou_final`], plus [`SimError::Shape`] when `out.len()` is not
    /// `(num_steps + 1)·num_sim`.
    pub fn ou_path(&self, spec: &OuSpec, out: &mut [f64]) -> Result<(), SimError> {
        // A path larger than the device's free memory runs in batches of simulations
        // (`ou_path_in_batches` checks the spec and `out`).
        let free = self.ctx.mem_get_info().map_or(usize::MAX, |(free, _)| free);
        let rows = spec.num_steps.saturating_add(1);
        let batch = sims_per_batch(spec.num_sim, rows.saturating_mul(size_of::<f64>()), free);
        self.ou_path_in_batches(spec, out, batch)
    }

    /// [`Gpu::ou_path`] in batches of `batch` simulations (the kernel's `first`), each
    /// copied back into its columns of `out`: what `ou_path` does when a path exceeds the
    /// device's free memory. The same values whatever `batch` (each simulation is its own
    /// thread and stream).
    ///
    /// # Errors
    /// As [`Gpu::ou_path`], and [`simcore::ParamError::ZeroSize`] for `batch = 0`.
    pub fn ou_path_in_batches(&self, spec: &OuSpec, out: &mut [f64], batch: usize) -> Result<(), SimError> {
        spec.validate()?;
        simcore::error::nonzero("batch", batch)?;
        let len = spec.path_len()?;
        if out.len() != len {
            return Err(SimError::Shape { name: "out", expected: len, got: out.len() });
        }
        let n = Self::u32_size("num_sim", spec.num_sim)?;
        let rows = spec.num_steps + 1;
        if batch >= spec.num_sim {
            let mut dev = self.alloc::<f64>("ou path", len)?;
            self.launch_ou(true, spec, 0, n, &mut dev)?;
            self.stream.memcpy_dtoh(&dev, out).map_err(driver("cuMemcpyDtoH"))?;
        } else {
            let mut host = vec![0f64; rows * batch];
            for first in (0..spec.num_sim).step_by(batch) {
                let nb = batch.min(spec.num_sim - first);
                // Batches are few and each is most of the device: one allocation apiece.
                let mut dev = self.alloc::<f64>("ou path batch", rows * nb)?;
                self.launch_ou(true, spec, first as u64, nb as u32, &mut dev)?;
                let part = &mut host[..rows * nb];
                self.stream.memcpy_dtoh(&dev, part).map_err(driver("cuMemcpyDtoH"))?;
                self.stream.synchronize().map_err(driver("cuStreamSynchronize"))?;
                scatter_columns(part, nb, out, spec.num_sim, first);
            }
        }
        self.stream.synchronize().map_err(driver("cuStreamSynchronize"))?;
        Ok(())
    }

    /// W2 mode (c) on the GPU: final states driven by the caller's normals `z`
    /// (`num_steps·num_sim` entries, layout `[t][sim]`; kernel `ou_with_normals`).
    ///
    /// # Errors
    /// As [`Gpu::ou_final`], plus [`SimError::Shape`] for a wrong `z` length.
    pub fn ou_with_normals(&self, spec: &OuSpec, z: &[f64]) -> Result<Vec<f64>, SimError> {
        spec.validate()?;
        let len = spec
            .num_steps
            .checked_mul(spec.num_sim)
            .ok_or(simcore::ParamError::TooLarge { name: "num_steps*num_sim", max: usize::MAX as u64 })?;
        if z.len() != len {
            return Err(SimError::Shape { name: "z", expected: len, got: z.len() });
        }
        let n = Self::u32_size("num_sim", spec.num_sim)?;
        let c = spec.params.coeffs_f64();
        // A zero-length upload would be a null buffer; give the kernel one element.
        let z_dev =
            if z.is_empty() { self.upload("ou normals", &[0.0f64])? } else { self.upload("ou normals", z)? };
        let mut out = self.alloc::<f64>("ou final states", spec.num_sim)?;
        let cfg = self.config(&self.ou_with_normals, n);
        let (steps, x0) = (spec.num_steps as u64, spec.params.x0);
        let mut launch = self.stream.launch_builder(&self.ou_with_normals);
        push_args::<sig::OuWithNormals, _>(
            &mut launch,
            (&mut out, &z_dev, &n, &steps, &x0, &c.relax, &c.diffuse),
        );
        // SAFETY: the arguments are `ou_with_normals`'s (push_args); `out` holds n f64,
        // `z_dev` num_steps·n f64 (checked above), thread i < n writes out[i] only.
        let launched = unsafe { launch.launch(cfg) }.map(|_| ());
        self.finish("ou_with_normals", launched)?;
        Ok(self.stream.clone_dtoh(&out).map_err(driver("cuMemcpyDtoH"))?)
    }

    /// Simulations per W3 thread: enough chunks to fill the GPU (about 8 threads per
    /// resident slot), never fewer than 1 simulation per thread.
    fn sims_per_thread(&self, points: usize, sims: u32) -> u32 {
        let tiles = points.div_ceil(gpu_kernels::body::BINOMIAL_TILE).max(1) as u64;
        let want_threads = u64::from(self.info.multiprocessors.max(1)) * 2048 * 8;
        let chunks = (want_threads / tiles).clamp(1, u64::from(sims));
        u32::try_from(u64::from(sims).div_ceil(chunks)).unwrap_or(u32::MAX).max(1)
    }

    /// W3 validate on the GPU: `rej[g] = #{s : T[g,s] < λ}` at the active points of `plan`,
    /// 0 elsewhere (kernel `binomial_validate`; the same counts as the CPU backends).
    ///
    /// # Errors
    /// [`SimError::Param`] when `S`, the grid or the thread count exceed `u32::MAX`;
    /// [`GpuError`]s.
    pub fn binomial_validate(&self, plan: &BinomialPlan<'_>, lambda: f32) -> Result<Vec<u64>, SimError> {
        let mut rej = vec![0u64; plan.grid];
        let points = plan.active.len();
        if points == 0 {
            return Ok(rej);
        }
        let sims = Self::u32_size("sims", plan.sims)?;
        let spt = self.sims_per_thread(points, sims);
        let probe = gpu_kernels::body::CountArgs {
            p: &plan.p,
            d: plan.d,
            n: plan.n,
            sims,
            sims_per_thread: spt,
            uniforms: gpu_kernels::body::Uniforms::Fused { seed: plan.seed },
        };
        let threads = u32::try_from(probe.threads())
            .map_err(|_| simcore::ParamError::TooLarge { name: "grid points", max: u64::from(u32::MAX) })?;
        let chunks = probe.chunks() as usize;
        let p_dev = self.upload("binomial p", &plan.p)?;
        let mut host = Vec::new();
        let u_dev = match kernel_uniforms(plan, &mut host)? {
            gpu_kernels::body::Uniforms::Pregenerated(u) => Some(self.upload("binomial uniforms", u)?),
            gpu_kernels::body::Uniforms::Fused { .. } => None,
        };
        let mut partial = self.alloc::<u32>("binomial partial counts", points * chunks)?;
        let (pts, d, n, seed) =
            (Self::u32_size("grid points", points)?, plan.d as u32, plan.n as u32, plan.seed);
        let cfg = self.config(&self.binomial_validate, threads);
        let mut launch = self.stream.launch_builder(&self.binomial_validate);
        let args = (&mut partial, &p_dev, &pts, &d, &n, &sims, &spt, &lambda, &seed, u_dev.as_ref());
        push_args::<sig::BinomialValidate, _>(&mut launch, args);
        // SAFETY: the arguments are `binomial_validate`'s (push_args); `p_dev` holds
        // points·d f32, `partial` points·chunks u32, `u_dev` (when given) sims·n·d f32 (the
        // plan checked its length); d = plan.d >= 1 and spt >= 1; `n·d <= 2^24` so d and n
        // fit u32.
        let launched = unsafe { launch.launch(cfg) }.map(|_| ());
        self.finish("binomial_validate", launched)?;
        let partial = self.stream.clone_dtoh(&partial).map_err(driver("cuMemcpyDtoH"))?;
        reduce_partials(plan, &partial, chunks, &mut rej);
        Ok(rej)
    }

    /// W4 / W4d on the GPU (kernel `jansen_rit`): the final states, `[6][nn][B]`
    /// (element `(v·nn + i)·B + b`), one thread per member, state and work area strided by
    /// `B` in global memory.
    ///
    /// # Errors
    /// As [`JansenRitSpec::validate`]; [`SimError::Param`] when `nn` or `B` exceed
    /// `u32::MAX`; [`GpuError`]s.
    pub fn jansen_rit(&self, spec: &JansenRitSpec) -> Result<Vec<f32>, SimError> {
        let (args, len) = jansen_rit_args(spec)?;
        let (nn, bs) = (Self::u32_size("nn", spec.nn)?, Self::u32_size("batch", spec.batch)?);
        let mut x = match &spec.initial {
            Some(x0) => self.upload("jansen-rit state", x0)?,
            None => self.alloc::<f32>("jansen-rit state", len)?,
        };
        let work_len = gpu_kernels::body::jansen_rit_work_elems(spec.nn, spec.lags.is_some())
            .checked_mul(spec.batch)
            .ok_or(simcore::ParamError::TooLarge { name: "nn*batch", max: usize::MAX as u64 })?;
        let mut work = self.alloc::<f32>("jansen-rit work area", work_len)?;
        let weights = self.upload("weights", &spec.weights)?;
        let lags = spec.lags.as_deref().map(|l| self.upload("lags", l)).transpose()?;
        let k = self.upload("k", &spec.k)?;
        let mu = self.upload("mu", &spec.mu)?;
        let params = self.upload("jansen-rit parameters", &args.params)?;
        let (k_len, mu_len) = (spec.k.len() as u32, spec.mu.len() as u32);
        let (nt, seed, dt, sigma) = (args.nt, args.seed, args.dt, args.sigma);
        let f = if args.jax.is_some() { &self.jansen_rit_jax } else { &self.jansen_rit };
        let cfg = self.config(f, bs);
        let mut launch = self.stream.launch_builder(f);
        let (x_, work_, lags) = (&mut x, &mut work, lags.as_ref());
        let (key, layout) = args.jax.map_or((0, 0), |j| j.to_args());
        if args.jax.is_some() {
            let args = (
                x_, work_, &weights, lags, &k, &mu, &params, &nn, &bs, &k_len, &mu_len, &nt, &key, &layout,
                &dt, &sigma,
            );
            push_args::<sig::JansenRitJax, _>(&mut launch, args);
        } else {
            let args = (
                x_, work_, &weights, lags, &k, &mu, &params, &nn, &bs, &k_len, &mu_len, &nt, &seed, &dt,
                &sigma,
            );
            push_args::<sig::JansenRit, _>(&mut launch, args);
        }
        // SAFETY: the arguments are `jansen_rit`'s or `jansen_rit_jax`'s (push_args); `x`
        // holds 6·nn·B f32, `work` jansen_rit_work_elems·B, `weights`/`lags` nn·nn
        // (validated), `k`/`mu` k_len/mu_len (1 or B, validated), `params` JR_PARAMS f32;
        // member b writes lane b only.
        let launched = unsafe { launch.launch(cfg) }.map(|_| ());
        self.finish("jansen_rit", launched)?;
        Ok(self.stream.clone_dtoh(&x).map_err(driver("cuMemcpyDtoH"))?)
    }

    /// W5 on the GPU (kernel `mpr`): per member the population standard deviation of the
    /// stored `r` over `x[401..=nt]`, and the final states `[2][nn][B]`.
    ///
    /// # Errors
    /// As [`MprSpec::validate`]; [`SimError::Param`] when `nn` or `B` exceed `u32::MAX`;
    /// [`GpuError`]s.
    pub fn mpr(&self, spec: &MprSpec) -> Result<MprOutput, SimError> {
        let (args, x0) = mpr_args(spec)?;
        let (nn, bs) = (Self::u32_size("nn", spec.nn)?, Self::u32_size("batch", spec.batch)?);
        let mut x = self.upload("mpr state", &x0)?;
        let mut std_r = self.alloc::<f64>("mpr statistics", spec.batch)?;
        let work_len = gpu_kernels::body::mpr_work_elems(spec.nn)
            .checked_mul(spec.batch)
            .ok_or(simcore::ParamError::TooLarge { name: "nn*batch", max: usize::MAX as u64 })?;
        let mut work = self.alloc::<f32>("mpr work area", work_len)?;
        let weights = self.upload("weights", &spec.weights)?;
        let k = self.upload("k", &spec.k)?;
        let eta = self.upload("eta", &spec.eta)?;
        let params = self.upload("mpr parameters", &args.params)?;
        let (k_len, eta_len) = (spec.k.len() as u32, spec.eta.len() as u32);
        let (nt, stat_first, seed, dt, sigma) = (args.nt, args.stat_first, args.seed, args.dt, args.sigma);
        let f = if args.jax.is_some() { &self.mpr_jax } else { &self.mpr };
        let (key, layout) = args.jax.map_or((0, 0), |j| j.to_args());
        let cfg = self.config(f, bs);
        let mut launch = self.stream.launch_builder(f);
        let (x_, std_r_, work_) = (&mut x, &mut std_r, &mut work);
        if args.jax.is_some() {
            let args = (
                x_,
                std_r_,
                work_,
                &weights,
                &k,
                &eta,
                &params,
                &nn,
                &bs,
                &k_len,
                &eta_len,
                &nt,
                &stat_first,
                &key,
                &layout,
                &dt,
                &sigma,
            );
            push_args::<sig::MprJax, _>(&mut launch, args);
        } else {
            let args = (
                x_,
                std_r_,
                work_,
                &weights,
                &k,
                &eta,
                &params,
                &nn,
                &bs,
                &k_len,
                &eta_len,
                &nt,
                &stat_first,
                &seed,
                &dt,
                &sigma,
            );
            push_args::<sig::Mpr, _>(&mut launch, args);
        }
        // SAFETY: the arguments are `mpr`'s or `mpr_jax`'s (push_args); `x` holds 2·nn·B
        // f32, `std_r` B f64, `work` mpr_work_elems·B f32, `weights` nn·nn, `k`/`eta`
        // k_len/eta_len (1 or B, validated), `params` MPR_PARAMS; member b writes lane b
        // only.
        let launched = unsafe { launch.launch(cfg) }.map(|_| ());
        self.finish("mpr", launched)?;
        let final_state = self.stream.clone_dtoh(&x).map_err(driver("cuMemcpyDtoH"))?;
        let std_r = self.stream.clone_dtoh(&std_r).map_err(driver("cuMemcpyDtoH"))?;
        Ok(MprOutput { std_r, final_state })
    }

    /// The CUDA context (for benchmarks that time with events).
    pub fn context(&self) -> &Arc<CudaContext> {
        &self.ctx
    }
}

/// The validated W4 spec as kernel arguments, and the state length `6·nn·B`.
pub(crate) fn jansen_rit_args(
    spec: &JansenRitSpec,
) -> Result<(gpu_kernels::body::JansenRitArgs<'_>, usize), SimError> {
    spec.validate()?;
    let len = spec.state_len()?;
    u32::try_from(spec.nn)
        .map_err(|_| simcore::ParamError::TooLarge { name: "nn", max: u64::from(u32::MAX) })?;
    u32::try_from(spec.batch)
        .map_err(|_| simcore::ParamError::TooLarge { name: "batch", max: u64::from(u32::MAX) })?;
    let args = gpu_kernels::body::JansenRitArgs {
        nn: spec.nn,
        nt: spec.nt as u64,
        seed: spec.seed,
        dt: spec.dt,
        sigma: spec.sigma,
        params: gpu_kernels::body::jansen_rit_params_to_array(&spec.params),
        k: &spec.k,
        mu: &spec.mu,
        weights: &spec.weights,
        lags: spec.lags.as_deref(),
        jax: jax_noise(spec.jax_key, spec.batch),
    };
    Ok((args, len))
}

/// The kernel form of a spec's JAX key for a batch of `count` members.
pub(crate) fn jax_noise(
    key: Option<crate::workload::jax::JaxKey>,
    count: usize,
) -> Option<gpu_kernels::body::JaxNoise> {
    key.map(|k| gpu_kernels::body::JaxNoise {
        key: k.data(),
        legacy: k.layout() == crate::workload::jax::Layout::Legacy,
        count: count as u64,
    })
}

/// The validated W5 spec as kernel arguments, and the initial state (`r = R0`,
/// `V = V0` on every node of every member, `[2][nn][B]`).
pub(crate) fn mpr_args(spec: &MprSpec) -> Result<(gpu_kernels::body::MprArgs<'_>, Vec<f32>), SimError> {
    use crate::workload::mpr::{R0, STAT_FIRST, V0};
    spec.validate()?;
    u32::try_from(spec.nn)
        .map_err(|_| simcore::ParamError::TooLarge { name: "nn", max: u64::from(u32::MAX) })?;
    u32::try_from(spec.batch)
        .map_err(|_| simcore::ParamError::TooLarge { name: "batch", max: u64::from(u32::MAX) })?;
    let half = spec.nn * spec.batch;
    let mut x0 = vec![R0; 2 * half];
    x0[half..].fill(V0);
    let args = gpu_kernels::body::MprArgs {
        nn: spec.nn,
        nt: spec.nt as u64,
        stat_first: STAT_FIRST as u64,
        seed: spec.seed,
        dt: spec.dt,
        sigma: spec.sigma,
        params: gpu_kernels::body::mpr_params_to_array(&spec.params),
        k: &spec.k,
        eta: &spec.eta,
        weights: &spec.weights,
        jax: jax_noise(spec.jax_key, spec.batch),
    };
    Ok((args, x0))
}

/// Simulations per batch when each needs `bytes_per_sim` of device memory and `free` is
/// free: all of them if they fit in three quarters of it (room for the driver and other
/// buffers), else as many as do, at least one (its allocation then fails with a typed
/// out-of-memory error if even that is too much).
pub(crate) fn sims_per_batch(num_sim: usize, bytes_per_sim: usize, free: usize) -> usize {
    let budget = free / 4 * 3;
    (budget / bytes_per_sim.max(1)).clamp(1, num_sim.max(1))
}

/// Copies a batch's `[t][nb]` rows (`src`) into columns `first .. first + nb` of the
/// `[t][num_sim]` array `dst`.
pub(crate) fn scatter_columns(src: &[f64], nb: usize, dst: &mut [f64], num_sim: usize, first: usize) {
    for (row, d) in src.chunks_exact(nb).zip(dst.chunks_exact_mut(num_sim)) {
        d[first..first + nb].copy_from_slice(row);
    }
}

/// Threads per block for `n` one-thread-per-item threads on `sms` multiprocessors, given
/// the occupancy-optimal block `occupancy`: that block when the grid fills every SM with
/// it; for fewer items, smaller blocks (whole warps, at least one) so that the blocks
/// spread over as many SMs as the items allow — W4 at `B = 1024` in 256-thread blocks ran
/// on 4 of an H100's 132 SMs, in 32-thread blocks it reaches 32.
pub(crate) fn launch_block(occupancy: u32, n: u32, sms: u32) -> u32 {
    let occupancy = (occupancy / 32 * 32).max(32);
    // Saturating: with a 0- or 1-SM reading and n near u32::MAX, `* 32` would wrap.
    let spread = n.div_ceil(sms.max(1)).div_ceil(32).saturating_mul(32);
    spread.clamp(32, occupancy)
}

/// `rej[active[j]] = Σ_c partial[j·chunks + c]`: the host half of W3 validate, shared
/// by the GPU runner and the emulator.
pub(crate) fn reduce_partials(plan: &BinomialPlan<'_>, partial: &[u32], chunks: usize, rej: &mut [u64]) {
    for (j, &g) in plan.active.iter().enumerate() {
        rej[g] = partial[j * chunks..(j + 1) * chunks].iter().map(|&r| u64::from(r)).sum();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_past_device_memory_run_in_batches_of_simulations() {
        // 8 paths of 5e6 steps (40 MB each) fit a 139 GB device at once...
        assert_eq!(sims_per_batch(8, 40_000_008, 139 << 30), 8);
        // ...not a 100 MB one: 75 MB of budget, one path per batch; never zero.
        assert_eq!(sims_per_batch(8, 40_000_008, 100 << 20), 1);
        assert_eq!(sims_per_batch(8, 40_000_008, 0), 1);
        assert_eq!(sims_per_batch(1000, 8, 8 * 4 * 10), 30);
        // Columns land where the whole-array copy would put them.
        let (rows, num_sim) = (3usize, 5usize);
        let whole: Vec<f64> = (0..rows * num_sim).map(|k| k as f64).collect();
        let mut out = vec![f64::NAN; rows * num_sim];
        for (first, nb) in [(0usize, 2usize), (2, 2), (4, 1)] {
            let batch: Vec<f64> =
                (0..rows).flat_map(|t| (first..first + nb).map(move |i| (t * num_sim + i) as f64)).collect();
            scatter_columns(&batch, nb, &mut out, num_sim, first);
        }
        assert_eq!(out, whole);
    }

    #[test]
    fn blocks_shrink_for_small_batches_and_never_break_warps() {
        // Large grids: the occupancy block.
        assert_eq!(launch_block(256, 1 << 20, 132), 256);
        assert_eq!(launch_block(128, 1 << 20, 132), 128);
        // W4 at B = 1024 on 132 SMs: 8 items per SM, one warp per block, 32 blocks.
        assert_eq!(launch_block(256, 1024, 132), 32);
        // W5's sweep (1152): still one warp; 40 000 items: 304 per SM, capped at 256.
        assert_eq!(launch_block(256, 1152, 132), 32);
        assert_eq!(launch_block(256, 20_000, 132), 160);
        assert_eq!(launch_block(256, 40_000, 132), 256);
        // Odd inputs: a block is whole warps, at least one.
        assert_eq!(launch_block(0, 0, 0), 32);
        assert_eq!(launch_block(100, 1 << 20, 132), 96);
        assert_eq!(launch_block(1024, 8, 132), 32);
        // A 0- or 1-SM reading with n near u32::MAX: no overflow, the occupancy block.
        assert_eq!(launch_block(256, u32::MAX, 0), 256);
        assert_eq!(launch_block(256, u32::MAX - 3, 1), 256);
    }

    #[test]
    fn bandwidth_from_clock_and_bus() {
        let info = DeviceInfo {
            ordinal: 0,
            name: "H100".into(),
            compute_capability: (9, 0),
            multiprocessors: 132,
            memory_clock_khz: 2_619_000,
            bus_width_bits: 5120,
            total_memory: 80 << 30,
            ptx_arch: "sm_90",
        };
        assert!((info.theoretical_bandwidth() / 1e12 - 3.352).abs() < 1e-3);
    }

    #[test]
    fn no_driver_is_an_error_not_a_panic() {
        match Gpu::new(0) {
            Ok(gpu) => assert!(!gpu.info().name.is_empty()),
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
}
