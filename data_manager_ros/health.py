"""One verdict about uploading, from the facts, in one place: /diagnostics (the node) and
``data_manager_status`` (offline from the disk, and ``--live`` from /diagnostics) both render
what ``sync_verdict`` says, so the two views cannot disagree. Offline the status command
knows fewer facts (no stall, no process), never other rules."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from enum import IntEnum

from data_manager_ros.layout import FAILED_DIR, REASON_SUFFIX

CONFIGURATION = "configuration"  # the fault of settings that stop uploading (key, CA bundle)
# files waiting while nothing at all was sent for this long (none in flight: backoff, gates)
QUIET_AFTER_S = 120.0


class Level(IntEnum):
    OK = 0
    WARN = 1
    ERROR = 2


@dataclass(frozen=True)
class Verdict:
    level: Level
    message: str


@dataclass(frozen=True)
class SyncFacts:
    sync_disabled: bool = False
    process_error: str = ""  # the upload process is not running or not reporting
    faults: dict[str, str] = field(default_factory=dict)  # what fails: thread or setting → why
    refused: tuple[str, ...] = ()  # "<kept path>: <reason>" of files kept in failed/
    stalled: str = ""  # an upload in flight that sends nothing
    waiting_files: int = 0
    waiting_because: str = ""  # a gate that holds uploads on purpose (windows, condition)
    quiet_s: float = 0.0  # since the last byte was sent
    in_flight: bool = False
    failing_files: int = 0  # files retried with backoff
    last_error: str = ""  # why the newest of them failed
    journal_problem: str = ""


def sync_verdict(facts: SyncFacts) -> Verdict:
    """Broken for good or stopped (ERROR) before slowed or retrying (WARN) before waiting
    on purpose (OK)."""
    if facts.process_error:
        return Verdict(Level.ERROR, facts.process_error)
    if facts.faults:
        return Verdict(Level.ERROR, "; ".join(f"{what}: {why}"
                                              for what, why in sorted(facts.faults.items())))
    if facts.refused:
        return Verdict(Level.ERROR, f"{len(facts.refused)} file(s) refused for good, kept in "
                                    f"failed/; first: {facts.refused[0]}")
    if facts.stalled:
        return Verdict(Level.WARN, facts.stalled)
    if facts.waiting_files and facts.waiting_because and not facts.in_flight:
        return Verdict(Level.OK, f"{facts.waiting_files} file(s) waiting: "
                                 f"{facts.waiting_because}")
    if facts.waiting_files and not facts.in_flight and facts.quiet_s > QUIET_AFTER_S:
        return Verdict(Level.WARN, f"{facts.waiting_files} file(s) waiting, nothing sent for "
                                   f"{facts.quiet_s:.0f} s")
    if facts.failing_files:
        return Verdict(Level.WARN, f"{facts.failing_files} file(s) failing; last: "
                                   f"{facts.last_error or 'no reason kept'}")
    if facts.journal_problem:
        return Verdict(Level.WARN, facts.journal_problem)
    return Verdict(Level.OK, "sync disabled" if facts.sync_disabled else "ok")


def refused_files(roots: list[str]) -> tuple[str, ...]:
    """Files a server refused for good, kept in each root's failed/ with their reason:
    read from the disk, so every view and every restart sees the same ones."""
    found = []
    for root in roots:
        for directory, _, names in os.walk(os.path.join(root, FAILED_DIR)):
            for name in sorted(n for n in names if n.endswith(REASON_SUFFIX)):
                try:
                    with open(os.path.join(directory, name), encoding="utf-8",
                              errors="replace") as handle:
                        reason = handle.read().strip()
                except OSError as error:
                    reason = f"(its reason cannot be read: {error.strerror})"
                found.append(f"{os.path.join(directory, name[:-len(REASON_SUFFIX)])}: {reason}")
    return tuple(found)
