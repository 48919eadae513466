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

A journal that is no longer a database (overwritten, truncated, a directory in its place),
found at start or while running, is set aside under a ``.damaged-<time>`` name for a
post-mortem and a new one is started, said once in ``repaired``: it only records progress,
so uploading goes on; the files it held start again from byte 0.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from data_manager_ros.digest import tagged
from data_manager_ros.fsutil import printable, set_aside


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
T = TypeVar("T")


def _is_damage(error: sqlite3.Error) -> bool:
    """Garbage or a truncation, as opposed to a disk that is full or read-only for now."""
    return isinstance(error, sqlite3.DatabaseError) and not isinstance(
        error, sqlite3.OperationalError)


class Journal:
    def __init__(self, path: str, read_only: bool = False) -> None:
        """``read_only``: for a reader beside the uploader (the status command), which must
        work on a full disk and never change the journal."""
        self.path = path
        self.degraded = ""  # why the journal lives in memory, or ""
        self.repaired = ""  # what was set aside, until the owner has said so
        self._lock = threading.Lock()
        self._read_only = read_only
        if read_only:
            self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
            return
        try:
            self._db = self._open_or_replace()
        except sqlite3.OperationalError as error:
            self._to_memory(error, None)

    def _open_file(self) -> sqlite3.Connection:
        if os.path.isdir(self.path):
            raise sqlite3.DatabaseError("a directory is in its place")
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute(_SCHEMA)
            if "sha256" in (row[1] for row in db.execute("PRAGMA table_info(uploads)")):
                db.execute("ALTER TABLE uploads RENAME COLUMN sha256 TO digest")
            check = db.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise sqlite3.DatabaseError(f"quick_check: {check}")
        except sqlite3.Error:
            db.close()
            raise
        return db

    def _open_or_replace(self) -> sqlite3.Connection:
        """The journal file, or a new one where it is damaged (the old one set aside)."""
        try:
            return self._open_file()
        except sqlite3.Error as error:
            if not _is_damage(error):
                raise
            aside = set_aside(self.path, ("", "-wal", "-shm"))
            self.repaired = (f"upload journal {self.path} was damaged ({error}); set aside as "
                             f"{aside} for a post-mortem and a new one started: the uploads it "
                             "held start again from byte 0")
            return self._open_file()

    def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """``work`` on the journal (lock held); a journal damaged while in use is replaced
        and ``work`` done on the new one."""
        try:
            return work(self._db)
        except sqlite3.DatabaseError as error:
            if not _is_damage(error) or self.degraded or self._read_only:
                raise
            self._db.close()
            self._db = self._open_or_replace()
            return work(self._db)

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
                self._run(lambda db: db.execute(sql, values))
            except sqlite3.OperationalError as error:  # the disk filled up meanwhile
                if self.degraded:
                    raise
                self._to_memory(error, self._db)
                self._db.execute(sql, values)

    def get(self, path: str) -> JournalEntry | None:
        with self._lock:
            row = self._run(lambda db: db.execute(f"{_SELECT} WHERE path = ?",
                                                  (_key(path),)).fetchone())
        return _entry(row) if row else None

    def put(self, entry: JournalEntry) -> None:
        self._write("INSERT OR REPLACE INTO uploads VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (_key(entry.path), entry.size, entry.mtime_ns, entry.digest,
                     entry.upload_url, entry.failures, printable(entry.last_error)))

    def remove(self, path: str) -> None:
        self._write("DELETE FROM uploads WHERE path = ?", (_key(path),))

    def entries(self) -> list[JournalEntry]:
        with self._lock:
            rows = self._run(lambda db: db.execute(f"{_SELECT} ORDER BY path").fetchall())
        return [_entry(row) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
