"""Which way a request goes, from the proxy variables of the environment (as curl reads them)."""

from __future__ import annotations

import base64
import http.client

import pytest

from data_manager_ros.sync.http_session import proxy_route


@pytest.fixture(autouse=True)
def no_proxy_variables(monkeypatch):
    for name in ("http_proxy", "https_proxy", "no_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def test_without_a_proxy_the_socket_goes_to_the_server():
    route = proxy_route("https", "ingest.example.com", 443)
    assert (route.host, route.port, route.tunnel, route.absolute_target) == (
        "ingest.example.com", 443, None, False)


def test_https_is_tunnelled_through_the_proxy_with_its_credentials(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://robot%40site:p%3Ass@proxy.site:3128")
    route = proxy_route("https", "ingest.example.com", 443)
    assert (route.host, route.port, route.tunnel) == ("proxy.site", 3128,
                                                      ("ingest.example.com", 443))
    assert route.proxy_authorization == "Basic " + base64.b64encode(b"robot@site:p:ss").decode()


def test_plain_http_names_the_whole_url_to_the_proxy(monkeypatch):
    monkeypatch.setenv("http_proxy", "proxy.site:8080")  # no scheme: http, as curl takes it
    route = proxy_route("http", "10.0.0.5", 1080)
    assert (route.host, route.port, route.tunnel, route.absolute_target) == (
        "proxy.site", 8080, None, True)
    assert proxy_route("https", "10.0.0.5", 1080).tunnel is None  # HTTPS_PROXY unset: direct


def test_no_proxy_lists_servers_reached_directly(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.site:3128")
    monkeypatch.setenv("NO_PROXY", "localhost,.fleet.internal")
    assert proxy_route("https", "ingest.fleet.internal", 443).host == "ingest.fleet.internal"
    assert proxy_route("https", "ingest.example.com", 443).host == "proxy.site"


def test_a_proxy_that_is_not_http_is_refused_by_name(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "socks5://proxy.site:1080")
    with pytest.raises(http.client.InvalidURL, match="socks5://proxy.site:1080.*http://"):
        proxy_route("https", "ingest.example.com", 443)


def test_a_kept_alive_connection_the_server_closed_is_replaced_without_an_error():
    """A real server that keeps a connection alive, then closes it while it is idle (as
    Node.js does after 5 s): the next request without a body goes out on a new connection
    and succeeds; one with a body raises, for its caller to send again (its blocks are
    gone)."""
    import socket
    import threading

    from data_manager_ros.sync.http_session import HttpSession

    listener = socket.create_server(("127.0.0.1", 0))
    connections = []

    def serve() -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            connections.append(client)
            request = b""
            while b"\r\n\r\n" not in request:
                request += client.recv(65536)
            client.sendall(b"HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n")
            client.close()  # the server's idle timeout, at once

    threading.Thread(target=serve, daemon=True).start()
    session = HttpSession(f"http://127.0.0.1:{listener.getsockname()[1]}/", {})
    try:
        assert session.request("HEAD", "/a").status_code == 204
        assert session.request("HEAD", "/b").status_code == 204  # the closed one, replaced
        assert len(connections) == 2
        session.request("HEAD", "/c")
        with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError,
                            BrokenPipeError)):
            session.request("PATCH", "/d", body=[b"x"], length=1)
    finally:
        session.close()
        listener.close()
