"""Independent NumPy oracle for W1, W2, W4/W4d and W5, written from WORKLOADS.md alone
(the simlanes Rust sources were not read). Only the Philox4x32-10 block function and
the f32 uniform of ``_reference`` (itself written from the spec) are reused.

Readings of the spec that had to be chosen (where the text admits more than one):

R1  Words: word ``j`` of stream ``i`` is word ``j % 4`` of Philox block ``j // 4`` with
    counter ``[c lo, c hi, i lo, i hi]`` and key ``[seed lo, seed hi]`` (as written).
R2  W1: pair ``j`` of estimate ``i`` is (f32 uniform of word ``2j``, of word ``2j+1``).
    "x^2 + y^2 < 1" is read as the exact real comparison (``pi_hits(..., "exact")``);
    the f32 alternatives (one rounding as an FMA ``fma(x, x, y*y)``, or three roundings)
    are provided too, because the spec does not say in which arithmetic the test is done.
R3  f64 uniforms (W2): f64 uniform ``m`` is built from words ``(2m, 2m+1)`` as
    ``(lo, hi)``; normals ``2m``/``2m+1`` come from f64 uniforms ``2m``/``2m+1``, i.e.
    from words ``4m .. 4m+3``. ``z0`` (cos) is the even normal, ``z1`` (sin) the odd one.
    ``2 pi u2`` is ``fl(fl(2*pi) * u2)``; ``ln`` is the natural log of ``1 - u1`` (exact
    in f64 since ``u1`` is a multiple of 2^-53).
R4  f32 normals (W4/W5), "one word per uniform": f32 uniform ``j`` = ``(w_j >> 8) * 2^-24``
    of word ``j`` alone, and normals ``2m``/``2m+1`` come from f32 uniforms (words)
    ``2m``/``2m+1``. The spec does not say in which precision Box-Muller is evaluated;
    the oracle evaluates it from the f32 uniforms in f64 (or 80-bit) and rounds once to
    f32, i.e. it gives the correctly rounded ideal value. An f32 implementation is
    expected to differ by a few f32 ulps of ``r`` (not of ``z``: near a zero of cos/sin
    the error is absolute).
R5  W2 exact step: ``relax = exp(-dt/tau)`` (``dt/tau`` first, correctly rounded exp),
    ``diffuse = sigma * sqrt(1 - relax*relax)`` (``relax^2`` as ``relax*relax``), and the
    step ``x*relax + diffuse*z`` with three roundings (no FMA), all in f64. Other
    variants (FMA, ``diffuse`` via ``expm1``) are available via ``ou_step_variant``.
R6  W4/W5 parameters are f32: every constant is rounded to f32 first. The f32 oracle
    (``dtype=np.float32``) evaluates the formulas of the spec left to right in f32 (NumPy,
    no FMA, NumPy's f32 ``exp``); the f64 oracle evaluates the same formulas in f64 on
    the same f32-rounded constants, f32 normals and f32 noise scale (an "exact
    arithmetic" model of the f32 program). ``a^2`` is ``a*a``, ``pi^2`` is ``pi*pi``.
R7  The noise scale ``s = sigma*sqrt(dt)`` is computed "once in f32": ``f32(sigma) *
    sqrt(f32(dt))`` in f32; ``s*z`` is rounded once to f32 and the same value is added
    in both Heun stages. ``dt/2`` is ``f32(dt)/2`` (exact).
R8  W4 coupling: ``c[i] = k * (sum_j W[i,j] * (y1[j] - y2[j]))`` (``k`` times the sum),
    ``lfp`` rounded to the working precision before the sum. ``mu`` and ``c`` enter as
    ``A*a*(mu + a_2*J*sigm(a_1*J*y0) + c)``.
R9  W4d: ``lfp[j](t - L)`` is ``y1 - y2`` of the state ``x[t - L]`` (``x[0]`` = initial
    state, ``x[t]`` the state at the start of step ``t``); for ``t - L < 0`` it is the lfp
    of the initial state. The delayed coupling of step ``t`` is used by both stages.
R10 Default connectivity: ``u`` = f32 uniforms of words ``0 .. nn*nn`` of stream
    ``2^64 - 1``; diagonal zeroed; row sum accumulated sequentially (``j`` ascending) in
    f32; ``W[i,j] = u[i,j] / sum_i`` (a correctly rounded f32 division per element).
    Lags: ``word(nn*nn + i*nn + j) & 255``.
R11 W5: ``r+ = max(r, 0)`` is used everywhere ``r`` appears in the drift (including
    ``r^2`` and the coupling, also in the corrector's evaluation at the predictor); the
    stored ``r`` is clamped after each full Heun step (not after the predictor).
    ``Delta/(pi*tau)`` with f32 ``pi``. ``c_r`` is recomputed from the predictor state.
R12 W5 sweep grid: ``k_i = f32((2*i)/31)``, ``eta_j = f32(-6 + (3*j)/35)`` in f64,
    member ``b = i*36 + j``.
R13 W5 statistic: population standard deviation, two-pass (mean first) in f64 over the
    stored f32 ``r`` (after clamping) of every node and every state ``x[401..=nt]``.
R14 W3: ``p = 1/(1 + exp(-theta))`` in f64 (NumPy's exp), rounded to f32; ``U[s,k,a]`` =
    f32 uniform of word ``k*d + a`` of stream ``s``; ``T = f32(count)/f32(n*d)``, one f32
    division; validate counts ``T < f32(lam)`` (strict, so ``T == lam`` does not reject);
    calibrate's ``lambda*`` is the ``m``-th smallest ``T`` (1-based) after a full sort,
    ``m = max(floor((S+1)*alpha), 1)`` with ``(S+1)*alpha`` in f64.

What test_independent_oracle.py found simlanes to do where the readings differ: R2 ->
the exact comparison (earlier versions: ``fma(x, x, f32(y*y)) < 1`` in f32); R5 -> the
plain step and ``diffuse`` bit for bit (earlier versions fused both), and ``relax``
the correctly rounded exp (earlier versions: a faithful exp, one ulp off for about one
``dt/tau`` in ten); R4, R7, R9, R10, R11, R12, R13
as read here.
"""

