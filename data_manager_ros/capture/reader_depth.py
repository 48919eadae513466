"""How deep a topic's DDS reader is: how many samples DDS may hold for the node while its
executor is busy.

What suits a topic depends on the size of its messages: 1000 samples of a 100 B fix are
nothing, 1000 of a 4.9 MB cloud are 4.9 GB. A reader's depth is fixed when it is created,
and the size is known only once messages are seen, so:

- before any is seen, the type decides. A type whose size is bounded (no unbounded sequence
  anywhere in it, strings aside: a fix, an IMU sample) gets the configured depth. A type that
  can carry bulk data (an image, a cloud, a scan) starts at ``UNSIZED_START_DEPTH``;
- once messages are seen, the byte budget decides (``budget_depth``), and the topic moves to
  a reader of that depth (capture/handover.py) where ``moved_depth`` says it is worth it.

A move is not free. Fast DDS keeps one payload pool per topic and process, and every payload
it allocated while both readers received stays in that pool for as long as any reader of the
topic lives: about three of the topic's largest messages. Measured on a 4.9 MB cloud topic, the
node's heap kept 29 MiB in use instead of 19 for the rest of the run and peaked at 54 MiB
instead of 35 (docs/performance.md). So a topic of large messages is given, from the start, a
depth it can keep, and only where DDS could otherwise hold more than twice the budget is it
moved down; a topic whose messages turn out small is moved up, where the pool keeps little.
"""

from __future__ import annotations

# 3 s of a 30 Hz camera. 100 of a 2 MP lidar's 4.9 MB clouds are within twice the default
# budget (256 MiB), so such a topic keeps its first reader.
UNSIZED_START_DEPTH = 100
# a move up leaves about three such messages in DDS's pool for good: a few hundred KiB at most
MOVE_UP_MAX_BYTES = 64 * 1024
ROSBAG2_DEPTH = 10  # rosbag2's default: the least any topic's reader is given


def budget_depth(largest_bytes: int, budget_bytes: int, configured_depth: int) -> int:
    """The reader depth whose samples of the largest message seen fit the budget; never above
    the configured depth nor below rosbag2's default."""
    if largest_bytes <= 0:
        return configured_depth
    return max(min(ROSBAG2_DEPTH, configured_depth),
               min(configured_depth, budget_bytes // largest_bytes))


def start_depth(unbounded_type: bool, configured_depth: int) -> int:
    """The depth of a topic's first reader, before any of its messages is seen."""
    return min(configured_depth, UNSIZED_START_DEPTH) if unbounded_type else configured_depth


def moved_depth(current_depth: int, largest_bytes: int, budget_bytes: int,
                configured_depth: int) -> int | None:
    """The depth to move the topic's reader to, or None to keep it: down where DDS could hold
    twice the budget or more, up (at least twice as deep) where the messages are small."""
    depth = budget_depth(largest_bytes, budget_bytes, configured_depth)
    if depth * 2 <= current_depth:
        return depth
    if depth >= current_depth * 2 and 0 < largest_bytes <= MOVE_UP_MAX_BYTES:
        return depth
    return None
