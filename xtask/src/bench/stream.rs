//! Memory bandwidth, BabelStream-style (UoB-HPC/BabelStream): the measured ceiling every
//! workload row is compared with.
//!
//! Kernels, per element `i`, with BabelStream's start values `a = 0.1, b = 0.2, c = 0.0`
//! and `scalar = 0.4`, run in this order in every iteration:
//!
//! | kernel | body                | bytes counted per element | traffic    |
//! |--------|---------------------|---------------------------|------------|
//! | Fill   | `c[i] = 0.3`        | 1 × size                  | write      |
//! | Copy   | `c[i] = a[i]`       | 2 × size                  | copy       |
//! | Scale  | `b[i] = s * c[i]`   | 2 × size                  | copy       |
//! | Add    | `c[i] = a[i] + b[i]`| 3 × size                  | copy       |
//! | Triad  | `a[i] = b[i] + s*c[i]` | 3 × size               | copy       |
//! | Dot    | `Σ a[i] * b[i]`     | 2 × size                  | read       |
//! | Sum    | `Σ a[i]`            | 1 × size                  | read       |
//!
//! Fill is not in BabelStream: it is the one write-only kernel, and gives the write
//! figure (its value is overwritten by Copy, so the gold result is BabelStream's).
//! Bytes are the bytes the program asks for (BabelStream's convention): a store that
//! misses the cache also reads the line first (write-allocate) unless it is
//! non-temporal, so cached-store kernels move more than they are credited with.
//!
//! Every write kernel is also run with **non-temporal stores** (`vmovntps/pd`, which
//! skip the write-allocate read), right after its cached twin; both compute the same
//! values, so the gold check is unaffected. The report keeps the faster of the two per
//! kernel and says which. Copy's cached twin is `copy_from_slice`, i.e. `memcpy`, which
//! glibc itself switches to non-temporal stores for very large copies.
//!
//! Arrays are at least 4× the last-level cache each (so nothing is served from cache),
//! 64-byte aligned, split into one contiguous chunk per thread and first touched by
//! the threads that use them. Every kernel runs `repeats` times; run 1 is dropped and
//! the bandwidth is bytes / minimum time (GB/s = 1e9 bytes/s). After the last
//! iteration the arrays, the dot product and the sum are checked against the gold
//! values computed by running the same operations on one scalar; a mismatch fails
//! the whole benchmark.

use std::ops::{Add, Mul};
use std::time::Instant;

use rayon::prelude::*;

use super::timing::Stats;

/// What a kernel's bytes are: read only, write only, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Traffic {
    /// Loads only.
    Read,
    /// Stores only.
    Write,
    /// Loads and stores.
    Copy,
}

impl Traffic {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Traffic::Read => "read",
            Traffic::Write => "write",
            Traffic::Copy => "copy",
        }
    }
}

/// The kernels, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// `c = 0.3`.
    Fill,
    /// `c = a`.
    Copy,
    /// `b = s c`.
    Scale,
    /// `c = a + b`.
    Add,
    /// `a = b + s c`.
    Triad,
    /// `Σ a b`.
    Dot,
    /// `Σ a`.
    Sum,
}

impl Kernel {
    /// All kernels in run order.
    pub const ALL: [Kernel; 7] =
        [Kernel::Fill, Kernel::Copy, Kernel::Scale, Kernel::Add, Kernel::Triad, Kernel::Dot, Kernel::Sum];

    /// Name as in BabelStream (`Mul` is called Scale here, as in McCalpin's STREAM).
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Fill => "Fill",
            Kernel::Copy => "Copy",
            Kernel::Scale => "Scale",
            Kernel::Add => "Add",
            Kernel::Triad => "Triad",
            Kernel::Dot => "Dot",
            Kernel::Sum => "Sum",
        }
    }

    /// Arrays touched per element.
    pub fn arrays(self) -> usize {
        match self {
            Kernel::Fill | Kernel::Sum => 1,
            Kernel::Copy | Kernel::Scale | Kernel::Dot => 2,
            Kernel::Add | Kernel::Triad => 3,
        }
    }

    /// Read, write or both.
    pub fn traffic(self) -> Traffic {
        match self {
            Kernel::Fill => Traffic::Write,
            Kernel::Dot | Kernel::Sum => Traffic::Read,
            _ => Traffic::Copy,
        }
    }

    /// Whether the kernel stores (and so has a non-temporal twin).
    pub fn writes(self) -> bool {
        !matches!(self.traffic(), Traffic::Read)
    }
}

