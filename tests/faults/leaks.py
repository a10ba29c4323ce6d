"""Finding the fake API key, whole or in part, in anything a user might print or store."""

from __future__ import annotations

import json
import traceback
from collections.abc import Iterable, Iterator

from tests.faults.drivers import FAKE_KEY

__all__ = ["assert_no_key", "exception_chain", "exception_texts", "key_fragments_in"]

_SECRET_PART = FAKE_KEY.removeprefix("sk-faults-")
_WINDOW = 8
FRAGMENTS = tuple(
    _SECRET_PART[start : start + _WINDOW] for start in range(len(_SECRET_PART) - _WINDOW + 1)
)
"""Every 8-character run of the key's random part: a truncated key still matches."""


def key_fragments_in(text: str) -> list[str]:
    """The fragments of the fake key found in ``text`` (empty when it is clean)."""
    return [fragment for fragment in FRAGMENTS if fragment in text]


def exception_chain(error: BaseException) -> Iterator[BaseException]:
    """``error`` and every exception reachable through ``__cause__`` / ``__context__``."""
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)


def exception_texts(error: BaseException) -> Iterator[str]:
    """Everything a handler would print or log about ``error`` and its chain."""
    yield "".join(traceback.format_exception(error))
    for link in exception_chain(error):
        yield str(link)
        yield repr(link)
        yield repr(link.args)
        body = getattr(link, "body", None)
        if body is not None:
            yield json.dumps(body, default=str)
        message = getattr(link, "message", None)
        if message is not None:
            yield str(message)


def assert_no_key(texts: Iterable[str], where: str) -> None:
    """Fail naming ``where`` if any text holds the fake key or a fragment of it."""
    for text in texts:
        found = key_fragments_in(text)
        assert not found, f"the API key leaks through {where}: {found[:3]} in {text[:300]!r}"
