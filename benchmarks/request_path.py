"""Which project modules one streamed call runs through before its first byte is sent.

``python -m benchmarks.request_path`` starts the loopback server, builds a
``ChatModelsLab`` and a ``ModelsLabLLM`` (each already used once, so that first-use
imports do not count), traces one ``stream()`` / ``stream_chat()`` call and prints, in the
order first entered, the project modules whose code ran before the request's first
byte went to the socket.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from benchmarks.workload import API_KEY, MODEL

PACKAGES = ("modelslab_transport", "langchain_modelslab", "llama_index_modelslab")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def trace_until_first_send(call: Callable[[], Any]) -> list[str]:
    """The project modules entered by ``call`` before a socket first sends."""
    entered: list[str] = []
    sent = False
    originals = {name: getattr(socket.socket, name) for name in ("send", "sendall")}

    def marking(name: str) -> Callable[..., Any]:
        def send(self: socket.socket, data: Any, *args: Any) -> Any:
            nonlocal sent
            sent = True
            return originals[name](self, data, *args)

        return send

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if sent or event != "call":
            return
        module = str(frame.f_globals.get("__name__", ""))
        if module.split(".")[0] in PACKAGES and module not in entered:
            entered.append(module)

    for name in originals:
        setattr(socket.socket, name, marking(name))
    sys.setprofile(profile)
    try:
        call()
    finally:
        sys.setprofile(None)
        for name, original in originals.items():
            setattr(socket.socket, name, original)
    return entered


def main() -> None:
    """Print the modules each framework's streamed call enters before its first byte."""
    from llama_index.core.llms import ChatMessage

    from langchain_modelslab import ChatModelsLab
    from llama_index_modelslab import ModelsLabLLM

    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.server", str(port)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        server.stdout.readline()  # "ready"
        base_url = f"http://127.0.0.1:{port}/c20/v1"
        chat = ChatModelsLab(model=MODEL, api_key=API_KEY, base_url=base_url)
        llm = ModelsLabLLM(model=MODEL, api_key=API_KEY, base_url=base_url)
        calls = {
            "ChatModelsLab.stream": lambda: list(chat.stream("hi")),
            "ModelsLabLLM.stream_chat": lambda: list(
                llm.stream_chat([ChatMessage(role="user", content="hi")])
            ),
        }
        for name, call in calls.items():
            call()  # warm: first-use imports and client building are not the path
            time.sleep(0.1)
            entered = trace_until_first_send(call)
            print(f"{name}: {len(entered)} project modules before the first byte")
            for module in entered:
                print(f"  {module}")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
