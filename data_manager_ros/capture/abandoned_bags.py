"""Bags the writer gave up on after a disk error, until capture resumes and finalizes them.

Messages written into files that never became final are at risk: recovery salvages what it
can, and the rest moves from ``written`` to ``lost`` in the topic's stats, so that written
always equals what the bags hold.
"""

from __future__ import annotations

from data_manager_ros.bag.recovery import recover_bag
from data_manager_ros.capture.topic_stats import TopicStats
from data_manager_ros.wire import Logger


class AbandonedBags:
    def __init__(self) -> None:
        self._bags: dict[str, dict[str, int]] = {}  # bag → messages per topic at risk

    def add(self, bag_dir: str, at_risk: dict[str, int]) -> None:
        self._bags[bag_dir] = at_risk

    def finalize(self, chunk_size: int, stats: dict[str, TopicStats], log: Logger) -> None:
        """Recover each one; count what recovery could not salvage as lost."""
        for bag_dir, at_risk in list(self._bags.items()):
            report = recover_bag(bag_dir, chunk_size)
            del self._bags[bag_dir]
            lost = 0
            for topic, count in at_risk.items():
                missing = max(0, count - report.salvaged_by_topic.get(topic, 0))
                topic_stats = stats.get(topic)
                if missing and topic_stats is not None:
                    topic_stats.written -= missing
                    topic_stats.lost += missing
                    lost += missing
            log.warning(f"finalized the interrupted bag {bag_dir}: "
                        f"{report.salvaged_messages} message(s) of its last file kept, "
                        f"{lost} written before the error lost (counted as dropped)")
