"""What an upload says about its file (tus ``Upload-Metadata``): where it came from, what it
holds (topics, methods, an incident clip's reasons) and which uploads it replaces, so that
the far side can index, verify and deduplicate without opening the file."""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import yaml
from mcap.reader import make_reader

from data_manager_ros.config.settings import UPLOAD_CLASSES, UploadClass
from data_manager_ros.fsutil import printable
from data_manager_ros.layout import is_clip_bag, is_split_file
from data_manager_ros.sync.journal import JournalEntry
from data_manager_ros.sync.scanner import SyncFile


@dataclass(frozen=True)
class UploadPolicy:
    """How the uploader labels and orders files, made from the config and replaced whole when
    it changes, so a worker never sees half of a change."""

    robot_id: str = ""
    tags: tuple[str, ...] = ()
    methods_by_topic: Mapping[str, str] = field(default_factory=dict)  # topic → method key
    method_tags: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # topic → tags
    priority: tuple[UploadClass, ...] = UPLOAD_CLASSES
    newest_first: bool = False


def upload_class(file: SyncFile) -> UploadClass:
    if not file.is_bag_file:
        return UploadClass.FILES
    return UploadClass.CLIPS if is_clip_bag(os.path.dirname(file.path)) else UploadClass.BAGS


def _bag_facts(path: str) -> tuple[list[str], dict[str, str]]:
    """Topics of a bag file and the ``custom_data`` of its last rosbag2 metadata record
    (an incident clip's reasons and tags), from the file itself: metadata.yaml may be gone."""
    try:
        with open(path, "rb") as handle:
            reader = make_reader(handle)
            summary = reader.get_summary()
            records = [m.metadata for m in reader.iter_metadata() if m.name == "rosbag2"]
        info = yaml.safe_load(records[-1]["serialized_metadata"]) if records else {}
    except Exception:  # noqa: BLE001 - a file we cannot parse is still uploaded as-is
        return [], {}
    topics = sorted(c.topic for c in summary.channels.values()) if summary else []
    custom = (info or {}).get("custom_data") or {}
    return topics, {str(k): str(v) for k, v in custom.items()}


def upload_metadata(file: SyncFile, entry: JournalEntry, policy: UploadPolicy,
                    superseded: list[str]) -> dict[str, str]:
    """``superseded``: upload URLs this one replaces that the far side could not delete."""
    metadata = {
        "filename": printable(os.path.basename(file.path)),
        "relative_path": printable(file.remote_path),
        "robot_id": policy.robot_id,
        "size": str(entry.size),
        "sha256": entry.sha256,
        "kind": upload_class(file).kind,
    }
    if metadata["relative_path"] != file.remote_path:  # a name that is not UTF-8
        metadata["relative_path_bytes"] = base64.b64encode(
            os.fsencode(file.remote_path)).decode()
    tags = list(policy.tags)
    if file.is_bag_file and is_split_file(file.path):
        topics, custom = _bag_facts(file.path)
        metadata.update(custom)
        metadata["topics"] = ",".join(topics)
        metadata["methods"] = ",".join(
            policy.methods_by_topic[t] for t in topics if t in policy.methods_by_topic)
        metadata["bag"] = os.path.basename(os.path.dirname(file.path))
        # a method's tags label the files that hold its topic (as the seed's tags do)
        tags += [tag for t in topics for tag in policy.method_tags.get(t, ())]
    if tags:
        metadata["tags"] = ",".join(dict.fromkeys(tags))
    if superseded:
        metadata["supersedes"] = " ".join(superseded)
    return metadata
