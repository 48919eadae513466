"""What the fleet's pages say, without a server: gaps where nothing was recorded, and every
value a robot sent escaped, since a robot may lie."""

from __future__ import annotations

import datetime

import pytest

from data_manager_ros.fleet.catalog import BagState, parse_time
from data_manager_ros.fleet.pages import (
    bag_page,
    files_page,
    gaps,
    robot_page,
    state_word,
    track_svg,
)

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


def test_a_track_is_drawn_from_its_points_and_what_is_no_point_is_left_out():
    rows = [row("r/b/b_1.mcap", 2 * SECOND, 3 * SECOND, track={"/gps": [[47.0, 8.5], [47.1, 8.6]]}),
            row("r/b/b_0.mcap", SECOND, 2 * SECOND,
                track={"/gps": [[46.9, 8.4], ["x", 1], [95.0, 8.0], [47, None], 7]})]
    svg = track_svg(rows)
    [points] = [part.split("'")[0] for part in svg.split("points='")[1:]]
    assert len(points.split()) == 3  # b_0's one point first, then b_1's two
    first, *_, last = (tuple(map(float, p.split(","))) for p in points.split())
    assert first[0] < last[0] and first[1] > last[1]  # north-east: right and up
    assert track_svg([row("r/b/b_0.mcap", 0, 1, track={"/gps": "lies"})]) == ""


def test_a_time_in_the_url_is_one_the_catalog_holds_or_refused_in_words():
    assert parse_time("1000000000.000000003") == 10**18 + 3  # to the nanosecond
    assert parse_time("2001-09-09T01:46:40Z") == 10**18
    with pytest.raises(ValueError, match="no time the catalog holds"):
        parse_time("1e999")
    with pytest.raises(ValueError):
        parse_time("nan")
