"""``json_text.loads``: every failure to read JSON from the network is a ``ValueError``."""

from __future__ import annotations

import pytest

from modelslab_transport.wire import json_text


def _nested(levels: int) -> list[object]:
    value: list[object] = [1]
    for _ in range(levels - 1):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('{"a": {"b": [1, {"c": 2}]}}', {"a": {"b": [1, {"c": 2}]}}),
        ("[" * 99 + "[1]" + "]" * 99, _nested(100)),  # exactly MAX_DEPTH levels
        ('"text"', "text"),
        (b"[1, 2]", [1, 2]),
    ],
    ids=["nested", "at the limit", "scalar", "bytes"],
)
def test_json_within_the_limits_parses_as_json_loads_would(
    text: str | bytes, value: object
) -> None:
    assert json_text.loads(text) == value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 101 + "]" * 101, "over 100 levels deep"),
        ('{"a":' * 900 + "1" + "}" * 900, "over 100 levels deep"),  # parses, but too deep
        ("[" * 100_000 + "]" * 100_000, "nested too deeply to parse"),  # json's recursion
        ('{"a": [1, 2}', "Expecting"),
    ],
    ids=["101 arrays", "900 objects", "100,000 arrays", "not JSON"],
)
def test_too_deep_or_broken_json_is_a_value_error(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        json_text.loads(text)
