"""What the node process and the upload process share, and all that crosses between them.

Uploads run in a child process (``sync.sync_worker``, started by
``sync.sync_process``) so that hashing, HTTP and sqlite never hold the GIL the
executor needs. This module is that boundary, and it imports nothing but the
standard library and ``fsutil``: the child loads no capture code (no MCAP writer, no rclpy
subscriptions), and the node loads no HTTP client. ``test_process_boundary``
holds both to it.

The wire is JSON lines. Node to child: ``{"config": <params>}`` (the first one
starts the uploader; the config travels as the flat ROS parameter dict of
``params.config_to_params``, so both ends validate it with the same code) and
``{"sweep": true, "forced": <~/sync>}`` and ``{"condition": <bool>}`` (the last
value of sync_condition_topic); end of input closes the uploader. Child to node:
``{"log": <severity>, "message": ...}``, ``{"status": <SyncSnapshot>}`` every
second and ``{"uploaded": {"path", "bytes", "location"}}`` per file uploaded.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
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
    unexpected_errors: int = 0
    stats: UploadStats = field(default_factory=UploadStats)

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> SyncSnapshot:
        return cls(**{**values, "stats": UploadStats(**values["stats"])})


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


def encode(message: dict[str, Any]) -> str:
    """One line of the wire; a snapshot may be given as its dataclass."""
    return json.dumps(_plain(message)) + "\n"


def decode(line: str) -> dict[str, Any]:
    """One line of the wire; ValueError if it is not one (a stray print, a crash dump)."""
    message = json.loads(line)
    if not isinstance(message, dict):
        raise ValueError(f"not a message: {line[:100]!r}")
    return message
