"""DurableQueue: fsyncs and commits off the writer thread, in order, errors not lost."""

from __future__ import annotations

import errno
import threading

import pytest

from data_manager_ros.bag.durable_queue import DurableQueue


class GatedFile:
    """Stands for a file whose fsync waits until the test opens the gate (a slow disk)."""

    def __init__(self, log: list[str], name: str, error: OSError | None = None) -> None:
        self.log, self.name, self.error = log, name, error
        self.gate = threading.Event()
        self.started = threading.Event()

    def sync(self) -> None:
        self.started.set()
        self.gate.wait(10)
        self.log.append(f"sync {self.name}")
        if self.error:
            raise self.error


def test_syncs_asked_while_one_waits_merge_and_a_commit_runs_after_them():
    log: list[str] = []
    file = GatedFile(log, "a")
    queue = DurableQueue()
    queue.sync(file)
    assert file.started.wait(5)
    for _ in range(5):  # the disk is slow: one more fsync covers all of these
        queue.sync(file)
    queue.commit(file, lambda: log.append("commit a"))
    file.gate.set()
    queue.close()
    assert log == ["sync a", "sync a", "commit a"]


def test_a_background_fsync_error_is_raised_on_the_writers_thread():
    file = GatedFile([], "a", OSError(errno.EIO, "Input/output error"))
    file.gate.set()
    queue = DurableQueue()
    queue.sync(file)
    with pytest.raises(OSError, match="Input/output error"):
        queue.wait()
    queue.close()  # reported once


def test_commits_beyond_the_limit_wait_for_the_disk():
    log: list[str] = []
    file = GatedFile(log, "a")
    queue = DurableQueue(max_pending_commits=1)
    queue.sync(file)
    assert file.started.wait(5)
    queue.commit(file, lambda: log.append("commit 1"))
    second = threading.Thread(target=queue.commit, args=(file, lambda: log.append("commit 2")))
    second.start()
    second.join(0.5)
    assert second.is_alive(), "a second commit was queued while the first could not run"
    file.gate.set()
    second.join(5)
    assert not second.is_alive()
    queue.close()
    assert log == ["sync a", "commit 1", "commit 2"]
