"""CaptureEngine as a plain class: no ROS, callbacks called directly, real files."""

from __future__ import annotations

import os
import shutil

from mcap.reader import make_reader
from rclpy.serialization import serialize_message

from data_manager_ros.capture.engine import CaptureEngine
from helpers.bag_samples import NAVSAT, RECEIVED, engine_settings, fix, topic
from helpers.bags import bag_dirs, read_bag
from helpers.processes import wait_for
from helpers.small_fs import small_tmpfs
from helpers.sync_setup import ListLogger, clip_bag, make_bag

SECOND = 1_000_000_000


def test_an_unexpected_error_on_the_writer_thread_is_reported_and_capture_resumes(tmp_path):
    log = ListLogger()
    engine = CaptureEngine(engine_settings(str(tmp_path)), log)
    engine.start()
    try:
        engine.add_topic(topic("/gps", NAVSAT))
        gps = engine.intake.callback("/gps", None)
        stray = engine.intake.callback("/stray", None)  # no topic added: the bag cannot take it
        gps(serialize_message(fix(0)), RECEIVED)
        stray(b"\0\1\0\0", RECEIVED)
        wait_for(lambda: "Traceback" in log.text(), 10, "the error to be logged")
        assert "capture writer: unexpected KeyError: '/stray'" in log.text()
        wait_for(lambda: not engine.last_error, 10, "capture to resume")
        for i in range(1, 4):
            gps(serialize_message(fix(i)), RECEIVED)
    finally:
        engine.close()
    assert engine.stats["/stray"].dropped == 1
    recorded = sorted(int(m.latitude) for bag in bag_dirs(str(tmp_path))
                      for m in read_bag(bag).get("/gps", []))
    assert recorded[-3:] == [1, 2, 3]
    assert engine.stats["/gps"].written == len(recorded)


def test_no_bag_until_a_topic_and_none_after_stop_without_one(tmp_path):
    engine = CaptureEngine(engine_settings(str(tmp_path)), ListLogger())
    engine.start()
    engine.close()
    assert bag_dirs(str(tmp_path)) == []


def test_the_rate_gate_throttles_and_a_full_backlog_refuses_and_both_are_counted(tmp_path):
    now = [0]
    engine = CaptureEngine(engine_settings(str(tmp_path), memory_budget_bytes=1 << 20),
                           ListLogger(), clock=lambda: now[0])
    engine.start()
    try:
        engine.add_topic(topic("/gps", NAVSAT))
        engine.add_topic(topic("/big", NAVSAT))
        gps = engine.intake.callback("/gps", 10.0)  # keeps 10 of the 100 per second
        for i in range(100):  # one second at 100 Hz
            now[0] = i * 10_000_000
            gps(serialize_message(fix(i)), RECEIVED)
        big = engine.intake.callback("/big", None)
        big(b"\0" * (2 << 20), RECEIVED)  # more than the whole backlog: refused
    finally:
        engine.close()
    gps_stats, big_stats = engine.stats["/gps"], engine.stats["/big"]
    assert (gps_stats.received, gps_stats.throttled, gps_stats.written) == (100, 90, 10)
    assert (big_stats.refused, big_stats.lost, big_stats.dropped) == (1, 0, 1)
    [bag] = bag_dirs(str(tmp_path))
    assert len(read_bag(bag)["/gps"]) == 10


def test_configure_moves_to_a_new_capture_dir_between_two_messages(tmp_path):
    engine = CaptureEngine(engine_settings(str(tmp_path / "a")), ListLogger())
    engine.start()
    try:
        engine.add_topic(topic("/gps", NAVSAT))
        gps = engine.intake.callback("/gps", None)
        gps(serialize_message(fix(0)), RECEIVED)
        engine.configure(engine_settings(str(tmp_path / "b")))
        wait_for(lambda: bag_dirs(str(tmp_path / "b")), 10, "a bag in the new capture_dir")
        gps(serialize_message(fix(1)), RECEIVED)
    finally:
        engine.close()
    [old], [new] = bag_dirs(str(tmp_path / "a")), bag_dirs(str(tmp_path / "b"))
    assert [m.latitude for m in read_bag(old)["/gps"]] == [0.0]
    assert [m.latitude for m in read_bag(new)["/gps"]] == [1.0]


