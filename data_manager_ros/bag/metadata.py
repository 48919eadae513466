"""rosbag2 bag metadata (version 9): ``metadata.yaml`` and the copy inside each MCAP file.

rosbag2 writes metadata.yaml only when a bag closes; we rewrite it atomically
after every split so a bag is readable by ``ros2 bag info`` and rosbags at any
moment, and keep listing files after the uploader removed them so the bag
stays whole in the cloud.

The same map goes into every MCAP file as the ``rosbag2`` metadata record, but
bare: rosbag2's reader and reindexer decode that record as the map itself, and
refuse one under metadata.yaml's ``rosbag2_bagfile_information`` key.
"""

from __future__ import annotations

import os
import textwrap
from dataclasses import dataclass, field
from typing import Any

import yaml

from data_manager_ros.fsutil import atomic_write
from data_manager_ros.layout import METADATA_FILE

TOP_KEY = "rosbag2_bagfile_information"
VERSION = 9
# rosbag2's starting time while a bag or file holds no message yet (nanoseconds::max())
NO_MESSAGE_START_NS = 2**63 - 1


def current_ros_distro() -> str:
    """The distro rosbag2 records: ``ROS_DISTRO`` as a ROS environment sets it; the venv's
    wheels are Kilted, which is also the default where nothing set it."""
    return os.environ.get("ROS_DISTRO") or "kilted"


@dataclass
class TopicEntry:
    name: str
    type: str
    offered_qos_profiles: list[dict]
    type_description_hash: str
    message_count: int = 0


@dataclass
class FileEntry:
    path: str
    starting_time_ns: int
    duration_ns: int
    message_count: int


@dataclass
class BagMetadata:
    files: list[FileEntry] = field(default_factory=list)
    topics: dict[str, TopicEntry] = field(default_factory=dict)
    ros_distro: str = field(default_factory=current_ros_distro)
    custom_data: dict[str, str] = field(default_factory=dict)

    def add_file(self, entry: FileEntry, counts: dict[str, int]) -> None:
        """Record a closed file; ``counts`` are messages per topic in it."""
        self.files = [f for f in self.files if f.path != entry.path] + [entry]
        self.files.sort(key=_file_index)
        for topic, count in counts.items():
            self.topics[topic].message_count += count

    def to_dict(self) -> dict:
        """The map rosbag2 serializes for a ``BagMetadata``, keys in its order."""
        timed = [f for f in self.files if f.message_count]
        start = min((f.starting_time_ns for f in timed), default=NO_MESSAGE_START_NS)
        end = max((f.starting_time_ns + f.duration_ns for f in timed), default=start)
        return {
            "version": VERSION,
            "storage_identifier": "mcap",
            "duration": {"nanoseconds": end - start},
            "starting_time": {"nanoseconds_since_epoch": start},
            "message_count": sum(f.message_count for f in self.files),
            "topics_with_message_count": [
                {"topic_metadata": {
                    "name": t.name,
                    "type": t.type,
                    "serialization_format": "cdr",
                    "offered_qos_profiles": t.offered_qos_profiles,
                    "type_description_hash": t.type_description_hash,
                }, "message_count": t.message_count}
                for t in self.topics.values()],
            "compression_format": "",
            "compression_mode": "",
            "relative_file_paths": [f.path for f in self.files],
            "files": [{
                "path": f.path,
                "starting_time": {"nanoseconds_since_epoch": f.starting_time_ns},
                "duration": {"nanoseconds": f.duration_ns},
                "message_count": f.message_count,
            } for f in self.files],
            # rosbag2 writes an empty map as null (``~``); its reader takes both
            "custom_data": dict(self.custom_data) or None,
            "ros_distro": self.ros_distro,
        }

    def opening(self, file_name: str) -> BagMetadata:
        """What a file holds as it opens, as rosbag2 records it there: no topics, no
        messages, only this file, and the bag's identity (distro, custom data)."""
        return BagMetadata([FileEntry(file_name, NO_MESSAGE_START_NS, 0, 0)], {}, self.ros_distro,
                           dict(self.custom_data))

    def serialize(self) -> str:
        return serialize(self.to_dict())

    def save(self, bag_dir: str) -> None:
        save_metadata(bag_dir, self.serialize())

    @classmethod
    def load(cls, bag_dir: str) -> BagMetadata:
        """The bag's metadata, or an empty one when there is none yet (crashed first file)."""
        path = os.path.join(bag_dir, METADATA_FILE)
        if not os.path.exists(path):
            return cls()
        with open(path, encoding="utf-8") as handle:
            info = parse(handle.read())[TOP_KEY]
        meta = cls(ros_distro=info.get("ros_distro") or current_ros_distro(),
                   custom_data={str(k): str(v) for k, v in (info.get("custom_data") or {}).items()})
        for item in info.get("topics_with_message_count", []):
            topic = item["topic_metadata"]
            profiles = topic.get("offered_qos_profiles") or []
            if isinstance(profiles, str):
                profiles = parse(profiles) or []
            meta.topics[topic["name"]] = TopicEntry(
                topic["name"], topic["type"], profiles,
                topic.get("type_description_hash", ""), item.get("message_count", 0))
        meta.files = [FileEntry(
            f["path"], f["starting_time"]["nanoseconds_since_epoch"],
            f["duration"]["nanoseconds"], f["message_count"]) for f in info.get("files", [])]
        return meta


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """libyaml when present: the metadata lists every file of the bag and is written at each
    split; at 640 files the pure-Python dumper took 117 ms, libyaml 23 ms, for the same text.
    Null as ``~``, the way yaml-cpp (rosbag2) writes it, and no aliases (``parse`` refuses
    them): a value used twice is written twice."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


_Dumper.add_representer(type(None), lambda dumper, _: dumper.represent_scalar(
    "tag:yaml.org,2002:null", "~"))


def serialize(info: dict) -> str:
    """``BagMetadata.to_dict`` output as YAML: the MCAP ``rosbag2`` record's text."""
    return yaml.dump(info, Dumper=_Dumper, sort_keys=False)


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml when present: a list of 1,877 files took the pure-Python loader 0.59 s,
    libyaml 0.11 s. Aliases are refused: neither rosbag2 nor this package writes them, and
    a few hundred bytes of nested ones from a robot would expand to gigabytes in the
    fleet catalog's JSON."""

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        _refuse_aliases(node)
        return self.construct_document(node)


