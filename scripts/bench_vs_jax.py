#!/usr/bin/env python3
"""simlanes against the JAX code it replaces: W1-W5, same machine, same JAX key, one run.

For every workload of WORKLOADS.md this script runs two programs on the same inputs:

* an idiomatic, jit-compiled JAX implementation, written as a JAX user would (``vmap``
  over the members of a batch, ``lax.scan`` over time, ``lax.map`` over chunks where the
  full broadcast would not fit in memory), drawing exactly the random numbers of the
  README's "Coming from JAX" table from ``key = jax.random.key(0)``;
* the simlanes call for the same workload with ``key=`` that key, so that it draws the
  same random numbers;

and prints, per workload, the seconds each took, the throughput in the workload's
metric, the speedup (JAX seconds / simlanes seconds) and whether the two answers agree:

* W1 (pi): hit counts per estimate, exactly (see :func:`check_w1` for the rare f32
  rounding of the JAX test and how it is accounted for);
* W2 (OU final state, f64): within an error bound derived from the recurrence;
* W3 (validate, B2 and B4): rejection counts per grid point, exactly;
* W4 (Jansen-Rit, B = 8 and B = 1024) and W5 (MPR sweep): within a multiple of JAX's own
  float32 rounding spread (the same JAX program run in float64 on the same float32
  normals and constants), see :func:`rounding_check`.

Two extra simlanes rows reuse the JAX timing of the row above them: W2 parallel in time
(``chunks=64``) and, where the grid is larger than validate's default task shape, W3 with
the whole grid in one task (``grid_tile=G``), the same counts.

Timing: JAX functions are compiled ahead of time (``jit(...).lower(...).compile()``,
compilation excluded and reported apart), called once untimed (warm-up), then run
``--reps`` times with ``block_until_ready``; simlanes calls likewise (one warm-up call,
then ``--reps``; a small call at the start starts its thread pool). The best run counts;
a run longer than 20 s is not repeated. Every number drawn from the key is part of the
timed program on both sides. The "cores" column is CPU time over wall time of the best
run: how many of the machine's cores each side kept busy.

Run (from the repository root, in a venv with the simlanes wheel, numpy and jax)::

    python scripts/bench_vs_jax.py                   # seed sizes of WORKLOADS.md (~5 min on 2 cores)
    python scripts/bench_vs_jax.py --size quick      # every workload scaled down (~1 min)
    python scripts/bench_vs_jax.py --only w1,w3 --reps 5 --json /tmp/bench.json
    python scripts/bench_vs_jax.py --backend gpu     # simlanes on the GPU (W3 stays on the CPU)

The exit status is 1 when any agreement check fails.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

import jax

# W2 is a float64 workload, and W2/W5 accumulate in float64: JAX needs x64 for that. With
# x64 on, every draw below passes dtype=jnp.float32 explicitly (the README's draws are f32).
jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
from jax import lax  # noqa: E402

import simlanes  # noqa: E402

F32 = jnp.float32
F64 = jnp.float64
LONG_RUN_S = 20.0  # a run longer than this is not repeated

# ------------------------------------------------------------------------------ sizes
# seed: the seed sizes of WORKLOADS.md. quick: each scaled down (~1 min for the script).
SIZES: Dict[str, Dict[str, Any]] = {
    "seed": {
        "w1": dict(N=50_000, I=10_000),
        "w2": dict(num_sim=8, num_steps=5_000_000),
        "w3": [dict(name="B2", G=2048, S=131072, n=5), dict(name="B4", G=1024, S=8192, n=350)],
        "w4": [dict(nn=32, nt=1024, B=8), dict(nn=32, nt=1024, B=1024)],
        "w5": dict(nn=164, nt=1000, nk=32, neta=36),
    },
    "quick": {
        "w1": dict(N=50_000, I=500),
        "w2": dict(num_sim=8, num_steps=500_000),
        "w3": [dict(name="B2", G=256, S=16384, n=5), dict(name="B4", G=128, S=2048, n=350)],
        "w4": [dict(nn=32, nt=1024, B=8), dict(nn=32, nt=256, B=128)],
        "w5": dict(nn=32, nt=500, nk=32, neta=36),
    },
}


# ------------------------------------------------------------------------------ timing
def best_of(fn: Callable[[], Any], reps: int) -> Tuple[float, Any, int, float]:
    """``(best seconds, last result, runs, cores)`` of ``fn()`` over up to ``reps`` runs
    after one untimed warm-up call; a run longer than LONG_RUN_S ends the series.
    ``cores``: this process's CPU time over the wall time of the best run."""
    fn()  # warm-up
    best = (math.inf, 0.0)
    out = None
    runs = 0
    for _ in range(max(reps, 1)):
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn()
        t, c = time.perf_counter() - t0, time.process_time() - c0
        runs += 1
        best = min(best, (t, c))
        if t > LONG_RUN_S:
            break
    return best[0], out, runs, best[1] / best[0]


