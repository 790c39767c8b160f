"""Result dataclasses (kept apart from ``__init__`` so that ``_tiles`` can build them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np


@dataclass(frozen=True, eq=False)
class PiResult:
    """Result of :func:`pi`."""

    hits: np.ndarray
    """uint64, one per estimate: pairs that fell inside the quarter disc."""
    estimates: np.ndarray
    """float64, one per estimate: ``4 * hits / pairs_per_estimate``."""
    mean: float
    """Mean of the estimates (from the exact total of hits)."""


@dataclass(frozen=True, eq=False)
class Validation:
    """Result of :func:`validate`; arrays have one entry per grid point, in grid order."""

    null: np.ndarray
    """bool: whether the null hypothesis holds at the point (else count, rate are 0)."""
    count: np.ndarray
    """uint64: simulations that reject, ``#{s : T[g,s] < lam}``."""
    rate: np.ndarray
    """float64: type I error estimate ``count / sims``."""
    upper: np.ndarray
    """float64: one-sided ``1 - delta`` Clopper-Pearson upper bound of the rate."""
    lam: float
    """The threshold used, rounded to float32 (the statistics are float32)."""
    delta: float
    """``delta`` of the upper bounds."""
    sims: int
    """Simulations ``K`` per point."""


@dataclass(frozen=True, eq=False)
class Calibration:
    """Result of :func:`calibrate`."""

    lam: np.ndarray
    """float32, per grid point: ``lambda*[g]``, the ``rank``-th smallest statistic; NaN
    where the null does not hold."""
    min_lam: float
    """Minimum of ``lam`` over null points: the threshold that keeps the type I error at
    most alpha everywhere on the grid (NaN when no point is null)."""
    argmin: Optional[int]
    """The point attaining ``min_lam`` (the first on ties); None when no point is null."""
    rank: int
    """``m = max(floor((sims + 1) * alpha), 1)``, 1-based."""
    alpha: float
    """Target level."""
    sims: int
    """Simulations ``K`` per point."""


@dataclass(frozen=True, eq=False)
class MprResult:
    """Result of :func:`mpr_sweep`; ``B`` members."""

    k: np.ndarray
    """float32 (B,): coupling strength of each member."""
    eta: np.ndarray
    """float32 (B,): mean excitability of each member."""
    std_r: np.ndarray
    """float64 (B,): population standard deviation of ``r`` over all nodes and the states
    ``x[401..=nt]``."""
    final_state: np.ndarray
    """float32 (2, nn, B): the final ``r`` (row 0) and ``V`` (row 1) of every node."""
