"""`faulty-py`: a test model in Python that misbehaves on request, one way per value of `mode`.

It mirrors the Rust `faulty` (../faulty/src/lib.rs) for the modes that mean something in Python,
through the guest library's batch loop (model-sdk/python/mcp_model.py):

| mode | behaviour |
|---|---|
| 0 | `y = x` |
| 1 | raises ValueError: the scenario fails with `ValueError: mode 1 refuses x = <x>` |
| 2 | recurses without bound: Python's recursion limit raises RecursionError (a failure) |
| 3 | loops forever (out of fuel) |
| 4 | returns NaN |
| 5 | grows memory without bound (memory limit) |
| 8 | returns no outputs: the library fails the scenario (expected 1 output) |
| 9 | prints to stdout and stderr, then `y = x` |
| 12 | probes the host: `y` is a bit set of what it could see (0 when nothing) |
| 13 | `y` is a value drawn from Python's random sources and the wall clock |
| other | `y = x` |
"""

import os
import random
import socket
import sys
import time

from mcp_model import export_model


def evaluate(mode, x):
    """One scenario of the given mode."""
    mode = int(mode)
    if mode == 1:
        raise ValueError(f"mode 1 refuses x = {_display(x)}")
    if mode == 2:
        return float(_recurse(int(x) + 1))
    if mode == 3:
        i = 0
        while True:
            i += 1
    if mode == 4:
        return float("nan")
    if mode == 5:
        # Reserve without touching, so that growing memory, not fuel, is the limit hit (filling
        # 64 MiB costs more than a scenario's fuel): list.extend makes room for as many items as
        # the iterable's length hint promises before it iterates, and keeps it when that fails.
        hoard = []
        while True:
            room = []
            try:
                room.extend(_Promise(1 << 20))
            except _Broken:
                pass
            hoard.append(room)
    if mode == 8:
        return ()
    if mode == 9:
        print(f"faulty-py says hello on stdout, x = {_display(x)}")
        print("faulty-py says hello on stderr", file=sys.stderr)
        return x
    if mode == 12:
        return float(_probe_host())
    if mode == 13:
        return _entropy_and_time()
    return x


def _display(x):
    """`x` as Rust's `{x}` shows an f64: `2` for 2.0, `2.5` for 2.5."""
    return str(int(x)) if x.is_integer() and abs(x) < 1e16 else repr(x)


class _Broken(Exception):
    """The failure of a _Promise."""


class _Promise:
    """An iterable promising `n` items that fails at the first."""

    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return self

    def __next__(self):
        raise _Broken

    def __length_hint__(self):
        return self.n


def _recurse(n):
    return _recurse(n + 1) + 1


def _read(path):
    with open(path, "rb") as file:
        file.read(1)


def _tcp():
    socket.create_connection(("127.0.0.1", 5672), timeout=1).close()


def _udp():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("127.0.0.1", 0))


def _require(condition):
    if not condition:
        raise LookupError("nothing there")


def _clock_moves():
    start = time.perf_counter_ns()
    spin = 0
    for i in range(1_000):
        spin += i
    _require(time.perf_counter_ns() != start)


# What the model could reach of the host, one bit each (as the Rust `faulty`): each probe is a
# function that raises when it sees nothing; a bit is set when any of its probes returns.
_PROBES = [
    (1, [lambda: _read("/etc/passwd"), lambda: _read("faulty-py.wasm")]),
    (2, [lambda: os.listdir("."), lambda: os.listdir("/")]),
    (4, [lambda: _require(len(os.environ) > 0)]),
    (8, [lambda: _require(len(sys.argv) > 0 and any(sys.argv))]),
    (16, [_tcp]),
    (32, [lambda: socket.getaddrinfo("localhost", 80)]),
    (64, [_udp]),
    (128, [lambda: _require(time.time_ns() != 0)]),
    (256, [_clock_moves]),
]


def _probe_host():
    """The bit set of what the probes saw; a refusal is an exception, caught here."""
    seen = 0
    for bit, probes in _PROBES:
        for probe in probes:
            try:
                probe()
            except Exception:
                continue
            seen |= bit
            break
    return seen


def _entropy_and_time():
    """Mixes Python's random sources and the wall clock into one number: the `random` module,
    `os.urandom` (the host's entropy) and `time.time_ns()`; 52 bits keep it exact in a float."""
    mixed = random.getrandbits(64)
    try:
        mixed ^= int.from_bytes(os.urandom(8), "little")
    except Exception:
        pass
    try:
        mixed ^= time.time_ns()
    except Exception:
        pass
    return float((mixed & (2**64 - 1)) >> 12)


Evaluate = export_model(
    name="faulty-py",
    version="0.1.0",
    inputs=["mode", "x"],
    outputs=["y"],
    evaluate=evaluate,
)
