"""JAX keys without importing JAX: a key is given as a typed JAX key array, or as its raw
data (two uint32 words, what ``jax.random.key_data(key)`` returns, the legacy
``jax.random.PRNGKey(seed)`` itself), as a NumPy array or anything with ``__array__``."""

from __future__ import annotations

import sys
from typing import Any, Optional, Tuple

import numpy as np


def key_words(key: Any, name: str = "key") -> Tuple[int, int]:
    """The two uint32 words of ``key``.

    Raises TypeError for a key that is not an integer array (or a typed JAX key), and
    ValueError for one whose shape is not ``(2,)`` or whose values do not fit uint32
    (a typed key array of several keys, a key of another PRNG implementation).
    """
    dtype = getattr(key, "dtype", None)
    if dtype is not None and "key<" in str(dtype):
        # A typed JAX key array: only JAX can read its data, and it is already imported.
        jax = sys.modules.get("jax")
        if jax is None:  # pragma: no cover - a typed key cannot exist without jax
            raise TypeError(f"`{name}` is a typed JAX key but jax is not imported")
        key = jax.random.key_data(key)
    try:
        a = np.asarray(key)
    except Exception as e:  # noqa: BLE001 - report any conversion failure as a TypeError
        raise TypeError(f"`{name}` must be a JAX key or its uint32 key data, got {type(key).__name__}") from e
    if a.dtype.kind not in "iu":
        raise TypeError(f"`{name}` must be a JAX key or integer key data, got dtype {a.dtype}")
    if a.shape != (2,):
        raise ValueError(f"`{name}` must be one key: key data of shape (2,), got shape {a.shape}")
    if (a < 0).any() or (a > 0xFFFFFFFF).any():
        raise ValueError(f"`{name}` words must fit uint32, got {a.tolist()}")
    return int(a[0]), int(a[1])


def seed_or_key(seed: Optional[int], key: Any) -> Tuple[Optional[int], Optional[Tuple[int, int]]]:
    """``(seed, key words)``; ValueError when both are given."""
    if key is None:
        return seed, None
    if seed is not None:
        raise ValueError("give `seed` or `key`, not both")
    return None, key_words(key)
