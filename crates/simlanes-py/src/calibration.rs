//! `validate` and `calibrate` over a `(G, d)` float64 grid, on `simlanes::calibration`
//! ([`Grid`], [`Tiling`]) with one of two designs (`model=`):
//!
//! * `"binomial"` — the W3 design ([`BinomialModel`]), random numbers from the Philox
//!   streams of `seed` (fused) or, with `key=`, exactly `jax.random.uniform(key, (K, n, d))`
//!   (`Uniforms::Jax`: generated in registers element by element, never stored, so `K`
//!   is bounded by time, not memory);
//! * `"two_arm_z"` — the two-arm z-test ([`TwoArmZModel`]), grid columns `(mu_c, mu_t)`,
//!   `n` patients per arm, null `mu_t <= mu_c` by default.
//!
//! **Ctrl-C.** The whole call runs through `crate::run`: the engine checks the
//! cancellation token before each task (`grid_tile` × `sim_tile` pairs), so Ctrl-C stops
//! it within a task per worker on every CPU backend.

use crate::{arg, int, read_array, real, run, simulator, to_py};
use numpy::PyArray1;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use simlanes::calibration::binomial::BinomialModel;
use simlanes::calibration::two_arm_z::TwoArmZModel;
use simlanes::calibration::{self, Grid, Model, Tiling};
use simlanes::workload::binomial::Uniforms;
use simlanes::workload::jax::{JaxKey, Layout};
use simlanes::{SimError, Simulator};

/// Where the random numbers come from.
enum Randomness {
    /// Philox streams of this seed.
    Seed(u64),
    /// A JAX key (binomial only).
    Jax(JaxKey),
}

/// Everything `validate` and `calibrate` share, read from the arguments.
struct Problem {
    sim: Simulator,
    grid: Grid,
    n: usize,
    sims: usize,
    rng: Randomness,
    two_arm_z: bool,
    tiling: Tiling,
}

/// The arguments `validate` and `calibrate` share, as Python gave them.
struct Args<'a, 'py> {
    grid: &'a Bound<'py, PyAny>,
    n: &'a Bound<'py, PyAny>,
    sims: &'a Bound<'py, PyAny>,
    seed: Option<&'a Bound<'py, PyAny>>,
    key: Option<(u32, u32)>,
    partitionable: bool,
    model: &'a str,
    null: Option<&'a Bound<'py, PyAny>>,
    backend: &'a str,
    threads: Option<&'a Bound<'py, PyAny>>,
    grid_tile: Option<&'a Bound<'py, PyAny>>,
    sim_tile: Option<&'a Bound<'py, PyAny>>,
}

impl Problem {
    fn read(py: Python<'_>, a: Args<'_, '_>) -> PyResult<Self> {
        let two_arm_z = match a.model {
            "binomial" => false,
            "two_arm_z" => true,
            other => {
                return Err(PyValueError::new_err(format!(
                    "unknown model {other:?}; expected \"binomial\" or \"two_arm_z\""
                )));
            }
        };
        let n = int::<usize>(a.n, "n")?;
        let sims = int::<usize>(a.sims, "sims")?;
        let rng = match (a.seed, a.key) {
            (Some(_), Some(_)) => return Err(PyValueError::new_err("give `seed` or `key`, not both")),
            (None, Some(_)) if two_arm_z => {
                return Err(PyValueError::new_err(
                    "`key` (JAX random numbers) applies to model=\"binomial\" only",
                ));
            }
            (None, Some((k0, k1))) => {
                let layout = if a.partitionable { Layout::Partitionable } else { Layout::Legacy };
                Randomness::Jax(JaxKey::from_data([k0, k1]).with_layout(layout))
            }
            (seed, None) => Randomness::Seed(seed.map_or(Ok(0), |s| int::<u64>(s, "seed"))?),
        };
        let d = Tiling::default();
        let tiling = Tiling::new(
            a.grid_tile.map_or(Ok(d.grid_tile), |t| int(t, "grid_tile"))?,
            a.sim_tile.map_or(Ok(d.sim_tile), |t| int(t, "sim_tile"))?,
        );
        tiling.validate().map_err(to_py)?;
        let g = read_array::<f64>(a.grid, "grid", 2, "float64")?;
        let mut grid = Grid::new(g.shape[1], g.values).map_err(to_py)?;
        if let Some(obj) = a.null {
            grid = grid.with_null(read_array::<bool>(obj, "null", 1, "bool")?.values).map_err(to_py)?;
        }
        if a.backend == "gpu" {
            return Err(PyValueError::new_err(
                "validate/calibrate run on the CPU backends (\"scalar\", \"simd\", \"threaded\"); \
                 the calibration engine has no GPU path yet",
            ));
        }
        let sim = simulator(py, a.backend, a.threads)?;
        Ok(Self { sim, grid, n, sims, rng, two_arm_z, tiling })
    }

    /// Runs `f` with the model (interruptibly, GIL released). Model errors (`n = 0`,
    /// `n·d` too large, a grid of the wrong width, a legacy-layout draw too large) come
    /// before any simulation.
    fn with_model<R: Send>(
        &self,
        py: Python<'_>,
        f: impl Fn(&Simulator, &dyn AnyModel) -> Result<R, SimError> + Send + Sync,
    ) -> PyResult<R> {
        let d = self.grid.dim();
        match (&self.rng, self.two_arm_z) {
            (Randomness::Seed(seed), true) => {
                let model = TwoArmZModel::new(*seed, self.n).map_err(to_py)?;
                run(py, &self.sim, |s| f(s, &model))
            }
            (Randomness::Seed(seed), false) => {
                let model = BinomialModel::new(*seed, self.n, d).map_err(to_py)?;
                run(py, &self.sim, |s| f(s, &model))
            }
            (Randomness::Jax(key), _) => {
                let model = BinomialModel::new(0, self.n, d)
                    .map_err(to_py)?
                    .with_uniforms(Uniforms::Jax { key: *key, sims: self.sims });
                run(py, &self.sim, |s| f(s, &model))
            }
        }
    }
}

