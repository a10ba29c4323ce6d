"""Run llama.cpp's ``llama-server`` on 127.0.0.1 for recording cassettes.

:func:`run_server` is a context manager: it starts ``llama-server`` on a free
loopback port, waits for ``GET /health`` to answer 200, yields the base URL
(``http://127.0.0.1:PORT``) and always stops the process again (SIGTERM, then
SIGKILL after a bounded wait).

:func:`recording_servers` is *the* recording configuration: which model, chat
template and flags the cassettes are recorded with. Each server answers the
OpenAI-compatible ``/chat/completions`` (also under ``/v1``), the
Anthropic-compatible ``/v1/messages`` and ``/v1/messages/count_tokens``, and
``/v1/models``; two are run because llama-server cannot force a tool call for
``tool_choice: "required"`` with this model without also breaking ``"auto"``
(see the comments at the top of the two chat templates).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shlex
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

from tools.recording import REPO_ROOT, cache_dir
from tools.recording.build import sha256_file

__all__ = [
    "CHAT_TEMPLATE",
    "DEFAULT_SEED",
    "MODEL_ALIAS",
    "ROLE_CHAT",
    "ROLE_TOOLS",
    "TOOLS_TEMPLATE",
    "ServerError",
    "ServerSpec",
    "find_free_port",
    "recording_servers",
    "run_server",
    "run_servers",
    "wait_for_health",
]

HOST = "127.0.0.1"
"""Servers only ever listen on the IPv4 loopback address."""

DEFAULT_SEED = 42
"""Sampling seed given to llama-server (requests also send ``temperature: 0``)."""

ROLE_CHAT = "chat"
"""Role of the server that answers plain chat (``MODELSLAB_BASE_URL``)."""

ROLE_TOOLS = "tools"
"""Role of the server that answers tool calls (``MODELSLAB_TOOLS_BASE_URL``)."""

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
"""Chat templates shipped with this package."""

CHAT_TEMPLATE = TEMPLATES_DIR / "smollm2-chatml-tools.jinja"
"""Chat template of the chat server (see the comment at its top)."""

TOOLS_TEMPLATE = TEMPLATES_DIR / "smollm2-chatml-force-tool-call.jinja"
"""Chat template of the tools server: opens a ``<tool_call>`` when tools are offered."""


class ServerError(RuntimeError):
    """Raised when llama-server does not start or does not become healthy."""


@dataclasses.dataclass(frozen=True)
class ServerSpec:
    """How to run one ``llama-server``: binary, model, chat template and flags."""

    binary: Path
    """The ``llama-server`` executable."""
    model: Path
    """The GGUF model file."""
    roles: tuple[str, ...] = (ROLE_CHAT, ROLE_TOOLS)
    """Which of :data:`ROLE_CHAT` / :data:`ROLE_TOOLS` this server answers."""
    chat_template_file: Path | None = None
    """A Jinja chat template replacing the one embedded in the GGUF (needs ``jinja``)."""
    jinja: bool = True
    """Whether to pass ``--jinja`` (needed for tool calling)."""
    alias: str | None = None
    """Model name reported by ``/v1/models`` (``--alias``)."""
    ctx_size: int = 4096
    """Context size in tokens (``-c``)."""
    parallel: int = 1
    """Number of slots (``-np``); one keeps generation deterministic."""
    threads: int = 2
    """CPU threads (``-t``)."""
    seed: int = DEFAULT_SEED
    """Sampling seed (``--seed``)."""
    extra_args: tuple[str, ...] = ()
    """Any further command-line flags."""

    def flags(self) -> list[str]:
        """Return the command-line flags, without binary, model path, host and port."""
        args = [
            "-c",
            str(self.ctx_size),
            "-np",
            str(self.parallel),
            "-t",
            str(self.threads),
            "--seed",
            str(self.seed),
            "--no-webui",
        ]
        if self.alias:
            args += ["--alias", self.alias]
        if self.jinja:
            args.append("--jinja")
        if self.chat_template_file is not None:
            args += ["--chat-template-file", str(self.chat_template_file)]
        return [*args, *self.extra_args]

    def argv(self, port: int) -> list[str]:
        """Return the full command line for listening on ``HOST:port``."""
        return [
            str(self.binary),
            "-m",
            str(self.model),
            "--host",
            HOST,
            "--port",
            str(port),
            *self.flags(),
        ]

    def display_flags(self) -> str:
        """Return :meth:`flags` as a shell-quoted string with repo-relative paths."""
        return shlex.join(_display_path(arg) for arg in self.flags())

    def display_argv(self) -> str:
        """Return the command line for humans: repo-relative paths, ``PORT`` placeholder."""
        args = [_display_path(arg) for arg in self.argv(0)]
        args[args.index("--port") + 1] = "PORT"
        return shlex.join(args)

    def template_description(self) -> str:
        """Describe the chat template in use (file and sha256, or the GGUF's own)."""
        if self.chat_template_file is None:
            return "the template embedded in the GGUF"
        digest = sha256_file(self.chat_template_file)
        return f"`{_display_path(str(self.chat_template_file))}` (sha256 `{digest}`)"


def _display_path(arg: str) -> str:
    path = Path(arg)
    if path.is_absolute():
        with contextlib.suppress(ValueError):
            return str(path.relative_to(REPO_ROOT))
    return arg


MODEL_ALIAS = "smollm2-135m-instruct"
"""Model name the servers report (``/v1/models`` and the ``model`` field of replies)."""


def recording_servers(
    binary: Path, model: Path, *, alias: str | None = MODEL_ALIAS
) -> list[ServerSpec]:
    """Return the two servers the cassettes are recorded with.

    Both run SmolLM2-135M-Instruct with ``--jinja`` and the same flags; they differ
    only in the chat template:

    * the *chat* server (``MODELSLAB_BASE_URL``, :data:`CHAT_TEMPLATE`) for plain
      chat, streaming, ``response_format``, the Anthropic endpoints, tool results
      in the history, and ``tool_choice`` ``"auto"`` or a named function (which
      llama-server treats as ``"auto"``): the model answers in prose;
    * the *tools* server (``MODELSLAB_TOOLS_BASE_URL``, :data:`TOOLS_TEMPLATE`):
      when tools are offered and the last message is from the user, the reply is
      opened with ``<tool_call>``, so ``tool_choice`` ``"required"`` (Anthropic
      ``"any"`` / ``"tool"``) yields a grammar-constrained tool call. ``"auto"``
      requests there are unconstrained and usually fail with HTTP 500, and
      ``json_schema`` output lands in ``reasoning_content``: use the chat server.
    """
    chat = ServerSpec(
        binary=binary,
        model=model,
        roles=(ROLE_CHAT,),
        chat_template_file=CHAT_TEMPLATE,
        jinja=True,
        alias=alias,
    )
    tools = dataclasses.replace(chat, roles=(ROLE_TOOLS,), chat_template_file=TOOLS_TEMPLATE)
    return [chat, tools]


def find_free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _health(base_url: str) -> tuple[int, str]:
    request = urllib.request.Request(f"{base_url}/health", method="GET")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status), response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def wait_for_health(
    base_url: str, process: subprocess.Popen[bytes] | None = None, *, timeout: float = 180.0
) -> None:
    """Poll ``GET {base_url}/health`` until it answers 200 with status ``ok``.

    Raises :class:`ServerError` if ``process`` exits first or ``timeout`` seconds pass.
    """
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise ServerError(f"llama-server exited with code {process.returncode} while starting")
        try:
            status, body = _health(base_url)
        except (OSError, urllib.error.URLError) as exc:
            last = str(exc)
        else:
            last = f"HTTP {status}: {body.strip()[:200]}"
            if status == 200:
                with contextlib.suppress(ValueError):
                    if json.loads(body).get("status", "ok") == "ok":
                        return
        time.sleep(0.25)
    raise ServerError(f"{base_url}/health not ready after {timeout:.0f}s ({last})")


