"""ModelsLabLLM: any LlamaIndex history goes out in a form each protocol accepts.

Each test sends a history through ``chat`` (or ``chat_with_tools``) on a mock transport
and asserts the exact body sent over ``api="chat_completions"`` and ``api="messages"``.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx2
import pytest
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.agent.workflow.prompts import DEFAULT_EARLY_STOPPING_PROMPT
from llama_index.core.base.llms.types import (
    CacheControl,
    CachePoint,
    ChatMessage,
    DocumentBlock,
    ImageBlock,
    MessageRole,
    TextBlock,
    ToolCallBlock,
)
from llama_index.core.tools import FunctionTool

from modelslab_transport import BadRequestError
from modelslab_transport.protocols.history import ToolPairingError, UnsupportedContentError
from tests.support.clients import scripted_llm
from tests.support.replies import completion_body, json_response, tool_call

PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQ"
    "AAAABJRU5ErkJggg=="
)
PDF_BYTES = b"%PDF-1.4 tiny"
PDF = base64.b64encode(PDF_BYTES).decode()
KIMI_ID = "functions.get_weather:0"
KIMI_ID_ON_MESSAGES = "functions_get_weather_0_79ac1aaab216b228"
EPHEMERAL = {"type": "ephemeral", "ttl": "5m"}


def get_weather(city: str) -> str:
    """Get the weather in a city."""
    return city


WEATHER = FunctionTool.from_defaults(get_weather)


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


def sent(api: str, history: list[ChatMessage]) -> Any:
    """The body ``chat(history)`` sends over ``api``."""
    llm, server = scripted_llm(_reply(api), api=api, model="m")
    llm.chat(history)
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


def message(role: str, *blocks: Any, **kwargs: Any) -> ChatMessage:
    return ChatMessage(role=MessageRole(role), blocks=list(blocks), additional_kwargs=kwargs)


def calls(*pairs: tuple[str, str]) -> ChatMessage:
    """An assistant turn that calls get_weather once per (id, city)."""
    return message(
        "assistant",
        *(
            ToolCallBlock(tool_call_id=i, tool_name="get_weather", tool_kwargs={"city": c})
            for i, c in pairs
        ),
    )


def result(call_id: str, *blocks: Any) -> ChatMessage:
    return message("tool", *blocks, tool_call_id=call_id)


def chat_call(call_id: str, city: str) -> dict[str, Any]:
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": "get_weather", "arguments": f'{{"city": "{city}"}}'},
    }


def tool_use(call_id: str, city: str) -> dict[str, Any]:
    return {"type": "tool_use", "id": call_id, "name": "get_weather", "input": {"city": city}}


# ------------------------------------------------------------------ empty text


BLANK_HISTORY = [
    ChatMessage(role="system", content="be brief"),
    ChatMessage(role="user", content="hi"),
    ChatMessage(role="assistant", content="\n\n"),
    ChatMessage(role="user", content="again"),
    ChatMessage(role="assistant", content=""),
    message("user", TextBlock(text=""), TextBlock(text=" \t")),
    message("assistant"),
    ChatMessage(role="user", content="last"),
]


def test_blank_turns_are_dropped_on_both_protocols() -> None:
    assert sent("chat_completions", BLANK_HISTORY) == chat_body(
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
        {"role": "user", "content": "again"},
        {"role": "user", "content": "last"},
    )
    assert sent("messages", BLANK_HISTORY) == messages_body(
        user(text("hi"), text("again"), text("last")), system="be brief"
    )


def test_turns_with_tool_calls_or_results_are_kept_without_their_blank_text() -> None:
    history = [
        ChatMessage(role="user", content="weather?"),
        message(
            "assistant",
            TextBlock(text="  "),
            ToolCallBlock(
                tool_call_id="toolu_1", tool_name="get_weather", tool_kwargs={"city": "Oslo"}
            ),
        ),
        result("toolu_1", TextBlock(text=" \n")),
    ]
    assert sent("chat_completions", history) == chat_body(
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "tool_calls": [chat_call("toolu_1", "Oslo")]},
        {"role": "tool", "content": "", "tool_call_id": "toolu_1"},
    )
    assert sent("messages", history) == messages_body(
        user(text("weather?")),
        assistant(tool_use("toolu_1", "Oslo")),
        user({"type": "tool_result", "tool_use_id": "toolu_1"}),
    )


# ------------------------------------------------------------------ same-role runs and ids


def test_consecutive_turns_of_one_role_are_merged_on_messages_only() -> None:
    history = [
        ChatMessage(role="user", content="a"),
        ChatMessage(role="user", content="b"),
        ChatMessage(role="assistant", content="c"),
        ChatMessage(role="user", content="d"),
    ]
    assert sent("chat_completions", history) == chat_body(
        {"role": "user", "content": "a"},
        {"role": "user", "content": "b"},
        {"role": "assistant", "content": "c"},
        {"role": "user", "content": "d"},
    )
    assert sent("messages", history) == messages_body(
        user(text("a"), text("b")), assistant(text("c")), user(text("d"))
    )


FOREIGN_IDS = [
    ChatMessage(role="user", content="weather in Oslo and Rome?"),
    calls((KIMI_ID, "Oslo"), ("toolu_01A", "Rome")),
    result(KIMI_ID, TextBlock(text="sunny")),
    result("toolu_01A", TextBlock(text="rain")),
]


def test_foreign_tool_call_ids_are_mapped_on_messages_the_same_in_every_request() -> None:
    expected = messages_body(
        user(text("weather in Oslo and Rome?")),
        assistant(tool_use(KIMI_ID_ON_MESSAGES, "Oslo"), tool_use("toolu_01A", "Rome")),
        user(
            {"type": "tool_result", "tool_use_id": KIMI_ID_ON_MESSAGES, "content": "sunny"},
            {"type": "tool_result", "tool_use_id": "toolu_01A", "content": "rain"},
        ),
    )
    assert sent("messages", FOREIGN_IDS) == expected
    assert sent("messages", FOREIGN_IDS) == expected


def test_tool_call_ids_go_unchanged_on_chat_completions() -> None:
    assert sent("chat_completions", FOREIGN_IDS) == chat_body(
        {"role": "user", "content": "weather in Oslo and Rome?"},
        {
            "role": "assistant",
            "tool_calls": [chat_call(KIMI_ID, "Oslo"), chat_call("toolu_01A", "Rome")],
        },
        {"role": "tool", "content": "sunny", "tool_call_id": KIMI_ID},
        {"role": "tool", "content": "rain", "tool_call_id": "toolu_01A"},
    )


# ------------------------------------------------------------------ late system messages


def test_a_system_message_after_the_tool_loop_joins_the_system_prompt_on_both() -> None:
    # What FunctionAgent(early_stopping_method="generate") sends at its step limit.
    history = [
        ChatMessage(role="system", content="you are a weather agent"),
        ChatMessage(role="user", content="weather?"),
        calls(("toolu_1", "Oslo")),
        result("toolu_1", TextBlock(text="sunny")),
        ChatMessage(role="system", content="step limit reached: answer now"),
    ]
    prompt = "you are a weather agent\n\nstep limit reached: answer now"
    assert sent("chat_completions", history) == chat_body(
        {"role": "system", "content": prompt},
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "tool_calls": [chat_call("toolu_1", "Oslo")]},
        {"role": "tool", "content": "sunny", "tool_call_id": "toolu_1"},
    )
    assert sent("messages", history) == messages_body(
        user(text("weather?")),
        assistant(tool_use("toolu_1", "Oslo")),
        user({"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}),
        system=prompt,
    )


# ------------------------------------------------------------------ images and documents


IMAGE_RESULT = [
    ChatMessage(role="user", content="take a screenshot"),
    calls(("toolu_1", "Oslo")),
    result(
        "toolu_1",
        ImageBlock(image=base64.b64decode(PNG), image_mimetype="image/png"),
        TextBlock(text="the page"),
    ),
]


def test_an_image_in_a_tool_result_is_sent_on_messages_and_refused_on_chat_completions() -> None:
    assert sent("messages", IMAGE_RESULT)["messages"][-1] == user(
        {
            "type": "tool_result",
            "tool_use_id": "toolu_1",
            "content": [
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": PNG},
                },
                text("the page"),
            ],
        }
    )
    llm, server = scripted_llm(api="chat_completions", model="m")
    with pytest.raises(UnsupportedContentError) as caught:
        llm.chat(IMAGE_RESULT)
    assert (caught.value.part, caught.value.role, caught.value.api) == (
        "image",
        "tool",
        "chat_completions",
    )
    assert server.requests == []


def test_a_document_block_is_a_file_part_and_a_document_block() -> None:
    history = [
        message(
            "user",
            TextBlock(text="summarise"),
            DocumentBlock(data=PDF_BYTES, title="a.pdf", document_mimetype="application/pdf"),
        )
    ]
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
        message(
            "user",
            DocumentBlock(data=b"the notes", title="notes.txt", document_mimetype="text/plain"),
            DocumentBlock(url="https://example.com/a.pdf", title="a.pdf"),
        )
    ]
    assert sent("messages", history) == messages_body(
        user(
            {
                "type": "document",
                "source": {"type": "text", "media_type": "text/plain", "data": "the notes"},
                "title": "notes.txt",
            },
            {
                "type": "document",
                "source": {"type": "url", "url": "https://example.com/a.pdf"},
                "title": "a.pdf",
            },
        )
    )
    llm, server = scripted_llm(api="chat_completions", model="m")
    with pytest.raises(UnsupportedContentError, match="file given by URL"):
        llm.chat(history)
    assert server.requests == []


# ------------------------------------------------------------------ prompt caching


def test_a_cache_point_marks_the_block_before_it_on_messages() -> None:
    history = [
        message(
            "system",
            TextBlock(text="You are a careful assistant."),
            TextBlock(text="<the long manual>"),
            CachePoint(cache_control=CacheControl(type="ephemeral")),
        ),
        message(
            "user",
            TextBlock(text="<a long document>"),
            CachePoint(cache_control=CacheControl(type="ephemeral", ttl="1h")),
            TextBlock(text="question?"),
        ),
    ]
    assert sent("messages", history) == messages_body(
        user(
            text("<a long document>", cache_control={"type": "ephemeral", "ttl": "1h"}),
            text("question?"),
        ),
        system=[
            text("You are a careful assistant."),
            text("<the long manual>", cache_control=EPHEMERAL),
        ],
    )
    assert sent("chat_completions", history) == chat_body(
        {"role": "system", "content": "You are a careful assistant.<the long manual>"},
        {"role": "user", "content": "<a long document>question?"},
    )


def test_a_cache_point_with_no_block_before_it_is_refused() -> None:
    llm, server = scripted_llm(api="messages", model="m")
    history = [message("user", CachePoint(cache_control=CacheControl(type="ephemeral")))]
    with pytest.raises(ValueError, match="CachePoint marks the content block before it"):
        llm.chat(history)
    assert server.requests == []


def test_chat_with_tools_passes_through_the_same_encoder() -> None:
    llm, server = scripted_llm(_reply("messages"), api="messages", model="m")
    llm.chat_with_tools([WEATHER], chat_history=FOREIGN_IDS)
    body = server.last_body
    assert body["messages"][1] == assistant(
        tool_use(KIMI_ID_ON_MESSAGES, "Oslo"), tool_use("toolu_01A", "Rome")
    )
    assert [tool["name"] for tool in body["tools"]] == ["get_weather"]


@pytest.mark.parametrize("api", ["chat_completions", "messages"])
async def test_async_calls_send_the_same_body(api: str) -> None:
    llm, server = scripted_llm(_reply(api), api=api, model="m")
    await llm.achat(FOREIGN_IDS + BLANK_HISTORY)
    assert server.last_body == sent(api, FOREIGN_IDS + BLANK_HISTORY)


def _agent_replies(api: str) -> list[httpx2.Response]:
    """Two turns that call ``lookup`` (Kimi-style ids, blank text beside), then an answer."""
    if api == "chat_completions":
        calls = [
            json_response(
                completion_body(
                    "\n\n",
                    tool_calls=[tool_call("lookup", '{"word": "cat"}', f"functions.lookup:{i}")],
                    finish_reason="tool_calls",
                )
            )
            for i in range(2)
        ]
        return [*calls, json_response(completion_body("a cat is an animal"))]
    calls = [
        json_response(
            {
                "id": f"msg_{i}",
                "type": "message",
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "\n\n"},
                    {
                        "type": "tool_use",
                        "id": f"functions.lookup:{i}",
                        "name": "lookup",
                        "input": {"word": "cat"},
                    },
                ],
                "model": "m",
                "stop_reason": "tool_use",
                "usage": {"input_tokens": 3, "output_tokens": 1},
            }
        )
        for i in range(2)
    ]
    return [*calls, _reply(api)]


def lookup(word: str) -> str:
    """Look a word up."""
    return f"{word}: a word"


@pytest.mark.parametrize("api", ["chat_completions", "messages"])
async def test_function_agent_early_stopping_sends_its_system_message_in_the_prompt(
    api: str,
) -> None:
    llm, server = scripted_llm(*_agent_replies(api), api=api, model="m")
    agent = FunctionAgent(
        tools=[FunctionTool.from_defaults(lookup)],
        llm=llm,
        streaming=False,
        system_prompt="be a dictionary",
    )
    await agent.run(user_msg="what is a cat?", max_iterations=2, early_stopping_method="generate")
    prompt = "be a dictionary\n\n" + DEFAULT_EARLY_STOPPING_PROMPT.format(max_iterations=2)
    tool_turn = server.bodies[1]["messages"]
    if api == "chat_completions":
        assert server.last_body == chat_body(
            {"role": "system", "content": prompt}, {"role": "user", "content": "what is a cat?"}
        )
        assert tool_turn[-2:] == [
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "functions.lookup:0",
                        "type": "function",
                        "function": {"name": "lookup", "arguments": '{"word": "cat"}'},
                    }
                ],
            },
            {"role": "tool", "content": "cat: a word", "tool_call_id": "functions.lookup:0"},
        ]
    else:
        assert server.last_body == messages_body(user(text("what is a cat?")), system=prompt)
        mapped = "functions_lookup_0_f70e5c75151c34f1"
        assert tool_turn[-2:] == [
            assistant(
                {"type": "tool_use", "id": mapped, "name": "lookup", "input": {"word": "cat"}}
            ),
            user({"type": "tool_result", "tool_use_id": mapped, "content": "cat: a word"}),
        ]


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
    llm, server = scripted_llm(refusal, api="messages", model="m")
    history = [message("user", DocumentBlock(data=PDF_BYTES, document_mimetype="application/pdf"))]
    with pytest.raises(BadRequestError, match="this model does not read PDF files"):
        llm.chat(history)
    assert len(server.requests) == 1


# -------------------------------------------------------- tool calls and results


def _tool_result(call_id: str, content: str, **fields: Any) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": call_id, "content": content, **fields}


def test_results_follow_their_call_turn_in_call_order_on_both_protocols() -> None:
    history = [
        ChatMessage(role="user", content="weather in Paris and Rome?"),
        calls(("c1", "Paris"), ("c2", "Rome")),
        ChatMessage(role="user", content="hurry"),
        result("c2", TextBlock(text="rain")),
        ChatMessage(role="system", content="answer in French"),
        message("function", TextBlock(text="sun"), tool_call_id="c1"),
    ]
    assert sent("chat_completions", history) == chat_body(
        {"role": "system", "content": "answer in French"},
        {"role": "user", "content": "weather in Paris and Rome?"},
        {
            "role": "assistant",
            "tool_calls": [chat_call("c1", "Paris"), chat_call("c2", "Rome")],
        },
        {"role": "tool", "content": "sun", "tool_call_id": "c1"},
        {"role": "tool", "content": "rain", "tool_call_id": "c2"},
        {"role": "user", "content": "hurry"},
    )
    assert sent("messages", history) == messages_body(
        user(text("weather in Paris and Rome?")),
        assistant(tool_use("c1", "Paris"), tool_use("c2", "Rome")),
        user(_tool_result("c1", "sun"), _tool_result("c2", "rain"), text("hurry")),
        system="answer in French",
    )


def test_assistant_turns_right_after_a_call_turn_join_it_as_parallel_calls() -> None:
    history = [
        ChatMessage(role="user", content="Paris and Rome?"),
        calls(("c1", "Paris")),
        calls(("c2", "Rome")),
        result("c1", TextBlock(text="sun")),
        result("c2", TextBlock(text="rain")),
    ]
    assert sent("chat_completions", history)["messages"][1:] == [
        {"role": "assistant", "tool_calls": [chat_call("c1", "Paris"), chat_call("c2", "Rome")]},
        {"role": "tool", "content": "sun", "tool_call_id": "c1"},
        {"role": "tool", "content": "rain", "tool_call_id": "c2"},
    ]
    assert sent("messages", history)["messages"][1:] == [
        assistant(tool_use("c1", "Paris"), tool_use("c2", "Rome")),
        user(_tool_result("c1", "sun"), _tool_result("c2", "rain")),
    ]


def test_a_call_id_used_again_is_numbered_on_its_call_and_result() -> None:
    history = [
        ChatMessage(role="user", content="Paris, then Rome?"),
        calls(("1", "Paris")),
        result("1", TextBlock(text="sun")),
        calls(("1", "Rome")),
        result("1", TextBlock(text="rain")),
    ]
    assert sent("chat_completions", history)["messages"][3:] == [
        {"role": "assistant", "tool_calls": [chat_call("1_2", "Rome")]},
        {"role": "tool", "content": "rain", "tool_call_id": "1_2"},
    ]
    assert sent("messages", history)["messages"][3:] == [
        assistant(tool_use("1_2", "Rome")),
        user(_tool_result("1_2", "rain")),
    ]


UNPAIRED = [
    pytest.param(
        [ChatMessage(role="user", content="hi"), result("call_9", TextBlock(text="sunny"))],
        ("call_9",),
        "answers no tool call in the history",
        id="result-whose-call-was-trimmed",
    ),
    pytest.param(
        [ChatMessage(role="user", content="hi"), calls(("c1", "Paris"), ("c2", "Rome"))],
        ("c1", "c2"),
        "have no tool result",
        id="calls-without-results-at-the-end",
    ),
    pytest.param(
        [
            ChatMessage(role="user", content="hi"),
            calls(("c1", "Paris"), ("c2", "Rome")),
            result("c2", TextBlock(text="rain")),
            ChatMessage(role="user", content="skip Paris"),
        ],
        ("c1",),
        "have no tool result",
        id="one-result-missing-then-user",
    ),
    pytest.param(
        [
            ChatMessage(role="user", content="hi"),
            calls(("c1", "Paris")),
            ChatMessage(role="user", content="well?"),
            ChatMessage(role="assistant", content="I'll wait"),
            result("c1", TextBlock(text="sunny")),
        ],
        ("c1",),
        "before the next assistant turn",
        id="result-after-the-next-assistant-turn",
    ),
    pytest.param(
        [
            ChatMessage(role="user", content="hi"),
            calls(("c1", "Paris")),
            result("c1", TextBlock(text="sunny")),
            result("c1", TextBlock(text="rain")),
        ],
        ("c1",),
        "two tool results",
        id="two-results-for-one-call",
    ),
    pytest.param(
        [
            ChatMessage(role="user", content="hi"),
            message(
                "assistant",
                ToolCallBlock(tool_call_id=None, tool_name="get_weather", tool_kwargs={}),
            ),
            result("c1", TextBlock(text="sunny")),
        ],
        ("",),
        "has no id",
        id="call-without-id",
    ),
    pytest.param(
        [
            ChatMessage(role="user", content="hi"),
            ChatMessage(
                role="assistant",
                content="",
                additional_kwargs={
                    "tool_calls": [
                        {"id": "", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                    ]
                },
            ),
            result("c1", TextBlock(text="sunny")),
        ],
        ("",),
        "has no id",
        id="legacy-call-with-empty-id",
    ),
]


@pytest.mark.parametrize("api", ["chat_completions", "messages"])
@pytest.mark.parametrize(("history", "ids", "reason"), UNPAIRED)
def test_unpaired_tool_calls_and_results_are_refused_before_sending(
    api: str, history: list[ChatMessage], ids: tuple[str, ...], reason: str
) -> None:
    llm, server = scripted_llm(_reply(api), api=api, model="m")
    with pytest.raises(ToolPairingError, match=reason) as caught:
        llm.chat(history)
    assert caught.value.ids == ids
    for call_id in ids:
        assert not call_id or repr(call_id) in str(caught.value)
    assert server.requests == []


@pytest.mark.parametrize("api", ["chat_completions", "messages"])
def test_a_tool_result_with_an_empty_id_is_refused_before_sending(api: str) -> None:
    llm, server = scripted_llm(_reply(api), api=api, model="m")
    history = [
        ChatMessage(role="user", content="hi"),
        calls(("c1", "Paris")),
        result("", TextBlock(text="sunny")),
    ]
    with pytest.raises(ValueError, match=r"additional_kwargs\['tool_call_id'\]"):
        llm.chat(history)
    assert server.requests == []


# ------------------------------------------------------------------ system prompt


def test_every_system_message_joins_one_sent_first_on_both_protocols() -> None:
    history = [
        ChatMessage(role="system", content="a"),
        ChatMessage(role="system", content="b"),
        ChatMessage(role="user", content="hi"),
        ChatMessage(role=MessageRole.CHATBOT, content="yo"),
        ChatMessage(role="system", content="c"),
        ChatMessage(role="user", content="again"),
        ChatMessage(role=MessageRole.MODEL, content="ok"),
    ]
    assert sent("chat_completions", history)["messages"] == [
        {"role": "system", "content": "a\n\nb\n\nc"},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "yo"},
        {"role": "user", "content": "again"},
        {"role": "assistant", "content": "ok"},
    ]
    body = sent("messages", history)
    assert body["system"] == "a\n\nb\n\nc"
    assert [turn["role"] for turn in body["messages"]] == [
        "user",
        "assistant",
        "user",
        "assistant",
    ]


# ----------------------------------------------------------- per-call cache marker


PER_CALL = {"type": "ephemeral"}


def test_a_per_call_cache_control_marks_the_last_block_on_messages_only() -> None:
    history = [
        ChatMessage(role="user", content="hi"),
        calls(("c1", "Paris")),
        result("c1", TextBlock(text="sun")),
    ]
    llm, server = scripted_llm(_reply("messages"), api="messages", model="m")
    llm.chat(history, cache_control=PER_CALL)
    body = json.loads(server.requests[-1].content)
    assert "cache_control" not in body
    assert body["messages"][-1] == user(_tool_result("c1", "sun", cache_control=PER_CALL))
    llm, server = scripted_llm(_reply("chat_completions"), model="m")
    llm.chat(history, cache_control=PER_CALL)
    body = json.loads(server.requests[-1].content)
    assert "cache_control" not in body
    assert body["messages"][-1] == {"role": "tool", "content": "sun", "tool_call_id": "c1"}


@pytest.mark.parametrize("arguments", ['{"city": ', "[1]", "42"])
def test_a_history_call_whose_arguments_are_no_json_object_is_refused_on_messages(
    arguments: str,
) -> None:
    history = [
        ChatMessage(role="user", content="hi"),
        message(
            "assistant",
            ToolCallBlock(tool_call_id="c1", tool_name="get_weather", tool_kwargs=arguments),
        ),
        result("c1", TextBlock(text="bad arguments")),
    ]
    llm, server = scripted_llm(_reply("messages"), api="messages", model="m")
    with pytest.raises(ValueError, match=r"tool call 'c1' \('get_weather'\).*JSON object"):
        llm.chat(history)
    assert server.requests == []
    assert sent("chat_completions", history)["messages"][1]["tool_calls"] == [
        {
            "id": "c1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": arguments},
        }
    ]
