//! The workloads of WORKLOADS.md over NumPy: W1 `pi`, W2 `ou_final`, W4 `jansen_rit`,
//! W5 `mpr_sweep`; W2's other modes `ou_path` (a) and `ou_with_normals` (c). Each reads
//! and checks its arguments with the GIL held, runs with it released and interruptibly
//! (`crate::run`), and returns NumPy arrays (a dict where there are several; the Python
//! layer wraps those in dataclasses).
//!
//! **Random numbers.** Each workload but `ou_with_normals` takes `seed` (Philox streams)
//! or `key` (a JAX key's two uint32 words, read by the Python layer) and `partitionable`
//! (its [`Layout`]); with a key the spec's `jax_key` is set and member `i` of `B` draws
//! with `jax.random.split(key, B)[i]` (`simlanes::workload::jax`). W1/W2: `seed` and `key`
//! together is a ValueError. W4/W5: both are allowed, as `seed` still picks the default
//! connectivity (a fixed network) and `key` only the noise.
//!
//! **Layouts.** The Rust W2 arrays are time-major (`[t][sim]`); Python sees them
//! simulation-major, `(num_sim, steps)`, as the transposed view of that buffer (Fortran
//! order), so neither the path nor a Fortran-ordered `z` is copied.

use crate::{arg, copy, int, is_bool, read_array, readonly, real, run, simulator, to_py};
use numpy::ndarray::{Array2, Array3};
use numpy::{IntoPyArray, PyArray1};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat, PyInt};
use simlanes::workload::jansen_rit::{JansenRitSpec, NV as JR_NV, default_lags};
use simlanes::workload::jax::{JaxKey, Layout};
use simlanes::workload::mpr::{MprSpec, NV as MPR_NV, sweep_grid};
use simlanes::workload::ou::{OuParams, OuSpec};
use simlanes::workload::pi::PiSpec;

/// The JAX key of the `key=` and `partitionable=` keywords (`key` as its two uint32
/// words, read by the Python layer), or `None` (Philox streams of `seed`).
fn jax_key(key: Option<(u32, u32)>, partitionable: bool) -> Option<JaxKey> {
    let layout = if partitionable { Layout::Partitionable } else { Layout::Legacy };
    key.map(|(k0, k1)| JaxKey::from_data([k0, k1]).with_layout(layout))
}

/// `seed` (default 0) for W1/W2, where a key replaces it: both given is a ValueError.
fn seed_only(seed: Option<&Bound<'_, PyAny>>, has_key: bool) -> PyResult<u64> {
    match (seed, has_key) {
        (Some(_), true) => Err(PyValueError::new_err("give `seed` or `key`, not both")),
        (seed, _) => seed.map_or(Ok(0), |s| int(s, "seed")),
    }
}

/// W1: `estimates` estimates of pi, each from `pairs_per_estimate` pairs.
#[pyfunction]
#[pyo3(signature = (pairs_per_estimate, estimates, *, seed=None, key=None, partitionable=true, backend="threaded", threads=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn pi<'py>(
    py: Python<'py>,
    pairs_per_estimate: &Bound<'py, PyAny>,
    estimates: &Bound<'py, PyAny>,
    seed: Option<&Bound<'py, PyAny>>,
    key: Option<(u32, u32)>,
    #[pyo3(from_py_with = arg::partitionable)] partitionable: bool,
    #[pyo3(from_py_with = arg::backend)] backend: &'static str,
    threads: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let spec = PiSpec {
        seed: seed_only(seed, key.is_some())?,
        pairs_per_estimate: int(pairs_per_estimate, "pairs_per_estimate")?,
        estimates: int(estimates, "estimates")?,
        jax_key: jax_key(key, partitionable),
    };
    spec.validate().map_err(to_py)?;
    let sim = simulator(py, backend, threads)?;
    let out = run(py, &sim, |s| s.pi(&spec))?;
    let d = PyDict::new(py);
    d.set_item("hits", PyArray1::from_vec(py, out.hits))?;
    d.set_item("estimates", PyArray1::from_vec(py, out.estimates))?;
    d.set_item("mean", out.mean)?;
    Ok(d)
}

