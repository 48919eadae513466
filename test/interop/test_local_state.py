"""The upload journal heals itself: damaged while the node was stopped (garbage, truncated,
emptied, a directory in its place), it is set aside, named, and uploading goes on with a new
one; a setup error releases the journal's lock, so the next good config uploads at once."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest

from data_manager_ros.config.settings import ConfigError
from data_manager_ros.layout import JOURNAL_FILE
from data_manager_ros.sync.journal import Journal, JournalEntry
from helpers.sync_setup import (
    ListLogger,
    aged_files,
    assert_arrived_once,
    manager,
    sync_until_done,
)


def uploads_all(tmp_path, url: str, source, files: dict[str, bytes], server) -> str:
    """A sync manager that sends every file of ``source`` once, each whole; its log."""
    sync, log = manager(tmp_path, url, additional_sync_paths=[str(source)])
    try:
        sync_until_done(sync, source, log)
    finally:
        sync.close()
    assert_arrived_once(server, files)
    return log.text()


def _a_journal_with_rows(path: str) -> None:
    journal = Journal(path)
    for index in range(200):
        journal.put(JournalEntry(f"/nowhere/file{index}", 100, 1, "blake3:" + "0" * 64,
                                 upload_url=f"http://127.0.0.1:1/files/{index}"))
    journal.close()


def _garbage(path: str) -> None:
    with open(path, "wb") as handle:
        handle.write(os.urandom(8192))


def _truncated(path: str) -> None:
    _a_journal_with_rows(path)
    os.truncate(path, os.path.getsize(path) // 2)  # its first pages whole, the rest gone


def _emptied(path: str) -> None:
    _a_journal_with_rows(path)
    os.truncate(path, 0)


def _a_directory(path: str) -> None:
    os.mkdir(path)
    open(os.path.join(path, "inside"), "w").close()


@pytest.mark.parametrize("damage", [_garbage, _truncated, _emptied, _a_directory],
                         ids=["garbage", "truncated", "emptied", "directory"])
def test_a_damaged_journal_is_set_aside_and_every_file_still_uploads(tmp_path, tus_server,
                                                                     damage):
    capture = tmp_path / "capture"
    capture.mkdir()
    journal = str(capture / JOURNAL_FILE)
    damage(journal)
    before = os.path.getsize(journal) if os.path.isfile(journal) else -1
    status = subprocess.run([sys.executable, "-m", "data_manager_ros.tools.status",
                             "--capture-dir", str(capture)], capture_output=True, text=True)
    assert "Traceback" not in status.stderr and status.stdout.split(":")[0] in ("ok", "WARN")
    source, files = aged_files(tmp_path, 2000, count=3)
    log = uploads_all(tmp_path, tus_server.url, source, files, tus_server)
    aside = [name for name in os.listdir(capture) if ".damaged-" in name]
    if damage is _emptied:  # an empty file is an empty database: nothing to set aside
        assert aside == [] and "set aside" not in log
        return
    assert len(aside) == 1 and f"set aside as {capture / aside[0]}" in log
    kept = capture / aside[0]
    assert (os.path.getsize(kept) if kept.is_file() else -1) == before  # kept as it was
    assert sqlite3.connect(journal).execute("PRAGMA quick_check").fetchone()[0] == "ok"


def test_a_directory_in_the_journal_locks_place_is_set_aside(tmp_path, tus_server):
    from data_manager_ros.layout import JOURNAL_LOCK_FILE

    capture = tmp_path / "capture"
    capture.mkdir()
    _a_directory(str(capture / JOURNAL_LOCK_FILE))
    source, files = aged_files(tmp_path, 1000, count=1)
    uploads_all(tmp_path, tus_server.url, source, files, tus_server)
    assert [n for n in os.listdir(capture) if n.startswith(JOURNAL_LOCK_FILE + ".damaged-")]


def test_a_damaged_journal_gives_a_verdict_not_a_traceback(tmp_path):
    capture = tmp_path / "capture"
    capture.mkdir()
    _truncated(str(capture / JOURNAL_FILE))
    status = subprocess.run([sys.executable, "-m", "data_manager_ros.tools.status",
                             "--capture-dir", str(capture)], capture_output=True, text=True)
    assert status.returncode == 1 and "Traceback" not in status.stderr
    assert status.stdout.startswith("WARN: upload journal") and "is damaged" in status.stdout


def test_a_setup_error_releases_the_journal_lock_and_a_good_config_uploads(
        tmp_path, tus_server, monkeypatch):
    source, files = aged_files(tmp_path, 1000, count=2)
    monkeypatch.setenv("DATA_MANAGER_API_KEY", "line one\r\nline two")
    with pytest.raises(ConfigError, match="control characters"):
        manager(tmp_path, tus_server.url, additional_sync_paths=[str(source)])
    monkeypatch.setenv("DATA_MANAGER_API_KEY", "")
    assert "another uploader" not in uploads_all(tmp_path, tus_server.url, source, files,
                                                 tus_server)


def test_an_upload_the_journal_names_that_is_not_this_files_is_terminated_and_said(
        tmp_path, tus_server):
    """The journal names an upload holding more bytes than the file has (the file was
    replaced while the node was stopped): the uploader says so, terminates that upload on
    the server, and sends the file once in a new one. The same when the file changed
    between two attempts: the upload of the file as it was is terminated, and the failure
    count keeps its reason."""
    import requests

    from data_manager_ros.digest import of_file
    from data_manager_ros.sync.tus_client import TusClient

    source, files = aged_files(tmp_path, 50, count=2)
    client = TusClient(tus_server.url)
    old_urls = []
    for index, size in ((0, 500), (1, 10)):
        old_urls.append(client.create(size, {"filename": f"old{index}"}))
    (tmp_path / "capture").mkdir()
    journal = Journal(str(tmp_path / "capture" / JOURNAL_FILE))
    stat0 = os.stat(source / "f0.bin")
    journal.put(JournalEntry(str(source / "f0.bin"), stat0.st_size, stat0.st_mtime_ns,
                             of_file(str(source / "f0.bin"), "blake3"), upload_url=old_urls[0]))
    stat1 = os.stat(source / "f1.bin")  # an entry for f1 as it was: another size
    journal.put(JournalEntry(str(source / "f1.bin"), 10, stat1.st_mtime_ns - 1,
                             "blake3:" + "0" * 64, upload_url=old_urls[1], failures=2,
                             last_error="HTTP 500 earlier"))
    journal.close()
    client.close()
    # the first upload holds 500 bytes only by its length: make the server hold them
    with requests.patch(old_urls[0], data=os.urandom(500), timeout=30, headers={
            "Tus-Resumable": "1.0.0", "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream"}) as answer:
        assert answer.status_code == 204
    sync, log = manager(tmp_path, tus_server.url, additional_sync_paths=[str(source)])
    try:
        sync_until_done(sync, source, log)
    finally:
        sync.close()
    assert "more than the file's 50" in log.text()
    for url in old_urls:  # terminated: the server no longer knows them
        head = requests.head(url, headers={"Tus-Resumable": "1.0.0"}, timeout=30)
        assert head.status_code in (404, 410), url
    arrived = [u for u in tus_server.completed() if u["metadata"].get("relative_path")]
    assert sorted(u["metadata"]["relative_path"] for u in arrived) == sorted(files)


@pytest.mark.parametrize("bad", [
    {"api_key_env": "DM_TEST_BAD_KEY"},
    {"api_key_file": "/nonexistent/robot.token"},
    {"ca_bundle": "NOT A CERTIFICATE"},
], ids=["key-with-crlf", "unreadable-key-file", "ca-bundle-without-certificate"])
def test_each_setup_error_is_reported_then_a_good_config_uploads_without_a_restart(
        tmp_path, tus_server, monkeypatch, bad):
    """The upload process's own configure: a config whose destination cannot be set up is
    one ERROR naming the setting and takes nothing (the journal lock is free again); the
    corrected config, given live, uploads at once."""
    from data_manager_ros.config.settings import make_config
    from data_manager_ros.health import CONFIGURATION
    from data_manager_ros.sync.sync_worker import _Worker

    class Discard:
        def send(self, message) -> None:
            pass

    monkeypatch.setenv("DM_TEST_BAD_KEY", "two\nlines")
    if "ca_bundle" in bad:
        (tmp_path / "ca.pem").write_text(bad["ca_bundle"])
        bad = {"ca_bundle": str(tmp_path / "ca.pem")}
    source, files = aged_files(tmp_path, 1000, count=2)
    good = {"sync_url": tus_server.url, "robot_id": "robot7", "capture_dir":
            str(tmp_path / "capture"), "additional_sync_paths": [str(source)]}
    worker = _Worker(Discard())
    worker.configure(make_config({**good, **bad}, []))
    problem = worker.status().snapshot.faults[CONFIGURATION]
    assert next(iter(bad)) in problem
    worker.configure(make_config(good, []))
    try:
        assert worker.problem == "" and worker.manager is not None
        worker.manager.request_sweep()
        sync_until_done(worker.manager, source, ListLogger())  # its log went to the node
    finally:
        worker.manager.close()
    assert_arrived_once(tus_server, files)


def test_a_journal_overwritten_while_in_use_neither_stops_uploads_nor_the_next_start(
        tmp_path, tus_server):
    source, files = aged_files(tmp_path, 1000, count=2)
    sync, log = manager(tmp_path, tus_server.url, additional_sync_paths=[str(source)])
    try:
        sync_until_done(sync, source, log)
        journal = tmp_path / "capture" / JOURNAL_FILE
        with open(journal, "r+b") as handle:
            handle.write(os.urandom(journal.stat().st_size))
        more = {}
        for index in range(3):
            (source / f"n{index}.bin").write_bytes(data := os.urandom(300 + index))
            os.utime(source / f"n{index}.bin", (1, 1))  # long quiet
            more[f"logs/n{index}.bin"] = data
        sync_until_done(sync, source, log)
    finally:
        sync.close()
    (source / "after.bin").write_bytes(after := os.urandom(200))
    os.utime(source / "after.bin", (1, 1))
    sync, log = manager(tmp_path, tus_server.url, additional_sync_paths=[str(source)])
    try:  # the next start: the journal is usable again, or set aside and new
        sync_until_done(sync, source, log)
    finally:
        sync.close()
    assert_arrived_once(tus_server, {**files, **more, "logs/after.bin": after})
