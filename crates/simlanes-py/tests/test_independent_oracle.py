"""simlanes against an independent NumPy oracle (``_reference_models``, written from
WORKLOADS.md alone, without the Rust sources): W1, W2 (a)/(b)/(c), W3, W4, W4d, W5.

Integers are compared exactly, W2 with caller normals bit for bit (the arithmetic reading
simlanes follows is pinned below), W2 with its own normals within an a-priori error bound
of the recurrence, and the f32 workloads against an f64 "exact arithmetic" run of the
oracle, within a multiple of the spread of independent f32 evaluations of the oracle.
A test that failed because simlanes read the spec differently from its plain reading
would be ``xfail(strict=True)`` with the reason; none is left (the last, W2's ``relax``
not being the correctly rounded exp, was fixed).
"""

import math

import numpy as np
import pytest

import simlanes
import _reference_models as M

U = 2.0**-53  # unit roundoff, f64
U32 = 2.0**-24  # unit roundoff, f32
BACKENDS = ["threaded", "scalar"]


# ======================================================================== W1
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", [0, 7, 2**40 + 3])
def test_w1_hits_equal_oracle(seed, backend):
    n, i = 3000, 40
    r = simlanes.pi(n, i, seed=seed, backend=backend)
    np.testing.assert_array_equal(r.hits.astype(np.int64), M.pi_hits(seed, n, np.arange(i)))
    np.testing.assert_array_equal(r.estimates, 4.0 * r.hits / n)


# Pairs found by scanning streams 0..120000 of seed 0 (N = 4096) with the oracle: the
# only pairs where the candidate arithmetic readings of "x^2 + y^2 < 1" differ. Stream ->
# (pair index, which readings count a hit).
EDGE_PAIRS = {
    18317: (632, dict(exact=1, fma=0, fma_yx=1, f32=0)),
    37148: (3767, dict(exact=1, fma=1, fma_yx=0, f32=1)),
    44314: (1708, dict(exact=1, fma=0, fma_yx=1, f32=0)),
    48250: (1557, dict(exact=1, fma=1, fma_yx=1, f32=0)),
    50513: (3789, dict(exact=1, fma=1, fma_yx=0, f32=0)),
}
N_EDGE = 3790


@pytest.fixture(scope="module")
def edge_run():
    return simlanes.pi(N_EDGE, max(EDGE_PAIRS) + 1, seed=0)


def test_w1_edge_pairs_are_what_the_scan_found():
    for stream, (j, hit) in EDGE_PAIRS.items():
        for reading, h in hit.items():
            with_j = M.pi_hits(0, j + 1, [stream], reading)[0]
            without = M.pi_hits(0, j, [stream], reading)[0]
            assert with_j - without == h, (stream, reading)


def test_w1_edge_pairs_follow_the_exact_reading(edge_run):
    # simlanes counts x^2 + y^2 < 1 exactly (the real comparison, R2): it matches that
    # reading on all five discriminating streams, and each f32 reading differs somewhere.
    for stream in EDGE_PAIRS:
        assert edge_run.hits[stream] == M.pi_hits(0, N_EDGE, [stream], "exact")[0], stream
    for reading in ("fma", "fma_yx", "f32"):
        assert any(edge_run.hits[s] != M.pi_hits(0, N_EDGE, [s], reading)[0] for s in EDGE_PAIRS)
    # the scalar backend too (streams up to 18317, pair 632)
    r = simlanes.pi(700, 18318, seed=0, backend="scalar")
    assert r.hits[18317] == M.pi_hits(0, 700, [18317], "exact")[0]


# ======================================================================== W2
def _ou_const(dt, tau, sigma, backend="scalar"):
    """simlanes' own relax and diffuse, read through mode (c): one step from x0 = 1 with
    z = 0 gives x*relax (+ 0, exact), from x0 = 0 with z = 1 gives diffuse*1 (exact)."""
    kw = dict(dt=dt, tau=tau, sigma=sigma, backend=backend)
    relax = simlanes.ou_with_normals(np.zeros((1, 1)), x0=1.0, **kw)[0]
    diffuse = simlanes.ou_with_normals(np.ones((1, 1)), x0=0.0, **kw)[0]
    return float(relax), float(diffuse)


