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
