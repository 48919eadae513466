"""glibc's heap, set for a process that takes a multi-megabyte message many times a second.

rclpy hands every message over as a new ``bytes``. By default glibc serves one of 4.9 MB (a
point cloud) from the heap once the first such block was freed, and gives the heap's top
back to the kernel whenever 2x that lies free there: with a 30 Hz camera the top grows and
shrinks with every cloud, and each time the kernel faults in and zeroes 1,200 fresh pages.
perf put a quarter of the executor thread's samples there, with the cloud's unmapping on the
writer thread. Fixed thresholds (mallopt) keep such blocks in the heap and its top in place:
the GPS + camera pair recorded with 36-42% of a core instead of 53-55%, at a lower peak RSS
(104 MiB against 113; docs/performance.md). Not glibc (musl): nothing to set.
"""

from __future__ import annotations

import ctypes

MIB = 1 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
# glibc's ceiling for the mmap threshold on 64-bit; larger messages are still mapped alone
MMAP_THRESHOLD_BYTES = 32 * MIB
# free bytes the heap's top may keep: a few clouds, so the next ones reuse those pages
TRIM_THRESHOLD_BYTES = 64 * MIB


def keep_large_blocks() -> bool:
    """Set the thresholds; False where the C library has no ``mallopt`` or refuses them."""
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is None:
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
                and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))
