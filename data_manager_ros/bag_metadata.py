"""rosbag2 ``metadata.yaml`` (version 9) for a bag directory.

rosbag2 writes it only when a bag closes; we rewrite it atomically after every
split so a bag is readable by ``ros2 bag info`` and rosbags at any moment, and
keep listing files after the uploader removed them so the bag stays whole in
the cloud.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import yaml

from data_manager_ros.fsutil import atomic_write

METADATA_FILE = "metadata.yaml"
VERSION = 9


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
    ros_distro: str = "kilted"

    def add_file(self, entry: FileEntry, counts: dict[str, int]) -> None:
        """Record a closed file; ``counts`` are messages per topic in it."""
        self.files = [f for f in self.files if f.path != entry.path] + [entry]
        self.files.sort(key=_file_index)
        for topic, count in counts.items():
            self.topics[topic].message_count += count

    def to_dict(self) -> dict:
        timed = [f for f in self.files if f.message_count]
        start = min((f.starting_time_ns for f in timed), default=0)
        end = max((f.starting_time_ns + f.duration_ns for f in timed), default=0)
        return {"rosbag2_bagfile_information": {
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
            "custom_data": {},
            "ros_distro": self.ros_distro,
        }}

    def to_yaml(self) -> str:
        return dump_yaml(self.to_dict())

    def save(self, bag_dir: str) -> None:
        save_metadata(bag_dir, self.to_yaml())

    @classmethod
    def load(cls, bag_dir: str) -> BagMetadata:
        """The bag's metadata, or an empty one when there is none yet (crashed first file)."""
        path = os.path.join(bag_dir, METADATA_FILE)
        if not os.path.exists(path):
            return cls()
        with open(path, encoding="utf-8") as handle:
            info = yaml.safe_load(handle)["rosbag2_bagfile_information"]
        meta = cls(ros_distro=info.get("ros_distro", "kilted"))
        for item in info.get("topics_with_message_count", []):
            topic = item["topic_metadata"]
            profiles = topic.get("offered_qos_profiles") or []
            if isinstance(profiles, str):
                profiles = yaml.safe_load(profiles) or []
            meta.topics[topic["name"]] = TopicEntry(
                topic["name"], topic["type"], profiles,
                topic.get("type_description_hash", ""), item.get("message_count", 0))
        meta.files = [FileEntry(
            f["path"], f["starting_time"]["nanoseconds_since_epoch"],
            f["duration"]["nanoseconds"], f["message_count"]) for f in info.get("files", [])]
        return meta


# libyaml when present: the metadata lists every file of the bag and is written at each split;
# at 640 files the pure-Python dumper took 117 ms, libyaml 23 ms, for the same text
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def dump_yaml(info: dict) -> str:
    """``BagMetadata.to_dict`` output as metadata.yaml text."""
    return yaml.dump(info, Dumper=_DUMPER, sort_keys=False)


def save_metadata(bag_dir: str, metadata_yaml: str) -> None:
    """Replace the bag's metadata.yaml with ``metadata_yaml`` (from ``BagMetadata.to_yaml``)."""
    atomic_write(os.path.join(bag_dir, METADATA_FILE), metadata_yaml.encode())


def _file_index(entry: FileEntry) -> tuple[int, str]:
    stem = entry.path.rsplit(".", 1)[0]
    suffix = stem.rsplit("_", 1)[-1]
    return (int(suffix) if suffix.isdigit() else -1, entry.path)