def _refuse_aliases(root: yaml.Node) -> None:
    """An alias is a node reached twice."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            raise yaml.YAMLError(f"bag metadata with an alias (line {node.start_mark.line + 1}):"
                                 " rosbag2 metadata has none; refused")
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            stack.extend(part for pair in node.value for part in pair)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


def parse(text: str | bytes) -> Any:
    """Bag metadata's YAML (metadata.yaml, a ``rosbag2`` record); yaml.YAMLError if it is not
    YAML or holds an alias."""
    return yaml.load(text, Loader=_Loader)


def custom_data_of(serialized: str) -> dict[str, str]:
    """The ``custom_data`` of a ``rosbag2`` record without reading its file list. Every file's
    closing record lists all the bag's files before it, as rosbag2's does, and the uploader
    read that list for each file it sent: after 30 minutes of 1 s files, 28% of its CPU and
    rising. custom_data and ros_distro come last, each at the start of a line (the map's
    own keys), so the tail from there is read; a record that is not laid out so is read
    whole."""
    start = serialized.rfind("\ncustom_data:")
    info = parse(serialized[start + 1:] if start >= 0 else serialized)
    custom = info.get("custom_data") if isinstance(info, dict) else None
    return {str(k): str(v) for k, v in custom.items()} if isinstance(custom, dict) else {}


def save_metadata(bag_dir: str, serialized: str) -> None:
    """Replace the bag's metadata.yaml with ``serialized`` (``serialize``'s text) under the
    file's top key; indenting the text is the same as dumping the map a level deeper."""
    text = f"{TOP_KEY}:\n" + textwrap.indent(serialized, "  ")
    atomic_write(os.path.join(bag_dir, METADATA_FILE), text.encode())


def _file_index(entry: FileEntry) -> tuple[int, str]:
    stem = entry.path.rsplit(".", 1)[0]
    suffix = stem.rsplit("_", 1)[-1]
    return (int(suffix) if suffix.isdigit() else -1, entry.path)
