"""Non-finite or huge timeouts are refused when a model is built, in both classes.

An HTTP library can wait for none of NaN, infinity or 10^10 s (NaN failed at the first
call with a bare ``ValueError: Invalid value NaN``, infinity and 10^10 s with
``OverflowError: timestamp out of range``, the latter also killing the process's
watchdog thread); ``None`` is how "no limit" is spelt.
"""

from __future__ import annotations

import math
import re

import httpx
import httpx2
import pytest
from pydantic import ValidationError

from langchain_modelslab import ChatModelsLab
from llama_index_modelslab import ModelsLabLLM
from modelslab_transport import ClientSettings
from modelslab_transport.config.defaults import MAX_TIMEOUT

FIELDS = ["timeout", "stream_chunk_timeout", "stream_timeout", "queue_timeout"]
VALUES = [math.nan, math.inf, -math.inf]


@pytest.mark.parametrize("cls", [ChatModelsLab, ModelsLabLLM])
@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("value", VALUES)
def test_non_finite_timeout_is_refused_at_construction(cls: type, field: str, value: float) -> None:
    with pytest.raises(ValidationError) as caught:
        cls(base_url="http://127.0.0.1:9", **{field: value})
    text = str(caught.value)
    assert "finite" in text
    assert "use None for no limit" in text


@pytest.mark.parametrize("field", [*FIELDS, "connect_timeout"])
@pytest.mark.parametrize("value", VALUES)
def test_transport_settings_refuse_non_finite_timeouts(field: str, value: float) -> None:
    with pytest.raises(ValidationError, match="finite"):
        ClientSettings(api_key="sk-test-timeouts", **{field: value})


HUGE = [1e10, 10**30, 1e308, MAX_TIMEOUT * 1.0001]


OWNERS_AND_FIELDS = [
    *[(cls, field) for cls in (ChatModelsLab, ModelsLabLLM) for field in FIELDS],
    *[(ClientSettings, field) for field in (*FIELDS, "connect_timeout", "queue_timeout")],
]


@pytest.mark.parametrize(("cls", "field"), OWNERS_AND_FIELDS)
@pytest.mark.parametrize("value", HUGE)
def test_a_timeout_over_365_days_is_refused(cls: type, field: str, value: float) -> None:
    with pytest.raises(ValidationError) as caught:
        cls(base_url="http://127.0.0.1:9", **{field: value})
    text = str(caught.value)
    assert "timeouts must be at most 31,536,000 s (365 days)" in text
    assert "use None for no limit" in text


@pytest.mark.parametrize("cls", [ChatModelsLab, ModelsLabLLM, ClientSettings])
def test_the_longest_timeout_is_kept(cls: type) -> None:
    kept = cls(base_url="http://127.0.0.1:9", timeout=MAX_TIMEOUT, stream_timeout=MAX_TIMEOUT)
    assert (kept.timeout, kept.stream_timeout) == (MAX_TIMEOUT, MAX_TIMEOUT)


@pytest.mark.parametrize("cls", [ChatModelsLab, ModelsLabLLM])
def test_non_finite_timeout_set_later_fails_before_sending(cls: type) -> None:
    model = cls(base_url="http://127.0.0.1:9", max_retries=0)
    model.timeout = math.nan
    call = model.invoke if cls is ChatModelsLab else model.complete
    with pytest.raises(ValueError, match="finite"):
        call("hi")


@pytest.mark.parametrize("cls", [ChatModelsLab, ModelsLabLLM])
def test_finite_timeouts_are_kept_as_seconds(cls: type) -> None:
    model = cls(base_url="http://127.0.0.1:9", timeout=2, stream_chunk_timeout=3, stream_timeout=4)
    assert (model.timeout, model.stream_chunk_timeout, model.stream_timeout) == (2, 3, 4)


