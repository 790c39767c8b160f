"""W3 validate/calibrate against an independent NumPy oracle (Philox written from the
spec), across backends, tilings, masks and memory layouts."""

import numpy as np
import pytest
from _reference import philox4x32_10, w3_statistics

import simlanes


def test_philox_reference_kat():
    # Random123 kat_vectors, "philox4x32 10", counter 0, key 0.
    out = philox4x32_10([np.zeros(1, np.uint64)] * 4, (0, 0))
    assert [int(x[0]) for x in out] == [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(5)
    grid = rng.uniform(-1.0, 1.0, size=(13, 3))
    n, sims, seed = 7, 300, 11
    return grid, n, sims, seed, w3_statistics(grid, n, sims, seed)


def test_validate_matches_numpy_oracle(problem):
    grid, n, sims, seed, t = problem
    v = simlanes.validate(grid, 0.5, n=n, sims=sims, seed=seed)
    want = (t < np.float32(0.5)).sum(axis=1)
    np.testing.assert_array_equal(v.count, want)
    assert v.count.dtype == np.uint64 and v.null.all()
    np.testing.assert_array_equal(v.rate, want / sims)
    assert (v.upper >= v.rate).all() and (v.upper <= 1).all()
    assert v.lam == 0.5 and v.sims == sims and v.delta == 0.01


def test_calibrate_matches_numpy_oracle(problem):
    grid, n, sims, seed, t = problem
    alpha = 0.1
    c = simlanes.calibrate(grid, alpha, n=n, sims=sims, seed=seed)
    m = max(int(np.floor((sims + 1) * alpha)), 1)
    assert c.rank == m
    want = np.sort(t, axis=1)[:, m - 1]
    assert c.lam.dtype == np.float32
    np.testing.assert_array_equal(c.lam, want)
    assert c.min_lam == want.min() and c.argmin == int(np.argmin(want))


def test_clopper_pearson_zero_count_closed_form():
    # No rejection: the upper bound is 1 - delta^(1/K).
    v = simlanes.validate(np.zeros((2, 2)), -1.0, n=3, sims=500, delta=0.05)
    assert (v.count == 0).all()
    np.testing.assert_allclose(v.upper, 1 - 0.05 ** (1 / 500), rtol=1e-12)


def test_results_do_not_depend_on_backend_tiles_or_layout(problem):
    grid, n, sims, seed, _ = problem
    ref_v = simlanes.validate(grid, 0.45, n=n, sims=sims, seed=seed, backend="scalar")
    ref_c = simlanes.calibrate(grid, 0.05, n=n, sims=sims, seed=seed, backend="scalar")
    fortran = np.asfortranarray(grid)
    strided = np.repeat(grid, 2, axis=0)[::2]
    assert not strided.flags.c_contiguous
    for kw in [dict(backend="simd"), dict(backend="threaded", threads=2, grid_tile=3, sim_tile=7),
               dict(backend="threaded", threads=1, grid_tile=1, sim_tile=1000)]:
        for g in (grid, fortran, strided, grid.tolist()):
            v = simlanes.validate(g, 0.45, n=n, sims=sims, seed=seed, **kw)
            c = simlanes.calibrate(g, 0.05, n=n, sims=sims, seed=seed, **kw)
            np.testing.assert_array_equal(v.count, ref_v.count)
            np.testing.assert_array_equal(v.upper, ref_v.upper)
            np.testing.assert_array_equal(c.lam, ref_c.lam)
            assert (c.min_lam, c.argmin) == (ref_c.min_lam, ref_c.argmin)


def test_null_mask(problem):
    grid, n, sims, seed, t = problem
    null = np.zeros(len(grid), dtype=bool)
    null[[2, 5, 9]] = True
    v = simlanes.validate(grid, 0.5, n=n, sims=sims, seed=seed, null=null)
    full = simlanes.validate(grid, 0.5, n=n, sims=sims, seed=seed)
    np.testing.assert_array_equal(v.null, null)
    np.testing.assert_array_equal(v.count[null], full.count[null])
    assert (v.count[~null] == 0).all()
    c = simlanes.calibrate(grid, 0.1, n=n, sims=sims, seed=seed, null=null)
    assert np.isnan(c.lam[~null]).all() and not np.isnan(c.lam[null]).any()
    assert c.argmin in (2, 5, 9) and c.min_lam == c.lam[null].min()
    none = simlanes.calibrate(grid, 0.1, n=n, sims=sims, seed=seed, null=np.zeros(len(grid), bool))
    assert none.argmin is None and np.isnan(none.min_lam)


def test_chunked_run_equals_one_shot():
    # 2**24 / 4096 = 4096 points per chunk: 5000 points run as two chunks.
    grid = np.random.default_rng(1).uniform(-0.5, 0.5, size=(5000, 2))
    grid[4500] = -3.0  # the minimum lambda* lies in the second chunk
    kw = dict(n=8, sims=4096, seed=4, threads=2)
    c = simlanes.calibrate(grid, 0.05, **kw)
    tail = simlanes.calibrate(grid[4096:], 0.05, **kw)
    np.testing.assert_array_equal(c.lam[4096:], tail.lam)
    assert c.argmin == 4096 + tail.argmin == 4500
    v = simlanes.validate(grid, 0.5, **kw)
    np.testing.assert_array_equal(v.count[4096:], simlanes.validate(grid[4096:], 0.5, **kw).count)
