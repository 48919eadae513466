"""`ros2 param set` on a running node: changes take effect at once, bad values are refused.

Each test has a node of its own: what one test changes never decides what another sees."""

from __future__ import annotations

import math
import os
import time

import pytest
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from std_srvs.srv import Trigger

from data_manager_ros.node.diagnostic_keys import Key
from helpers.bags import assert_throttled, bag_dirs, closed_messages
from helpers.processes import dds_profile_env, wait_for, write_config
from helpers.ros_client import node_and_client

SECOND = 1_000_000_000
LARGE_MESSAGES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "config",
                              "fastdds_large_messages.xml")
FREQ = "methods.gps1.Position.capture_frequency_hz"


@pytest.fixture
def running(tmp_path):
    tmp = tmp_path
    path = write_config(str(tmp / "dm.yaml"), {"gps1": [{"method": "Position"}]},
                        capture_dir=str(tmp / "a"), sync_disabled=True,
                        maximum_capture_file_duration_s=1.0)
    # the clouds' driver runs as the package tells cloud drivers to: on Fast DDS's defaults its
    # 4.9 MB clouds arrive late and in bursts, and a reader of depth 10 loses some of them in
    # DDS, now counted (missed before the node) as the WARN it is
    with node_and_client(path, str(tmp / "node.log"), 200, 20,
                         dds_profile_env(LARGE_MESSAGES)) as (node, client):
        yield tmp, node, client


@pytest.mark.parametrize("name,value,reason", [
    (FREQ, math.nan, "must be a number, got NaN"),
    ("capture_methods", ["gps1"], "must be 'component/method'"),
    ("additional_sync_paths", ["/no/such/dir"], "'/no/such/dir' is not an existing directory"),
    ("sync_url", "ftp://x", "must start with https://"),
    ("capture_dir", "/dev/null/capture", "is not a writable directory"),
    ("flush_interval_s", 99.0, "out of range Min: 0.05, Max: 10.0"),  # the descriptor's
    ("compression", "gzip", "must be one of none, zstd, lz4"),
    ("sync_windows", ["25:00-01:00"], "is not a time window"),
    ("upload_priority", ["clips"], "must be each of clips, bags, files once"),
    ("clip_trigger_topic", "bad topic", "is not a valid ROS topic name"),
    ("disk_full_policy", "panic", "must be one of pause, delete_oldest"),
    ("upload_digest", "md5", "must be one of blake3, sha256"),
])
def test_invalid_update_is_refused_and_old_value_stays(running, name, value, reason):
    _, node, client = running
    before = client.get(name)
    ok, why = client.set(name, value)
    assert not ok and reason in why
    assert client.get(name) == before
    assert node.process.poll() is None


def test_frequency_change_applies_without_restart(running):
    tmp, _, client = running
    assert client.set(FREQ, 5.0) == (True, "")
    settled = time.time_ns() + SECOND // 2
    [bag] = bag_dirs(str(tmp / "a"))

    def times() -> list[int]:
        return closed_messages(bag, settled).get("/gps1/position", [])

    wait_for(lambda: len(times()) >= 2 and times()[-1] - times()[0] >= 2 * SECOND, 20,
             "two seconds recorded at the new rate")
    assert_throttled(times(), 5.0)


def test_method_added_at_runtime_is_captured(running):
    tmp, node, client = running
    ok, _ = client.set("capture_methods", ["gps1/Position", "camera1/PointCloud"])
    assert ok
    node.wait_log("capturing /camera1/point_cloud")
    assert client.set("methods.camera1.PointCloud.capture_frequency_hz", 10.0)[0]
    since = time.time_ns()
    [bag] = bag_dirs(str(tmp / "a"))
    wait_for(lambda: closed_messages(bag, since).get("/camera1/point_cloud"), 20,
             "clouds in a closed file")


def test_capture_disabled_closes_the_bag_and_enabling_starts_a_new_one(running):
    tmp, _, client = running
    [bag] = bag_dirs(str(tmp / "a"))
    assert client.set("capture_disabled", True)[0]
    wait_for(lambda: not os.path.exists(os.path.join(bag, ".recording")), 10, "the bag to close")
    assert not [n for n in os.listdir(bag) if n.endswith(".active")]
    assert client.set("capture_disabled", False)[0]
    wait_for(lambda: len(bag_dirs(str(tmp / "a"))) == 2, 10, "a new bag")


def test_capture_dir_switch_closes_old_bag_and_records_into_new_dir(running):
    tmp, node, client = running
    assert client.set("capture_dir", str(tmp / "b"))[0]
    wait_for(lambda: bag_dirs(str(tmp / "b")), 10, "a bag in the new capture_dir")
    for bag in bag_dirs(str(tmp / "a")):
        wait_for(lambda b=bag: not os.path.exists(os.path.join(b, ".recording")), 10, "closed")
    [new] = bag_dirs(str(tmp / "b"))
    wait_for(lambda: closed_messages(new, 0).get("/gps1/position"), 20,
             "GPS fixes in a closed file of the new capture_dir")


