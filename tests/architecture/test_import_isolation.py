"""The transport imports no framework: it works where LangChain and LlamaIndex are absent."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

BLOCKED = ("langchain_core", "langchain", "llama_index")

SCRIPT = textwrap.dedent(
    """
    import importlib
    import importlib.abc
    import json
    import pkgutil
    import sys

    BLOCKED = {blocked!r}
    attempts = []

    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                attempts.append(name)
                raise ImportError(f"{{name}} is blocked for this test")
            return None

    sys.meta_path.insert(0, Blocker())

    for name in BLOCKED:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
        else:
            raise SystemExit(f"the blocker failed to block {{name}}")
    attempts.clear()

    import modelslab_transport

    imported = ["modelslab_transport"]
    for info in pkgutil.walk_packages(modelslab_transport.__path__, "modelslab_transport."):
        importlib.import_module(info.name)
        imported.append(info.name)

    from modelslab_transport import ClientSettings, ModelsLabClient

    client = ModelsLabClient(ClientSettings(api_key="k"))
    print(json.dumps({{
        "imported": imported,
        "attempts": attempts,
        "leaked": sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED),
        "client": type(client).__name__,
        "all": sorted(modelslab_transport.__all__),
    }}))
    """
).format(blocked=BLOCKED)


def test_transport_imports_without_langchain_or_llama_index() -> None:
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    imported = set(report["imported"])
    for module in (
        "modelslab_transport",
        "modelslab_transport.client",
        "modelslab_transport.decoding.replies",
        "modelslab_transport.decoding.error_bodies",
        "modelslab_transport.errors",
        "modelslab_transport.limits.retry",
        "modelslab_transport.config.settings",
        "modelslab_transport.http.streams",
        "modelslab_transport.chat.accumulate",
        "modelslab_transport.chat.tool_calls",
        "modelslab_transport.wire",
        "modelslab_transport.wire.chat",
        "modelslab_transport.wire.messages",
        "modelslab_transport.wire.catalog",
    ):
        assert module in imported
    assert report["attempts"] == []
    assert report["leaked"] == []
    assert report["client"] == "ModelsLabClient"
    assert "ModelsLabClient" in report["all"]
