"""What the node process and the upload process share, and all that crosses between them.

Uploads run in a child process (``sync.sync_worker``, started by
``sync.sync_process``) so that hashing, HTTP and sqlite never hold the GIL the
executor needs. This module is that boundary, and it imports nothing but the
standard library and ``fsutil``: the child loads no capture code (no MCAP writer, no rclpy
subscriptions), and the node loads no HTTP client. ``test_process_boundary``
holds both to it.

The wire is JSON lines, each one of the message dataclasses below with its ``kind``;
``encode`` and ``decode`` are the only two ends. Node to child: ``Configure`` (the first
one starts the uploader; the config travels as the flat ROS parameter dict of
``config.params.config_to_params``, so both ends validate it with the same code),
``Sweep`` and ``Condition`` (the last value of sync_condition_topic); end of input closes
the uploader. Child to node: ``LogLine``, ``Status`` every second and ``Uploaded`` per
file uploaded.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from data_manager_ros.fsutil import printable


class Logger(Protocol):
    """What both ``logging.Logger`` and rclpy's node logger offer."""

    def debug(self, message: str) -> object: ...

    def info(self, message: str) -> object: ...

    def warning(self, message: str) -> object: ...

    def error(self, message: str) -> object: ...


@dataclass
class UploadStats:
    """Totals since the uploader started; workers write them, the status reporter reads."""

    uploaded_files: int = 0
    uploaded_bytes: int = 0
    sent_bytes: int = 0
    failures: int = 0
    failed_files: int = 0
    last_success: float = 0.0
    last_progress: float = 0.0  # wall time a byte last went out (a hung upload stops it)
    # path → (bytes sent, size, wall time a byte of it last went out)
    in_flight: dict[str, tuple[int, int, float]] = field(default_factory=dict)


@dataclass
class SyncSnapshot:
    """The upload process's state as the node reports it in /diagnostics and ``~/sync``."""

    waiting_files: int = 0  # files known and not yet uploaded, in flight included
    waiting_bytes: int = 0
    oldest_mtime_ns: int = 0
    failing_files: int = 0
    last_error: str = ""
    journal_problem: str = ""
    waiting_because: str = ""  # why scheduled uploads wait (sync windows, condition topic)
    faults: dict[str, str] = field(default_factory=dict)  # thread → unexpected failure
    refused: list[str] = field(default_factory=list)  # health.refused_files of its roots
    unexpected_errors: int = 0
    stats: UploadStats = field(default_factory=UploadStats)

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> SyncSnapshot:
        return cls(**{**values, "stats": UploadStats(**values["stats"])})


class Severity(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class Configure:
    """Node → child: the whole config, as flat ROS parameters."""

    params: dict[str, Any]


@dataclass(frozen=True)
class Sweep:
    """Node → child: look for files now; ``forced`` (~/sync) passes a closed gate once."""

    forced: bool = False


@dataclass(frozen=True)
class Condition:
    """Node → child: the last value of sync_condition_topic."""

    value: bool


@dataclass(frozen=True)
class LogLine:
    """Child → node: a line for the node's logger (and /rosout)."""

    severity: Severity
    message: str


@dataclass(frozen=True)
class Status:
    """Child → node, every second."""

    snapshot: SyncSnapshot


@dataclass(frozen=True)
class Uploaded:
    """Child → node: a file the far side confirmed, for the file_uploaded event."""

    path: str
    bytes: int
    location: str


Message = Configure | Sweep | Condition | LogLine | Status | Uploaded


def log_line(log: Logger, severity: Severity, message: str) -> None:
    """A LogLine into a logger, at its severity. rclpy refuses one call site logging at two
    severities: one call each."""
    if severity is Severity.ERROR:
        log.error(message)
    elif severity is Severity.WARNING:
        log.warning(message)
    elif severity is Severity.DEBUG:
        log.debug(message)
    else:
        log.info(message)
_KINDS: dict[str, type] = {cls.__name__: cls for cls in
                           (Configure, Sweep, Condition, LogLine, Status, Uploaded)}


def _plain(value: Any) -> Any:
    """JSON-ready, with every string printable: a path that is not UTF-8 would otherwise
    reach rclpy's logger and ROS strings as lone surrogates, which they refuse."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {_plain(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def encode(message: Message) -> str:
    """One line of the wire."""
    return json.dumps({"kind": type(message).__name__, **_plain(message)}) + "\n"


def decode(line: str) -> Message:
    """One line of the wire; ValueError if it is not one (a stray print, a crash dump)."""
    raw = json.loads(line)
    kind = _KINDS.get(raw.pop("kind", None)) if isinstance(raw, dict) else None
    if kind is None:
        raise ValueError(f"not a message: {line[:100]!r}")
    try:
        if kind is Status:
            return Status(SyncSnapshot.from_json(raw["snapshot"]))
        if kind is LogLine:
            return LogLine(Severity(raw["severity"]), raw["message"])
        message: Message = kind(**raw)
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"malformed {kind.__name__}: {error}") from None
    return message
