"""Filesystem guarantees the rest relies on: durable replacement, private dirs, crash-safe locks,
a file range read without a new block per MiB."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from typing import Any, Protocol


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


def printable(text: str) -> str:
    """``text`` with the bytes of a name that is not UTF-8 shown as ``\\xNN``. Python keeps
    such bytes as lone surrogates, which logs, ROS strings, JSON readers and terminals
    refuse; paths stay raw everywhere else, so the file is still found and uploaded."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


class ReadableFile(Protocol):
    """An open binary file, buffered or not."""

    @property
    def name(self) -> Any: ...

    def seek(self, offset: int, whence: int = ..., /) -> int: ...

    def readinto(self, buffer: memoryview, /) -> int | None: ...


def read_blocks(handle: ReadableFile, start: int, length: int,
                block_size: int = 1 << 20) -> Iterator[memoryview]:
    """Bytes ``start..start + length`` of an open file, read into one reused buffer: a block is
    valid until the next is asked for, and no heap keeps freed 1 MiB blocks around. OSError
    if the file ends early (it shrank since it was measured)."""
    handle.seek(start)
    buffer = memoryview(bytearray(min(block_size, length)))
    left = length
    while left > 0:
        count = handle.readinto(buffer[:min(len(buffer), left)])
        if not count:
            raise OSError(f"{handle.name} ended {left} bytes early")
        left -= count
        yield buffer[:count]


class LockBusy(OSError):
    pass


def set_aside(path: str, suffixes: tuple[str, ...] = ("",)) -> str:
    """Move a damaged file the node keeps for itself (and its companions, ``path`` +
    each suffix) out of the way, under a name that says so and when, kept for a post-mortem;
    returns that name."""
    aside = f"{path}.damaged-{time.strftime('%Y%m%dT%H%M%S')}"
    for suffix in suffixes:
        if os.path.lexists(path + suffix):
            os.replace(path + suffix, aside + suffix)
    return aside


def hold_exclusive_lock(path: str, wait_s: float) -> int:
    """Take an flock on ``path`` (waiting up to ``wait_s``) and return its fd.

    The kernel drops the lock when its holder dies, even by SIGKILL, so a
    stale lock can never block a restart. A directory in the lock file's place is set aside.
    """
    if os.path.isdir(path) and not os.path.islink(path):
        set_aside(path)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                raise LockBusy(f"{path} is still locked by another process after "
                               f"{wait_s:g} s") from None
            time.sleep(0.1)