/// W2 mode (b): the final state of every simulation. With `chunks`, parallel in time:
/// each path cut into at most `chunks` chunks of time run side by side and stitched
/// (`Simulator::ou_final_parallel_in_time`; equal to the sequential result within the
/// bound documented there, about 1e-13 at the defaults).
#[pyfunction]
#[pyo3(signature = (num_sim, num_steps, *, seed=None, key=None, partitionable=true, dt=0.1, tau=1.0, sigma=2.0, x0=0.0, chunks=None, backend="threaded", threads=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn ou_final<'py>(
    py: Python<'py>,
    num_sim: &Bound<'py, PyAny>,
    num_steps: &Bound<'py, PyAny>,
    seed: Option<&Bound<'py, PyAny>>,
    key: Option<(u32, u32)>,
    #[pyo3(from_py_with = arg::partitionable)] partitionable: bool,
    #[pyo3(from_py_with = arg::dt)] dt: f64,
    #[pyo3(from_py_with = arg::tau)] tau: f64,
    #[pyo3(from_py_with = arg::sigma)] sigma: f64,
    #[pyo3(from_py_with = arg::x0)] x0: f64,
    chunks: Option<&Bound<'py, PyAny>>,
    #[pyo3(from_py_with = arg::backend)] backend: &'static str,
    threads: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let (num_sim, num_steps) = (int::<usize>(num_sim, "num_sim")?, int::<usize>(num_steps, "num_steps")?);
    let chunks = chunks.map(|c| int::<usize>(c, "chunks")).transpose()?;
    let spec =
        ou_spec(seed, jax_key(key, partitionable), num_sim, num_steps, OuParams { dt, tau, sigma, x0 })?;
    let sim = simulator(py, backend, threads)?;
    let out = run(py, &sim, |s| match chunks {
        None => s.ou_final(&spec),
        Some(c) => s.ou_final_parallel_in_time(&spec, c),
    })?;
    Ok(PyArray1::from_vec(py, out))
}

/// The W2 spec of the shared keywords.
fn ou_spec(
    seed: Option<&Bound<'_, PyAny>>,
    key: Option<JaxKey>,
    num_sim: usize,
    num_steps: usize,
    params: OuParams,
) -> PyResult<OuSpec> {
    let spec = OuSpec { seed: seed_only(seed, key.is_some())?, num_sim, num_steps, params, jax_key: key };
    spec.validate().map_err(to_py)?;
    Ok(spec)
}

/// W2 mode (a): every state, as the `(num_sim, num_steps + 1)` transposed (Fortran-order)
/// view of the time-major buffer the simulation writes (no copy). With `chunks`, parallel
/// in time (`Simulator::ou_path_parallel_in_time`: every state within the bound
/// documented there of the sequential path).
#[pyfunction]
#[pyo3(signature = (num_sim, num_steps, *, seed=None, key=None, partitionable=true, dt=0.1, tau=1.0, sigma=2.0, x0=0.0, chunks=None, backend="threaded", threads=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn ou_path<'py>(
    py: Python<'py>,
    num_sim: &Bound<'py, PyAny>,
    num_steps: &Bound<'py, PyAny>,
    seed: Option<&Bound<'py, PyAny>>,
    key: Option<(u32, u32)>,
    #[pyo3(from_py_with = arg::partitionable)] partitionable: bool,
    #[pyo3(from_py_with = arg::dt)] dt: f64,
    #[pyo3(from_py_with = arg::tau)] tau: f64,
    #[pyo3(from_py_with = arg::sigma)] sigma: f64,
    #[pyo3(from_py_with = arg::x0)] x0: f64,
    chunks: Option<&Bound<'py, PyAny>>,
    #[pyo3(from_py_with = arg::backend)] backend: &'static str,
    threads: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let (num_sim, num_steps) = (int::<usize>(num_sim, "num_sim")?, int::<usize>(num_steps, "num_steps")?);
    let chunks = chunks.map(|c| int::<usize>(c, "chunks")).transpose()?;
    let spec =
        ou_spec(seed, jax_key(key, partitionable), num_sim, num_steps, OuParams { dt, tau, sigma, x0 })?;
    let len = spec.path_len().map_err(to_py)?;
    simlanes::memory::ensure_allocatable::<f64>("path", len).map_err(to_py)?;
    let sim = simulator(py, backend, threads)?;
    let out = run(py, &sim, |s| {
        // Allocated on the worker thread, with the GIL released.
        let mut out = vec![0f64; len];
        match chunks {
            None => s.ou_path(&spec, &mut out),
            Some(c) => s.ou_path_parallel_in_time(&spec, &mut out, c),
        }
        .map(|()| out)
    })?;
    let a = Array2::from_shape_vec((num_steps + 1, num_sim), out)
        .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
    Ok(a.reversed_axes().into_pyarray(py).into_any())
}

