//! `validate` and `calibrate` of the W3 binomial design over a `(G, d)` float64 grid, on
//! `simlanes::calibration` ([`BinomialModel`], [`Grid`], [`Tiling`]).
//!
//! **Ctrl-C.** The grid is run in chunks of points, each with the GIL released; between
//! chunks the GIL is taken back and Python's signal handlers run, so Ctrl-C raises
//! `KeyboardInterrupt` within one chunk (a chunk holds about `2^24` (point, simulation)
//! pairs). Every result at a point depends only on that point, the seed and `K`, so the
//! chunks change nothing: per-point results are concatenated, the overall minimum of
//! `calibrate` is merged by "strictly smaller wins, NaN last", the engine's own order.

use crate::{int, read_array, simulator, to_py};
use numpy::PyArray1;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use simlanes::calibration::binomial::BinomialModel;
use simlanes::calibration::{self, Grid, Tiling};
use simlanes::{SimError, Simulator};

/// (point, simulation) pairs per chunk between two signal checks.
const CHUNK_PAIRS: usize = 1 << 24;

/// Everything `validate` and `calibrate` share, read from the arguments.
struct Problem {
    sim: Simulator,
    grid: Grid,
    null: Option<Vec<bool>>,
    n: usize,
    sims: usize,
    seed: u64,
    tiling: Tiling,
}

impl Problem {
    #[allow(clippy::too_many_arguments)]
    fn read(
        py: Python<'_>,
        grid: &Bound<'_, PyAny>,
        n: &Bound<'_, PyAny>,
        sims: &Bound<'_, PyAny>,
        seed: Option<&Bound<'_, PyAny>>,
        null: Option<&Bound<'_, PyAny>>,
        backend: &str,
        threads: Option<&Bound<'_, PyAny>>,
        grid_tile: Option<&Bound<'_, PyAny>>,
        sim_tile: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let n = int::<usize>(n, "n")?;
        let sims = int::<usize>(sims, "sims")?;
        let seed = seed.map_or(Ok(0), |s| int::<u64>(s, "seed"))?;
        let d = Tiling::default();
        let tiling = Tiling::new(
            grid_tile.map_or(Ok(d.grid_tile), |t| int(t, "grid_tile"))?,
            sim_tile.map_or(Ok(d.sim_tile), |t| int(t, "sim_tile"))?,
        );
        tiling.validate().map_err(to_py)?;
        let g = read_array::<f64>(grid, "grid", 2, "float64")?;
        let grid = Grid::new(g.shape[1], g.values).map_err(to_py)?;
        let null = match null {
            None => None,
            Some(obj) => {
                let mask = read_array::<bool>(obj, "null", 1, "bool")?.values;
                // The length `Grid::with_null` checks, checked here once for the whole grid
                // (the chunks below take slices of it).
                if mask.len() != grid.len() {
                    let (expected, got) = (grid.len(), mask.len());
                    return Err(to_py(SimError::Shape { name: "null", expected, got }));
                }
                Some(mask)
            }
        };
        if backend == "gpu" {
            return Err(PyValueError::new_err(
                "validate/calibrate run on the CPU backends (\"scalar\", \"simd\", \"threaded\"); \
                 the calibration engine has no GPU path yet",
            ));
        }
        let sim = simulator(py, backend, threads)?;
        Ok(Self { sim, grid, null, n, sims, seed, tiling })
    }

    /// The model; its errors (`n = 0`, `n·d` too large) before any chunk runs.
    fn model(&self) -> PyResult<BinomialModel<'static>> {
        BinomialModel::new(self.seed, self.n, self.grid.dim()).map_err(to_py)
    }

    /// Point ranges of the chunks.
    fn chunks(&self) -> Vec<std::ops::Range<usize>> {
        let per = (CHUNK_PAIRS / self.sims.max(1)).max(1).next_multiple_of(self.tiling.grid_tile);
        let g = self.grid.len();
        (0..g).step_by(per).map(|r0| r0..(r0 + per).min(g)).collect()
    }

    /// The sub-grid of the points `r`, with their null flags.
    fn sub(&self, r: &std::ops::Range<usize>) -> PyResult<Grid> {
        let d = self.grid.dim();
        let grid = Grid::new(d, self.grid.values()[r.start * d..r.end * d].to_vec()).map_err(to_py)?;
        match &self.null {
            None => Ok(grid),
            Some(m) => grid.with_null(m[r.clone()].to_vec()).map_err(to_py),
        }
    }
}

