"""Grids bigger than one machine, on executors people already run: no cluster code here.

:func:`make_tiles` cuts a ``(G, d)`` grid into tiles of consecutive points, each described
by a plain dict of NumPy arrays and numbers (picklable, so any executor can ship it);
:func:`run_tile` computes one tile, deterministically; :func:`merge_tiles` puts the tiles
back together by tile index. :func:`map_tiles` does all three on any executor with a
``concurrent.futures``-style ``submit`` (``ProcessPoolExecutor``, Dask's
``Client.get_executor()``, Slurm through dask-jobqueue, mpi4py's ``MPIPoolExecutor``).

Why the merged result equals a single-process run bit for bit: every per-point result
(rejection count, rate, bound, ``lambda*``) depends only on the point, the seed and the
number of simulations (simulation ``s`` uses random stream ``s`` of the seed, or row
``s`` of the JAX key's uniforms, at every point), and the
overall minimum of ``calibrate`` is merged with the engine's own rule (strictly smaller
wins, NaN last, first point on ties).

Threads: each tile runs on ``backend="threaded"`` with ``threads`` workers (default:
``RAYON_NUM_THREADS`` if set, else every CPU). With several worker processes per node, set
``threads`` (or ``RAYON_NUM_THREADS`` in the workers' environment) to the node's cores
divided by the processes, so that they do not oversubscribe it.
"""

from __future__ import annotations

import hashlib
from typing import Any, Dict, Iterable, List, Optional, Union

import numpy as np

from . import _simlanes
from ._keys import seed_or_key
from ._results import Calibration, Validation

_OPS = ("validate", "calibrate")


def make_tiles(
    op: str,
    grid: Any,
    *,
    tile_points: int = 1024,
    lam: Optional[float] = None,
    alpha: Optional[float] = None,
    n: int,
    sims: int,
    seed: Optional[int] = None,
    key: Optional[Any] = None,
    partitionable: bool = True,
    model: str = "binomial",
    null: Optional[Any] = None,
    delta: float = 0.01,
    backend: str = "threaded",
    threads: Optional[int] = None,
    grid_tile: Optional[int] = None,
    sim_tile: Optional[int] = None,
) -> List[Dict[str, Any]]:
    """The tile specs of ``op`` (``"validate"`` with ``lam``, or ``"calibrate"`` with
    ``alpha``) over ``grid``: tile ``i`` holds points ``[i*tile_points, (i+1)*tile_points)``
    (copied). Other arguments as in :func:`simlanes.validate` / :func:`simlanes.calibrate`.

    Raises ValueError for an unknown ``op``, a missing ``lam``/``alpha``, ``tile_points <
    1``, a grid that is not 2-D or a mask of the wrong length; TypeError for a grid that is
    not float64 or a mask that is not bool.
    """
    if op not in _OPS:
        raise ValueError(f"op must be 'validate' or 'calibrate', got {op!r}")
    if op == "validate" and lam is None:
        raise ValueError("op='validate' needs `lam`")
    if op == "calibrate" and alpha is None:
        raise ValueError("op='calibrate' needs `alpha`")
    if isinstance(tile_points, bool) or not isinstance(tile_points, (int, np.integer)):
        raise TypeError(f"`tile_points` must be an int, got {type(tile_points).__name__}")
    if tile_points < 1:
        raise ValueError(f"`tile_points` is {tile_points}, must be at least 1")
    g = grid if isinstance(grid, np.ndarray) else np.asarray(grid, dtype=np.float64)
    if g.dtype != np.float64:
        raise TypeError(f"`grid` must have dtype float64, got {g.dtype}")
    if g.ndim != 2:
        raise ValueError(f"`grid` must have 2 dimension(s), got shape {g.shape}")
    mask = None
    if null is not None:
        mask = null if isinstance(null, np.ndarray) else np.asarray(null, dtype=np.bool_)
        if mask.dtype != np.bool_:
            raise TypeError(f"`null` must have dtype bool, got {mask.dtype}")
        if mask.shape != (g.shape[0],):
            raise ValueError(f"`null` has shape {mask.shape}, expected ({g.shape[0]},)")
    seed, words = seed_or_key(seed, key)
    args: Dict[str, Any] = dict(
        n=n,
        sims=sims,
        seed=seed,
        key=words,
        partitionable=partitionable,
        model=model,
        backend=backend,
        threads=threads,
        grid_tile=grid_tile,
        sim_tile=sim_tile,
    )
    if op == "validate":
        args.update(lam=lam, delta=delta)
    else:
        args.update(alpha=alpha)
    # At least one tile, so that an empty grid reaches the native checks (ValueError).
    starts = range(0, max(g.shape[0], 1), tile_points)
    batch = _fingerprint(op, g, mask, args, tile_points)
    return [
        {
            "op": op,
            "batch": batch,
            "tiles": len(starts),
            "index": i,
            "start": s,
            "grid": np.ascontiguousarray(g[s : s + tile_points]),
            "null": None if mask is None else np.ascontiguousarray(mask[s : s + tile_points]),
            "args": dict(args),
        }
        for i, s in enumerate(starts)
    ]


def _fingerprint(op: str, g: np.ndarray, mask: Optional[np.ndarray], args: Dict[str, Any], tile_points: int) -> str:
    """What makes tiles belong together: the operation, the whole grid and mask, every
    argument and the tiling, hashed. :func:`merge_tiles` refuses tiles whose
    fingerprints differ (e.g. made with another ``lam`` or seed)."""
    h = hashlib.sha256()
    h.update(repr((op, g.shape, tile_points, sorted((k, repr(v)) for k, v in args.items()))).encode())
    h.update(np.ascontiguousarray(g).tobytes())
    if mask is not None:
        h.update(np.ascontiguousarray(mask).tobytes())
    return h.hexdigest()


