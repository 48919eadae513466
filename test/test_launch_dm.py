"""launch_testing: ``dm.launch.py`` records, takes a param change, and exits cleanly.

Runs where launch_testing is installed (colcon test in a ROS image); elsewhere
it is skipped, since launch and launch_testing are not on PyPI.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import unittest

import pytest

pytest.importorskip("launch_testing")
pytest.importorskip("launch_ros")

import launch  # noqa: E402
import launch_testing.actions  # noqa: E402
import launch_testing.asserts  # noqa: E402
import rclpy  # noqa: E402
from ament_index_python.packages import get_package_share_directory  # noqa: E402
from launch.actions import ExecuteProcess, IncludeLaunchDescription  # noqa: E402
from launch.launch_description_sources import PythonLaunchDescriptionSource  # noqa: E402

from helpers.bags import bag_dirs  # noqa: E402
from helpers.processes import wait_for, write_config  # noqa: E402
from helpers.ros_client import RosClient  # noqa: E402

CAPTURE = tempfile.mkdtemp(prefix="dm-launch-")


@pytest.mark.launch_test
def generate_test_description():
    config = write_config(os.path.join(CAPTURE, "dm.yaml"), {"gps1": [{"method": "Position"}]},
                          capture_dir=os.path.join(CAPTURE, "capture"), sync_disabled=True,
                          maximum_capture_file_duration_s=1.0)
    launch_file = os.path.join(get_package_share_directory("data_manager_ros"), "launch",
                               "dm.launch.py")
    data_manager = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(launch_file),
        launch_arguments={"config_file": config, "log_level": "info"}.items())
    sensors = ExecuteProcess(cmd=[sys.executable, "-m", "data_manager_ros.demo",
                                  "--gps-hz", "50", "--cloud-hz", "0"], output="screen")
    return launch.LaunchDescription([
        data_manager, sensors, launch_testing.actions.ReadyToTest()]), {"sensors": sensors}


class TestRecording(unittest.TestCase):
    def test_a_bag_appears(self, proc_output):
        proc_output.assertWaitFor("capturing /gps1/position", timeout=60, stream="stderr")
        capture = os.path.join(CAPTURE, "capture")
        wait_for(lambda: any(n.endswith(".mcap") for b in bag_dirs(capture)
                             for n in os.listdir(b)), 30, "a closed bag file")

    def test_param_change_takes_effect(self):
        rclpy.init()
        client = RosClient()
        try:
            self.assertEqual(client.set("capture_disabled", True), (True, ""))
            [bag] = bag_dirs(os.path.join(CAPTURE, "capture"))
            wait_for(lambda: not os.path.exists(os.path.join(bag, ".recording")), 10, "closed")
            ok, reason = client.set("sync_interval_mins", -1.0)
            self.assertFalse(ok)
            time.sleep(0.5)
        finally:
            client.close()
            rclpy.shutdown()


@launch_testing.post_shutdown_test()
class TestShutdown(unittest.TestCase):
    def test_data_manager_exits_cleanly(self, proc_info):
        launch_testing.asserts.assertExitCodes(proc_info, allowable_exit_codes=[0, -2, -15])
