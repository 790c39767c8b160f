"""simlanes: batched Monte Carlo and stochastic simulation on SIMD lanes, threads and GPUs.

One simulation is one SIMD lane or one GPU thread; every backend gives the same numbers for
the same seed (integer counts exactly, floats bit for bit). This package calls the Rust
library on NumPy arrays:

* workloads: :func:`pi` (W1), :func:`ou_final`, :func:`ou_path`, :func:`ou_with_normals`
  (W2), :func:`jansen_rit` (W4), :func:`mpr_sweep` (W5); random numbers from a ``seed``
  or, with ``key=`` (a JAX key), JAX's: member ``i`` of ``B`` draws with
  ``jax.random.split(key, B)[i]`` (each docstring gives the JAX equivalent);
* trial calibration over a parameter grid, of the W3 binomial design or a two-arm z-test
  (``model=``): :func:`validate` (type I error at a threshold) and :func:`calibrate` (the
  threshold for a level alpha); random numbers from a ``seed`` or, for the binomial
  design, from a JAX key (``key=``: exactly ``jax.random.uniform(key, (sims, n, d))``);
* JAX's random numbers without JAX: :func:`jax_key`, :func:`jax_split`,
  :func:`jax_fold_in`, :func:`jax_bits`, :func:`jax_uniform`, :func:`jax_normal`;
* past one machine: :func:`map_tiles` cuts a grid into tiles, runs :func:`run_tile` on any
  ``concurrent.futures``-style executor (``ProcessPoolExecutor``, Dask's
  ``Client.get_executor()``, mpi4py's ``MPIPoolExecutor``) and merges the tiles into the
  result of a single-process run, bit for bit.

The workload and calibration functions (and :func:`make_tiles`/:func:`map_tiles`, for
the runs of the tiles) take ``backend=`` (``"scalar"``, ``"simd"``, ``"threaded"``
(default) or ``"gpu"``) and, for ``"threaded"``, ``threads=`` (default:
``RAYON_NUM_THREADS`` if set, else every logical CPU); the ``jax_*`` helpers take
neither. The GIL is released while a simulation or a draw runs.

Ctrl-C: while a call runs, the calling thread runs Python's signal handlers every 50 ms;
on Ctrl-C (KeyboardInterrupt, or any exception a handler raises) the run is cancelled
and the exception raised once the tiles in flight are done: promptly on the threaded
backend and, for :func:`validate`/:func:`calibrate`, on every CPU backend. Runs on one
thread (``"scalar"``, ``"simd"`` workloads) or on the GPU finish first, then raise.
Partial results are dropped.

Errors: ``ValueError`` for bad values and shapes (with the Rust message), ``TypeError``
for NumPy arrays of the wrong dtype or arguments of the wrong type (a bool is not a
number), each naming the argument; ``MemoryError`` for an output, or a copy of an input,
that cannot be allocated; ``RuntimeError`` when a backend cannot start (no GPU, a CPU
without AVX2/FMA).

Array arguments: a NumPy array must already have the documented dtype (it is never
silently converted); any other array-like (a list, a JAX array) is converted with
``numpy.asarray(x, dtype=...)``. Any strides and memory order are accepted. Each
docstring says whether an input is copied: the grids, masks and per-member parameters are
copied once into Rust memory (the Rust API owns them; one ``memcpy`` when C-contiguous),
so the caller may change them afterwards; :func:`ou_with_normals` reads ``z`` in place
when it can (then ``z`` must not be modified by another thread during the call).
"""

from __future__ import annotations

import operator
from typing import Any, Optional, Union

import numpy as np

from . import _simlanes
from ._keys import key_words as _key_words
from ._keys import seed_or_key as _seed_or_key
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
    "jax_bits",
    "jax_fold_in",
    "jax_key",
    "jax_normal",
    "jax_split",
    "jax_uniform",
    "make_tiles",
    "map_tiles",
    "merge_tiles",
    "mpr_sweep",
    "ou_final",
    "ou_path",
    "ou_with_normals",
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
    """A per-member parameter: ``None``, a Python number, or a float32 array (a bool is
    passed on as it is, for the native side to refuse with the argument's name)."""
    if isinstance(x, (bool, np.bool_)):
        return x
    if isinstance(x, (np.integer, np.floating)):
        return float(x)
    if x is None or isinstance(x, (int, float, np.ndarray)):
        return x
    return np.asarray(x, dtype=np.float32)


