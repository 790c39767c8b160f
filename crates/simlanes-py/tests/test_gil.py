"""The GIL is released during computation (another Python thread keeps running), and
Ctrl-C interrupts a long calibration between chunks."""

import os
import signal
import threading
import time

import numpy as np

import simlanes


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
    grid = np.zeros((1024, 4))
    gap, spent, _ = _max_gap_while(lambda: simlanes.validate(grid, 0.5, n=64, sims=8192, threads=1))
    assert spent > 0.1 and gap < spent / 2, (gap, spent)


def test_ctrl_c_interrupts_between_chunks():
    # About 40 chunks of 2**24 pairs; each well under a second.
    grid = np.zeros((40 * 256, 4))
    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    t0 = time.perf_counter()
    timer.start()
    try:
        simlanes.validate(grid, 0.5, n=64, sims=65536, threads=2)
    except KeyboardInterrupt:
        pass
    else:
        raise AssertionError("not interrupted")
    finally:
        timer.cancel()
    assert time.perf_counter() - t0 < 10.0
