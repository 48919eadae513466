"""Real faults while capturing and uploading: repeated SIGKILL, a disk that fills up.

Counts are bounded so the suite stays within CI time; ``bench/kill_loop N`` runs
the same test with N kills.
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from mcap.reader import make_reader
from mcap.records import Message
from mcap.stream_reader import StreamReader

from helpers.bags import bag_dirs, read_bag
from helpers.processes import NodeProcess, start_sensors, stopped_after, wait_for, write_config
from helpers.small_fs import fill, small_tmpfs
from helpers.tus_server import TusServer

pytestmark = pytest.mark.slow

KILLS = int(os.environ.get("DM_FAULT_KILLS", "20"))
FLUSH_S = 0.5
CAPTURING = "capturing /gps1/position"


def uploaded_log_times(server: TusServer) -> dict[str, list[int]]:
    """bag file → log times of its messages, for every .mcap the server holds."""
    out = {}
    for upload in server.completed():
        path = upload["metadata"]["relative_path"]
        if path.endswith(".mcap"):
            reader = make_reader(io.BytesIO(server.stored(upload["id"])))
            assert reader.get_summary() is not None, f"{path} uploaded without a summary"
            out[path] = [m.log_time for _, _, m in reader.iter_messages()]
    return out


def flushed_new_bag(capture: str, old_bags: set[str]) -> bool:
    """A bag not in ``old_bags`` whose open file holds flushed messages (more than its
    header and metadata records). Old bags may be gone meanwhile: uploaded."""
    for bag in set(bag_dirs(capture) if os.path.isdir(capture) else ()) - old_bags:
        try:
            if any(name.endswith(".active") and os.path.getsize(os.path.join(bag, name)) > 8192
                   for name in os.listdir(bag)):
                return True
        except FileNotFoundError:  # a file closed or the bag uploaded while we looked
            continue
    return False


def _read_any(*paths: str) -> bytes:
    """The first of ``paths`` that exists, read; b"" if none does."""
    for path in paths:
        with contextlib.suppress(FileNotFoundError), open(path, "rb") as handle:
            return handle.read()
    return b""


def flushed_times(capture: str, old_bags: set[str]) -> list[int]:
    """Log times of the messages in the complete chunks of the new bags' files now, open or
    closed: what a SIGKILL must not lose (they are in the page cache; the chunk being written
    is not complete, so it is not read)."""
    out = []
    for bag in set(bag_dirs(capture)) - old_bags:
        for name in os.listdir(bag):
            if not name.endswith((".mcap", ".active")):
                continue
            path = os.path.join(bag, name)
            # closed meanwhile: under its final name; or uploaded and gone (it was whole)
            data = _read_any(path, path.removesuffix(".active"))
            try:
                for record in StreamReader(io.BytesIO(data), skip_magic=False).records:
                    if isinstance(record, Message):
                        out.append(record.log_time)
            except Exception:  # noqa: BLE001 - the end of what was written: a torn record
                pass
    return out


def test_repeated_sigkill_loses_nothing_flushed_and_uploads_each_file_once(tmp_path, tus_server):
    rng = random.Random(7)
    server = tus_server
    config = write_config(str(tmp_path / "dm.yaml"), {"gps1": [{"method": "Position"}]},
                          capture_dir=str(tmp_path / "capture"), sync_url=server.url,
                          sync_interval_mins=0.01, maximum_capture_file_duration_s=1.0,
                          flush_interval_s=FLUSH_S)
    sensors = start_sensors(300, 0, 0, "--best-effort")
    node = NodeProcess(config, str(tmp_path / "node.log"))
    capture = str(tmp_path / "capture")
    runs = []  # of each run killed while capturing: what its open files held at the kill
    try:
        for run in range(KILLS):
            bags = set(bag_dirs(capture)) if os.path.isdir(capture) else set()
            node.start()
            if run % 2:  # in start-up or recovery, whenever that is on this machine
                time.sleep(rng.uniform(0.0, 1.5))
            else:  # while capturing, once a flush has made messages durable
                wait_for(lambda n=bags: flushed_new_bag(capture, n), 60, "a flushed message")
                time.sleep(rng.uniform(0.0, 2.0))
                runs.append(flushed_times(capture, bags))
            node.kill()
        node.start()
        node.wait_log(CAPTURING, 60)
        time.sleep(3.0)  # a last stretch of capture and uploads, ended cleanly
        assert node.stop() == 0
    finally:
        if node.process.poll() is None:  # a failed wait above: no node left behind
            node.kill()
        sensors.terminate()
        sensors.wait()
    sync = NodeProcess(config, str(tmp_path / "sync.log"))
    sync.command = [*sync.command[:2], "data_manager_ros.tools.sync_cli", str(config)]
    sync.start()
    assert sync.process.wait(120) == 0, sync.log()

    left = [os.path.join(d, f) for d, _, files in os.walk(tmp_path / "capture") for f in files
            if not f.startswith(".sync_journal")]
    assert left == [], "files never uploaded"
    ledger = server.completed()
    paths = [u["metadata"]["relative_path"] for u in ledger]
    assert len(paths) == len(set(paths)), "a file completed twice"
    assert all(p.endswith((".mcap", "metadata.yaml")) for p in paths), "a temporary file went up"
    files = uploaded_log_times(server)
    by_bag: dict[str, list[int]] = {}
    for path, times in files.items():
        by_bag.setdefault(path.split("/")[0], []).extend(times)
    with_metadata = {p.split("/")[0] for p in paths if p.endswith("metadata.yaml")}
    assert set(by_bag) <= with_metadata, "a bag's metadata.yaml never went up"
    # judged by what was in the files, not by a stopwatch: every message that had reached an
    # open file's complete chunks before the kill was recovered and uploaded
    uploaded = {t for times in by_bag.values() for t in times}
    # a run's files may all be closed, uploaded and gone by its kill, its open file not yet
    # flushed: nothing to check in that run; most runs hold something
    assert sum(1 for flushed in runs if flushed) * 2 >= len(runs), [len(f) for f in runs]
    lost = [sorted(set(flushed) - uploaded) for flushed in runs]
    assert not any(lost), [len(run) for run in lost]


def test_disk_filling_up_pauses_capture_and_space_returning_resumes_it(tmp_path):
    free = shutil.disk_usage(tmp_path).free
    config = write_config(str(tmp_path / "dm.yaml"), {"gps1": [{"method": "Position"}]},
                          capture_dir=str(tmp_path / "capture"), sync_disabled=True,
                          minimum_free_space_bytes=free - (300 << 20),
                          maximum_capture_file_duration_s=1.0)
    node = NodeProcess(config, str(tmp_path / "node.log")).start()
    sensors = start_sensors(200, 0)
    filler = tmp_path / "filler"
    with stopped_after(node, sensors):
        node.wait_log("capturing /gps1/position")
        with open(filler, "wb") as handle:  # a real fill of the same filesystem
            for _ in range(400):
                handle.write(b"\0" * (1 << 20))
            handle.flush()
            os.fsync(handle.fileno())
        node.wait_log("capture paused:", 15)
        assert "below the minimum of" in node.log()
        [bag] = [Path(b) for b in bag_dirs(str(tmp_path / "capture"))]
        wait_for(lambda: not any(n.endswith(".active") for n in os.listdir(bag)), 5,
                 "the open file to be finalized")
        filler.unlink()
        node.wait_log("capture resumed:", 15)
        resumed = time.time_ns()
        wait_for(lambda: any(n.endswith(".mcap") and os.path.getmtime(bag / n) * 1e9 > resumed
                             for n in os.listdir(bag)), 15, "new files after space returned")
    # what arrived while paused was dropped and counted: the node's own closing count
    [(received, written, dropped)] = re.findall(
        r"capture stats /gps1/position: received (\d+) written (\d+) dropped (\d+)",
        node.log())
    assert int(dropped) > 0 and int(written) + int(dropped) == int(received)


def test_capture_dir_is_private(tmp_path):
    config = write_config(str(tmp_path / "dm.yaml"), {"gps1": [{"method": "Position"}]},
                          capture_dir=str(tmp_path / "new" / "capture"), sync_disabled=True)
    node = NodeProcess(config, str(tmp_path / "node.log")).start()
    with stopped_after(node):
        wait_for((tmp_path / "new" / "capture").exists, 30, "capture_dir to be made")
    assert (tmp_path / "new" / "capture").stat().st_mode & 0o777 == 0o700


def test_enospc_mid_write_keeps_the_node_up_and_capture_resumes(tmp_path):
    with small_tmpfs(tmp_path / "small", "24m") as mount:
        config = write_config(str(tmp_path / "dm.yaml"),
                              {"camera1": [{"method": "PointCloud"}]},
                              capture_dir=str(mount / "capture"), sync_disabled=True,
                              minimum_free_space_bytes=0)
        node = NodeProcess(config, str(tmp_path / "node.log")).start()
        sensors = start_sensors(0, 10)
        with stopped_after(node, sensors):
            node.wait_log("No space left on device", 30)
            assert "capture paused, retrying in 5 s" in node.log()
            subprocess.run(["mount", "-o", "remount,size=400m", str(mount)], check=True)
            node.wait_log("capture resumed", 30)
            assert node.process.poll() is None
        first, second = bag_dirs(str(mount / "capture"))
        for bag in (first, second):
            names = os.listdir(bag)
            assert "metadata.yaml" in names and not [n for n in names if n.startswith(".")
                                                     or n.endswith(".active")]
            for name in names:
                if name.endswith(".mcap"):
                    with open(os.path.join(bag, name), "rb") as handle:
                        assert make_reader(handle).get_summary() is not None
        # what the node counted as written is what the bags hold: a message torn away with
        # the file at ENOSPC is counted as dropped, not written
        stats = re.search(r"capture stats /camera1/point_cloud: received (\d+) written (\d+) "
                          r"dropped (\d+)", node.log())
        in_bags = sum(len(read_bag(b).get("/camera1/point_cloud", [])) for b in (first, second))
        assert int(stats.group(2)) == in_bags
        assert int(stats.group(1)) == in_bags + int(stats.group(3))


def test_uploads_go_on_when_the_disk_is_full_and_free_it(tmp_path):
    """The journal cannot even be created on the full disk: it runs in memory, says so,
    and the bag is uploaded and deleted, which is what gives the robot its space back."""
    from data_manager_ros.config.settings import make_config
    from data_manager_ros.layout import JOURNAL_FILE
    from data_manager_ros.sync.journal import Journal
    from data_manager_ros.sync.snapshot import snapshot_of
    from data_manager_ros.sync.sync_manager import SyncManager
    from helpers.sync_setup import ListLogger, make_bag

    with small_tmpfs(tmp_path / "small", "16m") as mount:
        _, files = make_bag(str(mount / "capture"), "bag_full", 4, split_mb=2)
        fill(mount / "filler")
        log = ListLogger()
        config = make_config({"capture_dir": str(mount / "capture"),
                              "sync_url": f"file://{tmp_path / 'cloud'}"}, [])
        sync = SyncManager(config, log).start()
        try:
            problem = snapshot_of(sync.uploader).journal_problem
            sync.sweep()
            wait_for(lambda: not sync.uploader.pending(), 60, "the uploads")
            (mount / "filler").unlink()  # space returns: the next sweep writes the journal
            sync.sweep()
            after = snapshot_of(sync.uploader).journal_problem
        finally:
            sync.close()
        assert "cannot be written" in problem and "database or disk is full" in problem
        assert problem in log.text()
        assert after == "" and "is written to disk again" in log.text()
        assert Journal(str(mount / "capture" / JOURNAL_FILE), read_only=True).entries() == []
        for relative, data in files.items():
            assert (tmp_path / "cloud" / relative).read_bytes() == data
        assert not list((mount / "capture").glob("*/*.mcap"))
