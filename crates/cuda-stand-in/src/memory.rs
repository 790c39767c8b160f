//! Device memory: host allocations aligned to 256 bytes, each followed by a guard zone,
//! tracked by address, within a fixed total (`CUDA_STAND_IN_MEMORY_MIB`).

use std::alloc::Layout;
use std::collections::BTreeMap;
use std::ffi::{c_uchar, c_void};
use std::sync::{Mutex, OnceLock};

use crate::{CUdeviceptr, CUresult, code, enter, lock, put, say, status};

/// Alignment of every allocation (the real driver's is at least 256 bytes).
const ALIGN: usize = 256;
/// Guard bytes after an allocation's last 256-byte granule.
const GUARD: usize = 256;
/// The guard zone's byte.
const GUARD_BYTE: u8 = 0xA5;
/// What a fresh allocation holds: all ones (NaN for floats, MAX for unsigned integers).
const POISON_BYTE: u8 = 0xFF;
/// Device memory when `CUDA_STAND_IN_MEMORY_MIB` is not set.
const DEFAULT_MIB: usize = 2048;

/// One live allocation: `size` bytes asked for, then guard bytes up to `layout.size()`.
struct Block {
    size: usize,
    layout: Layout,
}

impl Block {
    /// Whether the guard zone of the block at `base` is as the stand-in wrote it.
    ///
    /// # Safety
    /// `base` is this live block's address.
    unsafe fn intact(&self, base: u64) -> bool {
        // SAFETY: bytes size..layout.size() of the block belong to it (it is live).
        let guard = unsafe {
            let start = (base as usize as *const u8).add(self.size);
            std::slice::from_raw_parts(start, self.layout.size() - self.size)
        };
        guard.iter().all(|&x| x == GUARD_BYTE)
    }
}

struct Heap {
    blocks: BTreeMap<u64, Block>,
    in_use: usize,
}

static HEAP: Mutex<Heap> = Mutex::new(Heap { blocks: BTreeMap::new(), in_use: 0 });

/// Total device memory: `CUDA_STAND_IN_MEMORY_MIB` MiB, default 2048.
pub(crate) fn total_bytes() -> usize {
    static TOTAL: OnceLock<usize> = OnceLock::new();
    *TOTAL.get_or_init(|| {
        let mib = match std::env::var("CUDA_STAND_IN_MEMORY_MIB") {
            Err(_) => DEFAULT_MIB,
            Ok(v) => v.trim().parse::<usize>().ok().filter(|&m| m > 0).unwrap_or_else(|| {
                say(format_args!(
                    "CUDA_STAND_IN_MEMORY_MIB={v:?} is not a positive integer; using {DEFAULT_MIB}"
                ));
                DEFAULT_MIB
            }),
        };
        mib.saturating_mul(1 << 20)
    })
}

impl Heap {
    /// The live block containing address `p`, with its base.
    fn owner(&self, p: u64) -> Option<(u64, &Block)> {
        let (&base, b) = self.blocks.range(..=p).next_back()?;
        (p - base < b.size as u64).then_some((base, b))
    }

    /// Checks that `[p, p + len)` lies inside one live block (`len > 0`).
    fn check_range(&self, p: u64, len: usize) -> Result<(), CUresult> {
        let (base, b) = self.owner(p).ok_or(code::INVALID_VALUE)?;
        let end = (p - base).checked_add(len as u64).ok_or(code::INVALID_VALUE)?;
        if end <= b.size as u64 { Ok(()) } else { Err(code::INVALID_VALUE) }
    }
}

