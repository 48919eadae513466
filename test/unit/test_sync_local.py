"""Sync without a server: the backoff schedule, directory destinations, what the scanner
takes and skips, key checks, offline status."""

from __future__ import annotations

import os
import time

import pytest

from data_manager_ros.backoff import Backoff
from data_manager_ros.config.settings import ConfigError, make_config
from data_manager_ros.layout import JOURNAL_FILE
from data_manager_ros.sync.scanner import quiet_files
from helpers.sync_setup import (
    drain,
    make_bag,
    manager,
    sweep_until_empty,
)


def test_directory_destination_copies_whole_files(tmp_path):
    _, files = make_bag(str(tmp_path / "capture"), "bag_d", 3, split_mb=1)
    sync, _ = manager(tmp_path, f"file://{tmp_path / 'cloud'}")
    sweep_until_empty(sync)
    for path, data in files.items():
        assert (tmp_path / "cloud" / path).read_bytes() == data
    assert not list((tmp_path / "cloud").rglob("*.part"))


def test_backoff_schedule_doubles_from_200ms_and_caps_at_an_hour():
    backoff = Backoff()
    assert [backoff.delay(n) for n in range(1, 6)] == pytest.approx([0.2, 0.4, 0.8, 1.6, 3.2])
    assert backoff.delay(15) == pytest.approx(3276.8)
    assert backoff.delay(16) == 3600 and backoff.delay(10**6) == 3600


def test_the_key_goes_to_the_origin_of_sync_url_only():
    from data_manager_ros.sync.tus_client import origin

    endpoint = origin("https://cloud.example:8443/files/")
    assert origin("https://CLOUD.example:8443/files/abc") == endpoint
    assert origin("http://cloud.example:8443/files/abc") != endpoint  # a downgrade
    assert origin("https://cloud.example/files/abc") != endpoint  # another port
    with pytest.raises(ValueError):
        origin("http://[::1/files/x")


def test_fifos_sockets_and_devices_are_skipped_once_and_never_opened(tmp_path):
    import socket

    extra = tmp_path / "extra"
    extra.mkdir()
    os.mkfifo(extra / "fifo")
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(str(extra / "sock"))
    os.mknod(extra / "zero", 0o600 | __import__("stat").S_IFCHR, os.makedev(1, 5))
    (extra / "data.bin").write_bytes(b"sent")
    old = time.time() - 60
    for name in ("fifo", "zero", "data.bin"):
        os.utime(extra / name, (old, old))
    sync, log = manager(tmp_path, f"file://{tmp_path / 'cloud'}",
                        additional_sync_paths=[str(extra)])
    try:
        for _ in range(2):
            sync.sweep()
        drain(sync, 30)
    finally:
        sync.close()
        unix.close()
    assert (tmp_path / "cloud" / "extra" / "data.bin").read_bytes() == b"sent"
    for name, kind in (("fifo", "a FIFO"), ("sock", "a socket"), ("zero", "a character device")):
        assert log.text().count(f"{extra / name} is not a regular file ({kind})") == 1
        assert os.path.lexists(extra / name)


def test_an_api_key_with_a_newline_is_refused_by_name_never_echoed(tmp_path, monkeypatch):
    from data_manager_ros.config.credentials import api_key

    monkeypatch.setenv("DM_TEST_KEY", "s3cret-value\r\n")
    config = make_config({"capture_dir": str(tmp_path), "api_key_env": "DM_TEST_KEY"}, [])
    with pytest.raises(ConfigError) as refused:
        api_key(config)
    assert "'DM_TEST_KEY'" in str(refused.value) and "s3cret" not in str(refused.value)


def test_offline_status_counts_additional_paths_and_their_failed_files(tmp_path):
    from data_manager_ros.tools.status import offline_report

    make_bag(str(tmp_path / "capture"), "bag_s", 1)
    extra = tmp_path / "extra"
    (extra / "failed").mkdir(parents=True)
    (extra / "a.bin").write_bytes(os.urandom(2048))
    (extra / "failed" / "big.bin").write_bytes(b"x")
    (extra / "failed" / "big.bin.reason.txt").write_text("HTTP 413 too large\n")
    sync, _ = manager(tmp_path, f"file://{tmp_path / 'cloud'}")  # a journal in capture_dir
    sync.close()
    report = offline_report(str(tmp_path / "capture"), (str(extra),))
    assert report.startswith(f"ERROR: 1 file(s) refused for good, kept in failed/; first: "
                             f"{extra / 'failed' / 'big.bin'}: HTTP 413 too large\n")
    assert f"additional path {extra}: 1 file(s) waiting, 2.0 KiB" in report
    assert f"FAILED {extra / 'failed' / 'big.bin'}: HTTP 413 too large" in report
    assert "bag bag_s: closed, 2 file(s) waiting" in report
    (extra / "failed" / "big.bin.reason.txt").unlink()
    (extra / "failed" / "big.bin").unlink()
    empty = tmp_path / "capture" / JOURNAL_FILE
    empty.unlink()
    empty.touch()  # a journal file with no table, as a full disk leaves it
    report = offline_report(str(tmp_path / "capture"), (str(extra),))
    assert report.startswith("ok: ") and "cannot be read" not in report


def test_an_old_capture_dir_is_synced_until_its_bags_are_gone_then_dropped(tmp_path):
    from dataclasses import replace

    old, new = str(tmp_path / "a"), str(tmp_path / "b")
    _, old_files = make_bag(old, "bag_a", 1)
    sync, log = manager(tmp_path, f"file://{tmp_path / 'cloud'}", capture_dir=old)
    try:
        sync.apply(replace(sync.config, capture_dir=new))
        _, new_files = make_bag(new, "bag_b", 1)
        sync.sweep()
        drain(sync)
        assert sync.capture_dirs == [old, new]  # emptied by this sweep's uploads
        sync.sweep()
        assert sync.capture_dirs == [new]
    finally:
        sync.close()
    assert sorted(str(p.relative_to(tmp_path / "cloud")) for p in (tmp_path / "cloud").rglob("*")
                  if p.is_file()) == sorted([*old_files, *new_files])
    assert f"{old}: every bag uploaded; no longer synced" in log.text()


def test_a_file_listed_again_just_after_its_upload_is_not_reported_vanished(tmp_path):
    """A sweep lists files while workers upload them: one listed just before its upload
    ended is queued again, and must not read as data loss."""
    extra = tmp_path / "logs"
    extra.mkdir()
    (extra / "a.log").write_bytes(b"x" * 100)
    sync, log = manager(tmp_path, f"file://{tmp_path / 'cloud'}",
                        additional_sync_paths=[str(extra)], file_last_modified_millis=0)
    try:
        [listed] = quiet_files(str(extra), 0, time.time_ns(), log.warning)
        sync.uploader.enqueue([listed])
        drain(sync)
        sync.uploader.enqueue([listed])  # the stale listing of a sweep that ran meanwhile
        drain(sync)
    finally:
        sync.close()
    assert "vanished" not in log.text()
    assert (tmp_path / "cloud" / "logs" / "a.log").read_bytes() == b"x" * 100