/// The two engine calls over either model (the engine is generic; this erases the type).
trait AnyModel: Sync {
    fn validate(
        &self,
        sim: &Simulator,
        p: &Problem,
        lam: f64,
        delta: f64,
    ) -> Result<calibration::Validation, SimError>;
    fn calibrate(
        &self,
        sim: &Simulator,
        p: &Problem,
        alpha: f64,
    ) -> Result<calibration::Calibration, SimError>;
}

impl<M: Model> AnyModel for M {
    fn validate(
        &self,
        sim: &Simulator,
        p: &Problem,
        lam: f64,
        delta: f64,
    ) -> Result<calibration::Validation, SimError> {
        calibration::validate(sim, self, &p.grid, lam, delta, p.sims, p.tiling)
    }

    fn calibrate(
        &self,
        sim: &Simulator,
        p: &Problem,
        alpha: f64,
    ) -> Result<calibration::Calibration, SimError> {
        calibration::calibrate(sim, self, &p.grid, alpha, p.sims, p.tiling)
    }
}

/// Native `validate`; see `simlanes.validate` for the documentation.
#[pyfunction]
#[pyo3(signature = (grid, lam, *, n, sims, seed=None, key=None, partitionable=true, model="binomial", null=None, delta=None, backend="threaded", threads=None, grid_tile=None, sim_tile=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn validate<'py>(
    py: Python<'py>,
    grid: &Bound<'py, PyAny>,
    lam: &Bound<'py, PyAny>,
    n: &Bound<'py, PyAny>,
    sims: &Bound<'py, PyAny>,
    seed: Option<&Bound<'py, PyAny>>,
    key: Option<(u32, u32)>,
    #[pyo3(from_py_with = arg::partitionable)] partitionable: bool,
    #[pyo3(from_py_with = arg::model)] model: &'static str,
    null: Option<&Bound<'py, PyAny>>,
    delta: Option<&Bound<'py, PyAny>>,
    #[pyo3(from_py_with = arg::backend)] backend: &'static str,
    threads: Option<&Bound<'py, PyAny>>,
    grid_tile: Option<&Bound<'py, PyAny>>,
    sim_tile: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let args =
        Args { grid, n, sims, seed, key, partitionable, model, null, backend, threads, grid_tile, sim_tile };
    let (lam, delta) = (real(lam, "lam")?, delta.map_or(Ok(0.01), |d| real(d, "delta"))?);
    let p = Problem::read(py, args)?;
    let v = p.with_model(py, |s, m| m.validate(s, &p, lam, delta))?;
    let points = &v.points;
    let d = PyDict::new(py);
    d.set_item("null", PyArray1::from_vec(py, points.iter().map(|q| q.null).collect()))?;
    d.set_item("count", PyArray1::from_vec(py, points.iter().map(|q| q.count).collect()))?;
    d.set_item("rate", PyArray1::from_vec(py, points.iter().map(|q| q.rate).collect()))?;
    d.set_item("upper", PyArray1::from_vec(py, points.iter().map(|q| q.upper).collect()))?;
    d.set_item("lam", v.lambda)?;
    d.set_item("delta", v.delta)?;
    d.set_item("sims", v.sims)?;
    Ok(d)
}

/// Native `calibrate`; see `simlanes.calibrate` for the documentation.
#[pyfunction]
#[pyo3(signature = (grid, alpha, *, n, sims, seed=None, key=None, partitionable=true, model="binomial", null=None, backend="threaded", threads=None, grid_tile=None, sim_tile=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn calibrate<'py>(
    py: Python<'py>,
    grid: &Bound<'py, PyAny>,
    alpha: &Bound<'py, PyAny>,
    n: &Bound<'py, PyAny>,
    sims: &Bound<'py, PyAny>,
    seed: Option<&Bound<'py, PyAny>>,
    key: Option<(u32, u32)>,
    #[pyo3(from_py_with = arg::partitionable)] partitionable: bool,
    #[pyo3(from_py_with = arg::model)] model: &'static str,
    null: Option<&Bound<'py, PyAny>>,
    #[pyo3(from_py_with = arg::backend)] backend: &'static str,
    threads: Option<&Bound<'py, PyAny>>,
    grid_tile: Option<&Bound<'py, PyAny>>,
    sim_tile: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let args =
        Args { grid, n, sims, seed, key, partitionable, model, null, backend, threads, grid_tile, sim_tile };
    let alpha = real(alpha, "alpha")?;
    let p = Problem::read(py, args)?;
    let c = p.with_model(py, |s, m| m.calibrate(s, &p, alpha))?;
    let d = PyDict::new(py);
    d.set_item("lam", PyArray1::from_vec(py, c.lambda))?;
    d.set_item("min_lam", c.min_lambda)?;
    d.set_item("argmin", c.argmin)?;
    d.set_item("rank", c.rank)?;
    d.set_item("alpha", c.alpha)?;
    d.set_item("sims", c.sims)?;
    Ok(d)
}
