//! Thin wrappers over `simlanes::workload::jax`: JAX's default PRNG (threefry2x32) without
//! JAX. A key is its raw data, two uint32 words (`jax.random.key_data(key)`); the Python
//! layer turns typed JAX keys and array-likes into that pair. `partitionable` mirrors
//! `jax_threefry_partitionable` (True, JAX's default since 0.5; False for older code).
//! The draws run with the GIL released; results are NumPy arrays of the requested shape.

use crate::{arg, int, is_bool, to_py, type_name};
use numpy::ndarray::{ArrayD, IxDyn};
use numpy::{IntoPyArray, PyArray1};
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyInt;
use simlanes::workload::jax::{self as jx, BitWidth, JaxKey, Layout};

/// Most dimensions of an array handed to NumPy: `NPY_MAXDIMS` before NumPy 2 (which allows
/// 64), and the most rust-numpy converts.
const MAX_DIMS: usize = 32;

/// The `shape` argument (a sequence of ints) of an array of `itemsize`-byte elements, as
/// NumPy would accept it: `TypeError` for a non-integer (a bool included), `ValueError`
/// for a negative dimension, more than [`MAX_DIMS`] dimensions, or a size NumPy refuses
/// ("array is too big": the nonzero dimensions times `itemsize` past `isize::MAX` bytes,
/// even when a 0 dimension makes the array empty). Checked before any draw.
fn shape_arg(obj: &Bound<'_, PyAny>, itemsize: usize) -> PyResult<Vec<usize>> {
    let not_ints =
        |what: String| PyTypeError::new_err(format!("`shape` must be a sequence of integers, got {what}"));
    let mut shape = Vec::new();
    for item in obj.try_iter().map_err(|_| not_ints(type_name(obj)))? {
        let item = item?;
        if is_bool(&item) {
            return Err(not_ints("a bool".to_string()));
        }
        match item.extract::<usize>() {
            Ok(d) => shape.push(d),
            Err(_) if item.is_instance_of::<PyInt>() => {
                return Err(PyValueError::new_err(format!(
                    "`shape` has dimension {item}; dimensions must be non-negative and below 2**64"
                )));
            }
            Err(_) => return Err(not_ints(format!("an element of type {}", type_name(&item)))),
        }
    }
    let text = || shape.iter().map(usize::to_string).collect::<Vec<_>>().join(", ");
    if shape.len() > MAX_DIMS {
        return Err(PyValueError::new_err(format!(
            "`shape` has {} dimensions; NumPy arrays have at most {MAX_DIMS}",
            shape.len()
        )));
    }
    let bytes = shape.iter().try_fold(itemsize, |b, &d| b.checked_mul(d.max(1)));
    if bytes.is_none_or(|b| b > isize::MAX as usize) {
        return Err(PyValueError::new_err(format!(
            "`shape` ({}) is too big for a NumPy array: the product of its nonzero dimensions \
             times the item size ({itemsize} bytes) exceeds {} bytes, even if the array is empty",
            text(),
            isize::MAX
        )));
    }
    Ok(shape)
}

/// The key of these words under the layout `partitionable` names.
fn key_of(key: (u32, u32), partitionable: bool) -> JaxKey {
    let layout = if partitionable { Layout::Partitionable } else { Layout::Legacy };
    JaxKey::from_data([key.0, key.1]).with_layout(layout)
}

/// `values` (row-major) as an array of `shape` (one [`shape_arg`] accepted, or the shape
/// of a buffer already allocated: NumPy can hold it).
fn shaped<'py, T: numpy::Element>(
    py: Python<'py>,
    shape: &[usize],
    values: Vec<T>,
) -> PyResult<Bound<'py, PyAny>> {
    let a =
        ArrayD::from_shape_vec(IxDyn(shape), values).map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
    Ok(a.into_pyarray(py).into_any())
}

/// A key's words as a `(2,)` uint32 array.
fn key_array(py: Python<'_>, key: JaxKey) -> Bound<'_, PyArray1<u32>> {
    PyArray1::from_vec(py, key.data().to_vec())
}

/// `jax.random.key_data(jax.random.key(seed))` (`x64`: under `jax_enable_x64`).
#[pyfunction]
#[pyo3(signature = (seed, *, x64=false))]
pub(crate) fn jax_key<'py>(
    py: Python<'py>,
    seed: &Bound<'py, PyAny>,
    #[pyo3(from_py_with = arg::x64)] x64: bool,
) -> PyResult<Bound<'py, PyArray1<u32>>> {
    let seed = int::<i128>(seed, "seed")?;
    let key = if x64 { JaxKey::new_x64(seed) } else { JaxKey::new(seed) }.map_err(to_py)?;
    Ok(key_array(py, key))
}

