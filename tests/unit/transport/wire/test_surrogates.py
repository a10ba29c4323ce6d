"""UTF-16 surrogates in replies: split pairs joined across stream events, lone halves as
U+FFFD, and a request's lone surrogate named by its path."""

from __future__ import annotations

from typing import Any

from modelslab_transport.wire.surrogates import (
    SurrogateJoiner,
    lone_surrogate_error,
    well_formed,
    well_formed_pairs,
    well_formed_strings,
)

HIGH, LOW = "\ud83d", "\ude00"  # the two halves of U+1F600
FACE = "\U0001f600"


def test_well_formed_joins_pairs_and_replaces_lone_halves() -> None:
    assert well_formed("plain") == "plain"
    assert well_formed(f"a{HIGH}{LOW}b") == f"a{FACE}b"
    assert well_formed(f"a{HIGH}b{LOW}") == "a\ufffdb\ufffd"


def test_well_formed_pairs_keeps_lone_halves() -> None:
    assert well_formed_pairs(f"{HIGH}{LOW}{HIGH}") == f"{FACE}{HIGH}"


def test_well_formed_strings_walks_decoded_json_in_place() -> None:
    payload: Any = {"a": [f"{HIGH}{LOW}", 1, {"b": LOW}], "c": None}
    assert well_formed_strings(payload) is payload
    assert payload == {"a": [FACE, 1, {"b": "\ufffd"}], "c": None}
    assert well_formed_strings(HIGH) == "\ufffd"


def test_a_pair_split_between_events_is_joined_at_the_same_path() -> None:
    joiner = SurrogateJoiner()
    first = joiner.join({"choices": [{"delta": {"content": f"hi {HIGH}"}}]})
    assert first == {"choices": [{"delta": {"content": "hi "}}]}
    assert joiner.holding
    second = joiner.join({"choices": [{"delta": {"content": f"{LOW}!"}}]})
    assert second == {"choices": [{"delta": {"content": f"{FACE}!"}}]}
    assert not joiner.holding


def test_a_held_half_without_a_string_next_time_becomes_a_replacement() -> None:
    joiner = SurrogateJoiner()
    joiner.join({"delta": {"text": f"x{HIGH}"}})
    assert joiner.join({"delta": {}}) == {"delta": {"text": "\ufffd"}}
    joiner.join({"delta": {"text": HIGH}})
    assert joiner.join({"other": 1}) == {"other": 1}  # no parent there: nothing to put back
    assert not joiner.holding


def test_a_held_half_followed_by_a_non_low_half_is_replaced() -> None:
    joiner = SurrogateJoiner()
    joiner.join(["a", f"b{HIGH}"])
    assert joiner.join(["c", "d"]) == ["c", "\ufffdd"]


def test_lone_surrogate_error_names_the_path_and_code_point() -> None:
    error = lone_surrogate_error({"messages": [{"content": f"ok {HIGH}{LOW} then {LOW}"}]})
    assert str(error) == (
        "messages[0].content has a lone UTF-16 surrogate (U+DE00 at index 10), which UTF-8 "
        "cannot carry: remove it, or decode the text with errors='replace'"
    )
    assert "the request has a lone" in str(lone_surrogate_error(HIGH))
    assert str(lone_surrogate_error({"a": "fine"})) == (
        "the request's text cannot be encoded as UTF-8"
    )
