"""Durable upload state: survives SIGKILL so a restart resumes mid-file.

One row per file in flight: where the server keeps its upload, and the size,
mtime and sha256 the upload was started for (a file that changed since starts
over). sqlite in WAL mode with synchronous=FULL makes each update durable
before the bytes it describes are sent.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass

JOURNAL_FILE = ".sync_journal.sqlite3"


@dataclass
class JournalEntry:
    path: str
    size: int
    mtime_ns: int
    sha256: str
    upload_url: str = ""
    failures: int = 0
    last_error: str = ""


class Journal:
    def __init__(self, path: str, read_only: bool = False) -> None:
        """``read_only``: for a reader beside the uploader (the status command), which must
        work on a full disk and never change the journal."""
        self.path = path
        self._lock = threading.Lock()
        if read_only:
            self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
            return
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS uploads (path TEXT PRIMARY KEY, size INTEGER, "
            "mtime_ns INTEGER, sha256 TEXT, upload_url TEXT, failures INTEGER, last_error TEXT)")

    def get(self, path: str) -> JournalEntry | None:
        with self._lock:
            row = self._db.execute(
                "SELECT path, size, mtime_ns, sha256, upload_url, failures, last_error "
                "FROM uploads WHERE path = ?", (path,)).fetchone()
        return JournalEntry(*row) if row else None

    def put(self, entry: JournalEntry) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO uploads VALUES (?, ?, ?, ?, ?, ?, ?)",
                (entry.path, entry.size, entry.mtime_ns, entry.sha256, entry.upload_url,
                 entry.failures, entry.last_error))

    def remove(self, path: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM uploads WHERE path = ?", (path,))

    def entries(self) -> list[JournalEntry]:
        with self._lock:
            rows = self._db.execute(
                "SELECT path, size, mtime_ns, sha256, upload_url, failures, last_error "
                "FROM uploads ORDER BY path").fetchall()
        return [JournalEntry(*row) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
