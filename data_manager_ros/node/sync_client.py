"""The node's handle on the upload process (``sync_worker``): start, feed, watch, restart.

A supervisor thread owns the child for its whole life: ``PR_SET_PDEATHSIG``
fires when the thread that started a child ends, so the same thread starts
it, reads its reports and restarts it with backoff if it ever exits while the
node still runs. A child that runs but stops reporting (hung, or its reporter
thread stuck) is reported too: the last snapshot would otherwise say ``ok``.
Config changes and sweep requests are written to its stdin and never wait on it.
"""

from __future__ import annotations

import contextlib
import functools
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import IO

from data_manager_ros.backoff import Backoff
from data_manager_ros.config.params import config_to_params
from data_manager_ros.config.settings import DataManagerConfig
from data_manager_ros.lifecycle import Lifecycle
from data_manager_ros.supervision import Supervisor
from data_manager_ros.wire import (
    Condition,
    Configure,
    Logger,
    LogLine,
    Message,
    Status,
    Sweep,
    SyncSnapshot,
    Uploaded,
    decode,
    encode,
    log_line,
)


def _pipe(stream: IO[str] | None) -> IO[str]:
    """A pipe of the child, which is always started with both (typing says it may not be)."""
    if stream is None:
        raise RuntimeError("the upload process was started without pipes")
    return stream


# a running child reports every second; this long without a report is a problem
SILENT_AFTER_S = 10.0
SYNC_SUPERVISOR = "sync supervisor"


class SyncProcess(Lifecycle):
    def __init__(self, config: DataManagerConfig, log: Logger,
                 on_uploaded: Callable[[str, int, str], None] = lambda p, s, loc: None) -> None:
        """``on_uploaded(path, bytes, location)`` hears of every file uploaded (on the
        supervisor thread)."""
        self._log = log
        self._on_uploaded = on_uploaded
        self._condition: bool | None = None
        self._backoff = Backoff()
        self._config = config
        self._lock = threading.Lock()  # guards _child and writes to its stdin
        self._start_lock = threading.Lock()
        self._pending_sweep: bool | None = None  # asked before the child could hear it
        self._child: subprocess.Popen[str] | None = None
        self._closing = threading.Event()
        self.snapshot = SyncSnapshot()
        self._exit_problem = ""
        self._reported_at = time.monotonic()
        self._failures = 0
        self._supervision = Supervisor(log)  # of this thread's own steps (each line read)
        self._supervisor = threading.Thread(target=self._supervise, name="sync-supervisor",
                                            daemon=True)

    def start(self) -> SyncProcess:
        """Start the upload process and the thread that owns it for its whole life, unless sync
        is disabled: then they start with the first sweep asked for (``~/sync``) or the config
        that enables sync. A node that only records runs no second process (33 MiB)."""
        if not self._config.sync_disabled:
            self._run()
        return self

    @property
    def started(self) -> bool:
        """Whether the thread that runs the upload process has started (never, while sync is
        disabled and no sweep was asked for)."""
        return self._supervisor.ident is not None

    def _run(self) -> None:
        with self._start_lock:
            if self._supervisor.ident is None and not self._closing.is_set():
                self._supervisor.start()

    def problem(self, silent_after_s: float = SILENT_AFTER_S) -> str:
        """Why the upload process is not working, or ""."""
        faults = self._supervision.faults()
        if faults:
            return "; ".join(f"{thread}: {reason}" for thread, reason in faults.items())
        silent_s = time.monotonic() - self._reported_at
        if not self._exit_problem and self._child is not None and silent_s > silent_after_s:
            return (f"upload process (pid {self._child.pid}) sent no status for {silent_s:.0f} s; "
                    "it is hung or its status reporter stopped")
        return self._exit_problem

    def apply(self, config: DataManagerConfig) -> None:
        with self._lock:
            self._config = config
            self._write(Configure(config_to_params(config)))
        if not config.sync_disabled:
            self._run()

    def request_sweep(self, forced: bool = False) -> None:
        """``forced`` (~/sync): what this sweep finds goes past a closed gate, once."""
        with self._lock:
            if self._child is None:  # the next child hears it after its config
                self._pending_sweep = forced or bool(self._pending_sweep)
            self._write(Sweep(forced))
        self._run()

    def set_condition(self, value: bool) -> None:
        """The last value of sync_condition_topic; a restarted child is told it at start."""
        with self._lock:
            self._condition = value
            self._write(Condition(value))

    def _write(self, message: Message) -> None:
        """Called with the lock held, so a config and the child it goes to cannot cross."""
        if self._child is None:
            return  # the supervisor sends the current config to the next child
        try:
            stdin = _pipe(self._child.stdin)
            stdin.write(encode(message))
            stdin.flush()
        except (BrokenPipeError, ValueError):
            pass  # it died; the supervisor restarts it with the current config

    def _supervise(self) -> None:
        while not self._closing.is_set():
            child = subprocess.Popen(
                [sys.executable, "-m", "data_manager_ros.sync.sync_worker", str(os.getpid())],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
            with self._lock:
                self._child = child
                self._reported_at = time.monotonic()
                if self._closing.is_set():
                    _pipe(child.stdin).close()
                else:
                    self._write(Configure(config_to_params(self._config)))
                    if self._condition is not None:
                        self._write(Condition(self._condition))
                    if self._pending_sweep is not None:
                        self._write(Sweep(self._pending_sweep))
                        self._pending_sweep = None
            for line in _pipe(child.stdout):
                self._supervision.step(SYNC_SUPERVISOR, functools.partial(self._on_line, line),
                                       "that line is dropped; the next is read")
            code = child.wait()
            with self._lock:
                self._child = None
            if self._closing.is_set():
                return
            self._failures += 1
            delay = self._backoff.delay(self._failures)
            self._exit_problem = (f"upload process exited with code {code}; "
                                  f"restarting it in {delay:.1f} s")
            self._log.error(self._exit_problem)
            self._closing.wait(delay)

    def _on_line(self, line: str) -> None:
        try:
            message = decode(line)
        except ValueError:  # json's errors are ValueErrors too
            self._log.warning(f"upload process: {line.rstrip()}")
            return
        match message:
            case Uploaded(path, size, location):
                self._on_uploaded(path, size, location)
            case Status(snapshot):
                self.snapshot = snapshot
                self._reported_at = time.monotonic()
                self._failures, self._exit_problem = 0, ""  # it ran long enough to report
            case LogLine(severity, text):
                log_line(self._log, severity, text)
            case _:
                self._log.warning(f"upload process sent {type(message).__name__}, which only "
                                  "the node sends; ignored")

    def close(self, timeout_s: float = 30.0) -> None:
        """Let the child stop its uploads at the next block (they resume next run), then reap it."""
        self._closing.set()
        with self._start_lock:
            if self._supervisor.ident is None:  # never started (sync disabled)
                return
        with self._lock, contextlib.suppress(BrokenPipeError):  # a child that died already
            if self._child is not None:
                _pipe(self._child.stdin).close()
        self._supervisor.join(timeout_s)
        with self._lock:
            child = self._child
        if child is not None:
            child.kill()
            self._log.warning(f"upload process did not stop within {timeout_s:g} s; killed it")
        self._supervisor.join()
