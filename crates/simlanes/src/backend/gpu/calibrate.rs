//! W3 **calibrate** on the GPU (kernel `binomial_histogram`, see
//! [`gpu_kernels::calibrate`]): the device builds, per null grid point, the histogram of
//! the counts `count[g,s]` (`n·d + 1` bins); the host walks each histogram's prefix sum to
//! the `m`-th smallest count and returns `λ*[g] = statistic(count)` — the same f32 the CPU
//! backends return, since `T` is monotone in the count (the CPU's simd backend selects on
//! counts too; the scalar one selects on `T` and gets the same value).
//!
//! Why the selection is on the host: the histograms are small (`G·(n·d + 1)` u32, 5.7 MB
//! for B4) next to the `G·S·n·d` comparisons that fill them, and a prefix sum per point
//! is microseconds of host time. Grids whose histograms exceed [`HIST_BUDGET_BYTES`] are
//! done in chunks of points, one launch each, so device memory holds at most one chunk.
//!
//! [`binomial_calibrate_emulated`] runs the very same kernel body through the host grid
//! emulator, which is how CI (no GPU) proves the kernel equals the CPU calibrate.

use gpu_kernels::body::CountArgs;
use gpu_kernels::calibrate::binomial_histogram_merged;
use gpu_kernels::signature::BinomialHistogram;
use simcore::stats::mth_smallest_count;

use super::args::push_args;
use super::{Gpu, GpuError, driver};
use crate::error::SimError;
use crate::workload::binomial::BinomialPlan;
use simcore::ParamError;
use simcore::models::binomial::statistic;

/// Most bytes of histograms one launch fills (larger grids are split into chunks of
/// points): 256 MiB.
pub const HIST_BUDGET_BYTES: usize = 256 << 20;

/// Points per launch for `bins` bins per point: as many as fit [`HIST_BUDGET_BYTES`],
/// a multiple of the kernel's tile when more than one tile fits, at least 1.
fn points_per_launch(bins: usize) -> usize {
    let tile = gpu_kernels::body::BINOMIAL_TILE;
    let fit = (HIST_BUDGET_BYTES / (4 * bins.max(1))).max(1);
    if fit >= tile { fit / tile * tile } else { fit }
}

/// `λ*` of each point of a chunk from its histograms (`points × bins`, row-major): the
/// statistic of the `m`-th smallest count. Every histogram must hold exactly `sims`
/// counts — anything else means the kernel did not visit every simulation once, reported
/// as a launch failure rather than a wrong threshold.
fn select_from_histograms(
    kernel: &'static str,
    hist: &[u32],
    bins: usize,
    sims: usize,
    m: usize,
    nd: usize,
) -> Result<Vec<f32>, SimError> {
    hist.chunks_exact(bins)
        .enumerate()
        .map(|(j, h)| {
            let total: u64 = h.iter().map(|&c| u64::from(c)).sum();
            if total != sims as u64 {
                return Err(GpuError::Launch {
                    kernel,
                    reason: format!("histogram {j} holds {total} counts, expected {sims}"),
                }
                .into());
            }
            let c = mth_smallest_count(h, m as u64)
                .ok_or(ParamError::TooLarge { name: "m", max: sims as u64 })?;
            Ok(statistic::<f32>(c, nd))
        })
        .collect()
}

/// Checks `m` and `S` and gives `S` as u32.
fn check_rank(plan: &BinomialPlan<'_>, m: usize) -> Result<u32, SimError> {
    if m == 0 {
        return Err(ParamError::ZeroSize { name: "m" }.into());
    }
    if m > plan.sims {
        return Err(ParamError::TooLarge { name: "m", max: plan.sims as u64 }.into());
    }
    u32::try_from(plan.sims)
        .map_err(|_| ParamError::TooLarge { name: "sims", max: u64::from(u32::MAX) }.into())
}