class Timed:
    """One side's timing: best seconds, result, runs, cores kept busy, compile seconds."""

    def __init__(self, seconds: float, out: Any, runs: int, cores: float, compile_s: float = 0.0):
        self.seconds, self.out, self.runs, self.cores, self.compile_s = seconds, out, runs, cores, compile_s


def time_jax(fn: Callable, args: Tuple, reps: int) -> Tuple[Timed, Callable]:
    """Compile ``jit(fn)`` for ``args`` ahead of time, then time it (best of ``reps``).
    Returns the timing (result as NumPy) and the compiled function (for reruns)."""
    t0 = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    t_compile = time.perf_counter() - t0
    t, out, runs, cores = best_of(lambda: jax.block_until_ready(compiled(*args)), reps)
    return Timed(t, jax.tree_util.tree_map(np.asarray, out), runs, cores, t_compile), compiled


def time_simlanes(fn: Callable[[], Any], reps: int) -> Timed:
    return Timed(*best_of(fn, reps))


# ------------------------------------------------------------------------------ W1
def jax_w1(N: int, I: int, batch: int = 10) -> Callable:
    """W1 in JAX: estimate i draws xy = uniform(split(key, I)[i], (N, 2)) and counts
    x*x + y*y < 1 in float32; lax.map over batches of estimates (the full (I, N, 2)
    array would be 4 GB at the seed size). Batches of 5 to 10 estimates (4 MB of
    uniforms) ran fastest on the 2-core dev VM, 2.6x faster than 50 and the full vmap."""

    def hits_one(k):
        xy = jax.random.uniform(k, (N, 2), dtype=F32)
        x, y = xy[:, 0], xy[:, 1]
        return jnp.sum(x * x + y * y < 1, dtype=jnp.int64)

    def run(key):
        return lax.map(hits_one, jax.random.split(key, I), batch_size=batch)

    return run


def simlanes_w1(N: int, I: int, key, opts: Dict) -> np.ndarray:
    return simlanes.pi(N, I, key=key, **opts).hits


def exact_hits_jax(key, N: int, I: int, i: int) -> int:
    """Hits of estimate ``i`` with the comparison done exactly: JAX's float32 uniforms
    are multiples of 2**-24, so x*x + y*y is exact in float64 (48 + 1 bits)."""
    xy = np.asarray(jax.random.uniform(jax.random.split(key, I)[i], (N, 2), dtype=F32)).astype(np.float64)
    return int(np.sum(xy[:, 0] * xy[:, 0] + xy[:, 1] * xy[:, 1] < 1.0))


