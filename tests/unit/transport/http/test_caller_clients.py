"""A caller's own httpx2 clients: checked by type, shared by copies, never pickled."""

from __future__ import annotations

import copy
import pickle
from typing import Any, ClassVar

import httpx2
import pytest
from pydantic import BaseModel, ConfigDict

from modelslab_transport.http.caller_clients import (
    CallerClients,
    check_http_client,
    refuse_pickling_injected,
    share_injected,
)


class Owner(CallerClients, BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    caller_client_fields: ClassVar[tuple[str, ...]] = ("http_client", "http_async_client")

    http_client: Any = None
    http_async_client: Any = None
    name: str = "m"


def test_the_right_clients_and_none_pass() -> None:
    check_http_client(None, is_async=False, name="http_client")
    check_http_client(httpx2.Client(), is_async=False, name="http_client")
    check_http_client(httpx2.AsyncClient(), is_async=True, name="http_async_client")


def test_a_client_of_the_wrong_kind_is_named() -> None:
    with pytest.raises(TypeError, match="http_async_client must be") as caught:
        check_http_client(httpx2.Client(), is_async=True, name="http_async_client")
    assert str(caught.value) == (
        "http_async_client must be an httpx2.AsyncClient (or None to let the client build its "
        f"own), got {httpx2.Client.__module__}.Client (a sync client where an async one is "
        "needed, or the reverse)"
    )
    with pytest.raises(TypeError, match=r"must be an httpx2\.Client .* got builtins\.str$"):
        check_http_client("client", is_async=False, name="http_client")


def test_an_httpx_client_is_told_to_use_httpx2() -> None:
    httpx = pytest.importorskip("httpx")
    with pytest.raises(
        TypeError, match=r"this transport sends through httpx2: build an httpx2\.Client"
    ):
        check_http_client(httpx.Client(), is_async=False, name="http_client")


def test_pickling_is_refused_naming_the_clients_given() -> None:
    refuse_pickling_injected(Owner(), {"http_client": None})
    with pytest.raises(TypeError) as caught:
        refuse_pickling_injected(Owner(), {"http_client": 1, "http_async_client": 2})
    assert str(caught.value) == (
        "a Owner with http_client and http_async_client given cannot be pickled (httpx2 clients "
        "hold locks and sockets): pickle one without them and pass the client again after loading"
    )
    with pytest.raises(TypeError, match="pickle one without it and"):
        pickle.dumps(Owner(http_client=httpx2.Client()))
    assert pickle.loads(pickle.dumps(Owner(name="x"))).name == "x"


def test_copies_share_the_callers_clients() -> None:
    client = httpx2.Client()
    memo = share_injected({}, {"a": client, "b": None})
    assert memo == {id(client): client}
    owner = Owner(http_client=client, name="n")
    copied = copy.deepcopy(owner)
    assert copied.http_client is client
    assert copied is not owner


def test_the_mixin_checks_sync_then_async_fields() -> None:
    Owner()._check_caller_clients()
    Owner(
        http_client=httpx2.Client(), http_async_client=httpx2.AsyncClient()
    )._check_caller_clients()
    with pytest.raises(TypeError, match=r"http_async_client must be an httpx2\.AsyncClient"):
        Owner(http_async_client=httpx2.Client())._check_caller_clients()
