"""API keys and header values: whitespace stripped, characters no header carries refused, the
key never shown in the error."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from modelslab_transport import ClientSettings
from modelslab_transport.config.credentials import check_header, clean_api_key

KEY = "sk-transport-3Jd8Kq0Zp7Lw2Nx5Vb9Hc4Ty6"


@pytest.mark.parametrize("given", [KEY + "\n", f"  {KEY}  ", f"\t{KEY}\r\n"])
def test_surrounding_whitespace_is_stripped_from_str_and_secret_keys(given: str) -> None:
    for value in (given, SecretStr(given)):
        settings = ClientSettings(api_key=value)
        assert settings.api_key is not None
        assert settings.api_key.get_secret_value() == KEY


@pytest.mark.parametrize(
    ("inside", "named"),
    [
        ("\r\n", "line break"),
        ("\n", "line break"),
        ("\t", "tab"),
        ("\x00", "control character"),
        ("\x7f", "control character"),
        ("\u2019", "non-ASCII"),
        ("\u00a0", "non-ASCII"),
    ],
)
def test_a_key_with_a_character_no_header_carries_is_refused(inside: str, named: str) -> None:
    key = KEY[:10] + inside + KEY[10:]
    with pytest.raises(ValidationError) as caught:
        ClientSettings(api_key=key)
    text = str(caught.value) + repr(caught.value)
    assert named in text
    assert "position 11" in text
    assert KEY[10:18] not in text  # no part of the key
    assert KEY[:10] not in text
    with pytest.raises(ValueError, match=named):
        clean_api_key(key)


@pytest.mark.parametrize(
    ("key", "position"), [(KEY[:12] + " " + KEY[12:], 13), ("Bearerish key", 10), ("ab cd", 3)]
)
def test_a_key_with_an_inner_space_is_refused_without_showing_it(key: str, position: int) -> None:
    # No API key has a space (a Bearer token cannot): it is a key cut by a line wrap or two
    # values pasted together, and error redaction would not recognise it as a key.
    for build in (clean_api_key, lambda value: ClientSettings(api_key=value)):
        with pytest.raises(
            ValueError, match=f"api_key contains a space at position {position}"
        ) as caught:
            build(f" {key}\n")
        text = str(caught.value)
        assert "an API key has none" in text
        assert key not in text
        assert KEY[:10] not in text


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BASIC", "Token"])
def test_a_key_pasted_with_its_authorization_scheme_is_refused(scheme: str) -> None:
    for build in (clean_api_key, lambda key: ClientSettings(api_key=key)):
        with pytest.raises(ValueError, match="authorization scheme") as caught:
            build(f"  {scheme} {KEY}\n")
        text = str(caught.value)
        assert f"starts with the authorization scheme {scheme!r}: pass the key alone" in text
        assert KEY[:10] not in text
        assert KEY[10:18] not in text


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("X-A", "v\r\nX-B: 1", "line break"),
        ("X-A", "caf\u00e9", "non-ASCII"),
        ("X-A", "v\x00", "control character"),
        ("X A", "v", "a space"),
        ("X:A", "v", "a colon"),
        ("", "v", "is empty"),
        ("X-A\n", "v", "line break"),
    ],
)
def test_default_headers_that_cannot_be_sent_are_refused(
    name: str, value: str, problem: str
) -> None:
    with pytest.raises(ValidationError, match=problem) as caught:
        ClientSettings(default_headers={name: value})
    assert value not in str(caught.value) or value == "v"


def test_default_header_values_are_stripped_and_may_hold_tabs() -> None:
    settings = ClientSettings(default_headers={"X-A": "  a\tb \n"})
    assert settings.default_headers == {"X-A": "a\tb"}
    assert check_header("anthropic-version", " 2023-06-01\n") == ("anthropic-version", "2023-06-01")
    with pytest.raises(ValidationError, match="anthropic_version"):
        ClientSettings(anthropic_version="2023\r\n06")