impl Gpu {
    /// W3 calibrate on the GPU: `λ*[g]` = the `m`-th smallest `T[g,s]` (1-based) at the
    /// active points of `plan`, `f32::NAN` elsewhere — bit for bit the CPU backends' result
    /// (kernel `binomial_histogram`, module docs).
    ///
    /// # Errors
    /// [`SimError::Param`] when `m` is 0 or above `S`, or `S` or the thread count exceed
    /// `u32::MAX`; [`GpuError`]s (a histogram that does not hold `S` counts is a
    /// [`GpuError::Launch`]).
    pub fn binomial_calibrate(&self, plan: &BinomialPlan<'_>, m: usize) -> Result<Vec<f32>, SimError> {
        const KERNEL: &str = "binomial_histogram";
        let mut out = vec![f32::NAN; plan.grid];
        let sims = check_rank(plan, m)?;
        if plan.active.is_empty() {
            return Ok(out);
        }
        let f = self._module.load_function(KERNEL).map_err(|e| GpuError::PtxRejected {
            arch: self.info.ptx_arch,
            reason: format!("kernel `{KERNEL}` missing: {e}"),
        })?;
        let (d, n, bins) = (plan.d, plan.n, plan.nd + 1);
        let mut host = Vec::new();
        let uniforms = super::kernel_uniforms(plan, &mut host)?;
        let u_dev = match uniforms {
            gpu_kernels::body::Uniforms::Pregenerated(u) => Some(self.upload("binomial uniforms", u)?),
            gpu_kernels::body::Uniforms::Fused { .. } => None,
        };
        let per_launch = points_per_launch(bins);
        for (ci, gs) in plan.active.chunks(per_launch).enumerate() {
            let points = gs.len();
            let p = &plan.p[ci * per_launch * d..(ci * per_launch + points) * d];
            let spt = self.sims_per_thread(points, sims);
            let args = CountArgs { p, d, n, sims, sims_per_thread: spt, uniforms };
            let threads = u32::try_from(args.threads())
                .map_err(|_| ParamError::TooLarge { name: "grid points", max: u64::from(u32::MAX) })?;
            let p_dev = self.upload("binomial p", p)?;
            let mut hist = self.alloc::<u32>("binomial histograms", points * bins)?;
            let (pts, d32, n32, seed) =
                (Self::u32_size("grid points", points)?, d as u32, n as u32, plan.seed);
            let cfg = self.config(&f, threads);
            let mut launch = self.stream.launch_builder(&f);
            let args = (&mut hist, &p_dev, &pts, &d32, &n32, &sims, &spt, &seed, u_dev.as_ref());
            push_args::<BinomialHistogram, _>(&mut launch, args);
            // SAFETY: the arguments are `binomial_histogram`'s (push_args); `p_dev` holds points·d f32, `hist` points·(n·d+1) zeroed u32, `u_dev` (when
            // given) S·n·d f32 (the plan checked its length); d >= 1, spt >= 1 and
            // n·d <= 2^24, so d and n fit u32. Threads only increment bins atomically.
            let launched = unsafe { launch.launch(cfg) }.map(|_| ());
            self.finish(KERNEL, launched)?;
            let hist = self.stream.clone_dtoh(&hist).map_err(driver("cuMemcpyDtoH"))?;
            let lambdas = select_from_histograms(KERNEL, &hist, bins, plan.sims, m, plan.nd)?;
            for (&g, l) in gs.iter().zip(lambdas) {
                out[g] = l;
            }
        }
        Ok(out)
    }
}

/// W3 calibrate through the emulated kernel `binomial_histogram`, exactly as
/// [`Gpu::binomial_calibrate`] runs it (same chunking of points, same host selection) but
/// with `sims_per_thread` chosen by the caller (any value >= 1 must give the same result).
///
/// # Errors
/// As [`Gpu::binomial_calibrate`], without the device errors.
pub fn binomial_calibrate_emulated(
    plan: &BinomialPlan<'_>,
    m: usize,
    sims_per_thread: u32,
) -> Result<Vec<f32>, SimError> {
    emulated_in_chunks(plan, m, sims_per_thread, points_per_launch(plan.nd + 1))
}

