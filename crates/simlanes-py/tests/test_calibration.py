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


# --- the second design: a two-arm z-test ------------------------------------------------


def test_two_arm_z_type_one_error_and_threshold():
    # At mu_t = mu_c, T = -z is standard normal: P(T < -1.96) = 0.025.
    sims, alpha = 40_000, 0.025
    grid = np.array([[0.0, 0.0], [0.3, 0.3], [0.2, 0.0], [0.0, 0.4]])
    v = simlanes.validate(grid, -1.959964, model="two_arm_z", n=30, sims=sims)
    np.testing.assert_array_equal(v.null, [True, True, True, False])
    se = np.sqrt(alpha * (1 - alpha) / sims)
    assert abs(v.rate[0] - alpha) < 4 * se and abs(v.rate[1] - alpha) < 4 * se
    # Common random numbers: shifting both means alike changes nothing.
    assert v.count[0] == v.count[1]
    # mu_c > mu_t: rejects less; the non-null point reports 0.
    assert v.count[2] < v.count[0] and v.count[3] == 0
    c = simlanes.calibrate(grid, alpha, model="two_arm_z", n=30, sims=sims)
    assert np.isnan(c.lam[3]) and c.argmin in (0, 1)
    # The 2.5 % quantile of N(0, 1), within 4 standard errors of a sample quantile
    # (sd = sqrt(a(1-a)/K) / phi(1.96) ~ 0.0134).
    assert abs(c.min_lam + 1.959964) < 4 * se / 0.05844
    # Explicit null flags override the model's; backends and tilings agree.
    v2 = simlanes.validate(grid, -1.96, model="two_arm_z", n=30, sims=999, null=np.array([1, 0, 0, 1], bool))
    np.testing.assert_array_equal(v2.null, [True, False, False, True])
    for kw in (dict(backend="scalar"), dict(backend="simd"), dict(threads=2, grid_tile=1, sim_tile=7)):
        v3 = simlanes.validate(grid, -1.96, model="two_arm_z", n=30, sims=999, null=v2.null, **kw)
        np.testing.assert_array_equal(v3.count, v2.count)


# --- JAX keys ----------------------------------------------------------------------------


def _jax_counts(u, grid, n, lam):
    """The JAX code's counts, in NumPy, on uniforms ``u`` of shape ``(S, n, d)``."""
    from _reference import expit_f32

    p = expit_f32(grid)  # (G, d)
    count = (u[None] < p[:, None, None, :]).sum(axis=(2, 3))
    t = count.astype(np.float32) / np.float32(n * grid.shape[1])
    return (t < np.float32(lam)).sum(axis=1), t


@pytest.mark.parametrize("partitionable", [True, False])
def test_jax_key_validate_and_calibrate_equal_the_jax_computation(partitionable):
    rng = np.random.default_rng(9)
    grid = rng.uniform(-1.0, 1.0, size=(9, 4))
    n, sims, key = 5, 500, np.array([0, 3], np.uint32)
    u = simlanes.jax_uniform(key, (sims, n, 4), partitionable=partitionable)
    want, t = _jax_counts(u, grid, n, 0.5)
    v = simlanes.validate(grid, 0.5, n=n, sims=sims, key=key, partitionable=partitionable)
    np.testing.assert_array_equal(v.count, want)
    c = simlanes.calibrate(grid, 0.1, n=n, sims=sims, key=key, partitionable=partitionable)
    m = max(int(np.floor((sims + 1) * 0.1)), 1)
    np.testing.assert_array_equal(c.lam, np.sort(t, axis=1)[:, m - 1])
    # A key is not a seed: the streams differ; so do the two layouts.
    assert not np.array_equal(simlanes.validate(grid, 0.5, n=n, sims=sims, seed=3).count, v.count)
    other = simlanes.validate(grid, 0.5, n=n, sims=sims, key=key, partitionable=not partitionable)
    assert not np.array_equal(other.count, v.count)
    # Any backend, any tiling, a list or an int64 array as the key: the same counts.
    for kw in (dict(backend="scalar"), dict(backend="simd", sim_tile=3), dict(key=[0, 3]), dict(key=key.astype(np.int64))):
        args = dict(n=n, sims=sims, key=key, partitionable=partitionable)
        args.update(kw)
        np.testing.assert_array_equal(simlanes.validate(grid, 0.5, **args).count, want)


def test_jax_key_map_tiles_equals_one_call():
    from concurrent.futures import ThreadPoolExecutor

    grid = np.random.default_rng(2).uniform(-1, 1, size=(40, 4))
    key = simlanes.jax_key(11)
    one = simlanes.validate(grid, 0.5, n=3, sims=256, key=key)
    with ThreadPoolExecutor(2) as ex:
        tiled = simlanes.map_tiles(ex, "validate", grid, lam=0.5, tile_points=7, n=3, sims=256, key=key)
    np.testing.assert_array_equal(tiled.count, one.count)
    z = np.zeros((10, 2))
    one = simlanes.calibrate(z, 0.05, model="two_arm_z", n=8, sims=256, seed=5)
    with ThreadPoolExecutor(2) as ex:
        tiled = simlanes.map_tiles(ex, "calibrate", z, alpha=0.05, tile_points=3, model="two_arm_z", n=8, sims=256, seed=5)
    np.testing.assert_array_equal(tiled.lam, one.lam)
    assert tiled.argmin == one.argmin
