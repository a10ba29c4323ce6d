"""The ModelsLab LLM API as a LlamaIndex LLM.

Example:
    >>> from llama_index.core import Settings
    >>> from llama_index_modelslab import ModelsLabLLM
    >>> Settings.llm = ModelsLabLLM(model="google-gemma-3-1b-it")  # key: $MODELSLAB_API_KEY
"""

from llama_index_modelslab.base import DEFAULT_MODEL, ModelsLabLLM
from llama_index_modelslab.structured import JsonSchemaProgram

__all__ = ["DEFAULT_MODEL", "JsonSchemaProgram", "ModelsLabLLM"]