def test_delete_oldest_frees_the_floor_from_the_lowest_class_first_and_never_a_clip(tmp_path):
    """disk_full_policy delete_oldest on a real small filesystem: files of the additional
    paths go first (the lowest class), then the oldest closed bags; the clip stays."""
    with small_tmpfs(tmp_path / "small", "24m") as mount:
        capture, extra = mount / "capture", mount / "extra"
        extra.mkdir()
        for index in range(3):
            (extra / f"old_{index}.bin").write_bytes(os.urandom(1 << 20))
        for name in ("bag_a", "bag_b", "bag_c"):  # oldest first
            make_bag(str(capture), name, 1)
        clip_bag(str(capture), "clip_x")
        log = ListLogger()
        floor = shutil.disk_usage(mount).free + (9 << 19)  # 4.5 MiB more than is free
        engine = CaptureEngine(engine_settings(str(capture),
            minimum_free_bytes=floor, disk_full_policy="delete_oldest",
            additional_paths=(str(extra),)), log)
        engine.start()
        try:
            engine.add_topic(topic("/gps", NAVSAT))
            engine.intake.callback("/gps", None)(serialize_message(fix(0)), RECEIVED)
            wait_for(lambda: engine.disk.deleted[0] == 5, 10, "five deletions")
        finally:
            engine.close()
        deleted = [line.split("deleted ")[1].split(" (")[0] for line in log.lines
                   if "disk_full_policy delete_oldest: deleted" in line]
        assert [os.path.basename(p) for p in deleted] == [
            "old_0.bin", "old_1.bin", "old_2.bin", "bag_a", "bag_b"]
        assert sorted(os.listdir(capture)) == [
            "bag_a", "bag_b", "bag_c", "clip_x",
            *[os.path.basename(b) for b in bag_dirs(str(capture)) if "rosbag2" in b]]
        for name in ("bag_a", "bag_b"):  # the bag's record stays, to be uploaded
            assert sorted(os.listdir(capture / name)) == [
                "dropped_by_disk_policy.txt", "metadata.yaml"]
            assert (capture / name / "dropped_by_disk_policy.txt").read_text() == \
                f"{name}_0.mcap\n"
        assert not engine.disk.paused


def test_a_clock_change_ends_the_file_so_no_file_mixes_two_clocks(tmp_path):
    """use_sim_time switched live: the messages stamped by the old clock and those by the new
    one go to two files of the same bag, split exactly where the clock changed."""
    wall, sim = 1_700_000_000 * SECOND, 1_000 * SECOND
    engine = CaptureEngine(engine_settings(str(tmp_path)), ListLogger(), clock=lambda: wall)
    engine.start()
    try:
        engine.add_topic(topic("/gps", NAVSAT))
        before = engine.intake.callback("/gps", None)
        for i in range(3):
            before(serialize_message(fix(i)), RECEIVED)
        engine.intake.use_clock(lambda: sim)
        after = engine.intake.callback("/gps", None)
        for i in range(3, 5):
            after(serialize_message(fix(i)), RECEIVED)
    finally:
        engine.close()
    [bag] = bag_dirs(str(tmp_path))
    files = sorted((f for f in os.listdir(bag) if f.endswith(".mcap")),
                   key=lambda n: int(n.rsplit("_", 1)[1].split(".")[0]))
    assert [sorted({t for t in log_times(os.path.join(bag, f))}) for f in files] == [
        [wall], [sim]]


def test_publish_time_is_the_source_timestamp_log_time_the_receive_time(tmp_path):
    engine = CaptureEngine(engine_settings(str(tmp_path)), ListLogger(), clock=lambda: 5 * SECOND)
    engine.start()
    try:
        engine.add_topic(topic("/gps", NAVSAT))
        engine.intake.callback("/gps", None)(
            (serialize_message(fix(0)), {"source_timestamp": 4 * SECOND}))  # EventsExecutor
        engine.intake.callback("/gps", None)(serialize_message(fix(1)), RECEIVED)  # no source stamp
    finally:
        engine.close()
    [bag] = bag_dirs(str(tmp_path))
    [name] = [f for f in os.listdir(bag) if f.endswith(".mcap")]
    with open(os.path.join(bag, name), "rb") as handle:
        stamps = [(m.log_time, m.publish_time) for _, _, m in make_reader(handle).iter_messages()]
    assert stamps == [(5 * SECOND, 4 * SECOND), (5 * SECOND, 5 * SECOND)]


def log_times(path: str) -> list[int]:
    with open(path, "rb") as handle:
        return [message.log_time for _, _, message in make_reader(handle).iter_messages()]


def test_a_bag_the_disk_policy_emptied_is_uploaded_as_its_record_and_metadata(tmp_path):
    """What delete_oldest leaves of a closed bag (its metadata.yaml and the record naming
    the files it deleted) is what the uploader sends of it; deleting it again frees
    nothing and is never tried."""
    from data_manager_ros.capture.disk_policy import delete as delete_for_space
    from data_manager_ros.capture.disk_policy import deletion_order
    from data_manager_ros.sync.scanner import bag_files

    capture = tmp_path / "capture"
    make_bag(str(capture), "bag_a", 2, split_mb=1)
    [item] = deletion_order(str(capture), (), ("clips", "bags", "files"))
    delete_for_space(item)
    record = (capture / "bag_a" / "dropped_by_disk_policy.txt").read_text().split()
    assert record == ["bag_a_0.mcap", "bag_a_1.mcap"]
    sent = sorted(f.remote_path for f in bag_files(str(capture), lambda _: None))
    assert sent == ["bag_a/dropped_by_disk_policy.txt", "bag_a/metadata.yaml"]
    assert deletion_order(str(capture), (), ("clips", "bags", "files")) == []
