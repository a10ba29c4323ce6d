"""ChatModelsLab: any LangChain history goes out in a form each protocol accepts.

Each test sends a history through ``invoke`` on a mock transport and asserts the exact
body sent over ``api="chat_completions"`` and ``api="messages"``.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx2
import pytest
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages import ChatMessage as LangChainChatMessage
from langchain_core.tools import tool

from langchain_modelslab import ChatModelsLab
from modelslab_transport import BadRequestError
from modelslab_transport.protocols.history import ToolPairingError, UnsupportedContentError
from tests.support.clients import chat_model
from tests.support.mock_api import ScriptedServer
from tests.support.replies import completion_body, json_response, text_stream

PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQ"
    "AAAABJRU5ErkJggg=="
)
PDF = base64.b64encode(b"%PDF-1.4 tiny").decode()
KIMI_ID = "functions.get_weather:0"
KIMI_ID_ON_MESSAGES = "functions_get_weather_0_79ac1aaab216b228"
EPHEMERAL = {"type": "ephemeral"}


def _reply(api: str) -> httpx2.Response:
    if api == "chat_completions":
        return json_response(completion_body("ok"))
    return json_response(
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "content": [{"type": "text", "text": "ok"}],
            "model": "m",
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 3, "output_tokens": 1},
        }
    )


def _model(api: str, server: ScriptedServer) -> ChatModelsLab:
    return chat_model(server, model="m", api=api)


def sent(api: str, history: list[BaseMessage], tools: list[Any] | None = None) -> Any:
    """The body ``invoke(history)`` sends over ``api``."""
    server = ScriptedServer([_reply(api)])
    model: Any = _model(api, server)
    if tools:
        model = model.bind_tools(tools)
    model.invoke(history)
    return server.last_body


def chat_body(*messages: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"model": "m", "messages": list(messages), "max_tokens": 4096, **fields}


def messages_body(*turns: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"model": "m", "max_tokens": 4096, "messages": list(turns), **fields}


def text(value: str, **fields: Any) -> dict[str, Any]:
    return {"type": "text", "text": value, **fields}


def user(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"role": "user", "content": list(blocks)}


def assistant(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"role": "assistant", "content": list(blocks)}


def call(call_id: str, name: str = "get_weather", **args: Any) -> dict[str, Any]:
    return {"name": name, "args": args, "id": call_id, "type": "tool_call"}


# ------------------------------------------------------------------ empty text


BLANK_HISTORY: list[BaseMessage] = [
    SystemMessage("be brief"),
    SystemMessage("  \n"),
    HumanMessage("hi"),
    AIMessage("\n\n"),
    HumanMessage("again"),
    AIMessage(""),
    HumanMessage([{"type": "text", "text": ""}, {"type": "text", "text": " \t"}]),
    AIMessage([{"type": "text", "text": "\n"}]),
    HumanMessage([{"type": "text", "text": " "}, {"type": "text", "text": "last"}]),
]


def test_blank_turns_are_dropped_on_chat_completions() -> None:
    assert sent("chat_completions", BLANK_HISTORY) == chat_body(
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
        {"role": "user", "content": "again"},
        {"role": "user", "content": " last"},
    )


def test_blank_turns_are_dropped_and_the_rest_merged_on_messages() -> None:
    assert sent("messages", BLANK_HISTORY) == messages_body(
        user(text("hi"), text("again"), text(" last")), system="be brief"
    )


TOOL_LOOP_WITH_BLANKS: list[BaseMessage] = [
    HumanMessage("weather?"),
    AIMessage("  ", tool_calls=[call("toolu_1", city="Oslo")]),
    ToolMessage("", tool_call_id="toolu_1"),
    AIMessage([{"type": "text", "text": " "}], tool_calls=[call("toolu_2", city="Rome")]),
    ToolMessage([{"type": "text", "text": "\n"}], tool_call_id="toolu_2"),
]


def test_turns_with_tool_calls_or_results_are_kept_without_their_blank_text() -> None:
    assert sent("chat_completions", TOOL_LOOP_WITH_BLANKS) == chat_body(
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "toolu_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
                }
            ],
        },
        {"role": "tool", "content": "", "tool_call_id": "toolu_1"},
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "toolu_2",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'},
                }
            ],
        },
        {"role": "tool", "content": "", "tool_call_id": "toolu_2"},
    )
    assert sent("messages", TOOL_LOOP_WITH_BLANKS) == messages_body(
        user(text("weather?")),
        assistant(
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}}
        ),
        user({"type": "tool_result", "tool_use_id": "toolu_1"}),
        assistant(
            {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"city": "Rome"}}
        ),
        user({"type": "tool_result", "tool_use_id": "toolu_2"}),
    )


def test_a_final_assistant_turn_loses_trailing_whitespace_on_messages() -> None:
    history = [HumanMessage("start with a haiku"), AIMessage("Autumn moon \n")]
    assert sent("messages", history) == messages_body(
        user(text("start with a haiku")), assistant(text("Autumn moon"))
    )


def test_a_history_of_blank_messages_only_is_refused_before_sending() -> None:
    for api in ("chat_completions", "messages"):
        server = ScriptedServer([_reply(api)])
        with pytest.raises(ValueError, match="nothing to send"):
            _model(api, server).invoke([HumanMessage(" "), AIMessage("")])
        assert server.requests == []


# ------------------------------------------------------------------ same-role runs


def test_consecutive_turns_of_one_role_are_merged_on_messages_only() -> None:
    history = [
        HumanMessage("a"),
        HumanMessage("b"),
        AIMessage("c"),
        AIMessage("d"),
        HumanMessage("e"),
    ]
    assert sent("chat_completions", history) == chat_body(
        {"role": "user", "content": "a"},
        {"role": "user", "content": "b"},
        {"role": "assistant", "content": "c"},
        {"role": "assistant", "content": "d"},
        {"role": "user", "content": "e"},
    )
    assert sent("messages", history) == messages_body(
        user(text("a"), text("b")), assistant(text("c"), text("d")), user(text("e"))
    )


def test_tool_results_open_the_merged_user_turn_on_messages() -> None:
    history = [
        HumanMessage("weather?"),
        AIMessage("", tool_calls=[call("toolu_1", city="Oslo")]),
        ToolMessage("sunny", tool_call_id="toolu_1"),
        HumanMessage("and tomorrow?"),
    ]
    assert sent("messages", history)["messages"][-1] == user(
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
        text("and tomorrow?"),
    )


# ------------------------------------------------------------------ foreign tool-call ids


FOREIGN_IDS: list[BaseMessage] = [
    HumanMessage("weather in Oslo and Rome?"),
    AIMessage(
        "",
        tool_calls=[call(KIMI_ID, city="Oslo"), call("toolu_01A", city="Rome")],
    ),
    ToolMessage("sunny", tool_call_id=KIMI_ID),
    ToolMessage("rain", tool_call_id="toolu_01A"),
]


def test_foreign_tool_call_ids_are_mapped_on_messages() -> None:
    expected = messages_body(
        user(text("weather in Oslo and Rome?")),
        assistant(
            {
                "type": "tool_use",
                "id": KIMI_ID_ON_MESSAGES,
                "name": "get_weather",
                "input": {"city": "Oslo"},
            },
            {
                "type": "tool_use",
                "id": "toolu_01A",
                "name": "get_weather",
                "input": {"city": "Rome"},
            },
        ),
        user(
            {"type": "tool_result", "tool_use_id": KIMI_ID_ON_MESSAGES, "content": "sunny"},
            {"type": "tool_result", "tool_use_id": "toolu_01A", "content": "rain"},
        ),
    )
    assert sent("messages", FOREIGN_IDS) == expected
    assert sent("messages", FOREIGN_IDS) == expected  # the same id in every request


def test_tool_call_ids_go_unchanged_on_chat_completions() -> None:
    body = sent("chat_completions", FOREIGN_IDS)
    assert [c["id"] for c in body["messages"][1]["tool_calls"]] == [KIMI_ID, "toolu_01A"]
    assert body["messages"][2] == {"role": "tool", "content": "sunny", "tool_call_id": KIMI_ID}


# ------------------------------------------------------------------ late system messages


LATE_SYSTEM: list[BaseMessage] = [
    SystemMessage("be brief"),
    HumanMessage("hi"),
    AIMessage("hello"),
    SystemMessage("answer in French from now on"),
    HumanMessage("how are you?"),
    SystemMessage("stop and sum up"),
]


def test_late_system_messages_join_the_leading_system_prompt_on_both_protocols() -> None:
    prompt = "be brief\n\nanswer in French from now on\n\nstop and sum up"
    assert sent("chat_completions", LATE_SYSTEM) == chat_body(
        {"role": "system", "content": prompt},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "how are you?"},
    )
    assert sent("messages", LATE_SYSTEM) == messages_body(
        user(text("hi")), assistant(text("hello")), user(text("how are you?")), system=prompt
    )


# ------------------------------------------------------------------ images and documents


IMAGE_TOOL_RESULT: list[BaseMessage] = [
    HumanMessage("take a screenshot"),
    AIMessage("", tool_calls=[call("toolu_1", name="screenshot")]),
    ToolMessage(
        [
            {"type": "image", "base64": PNG, "mime_type": "image/png"},
            {"type": "text", "text": "the login page"},
        ],
        tool_call_id="toolu_1",
    ),
]


def test_an_image_in_a_tool_result_is_sent_on_messages() -> None:
    assert sent("messages", IMAGE_TOOL_RESULT)["messages"][-1] == user(
        {
            "type": "tool_result",
            "tool_use_id": "toolu_1",
            "content": [
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": PNG},
                },
                text("the login page"),
            ],
        }
    )


def test_an_image_in_a_tool_result_is_refused_on_chat_completions() -> None:
    server = ScriptedServer([_reply("chat_completions")])
    with pytest.raises(UnsupportedContentError) as caught:
        _model("chat_completions", server).invoke(IMAGE_TOOL_RESULT)
    assert (caught.value.part, caught.value.role, caught.value.api) == (
        "image",
        "tool",
        "chat_completions",
    )
    assert "api='chat_completions' has no form for a image in a tool result" in str(caught.value)
    assert server.requests == []


@pytest.mark.parametrize(
    "block",
    [
        {"type": "file", "base64": PDF, "mime_type": "application/pdf", "filename": "a.pdf"},
        {
            "type": "file",
            "source_type": "base64",
            "data": PDF,
            "mime_type": "application/pdf",
            "metadata": {"filename": "a.pdf"},
        },
        {
            "type": "file",
            "file": {"filename": "a.pdf", "file_data": f"data:application/pdf;base64,{PDF}"},
        },
        {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": PDF},
            "title": "a.pdf",
        },
    ],
    ids=["v1", "v0", "openai", "anthropic"],
)
def test_a_pdf_is_a_file_part_and_a_document_block(block: dict[str, Any]) -> None:
    history = [HumanMessage([{"type": "text", "text": "summarise"}, block])]
    assert sent("chat_completions", history) == chat_body(
        {
            "role": "user",
            "content": [
                text("summarise"),
                {
                    "type": "file",
                    "file": {
                        "filename": "a.pdf",
                        "file_data": f"data:application/pdf;base64,{PDF}",
                    },
                },
            ],
        }
    )
    assert sent("messages", history) == messages_body(
        user(
            text("summarise"),
            {
                "type": "document",
                "source": {"type": "base64", "media_type": "application/pdf", "data": PDF},
                "title": "a.pdf",
            },
        )
    )


def test_plain_text_and_url_documents_on_messages() -> None:
    history = [
        HumanMessage(
            [
                {"type": "text-plain", "text": "the notes", "mime_type": "text/plain"},
                {"type": "file", "url": "https://example.com/a.pdf"},
                {"type": "file", "file_id": "file-1"},
            ]
        )
    ]
    assert sent("messages", history) == messages_body(
        user(
            {
                "type": "document",
                "source": {"type": "text", "media_type": "text/plain", "data": "the notes"},
            },
            {"type": "document", "source": {"type": "url", "url": "https://example.com/a.pdf"}},
            {"type": "document", "source": {"type": "file", "file_id": "file-1"}},
        )
    )


def test_a_document_in_a_tool_result_on_messages() -> None:
    history = [
        HumanMessage("fetch it"),
        AIMessage("", tool_calls=[call("toolu_1", name="fetch")]),
        ToolMessage(
            [{"type": "file", "base64": PDF, "mime_type": "application/pdf"}],
            tool_call_id="toolu_1",
        ),
    ]
    assert sent("messages", history)["messages"][-1] == user(
        {
            "type": "tool_result",
            "tool_use_id": "toolu_1",
            "content": [
                {
                    "type": "document",
                    "source": {"type": "base64", "media_type": "application/pdf", "data": PDF},
                }
            ],
        }
    )


def test_what_a_protocol_has_no_form_for_is_refused_naming_part_and_protocol() -> None:
    cases = [
        (
            "chat_completions",
            [HumanMessage([{"type": "file", "url": "https://e.com/a.pdf"}])],
            "file given by URL",
            "user",
        ),
        (
            "chat_completions",
            [SystemMessage([{"type": "image", "url": "https://e.com/a.png"}]), HumanMessage("hi")],
            "image",
            "system",
        ),
        (
            "messages",
            [HumanMessage("hi"), AIMessage([{"type": "image", "url": "https://e.com/a.png"}])],
            "image",
            "assistant",
        ),
        (
            "messages",
            [HumanMessage([{"type": "file", "base64": PDF, "mime_type": "application/zip"}])],
            "application/zip file",
            "user",
        ),
    ]
    for api, history, part, role in cases:
        server = ScriptedServer([_reply(api)])
        with pytest.raises(UnsupportedContentError) as caught:
            _model(api, server).invoke(history)
        assert (caught.value.part, caught.value.role, caught.value.api) == (part, role, api)
        assert server.requests == []


def test_a_server_that_refuses_a_document_is_reported_with_its_own_message() -> None:
    refusal = json_response(
        {
            "error": {
                "message": "this model does not read PDF files",
                "type": "invalid_request_error",
            }
        },
        status=400,
    )
    server = ScriptedServer([refusal])
    history = [HumanMessage([{"type": "file", "base64": PDF, "mime_type": "application/pdf"}])]
    with pytest.raises(BadRequestError, match="this model does not read PDF files"):
        _model("chat_completions", server).invoke(history)
    assert len(server.requests) == 1


# ------------------------------------------------------------------ prompt caching


CACHED: list[BaseMessage] = [
    SystemMessage(
        [
            {"type": "text", "text": "You are a careful assistant."},
            {"type": "text", "text": "<the long manual>", "cache_control": EPHEMERAL},
        ]
    ),
    HumanMessage(
        [
            {
                "type": "text",
                "text": "<a long document>",
                "cache_control": {"type": "ephemeral", "ttl": "1h"},
            },
            {"type": "text", "text": "question?"},
        ]
    ),
]
CACHED_TOOL = {
    "name": "lookup",
    "description": "Look a word up.",
    "input_schema": {"type": "object", "properties": {"word": {"type": "string"}}},
    "cache_control": EPHEMERAL,
}


def test_cache_control_is_carried_on_messages() -> None:
    assert sent("messages", CACHED, tools=[CACHED_TOOL]) == messages_body(
        user(
            text("<a long document>", cache_control={"type": "ephemeral", "ttl": "1h"}),
            text("question?"),
        ),
        system=[
            text("You are a careful assistant."),
            text("<the long manual>", cache_control=EPHEMERAL),
        ],
        tools=[
            {
                "name": "lookup",
                "description": "Look a word up.",
                "input_schema": {"type": "object", "properties": {"word": {"type": "string"}}},
                "cache_control": EPHEMERAL,
            }
        ],
    )


def test_cache_control_is_not_sent_on_chat_completions() -> None:
    assert sent("chat_completions", CACHED, tools=[CACHED_TOOL]) == chat_body(
        {"role": "system", "content": "You are a careful assistant.<the long manual>"},
        {"role": "user", "content": "<a long document>question?"},
        tools=[
            {
                "type": "function",
                "function": {
                    "name": "lookup",
                    "description": "Look a word up.",
                    "parameters": {"type": "object", "properties": {"word": {"type": "string"}}},
                },
            }
        ],
    )


def test_a_system_prompt_given_as_blocks_stays_blocks_on_messages() -> None:
    history = [SystemMessage([{"type": "text", "text": "be brief"}]), HumanMessage("hi")]
    assert sent("messages", history)["system"] == [text("be brief")]
    assert sent("chat_completions", history)["messages"][0] == {
        "role": "system",
        "content": "be brief",
    }


def test_a_cache_marker_on_a_blank_block_moves_to_the_block_before() -> None:
    history = [
        HumanMessage(
            [
                {"type": "text", "text": "doc"},
                {"type": "text", "text": " ", "cache_control": EPHEMERAL},
            ]
        )
    ]
    assert sent("messages", history) == messages_body(user(text("doc", cache_control=EPHEMERAL)))


# ------------------------------------------------------------------ every call path


@pytest.mark.parametrize("api", ["chat_completions", "messages"])
async def test_async_calls_send_the_same_body(api: str) -> None:
    server = ScriptedServer([_reply(api)])
    await _model(api, server).ainvoke(FOREIGN_IDS + LATE_SYSTEM)
    assert server.last_body == sent(api, FOREIGN_IDS + LATE_SYSTEM)


def test_streamed_calls_send_the_same_history() -> None:
    server = ScriptedServer([text_stream("o", "k")])
    chunks = list(_model("chat_completions", server).stream(FOREIGN_IDS + LATE_SYSTEM))
    assert "".join(str(c.content) for c in chunks) == "ok"
    expected = sent("chat_completions", FOREIGN_IDS + LATE_SYSTEM)
    assert server.last_body == {
        **expected,
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def test_a_langchain_tools_extras_cache_control_is_carried_on_messages() -> None:
    @tool(extras={"cache_control": EPHEMERAL})
    def lookup(word: str) -> str:
        """Look a word up."""
        return word

    body = sent("messages", [HumanMessage("hi")], tools=[lookup])
    assert body["tools"] == [
        {
            "name": "lookup",
            "description": "Look a word up.",
            "input_schema": {
                "type": "object",
                "properties": {"word": {"type": "string"}},
                "required": ["word"],
            },
            "cache_control": EPHEMERAL,
        }
    ]


# -------------------------------------------------------- tool calls and results


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def _chat_call(call_id: str, city: str) -> dict[str, Any]:
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": "get_weather", "arguments": f'{{"city": "{city}"}}'},
    }


def _tool_use(call_id: str, city: str) -> dict[str, Any]:
    return {"type": "tool_use", "id": call_id, "name": "get_weather", "input": {"city": city}}


def _tool_result(call_id: str, content: str, **fields: Any) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": call_id, "content": content, **fields}


def test_results_follow_their_call_turn_in_call_order_on_both_protocols() -> None:
    history: list[BaseMessage] = [
        HumanMessage("weather in Paris and Rome?"),
        AIMessage("checking", tool_calls=[call("c1", city="Paris"), call("c2", city="Rome")]),
        HumanMessage("hurry"),
        ToolMessage("rain", tool_call_id="c2"),
        SystemMessage("answer in French"),
        ToolMessage("sun", tool_call_id="c1", status="error"),
    ]
    assert sent("chat_completions", history) == chat_body(
        {"role": "system", "content": "answer in French"},
        {"role": "user", "content": "weather in Paris and Rome?"},
        {
            "role": "assistant",
            "content": "checking",
            "tool_calls": [_chat_call("c1", "Paris"), _chat_call("c2", "Rome")],
        },
        {"role": "tool", "content": "sun", "tool_call_id": "c1"},
        {"role": "tool", "content": "rain", "tool_call_id": "c2"},
        {"role": "user", "content": "hurry"},
    )
    assert sent("messages", history) == messages_body(
        user(text("weather in Paris and Rome?")),
        assistant(text("checking"), _tool_use("c1", "Paris"), _tool_use("c2", "Rome")),
        user(
            _tool_result("c1", "sun", is_error=True),
            _tool_result("c2", "rain"),
            text("hurry"),
        ),
        system="answer in French",
    )


def test_assistant_turns_right_after_a_call_turn_join_it_as_parallel_calls() -> None:
    history: list[BaseMessage] = [
        HumanMessage("Paris and Rome?"),
        AIMessage("Paris first.", tool_calls=[call("c1", city="Paris")]),
        AIMessage("", tool_calls=[call("c2", city="Rome")]),
        AIMessage("Both asked."),
        ToolMessage("rain", tool_call_id="c2"),
        ToolMessage("sun", tool_call_id="c1"),
    ]
    assert sent("chat_completions", history)["messages"][1:] == [
        {
            "role": "assistant",
            "content": "Paris first.\n\nBoth asked.",
            "tool_calls": [_chat_call("c1", "Paris"), _chat_call("c2", "Rome")],
        },
        {"role": "tool", "content": "sun", "tool_call_id": "c1"},
        {"role": "tool", "content": "rain", "tool_call_id": "c2"},
    ]
    assert sent("messages", history)["messages"][1:] == [
        assistant(
            text("Paris first.\n\nBoth asked."),
            _tool_use("c1", "Paris"),
            _tool_use("c2", "Rome"),
        ),
        user(_tool_result("c1", "sun"), _tool_result("c2", "rain")),
    ]


def test_a_call_id_used_again_is_numbered_on_its_call_and_result() -> None:
    history: list[BaseMessage] = [
        HumanMessage("Paris, then Rome?"),
        AIMessage("", tool_calls=[call("call_0", city="Paris")]),
        ToolMessage("sun", tool_call_id="call_0"),
        AIMessage("", tool_calls=[call("call_0", city="Rome")]),
        ToolMessage("rain", tool_call_id="call_0"),
        AIMessage("", tool_calls=[call("call_0", city="Oslo")]),
        ToolMessage("snow", tool_call_id="call_0"),
    ]
    body = sent("chat_completions", history)
    assert [m.get("tool_call_id") or m["tool_calls"][0]["id"] for m in body["messages"][1:]] == [
        "call_0",
        "call_0",
        "call_0_2",
        "call_0_2",
        "call_0_3",
        "call_0_3",
    ]
    assert sent("messages", history)["messages"][3:] == [
        assistant(_tool_use("call_0_2", "Rome")),
        user(_tool_result("call_0_2", "rain")),
        assistant(_tool_use("call_0_3", "Oslo")),
        user(_tool_result("call_0_3", "snow")),
    ]


UNPAIRED = [
    pytest.param(
        [HumanMessage("hi"), ToolMessage("sunny", tool_call_id="call_9"), HumanMessage("and?")],
        ("call_9",),
        "answers no tool call in the history",
        id="result-whose-call-was-trimmed",
    ),
    pytest.param(
        [HumanMessage("hi"), AIMessage("", tool_calls=[call("c1"), call("c2")])],
        ("c1", "c2"),
        "have no tool result",
        id="calls-without-results-at-the-end",
    ),
    pytest.param(
        [
            HumanMessage("hi"),
            AIMessage("", tool_calls=[call("c1"), call("c2")]),
            ToolMessage("sunny", tool_call_id="c1"),
            HumanMessage("no, don't look up the second"),
        ],
        ("c2",),
        "have no tool result",
        id="one-result-missing-then-user",
    ),
    pytest.param(
        [
            HumanMessage("hi"),
            AIMessage("", tool_calls=[call("c1")]),
            HumanMessage("well?"),
            AIMessage("I'll wait"),
            ToolMessage("sunny", tool_call_id="c1"),
        ],
        ("c1",),
        "have no tool result before the next assistant turn",
        id="result-after-the-next-assistant-turn",
    ),
    pytest.param(
        [
            HumanMessage("hi"),
            AIMessage("", tool_calls=[call("c1")]),
            ToolMessage("sunny", tool_call_id="c1"),
            ToolMessage("rain", tool_call_id="c1"),
        ],
        ("c1",),
        "two tool results",
        id="two-results-for-one-call",
    ),
    pytest.param(
        [
            HumanMessage("hi"),
            AIMessage("", tool_calls=[call("c1"), call("c1", city="Rome")]),
            ToolMessage("sunny", tool_call_id="c1"),
        ],
        ("c1",),
        "two tool calls with the id",
        id="one-id-twice-in-a-turn",
    ),
    pytest.param(
        [
            HumanMessage("hi"),
            AIMessage("", tool_calls=[{**call(""), "id": None}]),
            ToolMessage("sunny", tool_call_id=""),
        ],
        ("",),
        "has no id",
        id="call-without-id",
    ),
    pytest.param(
        [
            HumanMessage("hi"),
            AIMessage("", tool_calls=[call("")]),
            ToolMessage("sunny", tool_call_id=""),
        ],
        ("",),
        "has no id",
        id="call-with-empty-id",
    ),
    pytest.param(
        [HumanMessage("hi"), ToolMessage("sunny", tool_call_id="")],
        ("",),
        "empty tool_call_id",
        id="result-with-empty-id",
    ),
]


@pytest.mark.parametrize("api", ["chat_completions", "messages"])
@pytest.mark.parametrize(("history", "ids", "reason"), UNPAIRED)
def test_unpaired_tool_calls_and_results_are_refused_before_sending(
    api: str, history: list[BaseMessage], ids: tuple[str, ...], reason: str
) -> None:
    server = ScriptedServer([_reply(api)])
    with pytest.raises(ToolPairingError, match=reason) as caught:
        _model(api, server).invoke(history)
    assert caught.value.ids == ids
    for call_id in ids:
        assert not call_id or repr(call_id) in str(caught.value)
    assert server.requests == []


@pytest.mark.parametrize(
    ("message", "advice"),
    [
        (FunctionMessage("sunny", name="get_weather"), "ToolMessage"),
        (LangChainChatMessage("sunny", role="tool"), "ToolMessage"),
    ],
)
def test_tool_results_without_a_call_id_are_refused_naming_the_message_to_send(
    message: BaseMessage, advice: str
) -> None:
    server = ScriptedServer([_reply("chat_completions")])
    with pytest.raises(ValueError, match=advice):
        _model("chat_completions", server).invoke([HumanMessage("hi"), message])
    assert server.requests == []


# ------------------------------------------------------------------ system prompt


def test_every_system_message_joins_one_sent_first_on_both_protocols() -> None:
    history: list[BaseMessage] = [
        SystemMessage("a"),
        LangChainChatMessage("b", role="developer"),
        SystemMessage([{"type": "text", "text": "c"}, {"type": "text", "text": "d"}]),
        HumanMessage("hi"),
        AIMessage("yo"),
        SystemMessage("e"),
        HumanMessage("again"),
    ]
    assert sent("chat_completions", history)["messages"] == [
        {"role": "system", "content": "a\n\nb\n\ncd\n\ne"},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "yo"},
        {"role": "user", "content": "again"},
    ]
    assert sent("messages", history)["system"] == [
        text("a"),
        text("b"),
        text("c"),
        text("d"),
        text("e"),
    ]


# ----------------------------------------------------------- per-call cache marker


@pytest.mark.parametrize(
    ("history", "last_turn"),
    [
        ([SystemMessage("s"), HumanMessage("hi")], user(text("hi", cache_control=EPHEMERAL))),
        (
            [
                HumanMessage("hi"),
                AIMessage("", tool_calls=[call("c1", city="Paris")]),
                ToolMessage("sun", tool_call_id="c1"),
            ],
            user(_tool_result("c1", "sun", cache_control=EPHEMERAL)),
        ),
        (
            [HumanMessage("hi"), AIMessage("Sure: ")],
            assistant(text("Sure:", cache_control=EPHEMERAL)),
        ),
        (
            [HumanMessage([{"type": "text", "text": "a", "cache_control": {"type": "x"}}])],
            user(text("a", cache_control={"type": "x"})),
        ),
    ],
)
@pytest.mark.parametrize("how", ["invoke", "bind_tools"])
def test_a_per_call_cache_control_marks_the_last_block_on_messages(
    history: list[BaseMessage], last_turn: dict[str, Any], how: str
) -> None:
    server = ScriptedServer([_reply("messages")])
    model: Any = _model("messages", server)
    if how == "invoke":
        model.invoke(history, cache_control=EPHEMERAL)
    else:
        model.bind_tools([get_weather], cache_control=EPHEMERAL).invoke(history)
    body = server.last_body
    assert "cache_control" not in body
    assert body["messages"][-1] == last_turn


@pytest.mark.parametrize("how", ["invoke", "bind_tools"])
def test_a_per_call_cache_control_is_not_sent_on_chat_completions(how: str) -> None:
    server = ScriptedServer([_reply("chat_completions")])
    model: Any = _model("chat_completions", server)
    if how == "invoke":
        model.invoke([HumanMessage("hi")], cache_control=EPHEMERAL)
    else:
        model.bind_tools([get_weather], cache_control=EPHEMERAL).invoke([HumanMessage("hi")])
    assert "cache_control" not in server.last_body
    assert server.last_body["messages"] == [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize("api", ["chat_completions", "messages"])
def test_a_cache_control_that_is_not_a_dict_is_refused(api: str) -> None:
    server = ScriptedServer([_reply(api)])
    with pytest.raises(ValueError, match="cache_control must be a dict"):
        _model(api, server).invoke([HumanMessage("hi")], cache_control="ephemeral")
    assert server.requests == []


@pytest.mark.parametrize("args", ["{bad", "[1, 2]", '"text"'])
def test_a_history_call_whose_arguments_are_no_json_object_is_refused_on_messages(
    args: str,
) -> None:
    history: list[BaseMessage] = [
        HumanMessage("hi"),
        AIMessage(
            "",
            invalid_tool_calls=[
                {
                    "name": "get_weather",
                    "args": args,
                    "id": "c9",
                    "error": "x",
                    "type": "invalid_tool_call",
                }
            ],
        ),
        ToolMessage("bad arguments", tool_call_id="c9", status="error"),
    ]
    server = ScriptedServer([_reply("messages")])
    with pytest.raises(ValueError, match=r"tool call 'c9' \('get_weather'\).*JSON object"):
        _model("messages", server).invoke(history)
    assert server.requests == []
    assert sent("chat_completions", history)["messages"][1:] == [
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "c9",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": args},
                }
            ],
        },
        {"role": "tool", "content": "bad arguments", "tool_call_id": "c9"},
    ]


def test_any_part_of_a_history_can_be_counted() -> None:
    """LangChain's ``trim_messages(token_counter=model)`` counts partial histories."""
    server = ScriptedServer([json_response({"input_tokens": 7})])
    model = _model("messages", server)
    partial: list[BaseMessage] = [
        ToolMessage("sunny", tool_call_id="c1"),
        AIMessage("", tool_calls=[call("c2", city="Rome")]),
    ]
    assert model.get_num_tokens_from_messages(partial) == 7
    assert server.last_body["messages"] == [
        user(_tool_result("c1", "sunny")),
        assistant(_tool_use("c2", "Rome")),
    ]
