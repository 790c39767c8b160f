//! Kernel launches: each thread of the grid runs the function's host entry point
//! ([`gpu_kernels::host::launch`]), after the pointer arguments are checked against the
//! live allocations, and the guard zones of those allocations are checked afterwards.

use std::ffi::{c_uint, c_void};

use gpu_kernels::EntryPoint;

use crate::{CUresult, code, enter, make_sticky, memory, module, say, status};

/// Runs `entry` as `grid` blocks of `block` threads, checking its pointer arguments (those
/// `pointers` marks) before and their allocations' guard zones after.
///
/// # Safety
/// As [`cuLaunchKernel`], with `params` non-null if `entry` has parameters.
unsafe fn run(
    entry: &EntryPoint,
    pointers: &[bool],
    grid: c_uint,
    block: c_uint,
    params: *mut *mut c_void,
) -> Result<(), CUresult> {
    // Each pointer argument must be null (an absent optional input) or point into a live
    // allocation.
    let mut addresses = Vec::new();
    for (i, _) in pointers.iter().enumerate().filter(|(_, p)| **p) {
        // SAFETY: `params` holds one pointer per parameter (the caller's contract).
        let arg = unsafe { *params.add(i) };
        if arg.is_null() {
            return Err(code::INVALID_VALUE);
        }
        // SAFETY: parameter i is a `.ptr` parameter, so `arg` points to a u64 address.
        addresses.push(unsafe { arg.cast::<u64>().read_unaligned() });
    }
    let bases = memory::owners(&addresses).map_err(|p| {
        say(format_args!(
            "kernel `{}` was given the address {p:#x}, which is in no live allocation",
            entry.name
        ));
        make_sticky(code::ILLEGAL_ADDRESS)
    })?;
    // SAFETY: `params` holds one pointer per parameter of `entry`, each to a value of its
    // type (the caller's contract, which cudarc's launch and simlanes' `push_args` keep),
    // and every non-null pointer argument is into a live host allocation (checked); that
    // each buffer is large enough is the kernel's contract with its caller, with the guard
    // zones catching a write past the end.
    let ran = unsafe { gpu_kernels::host::launch(entry, grid, block, params.cast_const()) };
    let name = entry.name;
    if let Err(message) = ran {
        say(format_args!(
            "launch of `{name}` ({grid} blocks of {block}) failed: {message}; CUDA_ERROR_LAUNCH_FAILED is \
             now sticky in this context"
        ));
        return Err(make_sticky(code::LAUNCH_FAILED));
    }
    if let Some((base, size)) = memory::overrun(&bases) {
        say(format_args!(
            "kernel `{name}` ({grid} blocks of {block}) wrote past the end of the {size}-byte allocation at \
             {base:#x}"
        ));
        return Err(make_sticky(code::ILLEGAL_ADDRESS));
    }
    Ok(())
}

