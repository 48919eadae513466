"""What the topic selection adds to `ros2 bag record`'s: a method's settings over every topic its
topic_regex finds, the QoS overrides, custom_data, unpublished topics, live changes, and
rosbag2's recorder services on the node (`ros2 service call`)."""

from __future__ import annotations

import os
import subprocess
import time

import pytest
import yaml
from diagnostic_msgs.msg import DiagnosticArray
from mcap.reader import make_reader
from rclpy.qos import ReliabilityPolicy
from rclpy.serialization import deserialize_message
from std_msgs.msg import String

from helpers import judges
from helpers.bags import assert_throttled, bag_dirs, closed_messages, closed_payloads, read_bag
from helpers.processes import NodeProcess, stopped_after, wait_for, write_config
from helpers.ros_client import ros_client

SECOND = 1_000_000_000


def service_call(service: str, srv_type: str) -> str:
    return subprocess.run(judges.ros2("service", "call", service, srv_type), env=judges.env(),
                          capture_output=True, text=True, timeout=60, check=True).stdout


def test_methods_give_their_settings_to_what_the_selection_records(tmp_path, mixed_graph):
    """all_topics with three methods: a topic_regex method at 2 Hz over both cameras, a named
    method at 5 Hz on /imu, and a disabled topic_regex method that keeps /debug/* out. The
    rest of the graph is recorded at its 10 Hz."""
    path = write_config(
        str(tmp_path / "dm.yaml"),
        {"cams": [{"method": "Images", "topic_regex": "^/cam", "capture_frequency_hz": 2.0,
                   "tags": ["camera"]}],
         "imu": [{"method": "Data", "topic": "/imu", "capture_frequency_hz": 5.0}],
         "debug": [{"method": "Off", "topic_regex": "^/debug", "disabled": True}]},
        capture_dir=str(tmp_path / "capture"), sync_disabled=True, all_topics=True,
        maximum_capture_file_duration_s=1.0)
    node = NodeProcess(path, str(tmp_path / "node.log")).start()
    with stopped_after(node), ros_client() as client:
        node.wait_log("capturing /cam1/image", 30)
        started = time.time_ns()
        [bag] = wait_for_bag(tmp_path / "capture")
        wait_for(lambda: len(closed_messages(bag, started + SECOND).get("/status", [])) >= 30,
                 30, "3 s of /status recorded")
        array = client.next_message(DiagnosticArray, "/diagnostics", lambda m: any(
            "/cam0/image" in s.name for s in m.status))
    names = {s.name.split(": ", 1)[1] for s in array.status}
    assert {"capture cams/Images /cam0/image", "capture cams/Images /cam1/image",
            "capture imu/Data", "capture /status"} <= names
    recorded = closed_messages(bag, started + SECOND)
    assert not [t for t in recorded if t.startswith("/debug")]
    # each at its method's rate, judged per second and over the whole window
    assert_throttled(recorded["/cam0/image"], 2.0)
    assert_throttled(recorded["/cam1/image"], 2.0)
    assert_throttled(recorded["/imu"], 5.0)
    # the rest at its own rate: every tick /status counted, none lost
    ticks = [int(message.data) for message in read_bag(bag)["/status"]]
    assert ticks == list(range(ticks[0], ticks[0] + len(ticks))), ticks


def wait_for_bag(capture) -> list[str]:
    wait_for(lambda: bag_dirs(str(capture)), 30, "a bag")
    return bag_dirs(str(capture))


