"""Health as diagnostic_msgs, so rqt_robot_monitor and Foxglove show it."""

from __future__ import annotations

import os
import time

from diagnostic_msgs.msg import DiagnosticStatus, KeyValue

from data_manager_ros.capture_engine import CaptureEngine, TopicStats
from data_manager_ros.config import DataManagerConfig
from data_manager_ros.sync.uploader import Uploader


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
        }))
    return statuses


def sync_status(uploader: Uploader, sync_disabled: bool) -> DiagnosticStatus:
    pending = uploader.pending()
    stats = uploader.stats
    failing = [p for p in pending if p[1]]
    oldest = min((f.mtime_ns for f, _, _ in pending), default=None)
    uploading = {f"uploading {os.path.basename(path)}": f"{sent}/{size}"
                 for path, (sent, size) in list(stats.in_flight.items())}
    level = DiagnosticStatus.WARN if failing else DiagnosticStatus.OK
    message = f"{len(failing)} file(s) failing" if failing else (
        "sync disabled" if sync_disabled else "ok")
    return _status("data_manager: sync", level, message, {
        "queued_files": len(pending),
        "queued_bytes": sum(f.size for f, _, _ in pending),
        "oldest_unsynced_age_s": f"{(time.time_ns() - oldest) / 1e9:.0f}" if oldest else "0",
        "in_flight_bytes": sum(size - sent for sent, size in list(stats.in_flight.values())),
        "uploaded_files": stats.uploaded_files, "failures": stats.failures,
        "failed_files": stats.failed_files,
        "last_error": failing[0][2] if failing else "",
        "last_success": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stats.last_success))
        if stats.last_success else "never",
        **uploading,
    })
