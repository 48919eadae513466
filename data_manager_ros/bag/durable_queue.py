"""Makes written files durable on a thread of their own, in the order it was asked.

An fsync waits for the disk. Recording 30 Hz point clouds (147 MB/s) while the
test's upload server wrote as much to the same disk, the writer thread spent up
to 0.7 s at a time in fsync, and the clouds that kept arriving meanwhile piled
up in its backlog: the node's RSS swung by 50-100 MiB each second. So the
writer thread only hands bytes to the page cache, and this thread fsyncs them;
a finished file is renamed to its final name only after its bytes are durable,
so a power cut still never leaves a torn file under a final name.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol


class Syncable(Protocol):
    def sync(self) -> None: ...


class DurableQueue:
    """One thread running fsyncs and commits in order; errors surface on the caller's thread.

    At most ``max_pending_commits`` commits wait at a time: a disk slower than
    capture then slows the writer thread (whose backlog is bounded and counts
    its drops) instead of piling up open files here.
    """

    def __init__(self, max_pending_commits: int = 2) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="capture-fsync")
        self._max_commits = max_pending_commits
        self._work: collections.deque[Future] = collections.deque()
        self._commits: collections.deque[Future] = collections.deque()
        self._syncs: dict[Syncable, Future] = {}

    def sync(self, file: Syncable) -> None:
        """fsync ``file`` soon. A request for it that has not started yet covers this one too,
        so a slow disk cannot make requests pile up."""
        queued = self._syncs.get(file)
        if queued is not None and not queued.running() and not queued.done():
            return
        self._syncs[file] = self._submit(file.sync)

    def commit(self, file: Syncable, work: Callable[[], None]) -> None:
        """Run ``work`` (which makes ``file`` final) after everything asked before it."""
        self._syncs.pop(file, None)
        self._commits.append(self._submit(work))
        while len(self._commits) > self._max_commits:
            self._commits.popleft().result()
        while self._commits and self._commits[0].done():
            self._commits.popleft()

    def raise_error(self) -> None:
        """Raise the first error of the work done so far (e.g. an OSError from fsync)."""
        while self._work and self._work[0].done():
            self._work.popleft().result()

    def wait(self) -> None:
        """Block until everything asked so far is done; raise its first error."""
        self._submit(lambda: None).result()
        self.raise_error()

    def close(self) -> None:
        """Finish everything asked; raise its first error."""
        self._pool.shutdown(wait=True)
        self._syncs.clear()
        self._commits.clear()
        self.raise_error()

    def _submit(self, work: Callable[[], None]) -> Future:
        future = self._pool.submit(work)
        self._work.append(future)
        return future
