"""What the uploader is doing, as plain data that crosses the process boundary.

Uploads run in a child process (``sync_process``); the node reports their
state in /diagnostics and ``~/sync`` from the last snapshot the child sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from data_manager_ros.sync.uploader import Uploader, UploadStats


@dataclass
class SyncSnapshot:
    queued_files: int = 0
    queued_bytes: int = 0
    oldest_mtime_ns: int = 0
    failing_files: int = 0
    last_error: str = ""
    sweep_error: str = ""
    journal_problem: str = ""
    stats: UploadStats = field(default_factory=UploadStats)

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> SyncSnapshot:
        return cls(**{**values, "stats": UploadStats(**values["stats"])})


def snapshot_of(uploader: Uploader, sweep_error: str = "") -> SyncSnapshot:
    pending = uploader.pending()
    failing = [error for _, failures, error in pending if failures]
    stats = uploader.stats
    return SyncSnapshot(
        queued_files=len(pending),
        queued_bytes=sum(f.size for f, _, _ in pending),
        oldest_mtime_ns=min((f.mtime_ns for f, _, _ in pending), default=0),
        failing_files=len(failing),
        last_error=failing[0] if failing else "",
        sweep_error=sweep_error,
        journal_problem=uploader.journal.degraded,
        # workers update in_flight meanwhile: copy it in one step before it is serialized
        stats=replace(stats, in_flight=dict(list(stats.in_flight.items()))))
