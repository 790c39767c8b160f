//! The device's primary context: its retain count, which thread it is current on, and its
//! sticky error.

use std::cell::Cell;
use std::ffi::c_void;
use std::sync::Mutex;

use crate::device::{device, initialized};
use crate::{CUdevice, CUresult, code, lock, memory, module, put, say, status, stream};

/// The primary context: its retain count, its generation (a new one each time it is
/// created from nothing) and its sticky error.
struct Context {
    refs: u32,
    generation: u64,
    sticky: CUresult,
}

static CONTEXT: Mutex<Context> = Mutex::new(Context { refs: 0, generation: 0, sticky: 0 });

/// The context's handle: the address of this byte (never dereferenced).
static CONTEXT_TAG: u8 = 0;

fn context_handle() -> *mut c_void {
    (&raw const CONTEXT_TAG).cast_mut().cast()
}

thread_local! {
    /// Generation of the context current on this thread (0: none).
    static CURRENT: Cell<u64> = const { Cell::new(0) };
}

/// The checks of a call that works in the current context: the driver is initialised, the
/// context is alive and current on this thread, and it has no sticky error.
pub(crate) fn enter() -> Result<(), CUresult> {
    initialized()?;
    let ctx = lock(&CONTEXT);
    if ctx.refs == 0 || CURRENT.with(Cell::get) != ctx.generation {
        return Err(code::INVALID_CONTEXT);
    }
    if ctx.sticky != 0 {
        return Err(ctx.sticky);
    }
    Ok(())
}

/// The context's sticky error, if any (for calls that release resources: they do their
/// work anyway and then report it).
pub(crate) fn sticky() -> Result<(), CUresult> {
    match lock(&CONTEXT).sticky {
        0 => Ok(()),
        e => Err(e),
    }
}

/// Makes `err` the context's sticky error (the first one stays), as a device does after a
/// kernel fault, and returns it.
pub(crate) fn make_sticky(err: CUresult) -> CUresult {
    let mut ctx = lock(&CONTEXT);
    if ctx.sticky == 0 {
        ctx.sticky = err;
    }
    err
}

/// `cuDevicePrimaryCtxRetain`: the one context, created (with no sticky error) when its
/// count was 0.
///
/// # Safety
/// `pctx` is null or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cuDevicePrimaryCtxRetain(pctx: *mut *mut c_void, dev: CUdevice) -> CUresult {
    status(device(dev).and_then(|()| {
        if pctx.is_null() {
            return Err(code::INVALID_VALUE);
        }
        let mut ctx = lock(&CONTEXT);
        if ctx.refs == 0 {
            ctx.generation += 1;
            ctx.sticky = 0;
        }
        ctx.refs += 1;
        // SAFETY: non-null and valid for a write (the caller's contract).
        unsafe { put(pctx, context_handle()) }
    }))
}

/// `cuDevicePrimaryCtxRelease_v2`: drops a reference; the last one destroys the context,
/// clearing its sticky error and freeing what it still held (reported on stderr: a leak in
/// the runner).
#[unsafe(no_mangle)]
pub extern "C" fn cuDevicePrimaryCtxRelease_v2(dev: CUdevice) -> CUresult {
    status(device(dev).and_then(|()| {
        let mut ctx = lock(&CONTEXT);
        match ctx.refs {
            0 => Err(code::INVALID_CONTEXT),
            1 => {
                ctx.refs = 0;
                ctx.sticky = 0;
                // Lock order: CONTEXT before the heap and the handle registries.
                let (n, bytes) = memory::release_all();
                let (modules, events) = (module::release_all(), stream::release_all_events());
                if n + modules + events > 0 {
                    say(format_args!(
                        "the context was destroyed with {n} allocations ({bytes} bytes), {modules} modules \
                         and {events} events still live: freed them (a leak in the caller)"
                    ));
                }
                Ok(())
            }
            _ => {
                ctx.refs -= 1;
                Ok(())
            }
        }
    }))
}

/// `cuCtxGetCurrent`: the context if it is alive and current on this thread, else null.
///
/// # Safety
/// `pctx` is null or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cuCtxGetCurrent(pctx: *mut *mut c_void) -> CUresult {
    status(initialized().and_then(|()| {
        let ctx = lock(&CONTEXT);
        let current = ctx.refs > 0 && CURRENT.with(Cell::get) == ctx.generation;
        let h = if current { context_handle() } else { std::ptr::null_mut() };
        // SAFETY: the caller's contract.
        unsafe { put(pctx, h) }
    }))
}

/// `cuCtxSetCurrent`: null unbinds; the context's handle binds it (if it is alive).
#[unsafe(no_mangle)]
pub extern "C" fn cuCtxSetCurrent(handle: *mut c_void) -> CUresult {
    status(initialized().and_then(|()| {
        if handle.is_null() {
            CURRENT.with(|c| c.set(0));
            return Ok(());
        }
        let ctx = lock(&CONTEXT);
        if handle != context_handle() || ctx.refs == 0 {
            return Err(code::INVALID_CONTEXT);
        }
        CURRENT.with(|c| c.set(ctx.generation));
        Ok(())
    }))
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::MutexGuard;

    use super::*;

    /// Serialises the tests that use the (process-wide) context.
    static SERIAL: Mutex<()> = Mutex::new(());

    /// Holds the primary context, current on this thread, for the life of the guard.
    pub(crate) struct Ctx(#[allow(dead_code)] MutexGuard<'static, ()>);

    impl Ctx {
        pub(crate) fn open() -> Self {
            let g = lock(&SERIAL);
            let mut h = std::ptr::null_mut();
            assert_eq!(crate::cuInit(0), 0);
            // SAFETY: a valid out-pointer.
            assert_eq!(unsafe { cuDevicePrimaryCtxRetain(&mut h, 0) }, 0);
            assert_eq!(cuCtxSetCurrent(h), 0);
            Ctx(g)
        }
    }

    impl Drop for Ctx {
        fn drop(&mut self) {
            cuDevicePrimaryCtxRelease_v2(0);
        }
    }

    /// The context as a call on the null stream sees it: its sticky error, or
    /// `CUDA_ERROR_INVALID_CONTEXT` when none is current.
    pub(crate) fn sync() -> CUresult {
        crate::cuStreamSynchronize(std::ptr::null_mut())
    }

    #[test]
    fn calls_need_a_current_live_context() {
        let ctx = Ctx::open();
        assert_eq!(sync(), 0);
        let mut h = std::ptr::null_mut();
        // SAFETY: a valid out-pointer.
        assert_eq!(unsafe { cuCtxGetCurrent(&mut h) }, 0);
        assert_eq!(h, context_handle());
        assert_eq!(cuCtxSetCurrent(std::ptr::null_mut()), 0);
        assert_eq!(sync(), code::INVALID_CONTEXT);
        assert_eq!(cuCtxSetCurrent(std::ptr::dangling_mut::<c_void>()), code::INVALID_CONTEXT);
        assert_eq!(cuCtxSetCurrent(context_handle()), 0);
        // Another thread has no current context until it binds one.
        std::thread::spawn(|| assert_eq!(sync(), code::INVALID_CONTEXT)).join().unwrap();
        drop(ctx);
        assert_eq!(sync(), code::INVALID_CONTEXT);
    }
}
