"""One truth about health: for each state an operator meets, /diagnostics (the node's sync
status, from the upload process's snapshot) and `data_manager_status` (offline, from the
disk) give the same verdict, since both render health.sync_verdict."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from data_manager_ros.config.files import load_config_file
from data_manager_ros.health import (
    QUIET_AFTER_S,
    Level,
    SyncFacts,
    sync_verdict,
)
from data_manager_ros.node.diagnostics import sync_status
from data_manager_ros.sync.snapshot import snapshot_of
from data_manager_ros.sync.sync_manager import SyncManager
from data_manager_ros.sync.sync_worker import _Worker
from helpers.processes import wait_for, write_config
from helpers.sync_setup import ListLogger, aged_files
from helpers.tus_server import TusServer, free_port

LEVEL_OF = {b"\x00": Level.OK, b"\x01": Level.WARN, b"\x02": Level.ERROR}


@pytest.mark.parametrize("facts, level, words", [
    (SyncFacts(), Level.OK, "ok"),
    (SyncFacts(sync_disabled=True), Level.OK, "sync disabled"),
    (SyncFacts(process_error="upload process stopped reporting"), Level.ERROR, "stopped"),
    (SyncFacts(faults={"configuration": "the API key ... control characters"}), Level.ERROR,
     "configuration: the API key"),
    (SyncFacts(refused=("/c/failed/a.bin: HTTP 413",)), Level.ERROR, "refused for good"),
    (SyncFacts(stalled="stalled: a.mcap has sent no byte for 30 s", in_flight=True),
     Level.WARN, "stalled"),
    (SyncFacts(waiting_files=3, waiting_because="outside sync_windows"), Level.OK,
     "outside sync_windows"),
    (SyncFacts(waiting_files=3, quiet_s=QUIET_AFTER_S + 1), Level.WARN, "nothing sent"),
    (SyncFacts(failing_files=1, last_error="HTTP 500"), Level.WARN, "last: HTTP 500"),
    (SyncFacts(failing_files=1), Level.WARN, "no reason kept"),
    (SyncFacts(journal_problem="upload journal kept in memory"), Level.WARN, "in memory"),
    # what is broken for good outranks what is slow
    (SyncFacts(refused=("x: 413",), stalled="stalled", failing_files=2), Level.ERROR,
     "refused"),
], ids=["ok", "disabled", "process", "configuration", "refused", "stalled", "gated", "quiet",
        "failing", "failing-no-reason", "journal", "refused-outranks"])
def test_each_state_has_one_verdict(facts, level, words):
    verdict = sync_verdict(facts)
    assert verdict.level == level and words in verdict.message


def views(config_file: str, snapshot) -> tuple[Level, Level, str]:
    """(the /diagnostics level, the offline status's level, its output)."""
    diagnostics = sync_status("/data_manager", snapshot, sync_disabled=False)
    offline = subprocess.run([sys.executable, "-m", "data_manager_ros.tools.status",
                              config_file], capture_output=True, text=True, timeout=60)
    assert "Traceback" not in offline.stderr, offline.stderr
    head = offline.stdout.split(":")[0]
    level = {"ok": Level.OK, "WARN": Level.WARN, "ERROR": Level.ERROR}[head]
    assert offline.returncode == (0 if level == Level.OK else 1)
    return LEVEL_OF[diagnostics.level], level, offline.stdout


def _config(tmp_path, url: str, source) -> str:
    return write_config(str(tmp_path / "dm.yaml"), {}, capture_dir=str(tmp_path / "capture"),
                        sync_url=url, additional_sync_paths=[str(source)], robot_id="robot7")


def test_a_refused_file_is_an_error_in_both_views_and_ok_once_dealt_with(tmp_path):
    server = TusServer(str(tmp_path / "server"), max_size=100).start()
    try:
        source, _ = aged_files(tmp_path, 1000, count=1)
        path = _config(tmp_path, server.url, source)
        sync = SyncManager(load_config_file(path), ListLogger()).start()
        try:
            sync.sweep()
            wait_for(lambda: (source / "failed" / "f0.bin").exists(), 30, "the refusal")
            diagnostics, offline, text = views(path, snapshot_of(sync.uploader, sync.roots()))
        finally:
            sync.close()
        assert diagnostics == offline == Level.ERROR
        assert str(source / "failed" / "f0.bin") in text  # where README says it is kept
        os.remove(source / "failed" / "f0.bin")
        os.remove(source / "failed" / "f0.bin.reason.txt")
        sync = SyncManager(load_config_file(path), ListLogger()).start()
        try:
            diagnostics, offline, _ = views(path, snapshot_of(sync.uploader, sync.roots()))
        finally:
            sync.close()
        assert diagnostics == offline == Level.OK
    finally:
        server.kill()


def test_a_failing_upload_is_a_warning_in_both_views(tmp_path):
    source, _ = aged_files(tmp_path, 1000, count=1)
    path = _config(tmp_path, f"http://127.0.0.1:{free_port()}/files/", source)  # nobody there
    sync = SyncManager(load_config_file(path), ListLogger()).start()
    try:
        sync.sweep()
        wait_for(lambda: snapshot_of(sync.uploader).failing_files, 30, "a failure")
        wait_for(lambda: any(e.failures for e in sync.uploader.journal.entries()), 30,
                 "the failure in the journal")
        diagnostics, offline, text = views(path, snapshot_of(sync.uploader, sync.roots()))
    finally:
        sync.close()
    assert diagnostics == offline == Level.WARN and "failing" in text


class Discard:
    """Where the upload process's messages go when a test reads its status directly."""

    def send(self, message) -> None:
        pass


def test_an_unusable_api_key_is_an_error_naming_it_in_both_views(tmp_path, monkeypatch):
    source, _ = aged_files(tmp_path, 1000, count=1)
    path = _config(tmp_path, "http://127.0.0.1:9/files/", source)
    monkeypatch.setenv("DATA_MANAGER_API_KEY", "two\r\nlines")
    worker = _Worker(Discard())  # the upload process's own configure and status
    worker.configure(load_config_file(path))
    diagnostics, offline, text = views(path, worker.status().snapshot)
    assert diagnostics == offline == Level.ERROR
    assert "control characters" in text and "api_key_env" in text