fn allocate(dptr: *mut CUdeviceptr, bytes: usize) -> Result<(), CUresult> {
    if dptr.is_null() || bytes == 0 {
        // The real driver refuses a zero-byte allocation too.
        return Err(code::INVALID_VALUE);
    }
    let mut heap = lock(&HEAP);
    if bytes > total_bytes() - heap.in_use {
        return Err(code::OUT_OF_MEMORY);
    }
    let padded = bytes.checked_next_multiple_of(ALIGN).and_then(|b| b.checked_add(GUARD));
    let layout = padded.and_then(|p| Layout::from_size_align(p, ALIGN).ok()).ok_or(code::OUT_OF_MEMORY)?;
    // SAFETY: `layout` has a non-zero size.
    let p = unsafe { std::alloc::alloc(layout) };
    if p.is_null() {
        return Err(code::OUT_OF_MEMORY);
    }
    // SAFETY: `p` holds layout.size() = padded bytes, and bytes < padded.
    unsafe {
        p.write_bytes(POISON_BYTE, bytes);
        p.add(bytes).write_bytes(GUARD_BYTE, layout.size() - bytes);
    }
    let base = p as usize as u64;
    heap.blocks.insert(base, Block { size: bytes, layout });
    heap.in_use += bytes;
    // SAFETY: checked non-null above; the caller's contract makes it writable.
    unsafe { put(dptr, base) }
}

/// Frees the block at `base` (which must be a block's base, not an inside address).
fn free(base: CUdeviceptr) -> Result<(), CUresult> {
    if base == 0 {
        return Ok(());
    }
    let mut heap = lock(&HEAP);
    let b = heap.blocks.remove(&base).ok_or(code::INVALID_VALUE)?;
    heap.in_use -= b.size;
    // SAFETY: the block was live until just now, and `base` is its address.
    let intact = unsafe { b.intact(base) };
    // SAFETY: `base` came from `alloc` with this layout and is freed once (removed above).
    unsafe { std::alloc::dealloc(base as usize as *mut u8, b.layout) };
    drop(heap);
    if !intact {
        say(format_args!(
            "something wrote past the end of the {}-byte allocation at {base:#x} (found at free)",
            b.size
        ));
        return Err(crate::make_sticky(code::ILLEGAL_ADDRESS));
    }
    Ok(())
}

/// Frees every live block (the context is being destroyed): their count and bytes.
pub(crate) fn release_all() -> (usize, usize) {
    let mut heap = lock(&HEAP);
    let (n, bytes) = (heap.blocks.len(), heap.in_use);
    for (base, b) in std::mem::take(&mut heap.blocks) {
        // SAFETY: each block is live, allocated with its layout, and freed once.
        unsafe { std::alloc::dealloc(base as usize as *mut u8, b.layout) };
    }
    heap.in_use = 0;
    (n, bytes)
}

/// For each pointer argument of a launch: the base of the live block it points into, or
/// `Err(address)` for the first that points into none. Null pointers are skipped.
pub(crate) fn owners(pointers: &[u64]) -> Result<Vec<u64>, u64> {
    let heap = lock(&HEAP);
    pointers.iter().filter(|&&p| p != 0).map(|&p| heap.owner(p).map(|(base, _)| base).ok_or(p)).collect()
}

/// The first of `bases` whose guard zone was written, with its size (after a launch).
pub(crate) fn overrun(bases: &[u64]) -> Option<(u64, usize)> {
    let heap = lock(&HEAP);
    bases.iter().find_map(|&base| {
        let b = heap.blocks.get(&base)?;
        // SAFETY: `base` is the live block's address.
        (!unsafe { b.intact(base) }).then_some((base, b.size))
    })
}

/// Runs `copy` with the heap locked after checking that the device range `[p, p + len)`
/// lies in one live allocation and `stream` is valid; `len = 0` does nothing.
fn transfer(stream: *mut c_void, p: CUdeviceptr, len: usize, copy: impl FnOnce()) -> CUresult {
    status(enter().and_then(|()| crate::stream::check_stream(stream)).and_then(|()| {
        if len > 0 {
            let heap = lock(&HEAP);
            heap.check_range(p, len)?;
            copy();
        }
        Ok(())
    }))
}

