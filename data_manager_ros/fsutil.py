"""Durable file replacement: a reader or a crash sees the old file or the new one, never half."""

from __future__ import annotations

import os


def fsync_dir(path: str) -> None:
    """Make a rename or create in ``path`` survive power loss."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: str, data: bytes) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fsync_dir(os.path.dirname(os.path.abspath(path)))


def make_private_dir(path: str) -> None:
    """Create ``path`` (0700: captured data may be sensitive) or fail with a clear reason."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    if not os.access(path, os.W_OK | os.X_OK):
        raise PermissionError(f"directory {path!r} is not writable by this user")