@pytest.fixture(scope="module")
def ou_random_constants():
    """300 random (dt, tau, sigma) with simlanes' relax, diffuse and the exact exp."""
    rng = np.random.default_rng(5)
    out = []
    for _ in range(300):
        dt, tau, sigma = (float(v) for v in rng.uniform([0.001, 0.1, 0.1], [3.0, 5.0, 4.0]))
        relax, diffuse = _ou_const(dt, tau, sigma)
        out.append((dt, tau, sigma, relax, diffuse, np.exp(np.longdouble(-dt / tau))))
    return out


def test_w2_constants(ou_random_constants):
    # Defaults: relax is the correctly rounded exp(-0.1); diffuse is the plain reading
    # sigma*sqrt(1 - relax*relax) (R5), not 1 - relax^2 rounded once (1 ulp smaller here).
    for backend in BACKENDS:
        relax, diffuse = _ou_const(0.1, 1.0, 2.0, backend)
        assert relax == math.exp(-0.1)
        assert diffuse == M.ou_constants(diffuse="plain")[1]
        assert diffuse != M.ou_constants(diffuse="fma")[1]
    # Random parameters: diffuse is always the plain formula of simlanes' own relax, and
    # with relax equal to math.exp (below) the whole pair equals the plain NumPy reading.
    for dt, tau, sigma, relax, diffuse, exact in ou_random_constants:
        assert diffuse == sigma * math.sqrt(1.0 - relax * relax), (dt, tau, sigma)
        assert (relax, diffuse) == M.ou_constants(dt=dt, tau=tau, sigma=sigma, diffuse="plain")


def test_w2_relax_is_correctly_rounded_exp(ou_random_constants):
    # Earlier versions used libm's faithful exp: 30 of these 300 were one ulp off. The
    # 80-bit exp decides the f64 rounding here unless exp lies within ~2^-63 of a
    # half-way point (none of these); math.exp (glibc) agrees on all 300.
    bad = [(dt, tau) for dt, tau, _, relax, _, exact in ou_random_constants if relax != float(exact)]
    assert not bad, f"{len(bad)}/300, e.g. {bad[:3]}"
    assert all(relax == math.exp(-dt / tau) for dt, tau, _, relax, _, _ in ou_random_constants)


def _caller_normals():
    return np.random.default_rng(1).standard_normal((4, 300))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("x0", [0.0, 1.5])
def test_w2_mode_c_bit_equal_to_plain_reading(backend, x0):
    # The plain reading (R5): x' = x*relax + diffuse*z, three roundings, diffuse =
    # sigma*sqrt(1 - relax*relax), i.e. the NumPy loop of M.ou_path, bit for bit; the fused
    # readings of M.ou_step_variant differ on these normals (so the test discriminates).
    z = _caller_normals()
    want = M.ou_path(z, x0=x0)[:, -1]
    for step, diffuse in (("fma_x", "fma"), ("fma_x", "plain"), ("plain", "fma")):
        assert not np.array_equal(M.ou_step_variant(z, x0=x0, step=step, diffuse=diffuse), want)
    for zz in (z, np.asfortranarray(z)):
        got = simlanes.ou_with_normals(zz, x0=x0, backend=backend)
        assert np.array_equal(got.view(np.uint64), want.view(np.uint64))


def test_w2_mode_c_bit_equal_at_random_parameters(ou_random_constants):
    # The plain NumPy loop with math.exp's relax, at (dt, tau, sigma) away from the
    # defaults, including those where a faithful exp would be one ulp off.
    z = _caller_normals()[:, :60]
    for dt, tau, sigma, *_ in ou_random_constants[::10]:
        want = M.ou_path(z, dt=dt, tau=tau, sigma=sigma, x0=0.25)[:, -1]
        got = simlanes.ou_with_normals(z, dt=dt, tau=tau, sigma=sigma, x0=0.25)
        assert np.array_equal(got.view(np.uint64), want.view(np.uint64)), (dt, tau, sigma)


