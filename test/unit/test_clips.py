"""Incident clips: ClipRecorder with a clock the test sets, real bags read back."""

from __future__ import annotations

import os

import yaml
from rclpy.serialization import serialize_message

from data_manager_ros.capture.clips import SECOND, ClipRecorder, ClipSettings
from data_manager_ros.capture.intake import ENTRY_BYTES
from data_manager_ros.node.diagnostics import clip_status
from data_manager_ros.tools.status import live_report
from helpers.bag_samples import NAVSAT, fix, topic
from helpers.bags import read_bag
from helpers.processes import wait_for
from helpers.sync_setup import ListLogger

HZ = 100


def feed(tap, start_s: float, end_s: float) -> None:
    """Fixes at 100 Hz whose latitude is their time in centiseconds (their sequence)."""
    for tick in range(int(start_s * HZ), int(end_s * HZ)):
        tap(tick * SECOND // HZ, serialize_message(fix(tick)))


def recorder(tmp_path, buffer_bytes: int = 64 << 20) -> tuple[ClipRecorder, list[str]]:
    closed: list[str] = []
    clips = ClipRecorder(ClipSettings(pre_s=2.0, post_s=1.0, buffer_bytes=buffer_bytes,
                                      tags=("drive-test",)), ListLogger(), closed.append).start()
    clips.configure(clips.settings, str(tmp_path))
    return clips, closed


def sequences(bag: str) -> list[int]:
    return [int(m.latitude) for m in read_bag(bag)["/gps"]]


def clip_around(tmp_path, triggers: list[tuple[str, float]], until_s: float,
                buffer_bytes: int = 64 << 20) -> tuple[ClipRecorder, list[str], list[str]]:
    """Fixes from 0 s to ``until_s``, the (reason, second) triggers among them, the clip
    closed at ``until_s``; returns the recorder, the clip bags and what each trigger did."""
    clips, closed = recorder(tmp_path, buffer_bytes)
    tap = clips.tap(topic("/gps", NAVSAT))
    outcomes, start = [], 0.0
    for reason, at_s in triggers:
        feed(tap, start, at_s)
        outcomes.append(clips.trigger(reason, int(at_s * SECOND)))
        start = at_s
    feed(tap, start, until_s)
    clips.poll(int(until_s * SECOND))
    clips.close()
    return clips, closed, outcomes


def test_a_clip_holds_every_message_from_pre_before_to_post_after_the_trigger(tmp_path):
    clips, [bag], _ = clip_around(tmp_path, [("hard brake", 10.0)], 12.0)
    assert sequences(bag) == list(range(800, 1101))  # 8.00 s to 11.00 s, each once
    assert os.path.basename(bag).startswith("clip_") and bag.endswith("_hard-brake")
    with open(os.path.join(bag, "metadata.yaml"), encoding="utf-8") as handle:
        custom = yaml.safe_load(handle)["rosbag2_bagfile_information"]["custom_data"]
    assert custom["clip_reasons"] == "hard brake" and custom["clip_tags"] == "drive-test"
    report = live_report([clip_status("/data_manager", clips)])
    assert f"1 clip(s), 301 message(s), 0 left out; last {bag}" in report


def test_overlapping_triggers_extend_one_clip_without_a_message_twice(tmp_path):
    clips, [bag], outcomes = clip_around(tmp_path, [("first", 10.0), ("second", 10.5)], 13.0)
    assert outcomes[1].startswith("extended")
    assert sequences(bag) == list(range(800, 1151))  # to 1 s after the second trigger
    assert clips.stats.written == 1 and clips.stats.messages == 351


def test_the_buffer_bound_holds_and_what_does_not_fit_is_counted(tmp_path):
    message = len(serialize_message(fix(0))) + ENTRY_BYTES  # as the buffer counts them
    # 100 messages' room in the rings, 100 in the open clip
    clips, [bag], _ = clip_around(tmp_path, [("bump", 10.0)], 12.0, 200 * message)
    assert len(sequences(bag)) == 100 and clips.stats.dropped > 0


def test_a_trigger_without_clip_methods_says_so_and_writes_nothing(tmp_path):
    clips, closed = recorder(tmp_path)
    assert clips.trigger("nothing", SECOND).startswith("no clip")
    clips.close()
    assert closed == []


def test_a_clip_that_cannot_be_written_is_reported_and_the_next_one_is_written(tmp_path):
    clips, closed = recorder(tmp_path)
    tap = clips.tap(topic("/gps", NAVSAT))
    clips.configure(clips.settings, "/dev/null/clips")  # not a directory
    feed(tap, 0.0, 3.0)
    clips.trigger("lost", 3 * SECOND)
    clips.poll(5 * SECOND)
    wait_for(lambda: clips.supervisor.faults(), 10, "the failure reported")
    clips.configure(clips.settings, str(tmp_path))
    feed(tap, 5.0, 8.0)
    clips.trigger("kept", 8 * SECOND)
    clips.poll(10 * SECOND)
    clips.close()
    assert len(closed) == 1 and not clips.supervisor.faults()
