"""``help(ChatModelsLab)`` lists the fields before any instance exists (deferred schema)."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys

from langchain_modelslab import ChatModelsLab
from modelslab_transport.config.fields import ModelsLabFields
from tests.conftest import REPO_ROOT


def _documented_fields() -> list[str]:
    # cleandoc: Python 3.13 strips a docstring's common indentation at compile time.
    doc = inspect.cleandoc(ChatModelsLab.__doc__ or "")
    section = doc.split("\nFields:\n", 1)[1].split("\n\n", 1)[0]
    return re.findall(r"^    (\w+): ", section, re.MULTILINE)


def test_fields_section_lists_every_public_field_in_order() -> None:
    shared = ModelsLabFields.model_fields  # declared once, for both framework classes
    own = [
        name
        for name in ChatModelsLab.model_fields
        if name in shared or name in ChatModelsLab.__annotations__
    ]
    assert _documented_fields() == own


def test_help_shows_the_fields_while_the_schema_is_still_deferred() -> None:
    code = (
        "import pydoc\n"
        "from langchain_modelslab import ChatModelsLab\n"
        "print(ChatModelsLab.__pydantic_complete__)\n"
        "print(pydoc.render_doc(ChatModelsLab, renderer=pydoc.plaintext))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    complete, text = result.stdout.split("\n", 1)
    assert complete == "False"  # importing did not build the pydantic schema
    fields = text.split("Fields:", 1)[1]
    for name in ("model", "api_key", "base_url", "temperature", "max_tokens", "timeout"):
        assert re.search(rf"^\s*\|?\s*{name}: \S", fields, re.MULTILINE), name