def _simlanes_f64_normals(seed, sims, steps):
    """simlanes' own W2 normals, bit for bit: with dt/tau = 800, relax = exp(-800)
    underflows to 0 (or a subnormal, whose product with any |x| < 1e300 rounds to 0) and
    diffuse = sigma*sqrt(1 - 0) = sigma = 1, so x[t+1] = 0*x[t] + 1*z[t] = z[t] exactly."""
    assert _ou_const(800.0, 1.0, 1.0) == (0.0, 1.0)
    return simlanes.ou_path(sims, steps, seed=seed, dt=800.0, tau=1.0, sigma=1.0)[:, 1:]


def test_w2_normals_within_box_muller_bound():
    # A priori error of one f64 Box-Muller evaluation, relative to the radius r:
    # r = sqrt(-2 ln(1 - u1)) with 1 - u1 exact, ln and sqrt faithful: <= 2u r;
    # angle fl(fl(2 pi) u2): absolute <= 2 * 2pi * u = 12.6u, times r; cos/sin faithful
    # (< 1 ulp <= 2u absolute) times r; the product r*cos: u|z| <= u r. Together < 18u r
    # for each implementation, so two implementations differ by < 36u r (the ulp of z
    # itself is no measure: near a zero of cos the error is absolute).
    seed, sims, steps = 11, 32, 1000
    zs = _simlanes_f64_normals(seed, sims, steps)
    zo, r = M.normals_f64(seed, np.arange(sims), steps)
    zx, rx = M.normals_f64(seed, np.arange(sims), steps, work=np.longdouble)  # ~exact
    assert (np.abs(zs - zo) <= 36 * U * r).all()
    err_exact = np.abs(zs.astype(np.longdouble) - zx) / (U * rx)
    assert float(err_exact.max()) < 18  # simlanes alone within its a-priori bound
    # (measured: simlanes <= 2.8 u r from the exact value, NumPy's libm <= 6.4 u r)


@pytest.mark.parametrize("backend", BACKENDS)
def test_w2_modes_a_b_use_their_normals_through_mode_c(backend):
    # Internal consistency: (a) and (b) are mode (c) fed the stream's normals, bit for bit.
    seed, sims, steps = 11, 16, 500
    zs = _simlanes_f64_normals(seed, sims, steps)
    fin = simlanes.ou_final(sims, steps, seed=seed, backend=backend)
    assert np.array_equal(fin.view(np.uint64), simlanes.ou_with_normals(zs).view(np.uint64))
    path = simlanes.ou_path(sims, steps, seed=seed, backend=backend)
    assert np.array_equal(path[:, -1].view(np.uint64), fin.view(np.uint64))


@pytest.mark.parametrize("backend", BACKENDS)
def test_w2_modes_a_b_within_recurrence_bound(backend):
    # Oracle x^ (plain reading, NumPy normals z^) vs simlanes x. With e = x - x^:
    #   e_{t+1} = relax e_t + (relax_s - relax) x_t + d (z_t - z^_t) + (d_s - d) z_t
    #             + rho_t - rho^_t
    # |relax_s - relax| <= 2u (two faithful exps of a value in [0.5, 1), ulp = u);
    # |d_s - d| <= 2 d u ((4 relax^2 + 1)/(2 (1 - relax^2)) + 2) (per implementation:
    #   relax's relative error 2u and the roundings of relax^2 and 1 - relax^2, amplified
    #   by 1/(1 - relax^2) and halved by sqrt, plus sqrt and the sigma product);
    # |z_t - z^_t| <= 36 u r_t (test above); each step rounds at most three times per
    # implementation: |rho| <= u (relax|x_t| + d|z_t| + |x_{t+1}|).
    # The error is contracted by relax every step: B_{t+1} = relax B_t + (those terms),
    # evaluated on the oracle's path (first order).
    seed, sims, steps, x0 = 21, 16, 400, 0.5
    z, r = M.normals_f64(seed, np.arange(sims), steps)
    x = M.ou_path(z, x0=x0)
    relax, d = M.ou_constants()
    dd = 2 * d * U * ((4 * relax**2 + 1) / (2 * (1 - relax**2)) + 2)
    bounds = np.zeros((sims, steps + 1))
    b = np.zeros(sims)
    for t in range(steps):
        ax, az, ax1 = np.abs(x[:, t]), np.abs(z[:, t]), np.abs(x[:, t + 1])
        b = relax * b + 2 * U * ax + 36 * U * d * r[:, t] + dd * az \
            + 2 * U * (relax * ax + d * az + ax1)
        bounds[:, t + 1] = b
    bounds *= 1 + 1e-6
    path = simlanes.ou_path(sims, steps, seed=seed, x0=x0, backend=backend)
    fin = simlanes.ou_final(sims, steps, seed=seed, x0=x0, backend=backend)
    assert np.array_equal(path[:, 0], np.full(sims, x0))
    assert (np.abs(path - x) <= bounds).all()
    assert (np.abs(fin - x[:, -1]) <= bounds[:, -1]).all()
    # (measured: max |error| / bound ~ 0.05, errors <= 3.6e-15; bound ~1.3e-13)


