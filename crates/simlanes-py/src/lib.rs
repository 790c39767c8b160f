//! `simlanes._simlanes`: the native half of the `simlanes` Python package (the pure-Python
//! half in `python/simlanes/` wraps its dict results in dataclasses and adds `map_tiles`).
//!
//! **Why this shape.** Every function here checks its arguments, reads what it needs out of
//! the NumPy arrays while holding the GIL (copying only where the Rust API needs owned
//! data or the layout differs), then runs the simulation with the GIL released
//! ([`Python::detach`]), so other Python threads keep running.
//!
//! **Ctrl-C.** `run` runs the simulation on a helper thread while the calling thread
//! wakes every `POLL` (50 ms) to run Python's signal handlers; when one raises (Ctrl-C:
//! `KeyboardInterrupt`), it cancels the run's [`CancelToken`], so the threaded executor
//! and the calibration engine skip their remaining tiles, waits for the tiles in flight,
//! drops the partial result and re-raises. Errors never crash the
//! interpreter: bad values and shapes raise `ValueError` with the Rust message, arrays of
//! the wrong dtype (or non-arrays) and arguments of the wrong type (a bool for a number
//! included) raise `TypeError` naming the argument, an output or input copy that cannot
//! be allocated raises `MemoryError`, a backend that cannot start (no GPU, an old CPU)
//! raises `RuntimeError`.
//!
//! Logic is tested in the `simlanes` crate; these bindings are tested from Python
//! (`tests/` beside this crate, run by `.ci/python`).

use pyo3::exceptions::{
    PyImportError, PyKeyboardInterrupt, PyMemoryError, PyOverflowError, PyRuntimeError, PyTypeError,
    PyValueError,
};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyInt, PyString};
use simlanes::{Backend, CancelToken, SimError, Simulator, ThreadConfig};
use std::sync::Mutex;
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::time::Duration;

mod calibration;
mod jax;
mod workloads;

/// How often the calling thread runs Python's signal handlers during a [`run`].
pub(crate) const POLL: Duration = Duration::from_millis(50);

