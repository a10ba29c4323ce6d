"""What each package imports up front, and what it leaves for first use.

``import langchain_modelslab`` should cost little more than LangChain's own
``BaseChatModel`` (benchmarks/RESULTS.md, scenario 5): httpx2, the HTTP client, the wire
types and the message conversions are imported when a request is first built. These
tests pin down which modules a fresh interpreter has loaded; the timings themselves
live in the benchmarks, never in tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

import modelslab_transport
import modelslab_transport.wire

# Loaded only once a request is built or a client is needed.
DEFERRED = (
    "httpx2",
    "modelslab_transport.client",
    "modelslab_transport.config.settings",
    "modelslab_transport.decoding.replies",
    "modelslab_transport.wire.chat",
    "modelslab_transport.wire.messages",
    "modelslab_transport.protocols.messages",
    "langchain_modelslab.conversions",
    "langchain_modelslab.structured_output",
)


def _modules_after(code: str) -> list[str]:
    """The modules a fresh interpreter has loaded after running ``code``."""
    script = textwrap.dedent(code) + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    completed = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    loaded: list[str] = json.loads(completed.stdout.strip().splitlines()[-1])
    return loaded


def test_importing_chat_models_lab_defers_the_transport() -> None:
    loaded = _modules_after(
        "from langchain_modelslab import ChatModelsLab, ModelsLabAuthenticationError"
    )
    # LangChain itself imports httpx2 (langsmith.utils -> langsmith._httpx), whatever we do.
    early = [name for name in DEFERRED if name in loaded and name != "httpx2"]
    assert early == [], f"imported by `from langchain_modelslab import ChatModelsLab`: {early}"
    # The concurrency limit (and aiologic) are not imported with the package.
    assert "modelslab_transport.limits.queue" not in loaded


def test_building_a_request_imports_what_it_needs() -> None:
    loaded = _modules_after(
        """
        from langchain_core.messages import HumanMessage
        from langchain_modelslab import ChatModelsLab

        llm = ChatModelsLab(api_key="sk-test", base_url="http://127.0.0.1:9")
        _, request = llm._build_request([HumanMessage("hi")], None, stream=False)
        assert request.messages[0].content == "hi", request
        assert llm.client.sync_client is llm.client.sync_client
        parser = llm.with_structured_output({"title": "T", "type": "object", "properties": {}})
        assert parser is not None
        """
    )
    missing = [name for name in DEFERRED if name not in loaded]
    assert missing == []


def test_importing_models_lab_llm_defers_the_http_client() -> None:
    loaded = _modules_after("from llama_index_modelslab import ModelsLabLLM")
    early = [name for name in ("modelslab_transport.client", "httpx2") if name in loaded]
    assert early == []


def test_transport_root_imports_only_its_lazy_table() -> None:
    loaded = _modules_after("import modelslab_transport")
    ours = [name for name in loaded if name.startswith("modelslab_transport")]
    # _version holds one string (__version__, also read by hatch for the wheel).
    assert ours == [
        "modelslab_transport",
        "modelslab_transport._lazy",
        "modelslab_transport._version",
    ]


@pytest.mark.parametrize("package", [modelslab_transport, modelslab_transport.wire])
def test_every_exported_name_resolves(package: object) -> None:
    exported = list(getattr(package, "__all__"))  # noqa: B009 - the module's own list
    table = getattr(package, "_EXPORTS")  # noqa: B009
    assert set(exported) - {"__version__"} == set(table)
    for name in exported:
        value = getattr(package, name)
        assert value is not None, name
        assert name in dir(package)
        if isinstance(value, type):
            assert value.__module__ == f"{package.__name__}.{table[name]}"  # type: ignore[attr-defined]


def test_unknown_names_fail_like_any_module() -> None:
    with pytest.raises(AttributeError, match="modelslab_transport' has no attribute 'Nope'"):
        modelslab_transport.Nope  # type: ignore[attr-defined]  # noqa: B018
    with pytest.raises(ImportError, match="Nope"):
        from modelslab_transport import Nope  # type: ignore[attr-defined]  # noqa: F401
    with pytest.raises(AttributeError, match="wire' has no attribute 'Nope'"):
        modelslab_transport.wire.Nope  # type: ignore[attr-defined]  # noqa: B018


def test_lazy_names_are_the_defining_modules_objects() -> None:
    from modelslab_transport.client import ModelsLabClient
    from modelslab_transport.wire.chat import ChatCompletion

    assert modelslab_transport.ModelsLabClient is ModelsLabClient
    assert modelslab_transport.wire.ChatCompletion is ChatCompletion