# ================================================================= connectivity
@pytest.mark.parametrize("nn", [3, 8, 33])
def test_default_connectivity_and_lags_bit_exact(nn):
    # simlanes' default W and lags are not exposed; giving the oracle's W (and lags)
    # explicitly must reproduce the default run bit for bit, and a 1-ulp change of W must
    # not (so the comparison can see a 1-ulp difference).
    W, L = M.default_weights(5, nn), M.default_lags(5, nn)
    np.testing.assert_allclose(W.sum(axis=1, dtype=np.float64), 1.0, rtol=1e-6)
    assert (np.diag(W) == 0).all()
    init = (np.random.default_rng(0).normal(size=(6, nn, 4)) * 5).astype(np.float32)
    kw = dict(seed=5, k=1.0, initial=init)
    a = simlanes.jansen_rit(nn, 50, 4, **kw)
    assert np.array_equal(a, simlanes.jansen_rit(nn, 50, 4, weights=W, **kw))
    assert not np.array_equal(a, simlanes.jansen_rit(nn, 50, 4, weights=np.nextafter(W, np.float32(1)), **kw))
    a = simlanes.jansen_rit(nn, 50, 4, delays=True, **kw)
    assert np.array_equal(a, simlanes.jansen_rit(nn, 50, 4, weights=W, lags=L, **kw))
    r = simlanes.mpr_sweep([0.5, 1.5], [-5.0, -4.0], nn=nn, nt=401, seed=5)
    rw = simlanes.mpr_sweep([0.5, 1.5], [-5.0, -4.0], nn=nn, nt=401, seed=5, weights=W)
    assert np.array_equal(r.final_state, rw.final_state)


# ======================================================================== W3
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n", [1, 5, 37])
def test_w3_validate_and_calibrate_equal_brute_force_oracle(n, backend):
    # Exact: integer counts and f32 thresholds. theta spans both signs (p from 0.12 to
    # 0.88); n*d is even for n = 5, so T = 0.5 happens and lam = 0.5 tests the strict <.
    rng = np.random.default_rng(n)
    theta = rng.uniform(-2.0, 2.0, size=(29, 4))
    sims, seed = 500, 2**33 + 9
    T = M.w3_statistics(seed, theta, n, sims)
    for lam in (0.5, 0.3, 0.7):
        got = simlanes.validate(theta, lam, n=n, sims=sims, seed=seed, backend=backend)
        assert np.array_equal(got.count, M.w3_validate(T, lam)), lam
    if n == 5:
        assert (T == np.float32(0.5)).any()
    for alpha in (0.025, 0.1, 0.5):
        got = simlanes.calibrate(theta, alpha, n=n, sims=sims, seed=seed, backend=backend)
        want = M.w3_calibrate(T, alpha)
        assert np.array_equal(got.lam.view(np.uint32), want.view(np.uint32)), alpha


