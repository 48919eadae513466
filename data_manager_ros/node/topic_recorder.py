"""Keeps one raw subscription per recorded topic, following the ROS graph.

A topic that does not exist yet is subscribed when its first publisher
appears, with the QoS rosbag2 would choose for those publishers (or the
``qos_overrides`` entry of the topic); its type comes from the config or, when
not given, from the graph. With a topic selection (``all_topics``, a regex...)
or a method's ``topic_regex``, the graph is listed every discovery period and
each new topic that qualifies is subscribed, as ``ros2 bag record`` does.
Problems (unknown type, a type change, a vanished publisher) are logged once
each and never stop the other topics.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile
from rclpy.subscription import Subscription

from data_manager_ros.bag.mcap_file import Topic
from data_manager_ros.bag.message_definitions import (
    UnknownMessageType,
    message_definition,
    type_hash,
)
from data_manager_ros.bag.qos import (
    adapted_profile,
    overridden,
    profile_to_dict,
    unpublished_profile,
)
from data_manager_ros.capture.clips import ClipRecorder
from data_manager_ros.capture.engine import CaptureEngine
from data_manager_ros.capture.intake import MessageCallback
from data_manager_ros.capture.memory_budget import Demand, Split, split, too_small
from data_manager_ros.capture.reader_depth import moved_depth, start_depth
from data_manager_ros.capture.topic_selection import TopicSelection, methods_for_graph
from data_manager_ros.config.settings import MethodConfig
from data_manager_ros.node.message_types import message_class, unbounded
from data_manager_ros.node.reader_move import ReaderMove


def _advertised_hash(publishers: list, msg_type: str) -> str:
    """The type hash the publishers advertise, as rosbag2 records it; the installed one when
    none does (an rmw or a distribution without type hashes)."""
    for info in publishers:
        advertised = str(info.topic_type_hash)
        if info.topic_type == msg_type and advertised.startswith("RIHS01_"):
            return advertised
    return type_hash(msg_type)


@dataclass
class _Capture:
    method: MethodConfig
    subscription: Subscription | None = None
    callback: MessageCallback | None = None  # the subscription's own (intake) callback
    tap: Callable[[int, bytes], None] | None = None  # an incident clip's
    profile: QoSProfile | None = None
    move: ReaderMove | None = None  # from an old reader of another depth
    readers: int = 1  # created since subscribed: each one's payloads stay in DDS's pool
    waiting_since: float = field(default_factory=time.monotonic)
    type: str = ""
    reported: set[str] = field(default_factory=set)
    had_publishers: bool = False
    rate: tuple[float, int, float] = (0.0, 0, 0.0)  # (when, bytes received, bytes/s) polled

    def held_depth(self) -> int:
        """What its reader(s) may hold, in messages: both readers' during a move."""
        depth = self.profile.depth if self.subscription is not None and self.profile else 0
        if self.move is not None and self.move.old is not None:
            depth += self.move.old.qos_profile.depth
        return depth


