"""The upload process: a SyncManager driven by JSON lines on stdin, reporting on stdout.

Uploads run here and not in the node's process: hashing, HTTP and sqlite
then never hold the GIL the executor needs to take kHz topics, and at a
lower CPU priority they leave the cores to capture when the robot is short
of them (docs/performance.md has what this did and did not change).

It speaks the JSON lines of ``process_boundary`` on stdin and stdout.

The process dies with the node (``PR_SET_PDEATHSIG``), as it would on a robot
that loses power: nothing uploads on behalf of a node that is gone, and the
journal lets the next one resume mid-file.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
from typing import IO

from data_manager_ros.config.params import config_from_params
from data_manager_ros.config.settings import ConfigError, DataManagerConfig
from data_manager_ros.fsutil import LockBusy
from data_manager_ros.health import CONFIGURATION
from data_manager_ros.sync.snapshot import snapshot_of
from data_manager_ros.sync.sync_manager import SyncManager
from data_manager_ros.wire import (
    Condition,
    Configure,
    LogLine,
    Message,
    Severity,
    Status,
    Sweep,
    SyncSnapshot,
    Uploaded,
    decode,
    encode,
)

NICENESS = 10
STATUS_INTERVAL_S = 1.0
STATUS_REPORTER = "status reporter"
EXIT_LOCK_BUSY = 3
_PR_SET_PDEATHSIG = 1


class _Channel:
    """JSON lines to the node; several threads log, so whole lines go out under a lock."""

    def __init__(self, out: IO[str]) -> None:
        self._out = out
        self._lock = threading.Lock()

    def send(self, message: Message) -> None:
        line = encode(message)
        with self._lock:
            self._out.write(line)
            self._out.flush()


class _ChannelLogger:
    """The uploader's log, handed to the node so it lands in rclpy's log and /rosout."""

    def __init__(self, channel: _Channel) -> None:
        self._channel = channel

    def debug(self, message: str) -> None:
        self._channel.send(LogLine(Severity.DEBUG, message))

    def info(self, message: str) -> None:
        self._channel.send(LogLine(Severity.INFO, message))

    def warning(self, message: str) -> None:
        self._channel.send(LogLine(Severity.WARNING, message))

    def error(self, message: str) -> None:
        self._channel.send(LogLine(Severity.ERROR, message))


def _die_with(parent_pid: int) -> None:
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the node died before prctl took effect
        os._exit(0)




class _Worker:
    """The upload process's state: the manager once a config could be set up, and the
    configuration problem that keeps it from starting or changing. A problem is one ERROR in
    the status (naming the setting), not an exit: the node would restart us into it."""

    def __init__(self, channel: _Channel) -> None:
        self.channel = channel
        self.log = _ChannelLogger(channel)
        self.manager: SyncManager | None = None
        self.problem = ""

    def status(self) -> Status:
        if self.manager is None:
            snapshot = SyncSnapshot()
        else:
            snapshot = snapshot_of(self.manager.uploader, self.manager.roots())
        if self.problem:
            snapshot.faults[CONFIGURATION] = self.problem
        return Status(snapshot)

    def report_until(self, stop: threading.Event) -> None:
        """Every second once a config came: the manager's snapshot, or the problem alone."""
        while not stop.wait(STATUS_INTERVAL_S):
            if self.manager is not None:
                self.manager.supervisor.step(STATUS_REPORTER,
                                             lambda: self.channel.send(self.status()),
                                             "the next report tries again")
            elif self.problem:
                self.channel.send(self.status())

    def configure(self, config: DataManagerConfig) -> None:
        try:
            if self.manager is None:
                self.manager = SyncManager(config, self.log).start()
                self.manager.uploader.on_uploaded = lambda path, size, location: \
                    self.channel.send(Uploaded(path, size, location))
                if not config.sync_disabled:
                    self.manager.request_sweep()  # resume what a previous run left at once
            else:
                self.manager.apply(config)
        except ConfigError as error:
            if str(error) != self.problem:
                self.log.error(f"sync configuration refused: {error}; uploads wait for a "
                               "corrected one")
            self.problem = str(error)
            return
        self.problem = ""


def serve(lines: IO[str], channel: _Channel) -> int:
    worker = _Worker(channel)
    stop = threading.Event()
    threading.Thread(target=worker.report_until, args=(stop,), name="sync-status",
                     daemon=True).start()
    try:
        for line in lines:
            match decode(line):
                case Configure(params):
                    worker.configure(config_from_params(params))
                case _ if worker.manager is None:
                    continue
                case Sweep(forced):
                    worker.manager.request_sweep(forced)
                case Condition(value):
                    worker.manager.set_condition(value)
                case other:
                    worker.log.warning(f"the node sent {type(other).__name__}, which only the "
                                       "upload process sends; ignored")
    except LockBusy as error:
        worker.log.error(str(error))
        return EXIT_LOCK_BUSY
    finally:
        stop.set()
    if worker.manager is not None:
        worker.manager.close()
    channel.send(worker.status())
    return 0


def main() -> int:
    _die_with(int(sys.argv[1]))
    os.nice(NICENESS)
    # Ctrl-C, `ros2 launch` and systemd signal the whole process group: the node closes our
    # stdin once its bag is closed, and we stop then, so a deliberate stop is never a crash
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    return serve(sys.stdin, _Channel(sys.stdout))


if __name__ == "__main__":
    sys.exit(main())
