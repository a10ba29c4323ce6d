"""Build llama.cpp's ``llama-server`` from the sources vendored in llama-cpp-python.

Nothing is downloaded but the pinned ``llama-cpp-python`` sdist from PyPI (with
``pip download``); it vendors llama.cpp under ``vendor/llama.cpp``. The build is
*portable*: ``GGML_NATIVE`` is off and only AVX/AVX2/FMA/F16C/BMI2 are enabled
(AVX-512 and AMX off), since native builds crash on some of the CPUs this runs
on. The web UI, OpenSSL and curl are disabled, so the build needs no network.

Layout (all under the git-ignored ``<repo>/.cache``)::

    downloads/llama_cpp_python-<v>.tar.gz           the sdist
    llama.cpp/src/llama_cpp_python-<v>/             the unpacked sdist
    llama.cpp/build/llama_cpp_python-<v>/bin/llama-server
    llama.cpp/build/llama_cpp_python-<v>/recording-build.json   version + flags

Building is idempotent: when the binary exists it is reused.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

from tools.recording import cache_dir

__all__ = [
    "CMAKE_FLAGS",
    "LLAMA_CPP_PYTHON_SDIST_SHA256",
    "LLAMA_CPP_PYTHON_VERSION",
    "BuildError",
    "LlamaCppBuild",
    "LlamaCppVersion",
    "build_dir",
    "ensure_llama_server",
    "ensure_sdist",
    "ensure_source",
    "read_vendored_version",
    "sha256_file",
]

LLAMA_CPP_PYTHON_VERSION = "0.3.36"
"""The pinned llama-cpp-python release whose vendored llama.cpp is built."""

LLAMA_CPP_PYTHON_SDIST_SHA256 = "832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e"
"""sha256 of ``llama_cpp_python-<LLAMA_CPP_PYTHON_VERSION>.tar.gz`` as served by PyPI."""

CMAKE_FLAGS: tuple[str, ...] = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DBUILD_SHARED_LIBS=OFF",
    # Portable CPU build: never -march=native.
    "-DGGML_NATIVE=OFF",
    "-DGGML_AVX=ON",
    "-DGGML_AVX2=ON",
    "-DGGML_FMA=ON",
    "-DGGML_F16C=ON",
    "-DGGML_BMI2=ON",
    "-DGGML_AVX_VNNI=OFF",
    "-DGGML_AVX512=OFF",
    "-DGGML_AVX512_VBMI=OFF",
    "-DGGML_AVX512_VNNI=OFF",
    "-DGGML_AVX512_BF16=OFF",
    "-DGGML_AMX_TILE=OFF",
    "-DGGML_AMX_INT8=OFF",
    "-DGGML_AMX_BF16=OFF",
    # No network at build or run time.
    "-DLLAMA_CURL=OFF",
    "-DLLAMA_OPENSSL=OFF",
    "-DLLAMA_BUILD_UI=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF",
    # Only what llama-server needs.
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
)
"""CMake cache flags of the portable build (version flags are added separately)."""

BUILD_TARGET = "llama-server"
"""The only CMake target built."""

BUILD_JOBS = 2
"""Parallel compile jobs (the machines have two cores)."""

_STAMP_NAME = "recording-build.json"
_COMMIT_RE = re.compile(r"llama\.cpp to ggml-org/llama\.cpp@([0-9a-f]{7,40})")


class BuildError(RuntimeError):
    """Raised when the sdist cannot be fetched or llama-server cannot be built."""


@dataclasses.dataclass(frozen=True)
class LlamaCppVersion:
    """Which llama.cpp is vendored in a llama-cpp-python sdist."""

    llama_cpp_python: str
    """Version of the llama-cpp-python sdist the sources come from."""
    commit: str
    """Upstream llama.cpp commit (abbreviated) named in the sdist's CHANGELOG."""
    ggml: str
    """ggml version from ``ggml/CMakeLists.txt``."""

    def describe(self) -> str:
        """Return a one-line human description, e.g. ``llama.cpp@0c1e570 (ggml 0.25.3)``."""
        return (
            f"llama.cpp@{self.commit} (ggml {self.ggml}), vendored in "
            f"llama-cpp-python {self.llama_cpp_python}"
        )


