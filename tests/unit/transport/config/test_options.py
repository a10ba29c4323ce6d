"""The framework options record: the model id it sends."""

from __future__ import annotations

import pytest

from modelslab_transport import ModelsLabOptions

URL = "https://modelslab.com/api/v7/llm/chat/completions"


@pytest.mark.parametrize("model", ["", "   ", "gemma 3", "\tmeta-llama\n-3"])
def test_a_model_id_that_is_empty_or_has_spaces_inside_is_refused_by_both_classes(
    model: str,
) -> None:
    from langchain_modelslab import ChatModelsLab
    from llama_index_modelslab import ModelsLabLLM

    for build in (ModelsLabOptions, ChatModelsLab, ModelsLabLLM):
        with pytest.raises(ValueError, match="model must be a model id such as") as caught:
            build(model=model)
        assert "list_models()" in str(caught.value)


def test_a_model_id_is_sent_without_surrounding_whitespace() -> None:
    assert ModelsLabOptions(model="  meta-llama-3.1-8b \n").request_params()["model"] == (
        "meta-llama-3.1-8b"
    )
