"""`ros2 param set` of the writer and sync settings, each checked by what it changes on disk
or on the server: the files written after the change, the uploads that follow it."""

from __future__ import annotations

import os
import time

import psutil
import pytest
from mcap.reader import make_reader

from helpers.bags import bag_dirs
from helpers.processes import NodeProcess, stopped_after, wait_for, write_config
from helpers.ros_client import node_and_client, ros_client
from helpers.tus_server import TusServer


@pytest.fixture
def running(tmp_path):
    server = TusServer(str(tmp_path / "server")).start()
    path = write_config(str(tmp_path / "dm.yaml"), {"gps1": [{"method": "Position"}]},
                        capture_dir=str(tmp_path / "capture"), sync_disabled=True,
                        sync_url=server.url, sync_interval_mins=0.01,
                        maximum_capture_file_duration_s=1.0)
    try:
        with node_and_client(path, str(tmp_path / "node.log"), 500, 0) as (node, client):
            yield tmp_path, client, server, node
    finally:
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
    tmp, client, *_ = running
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
    tmp, client, server, _ = running
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
    tmp, client, *_ = running
    log = tmp / "node.log"
    for name, high in (("minimum_free_space_fraction", 0.9),
                       ("minimum_free_space_bytes", 1 << 50)):
        paused = log.read_text().count("capture paused:")
        assert client.set(name, high) == (True, "")
        wait_for(lambda n=paused: log.read_text().count("capture paused:") > n, 10,
                 f"{name} to pause capture")
        resumed = log.read_text().count("capture resumed:")
        assert client.set(name, 0) == (True, "")
        wait_for(lambda n=resumed: log.read_text().count("capture resumed:") > n, 10,
                 f"{name} to resume capture")

    def subscribers(topic: str) -> int:
        return client.node.count_subscribers(topic)

    for name, off, on in (("methods.gps1.Position.topic", "/gps1/moved", "/gps1/position"),
                          ("methods.gps1.Position.disabled", True, False)):
        assert client.set(name, off) == (True, "")
        wait_for(lambda: subscribers("/gps1/position") == 0, 10, f"{name}={off} to unsubscribe")
        assert client.set(name, on) == (True, "")
        wait_for(lambda: subscribers("/gps1/position") == 1, 10, f"{name}={on} to subscribe")


def change_times(count, seconds: float) -> list[float]:
    """When ``count()`` changed, polled every 50 ms for ``seconds``."""
    times, last = [], count()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = count()
        if now != last:
            times.append(time.monotonic())
            last = now
    return times


@pytest.mark.slow
def test_flush_interval_paces_the_growth_of_the_open_file(running):
    tmp, client, *_ = running
    assert client.set("maximum_capture_file_duration_s", 60.0) == (True, "")
    wait_for(lambda: active_file(str(tmp / "capture")), 10, "a file open for a minute")

    def size() -> int:
        path = active_file(str(tmp / "capture"))
        return os.path.getsize(path) if path else 0

    assert client.set("flush_interval_s", 0.1) == (True, "")
    often = change_times(size, 2.0)
    assert client.set("flush_interval_s", 2.0) == (True, "")
    change_times(size, 2.0)  # the flush under way when the setting changed
    rarely = change_times(size, 4.0)
    # a flush every 2 s cannot grow the file more than 3 times in 4 s (load only delays a
    # flush); every 0.1 s grew it more often in half the time
    assert len(often) > 3 >= len(rarely), (len(often), len(rarely))


def active_file(capture: str) -> str:
    bags = bag_dirs(capture)
    names = [n for n in os.listdir(bags[-1]) if n.endswith(".active")] if bags else []
    return os.path.join(bags[-1], names[0]) if names else ""


