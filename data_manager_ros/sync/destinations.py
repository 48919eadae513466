"""Where files go: a tus 1.0 endpoint, or a directory (first run without a server).

Both resume where the last attempt stopped, and both confirm every byte before
``upload`` returns, because the caller deletes the local file right after.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from typing import Protocol
from urllib.parse import urlparse

from data_manager_ros import digest
from data_manager_ros.fsutil import fsync_dir
from data_manager_ros.layout import PART_SUFFIX
from data_manager_ros.sync.bandwidth import BandwidthLimit
from data_manager_ros.sync.errors import ConnectionFailed, RetryableError, UploadGone
from data_manager_ros.sync.journal import JournalEntry
from data_manager_ros.sync.tus_client import TusClient, origin

_BLOCK = 1 << 20


class Destination(Protocol):
    def upload(self, path: str, entry: JournalEntry, remote_path: str, metadata: dict[str, str],
               save: Callable[[JournalEntry], None], on_read: Callable[[int], None],
               on_offset: Callable[[int], None]) -> None:
        """Send ``path`` completely; raise errors.* to say what to do otherwise. ``on_offset``
        hears every offset the far side confirmed (how the uploader tells progress)."""

    def discard(self, upload_url: str) -> bool:
        """Remove an upload that a new one replaces (the file changed, or the far side
        refused its checksum); False where the far side cannot, and it is only marked."""

    def close(self) -> None: ...


class TusDestination:
    def __init__(self, endpoint: str, headers: dict[str, str],
                 limit: BandwidthLimit | None = None, ca_bundle: str = "") -> None:
        """``limit``: one for all workers (who share this object), changed live by its owner;
        ``ca_bundle``: a PEM file of CAs to trust instead of the system's (a private CA)."""
        self._client = TusClient(endpoint, headers, verify_tls=ca_bundle or True)
        self._limit = limit or BandwidthLimit(0)

    def upload(self, path: str, entry: JournalEntry, remote_path: str, metadata: dict[str, str],
               save: Callable[[JournalEntry], None], on_read: Callable[[int], None],
               on_offset: Callable[[int], None]) -> None:
        offset = self._stored_offset(entry)
        if offset is not None and offset > entry.size:  # not this file's: replaced, removed
            raise UploadGone(f"the server holds {offset} bytes of {entry.upload_url}, more "
                             f"than the file's {entry.size}; a new upload replaces it")
        if offset is None:
            entry.upload_url = self._client.create(entry.size, metadata)
            save(entry)  # durable before any byte goes out, so a restart resumes this upload
            offset = 0
        on_offset(offset)
        with open(path, "rb") as handle:
            while offset < entry.size:
                offset = self._client.send(entry.upload_url, handle, offset, entry.size,
                                           on_read, self._limit)
                on_offset(offset)
        if entry.size == 0 and self._client.offset(entry.upload_url) != 0:
            raise RetryableError("empty upload not confirmed by the server")

    def discard(self, upload_url: str) -> bool:
        return self._client.terminate(upload_url)

    def _stored_offset(self, entry: JournalEntry) -> int | None:
        """The server's offset of the upload the journal remembers, or None to start anew:
        when there is none, or when it belongs to another endpoint (sync_url changed: the API
        key goes to sync_url's origin only). When its URL gets no answer while the endpoint
        does (a Location that pointed somewhere dead), the upload is gone: the uploader
        discards it and starts anew, and says why."""
        url = entry.upload_url
        try:
            same_origin = bool(url) and origin(url) == origin(self._client.endpoint)
        except ValueError:
            same_origin = False
        if not same_origin:
            return None
        try:
            return self._client.offset(url)
        except ConnectionFailed as error:
            if self._client.answers():
                raise UploadGone(f"{error}; the endpoint answers, so the upload is started "
                                 "anew") from None
            raise

    def close(self) -> None:
        self._client.close()


class DirectoryDestination:
    """Copies into ``<dir>/<remote path>`` via a ``.part`` file, resuming it after a crash."""

    def __init__(self, url: str) -> None:
        self.root = os.path.abspath(os.path.expanduser(urlparse(url).netloc + urlparse(url).path))

    def upload(self, path: str, entry: JournalEntry, remote_path: str, metadata: dict[str, str],
               save: Callable[[JournalEntry], None], on_read: Callable[[int], None],
               on_offset: Callable[[int], None]) -> None:
        target = os.path.join(self.root, remote_path)
        part = target + PART_SUFFIX
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if entry.upload_url != part or not os.path.exists(part):
            entry.upload_url = part
            save(entry)
            open(part, "wb").close()
        offset = os.path.getsize(part)
        if offset > entry.size:
            raise UploadGone(f"{part} is larger than the source")
        on_offset(offset)
        with open(path, "rb") as source, open(part, "r+b") as out:
            source.seek(offset)
            out.seek(offset)
            while block := source.read(min(_BLOCK, entry.size - out.tell())):
                out.write(block)
                on_read(len(block))
            out.flush()
            os.fsync(out.fileno())
        if not digest.matches(part, entry.digest):
            os.unlink(part)
            raise UploadGone(f"copy of {path} does not match its digest ({entry.digest})")
        os.replace(part, target)
        fsync_dir(os.path.dirname(target))

    def discard(self, upload_url: str) -> bool:
        """A ``.part`` copy that a new one replaces."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(upload_url)
        return True

    def close(self) -> None:
        pass


def make_destination(url: str, headers: dict[str, str], limit: BandwidthLimit | None = None,
                     ca_bundle: str = "") -> Destination:
    if urlparse(url).scheme == "file":
        return DirectoryDestination(url)
    return TusDestination(url, headers, limit, ca_bundle)