# ======================================================================== W4
def _f32_normals_via_jansen_rit(seed, nn, batch):
    """simlanes' f32 normals 0..6*nn of each member: one Heun step with dt = 2^-40 and
    sigma = 2^20, so sigma*sqrt(dt) = 1 exactly and the state after one step from 0 is
    z + dt*O(1) = z (the drift adds < 1e-12, below half an ulp of z unless |z| < 1e-5)."""
    y = simlanes.jansen_rit(nn, 1, batch, seed=seed, dt=2.0**-40, sigma=2.0**20, k=0.0)
    return y.transpose(2, 1, 0).reshape(batch, 6 * nn)  # [b, i*6 + v]


def test_w4_f32_normals_one_word_per_uniform():
    # A priori, as for f64 (test_w2_normals_within_box_muller_bound): an f32 Box-Muller
    # is within 18 u32 r of the exact value; the oracle is correctly rounded (u32 |z|).
    seed, nn, batch = 3, 128, 8
    zs = _f32_normals_via_jansen_rit(seed, nn, batch).astype(np.float64)
    zo, r = M.normals_f32(seed, np.arange(batch), 6 * nn)
    assert (np.abs(zs - zo) <= 19 * U32 * r).all()
    # (measured: <= 2.2 u32 r from the exact value, <= 2 ulp of z; 64% bit-equal to the
    # correctly rounded value)


def test_w4_noise_scale_is_computed_in_f32():
    # R7: s = f32(sigma) * sqrtf(f32(dt)) in f32; at this (dt, sigma) the three candidate
    # readings give three different f32 values, and only the f32 one reproduces s*z.
    dt, sigma = 1.1989838039710037e-12, 906533.164894579
    f32 = np.float32
    cands = {
        "f32": f32(f32(sigma) * np.sqrt(f32(dt))),
        "f64_of_args": f32(sigma * math.sqrt(dt)),
        "f64_of_f32_args": f32(float(f32(sigma)) * math.sqrt(float(f32(dt)))),
    }
    assert len(set(map(float, cands.values()))) == 3
    nn, batch = 64, 4
    z = _f32_normals_via_jansen_rit(3, nn, batch)
    y = simlanes.jansen_rit(nn, 1, batch, seed=3, dt=dt, sigma=sigma, k=0.0)
    y = y.transpose(2, 1, 0).reshape(batch, 6 * nn)
    match = {name: int((f32(s * z) == y).sum()) for name, s in cands.items()}
    assert match["f32"] == y.size and match["f64_of_args"] < y.size and match["f64_of_f32_args"] < y.size


def _compare_f32(sim, exact, variants, C=4.0, floor_ulps=8):
    """Per state variable (axis 0): max |sim - exact| <= C * D + floor_ulps * u32 * scale,
    with D the largest distance of an f32 evaluation of the oracle (BLAS order, sequential
    order, fused) from the exact-arithmetic run and scale = max |exact| of the variable.

    simlanes is one more f32 evaluation of the same formulas (its own exp, summation
    order, possibly FMAs), so its distance from the exact run is of the order of D. C = 4:
    over 20 seeds at 150 steps the distance of one of our f32 evaluations reached 3.9x that
    of another (simlanes' reached 1.8x the largest of ours); over longer horizons the
    dynamics amplify rounding chaotically and the ratios spread (up to ~8 at 300 steps),
    which is why horizons are kept at <= 150 steps. The floor (8 ulps of the variable's
    scale) covers variables where D happens to be tiny. Returns E / D per variable."""
    ax = tuple(range(1, exact.ndim))
    D = np.max([np.abs(v.astype(np.float64) - exact).max(axis=ax) for v in variants], axis=0)
    E = np.abs(sim.astype(np.float64) - exact).max(axis=ax)
    scale = np.abs(exact).max(axis=ax)
    tol = C * D + floor_ulps * U32 * scale
    assert (E <= tol).all(), dict(E=E, D=D, tol=tol)
    return E / np.maximum(D, 1e-300), tol


