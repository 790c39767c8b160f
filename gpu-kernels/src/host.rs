//! The entry points run on the host: a grid launch the way the device runs one, for the
//! libcuda stand-in (`crates/cuda-stand-in`) that lets the GPU host runner, its tests and
//! `cargo xtask bench --backend gpu` run without a GPU.
//!
//! Why: the host runner (driver calls, allocations, copies, launch shapes, chunking) only
//! runs where a driver answers, and CI has no GPU. The stand-in answers with host memory
//! and, for a launch, calls [`launch`] here with the driver's own argument block
//! (`cuLaunchKernel`'s `kernelParams`). [`launch`] decodes it by the kernel's
//! [`Signature`](crate::signature::Signature) and runs the **entry point itself** — the
//! function the PTX is compiled from, bounds check and stores included — for every
//! thread of the grid. What this cannot show is the device's own code generation and
//! timing: that is ptxas's check and the on-device run.
//!
//! Grid threads run one after another within a block and blocks are spread over host
//! threads, so a kernel must not rely on threads of a block running together (none here
//! does: each thread works from its global index alone, and the W3 histogram's shared bins
//! are atomic on both sides).

use std::ffi::c_void;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::EntryPoint;

/// A launch's argument block, as `cuLaunchKernel` receives it: one pointer per kernel
/// parameter, each to a value of that parameter's type.
pub type RawParams = *const *mut c_void;

/// The entry point called `name`, if the kernels have one.
pub fn find(name: &str) -> Option<&'static EntryPoint> {
    crate::ENTRY_POINTS.iter().find(|e| e.name == name)
}

/// `params` shared by the host threads of one launch.
#[derive(Clone, Copy)]
struct Shared(RawParams);
// SAFETY: the argument block is only read during the launch, which outlives every host
// thread that reads it (they are scoped); the values it points to are plain scalars and
// device pointers.
unsafe impl Send for Shared {}
// SAFETY: as above; nothing writes the block while a launch runs.
unsafe impl Sync for Shared {}