def test_setting_config_file_replaces_the_config(running):
    tmp, node, client = running
    new = write_config(str(tmp / "new.yaml"), {"gps1": [{"method": "Position",
                                                         "capture_frequency_hz": 2.0}]},
                       capture_dir=str(tmp / "b"), sync_disabled=True, tags=["swapped"])
    assert client.set("config_file", new) == (True, "")
    assert client.get(FREQ) == 2.0
    assert client.get("tags") == ["swapped"]
    assert client.get("capture_methods") == ["gps1/Position"]
    bad = tmp / "bad.yaml"
    bad.write_text("data_manager: {sync_interval_mins: soon}\n")
    ok, reason = client.set("config_file", str(bad))
    assert not ok and "'sync_interval_mins' must be a number" in reason
    assert client.get(FREQ) == 2.0 and node.process.poll() is None
    untagged = write_config(str(tmp / "untagged.yaml"), {"gps1": [{"method": "Position"}]},
                            capture_dir=str(tmp / "b"), sync_disabled=True, tags=[])
    assert client.set("config_file", untagged) == (True, "")
    assert client.get("tags") == [] and math.isinf(client.get(FREQ))


def test_qos_depth_change_subscribes_again_at_the_new_depth(running):
    """Read from the node's own log: a reader's history depth is local to it, DDS discovery
    does not carry it, so no other process can see it."""
    _, node, client = running
    assert client.set("qos_depth", 10) == (True, "")
    node.wait_log("(reliable, depth 10)")
    assert client.set("qos_depth", 1000) == (True, "")
    node.wait_log("(reliable, depth 1000)")


def test_a_memory_budget_change_applies_at_once(running):
    """Two 4.9 MB clouds do not fit an 8 MiB budget beside the readers' part: from the change
    on, clouds are dropped (and counted, with the budget named in /diagnostics) while the
    fixes record on, and clouds are recorded again once the budget is back."""
    tmp, node, client = running
    assert client.set("maximum_capture_file_duration_s", 1.0) == (True, "")  # closed files
    assert client.set("capture_methods", ["gps1/Position", "camera1/PointCloud"])[0]
    node.wait_log("capturing /camera1/point_cloud")

    def recorded_since(topic: str, since: int) -> list[int]:
        return closed_messages(bag_dirs(str(tmp / "a"))[-1], since).get(topic, [])

    def clouds_since(since: int) -> list[int]:
        return recorded_since("/camera1/point_cloud", since)

    assert client.set("memory_budget_bytes", 8 << 20) == (True, "")
    bounded = time.time_ns() + SECOND // 2
    wait_for(lambda: recorded_since("/gps1/position", bounded + 2 * SECOND), 20,
             "2 s recorded with the small bound")
    assert not clouds_since(bounded)

    def cloud_status(array: DiagnosticArray) -> DiagnosticStatus | None:
        return next((s for s in array.status if "camera1/PointCloud" in s.name), None)

    def cloud_drops(array: DiagnosticArray) -> int:
        status = cloud_status(array)
        return int({kv.key: kv.value for kv in status.values}[Key.DROPPED]) if status else 0

    # counted: the clouds' status says how many were dropped, and why
    warned = client.next_message(DiagnosticArray, "/diagnostics", lambda m: cloud_drops(m) > 0,
                                 20)
    status = cloud_status(warned)
    assert status.level == DiagnosticStatus.WARN
    assert "over memory_budget_bytes (readers " in status.message, status.message
    assert client.set("memory_budget_bytes", 256 << 20) == (True, "")
    restored = time.time_ns()
    wait_for(lambda: clouds_since(restored), 20, "clouds recorded again")
    # the WARN clears once nothing was dropped for its window; the total stays in the values
    cleared = client.next_message(
        DiagnosticArray, "/diagnostics",
        lambda m: (cloud_status(m) or warned.status[0]).level == DiagnosticStatus.OK, 30)
    assert cloud_drops(cleared) >= cloud_drops(warned)


def test_a_method_marked_for_clips_live_gives_a_clip_on_the_service(running):
    tmp, node, client = running
    assert client.call(Trigger, "capture_clip", Trigger.Request()).message.startswith("no clip")
    assert client.set("clip_post_s", 0.5) == (True, "")
    assert client.set("methods.gps1.Position.clip", True) == (True, "")
    node.wait_log("full rate for clips")
    answer = client.call(Trigger, "capture_clip", Trigger.Request())
    assert answer.success and answer.message.startswith("clip opened")
    wait_for(lambda: any(name.startswith("clip_") and
                         os.path.exists(tmp / "a" / name / "metadata.yaml")
                         for name in os.listdir(tmp / "a")), 20, "the clip bag")