/// Native `validate`; see `simlanes.validate` for the documentation.
#[pyfunction]
#[pyo3(signature = (grid, lam, *, n, sims, seed=None, null=None, delta=0.01, backend="threaded", threads=None, grid_tile=None, sim_tile=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn validate<'py>(
    py: Python<'py>,
    grid: &Bound<'py, PyAny>,
    lam: f64,
    n: &Bound<'py, PyAny>,
    sims: &Bound<'py, PyAny>,
    seed: Option<&Bound<'py, PyAny>>,
    null: Option<&Bound<'py, PyAny>>,
    delta: f64,
    backend: &str,
    threads: Option<&Bound<'py, PyAny>>,
    grid_tile: Option<&Bound<'py, PyAny>>,
    sim_tile: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let p = Problem::read(py, grid, n, sims, seed, null, backend, threads, grid_tile, sim_tile)?;
    let model = p.model()?;
    let mut points = Vec::with_capacity(p.grid.len());
    let mut lambda = lam as f32;
    for r in p.chunks() {
        let sub = p.sub(&r)?;
        let v = py
            .detach(|| calibration::validate(&p.sim, &model, &sub, lam, delta, p.sims, p.tiling))
            .map_err(crate::to_py)?;
        lambda = v.lambda;
        points.extend(v.points);
        py.check_signals()?;
    }
    let d = PyDict::new(py);
    d.set_item("null", PyArray1::from_vec(py, points.iter().map(|q| q.null).collect()))?;
    d.set_item("count", PyArray1::from_vec(py, points.iter().map(|q| q.count).collect()))?;
    d.set_item("rate", PyArray1::from_vec(py, points.iter().map(|q| q.rate).collect()))?;
    d.set_item("upper", PyArray1::from_vec(py, points.iter().map(|q| q.upper).collect()))?;
    d.set_item("lam", lambda)?;
    d.set_item("delta", delta)?;
    d.set_item("sims", p.sims)?;
    Ok(d)
}

/// Native `calibrate`; see `simlanes.calibrate` for the documentation.
#[pyfunction]
#[pyo3(signature = (grid, alpha, *, n, sims, seed=None, null=None, backend="threaded", threads=None, grid_tile=None, sim_tile=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn calibrate<'py>(
    py: Python<'py>,
    grid: &Bound<'py, PyAny>,
    alpha: f64,
    n: &Bound<'py, PyAny>,
    sims: &Bound<'py, PyAny>,
    seed: Option<&Bound<'py, PyAny>>,
    null: Option<&Bound<'py, PyAny>>,
    backend: &str,
    threads: Option<&Bound<'py, PyAny>>,
    grid_tile: Option<&Bound<'py, PyAny>>,
    sim_tile: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let p = Problem::read(py, grid, n, sims, seed, null, backend, threads, grid_tile, sim_tile)?;
    let model = p.model()?;
    let mut lambda: Vec<f32> = Vec::with_capacity(p.grid.len());
    let (mut rank, mut min_lambda, mut argmin) = (0usize, f32::NAN, None::<usize>);
    for r in p.chunks() {
        let sub = p.sub(&r)?;
        let c = py
            .detach(|| calibration::calibrate(&p.sim, &model, &sub, alpha, p.sims, p.tiling))
            .map_err(to_py)?;
        rank = c.rank;
        if let Some(a) = c.argmin {
            // The engine's order: strictly smaller wins, NaN last, first point on ties.
            let better = match argmin {
                None => true,
                Some(_) => c.min_lambda < min_lambda || (min_lambda.is_nan() && !c.min_lambda.is_nan()),
            };
            if better {
                (min_lambda, argmin) = (c.min_lambda, Some(r.start + a));
            }
        }
        lambda.extend(c.lambda);
        py.check_signals()?;
    }
    let d = PyDict::new(py);
    d.set_item("lam", PyArray1::from_vec(py, lambda))?;
    d.set_item("min_lam", min_lambda)?;
    d.set_item("argmin", argmin)?;
    d.set_item("rank", rank)?;
    d.set_item("alpha", alpha)?;
    d.set_item("sims", p.sims)?;
    Ok(d)
}
