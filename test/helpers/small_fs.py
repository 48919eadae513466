"""A real small filesystem (tmpfs) for disk-full tests; root mounts it, as CI runs."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def small_tmpfs(mount: Path, size: str) -> Iterator[Path]:
    """A ``size`` tmpfs at ``mount``. Without permission to mount one (not root, or a
    container that forbids mounts) the test is skipped on a developer's machine and skipped,
    then failed, in CI (conftest: CI fails on any skip), with what it needs."""
    mount.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"needs permission to mount a {size} tmpfs (root, and a machine that "
                    f"allows mounts): {result.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(path: Path) -> None:
    """Write zeros to ``path`` until the filesystem is full."""
    with open(path, "wb", buffering=0) as handle:
        for block in (1 << 20, 4096, 1):
            try:
                while handle.write(b"\0" * block):
                    pass
            except OSError:
                pass
