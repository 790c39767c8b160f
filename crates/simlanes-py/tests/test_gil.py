"""The GIL is released during computation (another Python thread keeps running), and
Ctrl-C (SIGINT) stops every long call with KeyboardInterrupt within a second."""

import os
import signal
import threading
import time

import numpy as np
import pytest

import simlanes


# Grid points spread over p in [0.12, 0.88]: on a grid of one repeated point (e.g. all
# zeros) sorted counting places no uniform at all and finishes too fast to observe.
_SPREAD = np.random.default_rng(0).uniform(-2.0, 2.0, (4096, 4))


def _max_gap_while(call):
    """Runs ``call`` in a thread; meanwhile this thread spins, and returns the longest
    pause it saw between two iterations, and how long the call took."""
    done = threading.Event()
    spent = []

    def work():
        t0 = time.perf_counter()
        call()
        spent.append(time.perf_counter() - t0)
        done.set()

    th = threading.Thread(target=work)
    th.start()
    gap, last, spins = 0.0, time.perf_counter(), 0
    while not done.is_set():
        now = time.perf_counter()
        gap, last, spins = max(gap, now - last), now, spins + 1
    th.join()
    return gap, spent[0], spins


def test_other_threads_run_during_a_long_call():
    steps = 1_000_000
    while True:  # make the call long enough to see (at least 0.4 s)
        t0 = time.perf_counter()
        simlanes.ou_final(8, steps, backend="scalar")
        if time.perf_counter() - t0 > 0.4 or steps > 10**9:
            break
        steps *= 2
    gap, spent, spins = _max_gap_while(lambda: simlanes.ou_final(8, steps, backend="scalar"))
    assert spent > 0.3
    # Holding the GIL would stall this thread for the whole call (gap = spent).
    assert gap < spent / 2, (gap, spent)
    assert spins > 1000
    sims = 8192
    while True:  # as above: long enough to see, however fast counting gets
        t0 = time.perf_counter()
        simlanes.validate(_SPREAD[:1024], 0.5, n=64, sims=sims, threads=1)
        if time.perf_counter() - t0 > 0.4 or sims > 1 << 24:
            break
        sims *= 2
    gap, spent, _ = _max_gap_while(lambda: simlanes.validate(_SPREAD[:1024], 0.5, n=64, sims=sims, threads=1))
    assert spent > 0.1 and gap < spent / 2, (gap, spent)


def _interrupt_after(delay, call):
    """Sends SIGINT to this process ``delay`` s into ``call``; returns the seconds from the
    signal to the KeyboardInterrupt (fails if the call finishes uninterrupted)."""
    sent = []

    def fire():
        sent.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Timer(delay, fire)
    timer.start()
    try:
        call()
    except KeyboardInterrupt:
        return time.perf_counter() - sent[0]
    finally:
        timer.cancel()
    raise AssertionError("not interrupted: the call finished first")


# Each call would run for several seconds on 2 cores, in many short tiles (workloads: the
# threaded executor's tiles, sized by the simulator; validate/calibrate: tasks of
# 1024 x 1024 pairs): Ctrl-C takes effect once the tiles in flight are done.
_LONG_CALLS = {
    "validate": lambda: simlanes.validate(_SPREAD, 0.5, n=64, sims=1 << 19, threads=2),
    "validate_simd": lambda: simlanes.validate(_SPREAD, 0.5, n=64, sims=1 << 18, backend="simd"),
    "calibrate": lambda: simlanes.calibrate(_SPREAD, 0.05, n=64, sims=1 << 17, threads=2),
    "validate_jax_key": lambda: simlanes.validate(
        _SPREAD, 0.5, n=64, sims=1 << 17, key=np.array([0, 7], np.uint32), threads=2
    ),
    "calibrate_two_arm_z": lambda: simlanes.calibrate(
        np.zeros((1 << 15, 2)), 0.025, n=4096, sims=1 << 15, model="two_arm_z", threads=2
    ),
    "pi": lambda: simlanes.pi(1 << 16, 1 << 17, threads=2),
    "ou_final": lambda: simlanes.ou_final(1 << 22, 5000, threads=2),
    "jansen_rit": lambda: simlanes.jansen_rit(16, 4000, 1 << 14, threads=2),
    "mpr_sweep": lambda: simlanes.mpr_sweep(
        np.full(8192, 0.5, np.float32), np.float32(-4.6), nn=32, nt=2000, threads=2
    ),
}


@pytest.mark.parametrize("name", sorted(_LONG_CALLS))
def test_ctrl_c_raises_keyboard_interrupt_promptly(name):
    latency = _interrupt_after(0.3, _LONG_CALLS[name])
    print(f"{name}: KeyboardInterrupt {latency * 1000:.0f} ms after SIGINT")
    assert latency < 1.0, latency


def test_an_interrupted_pool_runs_the_next_call_normally():
    _interrupt_after(0.2, _LONG_CALLS["pi"])
    a = simlanes.pi(1000, 64, seed=3, threads=2)
    b = simlanes.pi(1000, 64, seed=3, backend="scalar")
    np.testing.assert_array_equal(a.hits, b.hits)
