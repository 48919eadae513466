"""What to delete when the disk reaches its free-space floor, with ``disk_full_policy:
delete_oldest``: the oldest not-yet-uploaded files of the lowest upload class, never a clip.

Capture goes on instead of pausing, at the price of data that was waiting to be
uploaded; every deletion is logged and counted. A closed bag (never the one being
written) loses every data file at once; its metadata.yaml stays, with a
``dropped_by_disk_policy.txt`` naming what went, and both are uploaded, so the fleet
knows what the bag held and which of its files were dropped on purpose. Files of
``additional_sync_paths`` go one by one. With nothing left to delete, capture pauses as
with ``pause``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

from data_manager_ros.config.settings import UploadClass
from data_manager_ros.fsutil import atomic_write
from data_manager_ros.layout import (
    DROPPED_FILE,
    FAILED_DIR,
    METADATA_FILE,
    is_clip_bag,
    is_hidden,
    recording_marker,
)


@dataclass(frozen=True)
class Deletable:
    path: str
    mtime_ns: int
    bytes: int
    upload_class: UploadClass  # BAGS or FILES: clips are never deleted


def _size(path: str) -> int:
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path)
               for f in files)


def _data_files(bag_dir: str) -> list[str]:
    """What deleting a bag removes: all but its metadata.yaml and the record of the drop."""
    return sorted(n for n in os.listdir(bag_dir) if n not in (METADATA_FILE, DROPPED_FILE)
                  and os.path.isfile(os.path.join(bag_dir, n)))


def _closed_bags(capture_dir: str) -> Iterator[Deletable]:
    for name in os.listdir(capture_dir):
        path = os.path.join(capture_dir, name)
        if (is_hidden(name) or name == FAILED_DIR or not os.path.isdir(path)
                or is_clip_bag(path) or os.path.exists(recording_marker(path))
                or not _data_files(path)):
            continue
        yield Deletable(path, os.stat(path).st_mtime_ns, _size(path), UploadClass.BAGS)


def _waiting_files(root: str) -> Iterator[Deletable]:
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = [d for d in subdirs if not is_hidden(d)
                      and not (directory == root and d == FAILED_DIR)]
        for name in files:
            path = os.path.join(directory, name)
            if not is_hidden(name) and os.path.isfile(path) and not os.path.islink(path):
                stat = os.stat(path)
                yield Deletable(path, stat.st_mtime_ns, stat.st_size, UploadClass.FILES)


def deletion_order(capture_dir: str, additional_paths: tuple[str, ...],
                   priority: tuple[str, ...]) -> list[Deletable]:
    """Every deletable item, lowest upload class first, oldest first within a class."""
    found = list(_closed_bags(capture_dir)) if os.path.isdir(capture_dir) else []
    for root in additional_paths:
        root = os.path.abspath(os.path.expanduser(root))
        if os.path.isdir(root):
            found += _waiting_files(root)
    return sorted(found, key=lambda d: (-priority.index(d.upload_class), d.mtime_ns))


def delete(item: Deletable) -> None:
    if not os.path.isdir(item.path):
        os.unlink(item.path)
        return
    names = _data_files(item.path)
    record = os.path.join(item.path, DROPPED_FILE)
    earlier = ""
    if os.path.exists(record):
        with open(record, encoding="utf-8", errors="surrogateescape") as handle:
            earlier = handle.read()
    # the record first: a crash in between leaves it naming a file still there, not a
    # file gone without a word
    atomic_write(record, (earlier + "".join(f"{n}\n" for n in names)).encode(
        "utf-8", "surrogateescape"))
    for name in names:
        os.unlink(os.path.join(item.path, name))
