"""How deep a topic's DDS reader is: how many samples DDS may hold for the node while its
executor is busy.

What suits a topic depends on the size of its messages: 1000 samples of a 100 B fix are
nothing, 1000 of a 4.9 MB cloud are 4.9 GB. A reader's depth is fixed when it is created,
and the size is known only once messages are seen, so:

- before any is seen, the type decides. A type whose size is bounded (no unbounded sequence
  anywhere in it, strings aside: a fix, an IMU sample) gets the configured depth. A type that
  can carry bulk data (an image, a cloud, a scan) starts at ``UNSIZED_START_DEPTH``;
- once messages are seen, the memory budget's split decides (capture/memory_budget.py), and
  the topic moves to a reader of that depth (capture/handover.py) where ``moved_depth`` says
  it is worth it.

A move is not free. Fast DDS keeps one payload pool per topic and process, and every payload
it allocated while both readers received stays in that pool for as long as any reader of the
topic lives: about three of the topic's largest messages. Measured on a 4.9 MB cloud topic, the
node's heap kept 29 MiB in use instead of 19 for the rest of the run and peaked at 54 MiB
instead of 35 (docs/performance.md). So a topic of large messages keeps its first reader
unless that holds twice its part of the budget or more; a topic whose messages turn out small
moves up, where the pool keeps little.
"""

from __future__ import annotations

# rosbag2's depth. A first reader of depth 1 (tried) lost clouds to DDS before its topic's
# size and rate were measured (0-2 of 449 per camera), and saved no memory measurably
ROSBAG2_DEPTH = 10
UNSIZED_START_DEPTH = ROSBAG2_DEPTH
# below rosbag2's depth (a smaller budget pushed it there), a topic of large messages moves up
# where its part allows
# a move up leaves about three such messages in DDS's pool for good: a few hundred KiB at most
MOVE_UP_MAX_BYTES = 64 * 1024
MOVE_DOWN_MIN_BYTES = 1 << 20


def start_depth(unbounded_type: bool, configured_depth: int) -> int:
    """The depth of a topic's first reader, before any of its messages is seen."""
    return min(configured_depth, UNSIZED_START_DEPTH) if unbounded_type else configured_depth


def moved_depth(current_depth: int, target_depth: int, largest_bytes: int) -> int | None:
    """The depth to move the topic's reader to, or None to keep it: down where it holds twice
    its part or more and that frees a MiB at least, up (at least twice as deep) where the
    messages are small or a smaller budget had pushed it below rosbag2's depth."""
    if target_depth * 2 <= current_depth:
        # a few hundred fixes fewer free nothing worth a second reader
        saved = (current_depth - target_depth) * largest_bytes
        return target_depth if saved >= MOVE_DOWN_MIN_BYTES else None
    if target_depth >= current_depth * 2 and 0 < largest_bytes and (
            largest_bytes <= MOVE_UP_MAX_BYTES or current_depth < ROSBAG2_DEPTH):
        return target_depth
    return None
