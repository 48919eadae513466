"""A topic's reader depth: by its type before a message is seen, then by the byte budget, and
moved only where a move pays for what it leaves in DDS's payload pool."""

from __future__ import annotations

from data_manager_ros.capture.reader_depth import (
    MOVE_UP_MAX_BYTES,
    UNSIZED_START_DEPTH,
    budget_depth,
    moved_depth,
    start_depth,
)
from data_manager_ros.node.message_types import unbounded

BUDGET = 256 << 20


def test_the_depth_fits_the_budget_within_rosbag2s_default_and_the_configured_depth():
    assert budget_depth(4_900_000, BUDGET, 1000) == 54
    assert budget_depth(100, BUDGET, 1000) == 1000
    assert budget_depth(100 << 20, BUDGET, 1000) == 10  # never below rosbag2's default
    assert budget_depth(100 << 20, BUDGET, 5) == 5  # nor above what is configured
    assert budget_depth(0, BUDGET, 1000) == 1000  # nothing seen yet


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


def test_a_bulk_type_starts_at_the_unsized_depth_a_bounded_one_at_the_configured_one():
    assert start_depth(True, 1000) == UNSIZED_START_DEPTH
    assert start_depth(True, 20) == 20  # never above what is configured
    assert start_depth(False, 1000) == 1000


def test_large_messages_move_down_only_where_dds_could_hold_twice_the_budget():
    # 4.9 MB clouds at the unsized start depth: 100 of them are within twice 256 MiB
    assert moved_depth(UNSIZED_START_DEPTH, 4_900_000, BUDGET, 1000) is None
    # ...but not at depth 1000 (a bounded-looking start, or a configured depth)
    assert moved_depth(1000, 4_900_000, BUDGET, 1000) == 54
    assert moved_depth(UNSIZED_START_DEPTH, 20 << 20, BUDGET, 1000) == 12


def test_small_messages_move_up_to_the_configured_depth_large_ones_never_do():
    assert moved_depth(UNSIZED_START_DEPTH, 2_000, BUDGET, 1000) == 1000
    assert moved_depth(UNSIZED_START_DEPTH, MOVE_UP_MAX_BYTES, BUDGET, 1000) == 1000
    # a 100 KiB message could go deeper, but the move would leave ~300 KiB in DDS's pool
    assert moved_depth(UNSIZED_START_DEPTH, 100 << 10, BUDGET, 1000) is None
    assert moved_depth(UNSIZED_START_DEPTH, 2_000, BUDGET, 150) is None  # not twice as deep
    assert moved_depth(UNSIZED_START_DEPTH, 0, BUDGET, 1000) is None  # nothing seen yet
