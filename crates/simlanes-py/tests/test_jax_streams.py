"""The JAX stream mode of the workloads (``key=``), without JAX: every result equals an
independent reference built from the package's own ``jax_split``/``jax_uniform``/
``jax_normal`` (themselves checked against real JAX in test_with_jax.py), on every CPU
backend and in both key layouts."""

import numpy as np
import pytest
from _reference import pi_hits_exact

import simlanes

CPU = [dict(backend="scalar"), dict(backend="simd"), dict(backend="threaded", threads=1),
       dict(backend="threaded", threads=2)]
LAYOUTS = pytest.mark.parametrize("partitionable", [True, False], ids=["partitionable", "legacy"])
KEY = simlanes.jax_key(2024)


def _same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, b.shape, a.dtype, b.dtype)
    assert np.array_equal(a.reshape(-1).view(np.uint8), b.reshape(-1).view(np.uint8))


@LAYOUTS
def test_pi_key_is_jax_uniform_pairs(partitionable):
    n, i = 3001, 13
    keys = simlanes.jax_split(KEY, i, partitionable=partitionable)
    xy = np.stack([simlanes.jax_uniform(k, (n, 2), partitionable=partitionable) for k in keys])
    want = pi_hits_exact(xy)
    runs = [simlanes.pi(n, i, key=KEY, partitionable=partitionable, **b) for b in CPU]
    for r in runs:
        np.testing.assert_array_equal(r.hits, want)
    np.testing.assert_array_equal(runs[0].estimates, 4.0 * want / n)
    # Not the Philox streams of any seed, nor the other layout.
    assert not np.array_equal(simlanes.pi(n, i, seed=0).hits, want)
    other = simlanes.pi(n, i, key=KEY, partitionable=not partitionable).hits
    assert not np.array_equal(other, want)


def test_pi_key_edge_pairs_count_as_fma():
    # Pairs where x*x + y*y lands within float32 rounding of 1 are where a two-rounding
    # count could differ; the reference and simlanes must agree on a run with many of them.
    n, i = 200_000, 4
    keys = simlanes.jax_split(KEY, i)
    xy = np.stack([simlanes.jax_uniform(k, (n, 2)) for k in keys])
    s = xy[..., 0].astype(np.float64) ** 2 + xy[..., 1].astype(np.float64) ** 2
    assert (np.abs(s - 1.0) < 2.0**-20).sum() > 0  # the run does contain near-boundary pairs
    np.testing.assert_array_equal(simlanes.pi(n, i, key=KEY, backend="simd").hits, pi_hits_exact(xy))


def test_pi_partitionable_member_keys_do_not_depend_on_the_count():
    # Partitionable: member i's key is fold_in(key, i), so a prefix of a batch is the
    # smaller batch; legacy: split(key, count) depends on count.
    a = simlanes.pi(1000, 8, key=KEY).hits
    b = simlanes.pi(1000, 5, key=KEY).hits
    np.testing.assert_array_equal(a[:5], b)
    np.testing.assert_array_equal(
        simlanes.jax_split(KEY, 5), np.stack([simlanes.jax_fold_in(KEY, j) for j in range(5)])
    )
    la = simlanes.pi(1000, 8, key=KEY, partitionable=False).hits
    lb = simlanes.pi(1000, 5, key=KEY, partitionable=False).hits
    assert not np.array_equal(la[:5], lb)


@LAYOUTS
def test_ou_key_is_ou_with_jax_normals(partitionable):
    sims, steps = 37, 50
    keys = simlanes.jax_split(KEY, sims, partitionable=partitionable)
    z = np.stack([simlanes.jax_normal(k, (steps,), partitionable=partitionable) for k in keys])
    want = simlanes.ou_with_normals(z.astype(np.float64), sigma=1.5, x0=0.5)
    for b in CPU:
        got = simlanes.ou_final(sims, steps, key=KEY, partitionable=partitionable, sigma=1.5, x0=0.5, **b)
        _same_bits(got, want)
        path = simlanes.ou_path(sims, steps, key=KEY, partitionable=partitionable, sigma=1.5, x0=0.5, **b)
        assert path.shape == (sims, steps + 1)
        _same_bits(path[:, -1], want)
        assert (path[:, 0] == 0.5).all()
    # The path's states are the recurrence over those normals step by step.
    path = simlanes.ou_path(sims, steps, key=KEY, partitionable=partitionable, sigma=1.5, x0=0.5)
    _same_bits(path[:, 6], simlanes.ou_with_normals(z[:, :6].astype(np.float64), sigma=1.5, x0=0.5))
    assert not np.array_equal(simlanes.ou_final(sims, steps, seed=0, sigma=1.5, x0=0.5), want)