def pi(
    pairs_per_estimate: int,
    estimates: int,
    *,
    seed: Optional[int] = None,
    key: Optional[ArrayLike] = None,
    partitionable: bool = True,
    backend: str = "threaded",
    threads: Optional[int] = None,
) -> PiResult:
    """W1: ``estimates`` Monte Carlo estimates of pi, each from ``pairs_per_estimate``
    uniform pairs (estimate ``i`` uses random stream ``i`` of ``seed``, default 0).

    With ``key`` (a JAX key, see :func:`jax_uniform`) instead of ``seed``, the uniforms are
    JAX's: estimate ``i`` of ``I = estimates`` uses
    ``xy = jax.random.uniform(jax.random.split(key, I)[i], (N, 2))`` (``N`` =
    ``pairs_per_estimate``, pair ``j`` is ``(xy[j, 0], xy[j, 1])``). A pair is a hit when
    ``x**2 + y**2 < 1`` exactly, on every backend and with a seed too: what the sum gives in
    float64 (where it is exact), never a float32 rounding. The JAX equivalent::

        xy = jax.vmap(lambda k: jax.random.uniform(k, (N, 2)))(jax.random.split(key, I))

    (the hits agree exactly with ``(xy.astype(jnp.float64)**2).sum(-1) < 1``;
    ``(xy**2).sum(-1) < 1`` in float32 rounds and may differ by a pair in rare cases). ``partitionable=False`` mirrors
    ``jax_threefry_partitionable=False``. The uniforms are generated in registers on every
    backend (no array is stored).

    Raises ValueError for 0 pairs or estimates, more than 2**32 - 1 pairs per estimate,
    both ``seed`` and ``key``, or a key that is not one key; TypeError for a non-integer key.
    """
    seed, words = _seed_or_key(seed, key)
    d = _simlanes.pi(
        pairs_per_estimate,
        estimates,
        seed=seed,
        key=words,
        partitionable=partitionable,
        backend=backend,
        threads=threads,
    )
    return PiResult(**d)


def ou_final(
    num_sim: int,
    num_steps: int,
    *,
    seed: Optional[int] = None,
    key: Optional[ArrayLike] = None,
    partitionable: bool = True,
    dt: float = 0.1,
    tau: float = 1.0,
    sigma: float = 2.0,
    x0: float = 0.0,
    chunks: Optional[int] = None,
    backend: str = "threaded",
    threads: Optional[int] = None,
) -> np.ndarray:
    """W2 (b): the final state of ``num_sim`` Ornstein-Uhlenbeck simulations after
    ``num_steps`` exact steps ``x' = x*exp(-dt/tau) + sigma*sqrt(1-exp(-2dt/tau))*z``;
    float64 array of shape ``(num_sim,)``. Simulation ``i`` uses stream ``i`` of ``seed``
    (default 0).

    With ``key`` (a JAX key, see :func:`jax_normal`) instead of ``seed``, the normals are
    JAX's: simulation ``i`` of ``S = num_sim`` uses
    ``z = jax.random.normal(jax.random.split(key, S)[i], (num_steps,))`` (float32, widened
    exactly to float64), so the result equals :func:`ou_with_normals` fed
    ``jax.vmap(lambda k: jax.random.normal(k, (num_steps,)))(jax.random.split(key, S))
    .astype(np.float64)``, bit for bit. ``partitionable=False`` mirrors
    ``jax_threefry_partitionable=False``. The normals are generated in registers (no
    array is stored).

    ``chunks`` (default: sequential) runs each path **parallel in time**: cut into at
    most ``chunks`` chunks of time, each run from 0 on its own lane or thread and
    stitched (the recurrence is linear). A few long paths then use every core; the result
    equals the sequential one up to rounding, within the bound documented at
    ``Simulator::ou_final_parallel_in_time`` (about 2.6e-12 at the seed size with 64
    chunks, almost all from the carries), and is the
    same on every backend for the same ``chunks``.

    Raises ValueError for ``num_sim = 0``, ``chunks = 0``, ``dt <= 0``, ``tau <= 0``,
    ``sigma < 0``, a non-finite parameter, both ``seed`` and ``key``, or a key that is
    not one key; TypeError for a non-integer key.
    """
    seed, words = _seed_or_key(seed, key)
    return _simlanes.ou_final(
        num_sim,
        num_steps,
        seed=seed,
        key=words,
        partitionable=partitionable,
        dt=dt,
        tau=tau,
        sigma=sigma,
        x0=x0,
        chunks=chunks,
        backend=backend,
        threads=threads,
    )


