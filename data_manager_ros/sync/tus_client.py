"""tus 1.0 client (core, creation, checksum) over one keep-alive connection.

The rest of a file goes in a single streamed PATCH: the reference server keeps
every byte of a PATCH that was cut, so after a drop a HEAD gives the exact
offset and nothing is sent twice. Each PATCH costs the server several ms, so
one large PATCH beats many small ones. Never HEAD an upload while a PATCH to it
is running: the reference server ends that PATCH.

A server with the checksum extension (tusd) checks each PATCH against its
``Upload-Checksum`` and keeps none of its bytes on a mismatch (460). The hash goes
in a header, before the body, so the file then goes in chunks of
``CHECKSUM_CHUNK_BYTES``, each hashed before it is sent: a corrupted chunk is a
retryable failure that costs one chunk (the uploader retries at once after an
attempt that made progress), and a cut one is still resumed from the server's offset.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from email.message import Message
from email.utils import parsedate_to_datetime
from io import BufferedReader
from urllib.parse import urljoin, urlsplit

from data_manager_ros.fsutil import read_blocks
from data_manager_ros.sync.bandwidth import BandwidthLimit
from data_manager_ros.sync.errors import (
    ConnectionFailed,
    ProtocolError,
    RetryableError,
    TerminalError,
    UploadGone,
)
from data_manager_ros.sync.file_slice import FileSlice
from data_manager_ros.sync.http_session import HttpSession, Response, TransportError

TUS_VERSION = "1.0.0"
CHECKSUM_MISMATCH = 460  # tus checksum extension's status; our server-side hook sends it
_RETRYABLE_STATUS = {408, 423, 425, 429, 500, 502, 503, 504}
CHECKSUM_CHUNK_BYTES = 16 << 20  # a few ms of server work per PATCH stay under 3%
CHECKSUM_ALGORITHMS = ("sha256", "sha1", "md5")  # ours, best first, all in hashlib


def encode_metadata(metadata: dict[str, str]) -> str:
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}"
                    for key, value in metadata.items())


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of a URL, the unit the API key is bound to; ValueError if it is
    not a URL at all."""
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port


