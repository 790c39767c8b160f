//! Modules and functions: a module is PTX text whose header and `.entry` parameter lists
//! check out ([`crate::ptx`]) against the host entry points of the same names
//! ([`gpu_kernels::host::find`]); a function is a host entry point.

use std::collections::BTreeMap;
use std::ffi::{CStr, c_char, c_int, c_uint, c_void};
use std::sync::Mutex;

use gpu_kernels::EntryPoint;

use crate::ptx::{check_header, entries};
use crate::{CUresult, code, enter, lock, put, say, status};

/// A loaded function: a host entry point and which of its parameters are pointers. Its
/// handle is its address.
pub(crate) struct Function {
    pub entry: &'static EntryPoint,
    pub pointers: Vec<bool>,
}

/// A loaded module: its launchable functions (the `.entry`s that have a host entry
/// point). Its handle is its (boxed) address.
struct Module {
    functions: Vec<Function>,
}

/// Live modules by handle.
static MODULES: Mutex<BTreeMap<usize, Box<Module>>> = Mutex::new(BTreeMap::new());

/// Builds a module from PTX text: the header checked, and every `.entry` that has a host
/// entry point checked against it parameter by parameter.
fn build(ptx: &str) -> Result<Module, CUresult> {
    check_header(ptx)?;
    let mut functions = Vec::new();
    let mut mismatched = false;
    for e in entries(ptx) {
        let Some(entry) = gpu_kernels::host::find(&e.name) else { continue };
        if entry.params != e.params.as_slice() {
            say(format_args!(
                "PTX entry `{}` takes ({}) but the host entry point takes ({}): the PTX and the kernels \
                 disagree (rebuild the PTX with `cargo xtask ptx`)",
                e.name,
                e.params.join(", "),
                entry.params.join(", ")
            ));
            mismatched = true;
        }
        functions.push(Function { entry, pointers: e.pointers });
    }
    if mismatched {
        return Err(code::INVALID_PTX);
    }
    Ok(Module { functions })
}

/// The entry point and pointer flags of function handle `f`.
pub(crate) fn function(f: *mut c_void) -> Result<(&'static EntryPoint, Vec<bool>), CUresult> {
    let modules = lock(&MODULES);
    let mut all = modules.values().flat_map(|m| &m.functions);
    let func = all.find(|func| std::ptr::eq(*func, f.cast())).ok_or(code::INVALID_HANDLE)?;
    Ok((func.entry, func.pointers.clone()))
}

/// Unloads every live module (the context is being destroyed): how many there were.
pub(crate) fn release_all() -> usize {
    std::mem::take(&mut *lock(&MODULES)).len()
}

/// `cuModuleLoadData`: `image` is PTX text. `CUDA_ERROR_INVALID_PTX` for anything else,
/// for a `.target` newer than sm_90, or when an `.entry`'s parameters differ from the
/// host entry point's; `CUDA_ERROR_UNSUPPORTED_PTX_VERSION` past PTX ISA 8.7.
///
/// # Safety
/// `module` is null or valid for a write; `image` is null or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cuModuleLoadData(module: *mut *mut c_void, image: *const c_void) -> CUresult {
    status(enter().and_then(|()| crate::faults::check("cuModuleLoadData")).and_then(|()| {
        if module.is_null() || image.is_null() {
            return Err(code::INVALID_VALUE);
        }
        // SAFETY: a NUL-terminated string (the caller's contract).
        let text = unsafe { CStr::from_ptr(image.cast::<c_char>()) };
        let Ok(ptx) = text.to_str() else {
            say(format_args!("the module image is not PTX (not UTF-8 text)"));
            return Err(code::INVALID_PTX);
        };
        let m = Box::new(build(ptx)?);
        let handle = &raw const *m as usize;
        lock(&MODULES).insert(handle, m);
        // SAFETY: non-null and writable (the caller's contract).
        unsafe { put(module, handle as *mut c_void) }
    }))
}

