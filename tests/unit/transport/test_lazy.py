"""PEP 562 lazy exports: a name's module is imported on first access, then cached."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from modelslab_transport._lazy import lazy_exports, names_by_module


def test_names_by_module_inverts_the_table() -> None:
    assert names_by_module({"a": ["X", "Y"], "b": ("Z",)}) == {"X": "a", "Y": "a", "Z": "b"}
    assert names_by_module({}) == {}


def test_getattr_imports_the_module_and_caches_the_value() -> None:
    namespace: dict[str, Any] = {"__name__": "json", "already": 1}
    getattr_, dir_ = lazy_exports("json", namespace, {"JSONDecoder": "decoder"})
    value = getattr_("JSONDecoder")
    assert value is sys.modules["json.decoder"].JSONDecoder
    assert namespace["JSONDecoder"] is value
    assert dir_() == ["JSONDecoder", "__name__", "already"]


def test_an_unknown_name_is_an_attribute_error_naming_the_package() -> None:
    getattr_, _ = lazy_exports("json", {}, {})
    with pytest.raises(AttributeError, match="module 'json' has no attribute 'nothing'"):
        getattr_("nothing")