import math

import numpy as np

from _reference import philox4x32_10, uniform_f32

U64 = np.uint64
MASK = U64(0xFFFFFFFF)
LAST_STREAM = 2**64 - 1


# ---------------------------------------------------------------- random streams
def words(seed, streams, count):
    """Words ``0..count`` of each stream in ``streams``: uint32 ``(len(streams), count)``."""
    streams = np.asarray(streams, dtype=U64).reshape(-1, 1)
    nb = (count + 3) // 4
    blocks = np.arange(nb, dtype=U64).reshape(1, -1)
    blocks, streams = np.broadcast_arrays(blocks, streams)
    ctr = [blocks & MASK, blocks >> U64(32), streams & MASK, streams >> U64(32)]
    out = philox4x32_10(ctr, (seed & 0xFFFFFFFF, seed >> 32))
    return np.stack(out, axis=-1).reshape(streams.shape[0], -1)[:, :count]


def uniform_f64(w):
    """f64 uniforms from consecutive word pairs ``(lo, hi)`` along the last axis."""
    w = w.astype(U64)
    lo, hi = w[..., 0::2], w[..., 1::2]
    return (np.bitwise_or(hi << U64(32), lo) >> U64(11)).astype(np.float64) * 2.0**-53


def box_muller(u, work=np.float64):
    """Normals from uniforms ``u`` (last axis, even length), Box-Muller in precision
    ``work`` (np.float64 or np.longdouble); returned in ``work``."""
    u = u.astype(work)
    u1, u2 = u[..., 0::2], u[..., 1::2]
    two_pi = work(2) * (np.arctan(work(1)) * work(4)) if work is np.longdouble else work(2 * math.pi)
    r = np.sqrt(work(-2) * np.log(work(1) - u1))
    th = two_pi * u2
    z = np.empty(u.shape, dtype=work)
    z[..., 0::2] = r * np.cos(th)
    z[..., 1::2] = r * np.sin(th)
    return z, np.repeat(r, 2, axis=-1)


