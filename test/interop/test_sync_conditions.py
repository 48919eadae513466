"""Upload priority, sync windows and the condition, with SyncManager, the real tus server and
a clock the test sets (never a long sleep)."""

from __future__ import annotations

import os
import threading
import time
from datetime import datetime

from helpers.processes import wait_for
from helpers.sync_setup import clip_bag, make_bag, manager, sweep_until_empty


def small_files(root, count: int) -> None:
    root.mkdir()
    old = time.time() - 60  # past the quiet time
    for index in range(count):
        path = root / f"note_{index:03}.txt"
        path.write_text(f"note {index}")
        os.utime(path, (old + index, old + index))


def completed_kinds(server) -> list[str]:
    kinds = []
    for upload in server.completed():
        path = upload["metadata"]["relative_path"]
        kind = "clips" if path.startswith("clip_") else "files" if path.startswith("extra/") \
            else "bags"
        if not kinds or kinds[-1] != kind:
            kinds.append(kind)
    return kinds


def test_a_clip_queued_behind_50_files_and_a_bag_goes_first(tmp_path, tus_server):
    small_files(tmp_path / "extra", 50)
    make_bag(str(tmp_path / "capture"), "bag_o", 2)
    clip_bag(str(tmp_path / "capture"), "clip_late")  # the newest of all
    sync, _ = manager(tmp_path, tus_server.url, maximum_num_sync_threads=1,
                      additional_sync_paths=[str(tmp_path / "extra")])
    sweep_until_empty(sync)
    assert completed_kinds(tus_server) == ["clips", "bags", "files"]
    notes = [u["metadata"]["filename"] for u in tus_server.completed()
             if u["metadata"]["relative_path"].startswith("extra/")]
    assert notes == sorted(notes)  # oldest first within a class


def test_the_priority_and_the_order_within_a_class_are_configurable(tmp_path, tus_server):
    small_files(tmp_path / "extra", 5)
    make_bag(str(tmp_path / "capture"), "bag_o", 1)
    clip_bag(str(tmp_path / "capture"), "clip_x")
    sync, _ = manager(tmp_path, tus_server.url, maximum_num_sync_threads=1,
                      additional_sync_paths=[str(tmp_path / "extra")],
                      upload_priority=["files", "bags", "clips"], upload_order="newest_first")
    sweep_until_empty(sync)
    assert completed_kinds(tus_server) == ["files", "bags", "clips"]
    notes = [u["metadata"]["filename"] for u in tus_server.completed()][:5]
    assert notes == sorted(notes, reverse=True)


class Clock:
    """Local time the test sets."""

    def __init__(self, hour: int) -> None:
        self.hour = hour

    def __call__(self) -> datetime:
        return datetime(2026, 11, 29, self.hour, 30)


class GateWatch:
    """Counts how often the workers asked the gate, so a test knows they looked and
    declined instead of sleeping."""

    def __init__(self, sync) -> None:
        self.asked = 0
        self._lock = threading.Lock()
        gate = sync.uploader.gate

        def counted() -> str:
            with self._lock:
                self.asked += 1
            return gate()

        sync.uploader.gate = counted

    def wait_asked(self, times: int = 3) -> None:
        start = self.asked
        wait_for(lambda: self.asked >= start + times, 10, "the workers to ask the gate")


def test_nothing_goes_up_outside_the_window_until_it_opens_or_sync_is_asked(tmp_path,
                                                                            tus_server):
    from data_manager_ros.config.settings import make_config
    from data_manager_ros.sync.sync_manager import SyncManager
    from helpers.sync_setup import ListLogger

    clock = Clock(hour=12)
    config = make_config({"capture_dir": str(tmp_path / "capture"), "sync_url": tus_server.url,
                          "sync_windows": ["22:00-06:00"],
                          "upload_bandwidth_limit_bytes_per_s": 0,
                          "upload_bandwidth_limit_outside_windows_bytes_per_s": 1 << 20}, [])
    make_bag(str(tmp_path / "capture"), "bag_w", 1)
    sync = SyncManager(config, ListLogger(), now=clock).start()
    watch = GateWatch(sync)
    try:
        sync.sweep()
        watch.wait_asked()
        assert tus_server.completed() == [] and len(sync.uploader.pending()) == 2
        assert sync.uploader.gate() == "outside sync_windows 22:00-06:00"
        assert sync.limit.bytes_per_s == 1 << 20  # the limit outside the windows
        clock.hour = 23
        sync.uploader.wake()
        wait_for(lambda: not sync.uploader.pending(), 30, "the uploads once the window opens")
        assert len(tus_server.completed()) == 2 and sync.limit.bytes_per_s == 0

        clock.hour = 7
        make_bag(str(tmp_path / "capture"), "bag_f", 1)
        sync.sweep()
        watch.wait_asked()
        assert len(tus_server.completed()) == 2
        sync.request_sweep(forced=True)  # ~/sync: what this sweep finds goes now, once
        wait_for(lambda: len(tus_server.completed()) == 4, 30, "the forced uploads")
    finally:
        sync.close()


def test_the_condition_value_the_node_forwards_pauses_and_resumes_scheduled_uploads(
        tmp_path, tus_server):
    """The upload process's side: the last value the node forwarded from the condition topic
    (set_condition) holds or lets go scheduled uploads. The topic itself, published to a
    real node, is test_incidents_node.py's."""
    sync, _ = manager(tmp_path, tus_server.url, sync_condition_topic="/may_sync")
    watch = GateWatch(sync)
    try:
        make_bag(str(tmp_path / "capture"), "bag_c", 1)
        sync.sweep()
        watch.wait_asked()
        assert tus_server.completed() == []
        assert sync.uploader.gate() == "sync_condition_topic says false"
        sync.set_condition(True)
        wait_for(lambda: not sync.uploader.pending(), 30, "uploads once it says true")
        sync.set_condition(False)
        make_bag(str(tmp_path / "capture"), "bag_d", 1)
        sync.sweep()
        watch.wait_asked()
        assert len(sync.uploader.pending()) == 2
    finally:
        sync.close()


def test_config_refuses_bad_windows_priorities_and_policies(tmp_path):
    import pytest

    from data_manager_ros.config.settings import ConfigError, make_config

    base = {"capture_dir": str(tmp_path)}
    for attributes, reason in (
            ({"sync_windows": ["25:00-06:00"]}, "is not a time window"),
            ({"upload_priority": ["clips", "bags"]}, "must be each of clips, bags, files once"),
            ({"upload_order": "random"}, "must be one of oldest_first, newest_first"),
            ({"disk_full_policy": "panic"}, "must be one of pause, delete_oldest"),
            ({"clip_trigger_topic": "bad topic"}, "is not a valid ROS topic name")):
        with pytest.raises(ConfigError, match=reason):
            make_config({**base, **attributes}, [])
    # the valid forms of the same settings are taken as given (a window across midnight too)
    taken = make_config({**base, "sync_windows": ["22:00-06:00"], "upload_order":
                         "newest_first", "disk_full_policy": "delete_oldest"}, [])
    assert (taken.sync_windows, taken.upload_order, taken.disk_full_policy) == (
        ("22:00-06:00",), "newest_first", "delete_oldest")
