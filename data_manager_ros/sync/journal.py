"""Durable upload state: survives SIGKILL so a restart resumes mid-file.

One row per file in flight: where the server keeps its upload, and the size,
mtime and digest the upload was started for (a file that changed since starts
over). sqlite in WAL mode with synchronous=FULL makes each update durable
before the bytes it describes are sent.

On a full disk (the moment uploading matters most: it is what frees space) the
journal cannot be opened or written. It then carries on in memory, from what the
file held, and says so in ``degraded``: uploads go on and resume within this
process; after a restart they resume from what the file last recorded, or from
byte 0. The file is used again when the next uploader starts on a disk with room.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from dataclasses import dataclass

from data_manager_ros.digest import tagged
from data_manager_ros.fsutil import printable


@dataclass
class JournalEntry:
    path: str
    size: int
    mtime_ns: int
    digest: str  # data_manager_ros.digest's "<algorithm>:<hex>"
    upload_url: str = ""
    failures: int = 0
    last_error: str = ""


def _key(path: str) -> str | bytes:
    """A path as the journal keys it: UTF-8 text, or the raw bytes (a BLOB) of a name that is
    not UTF-8, so any name the filesystem allows is tracked, and older journals still match."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(path)
    return path


def _entry(row: tuple) -> JournalEntry:
    path, size, mtime_ns, digest, *rest = row
    return JournalEntry(os.fsdecode(path) if isinstance(path, bytes) else path, size, mtime_ns,
                        tagged(digest), *rest)


_SCHEMA = ("CREATE TABLE IF NOT EXISTS uploads (path TEXT PRIMARY KEY, size INTEGER, "
           "mtime_ns INTEGER, digest TEXT, upload_url TEXT, failures INTEGER, last_error TEXT)")
# rows are read by position: a journal from before BLAKE3 names the digest column "sha256"
# (and holds bare SHA-256 hex there) until an uploader opens it for writing
_SELECT = "SELECT * FROM uploads"


class Journal:
    def __init__(self, path: str, read_only: bool = False) -> None:
        """``read_only``: for a reader beside the uploader (the status command), which must
        work on a full disk and never change the journal."""
        self.path = path
        self.degraded = ""  # why the journal lives in memory, or ""
        self._lock = threading.Lock()
        if read_only:
            self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
            return
        db = None
        try:
            self._db = db = self._open_file()
        except sqlite3.OperationalError as error:
            self._to_memory(error, db)

    def _open_file(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute(_SCHEMA)
            if "sha256" in (row[1] for row in db.execute("PRAGMA table_info(uploads)")):
                db.execute("ALTER TABLE uploads RENAME COLUMN sha256 TO digest")
        except sqlite3.Error:
            db.close()
            raise
        return db

    def restore(self) -> bool:
        """Back to the file once the disk takes it again (called on each sweep): what memory
        holds is written there in one transaction, and the warning clears. Returns whether
        the journal is on disk now."""
        if not self.degraded:
            return True
        with self._lock:
            try:
                db = self._open_file()
            except sqlite3.Error:
                return False
            try:
                rows = self._db.execute(_SELECT).fetchall()
                with db:
                    db.execute("BEGIN")
                    db.execute("DELETE FROM uploads")
                    db.executemany("INSERT INTO uploads VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            except sqlite3.Error:
                db.close()
                return False
            self._db.close()
            self._db, self.degraded = db, ""
        return True

    def _to_memory(self, error: sqlite3.Error, old: sqlite3.Connection | None) -> None:
        """Carry on in memory with the rows the file still gives (see the module doc)."""
        rows: list = []
        if old is not None:
            try:
                rows = old.execute(_SELECT).fetchall()
            except sqlite3.Error:
                pass  # nothing readable: uploads start at byte 0
            old.close()
        self._db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        self._db.execute(_SCHEMA)
        self._db.executemany("INSERT OR REPLACE INTO uploads VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        self.degraded = (f"upload journal {self.path} cannot be written ({error}); progress is "
                         "kept in memory until the uploader restarts")

    def _write(self, sql: str, values: tuple) -> None:
        with self._lock:
            try:
                self._db.execute(sql, values)
            except sqlite3.OperationalError as error:  # the disk filled up meanwhile
                if self.degraded:
                    raise
                self._to_memory(error, self._db)
                self._db.execute(sql, values)

    def get(self, path: str) -> JournalEntry | None:
        with self._lock:
            row = self._db.execute(f"{_SELECT} WHERE path = ?", (_key(path),)).fetchone()
        return _entry(row) if row else None

    def put(self, entry: JournalEntry) -> None:
        self._write("INSERT OR REPLACE INTO uploads VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (_key(entry.path), entry.size, entry.mtime_ns, entry.digest,
                     entry.upload_url, entry.failures, printable(entry.last_error)))

    def remove(self, path: str) -> None:
        self._write("DELETE FROM uploads WHERE path = ?", (_key(path),))

    def entries(self) -> list[JournalEntry]:
        with self._lock:
            rows = self._db.execute(f"{_SELECT} ORDER BY path").fetchall()
        return [_entry(row) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
