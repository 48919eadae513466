"""A real TCP proxy between uploader and server: counts bytes, cuts connections."""

from __future__ import annotations

import random
import socket
import threading


class FaultProxy:
    """Forwards 127.0.0.1:<port> to the upstream port (to several in turn, a connection each,
    as a load balancer in front of server instances does).

    ``upstream_bytes`` counts every byte the client sent (headers included), so
    a test can tell how much was sent twice. ``cut_after`` bytes into each of
    the first ``cuts`` connections, both sides are closed mid-request; a
    (low, high) pair cuts each one at a random point in that range.
    """

    def __init__(self, upstream_port: int | tuple[int, ...], cut_after: int | tuple[int, int] = 0,
                 cuts: int = 0, seed: int = 1, flip_at: int = 0) -> None:
        """``flip_at``: the first connection that carries that many bytes to the server has
        the byte there inverted (once): data corrupted in flight, as TCP's checksum can miss."""
        self.upstream_ports = (upstream_port,) if isinstance(upstream_port, int) else upstream_port
        self.flip_at = flip_at
        self.flipped = False
        self.cut_after = cut_after
        self._random = random.Random(seed)
        self.cuts_left = cuts
        self.upstream_bytes = 0
        self.downstream_bytes = 0  # what the server sent back (its answers' bytes, headers too)
        self.connections = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, path: str = "/files/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self._closed = True
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                cut = self._cut_point() if self.cuts_left > 0 else 0
                self.cuts_left -= 1 if cut else 0
            try:
                upstream = socket.create_connection(
                    ("127.0.0.1", self.upstream_ports[self.connections % len(self.upstream_ports)]))
            except OSError:
                client.close()
                continue
            threading.Thread(target=self._pump, args=(client, upstream, cut, True),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, 0, False),
                             daemon=True).start()

    def _cut_point(self) -> int:
        if isinstance(self.cut_after, tuple):
            return self._random.randint(*self.cut_after)
        return self.cut_after

    def _pump(self, source: socket.socket, sink: socket.socket, cut: int, count: bool) -> None:
        forwarded = 0
        try:
            while True:
                data = source.recv(1 << 16)
                if not data:
                    break
                if count and self.flip_at and not self.flipped and \
                        forwarded <= self.flip_at < forwarded + len(data):
                    index = self.flip_at - forwarded
                    data = data[:index] + bytes([data[index] ^ 0xFF]) + data[index + 1:]
                    self.flipped = True
                if cut and forwarded + len(data) >= cut:
                    data = data[: cut - forwarded]
                    sink.sendall(data)
                    self._add(len(data), count)
                    break
                sink.sendall(data)
                forwarded += len(data)
                self._add(len(data), count)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()

    def _add(self, count: int, upstream: bool) -> None:
        with self._lock:
            if upstream:
                self.upstream_bytes += count
            else:
                self.downstream_bytes += count