/// [`binomial_calibrate_emulated`] with `per_launch` points per emulated launch.
fn emulated_in_chunks(
    plan: &BinomialPlan<'_>,
    m: usize,
    sims_per_thread: u32,
    per_launch: usize,
) -> Result<Vec<f32>, SimError> {
    let mut out = vec![f32::NAN; plan.grid];
    let sims = check_rank(plan, m)?;
    let (d, bins) = (plan.d, plan.nd + 1);
    let mut host = Vec::new();
    let uniforms = super::kernel_uniforms(plan, &mut host)?;
    for (ci, gs) in plan.active.chunks(per_launch).enumerate() {
        let p = &plan.p[ci * per_launch * d..(ci * per_launch + gs.len()) * d];
        let args = CountArgs { p, d, n: plan.n, sims, sims_per_thread: sims_per_thread.max(1), uniforms };
        let threads = u32::try_from(args.threads())
            .map_err(|_| ParamError::TooLarge { name: "grid points", max: u64::from(u32::MAX) })?;
        let mut hist = vec![0u32; gs.len() * bins];
        super::emulator::grid(threads, |i| {
            binomial_histogram_merged(i, &args, |g, c, k| hist[g * bins + c as usize] += k);
        });
        let lambdas = select_from_histograms("binomial_histogram", &hist, bins, plan.sims, m, plan.nd)?;
        for (&g, l) in gs.iter().zip(lambdas) {
            out[g] = l;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launch_chunks_fit_the_budget_and_the_tile() {
        let tile = gpu_kernels::body::BINOMIAL_TILE;
        for bins in [2usize, 5, 1401, 1 << 20, (1 << 24) + 1] {
            let k = points_per_launch(bins);
            assert!(k >= 1 && k * bins * 4 <= HIST_BUDGET_BYTES.max(bins * 4), "bins {bins}");
            assert!(k < tile || k.is_multiple_of(tile), "bins {bins}: {k}");
        }
    }

    #[test]
    fn chunks_of_points_give_the_whole_grid_result() {
        use crate::workload::binomial::BinomialSpec;
        let theta: Vec<f64> = (0..21 * 3).map(|i| (i as f64 * 0.41).sin()).collect();
        let null = (0..21).map(|g| g % 4 != 2).collect();
        let spec = BinomialSpec { seed: 5, theta, d: 3, n: 4, sims: 97, null_truth: Some(null) };
        let plan = spec.plan(crate::workload::binomial::Uniforms::Fused).unwrap();
        for m in [1, 30, 97] {
            let whole = emulated_in_chunks(&plan, m, 7, usize::MAX).unwrap();
            let want = crate::backend::scalar::binomial::calibrate(&plan, m).unwrap();
            assert_eq!(
                whole.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                want.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
            );
            for per_launch in [1, 3, 8, 15] {
                let got = emulated_in_chunks(&plan, m, 7, per_launch).unwrap();
                assert_eq!(
                    got.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                    want.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                    "{per_launch}"
                );
            }
        }
    }

    #[test]
    fn a_histogram_missing_counts_is_an_error() {
        // Two points, bins 0..=2, S = 3: the second histogram lost a count.
        let hist = [1u32, 1, 1, 0, 2, 0];
        let e = select_from_histograms("k", &hist, 3, 3, 1, 2).unwrap_err();
        assert!(matches!(e, SimError::Gpu(GpuError::Launch { .. })), "{e}");
        let ok = select_from_histograms("k", &[1, 1, 1, 0, 3, 0], 3, 3, 2, 2).unwrap();
        assert_eq!(ok, vec![0.5, 0.5]);
    }
}