@dataclasses.dataclass(frozen=True)
class LlamaCppBuild:
    """A built ``llama-server`` binary and where it came from."""

    binary: Path
    """Path of the ``llama-server`` executable."""
    version: LlamaCppVersion
    """The vendored llama.cpp version the binary was built from."""
    cmake_flags: tuple[str, ...]
    """The CMake flags used for the build."""
    version_output: str
    """What ``llama-server --version`` prints (its embedded build info)."""


def sha256_file(path: Path) -> str:
    """Return the hex sha256 digest of the file at ``path``."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _sdist_name(version: str) -> str:
    return f"llama_cpp_python-{version}"


def build_dir(version: str = LLAMA_CPP_PYTHON_VERSION) -> Path:
    """Return the CMake build folder for the given llama-cpp-python version."""
    return cache_dir() / "llama.cpp" / "build" / _sdist_name(version)


def ensure_sdist(version: str = LLAMA_CPP_PYTHON_VERSION) -> Path:
    """Return the path of the llama-cpp-python sdist, downloading it with pip if absent.

    The file is checked against :data:`LLAMA_CPP_PYTHON_SDIST_SHA256` when
    ``version`` is the pinned one.
    """
    downloads = cache_dir() / "downloads"
    sdist = downloads / f"{_sdist_name(version)}.tar.gz"
    if not sdist.is_file():
        downloads.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-binary",
            ":all:",
            "--dest",
            str(downloads),
            f"llama-cpp-python=={version}",
        ]
        print("+ " + " ".join(command), file=sys.stderr, flush=True)
        result = subprocess.run(command, check=False)
        if result.returncode != 0 or not sdist.is_file():
            raise BuildError(f"pip download of llama-cpp-python=={version} failed")
    if version == LLAMA_CPP_PYTHON_VERSION:
        actual = sha256_file(sdist)
        if actual != LLAMA_CPP_PYTHON_SDIST_SHA256:
            raise BuildError(
                f"{sdist} has sha256 {actual}, expected {LLAMA_CPP_PYTHON_SDIST_SHA256}"
            )
    return sdist


def _extract(archive: Path, dest: Path) -> None:
    with tarfile.open(archive, "r:gz") as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, filter="data")
        else:  # pragma: no cover - Python without PEP 706 backports
            root = dest.resolve()
            for member in tar.getmembers():
                target = (dest / member.name).resolve()
                if root not in target.parents and target != root:
                    raise BuildError(f"unsafe path in {archive}: {member.name}")
                if member.issym() or member.islnk():
                    raise BuildError(f"link in {archive}: {member.name}")
            tar.extractall(dest)


def ensure_source(version: str = LLAMA_CPP_PYTHON_VERSION) -> Path:
    """Unpack the sdist (once) and return its vendored ``llama.cpp`` source folder."""
    src_root = cache_dir() / "llama.cpp" / "src"
    unpacked = src_root / _sdist_name(version)
    source = unpacked / "vendor" / "llama.cpp"
    if (source / "CMakeLists.txt").is_file():
        return source
    sdist = ensure_sdist(version)
    partial = src_root / f".{_sdist_name(version)}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    _extract(sdist, partial)
    shutil.rmtree(unpacked, ignore_errors=True)
    (partial / _sdist_name(version)).rename(unpacked)
    shutil.rmtree(partial, ignore_errors=True)
    if not (source / "CMakeLists.txt").is_file():
        raise BuildError(f"{sdist} has no vendor/llama.cpp")
    return source


def read_vendored_version(source: Path, version: str = LLAMA_CPP_PYTHON_VERSION) -> LlamaCppVersion:
    """Read which llama.cpp commit and ggml version ``source`` (vendor/llama.cpp) holds.

    The sdist carries no git metadata; its ``CHANGELOG.md`` names the upstream
    commit in the release's section ("update llama.cpp to ggml-org/llama.cpp@<sha>").
    """
    changelog = source.parents[1] / "CHANGELOG.md"
    commit = "unknown"
    if changelog.is_file():
        in_section = False
        for line in changelog.read_text(encoding="utf-8").splitlines():
            if line.startswith("## ["):
                if in_section:
                    break
                in_section = line.startswith(f"## [{version}]")
                continue
            match = _COMMIT_RE.search(line) if in_section else None
            if match:
                commit = match.group(1)
                break
    ggml = "unknown"
    ggml_cmake = source / "ggml" / "CMakeLists.txt"
    if ggml_cmake.is_file():
        text = ggml_cmake.read_text(encoding="utf-8")
        parts = [
            re.search(rf"set\(GGML_VERSION_{name}\s+(\d+)\)", text)
            for name in ("MAJOR", "MINOR", "PATCH")
        ]
        if all(parts):
            ggml = ".".join(m.group(1) for m in parts if m)
    return LlamaCppVersion(llama_cpp_python=version, commit=commit, ggml=ggml)


def _version_output(binary: Path) -> str:
    try:
        result = subprocess.run(
            [str(binary), "--version"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BuildError(f"{binary} --version failed: {exc}") from exc
    if result.returncode != 0:
        raise BuildError(f"{binary} --version exited {result.returncode}: {result.stderr}")
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    wanted = [line for line in lines if line.startswith(("version:", "built with"))]
    return "\n".join(wanted or lines)


def _run(command: list[str], env: dict[str, str]) -> None:
    print("+ " + " ".join(command), file=sys.stderr, flush=True)
    result = subprocess.run(command, env=env, check=False)
    if result.returncode != 0:
        raise BuildError(f"command failed with exit code {result.returncode}: {command[:3]}...")


def ensure_llama_server(
    version: str = LLAMA_CPP_PYTHON_VERSION, *, force: bool = False
) -> LlamaCppBuild:
    """Return the built ``llama-server``, building it first if it does not exist.

    With ``force`` the CMake configure and build steps run again even if the binary
    exists. The build takes several minutes on two cores.
    """
    source = ensure_source(version)
    llama_version = read_vendored_version(source, version)
    out = build_dir(version)
    binary = out / "bin" / BUILD_TARGET
    stamp = out / _STAMP_NAME
    flags = (
        *CMAKE_FLAGS,
        f"-DLLAMA_BUILD_COMMIT={llama_version.commit}",
        "-DLLAMA_BUILD_NUMBER=0",
    )
    if force or not binary.is_file():
        if shutil.which("cmake") is None:
            raise BuildError("cmake is required to build llama-server (apt-get install cmake)")
        env = dict(os.environ)
        # The source tree sits inside this repository's work tree: stop llama.cpp's
        # build-info step from reporting *this* repository's git commit.
        env["GIT_CEILING_DIRECTORIES"] = str(source.parent)
        _run(["cmake", "-S", str(source), "-B", str(out), *flags], env)
        _run(
            [
                "cmake",
                "--build",
                str(out),
                "--config",
                "Release",
                "--target",
                BUILD_TARGET,
                "-j",
                str(BUILD_JOBS),
            ],
            env,
        )
        if not binary.is_file():
            raise BuildError(f"the build finished but {binary} does not exist")
        stamp.unlink(missing_ok=True)
    if stamp.is_file():
        data = json.loads(stamp.read_text(encoding="utf-8"))
        return LlamaCppBuild(
            binary=binary,
            version=LlamaCppVersion(**data["version"]),
            cmake_flags=tuple(data["cmake_flags"]),
            version_output=str(data["version_output"]),
        )
    build = LlamaCppBuild(
        binary=binary,
        version=llama_version,
        cmake_flags=flags,
        version_output=_version_output(binary),
    )
    stamp.write_text(
        json.dumps(
            {
                "version": dataclasses.asdict(llama_version),
                "cmake_flags": list(flags),
                "version_output": build.version_output,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    return build
