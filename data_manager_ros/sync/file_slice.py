"""A streamed request body: the rest of a file from an offset, never loaded whole."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from io import BufferedReader

from data_manager_ros.fsutil import read_blocks
from data_manager_ros.sync.bandwidth import BandwidthLimit

_UNLIMITED = BandwidthLimit(0)


class FileSlice:
    """Iterable body with a known length (the PATCH's Content-Length, not chunks).

    Blocks of 1 MiB, each handed to the socket whole: http.client's own reading of a
    file-like body goes 8-16 KiB at a time, and 1 MiB blocks are what lets one PATCH
    keep up with curl: 4 MiB blocks sent
    no faster and cost the upload process 11 MiB more (docs/performance.md). ``on_read`` sees
    every block as it goes out, for progress and byte counts; ``limit`` (shared
    by every upload) paces the blocks so uploads leave bandwidth to the robot.
    """

    def __init__(self, handle: BufferedReader, offset: int, length: int,
                 on_read: Callable[[int], None] = lambda n: None,
                 limit: BandwidthLimit = _UNLIMITED, block_size: int = 1 << 20) -> None:
        self._handle = handle
        self._offset = offset
        self._length = length
        self._on_read = on_read
        self._limit = limit
        self._block = min(block_size, limit.block_size) if limit.bytes_per_s else block_size

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[memoryview]:
        """Each block is valid until the next is asked for: the socket has taken it by then."""
        for block in read_blocks(self._handle, self._offset, self._length, self._block):
            self._limit.pace(len(block))
            self._on_read(len(block))
            yield block
