"""A tiny HTTP server that answers what a test tells it: the malformed or unusual answers a
real tus server never gives, but a broken server or a proxy in between does.

Why a stub where the suite uses real servers: @tus/server cannot be made to send these
answers (a Location on another origin, a HEAD without Upload-Offset, a 503 with a
Retry-After of the test's choosing, a PATCH that is never answered), so the real answer a
broken peer gives is sent from a real socket, over real HTTP, by this server. Everything a
sound tus server does is tested against @tus/server itself."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable

Answer = tuple[int, dict[str, str]]


class StubServer:
    """``answer(method, path) -> (status, headers)``; every request is recorded."""

    def __init__(self, answer: Callable[[str, str], Answer]) -> None:
        self.requests: list[tuple[str, str]] = []
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _reply(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                stub.requests.append((self.command, self.path))
                status, headers = answer(self.command, self.path)
                self.send_response(status)
                for key, value in {"Content-Length": "0", **headers}.items():
                    self.send_header(key, value)
                self.end_headers()

            do_POST = do_HEAD = do_PATCH = do_OPTIONS = _reply  # noqa: N815 - http.server

            def log_message(self, *args) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}/files/"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def count(self, method: str) -> int:
        return sum(1 for m, _ in self.requests if m == method)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
