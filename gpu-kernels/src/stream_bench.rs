//! GPU BabelStream (UoB-HPC/BabelStream): the device's measured memory bandwidth, the
//! ceiling `cargo xtask bench` compares the GPU rows with (as the CPU stream does for
//! the CPU rows).
//!
//! Why in this crate: the bandwidth kernels must be built, validated and loaded exactly
//! like the workload kernels, and their bodies must run on the host grid emulator too.
//! The kernels, per element `i`, with BabelStream's start values `a = 0.1, b = 0.2,
//! c = 0.0` and `scalar = 0.4` (the CPU stream's table):
//!
//! | kernel | body                   | one thread               |
//! |--------|------------------------|--------------------------|
//! | Fill   | `c[i] = v`             | element `tid`            |
//! | Copy   | `c[i] = a[i]`          | element `tid`            |
//! | Scale  | `b[i] = s·c[i]`        | element `tid`            |
//! | Add    | `c[i] = a[i] + b[i]`   | element `tid`            |
//! | Triad  | `a[i] = b[i] + s·c[i]` | element `tid`            |
//! | Dot    | `Σ a[i]·b[i]`          | grid-stride partial sum  |
//! | Sum    | `Σ x[i]`               | grid-stride partial sum  |
//!
//! Dot runs as two launches: [`dot_partial`] over all resident threads, then
//! [`sum_partial`] folds those partials to a few hundred values the host adds up. The
//! arithmetic is `mul.rn`/`add.rn` (never contracted), so the emulator gives the device's
//! bits; the reductions' order is fixed by the launch shape.

use core::ops::{Add, Mul};

/// BabelStream's start value of `a`.
pub const START_A: f64 = 0.1;
/// BabelStream's start value of `b`.
pub const START_B: f64 = 0.2;
/// BabelStream's start value of `c`.
pub const START_C: f64 = 0.0;
/// BabelStream's scalar `s`.
pub const SCALAR: f64 = 0.4;

/// An element type of the stream kernels (`f32`, `f64`).
pub trait StreamElem: Copy + Add<Output = Self> + Mul<Output = Self> + PartialEq + Default {
    /// Suffix of the kernel names (`f32` or `f64`).
    const NAME: &'static str;
    /// `x` rounded to this type.
    fn from_f64(x: f64) -> Self;
}

impl StreamElem for f32 {
    const NAME: &'static str = "f32";
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x as f32
    }
}

impl StreamElem for f64 {
    const NAME: &'static str = "f64";
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x
    }
}

/// Scale: `s·c`.
#[inline(always)]
pub fn scale<T: StreamElem>(s: T, c: T) -> T {
    s * c
}

/// Add: `a + b`.
#[inline(always)]
pub fn add<T: StreamElem>(a: T, b: T) -> T {
    a + b
}

/// Triad: `b + s·c` (one rounding for the product, one for the sum: no FMA, as on the CPU).
#[inline(always)]
pub fn triad<T: StreamElem>(b: T, s: T, c: T) -> T {
    b + s * c
}

/// Dot, thread `tid` of `threads`: `Σ x(i)·y(i)` over `i = tid, tid + threads, … < n`
/// (grid-stride, so a warp's loads coalesce), summed in that order.
#[inline(always)]
pub fn dot_partial<T: StreamElem>(
    tid: usize,
    threads: usize,
    n: usize,
    x: impl Fn(usize) -> T,
    y: impl Fn(usize) -> T,
) -> T {
    let mut acc = T::default();
    let mut i = tid;
    while i < n {
        acc = acc + x(i) * y(i);
        i += threads.max(1);
    }
    acc
}