/// `cuMemAlloc_v2`: `bytes` of host memory, 256-byte aligned and filled with `0xFF`;
/// `CUDA_ERROR_INVALID_VALUE` for 0 bytes, `CUDA_ERROR_OUT_OF_MEMORY` past the total.
///
/// # Safety
/// `dptr` is null or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cuMemAlloc_v2(dptr: *mut CUdeviceptr, bytes: usize) -> CUresult {
    status(enter().and_then(|()| crate::faults::check("cuMemAlloc_v2")).and_then(|()| allocate(dptr, bytes)))
}

/// `cuMemFree_v2`: frees an allocation (by its base address; 0 is a no-op).
/// `CUDA_ERROR_INVALID_VALUE` for any other address. Frees even with a sticky error in the
/// context, then reports it.
#[unsafe(no_mangle)]
pub extern "C" fn cuMemFree_v2(dptr: CUdeviceptr) -> CUresult {
    status(crate::initialized().and_then(|()| free(dptr)).and_then(|()| crate::sticky()))
}

/// `cuMemGetInfo_v2`: free = total − bytes allocated, and the total.
///
/// # Safety
/// `free` and `total` are null or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cuMemGetInfo_v2(free: *mut usize, total: *mut usize) -> CUresult {
    status(enter().and_then(|()| {
        if free.is_null() || total.is_null() {
            return Err(code::INVALID_VALUE);
        }
        let in_use = lock(&HEAP).in_use;
        // SAFETY: both non-null and writable (the caller's contract).
        unsafe {
            put(free, total_bytes() - in_use)?;
            put(total, total_bytes())
        }
    }))
}

/// `cuMemcpyHtoDAsync_v2`: the device range must lie in one live allocation; done before
/// it returns.
///
/// # Safety
/// `src` is valid for reads of `n` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cuMemcpyHtoDAsync_v2(
    dst: CUdeviceptr,
    src: *const c_void,
    n: usize,
    stream: *mut c_void,
) -> CUresult {
    if src.is_null() && n > 0 {
        return code::INVALID_VALUE;
    }
    transfer(stream, dst, n, || {
        // SAFETY: `src` holds n readable bytes (the caller's contract); dst..dst+n lies in
        // a live block (checked, heap locked). `copy` allows overlap.
        unsafe { std::ptr::copy(src.cast::<u8>(), dst as usize as *mut u8, n) }
    })
}

/// `cuMemcpyDtoHAsync_v2`: the device range must lie in one live allocation; done before
/// it returns.
///
/// # Safety
/// `dst` is valid for writes of `n` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cuMemcpyDtoHAsync_v2(
    dst: *mut c_void,
    src: CUdeviceptr,
    n: usize,
    stream: *mut c_void,
) -> CUresult {
    if dst.is_null() && n > 0 {
        return code::INVALID_VALUE;
    }
    if let Err(e) = crate::faults::check("cuMemcpyDtoHAsync_v2") {
        return e;
    }
    transfer(stream, src, n, || {
        // SAFETY: `dst` holds n writable bytes (the caller's contract); src..src+n lies in
        // a live block (checked, heap locked). `copy` allows overlap.
        unsafe { std::ptr::copy(src as usize as *const u8, dst.cast::<u8>(), n) }
    })
}

