"""The node's ~/ services and /diagnostics, and that the API key never leaks."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.srv import ListParameters
from std_srvs.srv import SetBool, Trigger

from helpers.bags import bag_dirs
from helpers.processes import NodeProcess, start_sensors, stopped_after, wait_for, write_config
from helpers.ros_client import ros_client
from helpers.tus_server import TusServer

API_KEY = "dm-secret-4d3c2b1a"


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("services")
    server = TusServer(str(tmp / "server"), api_key=API_KEY).start()
    path = write_config(str(tmp / "dm.yaml"), {"gps1": [{"method": "Position"}],
                                                "camera1": [{"method": "PointCloud",
                                                             "capture_frequency_hz": 5}]},
                        capture_dir=str(tmp / "capture"), sync_url=server.url,
                        sync_disabled=True, api_key_env="DM_KEY")
    node = NodeProcess(path, str(tmp / "node.log"), env={"DM_KEY": API_KEY}).start()
    sensors = start_sensors(100, 20, 0, "--cloud-size", "8x8")
    try:
        with stopped_after(node, sensors), ros_client() as client:
            node.wait_log("capturing /camera1/point_cloud")
            yield tmp, node, client, server
    finally:
        server.kill()


def split_and_sync(tmp, client, server) -> tuple[Trigger.Response, Trigger.Response]:
    """~/split_bag once the bag holds messages, then ~/sync; returns both answers once the
    split file is on the server."""
    wait_for(lambda: bag_dirs(str(tmp / "capture")), 10, "a bag")
    bag = bag_dirs(str(tmp / "capture"))[-1]
    wait_for(lambda: any(os.path.getsize(os.path.join(bag, n)) > 8192 for n in os.listdir(bag)
                         if n.endswith(".active")), 10, "messages in the open file")
    split = client.call(Trigger, "split_bag", Trigger.Request())
    wait_for(lambda: any(n.endswith(".mcap") for n in os.listdir(bag)), 10, "the split file")
    sync = client.call(Trigger, "sync", Trigger.Request())
    name = os.path.basename(bag)
    wait_for(lambda: any(c["metadata"]["relative_path"].startswith(f"{name}/{name}_")
                         for c in server.completed()), 20, "the split file uploaded")
    return split, sync


def test_split_then_sync_now_uploads_although_sync_is_disabled(running):
    tmp, node, client, server = running
    split, sync = split_and_sync(tmp, client, server)
    assert split.success and "splitting" in split.message
    assert sync.success and sync.message.startswith("sync sweep queued; ")
    assert "file(s) already waiting" in sync.message


def test_pause_and_resume_keep_the_bag_as_rosbag2_does(running):
    """Pause finalizes the open file (it can be uploaded); resume records into a new file of
    the same bag, which keeps one metadata.yaml."""
    tmp, node, client, _ = running
    wait_for(lambda: bag_dirs(str(tmp / "capture")), 10, "a bag")
    bag = bag_dirs(str(tmp / "capture"))[-1]
    wait_for(lambda: active_files(bag), 10, "a file being written")
    answer = client.call(SetBool, "pause_capture", SetBool.Request(data=True))
    assert answer.success and answer.message == "capture paused"
    wait_for(lambda: not active_files(bag), 10, "the open file to be finalized")
    files = finished_files(bag)
    client.next_message(DiagnosticArray, "/diagnostics", lambda m: any(
        s.message == "paused by ~/pause_capture" for s in m.status))  # not "capturing"
    assert os.path.exists(os.path.join(bag, ".recording")) and not active_files(bag)
    answer = client.call(SetBool, "pause_capture", SetBool.Request(data=False))
    assert answer.message == "capture resumed"
    wait_for(lambda: active_files(bag), 10, "a new file in the same bag")
    assert bag_dirs(str(tmp / "capture"))[-1] == bag
    assert finished_files(bag) == files


def active_files(bag: str) -> list[str]:
    return [n for n in os.listdir(bag) if n.endswith(".mcap.active")]


def finished_files(bag: str) -> list[str]:
    return sorted(n for n in os.listdir(bag) if n.endswith(".mcap"))


def test_status_command_offline_and_live(running):
    tmp, _, _, _ = running
    offline = subprocess.run([sys.executable, "-m", "data_manager_ros.tools.status",
                              "--capture-dir", str(tmp / "capture")],
                             capture_output=True, text=True, check=True)
    assert "recording" in offline.stdout and "backlog:" in offline.stdout
    live = subprocess.run([sys.executable, "-m", "data_manager_ros.tools.status", "--live",
                           "--node", "/data_manager"],
                          capture_output=True, text=True, timeout=60)
    assert live.stdout.startswith("/data_manager\n")
    assert "/camera1/point_cloud" in live.stdout and "of 5.0 Hz [" in live.stdout
    assert "/data_manager: sync" in live.stdout
    other = subprocess.run([sys.executable, "-m", "data_manager_ros.tools.status", "--live",
                            "--node", "robot9/data_manager", "--timeout", "2"],
                           capture_output=True, text=True, timeout=60)
    assert "no diagnostics from data manager /robot9/data_manager" in other.stdout
    assert other.returncode == 1


def test_diagnostics_report_each_method_and_sync(running):
    tmp, _, client, _ = running

    def complete(msg: DiagnosticArray) -> bool:
        names = {s.name for s in msg.status}
        return {"/data_manager: capture gps1/Position", "/data_manager: capture camera1/PointCloud",
                "/data_manager: sync"} <= names and all(
            int(dict((kv.key, kv.value) for kv in s.values).get("written", "1")) > 0
            for s in msg.status)

    array = client.next_message(DiagnosticArray, "/diagnostics", complete)
    status = {s.name: {kv.key: kv.value for kv in s.values} for s in array.status}
    camera = status["/data_manager: capture camera1/PointCloud"]
    # the rate it measures; that the throttle holds is judged from bags (assert_throttled),
    # where a busy machine cannot bend it
    assert camera["configured_hz"] == "5.0" and float(camera["actual_hz"]) > 0
    assert status["/data_manager: sync"]["uploaded_files"].isdigit()


def test_the_api_key_is_used_but_shows_in_no_parameter_diagnostic_or_log(running):
    tmp, node, client, server = running
    split_and_sync(tmp, client, server)  # the server takes an upload only with the key
    names = client.call(ListParameters, "list_parameters", ListParameters.Request()).result.names
    parameters = "\n".join(f"{name}: {client.get(name)}" for name in names)
    diagnostics = str(client.next_message(DiagnosticArray, "/diagnostics", lambda m: True))
    assert "api_key_env: DM_KEY" in parameters and "/data_manager: sync" in diagnostics
    for output in (parameters, diagnostics, node.log()):
        assert API_KEY not in output
