"""What capture counts per topic, for /diagnostics and the stop line."""

from __future__ import annotations

from data_manager_ros.capture.sequence_gaps import SequenceGaps


class TopicStats:
    """Totals since capture started. Each counter has one writing thread, so no lock is
    needed: the executor's callbacks write the first five and the gaps, the writer thread
    the others."""

    __slots__ = ("received", "bytes", "largest", "throttled", "refused", "written", "lost",
                 "gaps")

    def __init__(self) -> None:
        self.received = 0
        self.bytes = 0  # received: the topic's share of the memory budget follows its rate
        self.largest = 0  # bytes of the largest message received: the reader's depth budget
        self.throttled = 0  # skipped by the method's capture frequency, on purpose
        self.refused = 0  # the memory budget was reached (the writer's backlog full)
        self.written = 0
        self.lost = 0  # taken but never made durable: no bag, a write error, a torn file
        self.gaps = SequenceGaps()  # sent by a publisher, never received: lost in DDS

    @property
    def missed(self) -> int:
        return self.gaps.missed

    @property
    def dropped(self) -> int:
        return self.refused + self.lost
