"""A bag file's track for the catalog: the fix's position read from its CDR by hand (the
upload process loads no rclpy), judged against rclpy's own serialization, and decimated."""

from __future__ import annotations

import json
import math
import os

from rclpy.serialization import serialize_message
from sensor_msgs.msg import NavSatFix

from data_manager_ros.sync.track import MAX_POINTS, position
from data_manager_ros.sync.upload_metadata import _bag_facts
from helpers.bag_samples import write_bag


def test_the_position_read_by_hand_is_rclpys():
    for frame in ("", "g", "gps", "gps_front_left"):  # every alignment the frame_id gives
        fix = NavSatFix(latitude=47.3977419, longitude=8.5455938, altitude=488.1)
        fix.header.frame_id = frame
        assert position(serialize_message(fix)) == (47.3977419, 8.5455938)
    assert position(serialize_message(NavSatFix(latitude=math.nan))) is None  # no fix
    assert position(serialize_message(NavSatFix(latitude=91.0))) is None
    assert position(b"\x00\x01") is None  # not a fix at all


def test_a_bag_files_track_holds_at_most_max_points_from_a_few_chunks(tmp_path):
    write_bag(tmp_path / "bag", count=1000)  # 4 KiB chunks: dozens of them
    [name] = [n for n in os.listdir(tmp_path / "bag") if n.endswith(".mcap")]
    points = json.loads(_bag_facts(str(tmp_path / "bag" / name))["track"])["/gps"]
    # fix(i) is at (i, -1.5 i); only those still on the globe (i <= 90) are points
    steps = [lat for lat, _ in points]
    assert 0 < len(points) <= MAX_POINTS
    assert all(lon == -1.5 * lat and lat.is_integer() for lat, lon in points)
    assert steps == sorted(steps) and steps[0] <= 5 and steps[-1] >= 80  # the whole path