def test_ou_key_law():
    sims, steps = 4096, 100  # stationary: N(0, sigma^2) to 4.5e-5
    x = simlanes.ou_final(sims, steps, key=KEY)
    var = 4.0
    assert abs(x.mean()) < 4 * np.sqrt(var / sims)
    assert abs(x.var() - var) < 4 * var * np.sqrt(2 / sims)


@LAYOUTS
def test_jansen_rit_key_same_bits_on_every_backend(partitionable):
    nn, nt, batch = 5, 40, 11
    runs = [
        simlanes.jansen_rit(nn, nt, batch, key=KEY, partitionable=partitionable, sigma=0.05, delays=True, **b)
        for b in CPU
    ]
    for r in runs[1:]:
        _same_bits(r, runs[0])
    assert runs[0].shape == (6, nn, batch) and np.isfinite(runs[0]).all()
    seeded = simlanes.jansen_rit(nn, nt, batch, sigma=0.05, delays=True)
    assert not np.array_equal(seeded, runs[0])
    # `seed` still picks the network (weights, lags) when `key` gives the noise.
    other_net = simlanes.jansen_rit(nn, nt, batch, seed=1, key=KEY, partitionable=partitionable, sigma=0.05,
                                    delays=True)
    assert not np.array_equal(other_net, runs[0])
    # With the network given explicitly, `seed` has no say: the noise is the key's alone.
    w = np.full((nn, nn), 0.1, np.float32)
    a = simlanes.jansen_rit(nn, nt, batch, seed=0, key=KEY, partitionable=partitionable, sigma=0.05, weights=w)
    b = simlanes.jansen_rit(nn, nt, batch, seed=9, key=KEY, partitionable=partitionable, sigma=0.05, weights=w)
    _same_bits(a, b)


def test_jansen_rit_key_noise_is_member_keyed():
    # Partitionable: member b's noise is that of key fold_in(key, b) whatever the batch
    # size, so the first members of a larger batch equal the smaller batch (same k, mu).
    nn, nt = 4, 30
    big = simlanes.jansen_rit(nn, nt, 6, key=KEY, sigma=0.05)
    small = simlanes.jansen_rit(nn, nt, 3, key=KEY, sigma=0.05)
    _same_bits(np.ascontiguousarray(big[:, :, :3]), small)


@LAYOUTS
def test_mpr_key_same_bits_on_every_backend(partitionable):
    k = np.array([0.5, 0.8, 1.1, 0.2, 0.9], np.float32)
    eta = np.array([-4.6, -4.0, -5.0, -4.6, -3.5], np.float32)
    runs = [simlanes.mpr_sweep(k, eta, nn=6, nt=450, key=KEY, partitionable=partitionable, **b) for b in CPU]
    for r in runs[1:]:
        _same_bits(r.std_r, runs[0].std_r)
        _same_bits(r.final_state, runs[0].final_state)
    assert np.isfinite(runs[0].final_state).all() and (runs[0].std_r > 0).all()
    seeded = simlanes.mpr_sweep(k, eta, nn=6, nt=450)
    assert not np.array_equal(seeded.final_state, runs[0].final_state)
    other_net = simlanes.mpr_sweep(k, eta, nn=6, nt=450, seed=3, key=KEY, partitionable=partitionable)
    assert not np.array_equal(other_net.final_state, runs[0].final_state)


def test_gpu_key_runs_equal_cpu_or_says_why():
    try:
        g = simlanes.pi(2000, 9, key=KEY, backend="gpu")
    except RuntimeError as e:
        pytest.skip(f"no usable GPU: {e}")
    np.testing.assert_array_equal(g.hits, simlanes.pi(2000, 9, key=KEY, backend="simd").hits)
    _same_bits(simlanes.ou_final(33, 20, key=KEY, backend="gpu"), simlanes.ou_final(33, 20, key=KEY))