def run_tile(tile_spec: Dict[str, Any]) -> Dict[str, Any]:
    """Computes one tile made by :func:`make_tiles`: deterministic (the same spec gives the
    same result on any machine, process, backend or thread count). Returns a dict of NumPy
    arrays and numbers, with the tile's ``op``, ``index`` and ``start``."""
    op = tile_spec["op"]
    args = dict(tile_spec["args"])
    if op == "validate":
        lam = args.pop("lam")
        d = _simlanes.validate(tile_spec["grid"], lam, null=tile_spec["null"], **args)
    elif op == "calibrate":
        alpha = args.pop("alpha")
        d = _simlanes.calibrate(tile_spec["grid"], alpha, null=tile_spec["null"], **args)
    else:
        raise ValueError(f"op must be 'validate' or 'calibrate', got {op!r}")
    d.update(
        op=op,
        batch=tile_spec.get("batch"),
        tiles=tile_spec.get("tiles"),
        index=tile_spec["index"],
        start=tile_spec["start"],
    )
    return d


def merge_tiles(results: Iterable[Dict[str, Any]]) -> Union[Validation, Calibration]:
    """Merges the results of :func:`run_tile` (in any order) by tile index into the
    :class:`Validation` or :class:`Calibration` a single call would give.

    Raises ValueError when there is no tile, tiles are missing (the last ones included)
    or repeated, or the tiles do not come from one :func:`make_tiles` call (same
    operation, grid, mask, arguments and tiling: each tile carries their fingerprint).
    """
    rs = sorted(results, key=lambda r: r["index"])
    if not rs:
        raise ValueError("no tiles to merge")
    if [r["index"] for r in rs] != list(range(len(rs))):
        raise ValueError(f"tiles missing or repeated: indices {[r['index'] for r in rs]}")
    expected = rs[0].get("tiles")
    if expected is not None and len(rs) != expected:
        raise ValueError(f"{len(rs)} tiles given, the call made {expected}: tiles {len(rs)}.. are missing")
    op = rs[0]["op"]
    at = 0
    for r in rs:
        if (
            r["op"] != op
            or r.get("batch") != rs[0].get("batch")
            or r["start"] != at
            or r["sims"] != rs[0]["sims"]
        ):
            raise ValueError(
                f"tile {r['index']} does not belong with tile 0 (another make_tiles call: "
                "operation, grid, arguments or tiling differ)"
            )
        at += len(r["lam"] if op == "calibrate" else r["count"])
    if op == "validate":
        return Validation(
            null=np.concatenate([r["null"] for r in rs]),
            count=np.concatenate([r["count"] for r in rs]),
            rate=np.concatenate([r["rate"] for r in rs]),
            upper=np.concatenate([r["upper"] for r in rs]),
            lam=rs[0]["lam"],
            delta=rs[0]["delta"],
            sims=rs[0]["sims"],
        )
    best: Optional[int] = None
    best_lam = float("nan")
    for r in rs:
        if r["argmin"] is None:
            continue
        m = r["min_lam"]
        # The engine's order: strictly smaller wins, NaN last, first point on ties.
        if best is None or m < best_lam or (np.isnan(best_lam) and not np.isnan(m)):
            best, best_lam = r["start"] + r["argmin"], m
    return Calibration(
        lam=np.concatenate([r["lam"] for r in rs]),
        min_lam=best_lam,
        argmin=best,
        rank=rs[0]["rank"],
        alpha=rs[0]["alpha"],
        sims=rs[0]["sims"],
    )


def map_tiles(
    executor: Any,
    op: str,
    grid: Any,
    *,
    tile_points: int = 1024,
    lam: Optional[float] = None,
    alpha: Optional[float] = None,
    n: int,
    sims: int,
    seed: Optional[int] = None,
    key: Optional[Any] = None,
    partitionable: bool = True,
    model: str = "binomial",
    null: Optional[Any] = None,
    delta: float = 0.01,
    backend: str = "threaded",
    threads: Optional[int] = None,
    grid_tile: Optional[int] = None,
    sim_tile: Optional[int] = None,
) -> Union[Validation, Calibration]:
    """Runs ``op`` (``"validate"`` with ``lam``, or ``"calibrate"`` with ``alpha``) over
    ``grid`` in tiles of ``tile_points`` points on ``executor`` (anything with
    ``submit(fn, arg)`` returning a future with ``result()``) and merges them by tile index:
    the result is identical to ``simlanes.validate`` / ``simlanes.calibrate`` in one
    process. Arguments as in :func:`make_tiles`; ``threads`` is per tile, i.e. per worker
    process.

    On any error or KeyboardInterrupt while waiting, the tiles not yet started are
    cancelled and the exception is raised.
    """
    specs = make_tiles(
        op,
        grid,
        tile_points=tile_points,
        lam=lam,
        alpha=alpha,
        n=n,
        sims=sims,
        seed=seed,
        key=key,
        partitionable=partitionable,
        model=model,
        null=null,
        delta=delta,
        backend=backend,
        threads=threads,
        grid_tile=grid_tile,
        sim_tile=sim_tile,
    )
    futures = [executor.submit(run_tile, s) for s in specs]
    try:
        results = [f.result() for f in futures]
    except BaseException:
        for f in futures:
            f.cancel()
        raise
    return merge_tiles(results)