def ou_path(
    num_sim: int,
    num_steps: int,
    *,
    seed: Optional[int] = None,
    key: Optional[ArrayLike] = None,
    partitionable: bool = True,
    dt: float = 0.1,
    tau: float = 1.0,
    sigma: float = 2.0,
    x0: float = 0.0,
    chunks: Optional[int] = None,
    backend: str = "threaded",
    threads: Optional[int] = None,
) -> np.ndarray:
    """W2 (a): every state of ``num_sim`` Ornstein-Uhlenbeck simulations, float64 of shape
    ``(num_sim, num_steps + 1)``; column 0 is ``x0``. With ``chunks=None`` (sequential)
    the last column equals :func:`ou_final` bit for bit. With ``chunks``, the last column
    and ``ou_final(..., chunks=...)`` come from two different parallel-in-time algorithms
    and may differ in the last bits (by design); each is within its documented bound of
    the sequential result (see ``chunks`` below).

    The simulation writes time-major (all simulations at step t, then t + 1); the array
    returned is the transposed view of that buffer (Fortran order, no copy). Use
    ``np.ascontiguousarray(path)`` (a copy) where C order is needed.

    ``seed`` or ``key`` (JAX's normals), ``partitionable`` and ``chunks`` (parallel in
    time; every state within the bound documented at
    ``Simulator::ou_path_parallel_in_time`` of the sequential path) as in
    :func:`ou_final`.

    Raises ValueError as :func:`ou_final`, or when the path's size overflows.
    """
    seed, words = _seed_or_key(seed, key)
    return _simlanes.ou_path(
        num_sim,
        num_steps,
        seed=seed,
        key=words,
        partitionable=partitionable,
        dt=dt,
        tau=tau,
        sigma=sigma,
        x0=x0,
        chunks=chunks,
        backend=backend,
        threads=threads,
    )


def ou_with_normals(
    z: ArrayLike,
    *,
    dt: float = 0.1,
    tau: float = 1.0,
    sigma: float = 2.0,
    x0: float = 0.0,
    backend: str = "threaded",
    threads: Optional[int] = None,
) -> np.ndarray:
    """W2 (c): the final states when the caller supplies the normals: ``z[i, t]`` drives
    simulation ``i`` at step ``t`` (``z`` float64 of shape ``(num_sim, num_steps)``);
    float64 of shape ``(num_sim,)``. Non-finite normals are not rejected; they propagate
    into the states they touch.

    The arithmetic is the formulas as written, one float64 operation each, no fused
    multiply-add, so the result equals this NumPy loop bit for bit::

        relax = math.exp(-dt / tau)
        diffuse = sigma * math.sqrt(1 - relax * relax)
        x = np.full(num_sim, x0)
        for t in range(num_steps):
            x = x * relax + diffuse * z[:, t]

    (``relax`` is the correctly rounded ``exp``, which is what ``math.exp`` returns with
    glibc.)

    Copies: none when ``z.T`` is C-contiguous (``z`` in Fortran order, e.g.
    ``zt.T`` for a C-ordered ``(num_steps, num_sim)`` array ``zt``, as from
    ``rng.standard_normal((num_steps, num_sim)).T``): ``z`` is then read in place and must
    not be modified by another thread during the call. Any other layout (a C-ordered ``z``,
    a strided slice) is copied once into time-major order.

    Raises ValueError for ``num_sim = 0`` or bad parameters (as :func:`ou_final`), a ``z``
    that is not 2-D; TypeError for a NumPy ``z`` that is not float64.
    """
    return _simlanes.ou_with_normals(
        _array(z, np.float64), dt=dt, tau=tau, sigma=sigma, x0=x0, backend=backend, threads=threads
    )


