"""Request fields nested past the send limit (100 levels), beyond the history.

At 150 levels, ``extra_body`` gets the typed ``LocalRequestError`` naming the field, on
both protocols (tested here as the baseline). At 600 levels ChatModelsLab never reaches
that check: LangChain serialises the model for its callbacks first and raises a bare
``RecursionError``. Checking the limit when the model is built (or before LangChain
serialises it) would give the same typed error at every depth.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from modelslab_transport.errors import LocalRequestError
from tests.support.clients import chat_model
from tests.support.mock_api import ScriptedServer
from tests.support.truncation import APIS, FINISHED, text_reply


def _nested(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = {"a": value}
    return value


def _ask(api: str, levels: int) -> ScriptedServer:
    server = ScriptedServer([text_reply(api, stream=False, pieces=("ok",), reason=FINISHED[api])])
    chat_model(server, api=api, extra_body={"x": _nested(levels)}).invoke([HumanMessage("hi")])
    return server


@pytest.mark.parametrize("api", APIS)
def test_extra_body_past_the_limit_is_refused_naming_the_field(api: str) -> None:
    with pytest.raises(LocalRequestError, match="the request field 'x'"):
        _ask(api, 150)


@pytest.mark.xfail(
    sys.version_info < (3, 12),
    strict=True,
    reason="LangChain's callback serialisation recurses first (Python 3.11's recursion limit)",
)
@pytest.mark.parametrize("api", APIS)
def test_extra_body_far_past_the_limit_is_refused_the_same_way(api: str) -> None:
    with pytest.raises(LocalRequestError, match="the request field 'x'"):
        _ask(api, 600)
