"""Checks of the API key and extra headers before they reach a request; errors never quote them."""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["check_default_headers", "check_header", "clean_api_key"]

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # an RFC 9110 token

_KEY_ADVICE = (
    "an API key is one word of printable ASCII: copy it again from the ModelsLab "
    "dashboard, or strip what you read from a file or environment variable before "
    "passing it as api_key"
)


_SCHEMES = frozenset({"bearer", "basic", "token"})


def _describe(character: str) -> str:
    """A character's kind (never the character, which belongs to a secret)."""
    if character in "\r\n":
        return "a line break (CR or LF)"
    if character == "\t":
        return "a tab"
    if ord(character) < 0x20 or ord(character) == 0x7F:
        return "a control character"
    return "a non-ASCII character (such as a typographic quote or a non-breaking space)"


def _first_bad(text: str, *, allow_tab: bool) -> int | None:
    """Index of the first character a header cannot carry (a tab only in values), or None."""
    for index, character in enumerate(text):
        if " " <= character <= "~" or (allow_tab and character == "\t"):
            continue
        return index
    return None


def clean_api_key(value: str) -> str | None:
    """The key without surrounding whitespace, or None if nothing is left.

    Raises:
        ValueError: for a control, non-ASCII or space character (giving its position,
            never the key), or a leading authorization scheme (``"Bearer sk-..."``).
    """
    key = value.strip()
    if not key:
        return None
    scheme = key.split(" ", 1)[0]
    if " " in key and scheme.lower() in _SCHEMES:
        raise ValueError(
            f"api_key starts with the authorization scheme {scheme!r}: pass the key alone "
            f"(the client sends it as the header ModelsLab expects, with its scheme)"
        )
    bad = _first_bad(key, allow_tab=False)
    if bad is not None:
        raise ValueError(
            f"api_key contains {_describe(key[bad])} at position {bad + 1} "
            f"(after removing surrounding whitespace), which an HTTP header cannot carry; "
            f"{_KEY_ADVICE}"
        )
    if " " in key:
        # A header could carry it, but no key has one, and redaction would not hide it.
        raise ValueError(
            f"api_key contains a space at position {key.index(' ') + 1} (after removing "
            f"surrounding whitespace); an API key has none: {_KEY_ADVICE}"
        )
    return key


def check_header(name: str, value: str, *, setting: str = "default_headers") -> tuple[str, str]:
    """One header: its name (an RFC 9110 token) and its value (printable ASCII), stripped.

    Raises:
        ValueError: naming the header (from ``setting``) and the fault, never the value.
    """
    if not isinstance(name, str) or not isinstance(value, str):
        raise ValueError(f"{setting} must map header names (str) to header values (str)")
    if not _TOKEN.fullmatch(name):
        bad = next((i for i, ch in enumerate(name) if not _TOKEN.fullmatch(ch)), None)
        where = "is empty" if bad is None else f"has {_describe_in_name(name[bad])}"
        raise ValueError(
            f"{setting}: a header name {where}"
            + ("" if bad is None else f" at position {bad + 1}")
            + "; header names are letters, digits and !#$%&'*+-.^_`|~ only (no spaces, "
            "colons or line breaks)"
        )
    cleaned = value.strip()
    bad = _first_bad(cleaned, allow_tab=True)
    if bad is not None:
        raise ValueError(
            f"{setting}[{name!r}] contains {_describe(cleaned[bad])} at position {bad + 1}, "
            "which an HTTP header cannot carry; give a value of printable ASCII on one line "
            "(percent-encode other text)"
        )
    return name, cleaned


def _describe_in_name(character: str) -> str:
    if character == " ":
        return "a space"
    if character == ":":
        return "a colon"
    if 0x21 <= ord(character) <= 0x7E:
        return "a character that is not allowed"
    return _describe(character)


_FRAMING_HEADERS = frozenset(("content-length", "transfer-encoding"))  # the body's own


def check_default_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Every extra header checked (:func:`check_header`).

    Raises:
        ValueError: as :func:`check_header`, and for ``Content-Length``/``Transfer-Encoding``.
    """
    checked = dict(check_header(name, value) for name, value in headers.items())
    for name in checked:
        if name.lower() in _FRAMING_HEADERS:
            raise ValueError(
                f"default_headers cannot set {name!r}: the HTTP library writes it for each "
                "request from the body it sends; remove it"
            )
    return checked
