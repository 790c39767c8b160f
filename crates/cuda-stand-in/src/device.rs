//! Initialisation, the one device's facts, and the error descriptions.

use std::ffi::{CStr, c_char, c_int, c_uint};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::{CUdevice, CUresult, DEVICE_NAME, code, memory, put, say, status};

static INITIALIZED: AtomicBool = AtomicBool::new(false);

/// `CUDA_ERROR_NOT_INITIALIZED` until [`cuInit`].
pub(crate) fn initialized() -> Result<(), CUresult> {
    if INITIALIZED.load(Ordering::Acquire) { Ok(()) } else { Err(code::NOT_INITIALIZED) }
}

/// Checks that `cuInit` was called and `dev` is device 0.
pub(crate) fn device(dev: CUdevice) -> Result<(), CUresult> {
    initialized()?;
    if dev == 0 { Ok(()) } else { Err(code::INVALID_DEVICE) }
}

/// `cuInit`: flags must be 0. Announces the stand-in on stderr, once.
#[unsafe(no_mangle)]
pub extern "C" fn cuInit(flags: c_uint) -> CUresult {
    if flags != 0 {
        return code::INVALID_VALUE;
    }
    if let Err(e) = crate::faults::check("cuInit") {
        return e;
    }
    if !INITIALIZED.swap(true, Ordering::AcqRel) {
        say(format_args!(
            "this libcuda.so is simlanes' CUDA stand-in: kernels run on the host CPU, no GPU is used"
        ));
    }
    code::SUCCESS
}

/// `cuDeviceGetCount`: one device.
///
/// # Safety
/// `count` is null or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cuDeviceGetCount(count: *mut c_int) -> CUresult {
    // SAFETY: the caller's contract.
    status(initialized().and_then(|()| unsafe { put(count, 1) }))
}

/// `cuDeviceGet`: ordinal 0 is device 0; others are `CUDA_ERROR_INVALID_DEVICE`.
///
/// # Safety
/// `dev` is null or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cuDeviceGet(dev: *mut CUdevice, ordinal: c_int) -> CUresult {
    // SAFETY: the caller's contract.
    status(device(ordinal).and_then(|()| unsafe { put(dev, 0) }))
}

/// `cuDeviceGetName`: [`DEVICE_NAME`], NUL-terminated, truncated to `len` bytes.
///
/// # Safety
/// `name` is null or valid for writes of `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cuDeviceGetName(name: *mut c_char, len: c_int, dev: CUdevice) -> CUresult {
    status(device(dev).and_then(|()| {
        let len = usize::try_from(len).ok().filter(|&l| l > 0).ok_or(code::INVALID_VALUE)?;
        if name.is_null() {
            return Err(code::INVALID_VALUE);
        }
        let n = DEVICE_NAME.len().min(len - 1);
        // SAFETY: `name` holds `len` writable bytes (the caller's contract) and n < len.
        unsafe {
            std::ptr::copy_nonoverlapping(DEVICE_NAME.as_ptr(), name.cast::<u8>(), n);
            name.add(n).write(0);
        }
        Ok(())
    }))
}

/// The device's value of attribute `attrib` (a `CUdevice_attribute`): only those cudarc
/// and simlanes read are modelled.
fn attribute(attrib: c_int) -> Option<c_int> {
    Some(match attrib {
        16 => crate::MULTIPROCESSORS, // multiprocessor count
        36 => 2_619_000,              // memory clock rate, kHz
        37 => 5120,                   // global memory bus width, bits
        75 => 9,                      // compute capability major
        76 => 0,                      // compute capability minor
        115 => 0,                     // memory pools: unsupported (the cuMemAlloc path)
        _ => return None,
    })
}

/// `cuDeviceGetAttribute`: H100-like values (compute capability 9.0, 132 SMs, 2.619 GHz
/// memory clock on a 5120-bit bus); memory pools unsupported. Any other attribute is
/// `CUDA_ERROR_NOT_SUPPORTED` (said on stderr), never a made-up value.
///
/// # Safety
/// `value` is null or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cuDeviceGetAttribute(value: *mut c_int, attrib: c_int, dev: CUdevice) -> CUresult {
    status(device(dev).and_then(|()| {
        let v = attribute(attrib).ok_or_else(|| {
            say(format_args!("device attribute {attrib} is not modelled by the stand-in"));
            code::NOT_SUPPORTED
        })?;
        // SAFETY: the caller's contract.
        unsafe { put(value, v) }
    }))
}

