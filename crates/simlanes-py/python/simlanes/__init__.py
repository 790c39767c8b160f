"""simlanes: batched Monte Carlo and stochastic simulation on SIMD lanes, threads and GPUs.

One simulation is one SIMD lane or one GPU thread; every backend gives the same numbers for
the same seed (integer counts exactly, floats bit for bit). This package calls the Rust
library on NumPy arrays:

* workloads: :func:`pi` (W1), :func:`ou_final` (W2), :func:`jansen_rit` (W4),
  :func:`mpr_sweep` (W5);
* trial calibration of the W3 binomial design over a parameter grid: :func:`validate`
  (type I error at a threshold) and :func:`calibrate` (the threshold for a level alpha);
* past one machine: :func:`map_tiles` cuts a grid into tiles, runs :func:`run_tile` on any
  ``concurrent.futures``-style executor (``ProcessPoolExecutor``, Dask's
  ``Client.get_executor()``, mpi4py's ``MPIPoolExecutor``) and merges the tiles into the
  result of a single-process run, bit for bit.

Every function takes ``backend=`` (``"scalar"``, ``"simd"``, ``"threaded"`` (default) or
``"gpu"``) and, for ``"threaded"``, ``threads=`` (default: ``RAYON_NUM_THREADS`` if set,
else every logical CPU). The GIL is released while a simulation runs. Ctrl-C:
:func:`validate` and :func:`calibrate` stop between chunks of the grid and raise
KeyboardInterrupt; the workloads finish their call first, then raise it.

Errors: ``ValueError`` for bad values and shapes (with the Rust message), ``TypeError``
for NumPy arrays of the wrong dtype or arguments of the wrong type, ``RuntimeError`` when
a backend cannot start (no GPU, a CPU without AVX2/FMA).

Array arguments: a NumPy array must already have the documented dtype (it is never
silently converted); any other array-like (a list, a JAX array) is converted with
``numpy.asarray(x, dtype=...)``. Inputs are copied once into Rust memory (any strides and
memory order are accepted), so the caller may change them afterwards.
"""

from __future__ import annotations

from typing import Any, Optional, Union

import numpy as np

from . import _simlanes
from ._results import Calibration, MprResult, PiResult, Validation
from ._tiles import make_tiles, map_tiles, merge_tiles, run_tile

__version__: str = _simlanes.__version__

__all__ = [
    "Calibration",
    "MprResult",
    "PiResult",
    "Validation",
    "calibrate",
    "jansen_rit",
    "make_tiles",
    "map_tiles",
    "merge_tiles",
    "mpr_sweep",
    "ou_final",
    "pi",
    "run_tile",
    "validate",
]

ArrayLike = Any
PerMember = Union[float, ArrayLike]


def _array(x: ArrayLike, dtype: Any) -> Any:
    """``x`` itself if it is a NumPy array (the native side checks its dtype), else
    ``numpy.asarray(x, dtype)``."""
    if x is None or isinstance(x, np.ndarray):
        return x
    return np.asarray(x, dtype=dtype)


def _member(x: Optional[PerMember]) -> Any:
    """A per-member parameter: ``None``, a Python number, or a float32 array."""
    if x is None or isinstance(x, (int, float, np.ndarray)):
        return x
    return np.asarray(x, dtype=np.float32)


def pi(
    pairs_per_estimate: int,
    estimates: int,
    *,
    seed: int = 0,
    backend: str = "threaded",
    threads: Optional[int] = None,
) -> PiResult:
    """W1: ``estimates`` Monte Carlo estimates of pi, each from ``pairs_per_estimate``
    uniform pairs (estimate ``i`` uses random stream ``i`` of ``seed``).

    Raises ValueError for 0 pairs or estimates, or more than 2**32 - 1 pairs per estimate.
    """
    d = _simlanes.pi(pairs_per_estimate, estimates, seed=seed, backend=backend, threads=threads)
    return PiResult(**d)


def ou_final(
    num_sim: int,
    num_steps: int,
    *,
    seed: int = 0,
    dt: float = 0.1,
    tau: float = 1.0,
    sigma: float = 2.0,
    x0: float = 0.0,
    backend: str = "threaded",
    threads: Optional[int] = None,
) -> np.ndarray:
    """W2 (b): the final state of ``num_sim`` Ornstein-Uhlenbeck simulations after
    ``num_steps`` exact steps ``x' = x*exp(-dt/tau) + sigma*sqrt(1-exp(-2dt/tau))*z``;
    float64 array of shape ``(num_sim,)``. Simulation ``i`` uses stream ``i`` of ``seed``.

    Raises ValueError for ``num_sim = 0``, ``dt <= 0``, ``tau <= 0``, ``sigma < 0`` or a
    non-finite parameter.
    """
    return _simlanes.ou_final(
        num_sim, num_steps, seed=seed, dt=dt, tau=tau, sigma=sigma, x0=x0, backend=backend, threads=threads
    )


