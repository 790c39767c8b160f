"""W1, W2, W4, W5 over NumPy: shapes, dtypes, laws, and the same bits on every CPU backend."""

import math

import numpy as np
import pytest

import simlanes

CPU = [dict(backend="scalar"), dict(backend="simd"), dict(backend="threaded", threads=1),
       dict(backend="threaded", threads=2)]


def test_pi_law_and_backends_agree():
    n, i = 20_000, 64
    runs = [simlanes.pi(n, i, seed=7, **b) for b in CPU]
    r = runs[0]
    assert r.hits.dtype == np.uint64 and r.hits.shape == (i,)
    assert r.estimates.dtype == np.float64
    np.testing.assert_array_equal(r.estimates, 4.0 * r.hits / n)
    se = math.sqrt(math.pi * (4 - math.pi) / (n * i))
    assert abs(r.mean - math.pi) < 4 * se
    for other in runs[1:]:
        np.testing.assert_array_equal(other.hits, r.hits)
        assert other.mean == r.mean
    assert not np.array_equal(simlanes.pi(n, i, seed=8).hits, r.hits)


def test_ou_final_law_and_backends_agree():
    sims, steps = 4096, 100  # relax^100 = e^-10: stationary to 4.5e-5
    runs = [simlanes.ou_final(sims, steps, seed=3, **b) for b in CPU]
    x = runs[0]
    assert x.dtype == np.float64 and x.shape == (sims,)
    for other in runs[1:]:
        assert np.array_equal(other.view(np.uint64), x.view(np.uint64))
    var = 4.0  # sigma^2
    assert abs(x.mean()) < 4 * math.sqrt(var / sims)
    assert abs(x.var() - var) < 4 * var * math.sqrt(2 / sims)
    np.testing.assert_array_equal(simlanes.ou_final(5, 0, x0=1.25), np.full(5, 1.25))
    small = simlanes.ou_final(16, 100, seed=3, sigma=1.0)
    np.testing.assert_allclose(small, x[:16] / 2, rtol=1e-12)  # linear in sigma, same normals


