"""TimedHTTPTransport: httpx2's sync transport, with every socket operation ending at the
calling thread's deadline (``io_deadline``), and httpx2's errors.

Loopback servers only; no assertion is on timing (a deadline's effect is seen in which
error is raised and in what the server received).
"""

from __future__ import annotations

import functools
import math
import threading
import time

import httpx2
import pytest

from modelslab_transport.http.clients import new_sync_client
from modelslab_transport.http.sharded_pool import default_ssl_context
from modelslab_transport.http.timed_transport import TimedHTTPTransport, io_deadline
from tests.support.fault_server import FaultServer, json_reply, trickle_head
from tests.support.loopback import refused_base_url


def _client() -> httpx2.Client:
    transport = TimedHTTPTransport(httpx2.Limits(max_connections=4), default_ssl_context())
    return httpx2.Client(transport=transport, timeout=30.0)


def test_outside_a_deadline_it_is_an_httpx2_transport() -> None:
    with FaultServer(json_reply({"ok": 1}), json_reply({"ok": 2})) as server, _client() as client:
        first = client.post(server.base_url + "/a", json={"q": 1})
        second = client.post(server.base_url + "/b", content=b"raw")
        assert server.peak_open_connections == 1  # the pool kept the connection alive
    assert (first.status_code, first.json()) == (200, {"ok": 1})
    assert second.json() == {"ok": 2}
    assert [request.path for request in server.requests] == ["/a", "/b"]
    assert server.requests[0].body == b'{"q":1}'
    assert "network_stream" in first.extensions


def test_a_trickled_head_ends_at_the_threads_deadline() -> None:
    with FaultServer(trickle_head({"ok": 1})) as server, _client() as client:
        with io_deadline(time.monotonic() + 0.5), pytest.raises(httpx2.ReadTimeout) as caught:
            client.get(server.base_url)
        assert server.request_count == 1
    assert isinstance(caught.value.__cause__, Exception)  # httpcore2's, kept as the cause
    assert type(caught.value.__cause__).__module__.startswith("httpcore2")


def test_a_passed_deadline_refuses_to_connect() -> None:
    with FaultServer(json_reply({"ok": 1})) as server, _client() as client:
        with io_deadline(time.monotonic() - 1), pytest.raises(httpx2.ConnectTimeout):
            client.get(server.base_url)
        assert server.request_count == 0
        assert client.get(server.base_url).json() == {"ok": 1}  # the deadline ended with it


def test_deadlines_nest_and_restore() -> None:
    with (
        FaultServer(json_reply({"ok": 1}), json_reply({"ok": 2})) as server,
        _client() as client,
        io_deadline(math.inf),
    ):
        with io_deadline(time.monotonic() - 1), pytest.raises(httpx2.ConnectTimeout):
            client.get(server.base_url)
        assert client.get(server.base_url).json() == {"ok": 1}  # the outer: no limit


def test_a_deadline_belongs_to_its_thread() -> None:
    results: list[object] = []
    with (
        FaultServer(json_reply({"ok": 1})) as server,
        _client() as client,
        io_deadline(time.monotonic() - 1),
    ):
        worker = threading.Thread(target=lambda: results.append(client.get(server.base_url).json()))
        worker.start()
        worker.join(30)
    assert results == [{"ok": 1}]


def test_errors_are_httpx2s() -> None:
    with (
        refused_base_url() as base_url,
        _client() as client,
        pytest.raises(httpx2.ConnectError) as caught,
    ):
        client.get(base_url)
    assert type(caught.value) is httpx2.ConnectError
    assert caught.value.request.url == httpx2.URL(base_url)


def test_new_sync_client_sends_through_it_unless_a_proxy_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    with (
        FaultServer(trickle_head({"ok": 1})) as server,
        new_sync_client() as client,
        io_deadline(time.monotonic() + 0.5),
        pytest.raises(httpx2.ReadTimeout),
    ):
        client.get(server.base_url)
    with FaultServer(json_reply({"proxied": True})) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.base_url)
        with new_sync_client() as proxied:  # httpx2's own client: its proxy routing applies
            assert proxied.get("http://modelslab.invalid/v1").json() == {"proxied": True}
        assert [request.path for request in proxy.requests] == ["http://modelslab.invalid/v1"]


def test_a_recorder_that_replaced_httpx2s_transport_sees_every_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As vcrpy records and replays cassettes: it replaces httpx2.HTTPTransport's method.
    seen: list[str] = []
    own = httpx2.HTTPTransport.handle_request

    @functools.wraps(own)
    def recorder(self: httpx2.HTTPTransport, request: httpx2.Request) -> httpx2.Response:
        seen.append(str(request.url))
        return own(self, request)

    with FaultServer(json_reply({"ok": 1}), json_reply({"ok": 2})) as server, _client() as client:
        monkeypatch.setattr(httpx2.HTTPTransport, "handle_request", recorder)
        assert client.get(server.base_url + "/a").json() == {"ok": 1}
        monkeypatch.undo()
        assert client.get(server.base_url + "/b").json() == {"ok": 2}
        assert seen == [server.base_url + "/a"]
