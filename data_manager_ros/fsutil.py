"""Filesystem guarantees the rest relies on: durable replacement, private dirs, crash-safe locks."""

from __future__ import annotations

import fcntl
import os
import time


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


class LockBusy(OSError):
    pass


def hold_exclusive_lock(path: str, wait_s: float) -> int:
    """Take an flock on ``path`` (waiting up to ``wait_s``) and return its fd.

    The kernel drops the lock when its holder dies, even by SIGKILL, so a
    stale lock can never block a restart.
    """
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
