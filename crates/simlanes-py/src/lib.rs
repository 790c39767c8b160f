//! `simlanes._simlanes`: the native half of the `simlanes` Python package (the pure-Python
//! half in `python/simlanes/` wraps its dict results in dataclasses and adds `map_tiles`).
//!
//! **Why this shape.** Every function here checks its arguments, copies what it needs out of
//! the NumPy arrays while holding the GIL, then runs the simulation with the GIL released
//! ([`Python::detach`]), so other Python threads keep running. Errors never crash the
//! interpreter: bad values and shapes raise `ValueError` with the Rust message, arrays of
//! the wrong dtype (or non-arrays) raise `TypeError`, a backend that cannot start (no GPU,
//! an old CPU) raises `RuntimeError`.
//!
//! Logic is tested in the `simlanes` crate; these bindings are tested from Python
//! (`tests/` beside this crate, run by `.ci/python`).

use pyo3::exceptions::{PyImportError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyInt;
use simlanes::{Backend, SimError, Simulator, ThreadConfig};
use std::sync::Mutex;

mod calibration;
mod workloads;

/// Maps a [`SimError`] to the Python exception named in the module docs.
pub(crate) fn to_py(e: SimError) -> PyErr {
    match e {
        SimError::Param(_) | SimError::Shape { .. } | SimError::TooSmall { .. } => {
            PyValueError::new_err(e.to_string())
        }
        SimError::UnsupportedCpu { .. } | SimError::ThreadPool(_) | SimError::Gpu(_) => {
            PyRuntimeError::new_err(e.to_string())
        }
    }
}

/// Extracts an integer argument: `TypeError` if `obj` is not an int, `ValueError` if it
/// is out of the range of `T` (e.g. negative for a size).
pub(crate) fn int<'py, T>(obj: &Bound<'py, PyAny>, name: &str) -> PyResult<T>
where
    T: for<'a> FromPyObject<'a, 'py>,
{
    match obj.extract::<T>() {
        Ok(v) => Ok(v),
        Err(_) if obj.is_instance_of::<PyInt>() => Err(PyValueError::new_err(format!(
            "`{name}` is {obj}, out of range for {}",
            std::any::type_name::<T>()
        ))),
        Err(_) => Err(PyTypeError::new_err(format!(
            "`{name}` must be an int, got {}",
            obj.get_type().name().map_or_else(|_| "?".to_string(), |n| n.to_string())
        ))),
    }
}

/// A NumPy array read into Rust: its shape and its elements in C (row-major) order.
pub(crate) struct Array<T> {
    pub shape: Vec<usize>,
    pub values: Vec<T>,
}

/// Reads `obj` as an `ndim`-dimensional array of dtype `T` (`dtype` names it in messages),
/// copying its elements (any strides, any memory order) into a `Vec` in C order.
///
/// `TypeError` if `obj` is not a NumPy array or has another dtype; `ValueError` if it has
/// another number of dimensions.
pub(crate) fn read_array<T: numpy::Element + Copy>(
    obj: &Bound<'_, PyAny>,
    name: &str,
    ndim: usize,
    dtype: &str,
) -> PyResult<Array<T>> {
    use numpy::{PyArrayDyn, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
    let type_name = || obj.get_type().name().map_or_else(|_| "?".to_string(), |n| n.to_string());
    let untyped = obj.cast::<PyUntypedArray>().map_err(|_| {
        PyTypeError::new_err(format!("`{name}` must be a NumPy array of {dtype}, got {}", type_name()))
    })?;
    if untyped.ndim() != ndim {
        return Err(PyValueError::new_err(format!(
            "`{name}` must have {ndim} dimension(s), got shape {:?}",
            untyped.shape()
        )));
    }
    let typed = untyped.cast::<PyArrayDyn<T>>().map_err(|_| {
        PyTypeError::new_err(format!("`{name}` must have dtype {dtype}, got {}", untyped.dtype()))
    })?;
    let ro = typed.try_readonly().map_err(|e| PyValueError::new_err(format!("`{name}`: {e}")))?;
    let view = ro.as_array();
    Ok(Array { shape: view.shape().to_vec(), values: view.iter().copied().collect() })
}

/// Simulators already started in this process, by `(backend name, threads)`: a threaded
/// backend's pool and an opened GPU are reused across calls. Tagged with the process id:
/// a child created by `fork` (e.g. a `ProcessPoolExecutor` worker) must not use its
/// parent's pool threads or GPU context, which do not exist in the child.
struct Cache {
    pid: u32,
    sims: Vec<((&'static str, usize), Simulator)>,
}

static CACHE: Mutex<Cache> = Mutex::new(Cache { pid: 0, sims: Vec::new() });

/// Worker threads when `threads=None`: `RAYON_NUM_THREADS` if set to a positive integer
/// (so several processes per node can each be given a share), else every logical CPU.
fn default_threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&t| t > 0)
        .unwrap_or_else(|| ThreadConfig::default().threads)
}

/// The simulator for `backend` (`"scalar"`, `"simd"`, `"threaded"`, `"gpu"`) and `threads`
/// (only with `"threaded"`), started with the GIL released and cached for later calls.
pub(crate) fn simulator(
    py: Python<'_>,
    backend: &str,
    threads: Option<&Bound<'_, PyAny>>,
) -> PyResult<Simulator> {
    let threads = threads.map(|t| int::<usize>(t, "threads")).transpose()?;
    let (name, backend) = match backend {
        "scalar" => ("scalar", Backend::Scalar),
        "simd" => ("simd", Backend::Simd),
        "threaded" => {
            ("threaded", Backend::Threaded(ThreadConfig::new(threads.unwrap_or_else(default_threads))))
        }
        "gpu" => ("gpu", Backend::Gpu { device: 0 }),
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown backend {other:?}; expected \"scalar\", \"simd\", \"threaded\" or \"gpu\""
            )));
        }
    };
    if threads.is_some() && name != "threaded" {
        return Err(PyValueError::new_err(format!(
            "`threads` applies to backend=\"threaded\" only, not {name:?}"
        )));
    }
    let key = (name, if let Backend::Threaded(c) = backend { c.threads } else { 0 });
    py.detach(|| {
        let mut cache = CACHE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let pid = std::process::id();
        if cache.pid != pid {
            // After a fork: forget (never drop, never join) the parent's pools and contexts.
            std::mem::forget(std::mem::take(&mut cache.sims));
            cache.pid = pid;
        }
        if let Some((_, sim)) = cache.sims.iter().find(|(k, _)| *k == key) {
            return Ok(sim.clone());
        }
        let sim = Simulator::new(backend).map_err(to_py)?;
        cache.sims.push((key, sim.clone()));
        Ok(sim)
    })
}

/// Native core of the `simlanes` package.
#[pymodule]
fn _simlanes(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // The extension is compiled for x86-64-v3 (AVX2, FMA): refuse to load, with the reason,
    // rather than die of SIGILL in the first kernel.
    simlanes::cpu::check_cpu().map_err(|e| PyImportError::new_err(e.to_string()))?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(calibration::validate, m)?)?;
    m.add_function(wrap_pyfunction!(calibration::calibrate, m)?)?;
    m.add_function(wrap_pyfunction!(workloads::pi, m)?)?;
    m.add_function(wrap_pyfunction!(workloads::ou_final, m)?)?;
    m.add_function(wrap_pyfunction!(workloads::jansen_rit, m)?)?;
    m.add_function(wrap_pyfunction!(workloads::mpr_sweep, m)?)?;
    Ok(())
}
