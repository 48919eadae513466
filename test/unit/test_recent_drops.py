"""A drop is a WARN while it is recent and clears once none came for the window; the totals
are the counters' own."""

from __future__ import annotations

from data_manager_ros.capture.recent_drops import RecentDrops


def test_drops_are_reported_for_their_window_then_clear():
    now = [0.0]
    drops = RecentDrops(window_s=10.0, clock=lambda: now[0])
    assert drops.update("/cloud", 0, 0) == (0, 0)
    now[0] = 1.0
    assert drops.update("/cloud", 5, 1) == (5, 1)
    for second in range(2, 11):  # nothing more dropped: still within the window
        now[0] = float(second)
        assert drops.update("/cloud", 5, 1) == (5, 1)
    now[0] = 11.5
    assert drops.update("/cloud", 5, 1) == (0, 0)  # ten seconds without a drop
    now[0] = 12.5
    assert drops.update("/cloud", 7, 1) == (2, 0)


def test_topics_no_longer_recorded_are_forgotten():
    drops = RecentDrops(clock=lambda: 0.0)
    drops.update("/a", 3, 0)
    drops.update("/b", 3, 0)
    drops.forget({"/a"})
    assert drops.update("/b", 4, 0) == (0, 0)  # starts afresh: no earlier sample
    assert drops.update("/a", 4, 0) == (1, 0)