/// One kernel's result.
#[derive(Debug, Clone)]
pub struct KernelResult {
    /// The kernel.
    pub kernel: Kernel,
    /// Element type name (`f32`/`f64`).
    pub precision: &'static str,
    /// Threads used.
    pub threads: usize,
    /// Whether the reported figure used non-temporal stores.
    pub non_temporal: bool,
    /// Bandwidth of the cached-store version (GB/s), or of the only version.
    pub gbs_cached: f64,
    /// Bandwidth of the non-temporal version (GB/s), for write kernels.
    pub gbs_nt: Option<f64>,
    /// Timing of the reported version (run 1 dropped).
    pub stats: Stats,
}

impl KernelResult {
    /// The reported (faster) bandwidth, GB/s.
    pub fn gbs(&self) -> f64 {
        self.gbs_nt.map_or(self.gbs_cached, |nt| nt.max(self.gbs_cached))
    }
}

/// Element type of the stream arrays.
pub trait Elem: Copy + Send + Sync + PartialEq + Add<Output = Self> + Mul<Output = Self> + 'static {
    /// `f32` or `f64`.
    const NAME: &'static str;
    /// Relative tolerance of the dot product and sum against gold.
    const REDUCTION_TOL: f64;
    /// Conversion from f64 (rounded).
    fn from_f64(x: f64) -> Self;
    /// Conversion to f64 (exact).
    fn to_f64(self) -> f64;
    /// Non-temporal `dst = x`.
    fn nt_fill(dst: &mut [Self], x: Self);
    /// Non-temporal `dst = src`.
    fn nt_copy(dst: &mut [Self], src: &[Self]);
    /// Non-temporal `dst = s * src`.
    fn nt_scale(dst: &mut [Self], src: &[Self], s: Self);
    /// Non-temporal `dst = x + y`.
    fn nt_add(dst: &mut [Self], x: &[Self], y: &[Self]);
    /// Non-temporal `dst = x + s * y`.
    fn nt_triad(dst: &mut [Self], x: &[Self], y: &[Self], s: Self);
}

