"""A topic's reader depth: by its type before a message is seen, then by the memory budget's
split, and moved only where a move pays for what it leaves in DDS's payload pool."""

from __future__ import annotations

from data_manager_ros.capture.reader_depth import (
    MOVE_UP_MAX_BYTES,
    ROSBAG2_DEPTH,
    UNSIZED_START_DEPTH,
    moved_depth,
    start_depth,
)
from data_manager_ros.node.message_types import unbounded


def test_types_that_can_carry_bulk_data_are_told_from_bounded_ones():
    for bulk in ("sensor_msgs/msg/PointCloud2", "sensor_msgs/msg/Image",
                 "sensor_msgs/msg/CompressedImage", "sensor_msgs/msg/LaserScan",
                 "sensor_msgs/msg/JointState", "diagnostic_msgs/msg/DiagnosticArray"):
        assert unbounded(bulk), bulk
    # strings and fixed arrays, nested or not, are bounded
    for bounded in ("sensor_msgs/msg/NavSatFix", "sensor_msgs/msg/Imu", "std_msgs/msg/Header",
                    "std_srvs/srv/Trigger_Event"):  # a service event: sequences of at most 1
        assert not unbounded(bounded), bounded
    assert unbounded("no_such_pkg/msg/Thing")  # unknown: assume the worst


def test_a_bulk_type_starts_at_rosbag2s_depth_a_bounded_one_at_the_configured_one():
    assert start_depth(True, 1000) == UNSIZED_START_DEPTH == 10
    assert start_depth(True, 5) == 5  # never above what is configured
    assert start_depth(False, 1000) == 1000


def test_a_reader_moves_down_only_where_it_holds_twice_its_part():
    assert moved_depth(ROSBAG2_DEPTH, 5, 4_900_000) == 5
    assert moved_depth(ROSBAG2_DEPTH, 6, 4_900_000) is None  # not worth the pool
    assert moved_depth(1000, 54, 4_900_000) == 54
    assert moved_depth(1000, 1, 128) is None  # 128 kB of fixes: not worth a second reader


def test_small_messages_move_up_large_ones_only_up_to_rosbag2s_depth():
    assert moved_depth(ROSBAG2_DEPTH, 1000, 2_000) == 1000
    assert moved_depth(ROSBAG2_DEPTH, 1000, MOVE_UP_MAX_BYTES) == 1000
    # a 100 KiB message could go deeper, but the move would leave ~300 KiB in DDS's pool
    assert moved_depth(ROSBAG2_DEPTH, 1000, 100 << 10) is None
    # at rosbag2's depth a topic of large messages stays; pushed below it by a smaller
    # budget, it moves back up once its part allows
    assert moved_depth(ROSBAG2_DEPTH, 13, 4_900_000) is None
    assert moved_depth(1, 13, 4_900_000) == 13
    assert moved_depth(1, 1, 4_900_000) is None
    assert moved_depth(ROSBAG2_DEPTH, 15, 2_000) is None  # not twice as deep
    assert moved_depth(ROSBAG2_DEPTH, 1000, 0) is None  # nothing seen yet