/// Runs `f` on `sim` with the GIL released, interruptibly (see the module docs): the
/// result of `f`, or the exception a signal handler raised (`KeyboardInterrupt` on
/// Ctrl-C), or `f`'s error mapped by [`to_py`]. A panic in `f` is resumed here (pyo3
/// turns it into a `PanicException`).
pub(crate) fn run<R: Send>(
    py: Python<'_>,
    sim: &Simulator,
    f: impl FnOnce(&Simulator) -> Result<R, SimError> + Send,
) -> PyResult<R> {
    let token = CancelToken::new();
    let (out, raised) = py.detach(|| {
        std::thread::scope(|scope| {
            let (tx, rx) = channel::<()>();
            let token = &token;
            let worker = scope.spawn(move || {
                let r = sim.cancellable(token, f);
                // The receiver may be gone only if this thread panicked; nothing to tell.
                let _ = tx.send(());
                r
            });
            let mut raised = None;
            loop {
                match rx.recv_timeout(POLL) {
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
                    Err(RecvTimeoutError::Timeout) => {
                        // Signal handlers run on the main thread only; elsewhere a no-op.
                        if let Err(e) = Python::attach(|py| py.check_signals()) {
                            token.cancel();
                            raised = Some(e);
                            break;
                        }
                    }
                }
            }
            match worker.join() {
                Ok(out) => (out, raised),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    });
    match raised {
        Some(e) => Err(e),
        None => out.map_err(to_py),
    }
}

/// Maps a [`SimError`] to the Python exception named in the module docs.
pub(crate) fn to_py(e: SimError) -> PyErr {
    match e {
        SimError::Param(_)
        | SimError::Shape { .. }
        | SimError::TooSmall { .. }
        | SimError::ModelContract(_) => PyValueError::new_err(e.to_string()),
        SimError::UnsupportedCpu { .. } | SimError::ThreadPool(_) | SimError::Gpu(_) => {
            PyRuntimeError::new_err(e.to_string())
        }
        SimError::Cancelled => PyKeyboardInterrupt::new_err("cancelled"),
        SimError::OutOfMemory { .. } => PyMemoryError::new_err(e.to_string()),
    }
}

/// The type name of `obj`, for messages.
pub(crate) fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map_or_else(|_| "?".to_string(), |n| n.to_string())
}

/// Whether `obj` is a Python `bool` or a NumPy `bool_` (neither is a number here, although
/// Python makes `bool` an int subclass and `numpy.bool_` converts to float).
pub(crate) fn is_bool(obj: &Bound<'_, PyAny>) -> bool {
    if obj.is_instance_of::<PyBool>() {
        return true;
    }
    let ty = obj.get_type();
    ty.module().is_ok_and(|m| m == "numpy") && ty.name().is_ok_and(|n| n == "bool" || n == "bool_")
}

/// Extracts an integer argument: `TypeError` if `obj` is not an int (a `bool` is not a
/// size or a seed, although Python makes it an int subclass), `ValueError` if it is out of
/// the range of `T` (e.g. negative for a size).
pub(crate) fn int<'py, T>(obj: &Bound<'py, PyAny>, name: &str) -> PyResult<T>
where
    T: for<'a> FromPyObject<'a, 'py>,
{
    if is_bool(obj) {
        return Err(PyTypeError::new_err(format!("`{name}` must be an int, got bool")));
    }
    match obj.extract::<T>() {
        Ok(v) => Ok(v),
        Err(_) if obj.is_instance_of::<PyInt>() => Err(PyValueError::new_err(format!(
            "`{name}` is {obj}, out of range for {}",
            std::any::type_name::<T>()
        ))),
        Err(_) => Err(PyTypeError::new_err(format!("`{name}` must be an int, got {}", type_name(obj)))),
    }
}

/// Extracts a float argument: `TypeError` naming `name` if `obj` is not a real number (a
/// `bool` is not one here, as for [`int`]; pyo3's own message names the argument on some
/// Python versions only), `ValueError` if it is too large for a float64 (an int such as
/// `10**400`).
pub(crate) fn real(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<f64> {
    if is_bool(obj) {
        return Err(PyTypeError::new_err(format!("`{name}` must be a real number, got bool")));
    }
    obj.extract::<f64>().map_err(|e| {
        if e.is_instance_of::<PyOverflowError>(obj.py()) {
            PyValueError::new_err(format!("`{name}` is too large for a float64 (at most about 1.8e308)"))
        } else {
            PyTypeError::new_err(format!("`{name}` must be a real number, got {}", type_name(obj)))
        }
    })
}

/// Extracts a bool argument (a Python `bool` or a NumPy `bool_`): `TypeError` naming
/// `name` for anything else (an int included: `1` is not a flag).
pub(crate) fn flag(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<bool> {
    obj.extract::<bool>()
        .map_err(|_| PyTypeError::new_err(format!("`{name}` must be a bool, got {}", type_name(obj))))
}

/// Extracts a string argument that must be one of `options`: `TypeError` naming `name`
/// if `obj` is not a `str`, `ValueError` listing the options if it is not one of them.
pub(crate) fn choice(obj: &Bound<'_, PyAny>, name: &str, options: &[&'static str]) -> PyResult<&'static str> {
    let s = obj
        .cast::<PyString>()
        .map_err(|_| PyTypeError::new_err(format!("`{name}` must be a str, got {}", type_name(obj))))?
        .to_cow()?;
    if let Some(&o) = options.iter().find(|&&o| o == s) {
        return Ok(o);
    }
    let quoted: Vec<String> = options.iter().map(|o| format!("{o:?}")).collect();
    let expected = match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    };
    Err(PyValueError::new_err(format!("unknown {name} {s:?}; expected {expected}")))
}

/// Argument extractors for `#[pyo3(from_py_with = ...)]`, for arguments that have a
/// default (and so cannot be taken as `&Bound<PyAny>`): each converts through the helper
/// above that names its argument, so that `dt=True`, `dt="0.1"`, `backend=None` or
/// `partitionable=1` raise an error naming the argument, as the size arguments do.
pub(crate) mod arg {
    use super::{choice, flag, int, real};
    use pyo3::prelude::*;

    macro_rules! named {
        ($($f:ident -> $t:ty = $conv:expr;)*) => {$(
            #[doc = concat!("The `", stringify!($f), "` argument.")]
            pub(crate) fn $f(obj: &Bound<'_, PyAny>) -> PyResult<$t> {
                $conv(obj, stringify!($f))
            }
        )*};
    }

    named! {
        dt -> f64 = real;
        tau -> f64 = real;
        sigma -> f64 = real;
        x0 -> f64 = real;
        minval -> f64 = real;
        maxval -> f64 = real;
        partitionable -> bool = flag;
        delays -> bool = flag;
        x64 -> bool = flag;
        bits -> u32 = int::<u32>;
        backend -> &'static str = |o, n| choice(o, n, &["scalar", "simd", "threaded", "gpu"]);
        model -> &'static str = |o, n| choice(o, n, &["binomial", "two_arm_z"]);
    }
}

/// A NumPy array read into Rust: its shape and its elements in C (row-major) order.
pub(crate) struct Array<T> {
    pub shape: Vec<usize>,
    pub values: Vec<T>,
}