@pytest.mark.slow
def test_sync_pace_threads_bandwidth_and_method_tags_apply_live(running):
    """sync_interval_mins spaces the uploads out, maximum_num_sync_threads changes the
    worker threads, the bandwidth limit slows an upload down, a method's tags label the
    uploads of its topic."""
    tmp, client, server, node = running
    assert client.set("flush_interval_s", 0.2) == (True, "")  # a closed file every ~1.2 s
    assert client.set("methods.gps1.Position.tags", ["gnss-check"]) == (True, "")
    assert client.set("sync_disabled", False) == (True, "")
    wait_for(lambda: any("gnss-check" in c["metadata"].get("tags", "") and
                         c["metadata"]["methods"] == "gps1/Position" for c in server.completed()),
             30, "an upload tagged with the method's tags")

    uploads = lambda: len(server.completed())  # noqa: E731
    frequent = change_times(uploads, 4.0)  # sweeps every 0.6 s
    assert client.set("sync_interval_mins", 0.05) == (True, "")
    change_times(uploads, 3.0)  # the timer already running
    spaced = change_times(uploads, 7.0)
    gaps = lambda times: [b - a for a, b in zip(times, times[1:], strict=False)]  # noqa: E731
    # sweeps 3 s apart leave a gap of 2.5 s at least (load only widens it); sweeps every
    # 0.6 s brought uploads in at several moments of 4 s
    assert len(frequent) >= 2 and max(gaps(spaced)) >= 2.5, (frequent, spaced)

    [worker] = [c for c in psutil.Process(node.process.pid).children()
                if "sync_worker" in " ".join(c.cmdline())]
    before = worker.num_threads()
    assert client.set("maximum_num_sync_threads", 6) == (True, "")
    wait_for(lambda: worker.num_threads() == before + 4, 10, "four more upload threads")

    extra = tmp / "extra"
    extra.mkdir()
    assert client.set("sync_interval_mins", 0.005) == (True, "")
    assert client.set("file_last_modified_millis", 0) == (True, "")
    assert client.set("additional_sync_paths", [str(extra)]) == (True, "")
    elapsed = {}
    for name, limit in (("slow.bin", 256 << 10), ("fast.bin", 0)):
        assert client.set("upload_bandwidth_limit_bytes_per_s", limit) == (True, "")
        start = time.monotonic()
        (extra / name).write_bytes(os.urandom(1 << 20))
        wait_for(lambda n=name: any(c["metadata"]["filename"] == n for c in server.completed()),
                 30, f"{name} uploaded")
        elapsed[name] = time.monotonic() - start
    # 1 MiB at 256 KiB/s takes 4 s; unlimited on this machine, a sweep and a few ms
    assert elapsed["slow.bin"] >= 3.0 and elapsed["fast.bin"] < elapsed["slow.bin"] / 2, elapsed


def test_key_source_additional_paths_and_quiet_time_apply_live(tmp_path):
    """A server that wants a key: uploads fail until api_key_file names a file that holds
    it; then a directory added to additional_sync_paths is synced, its fresh file
    only once file_last_modified_millis allows it."""
    server = TusServer(str(tmp_path / "server"), api_key="k-123").start()
    path = write_config(str(tmp_path / "dm.yaml"), {}, capture_dir=str(tmp_path / "capture"),
                        sync_url=server.url, sync_interval_mins=0.005,
                        api_key_env="DM_NO_SUCH_KEY", file_last_modified_millis=3_600_000)
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "notes.txt").write_text("fresh")
    (extra / "old.txt").write_text("quiet for two hours")  # taken at once: the sweeps ran
    os.utime(extra / "old.txt", (time.time() - 7200, time.time() - 7200))
    (tmp_path / "capture").mkdir()
    (tmp_path / "capture" / "old.bin").write_bytes(b"x")  # not a bag file: never synced
    node = NodeProcess(path, str(tmp_path / "node.log")).start()
    log = tmp_path / "node.log"

    def refused(name: str) -> bool:
        return any(name in line and ("HTTP 401" in line or "refused the API key" in line)
                   for line in log.read_text().splitlines())

    with stopped_after(node):
        with ros_client() as client:
            node.wait_log("no capture methods and no topic selection configured")
            assert client.set("additional_sync_paths", [str(extra)]) == (True, "")
            wait_for(lambda: refused("old.txt"), 20, "the quiet file tried, without the key")
            assert "notes.txt" not in log.read_text()  # too fresh to be taken
            assert client.set("file_last_modified_millis", 0) == (True, "")
            wait_for(lambda: refused("notes.txt"), 20, "the fresh file tried, once allowed")
            assert not server.completed()
            key_file = tmp_path / "api_key"
            key_file.write_text("k-123\n")
            assert client.set("api_key_file", str(key_file)) == (True, "")
            wait_for(lambda: len(server.completed()) == 2, 30, "the uploads once the key is found")
        server.kill()
    assert sorted(u["metadata"]["relative_path"] for u in server.completed()) == \
        ["extra/notes.txt", "extra/old.txt"]
    assert not (extra / "notes.txt").exists()