def test_qos_overrides_custom_data_and_unpublished_topics(tmp_path, mixed_graph):
    """A best-effort override against /imu's reliable publisher (depth 7), custom_data in
    metadata.yaml as rosbag2_py reads it (and changed live), and a method with a type
    subscribed before any publisher exists."""
    path = write_config(
        str(tmp_path / "dm.yaml"),
        {"imu": [{"method": "Data", "topic": "/imu"}],
         "late": [{"method": "Text", "topic": "/late_text", "type": "std_msgs/msg/String"}]},
        capture_dir=str(tmp_path / "capture"), sync_disabled=True,
        include_unpublished_topics=True,
        qos_overrides={"/imu": {"reliability": "best_effort", "depth": 7}},
        custom_data={"site": "lab", "driver": "ana"})
    node = NodeProcess(path, str(tmp_path / "node.log")).start()
    with stopped_after(node), ros_client() as client:
        node.wait_log("capturing /imu", 30)
        node.wait_log("capturing /late_text", 30)  # before any publisher
        def ours() -> list:  # as this client's graph has discovered it
            return [info for info in client.node.get_subscriptions_info_by_topic("/imu")
                    if info.node_name == "data_manager"]

        wait_for(ours, 30, "the node's /imu reader in the graph")
        assert [info.qos_profile.reliability for info in ours()] == [
            ReliabilityPolicy.BEST_EFFORT]
        assert "no publishers any more" not in node.log()  # it never had one
        publisher = client.node.create_publisher(String, "/late_text", 10)
        wait_for(lambda: publisher.get_subscription_count() == 1, 10, "the node matched")
        for index in range(20):  # the first may go before the node's side has matched
            publisher.publish(String(data=f"late {index}"))
            time.sleep(0.1)
        wait_for(lambda: bag_dirs(str(tmp_path / "capture")), 10, "the bag")
        [bag] = bag_dirs(str(tmp_path / "capture"))
        wait_for(lambda: any(n.endswith(".active") for n in os.listdir(bag)), 10, "a file")
        assert client.set("custom_data", ["site=field"]) == (True, "")
        ok, reason = client.set("topics_regex", "(unclosed")
        assert not ok and "topics_regex" in reason and "not a regular expression" in reason
        assert client.get("topics_regex") == ""
    assert "(best_effort, depth 7)" in node.log()
    written = len(read_bag(bag)["/late_text"])
    assert written >= 15 and f"/late_text: received {written} written {written} " in node.log()
    # the bag's metadata says the newest custom_data; its first file was opened with the first
    assert judges.call("custom_data", bag) == {"site": "field"}
    with open(os.path.join(bag, os.path.basename(bag) + "_0.mcap"), "rb") as handle:
        records = [m for m in make_reader(handle).iter_metadata() if m.name == "rosbag2"]
    opened = yaml.safe_load(records[0].metadata["serialized_metadata"])  # at open, as rosbag2
    assert opened["custom_data"] == {"site": "lab", "driver": "ana"}


@pytest.mark.kilted_only("rosbag2_interfaces has no Jazzy build here, so the Jazzy node runs "
                         "without these services (and says so: the test below, on both legs)")
