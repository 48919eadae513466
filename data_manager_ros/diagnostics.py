"""Health as diagnostic_msgs, so rqt_robot_monitor and Foxglove show it."""

from __future__ import annotations

import os
import time

from diagnostic_msgs.msg import DiagnosticStatus, KeyValue

from data_manager_ros.capture_engine import CaptureEngine, TopicStats
from data_manager_ros.config import DataManagerConfig
from data_manager_ros.sync.snapshot import SyncSnapshot


def _status(name: str, level: bytes, message: str, values: dict[str, object]) -> DiagnosticStatus:
    return DiagnosticStatus(level=level, name=name, message=message, hardware_id="data_manager",
                            values=[KeyValue(key=k, value=str(v)) for k, v in values.items()])


def capture_statuses(config: DataManagerConfig, engine: CaptureEngine,
                     rates: dict[str, float]) -> list[DiagnosticStatus]:
    statuses = []
    for method in config.methods:
        stats = engine.stats.get(method.topic, TopicStats())
        level = DiagnosticStatus.OK
        message = "capturing"
        if engine.last_error:
            level, message = DiagnosticStatus.ERROR, engine.last_error
        elif stats.dropped:
            level, message = DiagnosticStatus.WARN, f"{stats.dropped} message(s) dropped"
        elif not method.captured or config.capture_disabled:
            message = "not captured"
        statuses.append(_status(f"data_manager: capture {method.key}", level, message, {
            "topic": method.topic,
            "configured_hz": method.rate_limit_hz or "every message",
            "actual_hz": f"{rates.get(method.topic, 0.0):.1f}",
            "received": stats.received, "throttled": stats.throttled,
            "written": stats.written, "dropped": stats.dropped,
            "writer_backlog_bytes": engine.backlog_bytes(),
            "writer_backlog_peak_bytes": engine.peak_backlog_bytes,
        }))
    return statuses


def sync_status(snapshot: SyncSnapshot, sync_disabled: bool,
                process_error: str = "") -> DiagnosticStatus:
    stats = snapshot.stats
    uploading = {f"uploading {os.path.basename(path)}": f"{sent}/{size}"
                 for path, (sent, size) in stats.in_flight.items()}
    if process_error:
        level, message = DiagnosticStatus.ERROR, process_error
    elif snapshot.failing_files:
        level, message = DiagnosticStatus.WARN, f"{snapshot.failing_files} file(s) failing"
    else:
        level, message = DiagnosticStatus.OK, "sync disabled" if sync_disabled else "ok"
    oldest = snapshot.oldest_mtime_ns
    return _status("data_manager: sync", level, message, {
        "queued_files": snapshot.queued_files,
        "queued_bytes": snapshot.queued_bytes,
        "oldest_unsynced_age_s": f"{(time.time_ns() - oldest) / 1e9:.0f}" if oldest else "0",
        "in_flight_bytes": sum(size - sent for sent, size in stats.in_flight.values()),
        "uploaded_files": stats.uploaded_files, "failures": stats.failures,
        "failed_files": stats.failed_files,
        "last_error": snapshot.last_error,
        "last_success": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stats.last_success))
        if stats.last_success else "never",
        **uploading,
    })