def validate(
    grid: ArrayLike,
    lam: float,
    *,
    n: int,
    sims: int,
    seed: int = 0,
    null: Optional[ArrayLike] = None,
    delta: float = 0.01,
    backend: str = "threaded",
    threads: Optional[int] = None,
    grid_tile: Optional[int] = None,
    sim_tile: Optional[int] = None,
) -> Validation:
    """W3 **validate**: the type I error of the binomial design at threshold ``lam``.

    ``grid`` is a ``(G, d)`` float64 array of logits ``theta[g, a]`` (``d`` arms,
    ``p = expit(theta)``); each of the ``sims`` (K) simulations draws ``n`` uniforms per
    arm from its random stream (the same stream at every point: common random numbers);
    its statistic at a point is ``T = count / (n*d)``, ``count = #{U < p}``, and it
    rejects when ``T < lam`` (``lam`` rounded to float32 first; it must not be NaN).
    ``null`` is an optional ``(G,)`` bool mask of the points where the null hypothesis
    holds (default: all); other points report 0.

    ``grid_tile`` x ``sim_tile`` is the task shape (default 256 x 256); results never
    depend on it, nor on the backend or thread count. The grid is copied once. Runs in
    chunks of about 2**24 (point, simulation) pairs with the GIL released; Ctrl-C between
    chunks raises KeyboardInterrupt. ``backend="gpu"`` is refused (ValueError): the
    calibration engine runs on the CPU.

    Raises ValueError for a grid that is not 2-D, empty, or has a non-finite value; a mask
    of the wrong length; ``n``, ``sims`` or a tile size of 0; ``delta`` outside (0, 1).
    Raises TypeError when ``grid`` is not float64 or ``null`` not bool.
    """
    d = _simlanes.validate(
        _array(grid, np.float64),
        lam,
        n=n,
        sims=sims,
        seed=seed,
        null=_array(null, np.bool_),
        delta=delta,
        backend=backend,
        threads=threads,
        grid_tile=grid_tile,
        sim_tile=sim_tile,
    )
    return Validation(**d)


def calibrate(
    grid: ArrayLike,
    alpha: float,
    *,
    n: int,
    sims: int,
    seed: int = 0,
    null: Optional[ArrayLike] = None,
    backend: str = "threaded",
    threads: Optional[int] = None,
    grid_tile: Optional[int] = None,
    sim_tile: Optional[int] = None,
) -> Calibration:
    """W3 **calibrate**: per grid point, the threshold ``lambda*[g]`` = the m-th smallest
    of the ``sims`` statistics, ``m = max(floor((sims + 1) * alpha), 1)``, and its
    minimum over the null points (the design's calibrated threshold).

    Arguments as in :func:`validate`. Raises ValueError for ``alpha`` outside (0, 1) or so
    close to 1 that ``m > sims``, and as :func:`validate`.
    """
    d = _simlanes.calibrate(
        _array(grid, np.float64),
        alpha,
        n=n,
        sims=sims,
        seed=seed,
        null=_array(null, np.bool_),
        backend=backend,
        threads=threads,
        grid_tile=grid_tile,
        sim_tile=sim_tile,
    )
    return Calibration(**d)


def jansen_rit(
    nn: int,
    nt: int,
    batch: int,
    *,
    seed: int = 0,
    dt: float = 1.0,
    sigma: float = 1e-3,
    k: Optional[PerMember] = None,
    mu: Optional[PerMember] = None,
    weights: Optional[ArrayLike] = None,
    delays: bool = False,
    lags: Optional[ArrayLike] = None,
    initial: Optional[ArrayLike] = None,
    backend: str = "threaded",
    threads: Optional[int] = None,
) -> np.ndarray:
    """W4: ``batch`` Jansen-Rit networks of ``nn`` nodes, ``nt`` stochastic Heun steps;
    returns the final state, float32 of shape ``(6, nn, batch)`` (``y0..y5``).

    ``k`` (coupling, default 0.01) and ``mu`` (default 0.22): a number for every member or
    a float32 array of length ``batch``. ``weights``: ``(nn, nn)`` float32 (default: the
    WORKLOADS.md connectivity of ``seed``). ``delays=True`` adds the default lags (W4d);
    ``lags``: ``(nn, nn)`` uint8 lags in steps. ``initial``: ``(6, nn, batch)`` float32
    (default zeros). Member ``b`` uses random stream ``b`` of ``seed``.

    Raises ValueError for sizes of 0, ``dt <= 0``, ``sigma < 0``, non-finite values or
    arrays of the wrong shape; TypeError for arrays of the wrong dtype.
    """
    return _simlanes.jansen_rit(
        nn,
        nt,
        batch,
        seed=seed,
        dt=dt,
        sigma=sigma,
        k=_member(k),
        mu=_member(mu),
        weights=_array(weights, np.float32),
        delays=delays,
        lags=_array(lags, np.uint8),
        initial=_array(initial, np.float32),
        backend=backend,
        threads=threads,
    )


def mpr_sweep(
    k: Optional[PerMember] = None,
    eta: Optional[PerMember] = None,
    *,
    nn: int = 164,
    nt: int = 1000,
    seed: int = 0,
    dt: float = 0.01,
    sigma: float = 0.2,
    weights: Optional[ArrayLike] = None,
    backend: str = "threaded",
    threads: Optional[int] = None,
) -> MprResult:
    """W5: Montbrio-Pazo-Roxin networks of ``nn`` nodes for ``nt`` Heun steps, one member
    per ``(k, eta)`` pair. With neither ``k`` nor ``eta``: the WORKLOADS.md sweep, 32
    values of ``k`` (outer) x 36 of ``eta`` (inner), 1152 members. Otherwise give both:
    each a number or a float32 array (equal lengths, or length 1 to broadcast).

    Raises ValueError for ``nt < 401`` (the statistic window is ``x[401..=nt]``), sizes of
    0, ``dt <= 0``, ``sigma < 0``, non-finite values, one of ``k``/``eta`` without the
    other, or arrays of the wrong shape; TypeError for arrays of the wrong dtype.
    """
    d = _simlanes.mpr_sweep(
        _member(k),
        _member(eta),
        nn=nn,
        nt=nt,
        seed=seed,
        dt=dt,
        sigma=sigma,
        weights=_array(weights, np.float32),
        backend=backend,
        threads=threads,
    )
    return MprResult(**d)