def normals_f64(seed, streams, count, work=np.float64):
    """W2 normals ``0..count`` of each stream (R3). Returns ``(z, r)``: the normals and
    the Box-Muller radius each one came from (for error bounds)."""
    m = (count + 1) // 2
    u = uniform_f64(words(seed, streams, 4 * m))
    z, r = box_muller(u, work)
    return z[:, :count], r[:, :count]


def normals_f32(seed, streams, count, work=np.float64):
    """f32 normals ``0..count`` of each stream (R4), correctly rounded from ``work``.
    Returns ``(z_f32, r)`` with ``r`` the radius in ``work``."""
    m = (count + 1) // 2
    u = uniform_f32(words(seed, streams, 2 * m))
    z, r = box_muller(u, work)
    return z[:, :count].astype(np.float32), r[:, :count]


# ---------------------------------------------------------------- W1
def pi_hits(seed, n, streams, reading="exact"):
    """W1 hit counts of the given estimates (R2), int64."""
    u = uniform_f32(words(seed, streams, 2 * n))
    x, y = u[:, 0::2].astype(np.float64), u[:, 1::2].astype(np.float64)
    if reading == "exact":  # x*x, y*y are exact in f64 (48 bits), so is their sum (< 2)
        s = x * x + y * y
    elif reading == "fma":  # fma(x, x, f32(y*y)): f32(y*y) is on the 2^-48 grid too, sum exact
        s = (x * x + (y * y).astype(np.float32).astype(np.float64)).astype(np.float32)
    elif reading == "fma_yx":  # fma(y, y, f32(x*x))
        s = (y * y + (x * x).astype(np.float32).astype(np.float64)).astype(np.float32)
    elif reading == "f32":  # f32(f32(x*x) + f32(y*y))
        s = (x * x).astype(np.float32) + (y * y).astype(np.float32)
    else:
        raise ValueError(reading)
    return (s < 1).sum(axis=1)


# ---------------------------------------------------------------- W2
def ou_constants(dt=0.1, tau=1.0, sigma=2.0, diffuse="plain"):
    """``(relax, diffuse)`` of W2 in f64 (R5); ``diffuse`` names the formula: "plain"
    ``sqrt(1 - relax*relax)``, "fma" (``1 - relax^2`` rounded once), "expm1", "exp2"
    ``sqrt(1 - exp(-2dt/tau))``, "factored" ``sqrt((1 - relax)*(1 + relax))``."""
    relax = math.exp(-dt / tau)
    if diffuse == "plain":
        d = sigma * math.sqrt(1.0 - relax * relax)
    elif diffuse == "expm1":
        d = sigma * math.sqrt(-math.expm1(-2.0 * dt / tau))
    elif diffuse == "exp2":
        d = sigma * math.sqrt(1.0 - math.exp(-2.0 * dt / tau))
    elif diffuse == "fma":  # 1 - relax^2 rounded once
        d = sigma * math.sqrt(fma(-relax, relax, 1.0))
    elif diffuse == "factored":
        d = sigma * math.sqrt((1.0 - relax) * (1.0 + relax))
    else:
        raise ValueError(diffuse)
    return relax, d


def ou_path(z, dt=0.1, tau=1.0, sigma=2.0, x0=0.0):
    """W2 path (R5), f64 ``(num_sim, num_steps + 1)`` from normals ``z`` ``(num_sim, num_steps)``."""
    relax, d = ou_constants(dt, tau, sigma)
    z = np.asarray(z, dtype=np.float64)
    x = np.empty((z.shape[0], z.shape[1] + 1))
    x[:, 0] = x0
    for t in range(z.shape[1]):
        x[:, t + 1] = x[:, t] * relax + d * z[:, t]
    return x


def fma(a, b, c):
    """Correctly rounded ``a*b + c`` of Python floats (exact rational arithmetic)."""
    from fractions import Fraction

    return float(Fraction(a) * Fraction(b) + Fraction(c))