/// `jax.random.key_data(jax.random.fold_in(key, data))`.
#[pyfunction]
pub(crate) fn jax_fold_in<'py>(
    py: Python<'py>,
    key: (u32, u32),
    data: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArray1<u32>>> {
    let data = int::<u64>(data, "data")?;
    Ok(key_array(py, key_of(key, true).fold_in(data).map_err(to_py)?))
}

/// `jax.random.key_data(jax.random.split(key, num))`, shape `(num, 2)`.
#[pyfunction]
#[pyo3(signature = (key, num=None, *, partitionable=true))]
pub(crate) fn jax_split<'py>(
    py: Python<'py>,
    key: (u32, u32),
    num: Option<&Bound<'py, PyAny>>,
    #[pyo3(from_py_with = arg::partitionable)] partitionable: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let num = num.map_or(Ok(2), |n| int::<usize>(n, "num"))?;
    let keys = py.detach(|| key_of(key, partitionable).split(num)).map_err(to_py)?;
    shaped(py, &[num, 2], keys.iter().flat_map(|k| k.data()).collect())
}

/// `jax.random.bits(key, shape, dtype)` for `bits` = 8, 16, 32 or 64.
#[pyfunction]
#[pyo3(signature = (key, shape, bits=32, *, partitionable=true))]
pub(crate) fn jax_bits<'py>(
    py: Python<'py>,
    key: (u32, u32),
    shape: &Bound<'py, PyAny>,
    #[pyo3(from_py_with = arg::bits)] bits: u32,
    #[pyo3(from_py_with = arg::partitionable)] partitionable: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let key = key_of(key, partitionable);
    let width = match bits {
        8 => BitWidth::W8,
        16 => BitWidth::W16,
        32 => BitWidth::W32,
        64 => BitWidth::W64,
        _ => return Err(PyValueError::new_err(format!("`bits` is {bits}; expected 8, 16, 32 or 64"))),
    };
    let shape = shape_arg(shape, bits as usize / 8)?;
    if bits == 32 {
        let v = py.detach(|| jx::jax_bits32(key, &shape)).map_err(to_py)?;
        return shaped(py, &shape, v);
    }
    let v = py.detach(|| jx::jax_bits(key, width, &shape)).map_err(to_py)?;
    // Each value fits its width: the narrowing casts are exact.
    match bits {
        8 => shaped(py, &shape, v.into_iter().map(|x| x as u8).collect()),
        16 => shaped(py, &shape, v.into_iter().map(|x| x as u16).collect()),
        _ => shaped(py, &shape, v),
    }
}

/// `jax.random.uniform(key, shape, minval=minval, maxval=maxval)`, float32.
#[pyfunction]
#[pyo3(signature = (key, shape, *, minval=0.0, maxval=1.0, partitionable=true))]
pub(crate) fn jax_uniform<'py>(
    py: Python<'py>,
    key: (u32, u32),
    shape: &Bound<'py, PyAny>,
    #[pyo3(from_py_with = arg::minval)] minval: f64,
    #[pyo3(from_py_with = arg::maxval)] maxval: f64,
    #[pyo3(from_py_with = arg::partitionable)] partitionable: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let shape = shape_arg(shape, size_of::<f32>())?;
    let key = key_of(key, partitionable);
    let v = py.detach(|| jx::jax_uniform_range(key, &shape, minval, maxval)).map_err(to_py)?;
    shaped(py, &shape, v)
}

/// `jax.random.normal(key, shape)`, float32.
#[pyfunction]
#[pyo3(signature = (key, shape, *, partitionable=true))]
pub(crate) fn jax_normal<'py>(
    py: Python<'py>,
    key: (u32, u32),
    shape: &Bound<'py, PyAny>,
    #[pyo3(from_py_with = arg::partitionable)] partitionable: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let shape = shape_arg(shape, size_of::<f32>())?;
    let key = key_of(key, partitionable);
    let v = py.detach(|| jx::jax_normal(key, &shape)).map_err(to_py)?;
    shaped(py, &shape, v)
}