/// `cuLaunchKernel`: runs the function's host entry point for every thread of a 1-D grid
/// (`gridDimY/Z` and `blockDimY/Z` must be 1, `blockDimX` in 1..=1024, `gridDimX` ≥ 1:
/// else `CUDA_ERROR_INVALID_VALUE`), before returning. `extra` must be null
/// (`CUDA_ERROR_NOT_SUPPORTED`). A panicking thread fails the launch with
/// `CUDA_ERROR_LAUNCH_FAILED`, sticky in the context; a pointer argument outside every
/// allocation, or a write past the end of one, with `CUDA_ERROR_ILLEGAL_ADDRESS`, sticky.
///
/// # Safety
/// `params` holds one pointer per kernel parameter, each to a value of that parameter's
/// type, and the kernel's own contract on its buffers holds (as on a device).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cuLaunchKernel(
    f: *mut c_void,
    grid_x: c_uint,
    grid_y: c_uint,
    grid_z: c_uint,
    block_x: c_uint,
    block_y: c_uint,
    block_z: c_uint,
    shared: c_uint,
    stream: *mut c_void,
    params: *mut *mut c_void,
    extra: *mut *mut c_void,
) -> CUresult {
    let one_d = grid_y == 1 && grid_z == 1 && block_y == 1 && block_z == 1;
    let shape_ok = one_d
        && (1..=i32::MAX as c_uint).contains(&grid_x)
        && (1..=crate::MAX_BLOCK_THREADS as c_uint).contains(&block_x)
        && shared <= crate::SHARED_PER_BLOCK as c_uint;
    status(
        enter()
            .and_then(|()| crate::faults::check("cuLaunchKernel"))
            .and_then(|()| module::function(f))
            .and_then(|(entry, pointers)| {
                crate::stream::check_stream(stream)?;
                if !shape_ok || (params.is_null() && !entry.params.is_empty()) {
                    return Err(code::INVALID_VALUE);
                }
                if !extra.is_null() {
                    return Err(code::NOT_SUPPORTED);
                }
                // SAFETY: the caller's contract, and `params` is non-null if there are parameters.
                unsafe { run(entry, &pointers, grid_x, block_x, params) }
            }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::tests::{Ctx, sync};
    use crate::module::tests::{SM90, load_ptx};
    use crate::{cuMemAlloc_v2, cuMemFree_v2, cuMemcpyDtoHAsync_v2, cuMemsetD8Async, cuModuleGetFunction};

    fn arg<T>(v: &T) -> *mut c_void {
        (v as *const T).cast_mut().cast()
    }

    /// The function `name` of a freshly loaded sm_90 module.
    fn kernel(name: &std::ffi::CStr) -> *mut c_void {
        let ((rc, m), mut f) = (load_ptx(SM90), std::ptr::null_mut());
        assert_eq!(rc, 0);
        // SAFETY: a valid out-pointer and a NUL-terminated name.
        assert_eq!(unsafe { cuModuleGetFunction(&mut f, m, name.as_ptr()) }, 0);
        f
    }

    /// Allocates `bytes` of device memory: the code and the address.
    fn try_alloc(bytes: usize) -> (CUresult, u64) {
        let mut p = 0;
        // SAFETY: a valid out-pointer.
        (unsafe { cuMemAlloc_v2(&mut p, bytes) }, p)
    }

    fn alloc(bytes: usize) -> u64 {
        let (rc, p) = try_alloc(bytes);
        assert_eq!(rc, 0);
        p
    }

    /// Launches `f` as `grid` blocks of `block` threads on the null stream, without `extra`.
    ///
    /// # Safety
    /// As [`cuLaunchKernel`].
    unsafe fn launch(f: *mut c_void, grid: c_uint, block: c_uint, params: &mut [*mut c_void]) -> CUresult {
        let (null, none) = (std::ptr::null_mut(), std::ptr::null_mut());
        // SAFETY: the caller's contract.
        unsafe { cuLaunchKernel(f, grid, 1, 1, block, 1, 1, 0, null, params.as_mut_ptr(), none) }
    }

    #[test]
    fn pi_hits_runs_on_the_host_and_bad_launches_fail() {
        let ctx = Ctx::open();
        let f = kernel(c"pi_hits");
        let (n, seed, first, pairs) = (1000u32, 7u64, 3u64, 50u64);
        let (hits, small) = (alloc(4 * n as usize), alloc(4 * (n as usize - 10)));
        let mut params = [arg(&hits), arg(&seed), arg(&first), arg(&n), arg(&pairs)];
        let (p, null, none) = (params.as_mut_ptr(), std::ptr::null_mut(), std::ptr::null_mut());
        let mut out = vec![0u32; n as usize];
        // SAFETY: the argument block matches `pi_hits`'s signature, `hits` holds n u32, and
        // `out` is writable for as many.
        unsafe {
            assert_eq!(launch(f, 4, 256, &mut params), 0);
            assert_eq!(cuMemcpyDtoHAsync_v2(out.as_mut_ptr().cast(), hits, 4 * n as usize, null), 0);
            // Shapes the stand-in refuses.
            assert_eq!(cuLaunchKernel(f, 4, 2, 1, 256, 1, 1, 0, null, p, none), code::INVALID_VALUE);
            assert_eq!(launch(f, 4, 2048, &mut params), code::INVALID_VALUE);
            assert_eq!(launch(f, 0, 256, &mut params), code::INVALID_VALUE);
            assert_eq!(cuLaunchKernel(f, 4, 1, 1, 256, 1, 1, 0, null, p, p), code::NOT_SUPPORTED);
            assert_eq!(launch(hits as *mut c_void, 4, 256, &mut params), code::INVALID_HANDLE);
        }
        for (i, &h) in out.iter().enumerate() {
            assert_eq!(h, gpu_kernels::body::pi_hits(i as u32, seed, first, pairs));
        }
        assert_eq!(sync(), 0);
        // A buffer 10 elements short: the kernel writes past its end, into the guard zone
        // (a larger overrun would corrupt the host heap before anyone could look).
        params[0] = arg(&small);
        // SAFETY: as above, but for the length of `small`, which the guard zone covers.
        assert_eq!(unsafe { launch(f, 4, 256, &mut params) }, code::ILLEGAL_ADDRESS);
        assert_eq!(sync(), code::ILLEGAL_ADDRESS, "sticky");
        assert_eq!(cuMemFree_v2(hits), code::ILLEGAL_ADDRESS, "frees, and reports the sticky error");
        drop(ctx);
        let _ctx = Ctx::open();
        let bogus = 0x1000u64;
        params[0] = arg(&bogus);
        // SAFETY: as above; the address is in no allocation, which the launch catches
        // before running anything.
        assert_eq!(unsafe { launch(kernel(c"pi_hits"), 4, 256, &mut params) }, code::ILLEGAL_ADDRESS);
    }

    #[test]
    fn a_trapping_kernel_fails_the_launch_and_the_error_sticks() {
        use gpu_kernels::body::{JR_PARAMS, jansen_rit_work_elems};
        let ctx = Ctx::open();
        let f = kernel(c"jansen_rit");
        // W4 with `k` of length 2 for a batch of 4: a length that is neither 1 nor the
        // batch, so members 2 and 3 index past `k` and panic (the device's trap).
        let (nn, batch, k_len, mu_len, nt, seed, dt, sigma) =
            (1u32, 4u32, 2u32, 1u32, 3u64, 0u64, 0.1f32, 0f32);
        let f32s = [6 * 4, jansen_rit_work_elems(1, false) * 4, 1, k_len as usize, 1, JR_PARAMS];
        let [x, work, weights, k, mu, params] = f32s.map(|n| alloc(4 * n));
        for (b, n) in [x, work, weights, k, mu, params].into_iter().zip(f32s) {
            assert_eq!(cuMemsetD8Async(b, 0, 4 * n, std::ptr::null_mut()), 0);
        }
        let buffers = [x, work, weights, 0, k, mu, params]; // `lags` null: no delays
        let mut block: Vec<_> = buffers.iter().map(arg).collect();
        let scalars =
            [arg(&nn), arg(&batch), arg(&k_len), arg(&mu_len), arg(&nt), arg(&seed), arg(&dt), arg(&sigma)];
        block.extend(scalars);
        // SAFETY: the argument block matches `jansen_rit`'s signature and each buffer has
        // the size the kernel's contract asks for, except `k`.
        assert_eq!(unsafe { launch(f, 1, 32, &mut block) }, code::LAUNCH_FAILED);
        assert_eq!(sync(), code::LAUNCH_FAILED, "sticky");
        assert_eq!(try_alloc(8).0, code::LAUNCH_FAILED);
        drop(ctx);
        let _ctx = Ctx::open();
        assert_eq!(sync(), 0, "a new context starts clean");
    }
}
