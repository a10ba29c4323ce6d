"""Wire types of ``GET /v1/models``."""

from __future__ import annotations

from pydantic import Field

from modelslab_transport.wire._base import ResponseModel

__all__ = [
    "ModelInfo",
    "ModelList",
]


class ModelInfo(ResponseModel):
    """One model of the catalog. ModelsLab documents only these four fields."""

    id: str
    object: str | None = None
    created: int | None = None
    owned_by: str | None = None


class ModelList(ResponseModel):
    """The catalog reply."""

    object: str | None = None
    data: list[ModelInfo] = Field(default_factory=list)