@pytest.mark.parametrize("key", [None, (0, 7)])
def test_ou_parallel_in_time_is_within_its_bound_of_sequential(key):
    # Simulator::ou_final_parallel_in_time's bound, u*[(2 M_z + 6 M_x)/(1 - r) + C M_x
    # (2 + 2 ceil(log2(len + 1)))], and the path mode's, u*[(2 M_z + 6 M_x)/(1 - r) +
    # C M_x (2 + 1/(1 - r))], with M_x the largest |x| of the sequential path and M_z <=
    # diffuse * 8.58 (every normal of either stream is below sqrt(-2 ln 2^-53) = 8.57).
    n, steps, chunks = 9, 20_001, 7
    kw = dict(seed=None if key else 5, key=key, x0=1.5)
    r = math.exp(-0.1)
    diffuse = 2.0 * math.sqrt(1 - r * r)
    u = 2.0**-53
    seq_path = simlanes.ou_path(n, steps, **kw)
    mx, mz = float(np.abs(seq_path).max()), diffuse * 8.58
    length = -(-steps // chunks)  # ceil(steps / chunks) ...
    length = -(-length // 4) * 4  # ... rounded up to a multiple of 4 (Chunking::new)
    count = -(-steps // length)
    bound = u * ((2 * mz + 6 * mx) / (1 - r) + count * mx * (2 + 2 * math.ceil(math.log2(length + 1))))
    runs = [simlanes.ou_final(n, steps, chunks=chunks, **kw, **b) for b in CPU]
    for other in runs[1:]:
        assert np.array_equal(other.view(np.uint64), runs[0].view(np.uint64))
    assert np.abs(runs[0] - seq_path[:, -1]).max() <= bound
    path = simlanes.ou_path(n, steps, chunks=chunks, **kw)
    path_bound = u * ((2 * mz + 6 * mx) / (1 - r) + count * mx * (2 + 1 / (1 - r)))
    assert np.abs(path - seq_path).max() <= path_bound
    with pytest.raises(ValueError, match="chunks"):
        simlanes.ou_final(2, 10, chunks=0, **kw)


def test_jansen_rit_shapes_members_and_backends():
    nn, nt, b = 6, 64, 11
    mu = np.linspace(0.1, 0.3, b, dtype=np.float32)
    runs = [simlanes.jansen_rit(nn, nt, b, seed=1, mu=mu, **be) for be in CPU]
    y = runs[0]
    assert y.dtype == np.float32 and y.shape == (6, nn, b)
    assert np.isfinite(y).all()
    for other in runs[1:]:
        assert np.array_equal(other.view(np.uint32), y.view(np.uint32))
    # sigma = 0 and W = 0: every member with the same parameters is the same.
    quiet = simlanes.jansen_rit(nn, nt, b, sigma=0.0, weights=np.zeros((nn, nn), np.float32), mu=0.2)
    assert (quiet == quiet[:, :, :1]).all()
    # A scalar broadcasts like an array of copies.
    k = simlanes.jansen_rit(nn, nt, b, k=0.05)
    np.testing.assert_array_equal(k, simlanes.jansen_rit(nn, nt, b, k=np.full(b, 0.05, np.float32)))
    # The initial state is used.
    x0 = np.zeros((6, nn, b), np.float32)
    x0[0] = 1.0
    assert not np.array_equal(simlanes.jansen_rit(nn, 1, b, initial=x0), simlanes.jansen_rit(nn, 1, b))
    # W4d: default lags, or explicit ones.
    d = simlanes.jansen_rit(nn, nt, b, delays=True)
    assert d.shape == (6, nn, b) and np.isfinite(d).all()
    z = simlanes.jansen_rit(nn, nt, b, lags=np.zeros((nn, nn), np.uint8))
    assert np.isfinite(z).all()


def test_mpr_sweep_grid_and_backends():
    r = simlanes.mpr_sweep(nn=4, nt=401, seed=2, backend="threaded", threads=2)
    assert r.k.shape == r.eta.shape == r.std_r.shape == (1152,)
    assert r.final_state.shape == (2, 4, 1152) and r.final_state.dtype == np.float32
    np.testing.assert_array_equal(r.k[::36], (2 * np.arange(32) / 31).astype(np.float32))
    np.testing.assert_array_equal(r.eta[:36], (-6 + 3 * np.arange(36) / 35).astype(np.float32))
    assert (r.std_r > 0).all() and (r.final_state[0] >= 0).all()
    k = np.array([0.0, 0.5, 1.0], np.float32)
    runs = [simlanes.mpr_sweep(k, -5.0, nn=5, nt=420, seed=2, **b) for b in CPU]
    for other in runs[1:]:
        np.testing.assert_array_equal(other.std_r, runs[0].std_r)
        np.testing.assert_array_equal(other.final_state, runs[0].final_state)
    np.testing.assert_array_equal(runs[0].eta, np.full(3, -5.0, np.float32))


def test_gpu_backend_runs_or_says_why():
    try:
        r = simlanes.pi(1000, 64, backend="gpu")
    except RuntimeError as e:
        pytest.skip(f"no usable GPU: {e}")
    np.testing.assert_array_equal(r.hits, simlanes.pi(1000, 64, backend="simd").hits)


@pytest.mark.parametrize("backend", ["scalar", "simd", "threaded"])
def test_ou_path_is_every_state(backend):
    num_sim, steps = 37, 50
    path = simlanes.ou_path(num_sim, steps, seed=4, x0=1.5, backend=backend)
    assert path.shape == (num_sim, steps + 1) and path.dtype == np.float64
    # The transposed view of the time-major buffer: no copy was made.
    assert path.flags["F_CONTIGUOUS"] and path.base is not None
    np.testing.assert_array_equal(path[:, 0], 1.5)
    final = simlanes.ou_final(num_sim, steps, seed=4, x0=1.5, backend=backend)
    assert np.array_equal(path[:, -1], final)  # bit for bit
    np.testing.assert_array_equal(path, simlanes.ou_path(num_sim, steps, seed=4, x0=1.5, backend="scalar"))
    assert simlanes.ou_path(3, 0).shape == (3, 1)


def test_ou_with_normals_is_the_recurrence_in_any_layout():
    num_sim, steps, dt, tau, sigma = 11, 40, 0.1, 1.0, 2.0
    zt = np.random.default_rng(1).standard_normal((steps, num_sim))
    z = zt.T  # (num_sim, steps), Fortran order: read in place
    out = simlanes.ou_with_normals(z, dt=dt, tau=tau, sigma=sigma, x0=0.5)
    relax, diffuse = np.exp(-dt / tau), sigma * np.sqrt(1 - np.exp(-2 * dt / tau))
    x = np.full(num_sim, 0.5)
    for t in range(steps):
        x = x * relax + diffuse * z[:, t]
    np.testing.assert_allclose(out, x, rtol=1e-12, atol=1e-12)
    # A C-ordered copy and a strided view (copied inside) give the same bits.
    assert np.array_equal(simlanes.ou_with_normals(np.ascontiguousarray(z), x0=0.5), out)
    wide = np.zeros((num_sim, 2 * steps))
    wide[:, ::2] = z
    assert np.array_equal(simlanes.ou_with_normals(wide[:, ::2], x0=0.5), out)
    for backend in ("scalar", "simd"):
        assert np.array_equal(simlanes.ou_with_normals(z, x0=0.5, backend=backend), out)
    # A list is converted; z is left unchanged.
    assert np.array_equal(simlanes.ou_with_normals(z.tolist(), x0=0.5), out)
    assert np.array_equal(z, zt.T)
    # No steps: the output is x0.
    np.testing.assert_array_equal(simlanes.ou_with_normals(np.zeros((3, 0)), x0=2.0), 2.0)
