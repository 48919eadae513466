"""The node's upload process: dies with the node, is restarted if it dies alone, and is the
only uploader of its capture_dir."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil

from data_manager_ros.config.settings import make_config
from data_manager_ros.layout import JOURNAL_FILE
from data_manager_ros.node.sync_client import SyncProcess
from helpers.processes import NodeProcess, stopped_after, wait_for, write_config
from helpers.proxy import FaultProxy
from helpers.sync_setup import ListLogger, assert_arrived_once, make_bag

WORKER = "data_manager_ros.sync.sync_worker"


def upload_processes(pid: int) -> list[psutil.Process]:
    return [child for child in psutil.Process(pid).children()
            if WORKER in " ".join(child.cmdline())]


def upload_process(node: NodeProcess) -> psutil.Process:
    wait_for(lambda: upload_processes(node.process.pid), 30, "the node's upload process")
    return upload_processes(node.process.pid)[0]


def node_config(tmp_path, url: str, limit: int = 0) -> str:
    return write_config(str(tmp_path / f"dm_{limit}.yaml"), {},
                        capture_dir=str(tmp_path / "capture"), sync_url=url,
                        upload_bandwidth_limit_bytes_per_s=limit, sync_interval_mins=0.02)


def test_sweeps_on_request_when_disabled_and_reports_through_snapshots_and_log(tmp_path,
                                                                             tus_server):
    capture = str(tmp_path / "capture")
    _, files = make_bag(capture, "bag_s", 3, split_mb=1)
    log = ListLogger()
    sync = SyncProcess(make_config({"capture_dir": capture, "sync_url": tus_server.url,
                                    "sync_disabled": True}, []), log).start()
    try:
        # sync disabled: nothing that could start an upload process runs, until a sweep is
        # asked for (the decision is start()'s own, so no wait can miss a later start)
        assert not sync.started and upload_processes(os.getpid()) == []
        assert tus_server.completed() == [] and sync.problem() == ""
        sync.request_sweep()  # the one sweep reaches the process it starts
        wait_for(lambda: upload_processes(os.getpid()), 10, "the upload process the sweep starts")
        wait_for(lambda: sync.snapshot.stats.uploaded_files == len(files), 60,
                 "the snapshot's count")
    finally:
        sync.close()
    assert_arrived_once(tus_server, files)
    assert sync.snapshot.waiting_files == 0 and sync.snapshot.stats.last_success > 0
    assert "uploaded bag_s/bag_s_0.mcap" in log.text()


def test_upload_process_dies_with_a_killed_node_and_the_next_node_resumes(tmp_path, tus_server):
    proxy = FaultProxy(tus_server.port)
    _, files = make_bag(str(tmp_path / "capture"), "bag_p", 24)
    node = NodeProcess(node_config(tmp_path, proxy.url(), limit=4 << 20),
                       str(tmp_path / "node.log")).start()
    try:
        uploader = upload_process(node)
        wait_for(lambda: uploader.nice() > psutil.Process().nice(), 10,
                 "the upload process to lower its priority below capture's")
        wait_for(lambda: proxy.upstream_bytes > 8 << 20, 30, "8 MiB on the wire")
        node.kill()
        wait_for(lambda: not uploader.is_running() or uploader.status() == psutil.STATUS_ZOMBIE,
                 5, "the upload process to die with the node")
        sent_before = proxy.upstream_bytes
        time.sleep(1.0)
        assert proxy.upstream_bytes == sent_before, "bytes sent after the node died"

        node = NodeProcess(node_config(tmp_path, proxy.url()), str(tmp_path / "node.log"))
        node.start()
        wait_for(lambda: "uploaded bag_p/bag_p_0.mcap" in node.log(), 60, "the resumed upload")
    finally:
        node.stop()
        proxy.close()
    overhead = proxy.upstream_bytes - sum(len(data) for data in files.values())
    assert 0 <= overhead < 16384, f"{overhead} bytes beyond the files: something was re-sent"
    wait_for(lambda: "bag_p/metadata.yaml" in node.log(), 5, "metadata.yaml uploaded")
    assert_arrived_once(tus_server, files, only=False)


def test_a_killed_upload_process_is_restarted_and_uploads_go_on(tmp_path, tus_server):
    node = NodeProcess(node_config(tmp_path, tus_server.url), str(tmp_path / "node.log")).start()
    with stopped_after(node):
        first = upload_process(node)
        first.kill()
        node.wait_log("upload process exited with code -9; restarting it in 0.2 s")
        wait_for(lambda: upload_process(node).pid != first.pid, 30, "a new upload process")
        _, files = make_bag(str(tmp_path / "capture"), "bag_r", 2)
        wait_for(lambda: "uploaded bag_r/metadata.yaml" in node.log(), 60, "the upload")
    assert_arrived_once(tus_server, files, only=False)


def test_a_second_uploader_on_the_same_capture_dir_is_refused(tmp_path, tus_server):
    config = node_config(tmp_path, tus_server.url)
    node = NodeProcess(config, str(tmp_path / "node.log")).start()
    try:
        upload_process(node)
        lock = tmp_path / "capture" / f"{JOURNAL_FILE}.lock"
        wait_for(lock.exists, 30, "the upload process to take the journal")
        second = subprocess.run([sys.executable, "-m", "data_manager_ros.tools.sync_cli", config],
                                capture_output=True, text=True, timeout=60)
    finally:
        node.stop()
    assert second.returncode == 2
    assert "another uploader is using" in second.stderr
    assert "two uploaders would send the same files twice" in second.stderr
