"""Keep-alive HTTP/1.1 connections to the sync server, on the standard library alone.

tus needs six methods on one origin, small answers and one streamed body. ``requests`` did
that for 16.6 MiB of imports (urllib3, charset detection, idna, ssl) in an upload process of
40; ``http.client`` with ``urllib.request``'s proxy lookup takes 8.4 (ssl included). What
requests gave beyond that and a robot needs is kept here:
the proxy its environment names (``HTTPS_PROXY``, ``HTTP_PROXY``, ``NO_PROXY``, read as curl
and requests read them), and TLS checked against the system's CAs, ``REQUESTS_CA_BUNDLE`` or a
given PEM file.
"""

from __future__ import annotations

import base64
import http.client
import os
import ssl
import threading
import time
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import Message
from urllib.parse import unquote, urlsplit

# what a request may fail with before an answer: refused, reset, timed out, TLS, bad status line
TransportError = (OSError, http.client.HTTPException)
# A kept-alive connection idle this long is not reused: servers close idle ones after a few
# seconds (Node.js: 5 s), and a request on one that is closing fails for no fault of anyone.
IDLE_REUSE_S = 4.0
# what a kept-alive connection that the server closed meanwhile fails with
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class _Stale(Exception):
    """A reused connection failed as one the server had closed; ``error`` is how."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


class ProxyFailed(OSError):
    """A request through the environment's proxy failed before an answer: said so, since
    "connection refused" alone reads as the server being down."""


@dataclass
class Response:
    """A whole answer: tus answers are headers and at most a short text."""

    status_code: int
    headers: Message  # case-insensitive ``get``
    text: str


def _ca_file(verify_tls: bool | str) -> str | None:
    if isinstance(verify_tls, str):
        return verify_tls
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or None


@dataclass(frozen=True)
class Route:
    """Where the socket goes: the server itself, or a proxy (tunnelled for https)."""

    host: str
    port: int
    proxy_authorization: str = ""
    absolute_target: bool = False  # plain http through a proxy: the request names the URL
    tunnel: tuple[str, int] | None = None

    @property
    def proxied(self) -> bool:
        return self.absolute_target or self.tunnel is not None


def proxy_route(scheme: str, host: str, port: int) -> Route:
    proxy = urllib.request.getproxies().get(scheme, "")
    if not proxy or urllib.request.proxy_bypass(f"{host}:{port}"):
        return Route(host, port)
    parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    if parts.scheme != "http" or not parts.hostname:
        raise http.client.InvalidURL(
            f"the proxy {proxy!r} (from the {scheme}_proxy environment variable) is not an "
            "http:// proxy URL, the only kind supported")
    authorization = ""
    if parts.username:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(credentials.encode()).decode()
    proxy_port = parts.port or 80
    if scheme == "https":
        return Route(parts.hostname, proxy_port, authorization, tunnel=(host, port))
    return Route(parts.hostname, proxy_port, authorization, absolute_target=True)


class HttpSession:
    """Requests to one origin from any number of upload threads: each request takes an idle
    keep-alive connection or opens one along the route the environment names now, and gives
    it back once its answer is read whole."""

    def __init__(self, base_url: str, headers: dict[str, str], verify_tls: bool | str = True,
                 timeout_s: float = 30.0) -> None:
        parts = urlsplit(base_url)
        self._scheme = parts.scheme.lower()
        if self._scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{base_url!r} is not an http:// or https:// URL")
        self._host = parts.hostname
        self._port = parts.port or (443 if self._scheme == "https" else 80)
        self._headers = headers
        self._verify_tls = verify_tls
        self._timeout = timeout_s
        self._lock = threading.Lock()
        # (connection, its route, when it went idle)
        self._idle: list[tuple[http.client.HTTPConnection, Route, float]] = []
        self._closed = False

    def _connect(self, reuse: bool = True) -> tuple[http.client.HTTPConnection, Route, bool]:
        """A connection (an idle one where ``reuse`` and one is fresh enough), its route, and
        whether it was reused."""
        stale, kept = [], None
        with self._lock:
            while reuse and self._idle and kept is None:
                idle, idle_route, since = self._idle.pop()
                if time.monotonic() - since < IDLE_REUSE_S:
                    kept = (idle, idle_route, True)
                else:
                    stale.append(idle)
        for old in stale:
            old.close()
        if kept is not None:
            return kept
        route = proxy_route(self._scheme, self._host, self._port)
        if self._scheme == "https":
            context = ssl.create_default_context(cafile=_ca_file(self._verify_tls))
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                route.host, route.port, timeout=self._timeout, context=context)
        else:
            connection = http.client.HTTPConnection(route.host, route.port,
                                                    timeout=self._timeout)
        if route.tunnel:
            connection.set_tunnel(*route.tunnel, headers=(
                {"Proxy-Authorization": route.proxy_authorization}
                if route.proxy_authorization else None))
        return connection, route, False

    def request(self, method: str, url: str, headers: dict[str, str] | None = None,
                body: Iterable[bytes | memoryview] | None = None, length: int = 0) -> Response:
        """Send ``length`` bytes of ``body`` (its blocks as they come) and read the whole
        answer. A transport failure (one of ``TransportError``) closes that connection and is
        raised as it came, or as ``ProxyFailed`` naming the proxy it went through. A request
        without a body that fails on a reused connection the server had closed is sent once
        more on a new one: that is the pool's business, not a fault to report."""
        try:
            return self._send(method, url, headers, body, length, reuse=True)
        except _Stale as stale:
            if body is not None:  # its blocks are gone: the caller sends it again
                raise stale.error from None
            return self._send(method, url, headers, body, length, reuse=False)

    def _send(self, method: str, url: str, headers: dict[str, str] | None,
              body: Iterable[bytes | memoryview] | None, length: int, reuse: bool) -> Response:
        connection, route, reused = self._connect(reuse)
        parts = urlsplit(url)
        target = url if route.absolute_target else (parts.path or "/") + (
            f"?{parts.query}" if parts.query else "")
        try:
            connection.putrequest(method, target, skip_accept_encoding=True)
            fields = {**self._headers, **(headers or {})}
            if route.absolute_target and route.proxy_authorization:
                fields["Proxy-Authorization"] = route.proxy_authorization
            if body is not None or method in ("POST", "PATCH", "PUT"):
                fields["Content-Length"] = str(length)
            for name, value in fields.items():
                connection.putheader(name, value)
            connection.endheaders()
            for block in body or ():
                connection.send(block)
            answer = connection.getresponse()
            text = answer.read().decode("utf-8", "replace")
        except BaseException as error:  # a failure, or the upload stopping mid-body: never reused
            connection.close()
            if reused and isinstance(error, _STALE):
                raise _Stale(error) from error
            if route.proxied and isinstance(error, TransportError):
                raise ProxyFailed(f"through the proxy {route.host}:{route.port} (from "
                                  f"{self._scheme}_proxy): {type(error).__name__}: "
                                  f"{error}") from error
            raise
        with self._lock:  # after an error answer, start again: the route may have changed
            keep = answer.status < 400 and not (answer.will_close or self._closed)
            if keep:
                self._idle.append((connection, route, time.monotonic()))
        if not keep:
            connection.close()
        return Response(answer.status, answer.headers, text)

    def close(self) -> None:
        """Close the idle connections; one still in use closes when its request ends."""
        with self._lock:
            idle, self._idle, self._closed = self._idle, [], True
        for connection, _, _ in idle:
            connection.close()