/// Borrows `obj` read-only as an `ndim`-dimensional array of dtype `T` (`dtype` names it
/// in messages), without copying.
///
/// `TypeError` if `obj` is not a NumPy array or has another dtype; `ValueError` if it has
/// another number of dimensions or is already borrowed mutably.
pub(crate) fn readonly<'py, T: numpy::Element>(
    obj: &Bound<'py, PyAny>,
    name: &str,
    ndim: usize,
    dtype: &str,
) -> PyResult<numpy::PyReadonlyArrayDyn<'py, T>> {
    use numpy::{PyArrayDyn, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
    let untyped = obj.cast::<PyUntypedArray>().map_err(|_| {
        PyTypeError::new_err(format!("`{name}` must be a NumPy array of {dtype}, got {}", type_name(obj)))
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
    typed.try_readonly().map_err(|e| PyValueError::new_err(format!("`{name}`: {e}")))
}

/// Reads `obj` as an `ndim`-dimensional array of dtype `T` (`dtype` names it in messages),
/// copying its elements (any strides, any memory order) into a `Vec` in C order — one
/// `memcpy` when it is C-contiguous. For Rust APIs that take owned data.
///
/// Errors as [`readonly`].
pub(crate) fn read_array<T: numpy::Element + Copy>(
    obj: &Bound<'_, PyAny>,
    name: &str,
    ndim: usize,
    dtype: &str,
) -> PyResult<Array<T>> {
    let ro = readonly::<T>(obj, name, ndim, dtype)?;
    let view = ro.as_array();
    Ok(Array { shape: view.shape().to_vec(), values: copy(view, name)? })
}

/// The elements of `view` in its logical (row-major) order, copied into a new `Vec`: one
/// `memcpy` when it is contiguous in that order. `MemoryError` naming `name` when the copy
/// cannot be allocated (a huge input, or a broadcast view whose zero strides make a small
/// buffer look huge), instead of an abort of the process in the allocator.
pub(crate) fn copy<T: Copy, D: numpy::ndarray::Dimension>(
    view: numpy::ndarray::ArrayView<'_, T, D>,
    name: &str,
) -> PyResult<Vec<T>> {
    let mut values = Vec::new();
    values.try_reserve_exact(view.len()).map_err(|_| {
        PyMemoryError::new_err(format!(
            "`{name}` needs a copy of {} bytes, which cannot be allocated: use smaller sizes or split the run",
            view.len() as u128 * size_of::<T>() as u128
        ))
    })?;
    match view.as_slice() {
        Some(s) => values.extend_from_slice(s),
        None => values.extend(view.iter().copied()),
    }
    Ok(values)
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

/// Simulators kept in [`CACHE`]: enough for the backends and a few thread counts in
/// turn, while a loop over `threads=1..N` no longer keeps every pool's threads alive.
const CACHED_SIMULATORS: usize = 6;

/// Worker threads when `threads=None`: `RAYON_NUM_THREADS` if set to a positive integer
/// (so several processes per node can each be given a share), else every logical CPU.
/// `ValueError` naming the variable when it asks for more than
/// [`ThreadConfig::MAX_THREADS`] (the caller gave no `threads=` to blame).
fn default_threads() -> PyResult<usize> {
    let var = std::env::var("RAYON_NUM_THREADS").ok();
    match var.as_deref().and_then(|v| v.trim().parse::<usize>().ok()).filter(|&t| t > 0) {
        Some(t) if t > ThreadConfig::MAX_THREADS => Err(PyValueError::new_err(format!(
            "the environment variable RAYON_NUM_THREADS is {t}, above the limit of {} threads \
             (it sets the thread count when `threads` is not given)",
            ThreadConfig::MAX_THREADS
        ))),
        Some(t) => Ok(t),
        None => Ok(ThreadConfig::default().threads),
    }
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
            let threads = match threads {
                Some(t) => t,
                None => default_threads()?,
            };
            ("threaded", Backend::Threaded(ThreadConfig::new(threads)))
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
        if let Some(at) = cache.sims.iter().position(|(k, _)| *k == key) {
            // Most recently used last.
            let entry = cache.sims.remove(at);
            let sim = entry.1.clone();
            cache.sims.push(entry);
            return Ok(sim);
        }
        let sim = Simulator::new(backend).map_err(to_py)?;
        if cache.sims.len() >= CACHED_SIMULATORS {
            // The least recently used goes: its pool's threads end once no caller holds it.
            cache.sims.remove(0);
        }
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
    m.add_function(wrap_pyfunction!(workloads::ou_path, m)?)?;
    m.add_function(wrap_pyfunction!(workloads::ou_with_normals, m)?)?;
    m.add_function(wrap_pyfunction!(jax::jax_key, m)?)?;
    m.add_function(wrap_pyfunction!(jax::jax_fold_in, m)?)?;
    m.add_function(wrap_pyfunction!(jax::jax_split, m)?)?;
    m.add_function(wrap_pyfunction!(jax::jax_bits, m)?)?;
    m.add_function(wrap_pyfunction!(jax::jax_uniform, m)?)?;
    m.add_function(wrap_pyfunction!(jax::jax_normal, m)?)?;
    m.add_function(wrap_pyfunction!(workloads::jansen_rit, m)?)?;
    m.add_function(wrap_pyfunction!(workloads::mpr_sweep, m)?)?;
    Ok(())
}