def check_w1(h_jax: np.ndarray, h_sl: np.ndarray, key, N: int, I: int) -> Tuple[bool, str]:
    """Hit counts, exactly. simlanes decides x*x + y*y < 1 as real numbers; the JAX code
    evaluates it in float32, which rounds (one pair in about 1e8 lands on the other side
    of 1, e.g. x*x + y*y = 1 - 2**-25 rounding up to 1). So a few estimates may differ by
    a pair or two at the seed size (5e8 pairs). Every estimate that differs is recounted
    exactly from JAX's own uniforms: the check passes when those recounts equal simlanes
    (the difference is then the float32 rounding alone) and no more than 0.1 % of the
    estimates differ."""
    h_jax = h_jax.astype(np.int64)
    h_sl = h_sl.astype(np.int64)
    diff = np.flatnonzero(h_jax != h_sl)
    if len(diff) > max(10, I // 1000):
        return False, f"{len(diff)}/{I} estimates differ (more than f32 rounding explains)"
    unexplained = [int(i) for i in diff if exact_hits_jax(key, N, I, int(i)) != h_sl[i]]
    ok = not unexplained
    maxd = int(np.abs(h_jax - h_sl).max()) if len(diff) else 0
    msg = f"hits: {len(diff)}/{I} estimates differ (max {maxd} pair)"
    if len(diff):
        msg += ", all = exact recount" if ok else f", exact recount differs at {unexplained[:5]}"
    return ok, msg


# ------------------------------------------------------------------------------ W2
OU = dict(dt=0.1, tau=1.0, sigma=2.0, x0=0.0)


def ou_constants() -> Tuple[float, float]:
    """relax = exp(-dt/tau) (glibc's exp is correctly rounded, as simlanes'), diffuse =
    sigma*sqrt(1 - relax*relax): the same float64 constants simlanes computes."""
    relax = math.exp(-(OU["dt"] / OU["tau"]))
    return relax, OU["sigma"] * math.sqrt(1.0 - relax * relax)


def jax_w2(num_sim: int, num_steps: int) -> Callable:
    """W2 (b) in JAX: simulation i draws z = normal(split(key, S)[i], (num_steps,)) in
    float32, widened to float64; lax.scan over time of x' = x*relax + diffuse*z."""
    relax, diffuse = ou_constants()

    def one(k):
        z = jax.random.normal(k, (num_steps,), dtype=F32).astype(F64)
        x, _ = lax.scan(lambda x, zt: (x * relax + diffuse * zt, None), jnp.asarray(OU["x0"], F64), z)
        return x

    def run(key):
        return jax.vmap(one)(jax.random.split(key, num_sim))

    return run


def simlanes_w2(num_sim: int, num_steps: int, key, opts: Dict, chunks: Optional[int] = None) -> np.ndarray:
    return simlanes.ou_final(num_sim, num_steps, key=key, chunks=chunks, **opts)


def w2_tolerance(num_steps: int, chunks: Optional[int]) -> float:
    """Bound on |x_simlanes - x_JAX| (absolute; sigma = 2 is the scale).

    Both sides run x' = x*r + d*z on the same float64 r, d and the same normals; each
    step rounds at most three times (JAX/XLA may fuse it into an FMA: fewer roundings),
    so a step errs by at most u*(r|x| + |d z| + |x'|) <= u*(D + 2M), u = 2**-53, and
    earlier errors decay by r per step: each side is within u*(D + 2M)/(1 - r) of the
    exact recurrence, the two within twice that. |z| < 6 for every float32 normal JAX
    draws (sqrt(2)*erfinv(u) with |u| <= 1 - 2**-24: |z| <= 5.42), so D = d*6 and
    M <= D/(1 - r). With ``chunks`` (simlanes parallel in time) the bound documented at
    Simulator::ou_final_parallel_in_time is added: u*[(2D + 6M)/(1 - r) +
    C*M*(2 + 2*ceil(log2(len + 1)))]."""
    u = 2.0**-53
    r, d = ou_constants()
    D = d * 6.0
    M = D / (1.0 - r)
    tol = 2.0 * u * (D + 2.0 * M) / (1.0 - r)
    if chunks:
        length = -(-num_steps // chunks)
        length += -length % 4
        tol += u * ((2 * D + 6 * M) / (1.0 - r) + chunks * M * (2 + 2 * math.ceil(math.log2(length + 1))))
    return tol


def check_w2(x_jax: np.ndarray, x_sl: np.ndarray, tol: float) -> Tuple[bool, str]:
    d = float(np.max(np.abs(x_jax - x_sl)))
    return d <= tol, f"max|dx| {d:.1e} <= {tol:.1e} (bound; sd 2)" if d <= tol else f"max|dx| {d:.1e} > {tol:.1e}"


# ------------------------------------------------------------------------------ W3
LAM = 0.5
# At B4 (n*d = 1400, every p >= 0.5) T < 0.5 is rare: no rejection at all at the quick
# size, about 1000 in 8.4e6 point-simulations at the seed size, so equal counts there
# would prove little. Both sides also run (untimed) at this threshold, near the middle of
# the p range, where most points' counts are informative.
LAM_CHECK = 0.6
D_ARMS = 4
SIMLANES_GRID_TILE = 1024  # validate's default grid_tile (its docstring)


def w3_grid(G: int) -> np.ndarray:
    """theta ~ U[0,1)^(G x 4) in float64 (WORKLOADS.md's seed grid), the same on both sides."""
    return np.random.default_rng(0).uniform(0.0, 1.0, size=(G, D_ARMS))


def count_limit(lam: float, nd: int) -> int:
    """The number of counts c in 0..nd with T = f32(c)/f32(nd) < f32(lam), the division
    done by NumPy (IEEE, correctly rounded, as WORKLOADS.md specifies). T grows with c, so
    ``T < lam`` exactly when ``count < count_limit(lam, nd)``.

    Why the JAX code compares integer counts instead of writing ``count / (n*d) < lam``:
    XLA rewrites a division by a broadcast scalar into a multiplication by its reciprocal
    (``c * f32(1/1400)``), which is not the correctly rounded quotient. Where
    ``lam * n * d`` is a whole count, it flips that count's decision: at n*d = 1400 and
    lam = 0.6, ``840 * f32(1/1400) = 0.59999996 < f32(0.6)`` while ``f32(840/1400) =
    f32(0.6)``, so that JAX code counts the simulations with exactly 840 hits as rejecting
    (78 of 128 points differ at the quick B4 size); simlanes and a NumPy evaluation agree
    with each other. WORKLOADS.md allows integer counts when the decisions are identical,
    which this table guarantees for every possible count."""
    c = np.arange(nd + 1, dtype=np.float32)
    return int(np.sum(c / np.float32(nd) < np.float32(lam)))


def jax_w3(S: int, n: int, batch: Optional[int] = None) -> Callable:
    """W3 validate in JAX: u = uniform(key, (S, n, d)) in float32; per grid point
    p = f32(expit(theta)) (expit in float64), count = #{u[s] < p} (float32 comparisons),
    rejections = #{s: T < lam} with T = f32(count)/f32(n*d), decided as count < limit
    (see :func:`count_limit`); lax.map over batches of grid points (the full (G, S, n, d)
    broadcast would be tens of GB). Default batch: about 4e7 comparisons per step of
    the map (4 points at B4, 16 at B2: the fastest of 1..32 on the 2-core dev VM)."""
    if batch is None:
        batch = max(1, 40_000_000 // (S * n * D_ARMS))

    def run(key, theta, limit):
        u = jax.random.uniform(key, (S, n, D_ARMS), dtype=F32)
        p = jax.nn.sigmoid(theta).astype(F32)

        def rejections_at(pg):
            count = jnp.sum(u < pg, axis=(1, 2))
            return jnp.sum(count < limit)

        return lax.map(rejections_at, p, batch_size=batch)

    return run


def simlanes_w3(theta: np.ndarray, lam: float, S: int, n: int, key, opts: Dict, grid_tile: Optional[int] = None):
    return simlanes.validate(theta, lam, n=n, sims=S, key=key, grid_tile=grid_tile, **opts).count


def check_w3(r_jax: np.ndarray, r_sl: np.ndarray, lam: float) -> Tuple[bool, str]:
    """Rejection counts per grid point, exactly: the same uniforms, the same float32 p
    (expit in float64, then rounded; a float64 expit 1 ulp off could round p the other way
    only for theta within ~1e-16 of a float32 rounding boundary, about one point in 1e9)
    and the same float32 comparisons."""
    r_jax = r_jax.astype(np.int64)
    r_sl = r_sl.astype(np.int64)
    bad = int(np.sum(r_jax != r_sl))
    return bad == 0, f"lam {lam}: {bad}/{len(r_sl)} points differ (total {int(r_sl.sum())})"


# ------------------------------------------------------------------------------ W4 / W5
def fixed_weights(nn: int) -> np.ndarray:
    """A fixed row-normalised connectivity given to both sides (simlanes' default W is
    derived from its Philox seed and not exposed by the Python API): U[0,1) float32,
    zero diagonal, each row divided by its float32 sum."""
    w = np.random.default_rng(2024).random((nn, nn), dtype=np.float32)
    np.fill_diagonal(w, 0.0)
    return (w / w.sum(axis=1, dtype=np.float32, keepdims=True)).astype(np.float32)


def heun(f: Callable, x, nz, dt, half):
    """One stochastic Heun step with additive noise nz shared by both stages."""
    f0 = f(x)
    xp = x + dt * f0 + nz
    return x + half * (f0 + f(xp)) + nz


def noise_scale(sigma: float, dt: float) -> np.float32:
    """sigma*sqrt(dt), computed once in float32 (WORKLOADS.md)."""
    return np.float32(np.float32(sigma) * np.sqrt(np.float32(dt)))


JR = dict(A=3.25, B=22.0, a=0.1, b=0.05, v0=5.52, nu_max=0.0025, r=0.56, J=135.0, a_1=1.0, a_2=0.8, a_3=0.25, a_4=0.25)


def jr_drift(y, c, mu, P):
    """Jansen-Rit drift of one member, state y (6, nn), coupling input c (nn,)."""
    two = P["two"]

    def sigm(v):
        return two * P["nu_max"] / (P["one"] + jnp.exp(P["r"] * (P["v0"] - v)))

    A, B, a, b, J = P["A"], P["B"], P["a"], P["b"], P["J"]
    y0, y1, y2, y3, y4, y5 = y[0], y[1], y[2], y[3], y[4], y[5]
    return jnp.stack([
        y3,
        y4,
        y5,
        A * a * sigm(y1 - y2) - two * a * y3 - a * a * y0,
        A * a * (mu + P["a_2"] * J * sigm(P["a_1"] * J * y0) + c) - two * a * y4 - a * a * y1,
        B * b * (P["a_4"] * J * sigm(P["a_3"] * J * y0)) - two * b * y5 - b * b * y2,
    ])


def jax_w4(nn: int, nt: int, dt: float, sigma: float, dtype=F32) -> Callable:
    """W4 in JAX: member b draws z = normal(split(key, B)[b], (nt, nn, 6)) in float32 (the
    noise of variable v of node i at step t is z[t, i, v]); lax.scan of stochastic Heun
    over time, vmap over members (per-member k, mu). Constants are float32; ``dtype=F64``
    runs the same program in float64 on the same float32 constants and normals (the
    rounding reference of :func:`rounding_check`). Returns (6, nn, B) like simlanes."""
    P = {name: np.dtype(dtype).type(np.float32(v)) for name, v in JR.items()}
    P["one"], P["two"] = np.dtype(dtype).type(1), np.dtype(dtype).type(2)
    s = noise_scale(sigma, dt)
    dtc = np.dtype(dtype).type(np.float32(dt))
    half = dtc / 2

    def member(kb, k, mu, W):
        z = jax.random.normal(kb, (nt, nn, 6), dtype=F32)

        def f(y):
            return jr_drift(y, k * (W @ (y[1] - y[2])), mu, P)

        def step(y, zt):
            nz = (s * zt.T).astype(dtype)  # s*z rounded once in f32, added in both stages
            return heun(f, y, nz, dtc, half), None

        y, _ = lax.scan(step, jnp.zeros((6, nn), dtype), z)
        return y

    def run(key, k, mu, W):
        keys = jax.random.split(key, k.shape[0])
        y = jax.vmap(member, in_axes=(0, 0, 0, None))(keys, k.astype(dtype), mu.astype(dtype), W.astype(dtype))
        return jnp.transpose(y, (1, 2, 0))

    return run


def simlanes_w4(nn: int, nt: int, k: np.ndarray, mu: np.ndarray, W: np.ndarray, key, opts: Dict, dt, sigma):
    return simlanes.jansen_rit(nn, nt, len(k), key=key, k=k, mu=mu, weights=W, dt=dt, sigma=sigma, **opts)


MPR = dict(tau=1.0, I=0.0, Delta=1.0, J=15.0, cr=1.0)
MPR_KEEP_FROM = 401  # the W5 statistic runs over the states x[401..=nt]


def jax_w5(nn: int, nt: int, dt: float, sigma: float, dtype=F32) -> Callable:
    """W5 in JAX: member b draws z = normal(split(key, B)[b], (nt, nn, 2)) in float32
    (z[t, i, 0] drives r, z[t, i, 1] drives V); lax.scan of stochastic Heun with r read as
    max(r, 0) by drift and coupling and the stored r clamped after each step; the float64
    sums of r and r**2 over x[401..=nt] give the population standard deviation per member.
    Returns (std_r (B,), final state (2, nn, B)) like simlanes."""
    c = {name: np.dtype(dtype).type(np.float32(v)) for name, v in MPR.items()}
    pi = np.dtype(dtype).type(np.float32(math.pi))
    one, two, zero = (np.dtype(dtype).type(v) for v in (1, 2, 0))
    s = noise_scale(sigma, dt)
    dtc = np.dtype(dtype).type(np.float32(dt))
    half = dtc / 2
    tau = c["tau"]

    def member(kb, k, eta, W):
        z = jax.random.normal(kb, (nt, nn, 2), dtype=F32)

        def f(x):
            r = jnp.maximum(x[0], zero)
            V = x[1]
            c_r = k * (W @ r)
            dr = (one / tau) * (c["Delta"] / (pi * tau) + two * r * V)
            dV = (one / tau) * (V * V + eta + c["J"] * tau * r + c["I"] + c["cr"] * c_r - pi * pi * r * r * tau * tau)
            return jnp.stack([dr, dV])

        def step(carry, inp):
            x, s1, s2 = carry
            zt, t = inp
            nz = (s * zt.T).astype(dtype)
            x = heun(f, x, nz, dtc, half)
            x = x.at[0].set(jnp.maximum(x[0], zero))
            r64 = x[0].astype(F64)
            keep = t + 1 >= MPR_KEEP_FROM
            s1 = s1 + jnp.where(keep, jnp.sum(r64), 0.0)
            s2 = s2 + jnp.where(keep, jnp.sum(r64 * r64), 0.0)
            return (x, s1, s2), None

        x0 = jnp.stack([jnp.full((nn,), np.float32(0.1), dtype), jnp.full((nn,), np.float32(-2.0), dtype)])
        init = (x0, jnp.zeros((), F64), jnp.zeros((), F64))
        (x, s1, s2), _ = lax.scan(step, init, (z, jnp.arange(nt)))
        m = (nt + 1 - MPR_KEEP_FROM) * nn
        mean = s1 / m
        return jnp.sqrt(jnp.maximum(s2 / m - mean * mean, 0.0)), x

    def run(key, k, eta, W):
        keys = jax.random.split(key, k.shape[0])
        std, x = jax.vmap(member, in_axes=(0, 0, 0, None))(keys, k.astype(dtype), eta.astype(dtype), W.astype(dtype))
        return std, jnp.transpose(x, (1, 2, 0))

    return run


def w5_grid(nk: int, neta: int) -> Tuple[np.ndarray, np.ndarray]:
    """k = 2i/31 (outer), eta = -6 + 3j/35 (inner), in float64 then float32; member i*36 + j.
    ``nk``/``neta`` below 32/36 take the first values of the same grid."""
    i, j = np.meshgrid(np.arange(nk), np.arange(neta), indexing="ij")
    k = ((2.0 * i) / 31.0).reshape(-1).astype(np.float32)
    eta = (-6.0 + (3.0 * j) / 35.0).reshape(-1).astype(np.float32)
    return k, eta


def simlanes_w5(nn: int, nt: int, k: np.ndarray, eta: np.ndarray, W: np.ndarray, key, opts: Dict, dt, sigma):
    res = simlanes.mpr_sweep(k, eta, nn=nn, nt=nt, key=key, weights=W, dt=dt, sigma=sigma, **opts)
    return res.std_r, res.final_state


def rounding_check(
    jax32: np.ndarray, jax64: np.ndarray, sl: np.ndarray, scale: np.ndarray, factor: float = 4.0
) -> Tuple[bool, str, Dict[str, float]]:
    """Agreement of two float32 programs of the same SDE (JAX and simlanes) that draw the
    same normals but round differently (XLA may contract a*b + c into an FMA and has its own
    exp; the coupling sums in another order).

    The tolerance is derived from the problem itself, not chosen: the same JAX program run
    in float64 (same float32 constants and normals) is the exact-arithmetic reference, and
    ``spread = max |jax32 - jax64| / scale`` measures how far float32 rounding alone moves
    this trajectory (it grows with the system's sensitivity over nt steps). simlanes is an
    independent float32 evaluation with errors of the same size, so
    |sl - jax32| <= |sl - exact| + |jax32 - exact| ~ 2 * spread; the check allows
    ``factor`` (4) times the spread, plus 16 float32 ulps of the scale for trajectories that
    rounding does not move at all. A wrong formula, parameter or noise index gives
    differences orders of magnitude larger. ``scale`` broadcasts against the arrays
    (e.g. the largest |value| of each state variable)."""
    eps32 = float(np.finfo(np.float32).eps)
    spread = float(np.max(np.abs(jax32 - jax64) / scale))
    diff = float(np.max(np.abs(sl - jax32) / scale))
    sl_err = float(np.max(np.abs(sl - jax64) / scale))
    tol = factor * spread + 16 * eps32
    msg = f"max rel {diff:.1e} {'<=' if diff <= tol else '>'} {tol:.1e} ({factor:g} x f32 spread {spread:.1e})"
    return diff <= tol, msg, dict(max_rel_diff=diff, tol=tol, jax_f32_spread=spread, simlanes_vs_f64=sl_err)


# ------------------------------------------------------------------------------ rows
def make_row(workload: str, size: str, units: float, unit: str, tj: Timed, ts: Timed, ok, check, **extra) -> Dict:
    row = dict(
        workload=workload,
        size=size,
        jax_s=tj.seconds,
        simlanes_s=ts.seconds,
        unit=unit,
        work=units,
        jax_rate=units / tj.seconds,
        simlanes_rate=units / ts.seconds,
        speedup=tj.seconds / ts.seconds,
        ok=bool(ok),
        check=check,
        jax_runs=tj.runs,
        simlanes_runs=ts.runs,
        jax_cores=tj.cores,
        simlanes_cores=ts.cores,
        jax_compile_s=tj.compile_s,
    )
    row.update(extra)
    return row


def run_w1(sz: Dict, key, opts: Dict, reps: int) -> List[Dict]:
    N, I = sz["N"], sz["I"]
    tj, _ = time_jax(jax_w1(N, I), (key,), reps)
    ts = time_simlanes(lambda: simlanes_w1(N, I, key, opts), reps)
    ok, msg = check_w1(tj.out, ts.out, key, N, I)
    return [make_row("W1 pi", f"N={N} I={I}", N * I, "pairs/s", tj, ts, ok, msg)]


def run_w2(sz: Dict, key, opts: Dict, reps: int) -> List[Dict]:
    S, T = sz["num_sim"], sz["num_steps"]
    size = f"S={S} T={T}"
    tj, _ = time_jax(jax_w2(S, T), (key,), reps)
    rows = []
    # simlanes sequential (the default), then parallel in time (64 chunks per path)
    # against the same JAX run.
    for chunks in (None, 64):
        ts = time_simlanes(lambda: simlanes_w2(S, T, key, opts, chunks), reps)
        ok, msg = check_w2(tj.out, ts.out, w2_tolerance(T, chunks))
        name = "W2 OU final f64" if chunks is None else "W2 OU, chunks=64"
        rows.append(make_row(name, size, S * T, "steps/s", tj, ts, ok, msg, simlanes_chunks=chunks))
    return rows


def run_w3(sizes: List[Dict], key, opts: Dict, reps: int) -> List[Dict]:
    rows = []
    for sz in sizes:
        G, S, n = sz["G"], sz["S"], sz["n"]
        theta = w3_grid(G)
        nd = n * D_ARMS
        tj, compiled = time_jax(jax_w3(S, n), (key, jnp.asarray(theta), count_limit(LAM, nd)), reps)
        # simlanes with its default task shape (1024 points x 1024 simulations), then with
        # the whole grid in one task (grid_tile=G): each task draws its simulations'
        # uniforms once for all its points, so fewer grid tiles draw JAX's (costly)
        # uniforms fewer times. The counts never depend on the tiles.
        for grid_tile in (None, G) if G > SIMLANES_GRID_TILE else (None,):
            ts = time_simlanes(lambda: simlanes_w3(theta, LAM, S, n, key, opts, grid_tile), reps)
            ok, msg = check_w3(tj.out, ts.out, LAM)
            # The same programs at LAM_CHECK (untimed; no recompilation: the limit is an argument).
            if grid_tile is None:
                r_jax = np.asarray(compiled(key, jnp.asarray(theta), count_limit(LAM_CHECK, nd)))
            ok2, msg2 = check_w3(r_jax, simlanes_w3(theta, LAM_CHECK, S, n, key, opts, grid_tile), LAM_CHECK)
            name = f"W3 validate {sz['name']}" if grid_tile is None else f"W3 {sz['name']}, grid_tile={G}"
            rows.append(make_row(name, f"G={G} S={S} n={n}", G * S * n * D_ARMS, "comparisons/s", tj, ts,
                                 ok and ok2, msg + "; " + msg2, simlanes_grid_tile=grid_tile))
    return rows


W4_DT, W4_SIGMA = 1.0, 1e-3
W5_DT, W5_SIGMA = 0.01, 0.2


def run_w4(sizes: List[Dict], key, opts: Dict, reps: int) -> List[Dict]:
    rows = []
    for sz in sizes:
        nn, nt, B = sz["nn"], sz["nt"], sz["B"]
        # Per-member parameters: a sweep of the coupling k over [0, 0.02] (the default
        # 0.01 in the middle), mu at its default; the same arrays on both sides.
        k = np.linspace(0.0, 0.02, B, dtype=np.float32)
        mu = np.full(B, 0.22, dtype=np.float32)
        W = fixed_weights(nn)
        args = (key, jnp.asarray(k), jnp.asarray(mu), jnp.asarray(W))
        tj, _ = time_jax(jax_w4(nn, nt, W4_DT, W4_SIGMA), args, reps)
        ts = time_simlanes(lambda: simlanes_w4(nn, nt, k, mu, W, key, opts, W4_DT, W4_SIGMA), reps)
        y64 = np.asarray(jax.jit(jax_w4(nn, nt, W4_DT, W4_SIGMA, dtype=F64))(*args))
        scale = np.max(np.abs(y64), axis=(1, 2), keepdims=True)  # per state variable
        ok, msg, info = rounding_check(tj.out.astype(np.float64), y64, ts.out.astype(np.float64), scale)
        rows.append(make_row("W4 Jansen-Rit", f"nn={nn} nt={nt} B={B}", nn * nt * B, "node-steps/s", tj, ts,
                             ok, msg + " (final y)", **info))
    return rows


def run_w5(sz: Dict, key, opts: Dict, reps: int) -> List[Dict]:
    nn, nt = sz["nn"], sz["nt"]
    k, eta = w5_grid(sz["nk"], sz["neta"])
    B = len(k)
    W = fixed_weights(nn)
    args = (key, jnp.asarray(k), jnp.asarray(eta), jnp.asarray(W))
    tj, _ = time_jax(jax_w5(nn, nt, W5_DT, W5_SIGMA), args, reps)
    ts = time_simlanes(lambda: simlanes_w5(nn, nt, k, eta, W, key, opts, W5_DT, W5_SIGMA), reps)
    (std_jax, x_jax), (std_sl, x_sl) = tj.out, ts.out
    std64, x64 = (np.asarray(a) for a in jax.jit(jax_w5(nn, nt, W5_DT, W5_SIGMA, dtype=F64))(*args))
    # The sweep's output, std_r per member, relative to each member's own value; and the
    # final state, relative to the largest |r| and |V|.
    ok1, msg1, info = rounding_check(std_jax, std64, std_sl, np.maximum(np.abs(std64), 1e-30))
    scale = np.max(np.abs(x64), axis=(1, 2), keepdims=True)
    ok2, msg2, info2 = rounding_check(x_jax.astype(np.float64), x64, x_sl.astype(np.float64), scale)
    info.update({"final_" + name: v for name, v in info2.items()})
    return [make_row("W5 MPR sweep", f"nn={nn} nt={nt} B={B}", nn * nt * B, "node-steps/s", tj, ts, ok1 and ok2,
                     msg1 + " (std_r); " + msg2 + " (final r, V)", **info)]


# ------------------------------------------------------------------------------ report
def cpu_model() -> str:
    """The CPU's model name, family/model numbers and widest vector extension (Linux)."""
    info: Dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                name, _, value = line.partition(":")
                info.setdefault(name.strip(), value.strip())
    except OSError:
        return platform.processor() or platform.machine()
    flags = info.get("flags", "").split()
    simd = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    return f"{info.get('model name', '?')} (family {info.get('cpu family', '?')}, model {info.get('model', '?')}, {simd})"


def print_table(rows: List[Dict]) -> None:
    head = ["workload", "size", "JAX s", "simlanes s", "unit", "JAX rate", "simlanes rate", "speedup", "cores J/s",
            "check"]
    body = [
        [
            r["workload"],
            r["size"],
            f"{r['jax_s']:.3f}",
            f"{r['simlanes_s']:.3f}",
            r["unit"],
            f"{r['jax_rate']:.2e}",
            f"{r['simlanes_rate']:.2e}",
            f"{r['speedup']:.1f}x",
            f"{r['jax_cores']:.1f}/{r['simlanes_cores']:.1f}",
            ("PASS " if r["ok"] else "FAIL ") + r["check"],
        ]
        for r in rows
    ]
    widths = [max(len(x[i]) for x in [head] + body) for i in range(len(head))]
    right = {2, 3, 5, 6, 7, 8}

    def fmt(cells):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    print(fmt(head))
    print("  ".join("-" * w for w in widths))
    for b in body:
        print(fmt(b))


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", choices=sorted(SIZES), default="seed")
    ap.add_argument("--only", default="w1,w2,w3,w4,w5", help="comma-separated workloads, e.g. w1,w3")
    ap.add_argument("--reps", type=int, default=3, help="runs per side, the best counts (default 3)")
    ap.add_argument("--json", default=None, help="also write the rows as JSON to this path")
    ap.add_argument("--backend", choices=["threaded", "gpu"], default="threaded", help="simlanes backend")
    ap.add_argument("--threads", type=int, default=None, help="simlanes threads (default: all CPUs)")
    args = ap.parse_args(argv)

    only = [w.strip().lower() for w in args.only.split(",") if w.strip()]
    unknown = sorted(set(only) - {"w1", "w2", "w3", "w4", "w5"})
    if unknown:
        ap.error(f"unknown workloads {unknown}")
    sizes = SIZES[args.size]
    opts = dict(backend=args.backend, threads=args.threads)
    # The calibration engine (W3) runs on the CPU only: simlanes refuses backend="gpu" there.
    opts_w3 = dict(backend="threaded", threads=args.threads)
    partitionable = bool(jax.config.jax_threefry_partitionable)
    opts["partitionable"] = opts_w3["partitionable"] = partitionable
    key = jax.random.key(0)
    threads = args.threads or int(os.environ.get("RAYON_NUM_THREADS", 0) or 0) or os.cpu_count()

    print(f"machine: {cpu_model()}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.machine()}")
    print(f"python {platform.python_version()}, numpy {np.__version__}, jax {jax.__version__} "
          f"(backend {jax.default_backend()}, devices {jax.devices()}, x64 on, "
          f"threefry_partitionable={partitionable}; XLA uses its own thread pool)")
    print(f"simlanes {simlanes.__version__}: backend {args.backend}, threads {threads}"
          + (" (W3 on threaded: validate runs on the CPU)" if args.backend == "gpu" else ""))
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(f"size {args.size}, best of {args.reps} (a run over {LONG_RUN_S:.0f} s is not repeated), "
          f"key = jax.random.key(0); load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}\n")

    simlanes.pi(1000, 4, key=key, **opts)  # start simlanes' thread pool outside the timings
    rows: List[Dict] = []
    runners = [
        ("w1", lambda: run_w1(sizes["w1"], key, opts, args.reps)),
        ("w2", lambda: run_w2(sizes["w2"], key, opts, args.reps)),
        ("w3", lambda: run_w3(sizes["w3"], key, opts_w3, args.reps)),
        ("w4", lambda: run_w4(sizes["w4"], key, opts, args.reps)),
        ("w5", lambda: run_w5(sizes["w5"], key, opts, args.reps)),
    ]
    t_start = time.perf_counter()
    for name, runner in runners:
        if name not in only:
            continue
        t0 = time.perf_counter()
        new = runner()
        for r in new:
            print(f"  {r['workload']} {r['size']}: JAX {r['jax_s']:.3f} s ({r['jax_runs']} runs, compile "
                  f"{r['jax_compile_s']:.1f} s), simlanes {r['simlanes_s']:.3f} s ({r['simlanes_runs']} runs); "
                  f"{'PASS' if r['ok'] else 'FAIL'} {r['check']}", flush=True)
        print(f"  ({name} took {time.perf_counter() - t0:.0f} s with compilation and checks)", flush=True)
        rows.extend(new)
    print()
    print_table(rows)
    failed = [r["workload"] + " " + r["size"] for r in rows if not r["ok"]]
    print(f"\nspeedup = JAX seconds / simlanes seconds; cores = CPU time / wall time of the best run "
          f"(JAX / simlanes); total {time.perf_counter() - t_start:.0f} s; "
          + ("all checks passed" if not failed else f"FAILED: {failed}"))
    if args.json:
        meta = dict(cpu=cpu_model(), cpus=os.cpu_count(), jax=jax.__version__, jax_backend=jax.default_backend(),
                    simlanes=simlanes.__version__, simlanes_backend=args.backend, threads=threads, size=args.size,
                    reps=args.reps, partitionable=partitionable)
        with open(args.json, "w") as f:
            json.dump(dict(meta=meta, rows=rows), f, indent=1)
        print(f"wrote {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