/// Non-temporal store kernels for one element type. The vector body runs over the
/// 32-byte-aligned part of `dst`; the unaligned head and the tail use plain stores.
macro_rules! nt_kernels {
    ($t:ty, $vec:ident, $lanes:expr, $load:ident, $stream:ident, $set1:ident, $add:ident, $mul:ident) => {
        #[cfg(target_arch = "x86_64")]
        fn nt_map(dst: &mut [$t], f: impl Fn(usize) -> $t, fv: impl Fn(usize) -> std::arch::x86_64::$vec) {
            let head = dst.as_ptr().align_offset(32).min(dst.len());
            for (i, d) in dst[..head].iter_mut().enumerate() {
                *d = f(i);
            }
            let body = (dst.len() - head) / $lanes * $lanes;
            let mut i = head;
            while i < head + body {
                // SAFETY: `i + lanes <= dst.len()` (body is a multiple of the lane count
                // after `head`), and `dst[head..]` is 32-byte aligned, as is every
                // `dst[i]` here (i - head is a multiple of 32 bytes), which is what the
                // streaming store requires. AVX is compiled in (x86-64-v3).
                unsafe { std::arch::x86_64::$stream(dst.as_mut_ptr().add(i), fv(i)) };
                i += $lanes;
            }
            for (j, d) in dst[head + body..].iter_mut().enumerate() {
                *d = f(head + body + j);
            }
            // Streaming stores are weakly ordered: fence before anyone reads `dst`.
            // SAFETY: SSE is baseline on x86-64.
            unsafe { std::arch::x86_64::_mm_sfence() };
        }

        #[cfg(target_arch = "x86_64")]
        fn load(s: &[$t], i: usize) -> std::arch::x86_64::$vec {
            assert!(i + $lanes <= s.len());
            // SAFETY: bounds checked just above; unaligned load.
            unsafe { std::arch::x86_64::$load(s.as_ptr().add(i)) }
        }

        impl Elem for $t {
            const NAME: &'static str = stringify!($t);
            const REDUCTION_TOL: f64 = if $lanes == 8 { 1e-5 } else { 1e-11 };
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[cfg(target_arch = "x86_64")]
            fn nt_fill(dst: &mut [Self], x: Self) {
                use std::arch::x86_64::*;
                // SAFETY (all intrinsics below): AVX is present, checked by `stream::run`.
                let v = unsafe { $set1(x) };
                nt_map(dst, |_| x, |_| v);
            }
            #[cfg(target_arch = "x86_64")]
            fn nt_copy(dst: &mut [Self], src: &[Self]) {
                nt_map(dst, |i| src[i], |i| load(src, i));
            }
            #[cfg(target_arch = "x86_64")]
            fn nt_scale(dst: &mut [Self], src: &[Self], s: Self) {
                use std::arch::x86_64::*;
                let sv = unsafe { $set1(s) };
                nt_map(dst, |i| s * src[i], |i| unsafe { $mul(sv, load(src, i)) });
            }
            #[cfg(target_arch = "x86_64")]
            fn nt_add(dst: &mut [Self], x: &[Self], y: &[Self]) {
                use std::arch::x86_64::*;
                nt_map(dst, |i| x[i] + y[i], |i| unsafe { $add(load(x, i), load(y, i)) });
            }
            #[cfg(target_arch = "x86_64")]
            fn nt_triad(dst: &mut [Self], x: &[Self], y: &[Self], s: Self) {
                use std::arch::x86_64::*;
                let sv = unsafe { $set1(s) };
                nt_map(dst, |i| x[i] + s * y[i], |i| unsafe { $add(load(x, i), $mul(sv, load(y, i))) });
            }
            #[cfg(not(target_arch = "x86_64"))]
            fn nt_fill(dst: &mut [Self], x: Self) {
                dst.fill(x)
            }
            #[cfg(not(target_arch = "x86_64"))]
            fn nt_copy(dst: &mut [Self], src: &[Self]) {
                dst.copy_from_slice(src)
            }
            #[cfg(not(target_arch = "x86_64"))]
            fn nt_scale(dst: &mut [Self], src: &[Self], s: Self) {
                dst.iter_mut().zip(src).for_each(|(d, &c)| *d = s * c)
            }
            #[cfg(not(target_arch = "x86_64"))]
            fn nt_add(dst: &mut [Self], x: &[Self], y: &[Self]) {
                dst.iter_mut().zip(x.iter().zip(y)).for_each(|(d, (&a, &b))| *d = a + b)
            }
            #[cfg(not(target_arch = "x86_64"))]
            fn nt_triad(dst: &mut [Self], x: &[Self], y: &[Self], s: Self) {
                dst.iter_mut().zip(x.iter().zip(y)).for_each(|(d, (&b, &c))| *d = b + s * c)
            }
        }
    };
}

mod nt_f32 {
    // The intrinsics are safe calls when the build enables AVX (x86-64-v3), unsafe
    // ones otherwise: the `unsafe` blocks are needed in one build and not the other.
    #![allow(unused_unsafe)]
    use super::Elem;
    nt_kernels!(
        f32,
        __m256,
        8,
        _mm256_loadu_ps,
        _mm256_stream_ps,
        _mm256_set1_ps,
        _mm256_add_ps,
        _mm256_mul_ps
    );
}
mod nt_f64 {
    #![allow(unused_unsafe)]
    use super::Elem;
    nt_kernels!(
        f64,
        __m256d,
        4,
        _mm256_loadu_pd,
        _mm256_stream_pd,
        _mm256_set1_pd,
        _mm256_add_pd,
        _mm256_mul_pd
    );
}

/// A 64-byte-aligned array of `n` elements inside an over-allocated `Vec`.
struct Aligned<T> {
    buf: Vec<T>,
    off: usize,
    n: usize,
}

impl<T: Elem> Aligned<T> {
    fn new(n: usize, zero: T) -> Self {
        let extra = 64 / std::mem::size_of::<T>();
        // Not touched here: the threads that use the array write it first.
        let mut buf = Vec::with_capacity(n + extra);
        buf.resize(n + extra, zero);
        let off = buf.as_ptr().align_offset(64);
        Self { buf, off, n }
    }
    fn get(&self) -> &[T] {
        &self.buf[self.off..self.off + self.n]
    }
    fn get_mut(&mut self) -> &mut [T] {
        &mut self.buf[self.off..self.off + self.n]
    }
}

