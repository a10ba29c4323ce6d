"""Every way a key reaches a model ends as a ``SecretStr`` that no surface shows.

The ways: the constructor, ``$MODELSLAB_API_KEY``, assignment after construction
(``model.api_key = "sk-..."``), ``model_copy(update={"api_key": ...})``, and a per-call
argument (refused, without quoting it). The surfaces: ``repr``/``str``, ``dumps`` /
``to_dict`` / ``model_dump_json``, the error of a call whose server echoes the key, and
the DEBUG logs. Both classes, sync and async calls, against a loopback server.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from langchain_core.load import dumpd, dumps
from llama_index.core.base.llms.types import ChatMessage
from pydantic import SecretStr

from langchain_modelslab import ChatModelsLab
from llama_index_modelslab import ModelsLabLLM
from modelslab_transport import API_KEY_ENV
from tests.faults.conftest import DEBUG_LOGGERS
from tests.faults.drivers import ALL_DRIVERS, FAKE_KEY, Driver, Outcome, make_model
from tests.faults.leaks import assert_no_key, exception_texts
from tests.support.fault_server import FaultServer, json_reply
from tests.support.replies import completion_body

OTHER_KEY = "sk-other-key-0000000000000000"
WAYS = ("constructor", "environment", "assignment", "model_copy")
PROMPT = [ChatMessage(role="user", content="hi")]
CALLS = [driver for driver in ALL_DRIVERS if not driver.streaming]


def _with_key(framework: str, base_url: str, way: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A model of ``framework`` given :data:`FAKE_KEY` in ``way``."""
    if way == "constructor":
        return make_model(framework, base_url)
    if way == "environment":
        monkeypatch.setenv(API_KEY_ENV, FAKE_KEY)
        cls = ChatModelsLab if framework == "langchain" else ModelsLabLLM
        return cls(model="fault-model", base_url=base_url, max_retries=0)
    model = make_model(framework, base_url, api_key=OTHER_KEY)
    if way == "assignment":
        model.api_key = FAKE_KEY
        return model
    return model.model_copy(update={"api_key": FAKE_KEY})


def _surfaces(model: Any) -> list[str]:
    """What a user can print or serialise from a model."""
    texts = [repr(model), str(model), model.model_dump_json(), repr(model.model_dump())]
    if isinstance(model, ChatModelsLab):
        texts += [dumps(model), json.dumps(dumpd(model)), repr(model.client)]
    else:
        texts += [model.to_json(), json.dumps(model.to_dict(), default=str)]
    return texts


def _call(driver: Driver, model: Any, **kwargs: Any) -> Outcome:
    outcome = Outcome()

    def sync() -> None:
        assert driver.sync_call is not None
        driver.sync_call(model, "hi", outcome, None)

    async def run() -> None:
        assert driver.async_call is not None
        try:
            await driver.async_call(model, "hi", outcome, None)
        finally:
            await model.aclose()

    try:
        if driver.sync_call is not None:
            try:
                sync()
            finally:
                model.close()
        else:
            asyncio.run(run())
    except Exception as exc:
        outcome.error = exc
    return outcome


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("driver", CALLS, ids=repr)
def test_a_key_given_any_way_is_a_secret_no_surface_shows(
    driver: Driver, way: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for name in DEBUG_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    echo = json_reply({"error": {"message": "bad key {auth}"}}, status=401, echo_key=True)
    with FaultServer(json_reply(completion_body("ok")), echo) as server:
        model = _with_key(driver.framework, server.base_url, way, monkeypatch)
        assert isinstance(model.api_key, SecretStr)
        assert model.api_key.get_secret_value() == FAKE_KEY
        assert_no_key(_surfaces(model), f"{driver.name}, key by {way}")

        answered = _call(driver, model)
        assert answered.error is None, repr(answered.error)
        assert answered.text == "ok"
        assert server.requests[0].headers["authorization"] == f"Bearer {FAKE_KEY}"

        refused = _call(driver, model)
        assert refused.error is not None
        assert_no_key(exception_texts(refused.error), f"{driver.name}'s error, key by {way}")
        assert_no_key(_surfaces(model), f"{driver.name} after calls, key by {way}")
    assert_no_key([record.getMessage() for record in caplog.records], "the DEBUG logs")


@pytest.mark.parametrize("framework", ["langchain", "llama_index"])
def test_a_key_assigned_or_constructed_is_a_secret_and_a_wrong_type_is_refused(
    framework: str,
) -> None:
    model = make_model(framework, "https://modelslab.com/api/v7/llm", api_key=OTHER_KEY)
    model.api_key = SecretStr(FAKE_KEY)
    assert model.api_key.get_secret_value() == FAKE_KEY
    model.api_key = None
    assert model.api_key is None
    with pytest.raises(TypeError, match="api_key must be a str or a pydantic SecretStr") as caught:
        model.api_key = 12345
    assert "12345" not in str(caught.value)
    copied = model.model_copy(update={"api_key": FAKE_KEY})
    assert isinstance(copied.api_key, SecretStr)
    assert model.api_key is None  # the original keeps its own
    built = type(model).model_construct(api_key=FAKE_KEY, model="m")  # no validation
    assert isinstance(built.api_key, SecretStr)
    assert_no_key([repr(built), str(built)], "a model_construct()-ed model")


@pytest.mark.parametrize("driver", CALLS, ids=repr)
def test_a_key_passed_per_call_is_refused_without_showing_it(driver: Driver) -> None:
    with FaultServer(json_reply(completion_body("ok"))) as server:
        model = make_model(driver.framework, server.base_url, api_key=OTHER_KEY)
        outcome = Outcome()

        async def run() -> None:
            assert driver.async_call is not None
            if isinstance(model, ChatModelsLab):
                await model.ainvoke("hi", api_key=FAKE_KEY)
            else:
                await model.achat(PROMPT, api_key=FAKE_KEY)

        try:
            if driver.is_async:
                asyncio.run(run())
            elif isinstance(model, ChatModelsLab):
                model.invoke("hi", api_key=FAKE_KEY)
            else:
                model.chat(PROMPT, api_key=FAKE_KEY)
        except Exception as exc:
            outcome.error = exc
        assert outcome.error is not None, "a per-call key must be refused"
        assert_no_key(exception_texts(outcome.error), f"{driver.name}'s refusal")
        assert "api_key" in str(outcome.error)
        assert not server.requests
