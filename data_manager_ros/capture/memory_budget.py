"""One number, ``memory_budget_bytes``, bounds what the node holds for data.

Three things hold messages: each topic's DDS reader (up to its depth x its largest message,
while the executor is behind), the writer's backlog (while the disk is behind) and the
incident-clip buffer. Each used to have a bound of its own, so eight cameras could hold
gigabytes in DDS while the disk stalled. Here the budget is split at every recorder poll
(each second):

- the clip buffer comes off the top while a method records clips (it has its own bound);
- readers may be given up to ``READERS_SHARE`` of the rest, each topic a part in proportion to
  its bytes per second, so a 15 MB/s camera gets more than a 1.5 MB/s GPS and each covers
  the same stall; a topic that needs less than its part (its depth is capped) leaves the
  remainder to the others, and one not measured yet keeps its reader;
- the writer backlog gets the rest, less whatever the readers as they are now could hold: a
  reader keeps its depth until it is moved (a move is not free; capture/reader_depth.py),
  and during a move both readers count.

So readers + backlog + clips stay within the budget, whatever topics come and go; past it the
intake drops the message and counts it for its topic. The split is made again at once when
a topic's largest message grows (``Intake.on_larger``). One exception: where the readers as
they are now hold more than three quarters (two readers side by side during a move, depths
given in ``qos_overrides``, a small budget for many large topics), the backlog keeps
``MIN_BACKLOG_SHARE``, so the other topics record on; a reader holds that memory only while
the executor is behind, since DDS keeps a sample only until it is taken.
"""

from __future__ import annotations

from dataclasses import dataclass

# readers buffer executor hiccups (tens of ms); the backlog buffers disk stalls (seconds), so
# the backlog is given the larger part
READERS_SHARE = 0.25
POOL_MESSAGES = 3  # payloads Fast DDS keeps per topic besides the history
MIN_DEPTH = 1  # DDS's least: a reader of depth 1 keeps the newest message
MIN_BACKLOG_SHARE = 0.25  # the backlog's least, whatever the readers hold


@dataclass(frozen=True)
class Demand:
    """What one topic asks of the budget."""

    largest: int  # bytes of its largest message seen; 0 before the first
    bytes_per_s: float  # received lately
    held_depth: int  # the depth its reader(s) have now: both readers' during a move
    readers: int = 1  # readers it has had since subscribed: 2 after a move

    @property
    def held_bytes(self) -> int:
        """Its history at the reader's depth, and the payloads Fast DDS's pool keeps beside
        it: about three of its largest messages for each reader the topic has had, since
        the payloads a reader allocated stay while any reader of the topic lives
        (capture/reader_depth.py). Counting one reader's only, eight 1 MiB topics moved to
        depth 1 under 64 MiB peaked 9 MiB past the budget's 10% margin."""
        if not self.held_depth:
            return 0
        return (self.held_depth + POOL_MESSAGES * self.readers) * self.largest


@dataclass(frozen=True)
class Split:
    depths: dict[str, int]  # the reader depth each topic's messages seen so far call for
    backlog_bytes: int  # what the writer may queue
    readers_bytes: int  # what the readers as they are now may hold
    clip_bytes: int

    def describe(self) -> str:
        return (f"readers {self.readers_bytes}, writer backlog {self.backlog_bytes}, clips "
                f"{self.clip_bytes} bytes")


def reader_depths(pool_bytes: float, demands: dict[str, Demand], max_depth: int
                  ) -> dict[str, int]:
    """Each measured topic's depth from its part of ``pool_bytes``: parts in proportion to
    bytes per second give every topic the same seconds of executor stall. A topic that needs
    less than its part (capped at ``max_depth``) hands the rest to the others."""
    seen = {topic: d for topic, d in demands.items() if d.largest > 0 and d.bytes_per_s > 0}
    depths: dict[str, int] = {}
    pool = pool_bytes
    while seen:
        weights = {topic: d.bytes_per_s for topic, d in seen.items()}
        total = sum(weights.values())
        capped = {topic for topic, d in seen.items()
                  if pool * weights[topic] / total >= (max_depth + POOL_MESSAGES) * d.largest}
        if not capped:
            for topic, d in seen.items():
                part = int(pool * weights[topic] / total) - POOL_MESSAGES * d.largest
                depths[topic] = max(MIN_DEPTH, min(max_depth, part // d.largest))
            break
        for topic in capped:
            depths[topic] = max_depth
            pool -= (max_depth + POOL_MESSAGES) * seen.pop(topic).largest
    return depths


def split(budget_bytes: int, clip_bytes: int, demands: dict[str, Demand],
          max_depth: int) -> Split:
    """The budget's split for the topics as they are now (``clip_bytes``: 0 while no method
    records clips)."""
    usable = budget_bytes - clip_bytes
    depths = reader_depths(usable * READERS_SHARE, demands, max_depth)
    held = sum(d.held_bytes for d in demands.values())
    return Split(depths, max(int(usable * MIN_BACKLOG_SHARE), usable - held), held, clip_bytes)


def too_small(budget: Split, demands: dict[str, Demand]) -> str:
    """Why the budget cannot record some topic at all, or "": its backlog cannot take one of
    the topic's messages (the readers of its large messages hold the rest)."""
    topics = sorted((d.largest, topic) for topic, d in demands.items()
                    if d.largest > budget.backlog_bytes)
    if not topics:
        return ""
    largest, topic = topics[-1]
    return (f"memory_budget_bytes leaves the writer backlog {budget.backlog_bytes} bytes "
            f"({budget.describe()}), less than one message of {topic} ({largest} bytes): "
            "such messages are dropped; raise memory_budget_bytes above "
            f"{budget.readers_bytes + budget.clip_bytes + 2 * largest}")
