"""Command line: ``python -m tools.recording {build,serve,info,record}``.

* ``build [--force]`` builds ``llama-server`` (idempotent) and fetches the model;
* ``serve`` starts the recording server(s), prints their base URLs and the
  environment to point the tests at them, and blocks until Ctrl-C;
* ``info`` prints the recording provenance (llama.cpp version, model file and
  sha256, chat template, flags) as markdown;
* ``record [pytest args...]`` builds if needed, starts the server(s), runs
  ``python -m pytest --record-mode=rewrite -m vcr <args>`` with
  ``MODELSLAB_BASE_URL`` / ``MODELSLAB_TOOLS_BASE_URL`` pointing at them, stops
  them, and appends a provenance entry to ``cassettes/README.md``. When
  ``MODELSLAB_API_KEY`` is set and ``MODELSLAB_BASE_URL`` is not, it records
  against the live ModelsLab API instead (no local server).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import shlex
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from tools.recording import REPO_ROOT
from tools.recording.build import BuildError, LlamaCppBuild, ensure_llama_server
from tools.recording.server import (
    ROLE_CHAT,
    ROLE_TOOLS,
    ServerError,
    ServerSpec,
    recording_servers,
    run_servers,
)
from tools.recording.weights import ModelFile, WeightsError, ensure_model

__all__ = ["FAKE_API_KEY", "LIVE_BASE_URL", "Setup", "main", "provenance_markdown"]

FAKE_API_KEY = "test-key-for-local-server"
"""API key sent to the local server (llama-server runs without ``--api-key``)."""

LIVE_BASE_URL = "https://modelslab.com/api/v7/llm"
"""Base URL of the live ModelsLab LLM API."""

ENV_BASE_URL = "MODELSLAB_BASE_URL"
ENV_TOOLS_BASE_URL = "MODELSLAB_TOOLS_BASE_URL"
ENV_API_KEY = "MODELSLAB_API_KEY"

CASSETTES_README = REPO_ROOT / "cassettes" / "README.md"
"""File the ``record`` command appends its provenance entries to."""

_ROLE_ENV = {ROLE_CHAT: ENV_BASE_URL, ROLE_TOOLS: ENV_TOOLS_BASE_URL}


@dataclasses.dataclass(frozen=True)
class Setup:
    """Everything needed to run the recording server(s)."""

    build: LlamaCppBuild
    """The built llama-server."""
    model: ModelFile
    """The GGUF model file."""
    servers: tuple[ServerSpec, ...]
    """The server(s) to run."""


def prepare(*, force_build: bool = False) -> Setup:
    """Build llama-server if needed, fetch the model, and return the recording setup."""
    build = ensure_llama_server(force=force_build)
    model = ensure_model()
    servers = recording_servers(build.binary, model.path)
    return Setup(build=build, model=model, servers=tuple(servers))


def provenance_markdown(setup: Setup, urls: dict[str, str] | None = None) -> str:
    """Return the provenance of a local recording setup as a markdown list."""
    build = setup.build
    model = setup.model
    version_output = "; ".join(build.version_output.splitlines())
    lines = [
        f"- llama.cpp: {build.version.describe()}",
        f"- llama-server `--version`: `{version_output}`",
        f"- build flags: `{' '.join(build.cmake_flags)}`",
        f"- model: {model.package.model}, file `{model.path.name}` from PyPI "
        f"`{model.package.package}=={model.package.version}`",
        f"- model sha256: `{model.sha256}`",
    ]
    for spec in setup.servers:
        roles = ", ".join(f"{role} (`{_ROLE_ENV.get(role, role)}`)" for role in spec.roles)
        lines.append(f"- server for {roles}:")
        if urls is not None:
            served = sorted({url for role, url in urls.items() if role in spec.roles})
            lines.append(f"  - base URL: {', '.join(served)}")
        lines.append(f"  - chat template: {spec.template_description()}")
        lines.append(f"  - flags: `{spec.display_flags()}`")
        lines.append(f"  - command: `{spec.display_argv()}`")
    return "\n".join(lines)


def _cmd_build(args: argparse.Namespace) -> int:
    setup = prepare(force_build=bool(args.force))
    print(f"llama-server: {setup.build.binary}")
    print(f"model: {setup.model.path} (sha256 {setup.model.sha256})")
    return 0


def _cmd_info(_args: argparse.Namespace) -> int:
    setup = prepare()
    print("## Recording provenance\n")
    print(provenance_markdown(setup))
    return 0


def _raise_keyboard_interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _cmd_serve(_args: argparse.Namespace) -> int:
    setup = prepare()
    # Make `kill <pid>` stop the servers as cleanly as Ctrl-C does.
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        with run_servers(setup.servers) as urls:
            for role, url in urls.items():
                print(f"{role}: {url}")
            print()
            for role, url in urls.items():
                print(f"export {_ROLE_ENV.get(role, role)}={shlex.quote(url)}")
            print(f"export {ENV_API_KEY}=${{{ENV_API_KEY}:-{FAKE_API_KEY}}}")
            print("\nServing; press Ctrl-C to stop.", flush=True)
            threading.Event().wait()
    except KeyboardInterrupt:
        print("\nstopped", file=sys.stderr)
    return 0


def _utc_now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _append_entry(readme: Path, entry: str) -> None:
    readme.parent.mkdir(parents=True, exist_ok=True)
    existing = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    with readme.open("a", encoding="utf-8") as handle:
        if not existing:
            handle.write(
                "# Cassettes\n\nRecorded with `python -m tools.recording record`. "
                "Each recording run appends its provenance below.\n"
            )
        elif not existing.endswith("\n"):
            handle.write("\n")
        handle.write("\n" + entry.rstrip("\n") + "\n")


def _run_pytest(pytest_args: Sequence[str], env: dict[str, str]) -> tuple[list[str], int]:
    command = [sys.executable, "-m", "pytest", "--record-mode=rewrite", "-m", "vcr", *pytest_args]
    print("+ " + shlex.join(command), file=sys.stderr, flush=True)
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, check=False)
    return command, result.returncode


def _cmd_record(args: argparse.Namespace) -> int:
    pytest_args: list[str] = list(args.pytest_args)
    if pytest_args[:1] == ["--"]:
        pytest_args = pytest_args[1:]
    invocation = shlex.join(["python", "-m", "tools.recording", *args.argv])
    env = dict(os.environ)
    live = bool(env.get(ENV_API_KEY)) and not env.get(ENV_BASE_URL) and not args.local
    date = _utc_now()
    if live:
        env[ENV_BASE_URL] = LIVE_BASE_URL
        env[ENV_TOOLS_BASE_URL] = LIVE_BASE_URL
        # pyproject's pytest addopts only allow loopback sockets.
        command, status = _run_pytest(["--force-enable-socket", *pytest_args], env)
        details = (
            f"- server: live ModelsLab API at {LIVE_BASE_URL} (`{ENV_API_KEY}` from the "
            "environment)"
        )
    else:
        setup = prepare()
        env.setdefault(ENV_API_KEY, FAKE_API_KEY)
        if not env[ENV_API_KEY]:
            env[ENV_API_KEY] = FAKE_API_KEY
        with run_servers(setup.servers) as urls:
            env[ENV_BASE_URL] = urls[ROLE_CHAT]
            env[ENV_TOOLS_BASE_URL] = urls.get(ROLE_TOOLS, urls[ROLE_CHAT])
            command, status = _run_pytest(pytest_args, env)
        details = "- server: local llama.cpp `llama-server` on 127.0.0.1\n" + provenance_markdown(
            setup, urls
        )
    entry = "\n".join(
        [
            f"## Recording of {date}",
            "",
            details,
            f"- date: {date}",
            f"- command: `{invocation}`",
            f"- pytest: `{shlex.join(['python', *command[1:]])}` (exit status {status})",
        ]
    )
    _append_entry(args.readme, entry)
    print(f"provenance appended to {args.readme}", file=sys.stderr)
    return status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tools.recording",
        description="Build and run a local llama-server to record the HTTP cassettes.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build llama-server and fetch the model (idempotent)")
    build.add_argument("--force", action="store_true", help="configure and build again")
    build.set_defaults(func=_cmd_build)
    serve = sub.add_parser("serve", help="run the recording server(s) until Ctrl-C")
    serve.set_defaults(func=_cmd_serve)
    info = sub.add_parser("info", help="print the recording provenance as markdown")
    info.set_defaults(func=_cmd_info)
    record = sub.add_parser(
        "record",
        help="record cassettes: python -m pytest --record-mode=rewrite -m vcr [ARGS...]",
    )
    record.add_argument(
        "--local",
        action="store_true",
        help=f"use the local server even when {ENV_API_KEY} is set",
    )
    record.add_argument(
        "--readme",
        type=Path,
        default=CASSETTES_README,
        help="markdown file to append the provenance entry to (default: cassettes/README.md)",
    )
    record.add_argument("pytest_args", nargs=argparse.REMAINDER, help="arguments for pytest")
    record.set_defaults(func=_cmd_record)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit status."""
    argv_list = list(sys.argv[1:] if argv is None else argv)
    args, extra = _parser().parse_known_args(argv_list)
    if extra:
        if args.command != "record":
            _parser().error(f"unrecognized arguments: {' '.join(extra)}")
        # Options meant for pytest that argparse saw before the first positional.
        args.pytest_args = [*extra, *args.pytest_args]
    args.argv = argv_list
    try:
        status: int = args.func(args)
    except (BuildError, WeightsError, ServerError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
