"""Every long-lived thread outlives an exception nobody expected, says so, and recovers.

Fault injection where no real fault makes one: a bug, put in each thread's step. The
capture writer's case is in test_capture_engine.py (a message for a topic the bag lacks).
"""

from __future__ import annotations

import io
import os
import signal
import threading

import psutil
import pytest
from diagnostic_msgs.msg import DiagnosticStatus

from data_manager_ros.config.params import config_to_params
from data_manager_ros.config.settings import make_config
from data_manager_ros.node.diagnostics import sync_status
from data_manager_ros.node.sync_client import SyncProcess
from data_manager_ros.sync import sync_manager, sync_worker
from data_manager_ros.sync.snapshot import snapshot_of
from data_manager_ros.wire import (
    Condition,
    Configure,
    LogLine,
    Severity,
    Status,
    Sweep,
    SyncSnapshot,
    Uploaded,
    UploadStats,
    decode,
    encode,
)
from helpers.processes import wait_for
from helpers.sync_setup import ListLogger, make_bag, manager


class _Once:
    """Wraps a function so that its first ``failures`` calls raise a ZeroDivisionError."""

    def __init__(self, function, failures: int = 1) -> None:
        self.function = function
        self.failures = failures

    def __call__(self, *args, **kwargs):
        if self.failures:
            self.failures -= 1
            raise ZeroDivisionError("an injected bug")
        return self.function(*args, **kwargs)


def _status(sync) -> DiagnosticStatus:
    return sync_status("/data_manager", snapshot_of(sync.uploader), sync_disabled=False)


def test_a_sync_worker_reports_the_bug_retries_the_file_and_recovers(tmp_path):
    make_bag(str(tmp_path / "capture"), "bag_w", 1)
    sync, log = manager(tmp_path, f"file://{tmp_path / 'cloud'}", maximum_num_sync_threads=1)
    destination = sync.uploader.destination
    destination.upload = _Once(destination.upload, failures=2)
    try:
        sync.sweep()
        wait_for(lambda: destination.upload.failures == 0, 30, "two failed tries")
        failing = _status(sync)
        wait_for(lambda: not sync.uploader.pending(), 30, "the retried uploads")
        recovered = _status(sync)
    finally:
        sync.close()
    assert failing.level == DiagnosticStatus.ERROR
    assert "sync worker: unexpected ZeroDivisionError: an injected bug" in failing.message
    assert log.text().count("Traceback") == 2
    assert recovered.level == DiagnosticStatus.OK
    assert {kv.key: kv.value for kv in recovered.values}["unexpected_errors"] == "2"
    assert os.listdir(tmp_path / "cloud" / "bag_w")


def test_the_sweeper_reports_the_bug_and_the_next_sweep_works(tmp_path, monkeypatch):
    monkeypatch.setattr(sync_manager, "bag_files", _Once(sync_manager.bag_files))
    make_bag(str(tmp_path / "capture"), "bag_s", 1)
    sync, log = manager(tmp_path, f"file://{tmp_path / 'cloud'}")
    try:
        sync.request_sweep()
        wait_for(lambda: "Traceback" in log.text(), 30, "the sweep's failure")
        failing = _status(sync)
        sync.request_sweep()
        wait_for(lambda: (tmp_path / "cloud" / "bag_s").exists() and not sync.uploader.pending(),
                 30, "the next sweep's uploads")
        recovered = _status(sync)
    finally:
        sync.close()
    assert failing.level == DiagnosticStatus.ERROR
    assert "sync sweeper: unexpected ZeroDivisionError" in failing.message
    assert recovered.level == DiagnosticStatus.OK


