"""`ros2 param set` of the writer and sync settings, each checked by what it changes on disk
or on the server: the files written after the change, the uploads that follow it."""

from __future__ import annotations

import os
import time

import pytest
import rclpy
from mcap.reader import make_reader

from helpers.bags import bag_dirs
from helpers.processes import NodeProcess, start_sensors, wait_for, write_config
from helpers.ros_client import RosClient
from helpers.tus_server import TusServer


@pytest.fixture
def running(tmp_path):
    server = TusServer(str(tmp_path / "server")).start()
    path = write_config(str(tmp_path / "dm.yaml"), {"gps1": [{"method": "Position"}]},
                        capture_dir=str(tmp_path / "capture"), sync_disabled=True,
                        sync_url=server.url, sync_interval_mins=0.01,
                        maximum_capture_file_duration_s=1.0)
    node = NodeProcess(path, str(tmp_path / "node.log")).start()
    sensors = start_sensors(500, 0)
    context = rclpy.Context()
    rclpy.init(context=context)
    client = RosClient(context=context)
    node.wait_log("capturing /gps1/position")
    yield tmp_path, client, server
    client.close()
    rclpy.shutdown(context=context)
    sensors.terminate()
    sensors.wait()
    assert node.stop() == 0
    server.kill()


def files_closed_after(capture: str, since_ns: int) -> list[str]:
    """Closed files of the current bag opened after ``since_ns`` (mtime is their close)."""
    [bag] = bag_dirs(capture)[-1:]
    names = sorted((n for n in os.listdir(bag) if n.endswith(".mcap")),
                   key=lambda n: int(n.rsplit("_", 1)[1].split(".")[0]))
    paths = [os.path.join(bag, n) for n in names]
    return [p for p in paths if os.stat(p).st_mtime_ns > since_ns][1:]  # the first was open


def summary(path: str):
    with open(path, "rb") as handle:
        return make_reader(handle).get_summary()


def test_writer_settings_apply_to_the_files_after_the_change(running):
    tmp, client, _ = running
    capture = str(tmp / "capture")
    checks = [
        ("compression", "zstd",
         lambda s: {c.compression for c in s.chunk_indexes} == {"zstd"}),
        ("mcap_chunk_size_bytes", 4096, lambda s: len(s.chunk_indexes) >= 10),
        ("maximum_capture_file_size_bytes", 65536,
         lambda s: s.statistics.message_count < 1000),  # 500 Hz, 1 s: split by size first
    ]
    for name, value, holds in checks:
        assert client.set(name, value) == (True, ""), name
        since = time.time_ns()
        wait_for(lambda t=since: len(files_closed_after(capture, t)) >= 2, 30,
                 f"two files closed after setting {name}")
        assert all(holds(summary(p)) for p in files_closed_after(capture, since)), name


def test_sync_settings_apply_to_the_next_uploads(running):
    tmp, client, server = running
    assert client.set("robot_id", "rover-9") == (True, "")
    assert client.set("tags", ["field-test"]) == (True, "")
    assert client.set("sync_disabled", False) == (True, "")
    wait_for(lambda: server.completed(), 30, "an upload once sync is enabled")
    metadata = server.completed()[-1]["metadata"]
    assert metadata["robot_id"] == "rover-9" and metadata["tags"] == "field-test"

    moved = tmp / "usb"
    moved.mkdir()
    assert client.set("sync_url", f"file://{moved}") == (True, "")
    wait_for(lambda: any(f.endswith(".mcap") for _, _, files in os.walk(moved) for f in files),
             30, "an upload to the new sync_url")


def test_free_space_floor_and_method_switches_apply_live(running):
    tmp, client, _ = running
    log = tmp / "node.log"
    assert client.set("minimum_free_space_fraction", 0.9) == (True, "")
    wait_for(lambda: "capture paused:" in log.read_text(), 10, "capture to pause")
    assert client.set("minimum_free_space_fraction", 0.0) == (True, "")
    wait_for(lambda: "capture resumed:" in log.read_text(), 10, "capture to resume")

    def subscribers(topic: str) -> int:
        return client.node.count_subscribers(topic)

    for name, off, on in (("methods.gps1.Position.topic", "/gps1/moved", "/gps1/position"),
                          ("methods.gps1.Position.disabled", True, False)):
        assert client.set(name, off) == (True, "")
        wait_for(lambda: subscribers("/gps1/position") == 0, 10, f"{name}={off} to unsubscribe")
        assert client.set(name, on) == (True, "")
        wait_for(lambda: subscribers("/gps1/position") == 1, 10, f"{name}={on} to subscribe")


def test_key_source_additional_paths_and_quiet_time_apply_live(tmp_path):
    """A server that wants a key: uploads fail until api_key_env names the variable that
    holds it; then a directory added to additional_sync_paths is synced, its fresh file
    only once file_last_modified_millis allows it."""
    server = TusServer(str(tmp_path / "server"), api_key="k-123").start()
    path = write_config(str(tmp_path / "dm.yaml"), {}, capture_dir=str(tmp_path / "capture"),
                        sync_url=server.url, sync_interval_mins=0.005,
                        api_key_env="DM_NO_SUCH_KEY", file_last_modified_millis=3_600_000)
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "notes.txt").write_text("fresh")
    (tmp_path / "capture").mkdir()
    (tmp_path / "capture" / "old.bin").write_bytes(b"x")  # not a bag file: never synced
    node = NodeProcess(path, str(tmp_path / "node.log"), env={"DM_KEY": "k-123"}).start()
    context = rclpy.Context()
    rclpy.init(context=context)
    client = RosClient(context=context)
    log = tmp_path / "node.log"
    try:
        node.wait_log("no capture methods configured")
        assert client.set("additional_sync_paths", [str(extra)]) == (True, "")
        time.sleep(1.0)  # sweeps run every 0.3 s: the file is too fresh to be taken
        assert not server.completed() and (extra / "notes.txt").exists()
        assert client.set("file_last_modified_millis", 0) == (True, "")
        wait_for(lambda: "HTTP 401" in log.read_text() or "refused the API key"
                 in log.read_text(), 20, "uploads refused without the key")
        assert not server.completed()
        assert client.set("api_key_env", "DM_KEY") == (True, "")
        wait_for(lambda: server.completed(), 30, "the upload once the key is found")
    finally:
        client.close()
        rclpy.shutdown(context=context)
        assert node.stop() == 0
        server.kill()
    assert server.completed()[0]["metadata"]["relative_path"] == "extra/notes.txt"
    assert not (extra / "notes.txt").exists()
