"""The uploader's state, taken as a SyncSnapshot for the node (see process_boundary)."""

from __future__ import annotations

from dataclasses import replace

from data_manager_ros.health import refused_files
from data_manager_ros.sync.uploader import Uploader
from data_manager_ros.wire import SyncSnapshot


def snapshot_of(uploader: Uploader, roots: list[str] | None = None) -> SyncSnapshot:
    """``roots``: the directories synced from, whose failed/ holds the files refused for
    good (default: none)."""
    pending = uploader.pending()
    failing = [error for _, failures, error in pending if failures]
    stats = uploader.stats
    return SyncSnapshot(
        waiting_files=len(pending),
        waiting_bytes=sum(f.size for f, _, _ in pending),
        oldest_mtime_ns=min((f.mtime_ns for f, _, _ in pending), default=0),
        failing_files=len(failing),
        last_error=failing[0] if failing else "",
        journal_problem=uploader.journal.degraded,
        waiting_because=uploader.gate(),
        faults=uploader.supervisor.faults(),
        refused=list(refused_files(roots or [])),
        unexpected_errors=uploader.supervisor.count,
        # workers update in_flight meanwhile: copy it in one step before it is serialized
        stats=replace(stats, in_flight=dict(list(stats.in_flight.items()))))
