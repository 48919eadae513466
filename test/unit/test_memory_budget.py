"""The memory budget's split: clips off the top, the readers' part by each topic's bytes per
second, the backlog the rest of what the readers as they are now could hold."""

from __future__ import annotations

from data_manager_ros.capture.memory_budget import (
    MIN_BACKLOG_SHARE,
    POOL_MESSAGES,
    Demand,
    reader_depths,
    split,
    too_small,
)

MIB = 1 << 20
IMAGE = 1_000_000
FIX = 100


def cameras(count: int, depth: int = 10, readers: int = 1) -> dict[str, Demand]:
    return {f"/camera{i}": Demand(IMAGE, 15 * IMAGE, depth, readers) for i in range(count)}


def test_readers_backlog_and_clips_together_stay_within_the_budget():
    for budget in (64 * MIB, 128 * MIB, 256 * MIB):
        for count in (1, 3, 8):
            for clips in (0, 16 * MIB):
                # readers at the depth the split gives them (moved once their size was seen)
                demands = {**cameras(count, depth=1), "/gps": Demand(FIX, 15000 * FIX, 1000)}
                depths = split(budget, clips, demands, 1000).depths
                demands = {t: Demand(d.largest, d.bytes_per_s, depths[t], readers=2)
                           for t, d in demands.items()}
                result = split(budget, clips, demands, 1000)
                floor = int((budget - clips) * MIN_BACKLOG_SHARE)
                # one image and Fast DDS's pool per camera may be more than the readers'
                # part: then the backlog keeps its floor (64 MiB for 8 cameras and clips)
                assert (result.readers_bytes + result.backlog_bytes + clips <= budget
                        or result.backlog_bytes == floor), (budget, count, clips, result)
                assert result.backlog_bytes >= floor
                assert result.readers_bytes == sum(
                    (depths[t] + 2 * POOL_MESSAGES) * d.largest for t, d in demands.items())


def test_a_topic_gets_a_part_by_its_bytes_per_second():
    depths = reader_depths(64 * MIB, {"/fast": Demand(IMAGE, 30 * IMAGE, 10),
                                      "/slow": Demand(IMAGE, 1 * IMAGE, 10)}, 1000)
    assert depths["/fast"] > 20 * depths["/slow"]
    assert depths["/slow"] >= 1


def test_what_a_capped_topic_does_not_need_goes_to_the_others():
    alone = reader_depths(16 * MIB, {"/camera": Demand(IMAGE, 15 * IMAGE, 10)}, 1000)
    # the GPS's part would be large by its rate, but 1000 fixes are 100 kB
    shared = reader_depths(16 * MIB, {"/camera": Demand(IMAGE, 15 * IMAGE, 10),
                                      "/gps": Demand(FIX, 15 * IMAGE, 1000)}, 1000)
    assert shared["/gps"] == 1000
    # half the pool each by their rates; the camera takes what the GPS leaves
    assert shared["/camera"] == alone["/camera"] == 16 * MIB // IMAGE - POOL_MESSAGES


def test_topics_not_measured_yet_keep_their_reader_and_count_at_its_depth():
    result = split(64 * MIB, 0, {"/camera": Demand(0, 0.0, 1)}, 1000)
    assert result.depths == {} and result.backlog_bytes == 64 * MIB
    result = split(64 * MIB, 0, {"/camera": Demand(IMAGE, 0.0, 1)}, 1000)
    assert result.depths == {} and result.readers_bytes == (1 + POOL_MESSAGES) * IMAGE


def test_a_reader_counts_at_the_depth_it_has_until_it_is_moved():
    before = split(128 * MIB, 0, cameras(8, depth=10), 1000)
    after = split(128 * MIB, 0, cameras(8, depth=1, readers=2), 1000)
    # the first readers held more than their part: the backlog keeps a quarter meanwhile
    assert before.readers_bytes == 8 * 13 * IMAGE and before.backlog_bytes == 32 * MIB
    # the new reader's one message and both readers' pools: the first one's stays
    assert after.readers_bytes == 8 * 7 * IMAGE
    assert after.backlog_bytes == 128 * MIB - 56 * IMAGE
    assert before.depths == after.depths
    assert all(depth == 1 for depth in before.depths.values())  # 32 MiB / 8 - the pool's 3


def test_a_budget_that_cannot_take_one_message_says_which_topic_and_what_would():
    demands = {"/cloud": Demand(4_900_000, 30 * 4_900_000, 1)}
    result = split(8 * MIB, 0, demands, 1000)
    problem = too_small(result, demands)
    assert "less than one message of /cloud (4900000 bytes)" in problem
    # its reader's one and the pool's three, and two in the backlog
    assert "raise memory_budget_bytes above 29400000" in problem
    assert too_small(split(64 * MIB, 0, demands, 1000), demands) == ""