@pytest.mark.parametrize("cls", [ChatModelsLab, ModelsLabLLM, ClientSettings])
@pytest.mark.parametrize("phase", ["connect", "read", "write", "pool"])
@pytest.mark.parametrize("value", [*VALUES, 0.0, -1.0, 1e10])
def test_an_httpx_timeout_with_a_phase_no_library_can_wait_for_is_refused(
    cls: type, phase: str, value: float
) -> None:
    given = httpx2.Timeout(30.0, **{phase: value})
    with pytest.raises(ValueError, match=r"timeouts must be (positive|at most)"):
        cls(timeout=given)
    kept = cls(timeout=httpx2.Timeout(30.0, **{phase: None})).timeout  # None: no limit
    assert getattr(kept, phase) is None


@pytest.mark.parametrize("cls", [ChatModelsLab, ModelsLabLLM, ClientSettings])
@pytest.mark.parametrize(
    ("given", "same", "built"),
    [
        (
            httpx.Timeout(5.0),
            "httpx2.Timeout(connect=5.0, read=5.0, write=5.0, pool=5.0)",
            httpx2.Timeout(connect=5.0, read=5.0, write=5.0, pool=5.0),
        ),
        (
            httpx.Timeout(30.0, connect=2.0, pool=None),
            "httpx2.Timeout(connect=2.0, read=30.0, write=30.0, pool=None)",
            httpx2.Timeout(connect=2.0, read=30.0, write=30.0, pool=None),
        ),
    ],
)
def test_an_httpx_timeout_is_refused_naming_the_httpx2_one_to_build(
    cls: type, given: httpx.Timeout, same: str, built: httpx2.Timeout
) -> None:
    """httpx (not httpx2) timeouts are not httpx2's: the message says which to build, and
    the one it names is accepted with the same values."""
    message = (
        f"timeout must be seconds, None (no limit) or an httpx2.Timeout, got httpx.{given!r} "
        "(this package sends through httpx2, not httpx: build an httpx2.Timeout with the same "
        f"values, {same})"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        cls(timeout=given)
    assert cls(timeout=built).timeout.as_dict() == given.as_dict()


@pytest.mark.parametrize("cls", [ChatModelsLab, ModelsLabLLM, ClientSettings])
def test_anything_else_as_timeout_names_what_is_taken(cls: type) -> None:
    message = "timeout must be seconds, None (no limit) or an httpx2.Timeout, got [5]"
    with pytest.raises(ValueError, match=re.escape(message)) as caught:
        cls(timeout=[5])
    assert "sends through httpx2" not in str(caught.value)


EVERY_TIMEOUT = [
    *[(cls, field) for cls in (ChatModelsLab, ModelsLabLLM) for field in FIELDS],
    *[(ClientSettings, field) for field in (*FIELDS, "connect_timeout")],
]


@pytest.mark.parametrize(("cls", "field"), EVERY_TIMEOUT)
@pytest.mark.parametrize(
    ("value", "said"),
    [
        (True, "got True (a flag, not seconds)"),
        (False, "got False (a flag, not seconds)"),
        ("5", "got the string '5'; pass a number"),
        (" 2.5 ", "got the string ' 2.5 '; pass a number"),
    ],
)
def test_every_timeout_refuses_flags_and_strings_alike(
    cls: type, field: str, value: object, said: str
) -> None:
    """Pydantic would take True as 1 s and "5" as 5 s for some timeouts and not others."""
    with pytest.raises(
        ValidationError, match=re.escape(f"timeouts must be seconds or None, {said}")
    ):
        cls(base_url="http://127.0.0.1:9", **{field: value})


@pytest.mark.parametrize(("cls", "field"), EVERY_TIMEOUT)
def test_every_timeout_takes_ints_and_floats_as_seconds(cls: type, field: str) -> None:
    for given in (5, 2.5):
        owner = cls(base_url="http://127.0.0.1:9", **{field: given})
        # What the calls use: the framework classes' options, or the settings themselves.
        used = owner.client.options if cls is not ClientSettings else owner
        value = getattr(used, field)
        assert (type(value), value) == (float, float(given))
