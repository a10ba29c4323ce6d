"""A key passed under a wrong argument name is refused, never sent as a request parameter.

Unknown ``ChatModelsLab`` arguments become request parameters (with a warning, as in
ChatOpenAI); for ``apikey=``, ``key=``, ``modelslab_api_key=`` or ``openai_api_key=``
that put the key in every request body and in ``model_kwargs``, so in ``repr()`` and
``dumps()``, and left the request without its ``Authorization`` header.
"""

from __future__ import annotations

import warnings

import pytest
from langchain_core.load import dumps
from pydantic import ValidationError

from langchain_modelslab import ChatModelsLab

KEY = "sk-misplaced-key-0123456789"


@pytest.mark.parametrize("name", ["apikey", "key", "modelslab_api_key", "api-key", "API_KEY"])
def test_key_under_a_wrong_name_is_refused_without_showing_it(name: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ChatModelsLab(**{name: KEY})
    text = str(caught.value)
    assert f"{name!r} is not a ChatModelsLab argument" in text
    assert "api_key=" in text
    assert KEY not in text


def test_other_unknown_arguments_still_become_request_parameters() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        llm = ChatModelsLab(prompt_cache_key="user-1", modle="x", api_key=KEY)
    assert llm.model_kwargs == {"prompt_cache_key": "user-1", "modle": "x"}
    assert any("did you mean 'model'" in str(w.message) for w in caught)
    assert KEY not in repr(llm)
    assert KEY not in dumps(llm)


def test_key_in_model_kwargs_is_refused_and_legacy_auth_named() -> None:
    # model_kwargs are request parameters (and show in repr and dumps): the body key of
    # ModelsLab's older API is what legacy_auth=True sends, from api_key.
    with pytest.raises(ValueError, match="legacy_auth=True also sends it in the body") as caught:
        ChatModelsLab(model_kwargs={"key": "legacy-body-key"})
    assert "legacy-body-key" not in str(caught.value)


@pytest.mark.parametrize(
    ("synonym", "field", "value"),
    [("model_name", "model", "meta-llama-3.1-8b-instruct"), ("request_timeout", "timeout", 7.5)],
)
def test_other_langchain_models_names_for_a_field_are_that_field(
    synonym: str, field: str, value: object
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # taken as the field: no "not a field" warning
        llm = ChatModelsLab(api_key="sk-test", **{synonym: value})
    assert getattr(llm, field) == value
    assert synonym not in llm.model_kwargs
    with pytest.raises(ValueError, match=f"{synonym}= and {field}= both given"):
        ChatModelsLab(api_key="sk-test", **{synonym: value, field: value})
