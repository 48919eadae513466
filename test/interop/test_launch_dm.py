"""launch_testing: ``dm.launch.py`` as a ROS user runs it, in a namespace, under a node name of
its choosing, with a params file.

It records the relative topic in the node's namespace, takes the params file keyed ``/**``,
logs debug lines of its own (and none of rcl's), takes an integer for a float parameter with
an observable effect on the recorded rate, refuses a bad value, splits the bag and syncs it to
a real tus server through its services, and on SIGINT every process exits 0 with the bag
finalized.
Runs under pytest (the launch_testing plugin) and as ``launch_test test/test_launch_dm.py``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import unittest

import launch
import launch_testing.actions
import launch_testing.asserts
import pytest
import rclpy
import yaml
from ament_index_python.packages import get_package_share_directory
from launch.actions import ExecuteProcess, IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from std_srvs.srv import Trigger

# `launch_test FILE` runs this file as a script, without pytest's pythonpath setting
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from helpers.bags import assert_throttled, bag_dirs, closed_messages  # noqa: E402
from helpers.processes import wait_for, write_config  # noqa: E402
from helpers.ros_client import RosClient  # noqa: E402
from helpers.tus_server import TusServer  # noqa: E402

CAPTURE = tempfile.mkdtemp(prefix="dm-launch-")
SERVER = TusServer(os.path.join(CAPTURE, "server"))
TOPIC = "/robot1/gps1/position"
NODE = "/robot1/recorder1"  # the node_name argument, as `ros2 bag record --node-name`
SECOND = 1_000_000_000


@pytest.mark.launch_test
def generate_test_description():
    SERVER.start()
    config = write_config(os.path.join(CAPTURE, "dm.yaml"), {"gps1": [{"method": "Position"}]},
                          capture_dir=os.path.join(CAPTURE, "capture"), sync_disabled=True,
                          sync_url=SERVER.url)
    params = os.path.join(CAPTURE, "params.yaml")
    with open(params, "w", encoding="utf-8") as handle:  # without it, files split after 60 s
        yaml.safe_dump({"/**": {"ros__parameters": {"maximum_capture_file_duration_s": 1.0}}},
                       handle)
    launch_file = os.path.join(get_package_share_directory("data_manager_ros"), "launch",
                               "dm.launch.py")
    data_manager = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(launch_file),
        launch_arguments={"config_file": config, "params_file": params, "namespace": "robot1",
                          "node_name": "recorder1", "log_level": "debug"}.items())
    sensors = ExecuteProcess(cmd=[sys.executable, "-m", "data_manager_ros.tools.demo_sensors",
                                  "--gps-hz", "200", "--cloud-hz", "0", "--ros-args", "-r",
                                  f"/gps1/position:={TOPIC}"], output="screen")
    return launch.LaunchDescription([
        data_manager, sensors, launch_testing.actions.ReadyToTest()]), {"sensors": sensors}


class TestDataManager(unittest.TestCase):
    def test_1_records_the_relative_topic_in_its_namespace_with_the_params_file(self,
                                                                                proc_output):
        proc_output.assertWaitFor(f"capturing {TOPIC}", timeout=60, stream="stderr")
        capture = os.path.join(CAPTURE, "capture")
        wait_for(lambda: bag_dirs(capture) and closed_messages(bag_dirs(capture)[0], 0), 30,
                 "a closed bag file (the params file's 1 s split)")
        self.assertEqual(set(closed_messages(bag_dirs(capture)[0], 0)), {TOPIC})
        proc_output.assertWaitFor("[robot1.recorder1]: flushed", timeout=10,
                                  stream="stderr")

    def test_2_debug_lines_are_the_node_own(self, proc_output):
        for output in proc_output:
            self.assertNotIn("[rcl]", output.text.decode(errors="replace"))

    def test_3_an_integer_sets_a_float_parameter_live(self):
        rclpy.init()
        client = RosClient(NODE)
        try:
            self.assertEqual(client.set("methods.gps1.Position.capture_frequency_hz", 10),
                             (True, ""))
            stored = client.get("methods.gps1.Position.capture_frequency_hz")
            self.assertEqual((stored, type(stored)), (10.0, float))  # the type stays
            changed = rclpy.clock.Clock().now().nanoseconds
            [bag] = bag_dirs(os.path.join(CAPTURE, "capture"))
            after: dict = {}

            def three_seconds_recorded() -> bool:
                after.update(closed_messages(bag, changed + SECOND // 2))
                times = after.get(TOPIC, [])
                return len(times) > 1 and times[-1] - times[0] >= 3 * SECOND

            wait_for(three_seconds_recorded, 30, "3 s recorded after the change")
            assert_throttled(after[TOPIC], 10.0)
            ok, reason = client.set("sync_interval_mins", -1)
            self.assertFalse(ok)
            self.assertIn("sync_interval_mins out of range Min: 0.001", reason)
            self.assertEqual(client.get("sync_interval_mins"), 0.1)
        finally:
            client.close()
            rclpy.shutdown()

    def test_4_split_bag_and_sync_reach_the_tus_server(self):
        rclpy.init()
        client = RosClient(NODE)
        try:
            split = client.call(Trigger, "split_bag", Trigger.Request())
            self.assertTrue(split.success and "splitting" in split.message, split.message)
            sync = client.call(Trigger, "sync", Trigger.Request())
            self.assertTrue(sync.success, sync.message)
            wait_for(lambda: any(u["metadata"]["relative_path"].endswith(".mcap")
                                 for u in SERVER.completed()), 30, "a bag file on the server")
        finally:
            client.close()
            rclpy.shutdown()


@launch_testing.post_shutdown_test()
class TestShutdown(unittest.TestCase):
    @classmethod
    def tearDownClass(cls) -> None:
        SERVER.kill()

    def test_every_process_exits_cleanly(self, proc_info):
        launch_testing.asserts.assertExitCodes(proc_info, allowable_exit_codes=[0])

    def test_the_bag_is_finalized(self):
        bags = bag_dirs(os.path.join(CAPTURE, "capture"))
        self.assertTrue(bags)
        for bag in bags:
            names = os.listdir(bag)
            self.assertIn("metadata.yaml", names)
            self.assertFalse([n for n in names if n.endswith(".active") or n == ".recording"])