/// Sum, thread `tid` of `threads`: `Σ x(i)` over `i = tid, tid + threads, … < n`, in that
/// order (the second pass of Dot, and BabelStream's Sum).
#[inline(always)]
pub fn sum_partial<T: StreamElem>(tid: usize, threads: usize, n: usize, x: impl Fn(usize) -> T) -> T {
    let mut acc = T::default();
    let mut i = tid;
    while i < n {
        acc = acc + x(i);
        i += threads.max(1);
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_sums_cover_every_element_once() {
        let n = 1000usize;
        let x: [f64; 1000] = core::array::from_fn(|i| i as f64);
        for threads in [1usize, 7, 256, 999, 1000, 1500] {
            let total: f64 = (0..threads).map(|t| sum_partial(t, threads, n, |i| x[i])).sum();
            assert_eq!(total, (n * (n - 1) / 2) as f64, "threads {threads}");
            let dot: f64 = (0..threads).map(|t| dot_partial(t, threads, n, |i| x[i], |_| 2.0)).sum();
            assert_eq!(dot, (n * (n - 1)) as f64, "threads {threads}");
        }
    }

    #[test]
    fn element_bodies_are_babelstream_ops() {
        let (a, b, c, s) = (START_A as f32, START_B as f32, START_C as f32, SCALAR as f32);
        assert_eq!(scale(s, a), 0.4f32 * 0.1f32);
        assert_eq!(add(a, b), 0.1f32 + 0.2f32);
        assert_eq!(triad(b, s, c), 0.2f32);
        assert_eq!(<f64 as StreamElem>::NAME, "f64");
        assert_eq!(f32::from_f64(0.1), 0.1f32);
    }
}

/// The kernel entries, one set per element type (the `kernel!` form: PTX on nvptx,
/// host-launchable elsewhere).
#[allow(unsafe_code)]
pub(crate) mod device {
    use crate::grid::{grid_threads, thread_index};

    macro_rules! stream_kernels {
        ($t:ty, $fill:ident, $copy:ident, $scale:ident, $add:ident, $triad:ident, $dot:ident, $sum:ident) => {
            kernel! {
                /// Fill: `c[i] = v` for `i < n`.
                ///
                /// # Safety
                /// `c` points to `n` writable device-global elements.
                pub unsafe fn $fill(c: *mut $t, n: u64, v: $t) {
                    let i = thread_index();
                    if i < n {
                        // SAFETY: i < n; each thread writes its own element.
                        unsafe { c.add(i as usize).write(v) }
                    }
                }
            }

            kernel! {
                /// Copy: `c[i] = a[i]` for `i < n`.
                ///
                /// # Safety
                /// `a` and `c` point to `n` device-global elements each (`c` writable), disjoint.
                pub unsafe fn $copy(a: *const $t, c: *mut $t, n: u64) {
                    let i = thread_index() as usize;
                    if (i as u64) < n {
                        // SAFETY: i < n; each thread reads and writes its own element.
                        unsafe { c.add(i).write(a.add(i).read()) }
                    }
                }
            }

            kernel! {
                /// Scale: `b[i] = s·c[i]` for `i < n`.
                ///
                /// # Safety
                /// As the copy kernel, for `c` (read) and `b` (written).
                pub unsafe fn $scale(c: *const $t, b: *mut $t, n: u64, s: $t) {
                    let i = thread_index() as usize;
                    if (i as u64) < n {
                        // SAFETY: i < n; each thread reads and writes its own element.
                        unsafe { b.add(i).write(super::scale(s, c.add(i).read())) }
                    }
                }
            }

            kernel! {
                /// Add: `c[i] = a[i] + b[i]` for `i < n`.
                ///
                /// # Safety
                /// `a`, `b`, `c` point to `n` device-global elements each (`c` writable, disjoint).
                pub unsafe fn $add(a: *const $t, b: *const $t, c: *mut $t, n: u64) {
                    let i = thread_index() as usize;
                    if (i as u64) < n {
                        // SAFETY: i < n; each thread reads and writes its own element.
                        unsafe { c.add(i).write(super::add(a.add(i).read(), b.add(i).read())) }
                    }
                }
            }

            kernel! {
                /// Triad: `a[i] = b[i] + s·c[i]` for `i < n`.
                ///
                /// # Safety
                /// `b`, `c`, `a` point to `n` device-global elements each (`a` writable, disjoint).
                pub unsafe fn $triad(b: *const $t, c: *const $t, a: *mut $t, n: u64, s: $t) {
                    let i = thread_index() as usize;
                    if (i as u64) < n {
                        // SAFETY: i < n; each thread reads and writes its own element.
                        unsafe { a.add(i).write(super::triad(b.add(i).read(), s, c.add(i).read())) }
                    }
                }
            }

            kernel! {
                /// Dot, first pass: `partial[t] = Σ a[i]·b[i]` over `i ≡ t` modulo the grid size.
                ///
                /// # Safety
                /// `a`, `b` point to `n` readable elements, `partial` to one writable element per
                /// thread of the grid; all device-global.
                pub unsafe fn $dot(a: *const $t, b: *const $t, partial: *mut $t, n: u64) {
                    let (t, threads) = (thread_index() as usize, grid_threads() as usize);
                    // SAFETY: dot_partial only asks for i < n.
                    let x = |i: usize| unsafe { a.add(i).read() };
                    // SAFETY: as above.
                    let y = |i: usize| unsafe { b.add(i).read() };
                    let acc = super::dot_partial(t, threads, n as usize, x, y);
                    // SAFETY: t is below the grid size; each thread writes its own element.
                    unsafe { partial.add(t).write(acc) }
                }
            }

            kernel! {
                /// Sum (and Dot's second pass): `partial[t] = Σ x[i]` over `i ≡ t` modulo the
                /// grid size.
                ///
                /// # Safety
                /// `x` points to `n` readable elements, `partial` to one writable element per
                /// thread of the grid; all device-global, disjoint.
                pub unsafe fn $sum(x: *const $t, partial: *mut $t, n: u64) {
                    let (t, threads) = (thread_index() as usize, grid_threads() as usize);
                    // SAFETY: sum_partial only asks for i < n.
                    let acc = super::sum_partial(t, threads, n as usize, |i| unsafe { x.add(i).read() });
                    // SAFETY: t is below the grid size; each thread writes its own element.
                    unsafe { partial.add(t).write(acc) }
                }
            }

            // Each entry has its kernel's parameter list (`crate::signature`): one that
            // differs does not build.
            const _: () = {
                use crate::signature::*;
                let _: StreamFill<$t> = $fill;
                let _: StreamCopy<$t> = $copy;
                let _: StreamScale<$t> = $scale;
                let _: StreamAdd<$t> = $add;
                let _: StreamTriad<$t> = $triad;
                let _: StreamDot<$t> = $dot;
                let _: StreamSum<$t> = $sum;
            };
        };
    }

    stream_kernels!(
        f32,
        stream_fill_f32,
        stream_copy_f32,
        stream_scale_f32,
        stream_add_f32,
        stream_triad_f32,
        stream_dot_f32,
        stream_sum_f32
    );
    stream_kernels!(
        f64,
        stream_fill_f64,
        stream_copy_f64,
        stream_scale_f64,
        stream_add_f64,
        stream_triad_f64,
        stream_dot_f64,
        stream_sum_f64
    );
}
