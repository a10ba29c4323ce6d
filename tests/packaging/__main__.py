"""Build the sdist and wheel, then install the wheel with each extra into a clean venv.

``python -m tests.packaging [--keep DIR]`` does, with pip and PyPI only:

1. ``python -m build`` (in a throwaway venv) into a temporary ``dist/``;
2. checks the sdist holds the three packages, the top README and LICENSE, and no other
   README; checks the wheel's metadata (version, Python classifiers, Project-URLs,
   license, no ``bench`` extra);
3. for each of ``""``, ``[langchain]``, ``[agents]``, ``[llama-index]``: a fresh venv,
   ``pip install <wheel>[extra]``, then, from a directory outside the checkout (so the
   installed copy is what runs), the README snippets that extra is for, against the
   loopback :class:`~tests.support.openai_fake.OpenAIFake`; the transport-only install must
   refuse ``import langchain_modelslab`` with the extra's name, and ``pip show`` must
   show the license.

Exits non-zero with the failing step's output on the first failure.
"""

from __future__ import annotations

import argparse
import email
import os
import subprocess
import sys
import tarfile
import tempfile
import venv
import zipfile
from pathlib import Path

from modelslab_transport import __version__
from tests.conftest import REPO_ROOT
from tests.support.openai_fake import OpenAIFake
from tests.test_readme import EXPECTED, SNIPPETS

# The README snippets each install runs (the RAG snippet needs examples/ from a checkout).
EXTRAS: dict[str, list[str]] = {
    "": [],
    "langchain": ["list-models", "langchain-quickstart"],
    "agents": ["langchain-agent"],
    "llama-index": ["llama-index-quickstart"],
}

TRANSPORT_ONLY = f"""
import modelslab_transport
assert modelslab_transport.__version__ == {__version__!r}, modelslab_transport.__version__
for package, extra in (("langchain_modelslab", "langchain"),
                       ("llama_index_modelslab", "llama-index")):
    try:
        __import__(package)
    except ImportError as error:
        assert f'pip install "modelslab-llm[{{extra}}]"' in str(error), str(error)
    else:
        raise AssertionError(package + " imported without its extra")
from modelslab_transport import ClientSettings, ModelsLabClient
from modelslab_transport.wire import ChatCompletionRequest, ChatMessage
client = ModelsLabClient(ClientSettings())
request = ChatCompletionRequest(
    model="google-gemma-3-1b-it",
    messages=[ChatMessage(role="user", content="Hello!")],
    max_tokens=256,
)
print(client.chat(request).choices[0].message.text)
"""


def run(command: list[str], **kwargs: object) -> str:
    """Run ``command``; on failure print its output and exit."""
    result = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    if result.returncode != 0:
        sys.exit(f"FAILED: {' '.join(command)}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return str(result.stdout)


def make_venv(where: Path) -> Path:
    venv.EnvBuilder(with_pip=True, clear=True).create(where)
    python = where / "bin" / "python"
    run([str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    return python


def build(work: Path) -> tuple[Path, Path]:
    python = make_venv(work / "build-venv")
    run([str(python), "-m", "pip", "install", "--quiet", "build"])
    dist = work / "dist"
    run([str(python), "-m", "build", "--outdir", str(dist), str(REPO_ROOT)])
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    return wheel, sdist


def check_sdist(sdist: Path) -> None:
    with tarfile.open(sdist) as archive:
        names = [name.split("/", 1)[1] for name in archive.getnames() if "/" in name]
    readmes = sorted(name for name in names if name.lower().endswith("readme.md"))
    assert readmes == ["README.md"], f"sdist READMEs: {readmes}"
    tops = {name.split("/")[0] for name in names}
    expected = {"modelslab_transport", "langchain_modelslab", "llama_index_modelslab"}
    assert expected <= tops, f"sdist lacks {expected - tops}"
    assert {"README.md", "LICENSE", "pyproject.toml", "PKG-INFO"} <= tops, tops
    assert not tops & {"tests", "cassettes", "benchmarks", "examples"}, tops


def check_wheel_metadata(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = email.message_from_bytes(archive.read(name))
    assert metadata["Version"] == __version__, metadata["Version"]
    classifiers = metadata.get_all("Classifier") or []
    for version in ("3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {version}" in classifiers, classifiers
    assert metadata.get_all("Project-URL"), "no Project-URL"
    assert metadata["License-Expression"] == "MIT", metadata["License-Expression"]
    extras = set(metadata.get_all("Provides-Extra") or [])
    assert "bench" not in extras, extras
    assert {"langchain", "agents", "llama-index"} <= extras, extras


def check_install(work: Path, wheel: Path, extra: str, base_url: str) -> None:
    label = extra or "transport only"
    python = make_venv(work / f"venv-{extra or 'bare'}")
    target = f"{wheel}[{extra}]" if extra else str(wheel)
    run([str(python), "-m", "pip", "install", "--quiet", target])
    shown = run([str(python), "-m", "pip", "show", "modelslab-llm"])
    assert "MIT" in shown, shown
    outside = work / "elsewhere"
    outside.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELSLAB_")}
    env["MODELSLAB_BASE_URL"] = base_url
    env.pop("PYTHONPATH", None)
    codes = {"transport": TRANSPORT_ONLY} if not extra else {}
    codes.update({name: SNIPPETS[name] for name in EXTRAS[extra]})
    for name, code in codes.items():
        out = run([str(python), "-c", code], cwd=outside, env=env)
        for text in EXPECTED.get(name, (["Hello from the fake server."], []))[0]:
            assert text in out, f"{label} / {name}: {text!r} not in\n{out}"
        print(f"ok: [{label}] {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="build and install here (kept)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        work = args.keep or Path(temporary)
        work.mkdir(parents=True, exist_ok=True)
        wheel, sdist = build(work)
        check_sdist(sdist)
        check_wheel_metadata(wheel)
        print(f"ok: built {wheel.name} and {sdist.name}")
        with OpenAIFake() as server:
            for extra in EXTRAS:
                check_install(work, wheel, extra, server.base_url)
    print("packaging check passed")


if __name__ == "__main__":
    main()