/// `cuMemsetD8Async`: `n` bytes of `value`, inside one live allocation; done before it
/// returns.
#[unsafe(no_mangle)]
pub extern "C" fn cuMemsetD8Async(
    dst: CUdeviceptr,
    value: c_uchar,
    n: usize,
    stream: *mut c_void,
) -> CUresult {
    transfer(stream, dst, n, || {
        // SAFETY: dst..dst+n lies in a live block (checked, heap locked).
        unsafe { (dst as usize as *mut u8).write_bytes(value, n) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::tests::{Ctx, sync};

    /// Device to host on the null stream.
    fn dtoh(dst: &mut [u8], src: CUdeviceptr) -> CUresult {
        // SAFETY: `dst` is writable for its length.
        unsafe { cuMemcpyDtoHAsync_v2(dst.as_mut_ptr().cast(), src, dst.len(), std::ptr::null_mut()) }
    }

    #[test]
    fn allocations_are_aligned_poisoned_bounded_and_accounted() {
        let _ctx = Ctx::open();
        let null = std::ptr::null_mut();
        let (mut p, mut free0, mut free1, mut total) = (0, 0, 0, 0);
        let mut back = vec![0u8; 1000];
        let src: Vec<u8> = (0..=255).cycle().take(1000).collect();
        // SAFETY: valid out-pointers.
        unsafe {
            assert_eq!(cuMemGetInfo_v2(&mut free0, &mut total), 0);
            assert_eq!(total, total_bytes());
            assert_eq!(cuMemAlloc_v2(&mut p, 0), code::INVALID_VALUE);
            assert_eq!(cuMemAlloc_v2(&mut p, total + 1), code::OUT_OF_MEMORY);
            assert_eq!(cuMemAlloc_v2(&mut p, 1000), 0);
            assert_eq!(cuMemGetInfo_v2(&mut free1, &mut total), 0);
        }
        assert_eq!((p % ALIGN as u64, free0 - free1), (0, 1000));
        assert_eq!(dtoh(&mut back, p), 0);
        assert!(back.iter().all(|&b| b == POISON_BYTE));
        assert_eq!(cuMemsetD8Async(p, 0, 8, null), 0);
        // SAFETY: `src` is readable for 992 bytes.
        assert_eq!(unsafe { cuMemcpyHtoDAsync_v2(p + 8, src.as_ptr().cast(), 992, null) }, 0);
        assert_eq!(dtoh(&mut back, p), 0);
        assert_eq!((&back[..8], &back[8..]), (&[0; 8][..], &src[..992]));
        // Ranges past the end, or outside any allocation, or on a bad stream.
        assert_eq!(dtoh(&mut back, p + 1), code::INVALID_VALUE);
        assert_eq!(cuMemsetD8Async(p + 1000, 0, 1, null), code::INVALID_VALUE);
        assert_eq!(cuMemsetD8Async(8, 0, 1, null), code::INVALID_VALUE);
        assert_eq!(cuMemsetD8Async(p, 0, 1, 12345usize as *mut c_void), code::INVALID_HANDLE);
        // Free: by base only, once.
        assert_eq!(cuMemFree_v2(p + 8), code::INVALID_VALUE);
        assert_eq!(cuMemFree_v2(p), 0);
        assert_eq!(cuMemFree_v2(p), code::INVALID_VALUE);
        assert_eq!(cuMemFree_v2(0), 0);
        // SAFETY: valid out-pointers.
        assert_eq!(unsafe { cuMemGetInfo_v2(&mut free1, &mut total) }, 0);
        assert_eq!(free1, free0);
    }

    #[test]
    fn a_write_past_the_end_is_caught_at_free_and_sticks() {
        let ctx = Ctx::open();
        let mut p = 0;
        // SAFETY: a valid out-pointer; the out-of-bounds write stays inside the block's
        // guard zone, which is part of the host allocation.
        unsafe {
            assert_eq!(cuMemAlloc_v2(&mut p, 10), 0);
            (p as usize as *mut u8).add(10).write(0);
        }
        assert_eq!(cuMemFree_v2(p), code::ILLEGAL_ADDRESS);
        assert_eq!(sync(), code::ILLEGAL_ADDRESS);
        drop(ctx);
        let _ctx = Ctx::open();
        assert_eq!(sync(), 0, "a fresh context has no sticky error");
    }

    #[test]
    fn leaked_allocations_are_freed_with_the_context() {
        let ctx = Ctx::open();
        let mut p = 0;
        // SAFETY: a valid out-pointer.
        assert_eq!(unsafe { cuMemAlloc_v2(&mut p, 4096) }, 0);
        drop(ctx);
        assert!(lock(&HEAP).blocks.is_empty());
    }
}