def validate(
    grid: ArrayLike,
    lam: float,
    *,
    n: int,
    sims: int,
    seed: Optional[int] = None,
    key: Optional[ArrayLike] = None,
    partitionable: bool = True,
    model: str = "binomial",
    null: Optional[ArrayLike] = None,
    delta: float = 0.01,
    backend: str = "threaded",
    threads: Optional[int] = None,
    grid_tile: Optional[int] = None,
    sim_tile: Optional[int] = None,
) -> Validation:
    """**validate**: the type I error of a trial design at threshold ``lam``, at every
    point of a parameter grid. A simulation rejects when its statistic ``T < lam``
    (``lam`` rounded to float32 first, as the statistics are float32; it must not be NaN).

    ``model="binomial"`` (W3): ``grid`` is a ``(G, d)`` float64 array of logits
    ``theta[g, a]`` (``d`` arms, ``p = expit(theta)`` in float64 rounded to float32); each
    of the ``sims`` (K) simulations draws ``n`` uniforms per arm; ``T = count / (n*d)``,
    ``count = #{U < p}``. Every point is null unless ``null`` says otherwise.

    ``model="two_arm_z"``: ``grid`` is ``(G, 2)``, columns ``(mu_c, mu_t)`` (control and
    treatment means, unit variance), ``n`` patients per arm; ``T = -z``,
    ``z = (mean_t - mean_c) * sqrt(n/2)`` (so ``lam = -1.96`` is a one-sided 2.5 % test).
    The null holds where ``mu_t <= mu_c`` unless ``null`` says otherwise.

    Random numbers: simulation ``s`` uses random stream ``s`` of ``seed`` (default 0) at
    every point (common random numbers). Binomial only: with ``key`` (a JAX key, typed or
    as ``jax.random.key_data`` words, see :func:`jax_uniform`) instead of ``seed``, the
    uniforms are exactly ``jax.random.uniform(key, (sims, n, d))`` (simulation ``s`` reads
    ``u[s]``; ``partitionable=False`` for ``jax_threefry_partitionable=False``), so the
    counts equal those of the same computation in JAX. They are generated in registers,
    element by element, and never stored: ``sims`` is bounded by time, not memory (with
    ``partitionable=False``, ``sims*n*d`` must stay below 2**32 - 1, as in JAX).

    ``null`` is an optional ``(G,)`` bool mask of the points where the null hypothesis
    holds; other points report 0. ``grid_tile`` x ``sim_tile`` is the task shape (default
    1024 x 1024); results never depend on it, nor on the backend or thread count. Bigger
    grid tiles are faster for large ``n`` (each task draws a simulation's uniforms once).

    Copies: ``grid`` and ``null`` are copied once (the Rust grid owns its values).
    Ctrl-C stops the run between tasks on every CPU backend (KeyboardInterrupt).
    ``backend="gpu"`` is refused (ValueError): the calibration engine runs on the CPU.

    Raises ValueError for a grid that is not 2-D, empty, has a non-finite value or the
    wrong number of columns for the model; a mask of the wrong length; ``n``, ``sims`` or a
    tile size of 0; ``delta`` outside (0, 1); an unknown ``model``; both ``seed`` and
    ``key``; ``key`` with ``model="two_arm_z"``; a key that is not one key. Raises
    TypeError when ``grid`` is not float64, ``null`` not bool, ``key`` not integer.
    """
    seed, words = _seed_or_key(seed, key)
    d = _simlanes.validate(
        _array(grid, np.float64),
        lam,
        n=n,
        sims=sims,
        seed=seed,
        key=words,
        partitionable=partitionable,
        model=model,
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
    seed: Optional[int] = None,
    key: Optional[ArrayLike] = None,
    partitionable: bool = True,
    model: str = "binomial",
    null: Optional[ArrayLike] = None,
    backend: str = "threaded",
    threads: Optional[int] = None,
    grid_tile: Optional[int] = None,
    sim_tile: Optional[int] = None,
) -> Calibration:
    """**calibrate**: per grid point, the threshold ``lambda*[g]`` = the m-th smallest
    of the ``sims`` statistics, ``m = max(floor((sims + 1) * alpha), 1)``, and its
    minimum over the null points (the design's calibrated threshold).

    Arguments (``model``, ``seed`` or ``key``, copies, Ctrl-C) as in :func:`validate`.
    Raises ValueError for ``alpha`` outside (0, 1) or so close to 1 that ``m > sims``, and
    as :func:`validate`.
    """
    seed, words = _seed_or_key(seed, key)
    d = _simlanes.calibrate(
        _array(grid, np.float64),
        alpha,
        n=n,
        sims=sims,
        seed=seed,
        key=words,
        partitionable=partitionable,
        model=model,
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
    key: Optional[ArrayLike] = None,
    partitionable: bool = True,
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
    (default zeros). Member ``b`` uses random stream ``b`` of ``seed``. Array arguments
    are copied once (the Rust spec owns them).

    With ``key`` (a JAX key, see :func:`jax_normal`) the noise is JAX's: member ``b`` of
    ``B = batch`` uses ``z = jax.random.normal(jax.random.split(key, B)[b], (nt, nn, 6))``
    (float32), the noise of variable ``v`` of node ``i`` at step ``t`` being
    ``z[t, i, v]``; the JAX equivalent is
    ``jax.vmap(lambda k: jax.random.normal(k, (nt, nn, 6)))(jax.random.split(key, B))``.
    ``seed`` and ``key`` may be given together: ``seed`` (default 0) still picks the
    network (the default ``weights`` and, with ``delays=True``, the lags: a fixed
    connectivity, not noise) and ``key`` the noise. ``partitionable=False`` mirrors
    ``jax_threefry_partitionable=False``. The samples are bit-exact; the integrator around
    them is simlanes' own.

    Raises ValueError for sizes of 0, ``dt <= 0``, ``sigma < 0``, non-finite values,
    arrays of the wrong shape or a key that is not one key; TypeError for arrays of the
    wrong dtype or a non-integer key.
    """
    return _simlanes.jansen_rit(
        nn,
        nt,
        batch,
        seed=seed,
        key=None if key is None else _key_words(key),
        partitionable=partitionable,
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
    key: Optional[ArrayLike] = None,
    partitionable: bool = True,
    dt: float = 0.01,
    sigma: float = 0.2,
    weights: Optional[ArrayLike] = None,
    backend: str = "threaded",
    threads: Optional[int] = None,
) -> MprResult:
    """W5: Montbrio-Pazo-Roxin networks of ``nn`` nodes for ``nt`` Heun steps, one member
    per ``(k, eta)`` pair. With neither ``k`` nor ``eta``: the WORKLOADS.md sweep, 32
    values of ``k`` (outer) x 36 of ``eta`` (inner), 1152 members. Otherwise give both:
    each a number or a float32 array (equal lengths, or length 1 to broadcast). Array
    arguments are copied once (the Rust spec owns them). Member ``b`` uses random stream
    ``b`` of ``seed``.

    With ``key`` (a JAX key, see :func:`jax_normal`) the noise is JAX's: member ``b`` of
    ``B`` members uses ``z = jax.random.normal(jax.random.split(key, B)[b], (nt, nn, 2))``
    (float32; ``z[t, i, 0]`` drives ``r`` and ``z[t, i, 1]`` drives ``V`` of node ``i`` at
    step ``t``); the JAX equivalent is
    ``jax.vmap(lambda k: jax.random.normal(k, (nt, nn, 2)))(jax.random.split(key, B))``.
    ``seed`` and ``key`` may be given together: ``seed`` (default 0) still picks the
    default ``weights`` (a fixed network, not noise) and ``key`` the noise.
    ``partitionable=False`` mirrors ``jax_threefry_partitionable=False``.

    Raises ValueError for ``nt < 401`` (the statistic window is ``x[401..=nt]``), sizes of
    0, ``dt <= 0``, ``sigma < 0``, non-finite values, one of ``k``/``eta`` without the
    other, arrays of the wrong shape or a key that is not one key; TypeError for arrays of
    the wrong dtype or a non-integer key.
    """
    d = _simlanes.mpr_sweep(
        _member(k),
        _member(eta),
        nn=nn,
        nt=nt,
        seed=seed,
        key=None if key is None else _key_words(key),
        partitionable=partitionable,
        dt=dt,
        sigma=sigma,
        weights=_array(weights, np.float32),
        backend=backend,
        threads=threads,
    )
    return MprResult(**d)


_KEY_DOC = """``key`` is a JAX key: a typed key array (``jax.random.key(0)``) or its raw data, two
    uint32 words (``jax.random.key_data(key)``, or the legacy ``jax.random.PRNGKey(0)``), as
    a NumPy array or anything with ``__array__``; JAX itself is never imported.
    ``partitionable`` (where taken) mirrors ``jax_threefry_partitionable`` (True: JAX's
    default since 0.5)."""


def jax_key(seed: int, *, x64: bool = False) -> np.ndarray:
    """``jax.random.key_data(jax.random.key(seed))``: the key's two uint32 words, shape
    ``(2,)`` (``x64=True``: as under ``jax_enable_x64``). Raises ValueError for a seed
    outside int64 (JAX raises OverflowError)."""
    return _simlanes.jax_key(seed, x64=x64)


def jax_fold_in(key: ArrayLike, data: int) -> np.ndarray:
    """``jax.random.key_data(jax.random.fold_in(key, data))``, shape ``(2,)`` uint32.
    Raises ValueError unless ``0 <= data < 2**32``."""
    return _simlanes.jax_fold_in(_key_words(key), data)


def jax_split(key: ArrayLike, num: int = 2, *, partitionable: bool = True) -> np.ndarray:
    """``jax.random.key_data(jax.random.split(key, num))``: ``(num, 2)`` uint32."""
    return _simlanes.jax_split(_key_words(key), num, partitionable=partitionable)


def _shape(shape: Any) -> list:
    """A shape as a list of ints (an int is a 1-D shape); TypeError naming ``shape`` for
    non-integers, bools included (``True`` is not a dimension). Negative or oversized
    dimensions are the native side's ValueError."""
    dims = [shape] if isinstance(shape, (int, np.integer, np.bool_)) else shape
    try:
        dims = list(dims)
    except TypeError:
        raise TypeError(f"`shape` must be an integer or a sequence of integers, got {type(shape).__name__}") from None
    out = []
    for d in dims:
        if isinstance(d, (bool, np.bool_)):
            raise TypeError("`shape` must be a sequence of integers, got a bool")
        try:
            out.append(operator.index(d))
        except TypeError:
            raise TypeError(f"`shape` must be a sequence of integers, got an element of type {type(d).__name__}") from None
    return out


def jax_bits(key: ArrayLike, shape: Any = (), dtype: Any = np.uint32, *, partitionable: bool = True) -> np.ndarray:
    """``jax.random.bits(key, shape, dtype)`` for ``dtype`` uint8, uint16, uint32 or uint64
    (uint64 as JAX gives it under ``jax_enable_x64``). Raises ValueError for another dtype."""
    bits = np.dtype(dtype).itemsize * 8 if np.dtype(dtype).kind == "u" else 0
    return _simlanes.jax_bits(_key_words(key), _shape(shape), bits, partitionable=partitionable)


def jax_uniform(
    key: ArrayLike,
    shape: Any = (),
    *,
    minval: float = 0.0,
    maxval: float = 1.0,
    partitionable: bool = True,
) -> np.ndarray:
    """``jax.random.uniform(key, shape, minval=minval, maxval=maxval)``: float32, bit for
    bit (the bounds rounded to float32 first, as JAX does)."""
    return _simlanes.jax_uniform(_key_words(key), _shape(shape), minval=minval, maxval=maxval, partitionable=partitionable)


def jax_normal(key: ArrayLike, shape: Any = (), *, partitionable: bool = True) -> np.ndarray:
    """``jax.random.normal(key, shape)``: float32, bit for bit against jaxlib 0.10.2 on x86
    CPUs with FMA (it follows XLA:CPU's ``erf_inv``; another jaxlib version or backend may
    differ in the last bits)."""
    return _simlanes.jax_normal(_key_words(key), _shape(shape), partitionable=partitionable)


for _f in (jax_fold_in, jax_split, jax_bits, jax_uniform, jax_normal):
    _f.__doc__ = (_f.__doc__ or "") + "\n\n    " + _KEY_DOC + "\n    "
del _f
