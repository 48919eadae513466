"""The node's heap thresholds: a message-sized block, freed and taken again, reuses its pages."""

from __future__ import annotations

import subprocess
import sys

# in a fresh interpreter: minor page faults of 30 cycles of three 4.9 MB bytes made, then
# dropped, as rclpy makes one per point cloud and the writer drops them a few at a time
CYCLES = """
import resource, sys
from data_manager_ros.node.heap import keep_large_blocks
if sys.argv[1] == "set":
    assert keep_large_blocks()
blocks = [b"\x01" * 4_900_000 for _ in range(3)]  # the first ones settle the heap's size
del blocks
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(30):
    blocks = [b"\x01" * 4_900_000 for _ in range(3)]
    del blocks
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def faults(mode: str) -> int:
    return int(subprocess.run([sys.executable, "-c", CYCLES, mode], check=True,
                              capture_output=True, text=True).stdout)


def test_a_freed_message_block_is_reused_without_faulting_in_fresh_pages():
    default, kept = faults("default"), faults("set")
    pages = 4_900_000 // 4096
    assert default > 30 * pages, f"glibc's defaults faulted only {default} pages in 30 cycles"
    assert kept < 3 * pages, f"{kept} page faults in 30 cycles with the thresholds set"
