"""The ModelsLab LLM API as a LangChain chat model.

>>> from langchain_modelslab import ChatModelsLab
>>> llm = ChatModelsLab(model="google-gemma-3-1b-it")  # key from MODELSLAB_API_KEY
"""

from langchain_modelslab.chat_models import DEFAULT_MODEL, ChatModelsLab
from langchain_modelslab.errors import (
    ModelsLabAPIStatusError,
    ModelsLabAuthenticationError,
    ModelsLabBadRequestError,
    ModelsLabConnectionError,
    ModelsLabContextOverflowError,
    ModelsLabIncompleteStreamError,
    ModelsLabInsufficientCreditsError,
    ModelsLabInvalidResponseError,
    ModelsLabLocalRequestError,
    ModelsLabModelError,
    ModelsLabNotFoundError,
    ModelsLabPermissionDeniedError,
    ModelsLabRateLimitError,
    ModelsLabRedirectError,
    ModelsLabServerError,
    ModelsLabTimeoutError,
)

__all__ = [
    "DEFAULT_MODEL",
    "ChatModelsLab",
    "ModelsLabAPIStatusError",
    "ModelsLabAuthenticationError",
    "ModelsLabBadRequestError",
    "ModelsLabConnectionError",
    "ModelsLabContextOverflowError",
    "ModelsLabIncompleteStreamError",
    "ModelsLabInsufficientCreditsError",
    "ModelsLabInvalidResponseError",
    "ModelsLabLocalRequestError",
    "ModelsLabModelError",
    "ModelsLabNotFoundError",
    "ModelsLabPermissionDeniedError",
    "ModelsLabRateLimitError",
    "ModelsLabRedirectError",
    "ModelsLabServerError",
    "ModelsLabTimeoutError",
]
