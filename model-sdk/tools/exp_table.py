"""Prints the table of `math::exp` (model-sdk/src/math/exp_table.rs): 2^(j/128) for j = 0..127,
each as the nearest double and the nearest double to what that leaves, from 60-digit decimals.

Usage: python3 model-sdk/tools/exp_table.py > model-sdk/src/math/exp_table.rs
"""

import struct
from decimal import Decimal, getcontext

getcontext().prec = 60
N = 128


def bits(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


print("//! Written by model-sdk/tools/exp_table.py: do not edit.")
print("")
print(f"/// 2^(j/{N}) for j = 0..{N - 1} as the bits of (nearest double, nearest double to the rest).")
print(f"pub(super) const TWO_TO_J_OVER_{N}: [(u64, u64); {N}] = [")
ln2 = Decimal(2).ln()
for j in range(N):
    exact = (ln2 * j / N).exp()
    hi = float(exact)
    lo = float(exact - Decimal(hi))
    print(f"    (0x{bits(hi):016X}, 0x{bits(lo):016X}),")
print("];")
