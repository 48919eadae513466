"""Where everything lives on disk: every file name, suffix and directory the package uses.

::

    capture_dir/
      rosbag2_YYYY_MM_DD-HH_MM_SS/         a bag, named as ``ros2 bag record`` names it
      clip_rosbag2_..._<reason>/           an incident clip: a bag of its own
        .recording                         flock-ed while a writer owns the bag
        <bag>_<N>.mcap                     a closed split file: ready to upload
        <bag>_<N>.mcap.active              the file being written
        <bag>_<N>.mcap.recovering          a salvaged copy of a crashed ``.active`` file
        metadata.yaml                      ready to upload once ``.recording`` is gone
      .sync_journal.sqlite3 (+ .lock)      upload progress, resumed after a restart
      failed/<path> + <path>.reason.txt    refused for good by the server, kept
    <any additional sync path>/failed/...  the same, for those files

Hidden names (a leading dot) are never uploaded. Recovery, the writer, the
scanner, the uploader and the status command all ask this module.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from datetime import datetime

RECORDING_MARKER = ".recording"
CLIP_PREFIX = "clip_"
MCAP_SUFFIX = ".mcap"
ACTIVE_SUFFIX = ".active"
RECOVERING_SUFFIX = ".recovering"
METADATA_FILE = "metadata.yaml"
# a closed bag's files that disk_full_policy deleted before upload, one name a line: uploaded
# with the bag's metadata.yaml, so the fleet's catalog tells dropped from missing
DROPPED_FILE = "dropped_by_disk_policy.txt"
JOURNAL_FILE = ".sync_journal.sqlite3"
JOURNAL_LOCK_FILE = JOURNAL_FILE + ".lock"
FAILED_DIR = "failed"
REASON_SUFFIX = ".reason.txt"
PART_SUFFIX = ".part"  # a copy in progress at a file:// destination


def new_bag_name(now: datetime) -> str:
    """rosbag2's default bag name, ``rosbag2_YYYY_MM_DD-HH_MM_SS``."""
    return now.strftime("rosbag2_%Y_%m_%d-%H_%M_%S")


def new_bag_dir(capture_dir: str, name: str, taken: Collection[str] = ()) -> str:
    """``capture_dir/name``, or ``name_1``, ``name_2``... if a bag of that name exists or its
    name is ``taken``."""
    path = os.path.join(capture_dir, name)
    suffix = 1
    while os.path.exists(path) or os.path.basename(path) in taken:
        path = os.path.join(capture_dir, f"{name}_{suffix}")
        suffix += 1
    return path


def split_file_name(bag_dir: str, index: int) -> str:
    return f"{os.path.basename(os.path.normpath(bag_dir))}_{index}{MCAP_SUFFIX}"


def is_split_file(name: str) -> bool:
    """A closed bag file (not ``.active``, not ``.recovering``)."""
    return name.endswith(MCAP_SUFFIX)


def is_active_split_file(name: str) -> bool:
    return name.endswith(MCAP_SUFFIX + ACTIVE_SUFFIX)


def recording_marker(bag_dir: str) -> str:
    return os.path.join(bag_dir, RECORDING_MARKER)


def is_clip_bag(bag_dir: str) -> bool:
    return os.path.basename(os.path.normpath(bag_dir)).startswith(CLIP_PREFIX)


def is_hidden(name: str) -> bool:
    return name.startswith(".")


def failed_path(root: str, relative_path: str) -> str:
    """Where a file refused for good is kept; its reason is beside it (``reason_path``)."""
    return os.path.join(root, FAILED_DIR, relative_path)


def reason_path(kept: str) -> str:
    return kept + REASON_SUFFIX
