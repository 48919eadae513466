"""CaptureEngine as a plain class: no ROS, callbacks called directly, real files."""

from __future__ import annotations

from rclpy.serialization import serialize_message

from data_manager_ros.capture_engine import CaptureEngine, WriterSettings
from helpers.bag_samples import NAVSAT, fix, topic
from helpers.bags import bag_dirs, read_bag
from helpers.processes import wait_for
from helpers.sync_setup import ListLogger


def settings(**changes) -> WriterSettings:
    values = dict(max_file_bytes=1 << 30, max_file_duration_s=60.0, chunk_size=4096,
                  compression="none", flush_interval_s=0.1, max_backlog_bytes=1 << 20,
                  minimum_free_bytes=0, minimum_free_fraction=0.0, retry_interval_s=0.2)
    values.update(changes)
    return WriterSettings(**values)


def test_an_unexpected_error_on_the_writer_thread_is_reported_and_capture_resumes(tmp_path):
    log = ListLogger()
    engine = CaptureEngine(settings(), log)
    engine.start(str(tmp_path))
    try:
        engine.add_topic(topic("/gps", NAVSAT))
        gps = engine.callback("/gps", None)
        stray = engine.callback("/stray", None)  # no topic added: the bag cannot take it
        gps(serialize_message(fix(0)))
        stray(b"\0\1\0\0")
        wait_for(lambda: "Traceback" in log.text(), 10, "the error to be logged")
        assert "capture writer: unexpected KeyError: '/stray'" in log.text()
        wait_for(lambda: not engine.last_error, 10, "capture to resume")
        for i in range(1, 4):
            gps(serialize_message(fix(i)))
    finally:
        engine.stop()
    assert engine.stats["/stray"].dropped == 1
    recorded = sorted(int(m.latitude) for bag in bag_dirs(str(tmp_path))
                      for m in read_bag(bag).get("/gps", []))
    assert recorded[-3:] == [1, 2, 3]
    assert engine.stats["/gps"].written == len(recorded)


def test_no_bag_until_a_topic_and_none_after_stop_without_one(tmp_path):
    engine = CaptureEngine(settings(), ListLogger())
    engine.start(str(tmp_path))
    engine.stop()
    assert bag_dirs(str(tmp_path)) == []
