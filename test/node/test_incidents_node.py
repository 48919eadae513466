"""Incident clips, events and the sync condition through the real node, DDS and tus server."""

from __future__ import annotations

import io

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from mcap.reader import make_reader
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rclpy.serialization import deserialize_message
from sensor_msgs.msg import NavSatFix
from std_msgs.msg import Bool, String
from std_srvs.srv import Trigger

from helpers.bags import bag_dirs, read_bag
from helpers.processes import NodeProcess, start_sensors, stopped_after, wait_for, write_config
from helpers.ros_client import RosClient, ros_client
from helpers.tus_server import TusServer

LATCHED = QoSProfile(depth=10, durability=DurabilityPolicy.TRANSIENT_LOCAL,
                     reliability=ReliabilityPolicy.RELIABLE)


def received(array: DiagnosticArray, minimum: int) -> bool:
    return any(kv.key == "received" and int(kv.value) >= minimum
               for status in array.status for kv in status.values)


def late_events(client: RosClient, topic: str, count: int) -> list[DiagnosticStatus]:
    """Events a subscriber made after they were published still gets (transient local)."""
    found: list[DiagnosticStatus] = []
    sub = client.node.create_subscription(DiagnosticStatus, topic, found.append, LATCHED)
    try:
        wait_for(lambda: client.executor.spin_once(timeout_sec=0.1) or len(found) >= count,
                 15, f"{count} event(s) on {topic}")
    finally:
        client.node.destroy_subscription(sub)
    return found


def test_a_clip_around_two_triggers_holds_every_message_at_full_rate_and_goes_up(tmp_path):
    server = TusServer(str(tmp_path / "server")).start()
    path = write_config(str(tmp_path / "dm.yaml"), {"gps1": [{
        "method": "Position", "capture_frequency_hz": 10, "clip": True}]},
        capture_dir=str(tmp_path / "capture"), sync_url=server.url, sync_interval_mins=0.01,
        maximum_capture_file_duration_s=600.0, clip_pre_s=1.0, clip_post_s=1.0,
        clip_trigger_topic="/incident", clip_tags=["field-7"])
    node = NodeProcess(path, str(tmp_path / "node.log")).start()
    sensors = start_sensors(500, 0)
    try:
        with stopped_after(node, sensors):
            with ros_client() as client:
                incidents = client.node.create_publisher(String, "/incident", 10)
                client.next_message(DiagnosticArray, "/diagnostics", lambda m: received(m, 1500))
                answer = client.call(Trigger, "capture_clip", Trigger.Request())
                assert answer.success and answer.message.startswith("clip opened"), answer.message
                wait_for(lambda: client.node.count_subscribers("/incident") == 1, 10,
                         "the subscriber")
                incidents.publish(String(data="bump"))
                wait_for(lambda: any(u["metadata"]["relative_path"].startswith("clip_")
                                     and u["metadata"]["relative_path"].endswith(".mcap")
                                     for u in server.completed()), 30, "the clip on the server")
                closed = late_events(client, "/data_manager/events/file_closed", 1)
                uploaded = late_events(client, "/data_manager/events/file_uploaded", 1)
    finally:
        server.kill()
    [clip] = [u for u in server.completed() if u["metadata"]["relative_path"].endswith(".mcap")]
    reader = make_reader(io.BytesIO(server.stored(clip["id"])))
    fixes = [deserialize_message(m.data, NavSatFix) for _, _, m in reader.iter_messages()]
    sequences = [int(f.latitude) for f in fixes]
    assert sequences == list(range(sequences[0], sequences[0] + len(sequences))), "a gap"
    assert len(sequences) >= 900  # 1 s before the first trigger to 1 s after the second
    assert clip["metadata"]["kind"] == "clip" and clip["metadata"]["clip_tags"] == "field-7"
    assert clip["metadata"]["clip_reasons"] == "~/capture_clip; bump"
    [continuous] = bag_dirs(str(tmp_path / "capture"))
    kept = [int(m.latitude) for m in read_bag(continuous)["/gps1/position"]]
    in_window = [s for s in kept if sequences[0] <= s <= sequences[-1]]
    assert 0 < len(in_window) < len(sequences) / 20  # 10 Hz beside 500 Hz
    event = {kv.key: kv.value for kv in closed[-1].values}
    assert closed[-1].name == "file_closed" and event["bag"].startswith("clip_")
    assert int(event["message_count"]) == len(sequences) and int(event["bytes"]) > 0
    done = {kv.key: kv.value for kv in uploaded[-1].values}
    assert uploaded[-1].name == "file_uploaded" and done["location"].startswith(server.url)


def test_the_condition_topic_holds_scheduled_sync_until_it_says_true(tmp_path):
    server = TusServer(str(tmp_path / "server")).start()
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "report.txt").write_text("from the field")
    path = write_config(str(tmp_path / "dm.yaml"), {}, capture_dir=str(tmp_path / "capture"),
                        sync_url=server.url, sync_interval_mins=0.005,
                        additional_sync_paths=[str(extra)], file_last_modified_millis=0,
                        sync_condition_topic="/link_ok")
    node = NodeProcess(path, str(tmp_path / "node.log")).start()
    with stopped_after(node):
        with ros_client() as client:
            link_ok = client.node.create_publisher(Bool, "/link_ok", LATCHED)
            waiting = client.next_message(DiagnosticArray, "/diagnostics", lambda m: any(
                "waiting: sync_condition_topic says false" in s.message for s in m.status))
            assert waiting and not server.completed()
            link_ok.publish(Bool(data=True))
            wait_for(lambda: server.completed(), 30, "the upload once the link is ok")
        server.kill()
    assert server.completed()[0]["metadata"]["relative_path"] == "extra/report.txt"