/// W2 mode (c): final states from caller-given normals `z`, `(num_sim, num_steps)`
/// float64. Read in place when `z.T` is C-contiguous (`z` Fortran-ordered, e.g. the `.T`
/// of a `(num_steps, num_sim)` C array); otherwise copied once into time-major order.
#[pyfunction]
#[pyo3(signature = (z, *, dt=0.1, tau=1.0, sigma=2.0, x0=0.0, backend="threaded", threads=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn ou_with_normals<'py>(
    py: Python<'py>,
    z: &Bound<'py, PyAny>,
    #[pyo3(from_py_with = arg::dt)] dt: f64,
    #[pyo3(from_py_with = arg::tau)] tau: f64,
    #[pyo3(from_py_with = arg::sigma)] sigma: f64,
    #[pyo3(from_py_with = arg::x0)] x0: f64,
    #[pyo3(from_py_with = arg::backend)] backend: &'static str,
    threads: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let ro = readonly::<f64>(z, "z", 2, "float64")?;
    let view = ro.as_array();
    let (num_sim, num_steps) = (view.shape()[0], view.shape()[1]);
    let spec = ou_spec(None, None, num_sim, num_steps, OuParams { dt, tau, sigma, x0 })?;
    let sim = simulator(py, backend, threads)?;
    // `[t][sim]` order is the transpose of the Python view.
    let tm = view.reversed_axes();
    let copied: Vec<f64>;
    let normals: &[f64] = match tm.as_slice() {
        Some(s) => s,
        None => {
            copied = copy(tm, "z")?;
            &copied
        }
    };
    let out = run(py, &sim, |s| s.ou_with_normals(&spec, normals))?;
    Ok(PyArray1::from_vec(py, out))
}

/// A per-member parameter: a Python number (broadcast to every member) or a 1-D float32
/// array (one value per member). A bool is neither (`TypeError`, as for [`real`]).
fn per_member(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Vec<f32>> {
    if is_bool(obj) || obj.is_instance_of::<PyFloat>() || obj.is_instance_of::<PyInt>() {
        return Ok(vec![real(obj, name)? as f32]);
    }
    Ok(read_array::<f32>(obj, name, 1, "float32")?.values)
}

/// An `(nn, nn)` array of dtype `T`.
fn square<T: numpy::Element + Copy>(
    obj: &Bound<'_, PyAny>,
    name: &str,
    nn: usize,
    dtype: &str,
) -> PyResult<Vec<T>> {
    let a = read_array::<T>(obj, name, 2, dtype)?;
    if a.shape != [nn, nn] {
        return Err(PyValueError::new_err(format!(
            "`{name}` has shape {:?}, expected ({nn}, {nn})",
            a.shape
        )));
    }
    Ok(a.values)
}

/// A state array `[nv][nn][B]` as a NumPy array of shape `(nv, nn, B)`.
fn state<'py>(py: Python<'py>, v: Vec<f32>, nv: usize, nn: usize, b: usize) -> PyResult<Bound<'py, PyAny>> {
    let a = Array3::from_shape_vec((nv, nn, b), v).map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
    Ok(a.into_pyarray(py).into_any())
}