/// `cuModuleUnload`. Unloads even with a sticky error in the context, then reports it.
#[unsafe(no_mangle)]
pub extern "C" fn cuModuleUnload(module: *mut c_void) -> CUresult {
    status(crate::initialized().and_then(|()| {
        lock(&MODULES).remove(&(module as usize)).ok_or(code::INVALID_HANDLE)?;
        crate::sticky()
    }))
}

/// `cuModuleGetFunction`: `CUDA_ERROR_NOT_FOUND` unless `name` is an `.entry` of the
/// module that has a host entry point.
///
/// # Safety
/// `hfunc` is null or valid for a write; `name` is null or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cuModuleGetFunction(
    hfunc: *mut *mut c_void,
    module: *mut c_void,
    name: *const c_char,
) -> CUresult {
    status(enter().and_then(|()| {
        if hfunc.is_null() || name.is_null() {
            return Err(code::INVALID_VALUE);
        }
        // SAFETY: a NUL-terminated string (the caller's contract).
        let name = unsafe { CStr::from_ptr(name) }.to_bytes();
        let modules = lock(&MODULES);
        let m = modules.get(&(module as usize)).ok_or(code::INVALID_HANDLE)?;
        let f = m.functions.iter().find(|f| f.entry.name.as_bytes() == name).ok_or(code::NOT_FOUND)?;
        // SAFETY: non-null and writable (the caller's contract).
        unsafe { put(hfunc, (f as *const Function).cast_mut().cast()) }
    }))
}

/// `cuFuncGetAttribute`: only `CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK` (1024), which
/// simlanes reads when the occupancy query fails (a sticky error in the context, which
/// this then returns too); `CUDA_ERROR_NOT_SUPPORTED` for the others.
///
/// # Safety
/// `value` is null or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cuFuncGetAttribute(value: *mut c_int, attrib: c_int, func: *mut c_void) -> CUresult {
    status(enter().and_then(|()| function(func)).and_then(|_| {
        if attrib != 0 {
            say(format_args!("function attribute {attrib} is not modelled by the stand-in"));
            return Err(code::NOT_SUPPORTED);
        }
        // SAFETY: the caller's contract.
        unsafe { put(value, crate::MAX_BLOCK_THREADS) }
    }))
}

