"""NumPy re-implementation of the WORKLOADS.md random-stream contract and of W3, written
from the spec alone: an independent oracle for the package's numbers."""

import numpy as np

M0, M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
W0, W1 = 0x9E3779B9, 0xBB67AE85
MASK = np.uint64(0xFFFFFFFF)


def philox4x32_10(ctr, key):
    """Philox4x32-10 of counters ``ctr`` (4 arrays of uint32 words) and key ``(k0, k1)``."""
    c = [np.asarray(x, dtype=np.uint64) for x in ctr]
    k0, k1 = key
    for r in range(10):
        if r:
            k0, k1 = (k0 + W0) & 0xFFFFFFFF, (k1 + W1) & 0xFFFFFFFF
        p0, p1 = M0 * c[0], M1 * c[2]
        hi0, lo0, hi1, lo1 = p0 >> np.uint64(32), p0 & MASK, p1 >> np.uint64(32), p1 & MASK
        c = [hi1 ^ c[1] ^ np.uint64(k0), lo1, hi0 ^ c[3] ^ np.uint64(k1), lo0]
    return [x.astype(np.uint32) for x in c]


def stream_words(seed, stream, count):
    """Words ``0..count`` of random stream ``stream`` of ``seed``."""
    blocks = np.arange((count + 3) // 4, dtype=np.uint64)
    s = np.full_like(blocks, stream)
    ctr = [blocks & MASK, blocks >> np.uint64(32), s & MASK, s >> np.uint64(32)]
    out = philox4x32_10(ctr, (seed & 0xFFFFFFFF, seed >> 32))
    return np.stack(out, axis=1).reshape(-1)[:count]


def uniform_f32(words):
    return ((words >> np.uint32(8)).astype(np.float32) * np.float32(2.0**-24)).astype(np.float32)


def expit_f32(theta):
    theta = np.asarray(theta, dtype=np.float64)
    e = np.exp(-np.abs(theta))
    p = np.where(theta >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return p.astype(np.float32)


def w3_statistics(grid, n, sims, seed):
    """``T[g, s]`` of W3: float32 ``count / (n*d)``, shape ``(G, sims)``."""
    g, d = grid.shape
    p = expit_f32(grid)  # (G, d)
    t = np.empty((g, sims), dtype=np.float32)
    for s in range(sims):
        u = uniform_f32(stream_words(seed, s, n * d)).reshape(n, d)  # U[s, k, a]
        count = (u[None, :, :] < p[:, None, :]).sum(axis=(1, 2))
        t[:, s] = np.float32(count) / np.float32(n * d)
    return t


def pi_hits_exact(xy):
    """Hits of ``x**2 + y**2 < 1`` evaluated exactly, for float32 pairs ``xy[..., 0:2]`` on
    the 2**-24 grid of [0, 1) (Philox's and JAX's uniforms): in float64 each square has at
    most 48 significant bits and their sum 49, so nothing rounds."""
    assert xy.dtype == np.float32
    x, y = xy[..., 0].astype(np.float64), xy[..., 1].astype(np.float64)
    return (x * x + y * y < 1.0).sum(axis=-1).astype(np.uint64)
