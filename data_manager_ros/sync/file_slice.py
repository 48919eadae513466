"""A streamed request body: the rest of a file from an offset, never loaded whole."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import BinaryIO


class FileSlice:
    """File-like body with a known length (so requests sends Content-Length, not chunks).

    ``on_read`` sees every block as it is handed to the socket, for progress and
    byte counts; ``limit_bps`` paces reads so uploads leave bandwidth to the robot.
    """

    def __init__(self, handle: BinaryIO, offset: int, length: int,
                 on_read: Callable[[int], None] = lambda n: None, limit_bps: int = 0,
                 block_size: int = 1 << 20) -> None:
        handle.seek(offset)
        self._handle = handle
        self._left = length
        self._on_read = on_read
        self._limit = limit_bps
        self._block = block_size
        self._started = time.monotonic()
        self._sent = 0

    def __len__(self) -> int:
        return self._left

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        size = self._block if size is None or size < 0 else min(size, self._block)
        data = self._handle.read(min(size, self._left))
        self._left -= len(data)
        self._sent += len(data)
        self._on_read(len(data))
        if self._limit:
            ahead = self._sent / self._limit - (time.monotonic() - self._started)
            if ahead > 0:
                time.sleep(ahead)
        return data
