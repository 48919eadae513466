"""Which topics of the ROS graph are recorded besides the configured methods, decided as
``ros2 bag record`` decides it (rosbag2_transport's topic filter), so that a user who
replaces ``ros2 bag record -a --exclude-regex ...`` gets the same topics.

As rosbag2: regular expressions are searched, not matched; a topic with more than one
type is never taken; hidden topics (a name part starting with ``_``) only with
``include_hidden_topics``; a topic without publishers only with
``include_unpublished_topics``; service events (``<service>/_service_event``) are
selected by ``services``/``all_services``/``regex`` and not by the topic options.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from data_manager_ros.config.settings import DataManagerConfig, MethodConfig, part_settings

SERVICE_EVENT_SUFFIX = "/_service_event"


def is_service_event(topic: str, msg_type: str) -> bool:
    return topic.endswith(SERVICE_EVENT_SUFFIX) and "/srv/" in msg_type and \
        msg_type.endswith("_Event")


def service_event_topic(service: str) -> str:
    return service if service.endswith(SERVICE_EVENT_SUFFIX) else service + SERVICE_EVENT_SUFFIX


def is_hidden(topic: str) -> bool:
    return any(part.startswith("_") for part in topic.split("/") if part)


@dataclass(frozen=True)
class TopicSelection:
    """The selection options (``part_settings(config, "selection", TopicSelection)``), topic
    and service names already resolved in the node's namespace."""

    all_topics: bool = False
    regex: str = ""
    exclude_regex: str = ""
    exclude_topics: tuple[str, ...] = ()
    topic_types: tuple[str, ...] = ()
    exclude_topic_types: tuple[str, ...] = ()
    include_hidden_topics: bool = False
    include_unpublished_topics: bool = False
    services: tuple[str, ...] = ()
    all_services: bool = False

    @property
    def selects_topics(self) -> bool:
        return self.all_topics or bool(self.regex or self.topic_types)

    @property
    def selects_services(self) -> bool:
        return self.all_services or bool(self.services or self.regex)

    @property
    def active(self) -> bool:
        """Whether the graph must be watched for topics to record."""
        return self.selects_topics or self.selects_services

    def takes(self, topic: str, types: list[str], published: Callable[[str], bool]) -> bool:
        if len(set(types)) != 1:
            return False
        msg_type = types[0]
        if is_service_event(topic, msg_type):
            taken = self._takes_service(topic[:-len(SERVICE_EVENT_SUFFIX)])
        else:
            taken = self._takes_topic(topic, msg_type)
        return taken and (self.include_unpublished_topics or published(topic))

    def _takes_topic(self, topic: str, msg_type: str) -> bool:
        if not self.selects_topics:
            return False
        if not (self.all_topics or msg_type in self.topic_types
                or (self.regex and re.search(self.regex, topic))):
            return False
        if msg_type in self.exclude_topic_types or topic in self.exclude_topics:
            return False
        if self.exclude_regex and re.search(self.exclude_regex, topic):
            return False
        return self.include_hidden_topics or not is_hidden(topic)

    def _takes_service(self, service: str) -> bool:
        if not (self.all_services or service_event_topic(service) in self.services
                or (self.regex and re.search(self.regex, service))):
            return False
        return not (self.exclude_regex and re.search(self.exclude_regex, service))


def selection_of(config: DataManagerConfig, resolve: Callable[[str], str]) -> TopicSelection:
    """``resolve``: the node's name resolution, applied to the names the options list."""
    selection = part_settings(config, "selection", TopicSelection)
    return replace(selection,
                   exclude_topics=tuple(resolve(t) for t in selection.exclude_topics),
                   services=tuple(service_event_topic(resolve(s)) for s in selection.services))


def _pattern_for(patterns: list[MethodConfig], selection: TopicSelection, topic: str,
                 types: list[str]) -> MethodConfig | None:
    """The first method whose ``topic_regex`` finds the topic and whose type (if it names
    one) the topic carries; hidden topics only with include_hidden_topics, as for --regex."""
    if len(set(types)) != 1 or (is_hidden(topic) and not selection.include_hidden_topics):
        return None
    return next((m for m in patterns if re.search(m.topic_regex, topic)
                 and m.type in ("", types[0])), None)


def methods_for_graph(methods: tuple[MethodConfig, ...], selection: TopicSelection,
                      graph: dict[str, list[str]], published: Callable[[str], bool]
                      ) -> tuple[MethodConfig, ...]:
    """The methods to record now: the configured ones that name a topic, then one per graph
    topic that a method's ``topic_regex`` finds (that method's settings, so a disabled one
    excludes its matches) or the selection takes (every message, no tags). A topic a method
    names is never taken again. ``published(topic)``: whether it has a publisher, asked
    last since it is the costly question."""
    named = [m for m in methods if not m.topic_regex]
    patterns = [m for m in methods if m.topic_regex]
    taken = {m.topic for m in named}
    found = []
    for topic, types in sorted(graph.items()):
        if topic in taken:
            continue
        pattern = _pattern_for(patterns, selection, topic, types)
        if pattern is not None:
            found.append(replace(pattern, topic=topic, type=types[0]))
        elif selection.takes(topic, types, published):
            found.append(MethodConfig("", topic, topic, types[0]))
    return (*named, *found)