class TopicRecorder:
    def __init__(self, node: Node, engine: CaptureEngine, qos_depth: int,
                 clips: ClipRecorder | None = None) -> None:
        self._node = node
        self._engine = engine
        self._clips = clips
        self._log = node.get_logger()
        self.qos_depth = qos_depth
        self.split = Split({}, engine.settings.memory_budget_bytes, 0, 0)
        self._budget_reported = False  # too_small said once, until it holds no more
        engine.intake.on_larger = self.resplit
        self._captures: dict[str, _Capture] = {}  # by topic
        self._configured: tuple[MethodConfig, ...] = ()
        self._selection = TopicSelection()
        self._overrides: dict[str, dict] = {}
        self.methods: tuple[MethodConfig, ...] = ()  # what is recorded now (diagnostics)

    @property
    def _watching(self) -> bool:
        """Whether new topics of the graph may have to be recorded."""
        return self._selection.active or any(m.topic_regex for m in self._configured)

    @property
    def subscribed(self) -> dict[str, str]:
        """Topic → type of every live subscription."""
        return {c.method.topic: c.type for c in self._captures.values() if c.subscription}

    def waiting_s(self) -> dict[str, float]:
        """Topic → seconds each captured method has waited for a publisher to subscribe to."""
        now = time.monotonic()
        return {c.method.topic: now - c.waiting_since for c in self._captures.values()
                if c.subscription is None}

    def update(self, methods: tuple[MethodConfig, ...],
               selection: TopicSelection | None = None,
               qos_overrides: dict[str, dict] | None = None) -> None:
        """Follow a new config: a topic keeps its subscription (and records on without a
        gap) unless its method or its QoS override changed, or the selection dropped it."""
        overrides = qos_overrides or {}
        for topic in list(self._captures):
            if overrides.get(topic) != self._overrides.get(topic):
                self._drop(topic)  # subscribed again below, with the new profile
        self._configured, self._overrides = methods, overrides
        self._selection = selection or TopicSelection()
        self.poll()
        waiting = sorted(c.method.topic for c in self._captures.values()
                         if c.subscription is None)
        if waiting:  # as rosbag2 says "Listening for topics...": nothing is lost meanwhile
            self._log.info(f"listening for topics: waiting for a publisher on "
                           f"{', '.join(waiting)}; each is recorded as soon as one appears")
        elif self._watching and not self._captures:
            self._log.info("listening for topics: none in the graph matches the selection yet")

    def clear(self) -> None:
        """Record nothing until the next ``update`` (capture paused or disabled)."""
        self._configured, self.methods = (), ()
        for topic in list(self._captures):
            self._drop(topic)

    def _follow(self, graph: dict[str, list[str]]) -> None:
        if self._watching:
            def published(topic: str) -> bool:
                capture = self._captures.get(topic)
                return (capture is not None and capture.subscription is not None) or \
                    self._node.count_publishers(topic) > 0
            self.methods = methods_for_graph(self._configured, self._selection, graph,
                                             published)
        else:
            self.methods = self._configured
        wanted = {m.topic: m for m in self.methods if m.captured}
        for topic in list(self._captures):
            if wanted.get(topic) != self._captures[topic].method:
                self._drop(topic)
        for topic, method in wanted.items():
            self._captures.setdefault(topic, _Capture(method))

    def poll(self) -> None:
        """Subscribe to topics that appeared; report type changes and lost publishers."""
        graph = dict(self._node.get_topic_names_and_types())
        self._follow(graph)
        self.rebalance()
        for capture in self._captures.values():
            try:
                self._poll_one(capture, graph.get(capture.method.topic, []))
            except UnknownMessageType as error:
                self._report(capture, str(error), error=True)
        self.resplit()  # the readers subscribed or moved just now count from now on

    def rebalance(self) -> None:
        """Measure each topic's bytes per second, then split the budget (``resplit``)."""
        now = time.monotonic()
        for topic, capture in self._captures.items():
            stats = self._engine.intake.stats.get(topic)
            received = stats.bytes if stats else 0
            when, before, rate = capture.rate
            if when and now > when:
                recent = (received - before) / (now - when)
                # smoothed over a few polls, so a burst moves no reader
                rate = 0.5 * rate + 0.5 * recent if rate else recent
            capture.rate = (now, received, rate)
        self.resplit()

    def resplit(self) -> None:
        """Split the memory budget for the topics as they are now (capture/memory_budget.py):
        the writer backlog's bound at once, the readers' depths by moves (``_fit_depth``). A
        topic whose rate is not measured yet keeps its reader and counts at its depth."""
        demands = {topic: Demand(self._largest(topic), capture.rate[2], capture.held_depth(),
                                 capture.readers)
                   for topic, capture in self._captures.items()}
        clip_bytes = self._clips.settings.buffer_bytes if self._clips and self._clips.recording \
            else 0
        self.split = split(self._engine.settings.memory_budget_bytes, clip_bytes, demands,
                           self.qos_depth)
        self._engine.intake.backlog.limit = self.split.backlog_bytes
        problem = too_small(self.split, demands)
        if problem and not self._budget_reported:
            self._log.warning(problem)
        self._budget_reported = bool(problem)

    def discover(self) -> bool:
        """The fast path for topics still waiting for a publisher: how many publishers each
        has is a cheap question, the whole graph is listed only once one has some. Returns
        whether a topic still waits or new ones may come (the caller polls again soon only
        then); with a topic selection the whole graph is listed each time, as rosbag2 does."""
        if self._watching:
            self.poll()
            return True
        waiting = [c for c in self._captures.values() if c.subscription is None]
        if any(self._node.count_publishers(c.method.topic) for c in waiting):
            self.poll()
            waiting = [c for c in waiting if c.subscription is None]
        return bool(waiting)

    def _poll_one(self, capture: _Capture, graph_types: list[str]) -> None:
        method = capture.method
        if capture.subscription is not None:
            self._fit_depth(capture)
            others = [t for t in graph_types if t != capture.type]
            if others:
                self._report(capture, f"topic {method.topic!r} now also carries {others[0]}; "
                             f"still recording it as {capture.type}", error=True)
            publishers = self._node.count_publishers(method.topic)
            if publishers == 0 and capture.had_publishers:
                self._report(capture, f"topic {method.topic!r} has no publishers any more; "
                             "recording resumes when one appears")
            capture.had_publishers = publishers > 0
            return
        if not graph_types:
            if method.type and self._selection.include_unpublished_topics:
                self._subscribe(capture, method.type)
            return
        msg_type = method.type or graph_types[0]
        if method.type and method.type not in graph_types:
            self._report(capture, f"capture method {method.key}: topic {method.topic!r} carries "
                         f"{', '.join(graph_types)}, not the configured {method.type}; "
                         "not recording it", error=True)
            return
        self._subscribe(capture, msg_type)

    def _subscribe(self, capture: _Capture, msg_type: str) -> None:
        method = capture.method
        msg_class = message_class(msg_type)
        publishers = self._node.get_publishers_info_by_topic(method.topic)
        offered = [info.qos_profile for info in publishers]
        depth = self._first_depth(method.topic, msg_type)
        if offered:
            profile = adapted_profile(offered, depth)
        elif self._selection.include_unpublished_topics:
            profile = unpublished_profile(depth)
        else:
            return
        profile = overridden(profile, self._overrides.get(method.topic, {}))
        topic = Topic(method.topic, msg_type, tuple(profile_to_dict(p) for p in offered),
                      _advertised_hash(publishers, msg_type), message_definition(msg_type))
        self._engine.add_topic(topic)
        tap = self._clips.tap(topic) if method.clip and self._clips is not None else None
        callback = self._engine.intake.callback(method.topic, method.rate_limit_hz, tap)
        self._engine.intake.stats[method.topic].gaps.forget_publishers()
        capture.tap = tap
        capture.subscription = self._node.create_subscription(
            msg_class, method.topic, callback, profile, raw=True)
        capture.callback, capture.profile, capture.type = callback, profile, msg_type
        capture.had_publishers = bool(offered)
        purpose = f" for {method.key}" if method.key != method.topic else ""
        self._log.info(f"capturing {method.topic} ({msg_type}){purpose} at "
                       f"{method.rate_limit_hz or 'every message'}"
                       f"{' Hz' if method.rate_limit_hz else ''}"
                       f"{', full rate for clips' if tap else ''} "
                       f"({profile.reliability.name.lower()}, depth {profile.depth})")

    def _first_depth(self, topic: str, msg_type: str) -> int:
        """The depth of a new reader (capture/reader_depth.py): by the budget's split where
        the topic's messages were seen before (subscribed again), else by its type."""
        return self.split.depths.get(topic) or start_depth(unbounded(msg_type), self.qos_depth)

    def _largest(self, topic: str) -> int:
        """The largest message seen on the topic in bytes; 0 before the first."""
        stats = self._engine.intake.stats.get(topic)
        return stats.largest if stats else 0

    def _fit_depth(self, capture: _Capture) -> None:
        """Move a topic to a reader of the depth its messages' size calls for (down for large
        ones, up for small ones; capture/reader_depth.py, node/reader_move.py), or take the
        next step of a move under way."""
        if capture.move is not None:
            if capture.move.step():
                capture.move = None
            return
        old, profile, callback = capture.subscription, capture.profile, capture.callback
        topic = capture.method.topic
        if old is None or profile is None or callback is None:
            return
        largest = self._largest(topic)
        target = self.split.depths.get(topic)
        depth = moved_depth(profile.depth, target, largest) if target else None
        if (depth is None
                or "depth" in self._overrides.get(topic, {})  # the user's
                # a new transient-local reader would get the publishers' history again
                or profile.durability == DurabilityPolicy.TRANSIENT_LOCAL):
            return
        profile = copy.copy(profile)
        profile.depth = depth
        own = self._engine.intake.callback(topic, capture.method.rate_limit_hz, capture.tap)
        capture.move = ReaderMove(self._node, old, callback, topic, profile, own)
        capture.readers += 1
        capture.subscription, capture.callback, capture.profile = capture.move.reader, own, profile
        self._log.info(f"capturing {topic} with depth {depth} (its messages reach "
                       f"{largest} bytes; memory_budget_bytes "
                       f"{self._engine.settings.memory_budget_bytes}: {self.split.describe()})")

    def _report(self, capture: _Capture, message: str, error: bool = False) -> None:
        if message in capture.reported:
            return
        capture.reported.add(message)
        # rclpy refuses one call site logging at two severities: keep two calls
        if error:
            self._log.error(message)
        else:
            self._log.warning(message)

    def _drop(self, topic: str) -> None:
        capture = self._captures.pop(topic)
        if capture.move is not None:
            capture.move.cancel()
        if capture.subscription is not None:
            self._node.destroy_subscription(capture.subscription)
        if self._clips is not None:
            self._clips.remove_topic(capture.method.topic)