/// Runs every thread of a 1-D grid of `grid_dim` blocks of `block_dim` threads: thread
/// `b·block_dim + t` for each block `b` (blocks spread over the host's cores) and each
/// `t` in order. `Err` carries the message of a thread that panicked, which is what the
/// device's `trap` (the entries' panic handler) turns into a launch failure.
///
/// # Safety
/// `params` holds one pointer per parameter of `entry`, each to a value of that
/// parameter's type, and every pointer parameter is a host address valid for all that
/// the kernel reads and writes (the entry's `# Safety` contract, with host memory as the
/// device's).
pub unsafe fn launch(
    entry: &EntryPoint,
    grid_dim: u32,
    block_dim: u32,
    params: RawParams,
) -> Result<(), String> {
    let threads = u64::from(grid_dim) * u64::from(block_dim);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(grid_dim.max(1) as usize);
    let (run, shared) = (entry.run, Shared(params));
    let failures: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                scope.spawn(move || {
                    let shared = shared;
                    catch_unwind(AssertUnwindSafe(|| {
                        for b in (w as u64..u64::from(grid_dim)).step_by(workers) {
                            for t in 0..u64::from(block_dim) {
                                crate::grid::enter(b * u64::from(block_dim) + t, threads);
                                // SAFETY: `shared.0` is this launch's argument block for
                                // `entry` (this function's contract).
                                unsafe { run(shared.0) }
                            }
                        }
                    }))
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok().and_then(|r| r.err()).map(panic_message)).collect()
    });
    match failures.into_iter().next() {
        None => Ok(()),
        Some(m) => Err(format!("kernel {} trapped: {m}", entry.name)),
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(p) => p.downcast_ref::<&str>().map_or_else(|| "a panic".to_owned(), |s| (*s).to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arg<T>(v: &T) -> *mut c_void {
        v as *const T as *mut c_void
    }

    /// The `pi_hits` entry on the host writes what the body computes, for every thread
    /// below `n` and none above, whatever the launch shape.
    #[test]
    fn launch_runs_the_entry_for_every_thread_below_n() {
        let entry = find("pi_hits").expect("pi_hits is an entry point");
        let (seed, first, n, pairs) = (7u64, 100u64, 1000u32, 33u64);
        for (grid, block) in [(4u32, 256u32), (1000, 1), (3, 512)] {
            let mut hits = vec![u32::MAX; n as usize + 5];
            let ptr = hits.as_mut_ptr();
            let params = [arg(&ptr), arg(&seed), arg(&first), arg(&n), arg(&pairs)];
            // SAFETY: one pointer per `PiHits` parameter, each to its type; `hits` holds n
            // writable u32.
            unsafe { launch(entry, grid, block, params.as_ptr()) }.unwrap();
            for (i, &h) in hits[..n as usize].iter().enumerate() {
                assert_eq!(h, crate::body::pi_hits(i as u32, seed, first, pairs), "grid {grid}×{block}");
            }
            assert!(hits[n as usize..].iter().all(|&h| h == u32::MAX), "a thread past n wrote");
        }
        assert!(find("no_such_kernel").is_none());
    }

    /// The grid size an entry sees is the launch's: BabelStream's sum takes every
    /// `grid_threads()`-th element per thread.
    #[test]
    fn entries_see_the_launch_grid_size() {
        let entry = find("stream_sum_f32").expect("stream_sum_f32 is an entry point");
        let x: Vec<f32> = (0..8).map(|i| i as f32).collect();
        let mut partial = [0f32; 4];
        let (xp, pp, n) = (x.as_ptr(), partial.as_mut_ptr(), 8u64);
        let params = [arg(&xp), arg(&pp), arg(&n)];
        // SAFETY: one pointer per `StreamSum<f32>` parameter; 2×2 threads, 4 partials.
        unsafe { launch(entry, 2, 2, params.as_ptr()) }.unwrap();
        assert_eq!(partial, [4.0, 6.0, 8.0, 10.0]);
    }

    /// A panicking thread (on the device, `trap`) is a launch error naming the kernel, not
    /// a crash: `mu_len = 0` breaks `jansen_rit`'s contract in a way that fails a bounds
    /// check (reading member 0's `mu`) with every buffer valid.
    #[test]
    fn a_panicking_thread_is_a_launch_error() {
        let entry = find("jansen_rit").unwrap();
        let (nn, batch) = (1u32, 1u32);
        let mut x = vec![0f32; 6];
        let mut work = vec![0f32; crate::body::jansen_rit_work_elems(1, false)];
        let (weights, k, mu) = ([0f32; 1], [1f32; 1], [0f32; 1]);
        let params = crate::body::jansen_rit_params_to_array(&Default::default());
        let (xp, wp, lags) = (x.as_mut_ptr(), work.as_mut_ptr(), std::ptr::null::<u8>());
        let (wt, kp, mp, pp) = (weights.as_ptr(), k.as_ptr(), mu.as_ptr(), params.as_ptr());
        let (k_len, mu_len, nt, seed, dt, sigma) = (1u32, 0u32, 10u64, 0u64, 0.1f32, 0f32);
        let args = [
            arg(&xp),
            arg(&wp),
            arg(&wt),
            arg(&lags),
            arg(&kp),
            arg(&mp),
            arg(&pp),
            arg(&nn),
            arg(&batch),
            arg(&k_len),
            arg(&mu_len),
            arg(&nt),
            arg(&seed),
            arg(&dt),
            arg(&sigma),
        ];
        // SAFETY: one pointer per `JansenRit` parameter, each to its type; every buffer
        // has the size the contract asks for nn = batch = 1 (`mu` is longer than mu_len).
        let e = unsafe { launch(entry, 1, 32, args.as_ptr()) }.unwrap_err();
        assert!(e.starts_with("kernel jansen_rit trapped"), "{e}");
        assert!(x.iter().all(|&v| v == 0.0), "nothing written before the failed check");
    }
}
