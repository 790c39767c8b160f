#!/usr/bin/env python3
"""Test vectors for simcore's correctly rounded exp (math/exp_correctly_rounded.rs).

Each line is ``x e`` as hex f64 bit patterns: ``e`` is exp(x) from Python's ``decimal``
at 60 significant digits, rounded to the nearest f64 by ``float()`` (a correctly rounded
conversion, subnormals included). The 60-digit intermediate could only misround if
exp(x) lay within 1e-60 relative of a half-way point between doubles; no binary64 x
comes that close. Also prints ln(2)·2^240 (floor) as the Rust constant's limbs.

Usage: python3 scripts/exp_vectors.py > crates/simcore/tests/data/exp_correctly_rounded.txt
"""
import math
import random
import struct
import sys
from decimal import Decimal, getcontext


def bits(x: float) -> str:
    return f"{struct.unpack('<Q', struct.pack('<d', x))[0]:016x}"


def from_bits(b: int) -> float:
    return struct.unpack('<d', struct.pack('<Q', b))[0]


def exp_cr(x: float) -> float:
    getcontext().prec = 60
    return float(Decimal(x).exp())


def ln2_limbs():
    getcontext().prec = 120
    n = int((Decimal(2).ln() * (Decimal(2) ** 240)).to_integral_value(rounding="ROUND_FLOOR"))
    return [hex((n >> (64 * i)) & (2**64 - 1)) for i in range(4)]


def inputs(rng: random.Random):
    xs = []
    xs += [rng.uniform(-745.2, 709.78) for _ in range(600)]             # whole range
    xs += [s * 2.0 ** rng.uniform(-60, 9.5) for s in (-1, 1) for _ in range(300)]  # magnitudes
    xs += [-(rng.uniform(1e-4, 10) / rng.uniform(1e-3, 100)) for _ in range(600)]  # -dt/tau
    xs += [rng.uniform(-745.2, -707.0) for _ in range(200)]            # subnormal results
    xs += [rng.uniform(708.0, 709.78) for _ in range(100)]             # near overflow
    for _ in range(300):                                               # near k·ln2
        k = rng.randint(-1074, 1023)
        x = k * math.log(2)
        b = struct.unpack('<Q', struct.pack('<d', x))[0] + rng.randint(-3, 3)
        xs.append(from_bits(b))
    xs += [-0.1, -1.0, 1.0, 0.5, -0.5, -745.0, -744.44, 709.78, -708.39641853226408]
    return [x for x in xs if x != 0.0 and -746 < x < 709.78]


def main():
    rng = random.Random(20261203)
    print(f"# ln2·2^240 limbs (little-endian): {ln2_limbs()}", file=sys.stderr)
    print("# x e: hex bits of x and of exp(x) correctly rounded (scripts/exp_vectors.py)")
    for x in inputs(rng):
        print(bits(x), bits(exp_cr(x)))


if __name__ == "__main__":
    main()