/// `cuDeviceTotalMem_v2`: `CUDA_STAND_IN_MEMORY_MIB` MiB (default 2048).
///
/// # Safety
/// `bytes` is null or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cuDeviceTotalMem_v2(bytes: *mut usize, dev: CUdevice) -> CUresult {
    // SAFETY: the caller's contract.
    status(device(dev).and_then(|()| unsafe { put(bytes, memory::total_bytes()) }))
}

/// The description of each code the stand-in returns (the driver's words, and where to
/// look for the stand-in's reason).
const ERRORS: &[(CUresult, &CStr)] = &[
    (0, c"no error"),
    (1, c"invalid argument"),
    (2, c"out of memory"),
    (3, c"initialization error"),
    (100, c"no CUDA-capable device is detected"),
    (101, c"invalid device ordinal"),
    (201, c"invalid device context"),
    (218, c"a PTX JIT compilation failed (CUDA stand-in: see stderr)"),
    (222, c"the provided PTX was compiled with an unsupported toolchain."),
    (400, c"invalid resource handle"),
    (500, c"named symbol not found"),
    (700, c"an illegal memory access was encountered (CUDA stand-in: see stderr)"),
    (719, c"unspecified launch failure (CUDA stand-in: see stderr)"),
    (801, c"operation not supported (CUDA stand-in: see stderr)"),
];

/// `cuGetErrorString`: the code's description ("CUDA stand-in: unknown error" for codes
/// it never returns). cudarc calls it to format every `DriverError`.
///
/// # Safety
/// `out` is null or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cuGetErrorString(error: CUresult, out: *mut *const c_char) -> CUresult {
    let s = ERRORS.iter().find(|e| e.0 == error).map_or(c"CUDA stand-in: unknown error", |e| e.1);
    // SAFETY: the caller's contract; the string is static.
    status(unsafe { put(out, s.as_ptr()) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::tests::Ctx;

    #[test]
    fn device_facts_and_errors() {
        let _ctx = Ctx::open();
        assert_eq!(cuInit(1), code::INVALID_VALUE);
        let (mut n, mut d, mut v, mut s) = (0, -1, 0, std::ptr::null());
        let (mut short, mut long) = ([0x55 as c_char; 16], [0 as c_char; 128]);
        // SAFETY: valid out-pointers and buffers of the lengths given.
        unsafe {
            assert_eq!((cuDeviceGetCount(&mut n), n), (0, 1));
            assert_eq!((cuDeviceGet(&mut d, 0), d), (0, 0));
            assert_eq!(cuDeviceGet(&mut d, 1), code::INVALID_DEVICE);
            assert_eq!((cuDeviceGetAttribute(&mut v, 75, 0), v), (0, 9));
            assert_eq!(cuDeviceGetAttribute(&mut v, 16, 1), code::INVALID_DEVICE);
            assert_eq!(cuDeviceGetAttribute(&mut v, 100_000, 0), code::NOT_SUPPORTED);
            assert_eq!(cuDeviceGetName(short.as_mut_ptr(), 16, 0), 0);
            assert_eq!(CStr::from_ptr(short.as_ptr()).to_str().unwrap(), &DEVICE_NAME[..15]);
            assert_eq!(cuDeviceGetName(long.as_mut_ptr(), 128, 0), 0);
            assert_eq!(CStr::from_ptr(long.as_ptr()).to_str().unwrap(), DEVICE_NAME);
            assert_eq!((cuGetErrorString(2, &mut s), CStr::from_ptr(s)), (0, c"out of memory"));
            assert_eq!(cuGetErrorString(12345, &mut s), 0);
            assert_eq!(CStr::from_ptr(s), c"CUDA stand-in: unknown error");
            assert_eq!(cuGetErrorString(0, std::ptr::null_mut()), code::INVALID_VALUE);
        }
    }
}
