"""Type stubs of the native module ``simlanes._simlanes`` (use the wrappers in ``simlanes``;
their docstrings document every argument)."""

from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

__version__: str

_PerMember = Union[float, npt.NDArray[np.float32], None]
_Key = Tuple[int, int]

def pi(
    pairs_per_estimate: int,
    estimates: int,
    *,
    seed: Optional[int] = None,
    key: Optional[_Key] = None,
    partitionable: bool = True,
    backend: str = "threaded",
    threads: Optional[int] = None,
) -> Dict[str, Any]: ...
def ou_final(
    num_sim: int,
    num_steps: int,
    *,
    seed: Optional[int] = None,
    key: Optional[_Key] = None,
    partitionable: bool = True,
    dt: float = 0.1,
    tau: float = 1.0,
    sigma: float = 2.0,
    x0: float = 0.0,
    chunks: Optional[int] = None,
    backend: str = "threaded",
    threads: Optional[int] = None,
) -> npt.NDArray[np.float64]: ...
def ou_path(
    num_sim: int,
    num_steps: int,
    *,
    seed: Optional[int] = None,
    key: Optional[_Key] = None,
    partitionable: bool = True,
    dt: float = 0.1,
    tau: float = 1.0,
    sigma: float = 2.0,
    x0: float = 0.0,
    chunks: Optional[int] = None,
    backend: str = "threaded",
    threads: Optional[int] = None,
) -> npt.NDArray[np.float64]: ...
def ou_with_normals(
    z: npt.NDArray[np.float64],
    *,
    dt: float = 0.1,
    tau: float = 1.0,
    sigma: float = 2.0,
    x0: float = 0.0,
    backend: str = "threaded",
    threads: Optional[int] = None,
) -> npt.NDArray[np.float64]: ...
def validate(
    grid: npt.NDArray[np.float64],
    lam: float,
    *,
    n: int,
    sims: int,
    seed: Optional[int] = None,
    key: Optional[_Key] = None,
    partitionable: bool = True,
    model: str = "binomial",
    null: Optional[npt.NDArray[np.bool_]] = None,
    delta: Optional[float] = None,
    backend: str = "threaded",
    threads: Optional[int] = None,
    grid_tile: Optional[int] = None,
    sim_tile: Optional[int] = None,
) -> Dict[str, Any]: ...
def calibrate(
    grid: npt.NDArray[np.float64],
    alpha: float,
    *,
    n: int,
    sims: int,
    seed: Optional[int] = None,
    key: Optional[_Key] = None,
    partitionable: bool = True,
    model: str = "binomial",
    null: Optional[npt.NDArray[np.bool_]] = None,
    backend: str = "threaded",
    threads: Optional[int] = None,
    grid_tile: Optional[int] = None,
    sim_tile: Optional[int] = None,
) -> Dict[str, Any]: ...
def jansen_rit(
    nn: int,
    nt: int,
    batch: int,
    *,
    seed: Optional[int] = None,
    key: Optional[_Key] = None,
    partitionable: bool = True,
    dt: float = 1.0,
    sigma: float = 1e-3,
    k: _PerMember = None,
    mu: _PerMember = None,
    weights: Optional[npt.NDArray[np.float32]] = None,
    delays: bool = False,
    lags: Optional[npt.NDArray[np.uint8]] = None,
    initial: Optional[npt.NDArray[np.float32]] = None,
    backend: str = "threaded",
    threads: Optional[int] = None,
) -> npt.NDArray[np.float32]: ...
def mpr_sweep(
    k: _PerMember = None,
    eta: _PerMember = None,
    *,
    nn: Optional[int] = None,
    nt: Optional[int] = None,
    seed: Optional[int] = None,
    key: Optional[_Key] = None,
    partitionable: bool = True,
    dt: float = 0.01,
    sigma: float = 0.2,
    weights: Optional[npt.NDArray[np.float32]] = None,
    backend: str = "threaded",
    threads: Optional[int] = None,
) -> Dict[str, Any]: ...
def jax_key(seed: int, *, x64: bool = False) -> npt.NDArray[np.uint32]: ...
def jax_fold_in(key: _Key, data: int) -> npt.NDArray[np.uint32]: ...
def jax_split(key: _Key, num: Optional[int] = None, *, partitionable: bool = True) -> npt.NDArray[np.uint32]: ...
def jax_bits(key: _Key, shape: Sequence[int], bits: int = 32, *, partitionable: bool = True) -> npt.NDArray[Any]: ...
def jax_uniform(
    key: _Key,
    shape: Sequence[int],
    *,
    minval: float = 0.0,
    maxval: float = 1.0,
    partitionable: bool = True,
) -> npt.NDArray[np.float32]: ...
def jax_normal(key: _Key, shape: Sequence[int], *, partitionable: bool = True) -> npt.NDArray[np.float32]: ...