def _retry_after(response: Response) -> float:
    """Seconds in a ``Retry-After`` header (a number or an HTTP date), 0 if none or bad."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return 0.0
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 0.0
    from datetime import datetime, timezone
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _offset(response: Response, action: str) -> int:
    value = response.headers.get("Upload-Offset", "")
    if not value.isdigit():
        raise ProtocolError(f"{action}: HTTP {response.status_code} without a valid "
                            f"Upload-Offset (got {value[:40]!r}); tus 1.0 requires one")
    return int(value)


def _digest(handle: BufferedReader, start: int, end: int, algorithm: str) -> str:
    """Base64 hash of bytes ``start..end`` of the file, as Upload-Checksum carries it."""
    digest = hashlib.new(algorithm)
    for block in read_blocks(handle, start, end - start):
        digest.update(block)
    return base64.b64encode(digest.digest()).decode()


def _check(response: Response, action: str, ok: tuple[int, ...]) -> None:
    if response.status_code in ok:
        return
    reason = f"{action}: HTTP {response.status_code} {response.text[:200].strip()}"
    if response.status_code in (404, 410, CHECKSUM_MISMATCH):
        raise UploadGone(reason)
    if response.status_code in (401, 403):
        raise RetryableError(f"{reason}: the server refused the API key or what was asked "
                             "with it; check api_key_env / api_key_file and robot_id")
    if response.status_code == 407:  # the environment's proxy, not the server: files stay
        raise RetryableError(f"{action}: HTTP 407: the proxy refused its login; check the "
                             "user:password in HTTP_PROXY / HTTPS_PROXY")
    if response.status_code in _RETRYABLE_STATUS or response.status_code >= 500:
        raise RetryableError(reason, _retry_after(response))
    raise TerminalError(reason)


class TusClient:
    def __init__(self, endpoint: str, headers: dict[str, str] | None = None,
                 verify_tls: bool | str = True, timeout_s: float = 30.0) -> None:
        """``verify_tls``: True (the system's CAs, or ``REQUESTS_CA_BUNDLE``) or a PEM file."""
        self.endpoint = endpoint
        self._session = HttpSession(endpoint, {"Tus-Resumable": TUS_VERSION, **(headers or {})},
                                    verify_tls, timeout_s)
        self._options: Message | None = None  # asked once

    def _request(self, method: str, url: str, action: str, headers: dict[str, str] | None = None,
                 body: FileSlice | None = None) -> Response:
        # a kept-alive connection the server closed is the session's to replace (HttpSession)
        try:
            return self._session.request(method, url, headers, body,
                                         len(body) if body is not None else 0)
        except TransportError as error:
            raise ConnectionFailed(f"{action}: {type(error).__name__}: {error}") from None

    def create(self, size: int, metadata: dict[str, str]) -> str:
        """Start an upload; returns its absolute URL."""
        response = self._request("POST", self.endpoint, "create upload", {
            "Upload-Length": str(size), "Upload-Metadata": encode_metadata(metadata)})
        _check(response, "create upload", (201,))
        location = response.headers.get("Location")
        if not location:
            raise ProtocolError("create upload: server sent no Location")
        try:
            url = urljoin(self.endpoint, location)
            same = origin(url) == origin(self.endpoint)
        except ValueError:
            raise ProtocolError(f"create upload: Location {location[:100]!r} is not a "
                                "URL") from None
        if not same:  # the API key and the bytes go to the origin of sync_url only
            raise ProtocolError(f"create upload: Location {location[:100]!r} is on another "
                                f"origin than sync_url {self.endpoint!r}; refused")
        return url

    def answers(self) -> bool:
        """Whether the endpoint gives any HTTP answer (a tus server answers OPTIONS)."""
        try:
            self._request("OPTIONS", self.endpoint, "probe endpoint")
        except ConnectionFailed:
            return False
        return True

    def _server_options(self) -> Message:
        """The server's OPTIONS headers, asked once per destination."""
        if self._options is None:
            response = self._request("OPTIONS", self.endpoint, "ask extensions")
            # kept only once the server answered: a 5xx must not read as "no extensions"
            _check(response, "ask extensions", (200, 204))
            self._options = response.headers
        return self._options

    def extensions(self) -> set[str]:
        listed = self._server_options().get("Tus-Extension", "").split(",")
        return {name.strip() for name in listed if name.strip()}

    def checksum_algorithm(self) -> str:
        """The hash the server checks per PATCH (tus checksum extension), "" if none."""
        if "checksum" not in self.extensions():
            return ""
        offered = {a.strip().lower()
                   for a in self._server_options().get("Tus-Checksum-Algorithm", "").split(",")}
        return next((a for a in CHECKSUM_ALGORITHMS if a in offered), "")

    def terminate(self, url: str) -> bool:
        """Delete an upload the server keeps (tus termination extension); False where the
        server does not offer it. An upload it no longer knows counts as deleted."""
        if "termination" not in self.extensions():
            return False
        response = self._request("DELETE", url, "terminate upload")
        if response.status_code not in (204, 404, 410):
            _check(response, "terminate upload", (204,))
        return True

    def offset(self, url: str) -> int:
        response = self._request("HEAD", url, "ask offset", {"Cache-Control": "no-store"})
        _check(response, "ask offset", (200, 204))
        return _offset(response, "ask offset")

    def send(self, url: str, handle: BufferedReader, offset: int, size: int,
             on_read: Callable[[int], None], limit: BandwidthLimit) -> int:
        """PATCH bytes from ``offset``: to ``size``, or one checksummed chunk; returns the
        offset the server confirmed."""
        algorithm = self.checksum_algorithm()
        end = min(size, offset + CHECKSUM_CHUNK_BYTES) if algorithm else size
        headers = {"Content-Type": "application/offset+octet-stream",
                   "Upload-Offset": str(offset)}
        if algorithm:
            headers["Upload-Checksum"] = f"{algorithm} {_digest(handle, offset, end, algorithm)}"
        body = FileSlice(handle, offset, end - offset, on_read, limit)
        response = self._request("PATCH", url, "send bytes", headers, body)
        if response.status_code == 409:
            raise RetryableError("send bytes: offset conflict (HTTP 409); asking again")
        if algorithm and response.status_code == CHECKSUM_MISMATCH \
                and self.offset(url) == offset:  # else the bytes were kept: the file was refused
            raise RetryableError(f"send bytes: the server's {algorithm} of bytes {offset}..{end} "
                                f"differs from ours (HTTP 460 {response.text[:100].strip()})")
        _check(response, "send bytes", (204,))
        confirmed = _offset(response, "send bytes")
        if confirmed <= offset < size or confirmed > size:
            raise ProtocolError(f"send bytes: the server confirmed offset {confirmed} after a "
                                f"PATCH from {offset} of {size}")
        return confirmed

    def close(self) -> None:
        self._session.close()
