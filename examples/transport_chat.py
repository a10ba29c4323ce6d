"""One chat request and one streamed answer through the bare transport (no framework)."""

from __future__ import annotations

from examples._runtime import replaying, target
from modelslab_transport import ChatStreamAccumulator, ClientSettings, ModelsLabClient
from modelslab_transport.wire import ChatCompletionRequest, ChatMessage, StreamOptions

MODEL = "google-gemma-3-1b-it"


def main() -> None:
    where = target()
    print(where.describe())
    settings = ClientSettings(api_key=where.api_key, base_url=where.base_url)
    request = ChatCompletionRequest(
        model=MODEL,
        messages=[
            ChatMessage(role="system", content="You are a concise assistant."),
            ChatMessage(role="user", content="Name three primary colours."),
        ],
        max_tokens=48,
        temperature=0,
        seed=7,
    )
    with replaying("transport_chat", where), ModelsLabClient(settings) as client:
        reply = client.chat_completions(request)
        print("chat:", reply.choices[0].message.text.strip())
        print("usage:", reply.usage.model_dump() if reply.usage else None)

        accumulator = ChatStreamAccumulator()
        print("stream: ", end="", flush=True)
        with client.stream_chat_completions(
            request.model_copy(update={"stream_options": StreamOptions(include_usage=True)})
        ) as stream:
            for chunk in stream:
                accumulator.add(chunk)
                if chunk.choices:
                    print(chunk.choices[0].delta.text, end="", flush=True)
        print()
        print("streamed finish_reason:", accumulator.finish_reason())


if __name__ == "__main__":
    main()
