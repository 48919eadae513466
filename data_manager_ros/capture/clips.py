"""Incident clips: the seconds before and after a trigger, at full rate, in a bag of their own.

rosbag2 cannot record what happened *before* an event (its issue 900). Here the
methods marked ``clip`` keep their last ``clip_pre_s`` seconds in a ring buffer
in memory, at full rate, whatever the rate of their continuous capture. A
trigger opens a clip from ``pre`` seconds before it to ``post`` seconds after;
a trigger while a clip is open extends it, so overlapping triggers give one
clip and never a message twice. Once ``post`` has passed, the clip is written
on a thread of its own as a bag named ``clip_...`` (reasons and tags in
metadata.yaml's ``custom_data``), and the uploader sends clips first.

The rings and the open clip are touched only by the executor's thread (the
taps, the triggers and the timer that closes clips), so they need no lock; the
bytes held are bounded by ``clip_buffer_bytes`` (part of ``memory_budget_bytes``):
half for the rings, half for the open clip and the closed ones the clip writer
has not written yet (a stalled disk queues them), and what does not fit is
counted, never silently lost.
"""

from __future__ import annotations

import collections
import functools
import queue
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from data_manager_ros.bag.mcap_file import Topic
from data_manager_ros.bag.writer import BagWriter
from data_manager_ros.capture.intake import ENTRY_BYTES
from data_manager_ros.config.settings import custom_data_pairs
from data_manager_ros.layout import CLIP_PREFIX, new_bag_dir, new_bag_name
from data_manager_ros.lifecycle import Lifecycle
from data_manager_ros.supervision import Supervisor
from data_manager_ros.wire import Logger

SECOND = 1_000_000_000
CLIP_WRITER = "clip writer"


@dataclass(frozen=True)
class ClipSettings:
    pre_s: float
    post_s: float
    buffer_bytes: int
    tags: tuple[str, ...] = ()
    custom_data: tuple[str, ...] = ()  # key=value, as the capture bags have


@dataclass
class _Clip:
    start_ns: int
    end_ns: int
    reasons: list[str]
    messages: list[tuple[str, int, bytes]] = field(default_factory=list)
    bytes: int = 0


class _Ring:
    __slots__ = ("items", "bytes", "limit")

    def __init__(self, limit: int) -> None:
        self.items: collections.deque[tuple[int, bytes]] = collections.deque()
        self.bytes = 0
        self.limit = limit


@dataclass
class ClipStats:
    written: int = 0  # clips finished and on disk
    messages: int = 0  # messages in them
    dropped: int = 0  # messages an open clip had no room for (clip_buffer_bytes)
    last_bag: str = ""


