"""Base classes for wire types: lenient on what the server sends, exact on what we send."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["RequestModel", "ResponseModel", "StrictModel"]


class ResponseModel(BaseModel):
    """A server reply: unknown fields are kept (``model_extra``), missing ones tolerated."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)


class StrictModel(BaseModel):
    """A part of a request we build: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)


class RequestModel(BaseModel):
    """Something we send; extra fields (``top_k``, ...) pass through untouched."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)

    def to_payload(self) -> dict[str, Any]:
        """The JSON object to send, without the fields that are None."""
        return self.model_dump(mode="json", exclude_none=True, by_alias=True)
