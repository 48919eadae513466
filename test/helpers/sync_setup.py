"""Real bags and files to sync, and a logger that keeps what it was told."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from rclpy.qos import QoSProfile
from rclpy.serialization import serialize_message
from sensor_msgs.msg import PointCloud2

from data_manager_ros.bag.mcap_file import Topic
from data_manager_ros.bag.message_definitions import message_definition, type_hash
from data_manager_ros.bag.qos import profile_to_dict
from data_manager_ros.bag.writer import BagWriter
from data_manager_ros.config.settings import make_config
from data_manager_ros.sync.snapshot import snapshot_of
from data_manager_ros.sync.sync_manager import SyncManager
from helpers.bag_samples import NAVSAT, fix, topic
from helpers.processes import wait_for
from helpers.tus_server import TusServer

CLOUD = "sensor_msgs/msg/PointCloud2"


class ListLogger:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def debug(self, message: str) -> None:
        self.lines.append(f"DEBUG {message}")

    def info(self, message: str) -> None:
        self.lines.append(f"INFO {message}")

    def warning(self, message: str) -> None:
        self.lines.append(f"WARN {message}")

    def error(self, message: str) -> None:
        self.lines.append(f"ERROR {message}")

    def text(self) -> str:
        return "\n".join(self.lines)


def make_bag(capture_dir: str, name: str, megabytes: int, split_mb: int = 0,
             keep_open: bool = False) -> tuple[BagWriter, dict[str, bytes]]:
    """A bag of random point clouds; returns the writer and {relative path: bytes} of its files."""
    writer = BagWriter(os.path.join(capture_dir, name), chunk_size=1 << 20,
                       max_file_bytes=(split_mb or 1 << 20) << 20, max_file_duration_ns=10**15)
    writer.add_topic(Topic("/cloud", CLOUD, (profile_to_dict(QoSProfile(depth=10)),),
                           type_hash(CLOUD), message_definition(CLOUD)))
    for i in range(megabytes):
        data = serialize_message(PointCloud2(data=os.urandom(1 << 20), width=65536, height=1,
                                             point_step=16, row_step=1 << 20))
        writer.write("/cloud", 10**18 + i, 10**18 + i, data)
    if keep_open:
        writer.split()
        writer.wait_durable()
    else:
        writer.close()
    files = {}
    for entry in sorted(os.listdir(writer.bag_dir)):
        if not entry.startswith(".") and not entry.endswith(".active"):
            with open(os.path.join(writer.bag_dir, entry), "rb") as handle:
                files[f"{name}/{entry}"] = handle.read()
    return writer, files


def by_path(server: TusServer) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for upload in server.completed():
        out.setdefault(upload["metadata"]["relative_path"], []).append(upload)
    return out


def assert_arrived_once(server: TusServer, files: dict[str, bytes], only: bool = True) -> None:
    """Each file completed exactly once, byte-identical; with ``only``, nothing else did."""
    arrived = by_path(server)
    if only:
        assert sorted(arrived) == sorted(files)
    for path, data in files.items():
        times = len(arrived.get(path, []))
        assert times == 1, f"{path} completed {times} times"
        assert server.stored(arrived[path][0]["id"]) == data


def manager(tmp_path, url, **attributes) -> tuple[SyncManager, ListLogger]:
    log = ListLogger()
    attributes.setdefault("capture_dir", str(tmp_path / "capture"))
    os.makedirs(attributes["capture_dir"], exist_ok=True)
    config = make_config({"sync_url": url, "robot_id": "robot7", **attributes}, [])
    return SyncManager(config, log).start(), log


def clip_bag(capture_dir: str, name: str) -> None:
    """A closed incident-clip bag (by its name) of one fix."""
    writer = BagWriter(os.path.join(capture_dir, name), max_file_bytes=1 << 30,
                       max_file_duration_ns=10**15, chunk_size=4096)
    writer.add_topic(topic("/gps", NAVSAT))
    writer.write("/gps", 1, 1, serialize_message(fix(1)))
    writer.close()


def drain(sync: SyncManager, timeout: float = 60.0) -> None:
    wait_for(lambda: not sync.uploader.pending(), timeout, "the upload queue to empty")


def sweep_until_empty(sync: SyncManager, timeout: float = 60.0) -> None:
    """One sweep, every upload it queued done, the manager closed (also on a failure)."""
    try:
        sync.sweep()
        drain(sync, timeout)
    finally:
        sync.close()


def aged_files(tmp_path, size: int, count: int = 2) -> tuple[Path, dict[str, bytes]]:
    """``count`` files of random bytes in ``tmp_path/logs``, a minute old (quiet already);
    returns the folder and {remote path: bytes}."""
    source = tmp_path / "logs"
    source.mkdir()
    files = {f"logs/f{i}.bin": os.urandom(size + i) for i in range(count)}
    past = time.time() - 60
    for relative, data in files.items():
        (tmp_path / relative).write_bytes(data)
        os.utime(tmp_path / relative, (past, past))
    return source, files


def reported(sync: SyncManager, log: ListLogger) -> str:
    """What the operator sees: the status the node would publish, and the log."""
    snapshot = snapshot_of(sync.uploader)
    return " ".join([snapshot.last_error, *snapshot.faults.values(), log.text()])


def sync_until_done(sync: SyncManager, source: Path, log: ListLogger) -> None:
    """Sweep as the node's timer would until every file of ``source`` is up and gone here;
    then no worker has died and no error was unexpected (each was a per-file outcome)."""
    try:
        wait_for(lambda: sync.sweep() >= 0 and not list(source.iterdir())
                 and not sync.uploader.pending(), 60, "every file uploaded and deleted")
    except AssertionError as error:
        raise AssertionError(f"{error}; the log:\n{log.text()}") from None
    workers = [t for t in threading.enumerate() if t.name.startswith("sync-")]
    assert workers and all(t.is_alive() for t in workers)
    assert snapshot_of(sync.uploader).unexpected_errors == 0, log.text()