/// Sum of `x[i] * y[i]` (or of `x[i]` when `y` is `None`), with 16 independent
/// accumulators (so the loop vectorises) flushed to f64 every 1024 elements (so f32
/// sums of 10^8 terms stay accurate).
fn reduce<T: Elem>(x: &[T], y: Option<&[T]>) -> f64 {
    let zero = T::from_f64(0.0);
    let mut total = 0.0f64;
    let mut k = 0;
    while k < x.len() {
        let end = (k + 1024).min(x.len());
        let mut acc = [zero; 16];
        let xs = &x[k..end];
        match y {
            Some(y) => {
                let ys = &y[k..end];
                let mut xc = xs.chunks_exact(16);
                let mut yc = ys.chunks_exact(16);
                for (a, b) in (&mut xc).zip(&mut yc) {
                    for l in 0..16 {
                        acc[l] = acc[l] + a[l] * b[l];
                    }
                }
                for (a, b) in xc.remainder().iter().zip(yc.remainder()) {
                    acc[0] = acc[0] + *a * *b;
                }
            }
            None => {
                let mut xc = xs.chunks_exact(16);
                for a in &mut xc {
                    for l in 0..16 {
                        acc[l] = acc[l] + a[l];
                    }
                }
                for a in xc.remainder() {
                    acc[0] = acc[0] + *a;
                }
            }
        }
        total += acc.iter().map(|v| v.to_f64()).sum::<f64>();
        k = end;
    }
    total
}

/// Errors unless the running CPU has AVX2 and FMA (x86-64-v3), which the intrinsics of
/// this module and of [`super::fma`] rely on.
pub fn require_avx2_fma() -> Result<(), String> {
    #[cfg(target_arch = "x86_64")]
    if !(std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")) {
        return Err("this CPU lacks AVX2/FMA (x86-64-v3), which simlanes requires".into());
    }
    Ok(())
}

/// Bandwidth measurement settings.
#[derive(Debug, Clone, Copy)]
pub struct StreamConfig {
    /// Bytes per array.
    pub array_bytes: usize,
    /// Iterations (run 1 dropped), at least 2.
    pub repeats: usize,
}

