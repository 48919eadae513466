"""The uploader's fault matrix, the way SQLite tests I/O errors: at each filesystem call site
of one upload (stat, open and read of the file, the journal, the local delete), each of
EACCES, EROFS, EIO, ENOSPC and ENOENT, for the first two calls, then the fault clears. In
every cell: no worker dies, the status names the fault within 5 s, and once it clears every
file reaches the real @tus/server exactly once with its digest, and is deleted here.

The fault is injected at the call site (the module's own ``os``, ``open`` or journal), so the
rest of the process (pytest, the server) never sees it; the real faults of the same columns
(a read-only remount, a full tmpfs, a server that dies) have tests of their own.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import threading
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from data_manager_ros import digest
from data_manager_ros.sync import destinations, upload_outcomes, uploader
from helpers.processes import wait_for
from helpers.sync_setup import (
    aged_files,
    assert_arrived_once,
    manager,
    reported,
    sync_until_done,
)

ERRORS = {code: os.strerror(code) for code in
          (errno.EACCES, errno.EROFS, errno.EIO, errno.ENOSPC, errno.ENOENT)}
FAULTY_CALLS = 2


class Fault:
    """Raises OSError(code) for the first ``times`` calls that touch ``inside``, then passes
    every call to ``real``."""

    def __init__(self, real: Callable[..., Any], code: int, inside: str,
                 times: int = FAULTY_CALLS) -> None:
        self.real, self.code, self.inside, self.left = real, code, inside, times
        self.lock = threading.Lock()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.check(str(args[0]) if args else "")
        return self.real(*args, **kwargs)

    def check(self, target: str) -> None:
        with self.lock:
            hit = self.left > 0 and target.startswith(self.inside)
            self.left -= hit
        if hit:
            raise OSError(self.code, os.strerror(self.code), target)


def _with_os(module: Any, name: str, fault: Fault) -> SimpleNamespace:
    """The module's ``os`` with one function faulty, every other attribute the real one."""
    namespace = SimpleNamespace(**{k: getattr(os, k) for k in dir(os) if not k.startswith("__")})
    setattr(namespace, name, fault)
    namespace.path = os.path
    return namespace


class FaultyJournalWrites:
    """The journal's writes fail as a disk would fail sqlite (its read path still works)."""

    def __init__(self, journal: Any, code: int) -> None:
        self.journal, self.left = journal, FAULTY_CALLS
        self.message = f"disk I/O error ({os.strerror(code)})"
        for name in ("put", "remove"):
            setattr(self, name, self._faulty(getattr(journal, name)))

    def _faulty(self, real: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            if self.left > 0:
                self.left -= 1
                raise sqlite3.OperationalError(self.message)
            return real(*args)
        return call

    def __getattr__(self, name: str) -> Any:
        return getattr(self.journal, name)


SITES = ["stat", "open", "read", "journal", "unlink"]


def _inject(site: str, code: int, source: str, sync: Any, monkeypatch: Any) -> None:
    if site == "stat":
        monkeypatch.setattr(uploader, "os", _with_os(uploader, "stat", Fault(os.stat, code,
                                                                              source)))
    elif site == "open":
        fault = Fault(open, code, source)
        for module in (digest, destinations):  # where the hash and the body open the file
            monkeypatch.setattr(module, "open", fault, raising=False)
    elif site == "read":
        reads = Fault(open, code, source)  # one budget of faulty reads for every handle

        def opened(path: Any, *args: Any, **kwargs: Any) -> Any:
            handle = open(path, *args, **kwargs)
            real = handle.readinto  # how the hash and the body read the file

            def readinto(buffer: Any) -> int:
                reads.check(str(path))
                return real(buffer)
            handle.readinto = readinto
            return handle
        for module in (digest, destinations):
            monkeypatch.setattr(module, "open", opened, raising=False)
    elif site == "journal":
        sync.uploader.journal = FaultyJournalWrites(sync.uploader.journal, code)
    elif site == "unlink":
        monkeypatch.setattr(upload_outcomes, "os", _with_os(upload_outcomes, "unlink",
                                                            Fault(os.unlink, code, source)))


# ENOENT from unlink means the file is gone already: the one cell that is no fault
CELLS = [(site, code) for site in SITES for code in sorted(ERRORS)
         if (site, code) != ("unlink", errno.ENOENT)]


@pytest.mark.parametrize(("site", "code"), CELLS,
                         ids=[f"{site}-{errno.errorcode[code]}" for site, code in CELLS])
def test_a_filesystem_fault_at_each_call_site(site, code, tmp_path, tus_server, monkeypatch):
    source, files = aged_files(tmp_path, 200_000)
    sync, log = manager(tmp_path, tus_server.url, additional_sync_paths=[str(source)],
                        file_last_modified_millis=0)
    try:
        _inject(site, code, str(source), sync, monkeypatch)
        sync.sweep()
        wait_for(lambda: ERRORS[code] in reported(sync, log), 5,
                 f"the status or log to name {ERRORS[code]!r}")
        sync_until_done(sync, source, log)
    finally:
        sync.close()
    assert_arrived_once(tus_server, files)