def _jr_all(nn, nt, batch, **kw):
    z = M.normals_f32(kw["seed"], np.arange(batch), nt * nn * 6)[0]
    exact = M.jansen_rit(nn, nt, batch, dtype=np.float64, z=z, **kw)
    variants = [M.jansen_rit(nn, nt, batch, z=z, **kw),
                M.jansen_rit(nn, nt, batch, z=z, sequential=True, **kw),
                M.jansen_rit(nn, nt, batch, z=z, fused=True, **kw)]
    return exact, variants, z


K4 = np.array([0.0, 0.01, 0.02, 0.03], np.float32)  # k >~ 0.03 makes y1 grow without bound
MU4 = np.array([0.22, 0.1, 0.3, 0.22], np.float32)


@pytest.mark.parametrize("backend", BACKENDS)
def test_w4_trajectory(backend):
    nn, nt, batch, seed = 8, 150, 4, 2
    exact, variants, _ = _jr_all(nn, nt, batch, seed=seed, k=K4, mu=MU4)
    sim = simlanes.jansen_rit(nn, nt, batch, seed=seed, k=K4, mu=MU4, backend=backend)
    _, tol = _compare_f32(sim, exact, variants)
    # Alternative reading rejected: coupling frozen at the step's start (as W4d with all
    # lags 0) instead of recomputed from the predictor.
    frozen = M.jansen_rit(nn, nt, batch, seed=seed, k=K4, mu=MU4, dtype=np.float64,
                          lags=np.zeros((nn, nn), np.uint8))
    assert (np.abs(sim - frozen).max(axis=(1, 2)) > 10 * tol).any()


def test_w4_defaults_and_initial_state():
    nn, nt, batch, seed = 6, 120, 3, 9
    init = np.random.default_rng(3).uniform(-1, 1, (6, nn, batch)).astype(np.float32)
    init[1] += 10
    exact, variants, _ = _jr_all(nn, nt, batch, seed=seed, initial=init)
    _compare_f32(simlanes.jansen_rit(nn, nt, batch, seed=seed, initial=init), exact, variants)


def test_w4_sigmoid_overflow_gives_zero_not_nan():
    # y1 - y2 = -1000 at node 0: r*(v0 - v) = 563 overflows exp in f32 -> sigm = 0.
    nn, nt, batch, seed = 4, 5, 2, 1
    init = np.zeros((6, nn, batch), np.float32)
    init[1, 0] = -1000.0
    init[0, 1] = -20.0  # a_1*J*y0 = -2700: overflow in the y4/y5 sigmoids too
    exact, variants, _ = _jr_all(nn, nt, batch, seed=seed, initial=init)
    assert np.isfinite(exact).all()
    sim = simlanes.jansen_rit(nn, nt, batch, seed=seed, initial=init)
    assert np.isfinite(sim).all()
    _compare_f32(sim, exact, variants)


@pytest.mark.parametrize("backend", BACKENDS)
def test_w4d_default_lags_trajectory(backend):
    # 150 steps: the ~59% of default lags below 150 read the ring buffer, the rest the
    # initial state.
    nn, nt, batch, seed = 8, 150, 4, 2
    L = M.default_lags(seed, nn)
    exact, variants, _ = _jr_all(nn, nt, batch, seed=seed, k=K4, mu=MU4, lags=L)
    sim = simlanes.jansen_rit(nn, nt, batch, seed=seed, k=K4, mu=MU4, delays=True, backend=backend)
    _compare_f32(sim, exact, variants)


def test_w4d_short_lags_history_and_alternatives():
    nn, nt, batch, seed = 8, 100, 4, 4
    L = np.random.default_rng(1).integers(0, 40, (nn, nn)).astype(np.uint8)
    init = np.random.default_rng(2).uniform(-1, 1, (6, nn, batch)).astype(np.float32)
    init[1] += 5  # lfp of the initial state far from 0
    kw = dict(seed=seed, k=K4 * 3, mu=MU4, lags=L, initial=init)
    exact, variants, _ = _jr_all(nn, nt, batch, **kw)
    sim = simlanes.jansen_rit(nn, nt, batch, seed=seed, k=K4 * 3, mu=MU4, lags=L, initial=init)
    _, tol = _compare_f32(sim, exact, variants)
    for alt in ("zero_history", "lag_plus_one"):
        other = M.jansen_rit(nn, nt, batch, dtype=np.float64, delay_variant=alt, **kw)
        assert (np.abs(sim - other).max(axis=(1, 2)) > 10 * tol).any(), alt