def test_the_status_reporter_reports_the_bug_and_goes_on_reporting(tmp_path, monkeypatch):
    monkeypatch.setattr(sync_worker, "snapshot_of", _Once(sync_worker.snapshot_of))
    monkeypatch.setattr(sync_worker, "STATUS_INTERVAL_S", 0.05)
    out = io.StringIO()
    read_end, write_end = os.pipe()
    config = make_config({"capture_dir": str(tmp_path / "capture"),
                          "sync_url": f"file://{tmp_path / 'cloud'}", "sync_disabled": True}, [])
    os.write(write_end, encode(Configure(config_to_params(config))).encode())
    with os.fdopen(read_end) as lines:
        server = threading.Thread(target=sync_worker.serve,
                                  args=(lines, sync_worker._Channel(out)))
        server.start()

        def statuses() -> list[dict]:
            return [m.snapshot for m in map(decode, out.getvalue().splitlines())
                    if isinstance(m, Status)]

        try:
            wait_for(lambda: len(statuses()) >= 2, 30, "reports after the failed one")
        finally:
            os.close(write_end)
            server.join()
    messages = [decode(line) for line in out.getvalue().splitlines()]
    errors = [m.message for m in messages
              if isinstance(m, LogLine) and m.severity == Severity.ERROR]
    assert any(e.startswith("status reporter: unexpected ZeroDivisionError") and "Traceback" in e
               for e in errors), errors
    assert statuses()[0].unexpected_errors == 1


def test_an_upload_process_that_stops_reporting_is_an_error_until_it_reports_again(tmp_path):
    """A real hang: the child is stopped (SIGSTOP), so the last snapshot would still say ok."""
    config = make_config({"capture_dir": str(tmp_path / "capture"),
                          "sync_url": f"file://{tmp_path / 'cloud'}"}, [])  # nothing to send
    sync = SyncProcess(config, ListLogger()).start()
    try:
        wait_for(lambda: sync.snapshot.stats.last_progress > 0, 30, "a first report")
        [child] = [c for c in psutil.Process().children()
                   if "sync_worker" in " ".join(c.cmdline())]
        child.send_signal(signal.SIGSTOP)
        wait_for(lambda: "sent no status for" in sync.problem(silent_after_s=1.0), 30,
                 "the silence to be reported")
        child.send_signal(signal.SIGCONT)
        wait_for(lambda: not sync.problem(silent_after_s=1.0), 30, "reports again")
    finally:
        sync.close()


def test_every_wire_message_round_trips_and_a_stray_line_is_refused():
    snapshot = SyncSnapshot(waiting_files=2, faults={"sync worker": "x"},
                            stats=UploadStats(in_flight={"/a": (1, 2, 3.0)}))
    for message in (Configure({"capture_dir": "/x", "tags": []}), Sweep(forced=True),
                    Condition(False), LogLine(Severity.WARNING, "caf\udce9"),
                    Status(snapshot), Uploaded("/a", 2, "http://h/files/1")):
        decoded = decode(encode(message))
        assert type(decoded) is type(message)
    assert decode(encode(Status(snapshot))).snapshot.stats.in_flight == {"/a": [1, 2, 3.0]}
    for stray in ('{"status": {}}', "[1]", '{"kind": "Sweep", "typo": 1}'):
        with pytest.raises(ValueError):
            decode(stray)


class _FailingLogger(ListLogger):
    """A node logger that raises on its first info line (as rclpy does on a severity clash)."""

    def __init__(self) -> None:
        super().__init__()
        self.failed = False

    def info(self, message: str) -> None:
        if not self.failed:
            self.failed = True
            raise ValueError("Logger severity cannot be changed between calls.")
        super().info(message)


def test_the_node_side_of_the_wire_outlives_a_line_it_cannot_handle(tmp_path):
    """A line whose handling fails is reported (ERROR naming the sync supervisor) and the
    next lines are read: the node keeps hearing its upload process."""
    make_bag(str(tmp_path / "capture"), "bag_w", 1)
    config = make_config({"capture_dir": str(tmp_path / "capture"),
                          "sync_url": f"file://{tmp_path / 'cloud'}"}, [])
    log = _FailingLogger()
    sync = SyncProcess(config, log).start()
    try:
        sync.request_sweep()
        wait_for(lambda: log.failed and sync.snapshot.stats.uploaded_files >= 1, 30,
                 "the failed line, then uploads reported")
        wait_for(lambda: not sync.problem(), 30, "the fault cleared by the lines after it")
    finally:
        sync.close()
    assert "ERROR sync supervisor: unexpected ValueError: Logger severity" in log.text()
