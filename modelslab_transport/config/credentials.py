"""Checking the API key and extra headers before they can reach an HTTP request.

A key read from a file or pasted from a web page often carries a line break, spaces or
a typographic character. Sent as a header, such a key is refused by the HTTP stack
only once the request is on its way, as a protocol error that looks like a failure to
reach the server, with the key (escaped, so simple redaction misses it) in the error
text. These checks run when the settings are built instead: surrounding whitespace is
removed, and anything a header cannot carry is refused with a ``ValueError`` that says
where the problem is and what to change, without quoting any part of the value.

Header names must be RFC 9110 tokens; header values and the key must be printable ASCII
(spaces and tabs allowed inside a value, not in the key's surroundings). Non-ASCII
header values are refused although HTTP/1.1 tolerates Latin-1 ("obs-text"): RFC 9110
§5.5 says senders should not produce it, and httpx encodes ``str`` header values as
ASCII.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["check_default_headers", "check_header", "clean_api_key"]

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
"""An RFC 9110 token: what a header name may be."""

_KEY_ADVICE = (
    "an API key is one word of printable ASCII: copy it again from the ModelsLab "
    "dashboard, or strip what you read from a file or environment variable before "
    "passing it as api_key"
)


_SCHEMES = frozenset({"bearer", "basic", "token"})
"""Authorization schemes a pasted header value may start with (lower case)."""


def _describe(character: str) -> str:
    """Name a character's kind (never the character itself, which belongs to a secret)."""
    if character in "\r\n":
        return "a line break (CR or LF)"
    if character == "\t":
        return "a tab"
    if ord(character) < 0x20 or ord(character) == 0x7F:
        return "a control character"
    return "a non-ASCII character (such as a typographic quote or a non-breaking space)"


def _first_bad(text: str, *, allow_tab: bool) -> int | None:
    """Index of the first character a header cannot carry, or None.

    Printable ASCII and the space pass; the tab passes only inside a header value.
    """
    for index, character in enumerate(text):
        if " " <= character <= "~" or (allow_tab and character == "\t"):
            continue
        return index
    return None


def clean_api_key(value: str) -> str | None:
    """The key as it must be sent: surrounding whitespace removed; None if nothing is left.

    Args:
        value: The key as given (argument, environment variable, file contents).

    Returns:
        The stripped key, or None for an empty or all-whitespace value.

    Raises:
        ValueError: when the key holds a line break, another control character, a
            space or a non-ASCII character (the message gives the position, never the
            key), or
            starts with an authorization scheme (``"Bearer sk-..."``: the client writes
            the scheme itself, so the server would get ``Bearer Bearer sk-...``).
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
        # A header could carry it, but no API key has a space: this is a key cut by a
        # line wrap, or two values pasted together. It would be sent as given, and the
        # error redaction (which takes text with spaces for prose) would not hide it.
        raise ValueError(
            f"api_key contains a space at position {key.index(' ') + 1} (after removing "
            f"surrounding whitespace); an API key has none: {_KEY_ADVICE}"
        )
    return key


def check_header(name: str, value: str, *, setting: str = "default_headers") -> tuple[str, str]:
    """One extra header, checked: its name, and its value without surrounding whitespace.

    Args:
        name: The header name; must be an RFC 9110 token (letters, digits and
            ``!#$%&'*+-.^_`|~``).
        value: The header value; must be printable ASCII (inner spaces and tabs allowed).
        setting: The setting the header came from, for the error message.

    Raises:
        ValueError: naming the header (or, for a bad name, its position) and what is
            wrong; the value itself is never quoted, since it may be a credential.
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


_FRAMING_HEADERS = frozenset(("content-length", "transfer-encoding"))
"""Headers that frame the request body: the HTTP library writes them from the body it
sends, and a second, different value makes it refuse the request half-sent."""


def check_default_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Every extra header checked with :func:`check_header`; values stripped.

    Raises:
        ValueError: for the first header that cannot be sent (see :func:`check_header`),
            and for ``Content-Length`` or ``Transfer-Encoding``, which only the HTTP
            library can set (each request body has its own length).
    """
    checked = dict(check_header(name, value) for name, value in headers.items())
    for name in checked:
        if name.lower() in _FRAMING_HEADERS:
            raise ValueError(
                f"default_headers cannot set {name!r}: the HTTP library writes it for each "
                "request from the body it sends; remove it"
            )
    return checked