# ======================================================================== W5
def test_w5_sweep_grid_bit_exact():
    g = simlanes.mpr_sweep(nn=2, nt=401, seed=0)
    k, eta = M.mpr_grid()
    assert g.k.dtype == np.float32 and g.eta.dtype == np.float32
    assert np.array_equal(g.k, k) and np.array_equal(g.eta, eta)
    assert g.std_r.shape == (1152,) and g.final_state.shape == (2, 2, 1152)


def test_w5_statistic_is_population_std_over_x401_to_nt():
    # Same seed -> same trajectory for the first steps, so x[401], x[402], x[403] are the
    # final states of runs of 401, 402, 403 steps; std_r of the nt run must be the f64
    # population std of r over all nodes and x[401..=nt].
    k, eta = np.array([0.0, 0.7, 1.5], np.float32), np.array([-5.0, -4.2, -3.1], np.float32)
    runs = [simlanes.mpr_sweep(k, eta, nn=12, nt=nt, seed=9) for nt in (401, 402, 403)]
    states = np.stack([r.final_state[0] for r in runs])
    for m, run in enumerate(runs, start=1):
        np.testing.assert_allclose(run.std_r, M.population_std(states[:m]), rtol=8 * U, atol=0)
    # not the window x[402..=402]
    assert np.abs(runs[1].std_r / M.population_std(states[1:2]) - 1).max() > 1e-4
    assert (states >= 0).all()


@pytest.mark.parametrize("backend", BACKENDS)
def test_w5_trajectory_and_statistic(backend):
    # Six members of the sweep grid (b = i*36 + j), 8 nodes, 420 steps: window x[401..=420].
    nn, nt, seed = 8, 420, 4
    gk, geta = M.mpr_grid()
    members = [0 * 36 + 0, 0 * 36 + 12, 5 * 36 + 3, 15 * 36 + 20, 31 * 36 + 35, 20 * 36 + 30]
    k, eta = gk[members], geta[members]
    batch = len(members)
    z = M.normals_f32(seed, np.arange(batch), nt * nn * 2)[0]
    s64, f64, kept64 = M.mpr(k, eta, nn, nt, seed=seed, dtype=np.float64, z=z, return_kept=True)
    var = [M.mpr(k, eta, nn, nt, seed=seed, z=z, return_kept=True, **o)
           for o in (dict(), dict(sequential=True), dict(fused=True))]
    res = simlanes.mpr_sweep(k, eta, nn=nn, nt=nt, seed=seed, backend=backend)
    assert np.array_equal(res.k, k) and np.array_equal(res.eta, eta)
    _, tol = _compare_f32(res.final_state, f64, [v[1] for v in var])
    # The statistic: the population std is 1-Lipschitz in the RMS norm
    # (|std(a) - std(b)| <= rms(a - b) <= max|a - b|), so its error is bounded by the
    # error of r over the window, bounded as the states are (C D_w + floor per member,
    # D_w over nodes and window states), plus the f64 accumulation (negligible).
    Dw = np.max([np.abs(v[2] - kept64).max(axis=(0, 1)) for v in var], axis=0)
    tol_std = 4.0 * Dw + 8 * U32 * np.abs(kept64).max(axis=(0, 1)) + 1e-12 * s64
    assert (np.abs(res.std_r - s64) <= tol_std).all(), (np.abs(res.std_r - s64), tol_std)
    # Alternative clamping readings rejected (R11): drift reads the raw r, or the stored r
    # is never clamped.
    for alt in ("store_only", "drift_only"):
        other = M.mpr(k, eta, nn, nt, seed=seed, dtype=np.float64, z=z, clamp=alt)[1]
        assert (np.abs(res.final_state - other).max(axis=(1, 2)) > 10 * tol).any(), alt