def _stop(process: subprocess.Popen[bytes], timeout: float) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        process.wait(timeout=timeout)


def _log_tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@contextlib.contextmanager
def run_server(
    spec: ServerSpec,
    *,
    port: int | None = None,
    startup_timeout: float = 180.0,
    stop_timeout: float = 15.0,
    log_path: Path | None = None,
) -> Iterator[str]:
    """Start ``llama-server`` per ``spec``, yield its base URL, and stop it on exit.

    The base URL has no trailing slash and no ``/v1``: ``http://127.0.0.1:PORT``.
    The server's output goes to ``log_path`` (default: a file under
    ``<repo>/.cache/llama.cpp/logs/``). The process is always stopped: SIGTERM,
    then SIGKILL if it has not exited after ``stop_timeout`` seconds.
    """
    if not spec.binary.is_file():
        raise ServerError(f"{spec.binary} does not exist: build it first")
    if not spec.model.is_file():
        raise ServerError(f"{spec.model} does not exist")
    chosen_port = port if port is not None else find_free_port()
    if log_path is None:
        logs = cache_dir() / "llama.cpp" / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(
            prefix=f"llama-server-{chosen_port}-", suffix=".log", dir=logs
        )
        os.close(handle)
        log_path = Path(name)
    base_url = f"http://{HOST}:{chosen_port}"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            spec.argv(chosen_port),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            try:
                wait_for_health(base_url, process, timeout=startup_timeout)
            except ServerError as exc:
                raise ServerError(f"{exc}\n--- {log_path} ---\n{_log_tail(log_path)}") from exc
            yield base_url
        finally:
            _stop(process, stop_timeout)


@contextlib.contextmanager
def run_servers(
    specs: Sequence[ServerSpec], *, startup_timeout: float = 180.0, stop_timeout: float = 15.0
) -> Iterator[dict[str, str]]:
    """Start every server in ``specs``; yield ``{role: base_url}``; stop them all on exit.

    Each server gets its own free port; see :func:`run_server` for the timeouts.
    """
    with contextlib.ExitStack() as stack:
        urls: dict[str, str] = {}
        for spec in specs:
            url = stack.enter_context(
                run_server(spec, startup_timeout=startup_timeout, stop_timeout=stop_timeout)
            )
            for role in spec.roles:
                urls.setdefault(role, url)
        yield urls