/// `cuOccupancyMaxPotentialBlockSizeWithFlags`: block = min(limit or 1024, 256), min grid
/// = 132 × min(2048 / block, 32). The shared-memory callback is called, as the driver
/// does, though no kernel here uses dynamic shared memory.
///
/// # Safety
/// Out-pointers null or writable; `callback` null or a valid function.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cuOccupancyMaxPotentialBlockSizeWithFlags(
    min_grid: *mut c_int,
    block: *mut c_int,
    func: *mut c_void,
    callback: Option<unsafe extern "C" fn(c_int) -> usize>,
    _dynamic_shared: usize,
    limit: c_int,
    _flags: c_uint,
) -> CUresult {
    status(enter().and_then(|()| function(func)).and_then(|_| {
        if min_grid.is_null() || block.is_null() || limit < 0 {
            return Err(code::INVALID_VALUE);
        }
        let max = crate::MAX_BLOCK_THREADS;
        let b = if limit > 0 { limit.min(max) } else { max }.min(256);
        if let Some(cb) = callback {
            // SAFETY: a valid `CUoccupancyB2DSize` (the caller's contract).
            let _dynamic_shared = unsafe { cb(b) };
        }
        let per_sm = (crate::THREADS_PER_MULTIPROCESSOR / b).min(crate::BLOCKS_PER_MULTIPROCESSOR);
        // SAFETY: both non-null and writable (the caller's contract).
        unsafe {
            put(block, b)?;
            put(min_grid, crate::MULTIPROCESSORS * per_sm)
        }
    }))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::context::tests::Ctx;

    /// The checked-in sm_90 PTX, as simlanes embeds it.
    pub(crate) const SM90: &str = include_str!("../../../gpu-kernels/ptx/simlanes_sm90.ptx");

    /// Loads `ptx` (NUL-terminated here), returning the code and the handle.
    pub(crate) fn load_ptx(ptx: &str) -> (CUresult, *mut c_void) {
        let c = std::ffi::CString::new(ptx).unwrap();
        let mut m = std::ptr::null_mut();
        // SAFETY: a valid out-pointer and a NUL-terminated string.
        (unsafe { cuModuleLoadData(&mut m, c.as_ptr().cast()) }, m)
    }

    #[test]
    fn modules_load_check_and_unload() {
        let _ctx = Ctx::open();
        let (rc, m) = load_ptx(SM90);
        assert_eq!(rc, 0);
        let mut f = std::ptr::null_mut();
        let (mut v, mut min_grid, mut block) = (0, 0, 0);
        extern "C" fn no_shared(_block: c_int) -> usize {
            0
        }
        // SAFETY: valid out-pointers and NUL-terminated names throughout.
        unsafe {
            assert_eq!(cuModuleGetFunction(&mut f, m, c"no_such_kernel".as_ptr()), code::NOT_FOUND);
            assert_eq!(cuModuleGetFunction(&mut f, m, c"pi_hits".as_ptr()), 0);
            assert_eq!(cuFuncGetAttribute(&mut v, 0, f), 0);
            assert_eq!(v, 1024);
            assert_eq!(cuFuncGetAttribute(&mut v, 4, f), code::NOT_SUPPORTED);
            let occupancy = |limit, min_grid: &mut c_int, block: &mut c_int| {
                cuOccupancyMaxPotentialBlockSizeWithFlags(min_grid, block, f, Some(no_shared), 0, limit, 0)
            };
            assert_eq!(occupancy(0, &mut min_grid, &mut block), 0);
            assert_eq!((min_grid, block), (132 * 8, 256));
            assert_eq!(occupancy(100, &mut min_grid, &mut block), 0);
            assert_eq!((min_grid, block), (132 * 20, 100));
            assert_eq!(cuModuleUnload(m), 0);
            assert_eq!(cuModuleUnload(m), code::INVALID_HANDLE);
            assert_eq!(cuFuncGetAttribute(&mut v, 0, f), code::INVALID_HANDLE);
        }
    }

    #[test]
    fn bad_ptx_is_rejected() {
        let _ctx = Ctx::open();
        assert_eq!(load_ptx("hello, world").0, code::INVALID_PTX);
        assert_eq!(load_ptx(".version 9.0\n.target sm_90\n").0, code::UNSUPPORTED_PTX_VERSION);
        assert_eq!(load_ptx(".version 8.7\n.target sm_100\n").0, code::INVALID_PTX);
        assert_eq!(load_ptx(".version 7.8\n.target sm_80\n").0, 0);
        // An entry whose parameters differ from the host entry point's.
        let stale = ".version 7.8\n.target sm_90\n.address_size 64\n\
                     .visible .entry pi_hits(\n\t.param .u64 .ptr .align 1 pi_hits_param_0,\n\
                     \t.param .u32 pi_hits_param_1\n)\n{\n}\n";
        assert_eq!(load_ptx(stale).0, code::INVALID_PTX);
        let (rc, m) = load_ptx(&SM90.replace(".entry pi_hits(", ".entry pi_hits_renamed("));
        assert_eq!(rc, 0);
        let mut f = std::ptr::null_mut();
        // SAFETY: valid out-pointer, NUL-terminated name, live module.
        unsafe {
            assert_eq!(cuModuleGetFunction(&mut f, m, c"pi_hits".as_ptr()), code::NOT_FOUND);
            assert_eq!(cuModuleUnload(m), 0);
        }
    }
}