/// Runs every kernel on `pool` (its thread count is the row's), for element type `T`.
/// `tick` is called once per kernel timing completed (for the progress bar).
///
/// # Errors
/// The gold check failed (the message names the array or reduction).
pub fn run<T: Elem>(
    pool: &rayon::ThreadPool,
    cfg: StreamConfig,
    tick: &dyn Fn(),
) -> Result<Vec<KernelResult>, String> {
    require_avx2_fma()?;
    let threads = pool.current_num_threads();
    let n = cfg.array_bytes / std::mem::size_of::<T>();
    let zero = T::from_f64(0.0);
    let (init_a, init_b, init_c, fill, s) =
        (T::from_f64(0.1), T::from_f64(0.2), T::from_f64(0.0), T::from_f64(0.3), T::from_f64(0.4));
    let (mut a, mut b, mut c) = (Aligned::new(n, zero), Aligned::new(n, zero), Aligned::new(n, zero));
    // One contiguous chunk per thread, a multiple of 64 bytes so every chunk stays aligned.
    let per = 64 / std::mem::size_of::<T>();
    let chunk = n.div_ceil(threads).div_ceil(per) * per;

    pool.install(|| {
        a.get_mut().par_chunks_mut(chunk).for_each(|x| x.fill(init_a));
        b.get_mut().par_chunks_mut(chunk).for_each(|x| x.fill(init_b));
        c.get_mut().par_chunks_mut(chunk).for_each(|x| x.fill(init_c));
    });

    // times[kernel][variant]: variant 0 cached stores, 1 non-temporal.
    let mut times = vec![[Vec::new(), Vec::new()]; Kernel::ALL.len()];
    let (mut dot, mut sum) = (0.0, 0.0);
    let timed = |f: &mut dyn FnMut()| {
        let t = Instant::now();
        f();
        t.elapsed().as_secs_f64()
    };
    for _ in 0..cfg.repeats {
        for (k, kernel) in Kernel::ALL.iter().enumerate() {
            for nt in [false, true] {
                if nt && !kernel.writes() {
                    continue;
                }
                let t = pool.install(|| match kernel {
                    Kernel::Fill => timed(&mut || {
                        c.get_mut()
                            .par_chunks_mut(chunk)
                            .for_each(|c| if nt { T::nt_fill(c, fill) } else { c.fill(fill) })
                    }),
                    Kernel::Copy => timed(&mut || {
                        c.get_mut()
                            .par_chunks_mut(chunk)
                            .zip(a.get().par_chunks(chunk))
                            .for_each(|(c, a)| if nt { T::nt_copy(c, a) } else { c.copy_from_slice(a) })
                    }),
                    Kernel::Scale => timed(&mut || {
                        b.get_mut().par_chunks_mut(chunk).zip(c.get().par_chunks(chunk)).for_each(|(b, c)| {
                            if nt {
                                T::nt_scale(b, c, s)
                            } else {
                                b.iter_mut().zip(c).for_each(|(b, &c)| *b = s * c)
                            }
                        })
                    }),
                    Kernel::Add => timed(&mut || {
                        c.get_mut()
                            .par_chunks_mut(chunk)
                            .zip(a.get().par_chunks(chunk).zip(b.get().par_chunks(chunk)))
                            .for_each(|(c, (a, b))| {
                                if nt {
                                    T::nt_add(c, a, b)
                                } else {
                                    c.iter_mut().zip(a.iter().zip(b)).for_each(|(c, (&a, &b))| *c = a + b)
                                }
                            })
                    }),
                    Kernel::Triad => timed(&mut || {
                        a.get_mut()
                            .par_chunks_mut(chunk)
                            .zip(b.get().par_chunks(chunk).zip(c.get().par_chunks(chunk)))
                            .for_each(|(a, (b, c))| {
                                if nt {
                                    T::nt_triad(a, b, c, s)
                                } else {
                                    a.iter_mut().zip(b.iter().zip(c)).for_each(|(a, (&b, &c))| *a = b + s * c)
                                }
                            })
                    }),
                    Kernel::Dot => timed(&mut || {
                        dot = a
                            .get()
                            .par_chunks(chunk)
                            .zip(b.get().par_chunks(chunk))
                            .map(|(a, b)| reduce(a, Some(b)))
                            .sum()
                    }),
                    Kernel::Sum => {
                        timed(&mut || sum = a.get().par_chunks(chunk).map(|a| reduce(a, None)).sum())
                    }
                });
                times[k][usize::from(nt)].push(t);
                tick();
            }
        }
    }

    check_gold(cfg.repeats, [a.get(), b.get(), c.get()], dot, sum, [init_a, init_b, init_c, s])?;

    let size = std::mem::size_of::<T>() as f64;
    Ok(Kernel::ALL
        .iter()
        .zip(&times)
        .map(|(&kernel, t)| {
            let bytes = (kernel.arrays() * n) as f64 * size;
            let cached = Stats::dropping_first(&t[0]);
            let nt = kernel.writes().then(|| Stats::dropping_first(&t[1]));
            let gbs_cached = bytes / cached.best / 1e9;
            let gbs_nt = nt.as_ref().map(|nt| bytes / nt.best / 1e9);
            let non_temporal = gbs_nt.is_some_and(|g| g > gbs_cached);
            KernelResult {
                kernel,
                precision: T::NAME,
                threads,
                non_temporal,
                gbs_cached,
                gbs_nt,
                stats: if non_temporal { nt.unwrap_or(cached) } else { cached },
            }
        })
        .collect())
}

/// The values every element should hold after `repeats` iterations, computed by the
/// same operations in the same type (so the arrays must match exactly), and the
/// expected dot product and sum.
fn gold<T: Elem>(repeats: usize, [a0, b0, c0, s]: [T; 4]) -> (T, T, T) {
    let (mut a, mut b, mut c) = (a0, b0, c0);
    for _ in 0..repeats {
        c = a;
        b = s * c;
        c = a + b;
        a = b + s * c;
    }
    (a, b, c)
}

