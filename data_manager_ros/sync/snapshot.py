"""What the uploader is doing, as plain data that crosses the process boundary.

Uploads run in a child process (``sync_process``); the node reports their
state in /diagnostics and ``~/sync`` from the last snapshot the child sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from data_manager_ros.sync.uploader import Uploader


@dataclass
class SyncSnapshot:
    queued_files: int = 0
    queued_bytes: int = 0
    oldest_mtime_ns: int = 0
    failing_files: int = 0
    last_error: str = ""
    in_flight: dict[str, list[int]] = field(default_factory=dict)  # path → [sent, size]
    uploaded_files: int = 0
    failures: int = 0
    failed_files: int = 0
    last_success: float = 0.0


def snapshot_of(uploader: Uploader) -> SyncSnapshot:
    pending = uploader.pending()
    failing = [error for _, failures, error in pending if failures]
    stats = uploader.stats
    return SyncSnapshot(
        queued_files=len(pending),
        queued_bytes=sum(f.size for f, _, _ in pending),
        oldest_mtime_ns=min((f.mtime_ns for f, _, _ in pending), default=0),
        failing_files=len(failing),
        last_error=failing[0] if failing else "",
        in_flight={path: [sent, size] for path, (sent, size) in list(stats.in_flight.items())},
        uploaded_files=stats.uploaded_files, failures=stats.failures,
        failed_files=stats.failed_files, last_success=stats.last_success)
