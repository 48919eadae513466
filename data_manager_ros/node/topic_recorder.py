"""Keeps one raw subscription per captured method, following the ROS graph.

A topic that does not exist yet is subscribed when its first publisher
appears, with the QoS rosbag2 would choose for those publishers; its type comes
from the config or, when not given, from the graph. Problems (unknown type, a
type change, a vanished publisher) are logged once each and never stop the
other topics.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass, field

from rclpy.node import Node
from rclpy.subscription import Subscription

from data_manager_ros.bag.mcap_file import Topic
from data_manager_ros.bag.message_definitions import (
    UnknownMessageType,
    message_definition,
    split_type_name,
    type_hash,
)
from data_manager_ros.bag.qos import adapted_profile, profile_to_dict
from data_manager_ros.capture.clips import ClipRecorder
from data_manager_ros.capture.engine import CaptureEngine
from data_manager_ros.config.settings import MethodConfig


def message_class(type_name: str) -> type:
    package, name = split_type_name(type_name)
    try:
        return getattr(importlib.import_module(f"{package}.msg"), name)
    except (ImportError, AttributeError):
        raise UnknownMessageType(
            f"message type {type_name!r} has no Python module ({package}.msg.{name}); "
            f"install the package that defines it") from None


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
    waiting_since: float = field(default_factory=time.monotonic)
    type: str = ""
    reported: set[str] = field(default_factory=set)
    had_publishers: bool = False


class TopicRecorder:
    def __init__(self, node: Node, engine: CaptureEngine, qos_depth: int,
                 clips: ClipRecorder | None = None) -> None:
        self._node = node
        self._engine = engine
        self._clips = clips
        self._log = node.get_logger()
        self.qos_depth = qos_depth
        self._captures: dict[str, _Capture] = {}

    @property
    def subscribed(self) -> dict[str, str]:
        """Topic → type of every live subscription."""
        return {c.method.topic: c.type for c in self._captures.values() if c.subscription}

    def waiting_s(self) -> dict[str, float]:
        """Topic → seconds each captured method has waited for a publisher to subscribe to."""
        now = time.monotonic()
        return {c.method.topic: now - c.waiting_since for c in self._captures.values()
                if c.subscription is None}

    def update(self, methods: tuple[MethodConfig, ...]) -> None:
        """Follow a new method list: unchanged methods keep their subscription."""
        wanted = {m.key: m for m in methods if m.captured}
        for key in list(self._captures):
            if wanted.get(key) != self._captures[key].method:
                self._drop(key)
        for key, method in wanted.items():
            self._captures.setdefault(key, _Capture(method))
        self.poll()

    def clear(self) -> None:
        for key in list(self._captures):
            self._drop(key)

    def poll(self) -> None:
        """Subscribe to topics that appeared; report type changes and lost publishers."""
        graph = dict(self._node.get_topic_names_and_types())
        for capture in self._captures.values():
            try:
                self._poll_one(capture, graph.get(capture.method.topic, []))
            except UnknownMessageType as error:
                self._report(capture, str(error), error=True)

    def discover(self) -> bool:
        """The fast path for topics still waiting for a publisher: how many publishers each
        has is a cheap question, the whole graph is listed only once one has some. Returns
        whether a topic still waits (the caller polls again soon only then)."""
        waiting = [c for c in self._captures.values() if c.subscription is None]
        if any(self._node.count_publishers(c.method.topic) for c in waiting):
            self.poll()
            waiting = [c for c in waiting if c.subscription is None]
        return bool(waiting)

    def _poll_one(self, capture: _Capture, graph_types: list[str]) -> None:
        method = capture.method
        if capture.subscription is not None:
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
        if not offered:
            return
        topic = Topic(method.topic, msg_type, tuple(profile_to_dict(p) for p in offered),
                      _advertised_hash(publishers, msg_type), message_definition(msg_type))
        self._engine.add_topic(topic)
        tap = self._clips.tap(topic) if method.clip and self._clips is not None else None
        callback = self._engine.intake.callback(method.topic, method.rate_limit_hz, tap)
        profile = adapted_profile(offered, self.qos_depth)
        capture.subscription = self._node.create_subscription(
            msg_class, method.topic, callback, profile, raw=True)
        capture.type = msg_type
        capture.had_publishers = True
        self._log.info(f"capturing {method.topic} ({msg_type}) for {method.key} at "
                       f"{method.rate_limit_hz or 'every message'}"
                       f"{' Hz' if method.rate_limit_hz else ''}"
                       f"{', full rate for clips' if tap else ''} "
                       f"({profile.reliability.name.lower()}, depth {profile.depth})")

    def _report(self, capture: _Capture, message: str, error: bool = False) -> None:
        if message in capture.reported:
            return
        capture.reported.add(message)
        # rclpy refuses one call site logging at two severities: keep two calls
        if error:
            self._log.error(message)
        else:
            self._log.warning(message)

    def _drop(self, key: str) -> None:
        capture = self._captures.pop(key)
        if capture.subscription is not None:
            self._node.destroy_subscription(capture.subscription)
        if self._clips is not None:
            self._clips.remove_topic(capture.method.topic)
