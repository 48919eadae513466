"""A new bag never takes the name of a bag that exists or was recovered at start, even once
the uploader has removed that bag's directory."""

from __future__ import annotations

import os

from data_manager_ros.layout import new_bag_dir

NAME = "rosbag2_2026_12_07-04_08_03"


def test_a_name_in_use_or_recovered_gets_the_next_suffix(tmp_path):
    assert new_bag_dir(str(tmp_path), NAME) == os.path.join(tmp_path, NAME)
    os.mkdir(tmp_path / NAME)
    assert new_bag_dir(str(tmp_path), NAME) == os.path.join(tmp_path, f"{NAME}_1")
    os.rmdir(tmp_path / NAME)  # uploaded and removed: recovered at start all the same
    assert new_bag_dir(str(tmp_path), NAME, {NAME, f"{NAME}_1"}) == os.path.join(
        tmp_path, f"{NAME}_2")