def test_rosbag2_recorder_services_drive_the_node(tmp_path, mixed_graph):
    """`ros2 service call` with rosbag2_interfaces, as a tool that drives a rosbag2
    recorder would: pause, is_paused, resume, split_bagfile, snapshot (a clip)."""
    path = write_config(str(tmp_path / "dm.yaml"),
                        {"imu": [{"method": "Data", "topic": "/imu", "clip": True}]},
                        capture_dir=str(tmp_path / "capture"), sync_disabled=True,
                        clip_pre_s=1.0, clip_post_s=0.5)
    node = NodeProcess(path, str(tmp_path / "node.log")).start()
    with stopped_after(node), ros_client() as client:
        node.wait_log("capturing /imu", 30)
        service_call("/data_manager/pause", "rosbag2_interfaces/srv/Pause")
        assert "paused=True" in service_call("/data_manager/is_paused",
                                             "rosbag2_interfaces/srv/IsPaused")
        wait_for(lambda: client.node.count_subscribers("/imu") == 0, 10, "no subscription")
        service_call("/data_manager/resume", "rosbag2_interfaces/srv/Resume")
        assert "paused=False" in service_call("/data_manager/is_paused",
                                              "rosbag2_interfaces/srv/IsPaused")
        wait_for(lambda: client.node.count_subscribers("/imu") == 1, 10, "subscribed again")
        [bag] = bag_dirs(str(tmp_path / "capture"))

        def closed_files() -> int:
            return len([n for n in os.listdir(bag) if n.endswith(".mcap")])

        wait_for(lambda: any(n.endswith(".active") for n in os.listdir(bag)), 10, "a file")
        before = closed_files()
        service_call("/data_manager/split_bagfile", "rosbag2_interfaces/srv/SplitBagfile")
        wait_for(lambda: closed_files() > before, 10, "the split file closed")
        assert "success=True" in service_call("/data_manager/snapshot",
                                              "rosbag2_interfaces/srv/Snapshot")
        node.wait_log("trigger(s) (~/snapshot)", 15)
        capture = tmp_path / "capture"

        def clips() -> list:  # a clip bag once it is closed (its metadata.yaml final)
            return [capture / n for n in os.listdir(capture)
                    if n.startswith("clip_") and (capture / n / "metadata.yaml").exists()]

        wait_for(clips, 15, "the snapshot's clip bag")
    [clip] = clips()  # the snapshot is a bag of /imu from before and after the call
    assert len(read_bag(str(clip))["/imu"]) >= 5
    info = yaml.safe_load((clip / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    assert "snapshot" in info["custom_data"]["clip_reasons"]


def test_without_rosbag2_interfaces_the_node_runs_and_says_so_once(tmp_path):
    """rosbag2_interfaces is an exec_depend, yet a node whose Python cannot import it (a pip
    install without rosbag2) records and serves its own services all the same."""
    path = write_config(str(tmp_path / "dm.yaml"), {"gps1": [{"method": "Position"}]},
                        capture_dir=str(tmp_path / "capture"), sync_disabled=True)
    node = NodeProcess(path, str(tmp_path / "node.log"))
    node.command[1:3] = ["-c", "import sys; sys.modules['rosbag2_interfaces'] = None; "
                               "from data_manager_ros.node.main import main; sys.exit(main())"]
    node.start()
    with stopped_after(node), ros_client() as client:
        wait_for(lambda: "/data_manager/split_bag" in dict(
            client.node.get_service_names_and_types()), 30, "the node's own services")
        services = dict(client.node.get_service_names_and_types())
        assert "/data_manager/pause" not in services and "/data_manager/snapshot" not in services
    assert node.log().count("rosbag2_interfaces is not installed") == 1


def test_a_live_selection_change_keeps_the_other_topics_recording_without_a_gap(tmp_path,
                                                                                  mixed_graph):
    """`ros2 param set` of exclude_regex drops the topics it now excludes, and of
    qos_overrides resubscribes that one topic with its profile; /status, which neither
    touches, keeps its very subscription and records on: no gap in its 10 Hz stream."""
    path = write_config(str(tmp_path / "dm.yaml"), {}, capture_dir=str(tmp_path / "capture"),
                        sync_disabled=True, all_topics=True)
    node = NodeProcess(path, str(tmp_path / "node.log")).start()
    with stopped_after(node), ros_client() as client:
        node.wait_log("capturing /debug/text", 30)

        def ours(topic: str) -> list:
            return [i for i in client.node.get_subscriptions_info_by_topic(topic)
                    if i.node_name == "data_manager"]

        time.sleep(1.0)  # a second of /status before the changes
        [status_reader] = [bytes(i.endpoint_gid) for i in ours("/status")]
        changed = time.time_ns()
        assert client.set("exclude_regex", "^/debug") == (True, "")
        assert client.set("qos_overrides", "{/imu: {reliability: best_effort}}") == (True, "")
        wait_for(lambda: not ours("/debug/text") and not ours("/debug/level"), 10,
                 "the excluded topics unsubscribed")
        wait_for(lambda: [i.qos_profile.reliability for i in ours("/imu")] == [
            ReliabilityPolicy.BEST_EFFORT], 10, "/imu subscribed again, best effort")
        time.sleep(1.0)  # a second of /status after them
        assert [bytes(i.endpoint_gid) for i in ours("/status")] == [status_reader]  # the same
    [bag] = bag_dirs(str(tmp_path / "capture"))
    # /status counts its ticks: across the changes the kept reader lost none of them
    ticks = sorted((t, int(deserialize_message(data, String).data))
                   for t, data in closed_payloads(bag, "/status"))
    around = [n for t, n in ticks if changed - SECOND <= t <= changed + SECOND]
    assert len(around) >= 10 and around == list(range(around[0], around[0] + len(around)))
