"""What an upload says about its file (tus ``Upload-Metadata``): where it came from, what it
holds (topics, methods, an incident clip's reasons) and which uploads it replaces, so that
the far side can index, verify and deduplicate without opening the file."""

from __future__ import annotations

import base64
import json
import os
import re
import socket
from dataclasses import dataclass

from mcap.reader import make_reader

from data_manager_ros.bag.metadata import custom_data_of
from data_manager_ros.config.settings import (
    UPLOAD_CLASSES,
    DataManagerConfig,
    MethodConfig,
    UploadClass,
    UploadDigest,
    UploadOrder,
)
from data_manager_ros.digest import parse
from data_manager_ros.fsutil import printable
from data_manager_ros.layout import is_clip_bag, is_split_file
from data_manager_ros.sync.journal import JournalEntry
from data_manager_ros.sync.scanner import SyncFile
from data_manager_ros.sync.track import track


@dataclass(frozen=True)
class UploadPolicy:
    """How the uploader labels and orders files, made from the config and replaced whole when
    it changes, so a worker never sees half of a change."""

    robot_id: str = ""
    tags: tuple[str, ...] = ()
    methods: tuple[MethodConfig, ...] = ()  # the configured ones, topic_regex ones too
    priority: tuple[UploadClass, ...] = UPLOAD_CLASSES
    newest_first: bool = False
    digest: str = UploadDigest.BLAKE3  # of files whose upload starts from now on

    @classmethod
    def from_config(cls, config: DataManagerConfig) -> UploadPolicy:
        return cls(robot_id=config.robot_id or socket.gethostname(), tags=config.tags,
                   methods=config.methods,
                   priority=tuple(UploadClass(c) for c in config.upload_priority),
                   newest_first=config.upload_order == UploadOrder.NEWEST_FIRST,
                   digest=config.upload_digest)

    def method_of(self, topic: str) -> MethodConfig | None:
        """The method that records the topic: the one naming it, else the first whose
        topic_regex finds it (as the node chose when it subscribed)."""
        named = next((m for m in self.methods if not m.topic_regex and m.topic == topic), None)
        return named or next((m for m in self.methods
                              if m.topic_regex and re.search(m.topic_regex, topic)), None)


def upload_class(file: SyncFile) -> UploadClass:
    if not file.is_bag_file:
        return UploadClass.FILES
    return UploadClass.CLIPS if is_clip_bag(os.path.dirname(file.path)) else UploadClass.BAGS


def _bag_facts(path: str) -> dict[str, str]:
    """What a bag file holds, from the file itself (metadata.yaml may be gone): its topics,
    time range and message count (the MCAP summary), the ``custom_data`` of its last
    rosbag2 metadata record (an incident clip's reasons and tags), and its fix topics'
    track (sync/track.py)."""
    try:
        with open(path, "rb") as handle:
            reader = make_reader(handle)
            summary = reader.get_summary()
            records = [m.metadata for m in reader.iter_metadata() if m.name == "rosbag2"]
            positions = track(reader, summary) if summary is not None else {}
        custom = custom_data_of(records[-1]["serialized_metadata"]) if records else {}
    except Exception:  # noqa: BLE001 - a file we cannot parse is still uploaded as-is
        return {"topics": ""}
    facts = {"topics": ",".join(sorted(c.topic for c in summary.channels.values()))
             if summary else ""}
    if summary is not None:
        # for a catalog: each topic's type, and its messages in this file
        facts["topic_types"] = json.dumps({c.topic: summary.schemas[c.schema_id].name
                                           for c in summary.channels.values()
                                           if c.schema_id in summary.schemas})
    if summary is not None and summary.statistics is not None:
        statistics = summary.statistics
        facts.update(message_count=str(statistics.message_count),
                     start_ns=str(statistics.message_start_time),
                     end_ns=str(statistics.message_end_time),
                     topic_counts=json.dumps({summary.channels[i].topic: n for i, n in
                                              statistics.channel_message_counts.items()
                                              if i in summary.channels}))
    if positions:  # where the robot went, for the fleet's pages
        facts["track"] = json.dumps(positions, separators=(",", ":"))
    if custom:
        facts["custom_data"] = json.dumps(custom)
    return {**custom, **facts}


def upload_metadata(file: SyncFile, entry: JournalEntry, policy: UploadPolicy,
                    superseded: list[str]) -> dict[str, str]:
    """``superseded``: upload URLs this one replaces that the far side could not delete."""
    algorithm, value = parse(entry.digest)
    metadata = {
        "filename": printable(os.path.basename(file.path)),
        "relative_path": printable(file.remote_path),
        "robot_id": policy.robot_id,
        "size": str(entry.size),
        # the server hashes what it stored with this algorithm and refuses a mismatch
        algorithm: value,
        "kind": upload_class(file).kind,
    }
    if metadata["relative_path"] != file.remote_path:  # a name that is not UTF-8
        metadata["relative_path_bytes"] = base64.b64encode(
            os.fsencode(file.remote_path)).decode()
    tags = list(policy.tags)
    if file.is_bag_file and is_split_file(file.path):
        facts = _bag_facts(file.path)
        for key, value in facts.items():  # custom_data never replaces what the uploader says
            metadata.setdefault(key, value)
        topics = facts["topics"].split(",") if facts["topics"] else []
        methods = [m for m in map(policy.method_of, topics) if m is not None]
        metadata["methods"] = ",".join(dict.fromkeys(m.key for m in methods))
        metadata["bag"] = os.path.basename(os.path.dirname(file.path))
        # a method's tags label the files that hold its topic (as the seed's tags do)
        tags += [tag for m in methods for tag in m.tags]
    if tags:
        metadata["tags"] = ",".join(dict.fromkeys(tags))
    if superseded:
        metadata["supersedes"] = " ".join(superseded)
    return metadata