class ClipRecorder(Lifecycle):
    def __init__(self, settings: ClipSettings, log: Logger,
                 on_closed: Callable[[str], None] = lambda bag_dir: None,
                 on_file_closed: Callable[[str, int], None] = lambda path, count: None) -> None:
        """``on_closed(bag_dir)`` hears of every clip on disk (from the clip writer thread),
        ``on_file_closed`` of its file (see BagWriter)."""
        self._on_file_closed = on_file_closed
        self.settings = settings
        self.stats = ClipStats()
        self.supervisor = Supervisor(log)
        self._log = log
        self._on_closed = on_closed
        self._rings: dict[str, _Ring] = {}
        self._topics: dict[str, Topic] = {}
        self._clip: _Clip | None = None
        # bytes of closed clips handed to the clip writer, and of those it wrote: each counter
        # has one writing thread
        self._handed_bytes = 0
        self._written_bytes = 0
        self._capture_dir = ""
        self._finished: queue.Queue[tuple[_Clip, dict[str, Topic], str] | None] = queue.Queue()
        self._writer = threading.Thread(target=self._write_clips, name="clip-writer",
                                        daemon=True)

    def start(self) -> ClipRecorder:
        """The clip writer thread (threads never start in the constructor)."""
        self._writer.start()
        return self


    # -- on the executor thread -------------------------------------------------------------
    def configure(self, settings: ClipSettings, capture_dir: str) -> None:
        self.settings = settings
        self._capture_dir = capture_dir
        for ring in self._rings.values():
            ring.limit = self._ring_limit()

    def _ring_limit(self) -> int:
        return self.settings.buffer_bytes // (2 * max(1, len(self._rings)))

    def tap(self, topic: Topic) -> Callable[[int, bytes], None]:
        """The per-message hook of a clip topic: ``tap(receive_ns, data)``. Half the buffer
        bytes go to the rings (shared evenly), half to the open clip."""
        self._topics[topic.name] = topic
        ring = self._rings[topic.name] = _Ring(0)
        for each in self._rings.values():
            each.limit = self._ring_limit()
        items = ring.items
        name = topic.name

        def on_message(receive_ns: int, data: bytes) -> None:
            items.append((receive_ns, data))
            ring.bytes += len(data) + ENTRY_BYTES
            oldest = receive_ns - int(self.settings.pre_s * SECOND)
            while items and (items[0][0] < oldest or ring.bytes > ring.limit):
                ring.bytes -= len(items.popleft()[1]) + ENTRY_BYTES
            clip = self._clip
            if clip is not None and receive_ns <= clip.end_ns:
                self._add(clip, name, receive_ns, data)

        return on_message

    @property
    def recording(self) -> bool:
        """Whether a method records clips, so the buffer takes its part of the budget."""
        return bool(self._rings)

    def remove_topic(self, name: str) -> None:
        self._rings.pop(name, None)

    def trigger(self, reason: str, now_ns: int) -> str:
        """Open a clip around ``now_ns``, or extend the open one; returns what it did."""
        post_ns = int(self.settings.post_s * SECOND)
        clip = self._clip
        if clip is not None and now_ns <= clip.end_ns:
            clip.end_ns = max(clip.end_ns, now_ns + post_ns)
            clip.reasons.append(reason)
            return f"extended the open clip to {self.settings.post_s:g} s after this trigger"
        if not self._rings:
            return "no clip: no method is marked for clips (its 'clip' setting)"
        clip = self._clip = _Clip(now_ns - int(self.settings.pre_s * SECOND),
                                  now_ns + post_ns, [reason])
        for name, ring in self._rings.items():
            for receive_ns, data in ring.items:
                if receive_ns >= clip.start_ns:
                    self._add(clip, name, receive_ns, data)
        return (f"clip opened: {self.settings.pre_s:g} s before and {self.settings.post_s:g} s "
                "after this trigger")

    def _add(self, clip: _Clip, name: str, receive_ns: int, data: bytes) -> None:
        waiting = self._handed_bytes - self._written_bytes
        if clip.bytes + waiting + len(data) + ENTRY_BYTES > self.settings.buffer_bytes // 2:
            self.stats.dropped += 1
            return
        clip.messages.append((name, receive_ns, data))
        clip.bytes += len(data) + ENTRY_BYTES

    def poll(self, now_ns: int) -> None:
        """Close a clip whose ``post`` has passed; it is written on the clip writer thread."""
        clip = self._clip
        if clip is not None and now_ns > clip.end_ns:
            self._clip = None
            self._handed_bytes += clip.bytes
            self._finished.put((clip, dict(self._topics), self._capture_dir))

    # -- on the clip writer thread ------------------------------------------------------------
    def _write_clips(self) -> None:
        while (item := self._finished.get()) is not None:
            clip, topics, capture_dir = item
            self.supervisor.step(CLIP_WRITER,
                                 functools.partial(self._write, clip, topics, capture_dir),
                                 "this clip is lost; the next is written as usual")
            self._written_bytes += clip.bytes

    def _write(self, clip: _Clip, topics: dict[str, Topic], capture_dir: str) -> None:
        stamp = new_bag_name(datetime.fromtimestamp(clip.start_ns / SECOND))
        slug = re.sub(r"[^A-Za-z0-9_-]+", "-", clip.reasons[0])[:40].strip("-") or "clip"
        bag_dir = new_bag_dir(capture_dir, f"{CLIP_PREFIX}{stamp}_{slug}")
        writer = BagWriter(bag_dir, max_file_bytes=1 << 40, max_file_duration_ns=1 << 62,
                           chunk_size=1 << 20, on_file_closed=self._on_file_closed)
        for name in sorted({name for name, _, _ in clip.messages}):
            writer.add_topic(topics[name])
        for name, receive_ns, data in sorted(clip.messages, key=lambda m: m[1]):
            writer.write(name, receive_ns, receive_ns, data)
        writer.metadata.custom_data = {
            **custom_data_pairs(self.settings.custom_data),
            "clip_reasons": "; ".join(clip.reasons),
            "clip_tags": ",".join(self.settings.tags),
            "clip_start_ns": str(clip.start_ns), "clip_end_ns": str(clip.end_ns)}
        writer.close()
        self.stats.written += 1
        self.stats.messages += len(clip.messages)
        self.stats.last_bag = bag_dir
        self._log.info(f"clip {bag_dir}: {len(clip.messages)} message(s) from "
                       f"{len(clip.reasons)} trigger(s) ({'; '.join(clip.reasons)})")
        self._on_closed(bag_dir)

    def close(self) -> None:
        """Write the open clip as it is, then stop the writer thread."""
        if self._clip is not None:
            self.poll(self._clip.end_ns + 1)
        self._finished.put(None)
        if self._writer.ident is not None:
            self._writer.join()