def ou_step_variant(z, dt=0.1, tau=1.0, sigma=2.0, x0=0.0, step="plain", diffuse="plain"):
    """Final states under an alternative arithmetic reading (slow; small sizes only).
    ``step``: "plain" (x*relax + d*z), "fma_x" (fma(x, relax, d*z)), "fma_z"
    (fma(d, z, x*relax)); ``diffuse`` as in :func:`ou_constants`, or a ``(relax, d)``
    pair to use as given."""
    relax, d = diffuse if isinstance(diffuse, tuple) else ou_constants(dt, tau, sigma, diffuse)
    out = []
    for row in np.asarray(z, dtype=np.float64):
        x = float(x0)
        for zt in row.tolist():
            if step == "plain":
                x = x * relax + d * zt
            elif step == "fma_x":
                x = fma(x, relax, d * zt)
            elif step == "fma_z":
                x = fma(d, zt, x * relax)
            else:
                raise ValueError(step)
        out.append(x)
    return np.array(out)


# ---------------------------------------------------------------- connectivity
def default_weights(seed, nn):
    """Default W (R10), f32 ``(nn, nn)``."""
    u = uniform_f32(words(seed, [LAST_STREAM], nn * nn)[0]).reshape(nn, nn)
    u[np.arange(nn), np.arange(nn)] = 0
    s = np.zeros(nn, dtype=np.float32)
    for j in range(nn):
        s = (s + u[:, j]).astype(np.float32)
    return (u / s[:, None]).astype(np.float32)


def default_lags(seed, nn):
    """Default lags (R10), uint8 ``(nn, nn)``."""
    w = words(seed, [LAST_STREAM], 2 * nn * nn)[0][nn * nn:]
    return (w & np.uint32(255)).astype(np.uint8).reshape(nn, nn)


def _coupling_sum(W, v, sequential):
    """``sum_j W[i,j] * v[j, b]`` in the dtype of ``v``; sequential j-ascending or BLAS."""
    if not sequential:
        return W @ v
    acc = np.zeros_like(v)
    for j in range(W.shape[1]):
        acc = acc + W[:, j:j + 1] * v[j:j + 1, :]
    return acc


# ---------------------------------------------------------------- W4 / W4d
JR = dict(A=3.25, B=22.0, a=0.1, b=0.05, v0=5.52, nu_max=0.0025, r=0.56, J=135.0,
          a_1=1.0, a_2=0.8, a_3=0.25, a_4=0.25)


def _f32const(x, dtype):
    return dtype(np.float32(x))


def noise_scale(sigma, dt):
    """R7: ``f32(sigma) * sqrt(f32(dt))`` in f32."""
    return np.float32(np.float32(sigma) * np.sqrt(np.float32(dt)))


def jr_drift(y, c, mu, P):
    y0, y1, y2, y3, y4, y5 = y
    one, two = P["one"], P["two"]

    def sigm(v):
        with np.errstate(over="ignore"):
            return two * P["nu_max"] / (one + np.exp(P["r"] * (P["v0"] - v)))

    A, B, a, b, J = P["A"], P["B"], P["a"], P["b"], P["J"]
    return np.stack([
        y3,
        y4,
        y5,
        A * a * sigm(y1 - y2) - two * a * y3 - a * a * y0,
        A * a * (mu + P["a_2"] * J * sigm(P["a_1"] * J * y0) + c) - two * a * y4 - a * a * y1,
        B * b * (P["a_4"] * J * sigm(P["a_3"] * J * y0)) - two * b * y5 - b * b * y2,
    ])


