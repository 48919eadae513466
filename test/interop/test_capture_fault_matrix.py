"""The capture writer's fault matrix: at each filesystem call site of the writer thread (the
open of a new file, its writes, the fsync, the rename to its final name, the free-space
check), each of EACCES, EROFS, EIO, ENOSPC and ENOENT for the first two calls, injected in
the module that makes the call. In every cell: the writer thread lives, ``last_error`` (ERROR
in /diagnostics) names the fault within 5 s, capture resumes by itself once it clears, and
every message received is accounted for: written equals what the finalized bags hold,
dropped counts the rest. A full tmpfs (ENOSPC mid-write) is the real fault of this kind
(test_faults.py)."""

from __future__ import annotations

import errno
import os
import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest
from rclpy.serialization import serialize_message

from data_manager_ros.bag import mcap_file, mcap_writer
from data_manager_ros.capture import disk_guard
from data_manager_ros.capture.engine import CaptureEngine
from helpers.bag_samples import NAVSAT, RECEIVED, engine_settings, fix, topic
from helpers.bags import bag_dirs, read_mcap
from helpers.processes import wait_for
from helpers.sync_setup import ListLogger

ERRORS = {code: os.strerror(code) for code in
          (errno.EACCES, errno.EROFS, errno.EIO, errno.ENOSPC, errno.ENOENT)}
SITES = ["open", "write", "fsync", "rename", "statvfs"]


class Faults:
    """The first ``times`` calls raise OSError(code); then every call goes through."""

    def __init__(self, code: int, times: int = 2) -> None:
        self.code, self.left, self.lock = code, times, threading.Lock()

    def check(self, target: str = "") -> None:
        with self.lock:
            hit = self.left > 0
            self.left -= hit
        if hit:
            raise OSError(self.code, os.strerror(self.code), target)

    def wrap(self, real: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.check(str(args[0]) if args else "")
            return real(*args, **kwargs)
        return call


def _module_os(**faulty: Any) -> SimpleNamespace:
    namespace = SimpleNamespace(**{k: getattr(os, k) for k in dir(os) if not k.startswith("__")})
    namespace.path = os.path
    for name, function in faulty.items():
        setattr(namespace, name, function)
    return namespace


def _inject(site: str, faults: Faults, monkeypatch: Any) -> None:
    if site == "open":
        monkeypatch.setattr(mcap_file, "open", faults.wrap(open), raising=False)
    elif site == "write":  # every byte of a bag file goes out through os.writev
        monkeypatch.setattr(mcap_writer, "os", _module_os(writev=faults.wrap(os.writev)))
    elif site == "fsync":
        monkeypatch.setattr(mcap_file, "os", _module_os(fsync=faults.wrap(os.fsync)))
    elif site == "rename":
        monkeypatch.setattr(mcap_file, "os", _module_os(replace=faults.wrap(os.replace)))
    elif site == "statvfs":
        import shutil
        monkeypatch.setattr(disk_guard, "shutil", SimpleNamespace(
            disk_usage=faults.wrap(shutil.disk_usage)))


CELLS = [(site, code) for site in SITES for code in sorted(ERRORS)]


@pytest.mark.parametrize(("site", "code"), CELLS,
                         ids=[f"{s}-{errno.errorcode[c]}" for s, c in CELLS])
def test_a_filesystem_fault_at_each_writer_call_site(site, code, tmp_path, monkeypatch):
    log = ListLogger()
    engine = CaptureEngine(engine_settings(str(tmp_path), max_file_duration_s=1.0), log)
    faults = Faults(code)
    _inject(site, faults, monkeypatch)
    engine.start()
    sent = [0]

    def send(count: int) -> None:
        gps = engine.intake.callback("/gps", None)
        for _ in range(count):
            gps(serialize_message(fix(sent[0])), RECEIVED)
            sent[0] += 1
        time.sleep(0.01)

    try:
        engine.add_topic(topic("/gps", NAVSAT))
        deadline = time.monotonic() + 5
        while ERRORS[code] not in engine.last_error and faults.left:
            assert time.monotonic() < deadline, f"no error named {ERRORS[code]!r}: {log.text()}"
            send(10)
        named = engine.last_error
        wait_for(lambda: send(10) is None and not faults.left and not engine.last_error
                 and engine.stats["/gps"].written > 0, 20, "capture to resume")
        for _ in range(20):  # a while more after the fault
            send(10)
        assert engine._thread is not None and engine._thread.is_alive()  # noqa: SLF001
    finally:
        engine.close()
    assert ERRORS[code] in named
    stats = engine.stats["/gps"]
    assert stats.received == sent[0] == stats.written + stats.dropped + stats.throttled
    held = []
    for bag in bag_dirs(str(tmp_path)):
        names = os.listdir(bag)
        assert "metadata.yaml" in names and not [n for n in names if n.endswith(".active")]
        for name in names:
            if name.endswith(".mcap"):
                messages = read_mcap(os.path.join(bag, name)).get("/gps", [])
                held += [int(m.latitude) for m in messages]
    assert len(held) == stats.written and len(set(held)) == len(held)
    assert max(held) == sent[0] - 1  # the last message, after the fault, is there