fn check_gold<T: Elem>(
    repeats: usize,
    arrays: [&[T]; 3],
    dot: f64,
    sum: f64,
    init: [T; 4],
) -> Result<(), String> {
    let (ga, gb, gc) = gold(repeats, init);
    for (name, arr, g) in [("a", arrays[0], ga), ("b", arrays[1], gb), ("c", arrays[2], gc)] {
        if let Some(i) = arr.iter().position(|&x| x != g) {
            return Err(format!(
                "stream {}: array {name}[{i}] = {} but gold is {}",
                T::NAME,
                arr[i].to_f64(),
                g.to_f64()
            ));
        }
    }
    let n = arrays[0].len() as f64;
    let want_dot = ga.to_f64() * gb.to_f64() * n;
    let want_sum = ga.to_f64() * n;
    for (name, got, want) in [("dot", dot, want_dot), ("sum", sum, want_sum)] {
        let rel = ((got - want) / want).abs();
        if rel.is_nan() || rel > T::REDUCTION_TOL {
            return Err(format!(
                "stream {}: {name} = {got} but gold is {want} (relative error {rel:e})",
                T::NAME
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(t: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new().num_threads(t).build().unwrap()
    }

    #[test]
    fn small_run_passes_gold_and_counts_bytes() {
        for t in [1, 2] {
            let cfg = StreamConfig { array_bytes: 1 << 20, repeats: 3 };
            let r = run::<f32>(&pool(t), cfg, &|| {}).unwrap();
            assert_eq!(r.len(), 7);
            assert!(r.iter().all(|k| k.gbs() > 0.0 && k.gbs().is_finite()));
            assert!(r.iter().filter(|k| !k.kernel.writes()).all(|k| k.gbs_nt.is_none()));
            let r = run::<f64>(&pool(t), cfg, &|| {}).unwrap();
            assert!(r.iter().all(|k| k.stats.best > 0.0));
        }
    }

    #[test]
    fn non_temporal_kernels_match_plain_ones_on_unaligned_slices() {
        let x: Vec<f32> = (0..203).map(|i| i as f32 * 0.25).collect();
        let y: Vec<f32> = (0..203).map(|i| 1.0 - i as f32).collect();
        for start in 0..9 {
            let (xs, ys) = (&x[start..], &y[start..]);
            let mut d = vec![0.0f32; xs.len()];
            f32::nt_triad(&mut d, xs, ys, 0.4);
            assert!(d.iter().zip(xs.iter().zip(ys)).all(|(&d, (&b, &c))| d == b + 0.4 * c));
            f32::nt_copy(&mut d, xs);
            assert_eq!(d, xs);
            f32::nt_add(&mut d, xs, ys);
            assert!(d.iter().zip(xs.iter().zip(ys)).all(|(&d, (&a, &b))| d == a + b));
        }
        let x: Vec<f64> = (0..101).map(|i| i as f64).collect();
        let mut d = vec![0.0f64; 100];
        f64::nt_scale(&mut d, &x[1..], 0.5);
        assert!(d.iter().zip(&x[1..]).all(|(&d, &c)| d == 0.5 * c));
        f64::nt_fill(&mut d, 7.0);
        assert!(d.iter().all(|&v| v == 7.0));
    }

    #[test]
    fn gold_check_catches_a_wrong_element_and_a_wrong_sum() {
        let init = [0.1f64, 0.2, 0.0, 0.4];
        let (ga, gb, gc) = gold(2, init);
        let (a, b, mut c) = (vec![ga; 64], vec![gb; 64], vec![gc; 64]);
        let (dot, sum) = (ga * gb * 64.0, ga * 64.0);
        assert!(check_gold(2, [&a, &b, &c], dot, sum, init).is_ok());
        assert!(check_gold(2, [&a, &b, &c], dot, sum * 1.01, init).is_err());
        c[17] = 1.0;
        let e = check_gold(2, [&a, &b, &c], dot, sum, init).unwrap_err();
        assert!(e.contains("c[17]"), "{e}");
    }

    #[test]
    fn reduction_is_accurate_for_long_f32_sums() {
        let x = vec![0.1f32; 3_000_017];
        let want = f64::from(0.1f32) * x.len() as f64;
        assert!(((reduce(&x, None) - want) / want).abs() < 1e-6);
    }
}
