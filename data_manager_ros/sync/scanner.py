"""Which files are ready to upload.

Bag files are ready once closed (final name, no ``.active`` suffix); a bag's
metadata.yaml once the whole bag is closed. Files under additional sync paths
are ready after a quiet time without modification. Hidden files and
directories (journal, locks, temporary files) and ``failed/`` are never taken,
symlinks are followed only when they stay inside their root, and only regular
files are taken: opening a FIFO blocks, and a device never ends.
"""

from __future__ import annotations

import os
import stat as stat_module
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from data_manager_ros.layout import (
    DROPPED_FILE,
    FAILED_DIR,
    METADATA_FILE,
    is_hidden,
    is_split_file,
    recording_marker,
)


@dataclass(frozen=True)
class SyncFile:
    path: str
    root: str
    relative_path: str
    size: int
    mtime_ns: int
    is_bag_file: bool

    @property
    def remote_path(self) -> str:
        """Bags keep their path under capture_dir; other files go under their root's name."""
        if self.is_bag_file:
            return self.relative_path
        return os.path.join(os.path.basename(os.path.normpath(self.root)), self.relative_path)


def _inside(path: str, root: str) -> bool:
    real_root = os.path.realpath(root)
    return os.path.commonpath([os.path.realpath(path), real_root]) == real_root


def _walk(root: str, on_skip: Callable[[str], None]) -> Iterator[tuple[str, os.stat_result]]:
    for directory, subdirs, files in os.walk(root, followlinks=False):
        subdirs[:] = sorted(d for d in subdirs if not is_hidden(d)
                            and not (directory == root and d == FAILED_DIR))
        for name in sorted(files):
            if is_hidden(name):
                continue
            path = os.path.join(directory, name)
            if os.path.islink(path) and not _inside(path, root):
                on_skip(f"{path} links outside {root}; not uploaded")
                continue
            try:
                stat = os.stat(path)
            except OSError:
                continue  # vanished or dangling link
            if not stat_module.S_ISREG(stat.st_mode):
                on_skip(f"{path} is not a regular file ({_kind(stat.st_mode)}); not uploaded")
                continue
            yield path, stat


def _kind(mode: int) -> str:
    for test, kind in ((stat_module.S_ISFIFO, "a FIFO"), (stat_module.S_ISSOCK, "a socket"),
                       (stat_module.S_ISCHR, "a character device"),
                       (stat_module.S_ISBLK, "a block device")):
        if test(mode):
            return kind
    return "not a file"


def _bag_closed(bag_dir: str) -> bool:
    """A crashed bag keeps its marker until recovery rebuilds metadata.yaml."""
    return not os.path.exists(recording_marker(bag_dir))


def has_bags(capture_dir: str) -> bool:
    """Whether a bag directory is left (open, closed or crashed); failed/ does not count."""
    try:
        names = os.listdir(capture_dir)
    except OSError:
        return False
    return any(not is_hidden(n) and n != FAILED_DIR and os.path.isdir(os.path.join(capture_dir, n))
               for n in names)


def bag_files(capture_dir: str, on_skip: Callable[[str], None]) -> Iterator[SyncFile]:
    for path, stat in _walk(capture_dir, on_skip):
        name = os.path.basename(path)
        ready_metadata = name in (METADATA_FILE, DROPPED_FILE) and _bag_closed(
            os.path.dirname(path))
        if not is_split_file(name) and not ready_metadata:
            continue
        yield SyncFile(path, capture_dir, os.path.relpath(path, capture_dir), stat.st_size,
                       stat.st_mtime_ns, is_bag_file=True)


def quiet_files(root: str, quiet_ns: int, now_ns: int,
                on_skip: Callable[[str], None]) -> Iterator[SyncFile]:
    for path, stat in _walk(root, on_skip):
        if now_ns - stat.st_mtime_ns >= quiet_ns:
            yield SyncFile(path, root, os.path.relpath(path, root), stat.st_size,
                           stat.st_mtime_ns, is_bag_file=False)
