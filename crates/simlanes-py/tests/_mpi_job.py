"""Run by test_tiles.py under `mpiexec -n 3 python -m mpi4py.futures _mpi_job.py OUT`: rank 0
maps the tiles onto ranks 1-2 with mpi4py's MPIPoolExecutor and saves the merged results."""

import sys

import numpy as np
from mpi4py.futures import MPIPoolExecutor

import simlanes
from test_tiles import KW, make_grid

if __name__ == "__main__":
    g, null = make_grid()
    with MPIPoolExecutor() as ex:
        v = simlanes.map_tiles(ex, "validate", g, lam=0.5, null=null, tile_points=8, **KW)
        c = simlanes.map_tiles(ex, "calibrate", g, alpha=0.1, null=null, tile_points=8, **KW)
    np.savez(sys.argv[1], count=v.count, upper=v.upper, lam=c.lam, argmin=c.argmin, min_lam=c.min_lam)
