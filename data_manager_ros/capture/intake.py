"""From subscription callbacks to the writer's queue: the one path every message takes, so it
is kept tiny. A callback stamps the receive time (log time; the publisher's source
timestamp is the publish time, as rosbag2 records them), offers the message to an incident
clip's ring, gates the method's rate, and appends to a deque, unless the backlog is over its
bound in bytes (its part of the memory budget, capture/memory_budget.py): then it drops and
counts, never silently. The writer thread drains the deque.
"""

from __future__ import annotations

import collections
import inspect
import threading
from collections.abc import Callable
from typing import Any

from data_manager_ros.capture.rate_gate import RateGate
from data_manager_ros.capture.topic_stats import TopicStats

MessageCallback = Callable[..., None]
# what Python spends on a queued message beyond its payload: the entry's tuple (72 bytes), its
# two times (36 each), the bytes object's header (33), the deque's slot and the allocator's
# rounding. Counted with the payload, or 150,000 queued fixes of 128 bytes (a 15 kHz GPS
# for 10 s of stalled disk) would hold 2.5 times what the budget was told.
ENTRY_BYTES = 200
# a queue entry that is no message: the messages after it carry another clock's times
CLOCK_CHANGE = (None, 0, 0, b"")
# what rclpy reads a subscription callback's signature as: (message, MessageInfo)
_WITH_MESSAGE_INFO = inspect.Signature([
    inspect.Parameter("message", inspect.Parameter.POSITIONAL_ONLY),
    inspect.Parameter("info", inspect.Parameter.POSITIONAL_ONLY)])


def with_message_info(callback: Callable[[bytes, dict], None]) -> MessageCallback:
    """``callback(data, info)`` as every rclpy executor can call it. rclpy hands a MessageInfo
    (the source timestamp) only to callbacks whose signature takes two arguments; its
    EventsExecutor (rclpy 9.1) then passes the pair as one tuple, the other executors as two
    arguments. A callable that declares two and accepts either takes both forms."""
    def either(*args: Any) -> None:
        callback(*(args[0] if len(args) == 1 else args))

    either.__signature__ = _WITH_MESSAGE_INFO  # type: ignore[attr-defined]
    return either


class Backlog:
    """Bytes in the queue: ``queued`` and ``peak`` grow on the executor thread, ``written`` on
    the writer. The peak is taken at each append, so a writer stall cannot hide it. ``limit``
    is read by every callback, so a new split of the memory budget applies to the next
    message."""

    __slots__ = ("queued", "written", "peak", "limit")

    def __init__(self, limit: int) -> None:
        self.queued = 0
        self.written = 0
        self.peak = 0
        self.limit = limit

    @property
    def pending(self) -> int:
        return self.queued - self.written


class Intake:
    """The queue between the executor and the writer, with its byte bound and counters. Each
    counter has one writing thread: callbacks count received, throttled and refused."""

    def __init__(self, backlog_bytes: int, clock: Callable[[], int]) -> None:
        self.queue: collections.deque = collections.deque()
        self.backlog = Backlog(backlog_bytes)
        self.stats: dict[str, TopicStats] = {}
        self.wake = threading.Event()  # set when the writer has work
        self.clock = clock
        # called on the executor when a topic's largest message grew: the memory budget's
        # split must count it before the next message is queued
        self.on_larger: Callable[[], None] = lambda: None

    def use_clock(self, clock: Callable[[], int]) -> None:
        """Callbacks made from now on stamp with ``clock`` (/clock time once use_sim_time is
        set; the node subscribes again to get them). A marker in the queue tells the writer
        where the stream changes clocks, so no file mixes the two."""
        self.clock = clock
        self.queue.append(CLOCK_CHANGE)
        self.wake.set()

    def callback(self, topic: str, frequency_hz: float | None,
                 tap: Callable[[int, bytes], None] | None = None) -> MessageCallback:
        """The subscription callback for ``topic``. ``tap(receive_ns, data)`` sees every
        message before the rate gate (incident clips)."""
        stats = self.stats.setdefault(topic, TopicStats())
        see = stats.gaps.see
        gate = RateGate(frequency_hz) if frequency_hz is not None else None
        queue = self.queue
        append = queue.append
        wake = self.wake.set
        backlog = self.backlog
        clock = self.clock
        intake = self

        def on_message(data: bytes, info: dict) -> None:
            stats.received += 1
            see(info)
            size = len(data)
            stats.bytes += size
            if size > stats.largest:  # rare once a topic's sizes are seen
                stats.largest = size
                intake.on_larger()
            received_ns = clock()
            if tap is not None:
                tap(received_ns, data)
            if gate is not None and not gate.admit(received_ns):
                stats.throttled += 1
                return
            cost = size + ENTRY_BYTES
            pending = backlog.queued - backlog.written + cost
            if pending > backlog.limit:
                stats.refused += 1
                return
            backlog.queued += cost
            if pending > backlog.peak:
                backlog.peak = pending
            append((topic, received_ns, info["source_timestamp"] or received_ns, data))
            # the first message after the writer emptied the queue wakes it; checked after the
            # append, so a writer that just found the queue empty cannot miss this message
            if len(queue) == 1:
                wake()

        return with_message_info(on_message)