def jansen_rit(nn, nt, batch, seed=0, dt=1.0, sigma=1e-3, k=0.01, mu=0.22, weights=None,
               lags=None, initial=None, dtype=np.float32, sequential=False, fused=False,
               z=None, delay_variant="spec"):
    """W4 (``lags is None``) or W4d: final state ``(6, nn, batch)`` in ``dtype``.

    ``dtype=np.float64``: exact-arithmetic model of the f32 program (R6).
    ``dtype=np.float32``: an f32 evaluation; ``sequential`` sums the coupling j-ascending
    (else BLAS/NumPy order); ``fused`` evaluates every coupling, drift and Heun stage in
    f64 from the f32 values and rounds each stage once to f32 (a maximally contracted f32
    program). ``z``: optional f32 normals ``(batch, nt*nn*6)`` (default: the seed's
    streams). ``delay_variant`` (W4d): "spec" (R9), or the alternative readings
    "zero_history" (lfp before t = 0 is 0) and "lag_plus_one" (lag L reads x[t - L - 1]).
    """
    ev = np.float64 if fused else dtype  # evaluation precision

    def st(a):  # store: round to the state precision
        return np.asarray(a).astype(dtype).astype(ev)

    P = {name: _f32const(v, ev) for name, v in JR.items()}
    P["one"], P["two"] = ev(1), ev(2)
    W = (default_weights(seed, nn) if weights is None else np.asarray(weights, np.float32)).astype(ev)
    kk = np.broadcast_to(np.asarray(k, np.float32), (batch,)).astype(ev)
    mm = np.broadcast_to(np.asarray(mu, np.float32), (batch,)).astype(ev)
    if z is None:
        z = normals_f32(seed, np.arange(batch), nt * nn * 6)[0]
    # normal (t*nn + i)*6 + v of stream b -> zz[t, v, i, b]
    zz = z.reshape(batch, nt, nn, 6).transpose(1, 3, 2, 0)
    s = noise_scale(sigma, dt)
    dtp = _f32const(dt, ev)
    half = dtp / ev(2)
    x = np.zeros((6, nn, batch), ev) if initial is None else np.asarray(initial, np.float32).astype(ev)

    def coupling(y):
        return st(kk * _coupling_sum(W, st(y[1] - y[2]), sequential))

    if lags is not None:
        L = np.asarray(lags).astype(np.int64) + (1 if delay_variant == "lag_plus_one" else 0)
        hist = np.empty((nt + 1, nn, batch), ev)
        hist[0] = st(x[1] - x[2])
        cols = np.arange(nn)[None, :]
    for t in range(nt):
        nz = (s * zz[t]).astype(np.float32).astype(ev)
        if lags is None:
            c0 = coupling(x)
        else:
            g = hist[np.maximum(t - L, 0), cols]  # (nn_i, nn_j, batch): lfp[j](t - L[i,j])
            if delay_variant == "zero_history":
                g = np.where((t - L < 0)[:, :, None], ev(0), g)
            c0 = st(kk * (_delayed_sequential(W, g) if sequential else
                          (W[:, :, None] * g).sum(axis=1, dtype=ev)))
        f0 = st(jr_drift(x, c0, mm, P))
        xp = st(x + dtp * f0 + nz)
        f1 = st(jr_drift(xp, coupling(xp) if lags is None else c0, mm, P))
        x = st(x + half * (f0 + f1) + nz)
        if lags is not None:
            hist[t + 1] = st(x[1] - x[2])
    return x.astype(dtype)


def _delayed_sequential(W, g):
    acc = np.zeros(g[:, 0].shape, g.dtype)
    for j in range(W.shape[1]):
        acc = acc + W[:, j:j + 1] * g[:, j]
    return acc


# ---------------------------------------------------------------- W5
MPR = dict(tau=1.0, I=0.0, Delta=1.0, J=15.0, cr=1.0)


def mpr_grid():
    """W5 sweep grid (R12): f32 ``k``, ``eta`` of the 1152 members."""
    i, j = np.meshgrid(np.arange(32), np.arange(36), indexing="ij")
    k = (2.0 * i) / 31.0
    eta = -6.0 + (3.0 * j) / 35.0
    return k.reshape(-1).astype(np.float32), eta.reshape(-1).astype(np.float32)


def mpr_drift(r, V, c_r, eta, P):
    tau, pi = P["tau"], P["pi"]
    one, two = P["one"], P["two"]
    dr = (one / tau) * (P["Delta"] / (pi * tau) + two * r * V)
    dV = (one / tau) * (V * V + eta + P["J"] * tau * r + P["I"] + P["cr"] * c_r
                        - pi * pi * r * r * tau * tau)
    return dr, dV


