"""Every error mapping: ValueError (bad values and shapes, with the Rust message),
TypeError (wrong dtypes and types), RuntimeError (a backend that cannot start). Never a
crash."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import simlanes

G = np.zeros((4, 2))
CAL = dict(n=3, sims=64)
KEY = np.array([0, 42], np.uint32)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: simlanes.pi(0, 4), "pairs"),
        (lambda: simlanes.pi(10, 0), "estimates"),
        (lambda: simlanes.pi(1 << 32, 1), "pairs"),
        (lambda: simlanes.pi(-1, 4), "pairs_per_estimate"),
        (lambda: simlanes.pi(10, 4, seed=-1), "seed"),
        (lambda: simlanes.pi(10, 4, seed=1 << 64), "seed"),
        (lambda: simlanes.ou_final(0, 10), "num_sim"),
        (lambda: simlanes.ou_final(4, 10, tau=-1.0), "tau"),
        (lambda: simlanes.ou_final(4, 10, dt=float("nan")), "dt"),
        (lambda: simlanes.validate(G, float("nan"), **CAL), "lambda"),
        (lambda: simlanes.validate(G, 0.5, delta=1.5, **CAL), "delta"),
        (lambda: simlanes.validate(np.zeros(4), 0.5, **CAL), "dimension"),
        (lambda: simlanes.validate(np.zeros((0, 2)), 0.5, **CAL), "grid"),
        (lambda: simlanes.validate(np.full((2, 2), np.inf), 0.5, **CAL), "theta"),
        (lambda: simlanes.validate(G, 0.5, null=np.ones(3, bool), **CAL), "null"),
        (lambda: simlanes.validate(G, 0.5, n=0, sims=64), "n"),
        (lambda: simlanes.validate(G, 0.5, n=3, sims=0), "K"),
        (lambda: simlanes.validate(G, 0.5, grid_tile=0, **CAL), "grid_tile"),
        (lambda: simlanes.validate(G, 0.5, backend="gpu", **CAL), "CPU"),
        (lambda: simlanes.calibrate(G, 1.5, **CAL), "alpha"),
        (lambda: simlanes.jansen_rit(0, 10, 2), "nn"),
        (lambda: simlanes.jansen_rit(3, 10, 2, weights=np.zeros((3, 2), np.float32)), "weights"),
        (lambda: simlanes.jansen_rit(3, 10, 2, k=np.zeros(3, np.float32)), "k"),
        (lambda: simlanes.jansen_rit(3, 10, 2, initial=np.zeros((6, 3, 3), np.float32)), "initial"),
        (lambda: simlanes.jansen_rit(3, 10, 2, delays=True, lags=np.zeros((3, 3), np.uint8)), "lags"),
        (lambda: simlanes.jansen_rit(3, 10, 2, dt=0.0), "dt"),
        (lambda: simlanes.mpr_sweep(nn=4, nt=400), "nt"),
        (lambda: simlanes.mpr_sweep(1.0, nn=4, nt=401), "eta"),
        (lambda: simlanes.pi(10, 4, backend="cuda"), "backend"),
        (lambda: simlanes.pi(10, 4, backend="threaded", threads=0), "threads"),
        (lambda: simlanes.pi(10, 4, backend="simd", threads=2), "threads"),
        (lambda: simlanes.make_tiles("fit", G, lam=0.5, **CAL), "op"),
        (lambda: simlanes.make_tiles("validate", G, **CAL), "lam"),
        (lambda: simlanes.make_tiles("validate", G, lam=0.5, tile_points=0, **CAL), "tile_points"),
        (lambda: simlanes.merge_tiles([]), "no tiles"),
        (lambda: simlanes.ou_path(0, 10), "num_sim"),
        (lambda: simlanes.ou_path(4, 10, sigma=-1.0), "sigma"),
        (lambda: simlanes.ou_path(2, (1 << 63)), "num_steps"),
        (lambda: simlanes.ou_with_normals(np.zeros(5)), "dimension"),
        (lambda: simlanes.ou_with_normals(np.zeros((0, 5))), "num_sim"),
        (lambda: simlanes.ou_with_normals(np.zeros((2, 5)), tau=0.0), "tau"),
        (lambda: simlanes.validate(G, 0.5, model="logistic", **CAL), "model"),
        (lambda: simlanes.validate(np.zeros((4, 3)), -1.96, model="two_arm_z", **CAL), "grid columns"),
        (lambda: simlanes.validate(G, -1.96, model="two_arm_z", n=0, sims=64), "n"),
        (lambda: simlanes.validate(G, 0.5, seed=1, key=KEY, **CAL), "not both"),
        (lambda: simlanes.calibrate(G, 0.1, seed=0, key=KEY, **CAL), "not both"),
        (lambda: simlanes.validate(G, -1.96, model="two_arm_z", key=KEY, **CAL), "binomial"),
        (lambda: simlanes.validate(G, 0.5, key=np.zeros(3, np.uint32), **CAL), "shape"),
        (lambda: simlanes.validate(G, 0.5, key=np.zeros((2, 2), np.uint32), **CAL), "shape"),
        (lambda: simlanes.validate(G, 0.5, key=np.array([-1, 0]), **CAL), "uint32"),
        (lambda: simlanes.validate(G, 0.5, key=np.array([1 << 32, 0]), **CAL), "uint32"),
        (lambda: simlanes.make_tiles("validate", G, lam=0.5, seed=0, key=KEY, **CAL), "not both"),
        (lambda: simlanes.jax_key(1 << 63), "seed"),
        (lambda: simlanes.jax_fold_in(KEY, 1 << 32), "data"),
        (lambda: simlanes.jax_fold_in(KEY, -1), "data"),
        (lambda: simlanes.jax_bits(KEY, (3,), np.int32), "bits"),
        (lambda: simlanes.jax_uniform(KEY, (1 << 62, 1 << 62)), "shape"),
        # The JAX stream mode of the workloads (`key=`).
        (lambda: simlanes.pi(10, 4, seed=1, key=KEY), "not both"),
        (lambda: simlanes.pi(10, 4, seed=0, key=KEY), "not both"),
        (lambda: simlanes._simlanes.pi(10, 4, seed=0, key=(0, 42)), "not both"),
        (lambda: simlanes.ou_final(4, 10, seed=2, key=KEY), "not both"),
        (lambda: simlanes.ou_path(4, 10, seed=2, key=KEY), "not both"),
        (lambda: simlanes._simlanes.ou_path(4, 10, seed=2, key=(0, 42)), "not both"),
        (lambda: simlanes.pi(10, 4, key=np.zeros(3, np.uint32)), "shape"),
        (lambda: simlanes.ou_final(4, 10, key=np.zeros((2, 2), np.uint32)), "shape"),
        (lambda: simlanes.jansen_rit(3, 10, 2, key=np.zeros((1, 2), np.uint32)), "shape"),
        (lambda: simlanes.mpr_sweep(1.0, -4.6, nn=4, nt=401, key=np.array([1 << 32, 0])), "uint32"),
        (lambda: simlanes.ou_path(4, 10, key=np.array([-1, 0])), "uint32"),
        # Legacy layout: at most 2**32 - 2 words per member (here 2**32).
        (lambda: simlanes.pi(1 << 31, 1, key=KEY, partitionable=False), "legacy"),
        (lambda: simlanes.ou_final(2, 1 << 32, key=KEY, partitionable=False), "legacy"),
        (lambda: simlanes.jansen_rit(3, 10, 0, key=KEY), "batch"),
        (lambda: simlanes.pi(10, 4, backend="threaded", threads=100_000), "threads"),
        # JAX would return NaN for non-finite bounds or width: refused instead.
        (lambda: simlanes.jax_uniform(KEY, (4,), maxval=float("nan")), "maxval"),
        (lambda: simlanes.jax_uniform(KEY, (4,), minval=-float("inf"), maxval=0.0), "minval"),
        (lambda: simlanes.jax_uniform(KEY, (4,), minval=1e39, maxval=2e39), "minval"),
        (lambda: simlanes.jax_uniform(KEY, (4,), minval=-3e38, maxval=3e38), "maxval - minval"),
    ],
)
def test_value_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize(
    "call",
    [
        lambda: simlanes.pi(1, 2**40),
        lambda: simlanes.ou_final(2**40, 1),
        lambda: simlanes.ou_path(1000, 10**9),
        lambda: simlanes.jansen_rit(1, 1, 2**40),
        lambda: simlanes.jax_split(KEY, 2**40),
        lambda: simlanes.jax_uniform(KEY, (2**40,)),
        lambda: simlanes.ou_final(1, 2**40, chunks=2**40),
        lambda: simlanes.mpr_sweep(nn=2**20, nt=401),
    ],
)
def test_impossible_sizes_raise_memory_error(call):
    # Sizes no machine holds: MemoryError before any work, never an abort of the
    # interpreter in the allocator or a PanicException ("capacity overflow").
    with pytest.raises(MemoryError, match="cannot be allocated"):
        call()


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: simlanes.validate(G.astype(np.int64), 0.5, **CAL), "float64"),
        (lambda: simlanes.validate(G.astype(np.float32), 0.5, **CAL), "float64"),
        (lambda: simlanes.validate(G, 0.5, null=np.ones(4), **CAL), "bool"),
        (lambda: simlanes.validate(G, 0.5, n=1.5, sims=64), "n"),
        (lambda: simlanes.validate(G, "0.5", **CAL), "lam"),
        (lambda: simlanes.validate(G, 0.5, delta="0.01", **CAL), "delta"),
        (lambda: simlanes.calibrate(G, None, **CAL), "alpha"),
        (lambda: simlanes.pi(10.0, 4), "pairs_per_estimate"),
        (lambda: simlanes.pi(10, 4, threads="2"), "threads"),
        (lambda: simlanes.jansen_rit(3, 10, 2, weights=np.zeros((3, 3))), "float32"),
        (lambda: simlanes.jansen_rit(3, 10, 2, mu=np.zeros(2)), "float32"),
        (lambda: simlanes.jansen_rit(3, 10, 2, lags=np.zeros((3, 3), np.int32)), "uint8"),
        (lambda: simlanes._simlanes.validate([[0.0]], 0.5, **CAL), "NumPy array"),
        (lambda: simlanes.make_tiles("validate", G.astype(np.float32), lam=0.5, **CAL), "float64"),
        (lambda: simlanes.ou_with_normals(np.zeros((2, 5), np.float32)), "float64"),
        (lambda: simlanes.ou_path(4.0, 10), "num_sim"),
        (lambda: simlanes.validate(G, 0.5, key=np.array([0.0, 1.0]), **CAL), "key"),
        (lambda: simlanes.validate(G, 0.5, key="key", **CAL), "key"),
        (lambda: simlanes.jax_uniform(KEY, (2.5,)), "integer"),
        (lambda: simlanes.pi(10, 4, key=np.array([0.0, 1.0])), "key"),
        (lambda: simlanes.ou_final(4, 10, key="key"), "key"),
        (lambda: simlanes.ou_path(4, 10, key=[0.5, 1.0]), "key"),
        (lambda: simlanes.jansen_rit(3, 10, 2, key=np.array([0, 1], np.float32)), "key"),
        (lambda: simlanes.mpr_sweep(1.0, -4.6, nn=4, nt=401, key=object()), "key"),
        (lambda: simlanes._simlanes.pi(10, 4, key=(0.5, 1)), "key"),
        (lambda: simlanes.ou_with_normals(np.zeros((2, 5)), key=KEY), "key"),
        # A bool is an int subclass in Python, but never a size, seed or thread count.
        (lambda: simlanes.pi(True, True), "bool"),
        (lambda: simlanes.pi(10, 4, threads=True), "bool"),
        (lambda: simlanes.validate(G, 0.5, n=3, sims=True), "bool"),
    ],
)
def test_type_errors(call, match):
    with pytest.raises(TypeError, match=match):
        call()


def test_messages_carry_the_rust_numbers():
    with pytest.raises(ValueError, match=r"`null` has length 3, expected 4"):
        simlanes.validate(G, 0.5, null=np.ones(3, bool), **CAL)
    with pytest.raises(ValueError, match=r"`nt` is 400, must be at least 401"):
        simlanes.mpr_sweep(nn=4, nt=400)


def test_gpu_backend_error_is_runtime_error_when_absent():
    try:
        simlanes.ou_final(4, 10, backend="gpu")
    except RuntimeError as e:
        assert str(e)  # says why (no driver, no device, ...)
    else:
        pytest.skip("a GPU is present: nothing to map")


# The libcuda stand-in (crates/cuda-stand-in: kernels on the host CPU) as `libcuda.so` in
# this folder; `.ci/python` sets it where `.ci/run` has built the stand-in.
STAND_IN = os.environ.get("SIMLANES_CUDA_STAND_IN")


@pytest.mark.parametrize(
    "call, message",
    [
        ("cuInit", "no CUDA device 0 (the driver reports 0)"),  # a driver but no GPU
        ("cuModuleLoadData", "the CUDA driver rejected the sm_90 PTX"),  # a driver too old
        ("cuMemAlloc_v2", "out of GPU memory allocating"),
        ("cuLaunchKernel", "kernel `pi_hits` failed"),  # a kernel that traps
        ("cuMemcpyDtoHAsync_v2", "CUDA driver call `cuMemcpyDtoH` failed"),  # a later fault
    ],
)
def test_gpu_driver_failures_are_runtime_errors_that_say_why(call, message):
    """Each driver failure the stand-in injects (`CUDA_STAND_IN_FAIL`) reaches Python as a
    RuntimeError naming the cause, in a fresh interpreter that must not crash and whose
    CPU backends still work afterwards."""
    if not STAND_IN:
        pytest.skip("needs the libcuda stand-in (SIMLANES_CUDA_STAND_IN; set by .ci/python after .ci/run)")
    code = """
        try:
            simlanes.pi(1000, 64, backend="gpu")
        except RuntimeError as e:
            print("RuntimeError:", e)
        else:
            print("no error")
        assert simlanes.pi(1000, 64, backend="simd").hits.shape == (64,)
        """
    env = dict(os.environ, LD_LIBRARY_PATH=STAND_IN, CUDA_STAND_IN_FAIL=call)
    run = subprocess.run(
        [sys.executable, "-c", "import simlanes\n" + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert run.returncode == 0, f"exit status {run.returncode}\n{run.stdout}\n{run.stderr}"
    assert "RuntimeError:" in run.stdout and message in run.stdout, run.stdout + run.stderr
    assert f"{call} fails on request" in run.stderr, run.stderr  # the stand-in did inject it


def _in_subprocess(code):
    """Runs ``code`` (after ``import numpy as np, simlanes`` and ``KEY``) in a fresh
    interpreter, for reproducers that used to kill it (SIGSEGV, SIGABRT): a crash fails
    the test with its signal instead of ending the test run."""
    prelude = "import numpy as np, simlanes\nKEY = np.array([0, 42], np.uint32)\n"
    run = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)], capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, f"exit status {run.returncode}\n{run.stdout}\n{run.stderr}"


def test_empty_shape_numpy_refuses_is_value_error_not_a_crash():
    # Empty arrays whose other dimensions make NumPy's byte count overflow (NumPy:
    # "array is too big") used to crash the interpreter in the array's construction.
    _in_subprocess(
        """
        import pytest
        for call in [
            lambda: simlanes.jax_uniform(KEY, (0, 1 << 61)),
            lambda: simlanes.jax_uniform(KEY, (1 << 31, 1 << 30, 0)),
            lambda: simlanes.jax_normal(KEY, (1 << 61, 0)),
            lambda: simlanes.jax_bits(KEY, (1 << 62, 0), np.uint16),
            lambda: simlanes.jax_bits(KEY, (1 << 60, 0), np.uint64),
            lambda: simlanes._simlanes.jax_uniform((0, 42), [0, 1 << 61]),
            # Was RuntimeError("ShapeError/Overflow").
            lambda: simlanes.jax_uniform(KEY, (0, 1 << 62, 1 << 62)),
        ]:
            with pytest.raises(ValueError, match="`shape`.*too big for a NumPy array"):
                call()
        # What NumPy accepts still works.
        for shape in [(0, 1 << 60), (1 << 59, 0, 3)]:
            a = simlanes.jax_uniform(KEY, shape)
            assert a.shape == np.empty(shape, np.float32).shape and a.dtype == np.float32
        assert simlanes.jax_bits(KEY, (0, 1 << 59), np.uint64).shape == (0, 1 << 59)
        """
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda: simlanes.jax_uniform(KEY, (1,) * 33),
        lambda: simlanes.jax_uniform(KEY, (0,) * 33),
        lambda: simlanes.jax_normal(KEY, (1,) * 33),
        lambda: simlanes.jax_bits(KEY, (1,) * 33, np.uint8),
        lambda: simlanes._simlanes.jax_bits((0, 42), [1] * 40),
    ],
)
def test_more_than_32_dimensions_is_value_error(call):
    # Was a PanicException from rust-numpy ("unexpected dimensionality").
    with pytest.raises(ValueError, match="`shape` has .* dimensions; NumPy arrays have at most 32"):
        call()
    assert simlanes.jax_uniform(KEY, (1,) * 32).shape == (1,) * 32


def test_input_copy_out_of_memory_is_memory_error():
    # Copies of inputs no machine can hold (zero-stride broadcast views of 2**40 rows)
    # used to abort the interpreter in the allocator.
    _in_subprocess(
        """
        import pytest
        huge = 1 << 40
        for call, name in [
            (lambda: simlanes.validate(np.broadcast_to(np.zeros((1, 4)), (huge, 4)), 0.5, n=1, sims=1), "grid"),
            (lambda: simlanes.validate(np.zeros((4, 2)), 0.5, n=1, sims=1,
                                       null=np.broadcast_to(np.array([True]), (huge,))), "null"),
            (lambda: simlanes.calibrate(np.broadcast_to(np.zeros((1, 2)), (huge, 2)), 0.1, n=1, sims=1), "grid"),
            (lambda: simlanes.mpr_sweep(np.broadcast_to(np.zeros(1, np.float32), (huge,)), 1.0, nn=1, nt=401), "k"),
            (lambda: simlanes.jansen_rit(1, 1, 1, mu=np.broadcast_to(np.zeros(1, np.float32), (huge,))), "mu"),
            (lambda: simlanes.jansen_rit(2, 1, 1, weights=np.broadcast_to(np.zeros(1, np.float32), (huge, 2))),
             "weights"),
            (lambda: simlanes.ou_with_normals(np.broadcast_to(np.zeros((2, 1)), (2, huge))), "z"),
        ]:
            with pytest.raises(MemoryError, match=f"`{name}` needs a copy of .* cannot be allocated"):
                call()
        """
    )


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: simlanes.validate(G, True, **CAL), "`lam`"),
        (lambda: simlanes.validate(G, 0.5, delta=np.bool_(False), **CAL), "`delta`"),
        (lambda: simlanes.calibrate(G, True, **CAL), "`alpha`"),
        (lambda: simlanes.ou_final(4, 10, dt=True), "`dt`"),
        (lambda: simlanes.ou_path(4, 10, tau=np.bool_(True)), "`tau`"),
        (lambda: simlanes.ou_with_normals(np.zeros((2, 3)), sigma=True), "`sigma`"),
        (lambda: simlanes.ou_final(4, 10, x0=False), "`x0`"),
        (lambda: simlanes.jansen_rit(3, 5, 2, dt=True), "`dt`"),
        (lambda: simlanes.jansen_rit(3, 5, 2, k=True), "`k`"),
        (lambda: simlanes.jansen_rit(3, 5, 2, k=np.bool_(True)), "`k`"),
        (lambda: simlanes.jansen_rit(3, 5, 2, mu=False), "`mu`"),
        (lambda: simlanes.mpr_sweep(True, -5.0, nn=1, nt=401), "`k`"),
        (lambda: simlanes.mpr_sweep(1.0, -5.0, nn=1, nt=401, sigma=True), "`sigma`"),
        (lambda: simlanes.jax_uniform(KEY, (3,), minval=True), "`minval`"),
        (lambda: simlanes.jax_uniform(KEY, (3,), maxval=np.bool_(True)), "`maxval`"),
        (lambda: simlanes.jax_uniform(KEY, (True, 2)), "`shape`"),
        (lambda: simlanes.jax_normal(KEY, np.bool_(True)), "`shape`"),
        (lambda: simlanes._simlanes.jax_uniform((0, 42), [True, 2]), "`shape`"),
    ],
)
def test_bool_is_not_a_number(call, match):
    # Integer arguments already refused a bool; float arguments took it as 0.0 or 1.0.
    with pytest.raises(TypeError, match=match):
        call()


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: simlanes.pi(10, 4, backend=None), TypeError, "`backend` must be a str"),
        (lambda: simlanes.ou_final(4, 10, backend=1), TypeError, "`backend` must be a str"),
        (lambda: simlanes.validate(G, 0.5, model=None, **CAL), TypeError, "`model` must be a str"),
        (lambda: simlanes.validate(G, 0.5, backend=None, **CAL), TypeError, "`backend` must be a str"),
        (lambda: simlanes.pi(10, 4, key=KEY, partitionable=None), TypeError, "`partitionable` must be a bool"),
        (lambda: simlanes.jax_split(KEY, partitionable=None), TypeError, "`partitionable` must be a bool"),
        (lambda: simlanes.jax_key(0, x64=1), TypeError, "`x64` must be a bool"),
        (lambda: simlanes.jansen_rit(3, 5, 2, delays=1), TypeError, "`delays` must be a bool"),
        (lambda: simlanes.ou_final(4, 10, dt="0.1"), TypeError, "`dt` must be a real number"),
        (lambda: simlanes.jax_uniform(KEY, (3,), minval="0"), TypeError, "`minval` must be a real number"),
        (lambda: simlanes.ou_final(4, 10, dt=10**400), ValueError, "`dt` is too large for a float64"),
        (lambda: simlanes.validate(G, 10**400, **CAL), ValueError, "`lam` is too large for a float64"),
        (lambda: simlanes.mpr_sweep(10**400, 1.0, nn=1, nt=401), ValueError, "`k` is too large"),
        (lambda: simlanes.jax_uniform(KEY, (-1,)), ValueError, "`shape` has dimension -1"),
        (lambda: simlanes.jax_uniform(KEY, (1 << 64,)), ValueError, "`shape` has dimension 18446744073709551616"),
        (lambda: simlanes._simlanes.jax_normal((0, 42), 3), TypeError, "`shape` must be a sequence"),
        (lambda: simlanes._simlanes.jax_bits((0, 42), [3], -1), ValueError, "`bits`"),
        (lambda: simlanes._simlanes.jax_bits((0, 42), [3], "32"), TypeError, "`bits`"),
    ],
)
def test_bad_arguments_are_named(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_messages_name_the_real_cause(monkeypatch):
    # The element count overflows, not one dimension.
    with pytest.raises(ValueError, match=r"`shape` \(4294967296, 4294967296\) is too big for a NumPy array"):
        simlanes.jax_uniform(KEY, (1 << 32, 1 << 32))
    # No `threads=` was given: the environment variable is to blame.
    monkeypatch.setenv("RAYON_NUM_THREADS", "99999")
    with pytest.raises(ValueError, match="RAYON_NUM_THREADS is 99999.*1024"):
        simlanes.pi(10, 4)
    with pytest.raises(ValueError, match="RAYON_NUM_THREADS"):
        simlanes.validate(G, 0.5, **CAL)
    # An explicit `threads=` overrides it.
    assert simlanes.pi(10, 4, threads=1).hits.shape == (4,)