/// W4 (W4d with `delays` or `lags`): the final state, shape `(6, nn, batch)`.
#[pyfunction]
#[pyo3(signature = (nn, nt, batch, *, seed=None, key=None, partitionable=true, dt=1.0, sigma=1e-3, k=None, mu=None, weights=None, delays=false, lags=None, initial=None, backend="threaded", threads=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn jansen_rit<'py>(
    py: Python<'py>,
    nn: &Bound<'py, PyAny>,
    nt: &Bound<'py, PyAny>,
    batch: &Bound<'py, PyAny>,
    seed: Option<&Bound<'py, PyAny>>,
    key: Option<(u32, u32)>,
    #[pyo3(from_py_with = arg::partitionable)] partitionable: bool,
    #[pyo3(from_py_with = arg::dt)] dt: f64,
    #[pyo3(from_py_with = arg::sigma)] sigma: f64,
    k: Option<&Bound<'py, PyAny>>,
    mu: Option<&Bound<'py, PyAny>>,
    weights: Option<&Bound<'py, PyAny>>,
    #[pyo3(from_py_with = arg::delays)] delays: bool,
    lags: Option<&Bound<'py, PyAny>>,
    initial: Option<&Bound<'py, PyAny>>,
    #[pyo3(from_py_with = arg::backend)] backend: &'static str,
    threads: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let seed = seed.map_or(Ok(0), |s| int(s, "seed"))?;
    let (nn, nt, batch) = (int::<usize>(nn, "nn")?, int::<usize>(nt, "nt")?, int::<usize>(batch, "batch")?);
    if delays && lags.is_some() {
        return Err(PyValueError::new_err("give `delays=True` (default lags) or `lags`, not both"));
    }
    let mut spec = JansenRitSpec {
        dt: dt as f32,
        sigma: sigma as f32,
        jax_key: jax_key(key, partitionable),
        ..JansenRitSpec::with_size(seed, nn, nt, batch).map_err(to_py)?
    };
    if let Some(k) = k {
        spec.k = per_member(k, "k")?;
    }
    if let Some(mu) = mu {
        spec.mu = per_member(mu, "mu")?;
    }
    if let Some(w) = weights {
        spec.weights = square::<f32>(w, "weights", nn, "float32")?;
    }
    if delays {
        spec.lags = Some(default_lags(seed, nn).map_err(to_py)?);
    }
    if let Some(l) = lags {
        spec.lags = Some(square::<u8>(l, "lags", nn, "uint8")?);
    }
    if let Some(x0) = initial {
        let a = read_array::<f32>(x0, "initial", 3, "float32")?;
        if a.shape != [JR_NV, nn, batch] {
            return Err(PyValueError::new_err(format!(
                "`initial` has shape {:?}, expected ({JR_NV}, {nn}, {batch})",
                a.shape
            )));
        }
        spec.initial = Some(a.values);
    }
    spec.validate().map_err(to_py)?;
    let sim = simulator(py, backend, threads)?;
    let out = run(py, &sim, |s| s.jansen_rit(&spec))?;
    state(py, out, JR_NV, nn, batch)
}

/// W5: the MPR sweep (or any `k` × `eta` members), per-member std of `r` and final states.
#[pyfunction]
#[pyo3(signature = (k=None, eta=None, *, nn=None, nt=None, seed=None, key=None, partitionable=true, dt=0.01, sigma=0.2, weights=None, backend="threaded", threads=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn mpr_sweep<'py>(
    py: Python<'py>,
    k: Option<&Bound<'py, PyAny>>,
    eta: Option<&Bound<'py, PyAny>>,
    nn: Option<&Bound<'py, PyAny>>,
    nt: Option<&Bound<'py, PyAny>>,
    seed: Option<&Bound<'py, PyAny>>,
    key: Option<(u32, u32)>,
    #[pyo3(from_py_with = arg::partitionable)] partitionable: bool,
    #[pyo3(from_py_with = arg::dt)] dt: f64,
    #[pyo3(from_py_with = arg::sigma)] sigma: f64,
    weights: Option<&Bound<'py, PyAny>>,
    #[pyo3(from_py_with = arg::backend)] backend: &'static str,
    threads: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let seed = seed.map_or(Ok(0), |s| int(s, "seed"))?;
    let nn = nn.map_or(Ok(164), |v| int::<usize>(v, "nn"))?;
    let nt = nt.map_or(Ok(1000), |v| int::<usize>(v, "nt"))?;
    let (k, eta) = match (k, eta) {
        (None, None) => sweep_grid(),
        (Some(k), Some(eta)) => (per_member(k, "k")?, per_member(eta, "eta")?),
        _ => return Err(PyValueError::new_err("give both `k` and `eta`, or neither (the W5 sweep grid)")),
    };
    let batch = k.len().max(eta.len());
    let mut spec = MprSpec {
        dt: dt as f32,
        sigma: sigma as f32,
        batch,
        k,
        eta,
        jax_key: jax_key(key, partitionable),
        ..MprSpec::sweep_sized(seed, nn, nt).map_err(to_py)?
    };
    if let Some(w) = weights {
        spec.weights = square::<f32>(w, "weights", nn, "float32")?;
    }
    spec.validate().map_err(to_py)?;
    let sim = simulator(py, backend, threads)?;
    let out = run(py, &sim, |s| s.mpr(&spec))?;
    let member =
        |v: &[f32]| -> Vec<f32> { (0..batch).map(|b| if v.len() == 1 { v[0] } else { v[b] }).collect() };
    let d = PyDict::new(py);
    d.set_item("k", PyArray1::from_vec(py, member(&spec.k)))?;
    d.set_item("eta", PyArray1::from_vec(py, member(&spec.eta)))?;
    d.set_item("std_r", PyArray1::from_vec(py, out.std_r))?;
    d.set_item("final_state", state(py, out.final_state, MPR_NV, nn, batch)?)?;
    Ok(d)
}