def mpr(k, eta, nn, nt, seed=0, dt=0.01, sigma=0.2, weights=None, dtype=np.float32,
        sequential=False, fused=False, z=None, keep_from=401, clamp="spec", return_kept=False):
    """W5: returns ``(std_r (B,) f64, final (2, nn, B) dtype)``; the statistic over the
    stored states ``x[keep_from..=nt]`` (R11, R13). ``dtype``, ``sequential``, ``fused``
    as in :func:`jansen_rit`. With ``return_kept`` also the stored ``r`` of those states,
    ``(states, nn, B)`` f64. ``clamp``: "spec" (R11), or the alternative readings
    "store_only" (the drift reads the raw ``r``, only the stored ``r`` is clamped) and
    "drift_only" (the stored ``r`` is never clamped)."""
    ev = np.float64 if fused else dtype

    def st(a):
        return np.asarray(a).astype(dtype).astype(ev)

    k = np.asarray(k, np.float32).reshape(-1)
    eta = np.asarray(eta, np.float32).reshape(-1)
    batch = max(k.size, eta.size)
    k = np.broadcast_to(k, (batch,)).astype(ev)
    eta = np.broadcast_to(eta, (batch,)).astype(ev)
    P = {name: _f32const(v, ev) for name, v in MPR.items()}
    P["pi"] = _f32const(math.pi, ev)
    P["one"], P["two"] = ev(1), ev(2)
    W = (default_weights(seed, nn) if weights is None else np.asarray(weights, np.float32)).astype(ev)
    if z is None:
        z = normals_f32(seed, np.arange(batch), nt * nn * 2)[0]
    zz = z.reshape(batch, nt, nn, 2).transpose(1, 3, 2, 0)  # [t, v, i, b]
    s = noise_scale(sigma, dt)
    dtp = _f32const(dt, ev)
    half = dtp / ev(2)
    zero = ev(0)
    r = np.full((nn, batch), _f32const(0.1, ev), ev)
    V = np.full((nn, batch), _f32const(-2.0, ev), ev)
    kept = [r.astype(np.float64)] if keep_from == 0 else []

    def f(r, V):
        rr = r if clamp == "store_only" else np.maximum(r, zero)
        c_r = st(k * _coupling_sum(W, rr, sequential))
        dr, dV = mpr_drift(rr, V, c_r, eta, P)
        return st(dr), st(dV)

    for t in range(nt):
        nr = (s * zz[t, 0]).astype(np.float32).astype(ev)
        nV = (s * zz[t, 1]).astype(np.float32).astype(ev)
        fr0, fV0 = f(r, V)
        rp = st(r + dtp * fr0 + nr)
        Vp = st(V + dtp * fV0 + nV)
        fr1, fV1 = f(rp, Vp)
        r = st(r + half * (fr0 + fr1) + nr)
        V = st(V + half * (fV0 + fV1) + nV)
        if clamp != "drift_only":
            r = np.maximum(r, zero)
        if t + 1 >= keep_from:
            kept.append(r.astype(np.float64))
    kept = np.stack(kept)
    final = np.stack([r, V]).astype(dtype)
    if return_kept:
        return population_std(kept), final, kept
    return population_std(kept), final


def population_std(x):
    """R13: per member (last axis), over all other axes, two-pass in f64."""
    x = np.asarray(x, np.float64).reshape(-1, x.shape[-1])
    m = x.sum(axis=0) / x.shape[0]
    return np.sqrt(((x - m) ** 2).sum(axis=0) / x.shape[0])


# ---------------------------------------------------------------- W3
def w3_statistics(seed, theta, n, sims):
    """R14: ``T[g, s]`` (float32, ``(G, sims)``) by brute force over every comparison."""
    theta = np.asarray(theta, np.float64)
    d = theta.shape[1]
    p = (1.0 / (1.0 + np.exp(-theta))).astype(np.float32)
    u = uniform_f32(words(seed, np.arange(sims), n * d)).reshape(sims, n, d)
    count = (u[None, :, :, :] < p[:, None, None, :]).sum(axis=(2, 3))
    return count.astype(np.float32) / np.float32(n * d)


def w3_validate(T, lam):
    """R14: rejections per point, ``#{s : T[g, s] < f32(lam)}``."""
    return (T < np.float32(lam)).sum(axis=1)


def w3_calibrate(T, alpha):
    """R14: ``lambda*[g]``, the ``m``-th smallest statistic of each point (full sort)."""
    m = max(math.floor((T.shape[1] + 1) * alpha), 1)
    return np.sort(T, axis=1)[:, m - 1]
