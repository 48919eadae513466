"""What the fleet's pages say, without a server: gaps where nothing was recorded, and every
value a robot sent escaped, since a robot may lie."""

from __future__ import annotations

import datetime

from data_manager_ros.fleet.catalog import BagState
from data_manager_ros.fleet.pages import bag_page, files_page, gaps, robot_page, state_word

SECOND = 1_000_000_000


def row(key: str, start: int | None, end: int | None, kind: str = "bag", **more) -> dict:
    robot, bag, _ = key.split("/")
    return {"key": key, "robot": robot, "bag": bag, "kind": kind, "size": 1,
            "digest": "blake3:00", "start_ns": start, "end_ns": end, "message_count": 1,
            "topics": [], "types": [], "topic_counts": {}, "tags": [], "methods": [],
            "clip_reasons": [], "custom_data": {}, **more}


def test_gaps_are_where_no_bag_covers_the_window():
    assert gaps([[2, 4], [3, 6], [8, 9]], 0, 10) == [(0, 2), (6, 8), (9, 10)]
    assert gaps([], 0, 10) == [(0, 10)]
    assert gaps([[0, 10]], 0, 10) == []


def test_a_bags_state_in_one_word():
    assert state_word(BagState("r", "b", None, ("b_0.mcap",), ())) == "open"
    assert state_word(BagState("r", "b", ("b_0.mcap", "b_1.mcap"), ("b_0.mcap",), ())) == \
        "pending"
    assert state_word(BagState("r", "b", ("b_0.mcap",), ("b_0.mcap",), ())) == "complete"
    assert state_word(BagState("r", "b", ("b_0.mcap", "b_1.mcap"), ("b_0.mcap",),
                               ("b_1.mcap",))) == "dropped"


def test_what_a_robot_sent_is_escaped_on_every_page():
    hostile = "<script>alert(1)</script>"
    rows = [row("r%3Cx/b%3Cy/b_0.mcap", SECOND, 2 * SECOND, topics=[hostile], tags=[hostile],
                topic_counts={hostile: 1}, custom_data={hostile: hostile}),
            row("r%3Cx/clip/c_0.mcap", SECOND, SECOND, kind="clip", clip_reasons=[hostile])]
    day = datetime.date(1970, 1, 1)
    pages = [robot_page("r%3Cx", day, None, rows, []), bag_page("r%3Cx", "b%3Cy", rows, None),
             files_page({"tag": [hostile]}, rows, False)]
    for text in pages:
        assert "<script>" not in text and "&lt;script&gt;" in text
    assert "href='/robots/r%253Cx'" in pages[2]  # a key segment, quoted in a link
