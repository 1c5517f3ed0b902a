"""The base of every typed result: an immutable pydantic model with one JSON form.

A report (drift, validation, PII, fairness, performance, estimation, gates) is a
:class:`Result`. Its JSON is the one serialisation rasad uses everywhere: what
``--json`` prints, what the HTTP API returns, and what is stored as a blob, so a
stored report reads back into the same model (:meth:`Result.from_json`). Figures that
do not exist (NaN, infinities) serialise as ``null``; enums as their values.
Each report's JSON Schema is published under ``docs/schemas/`` (:mod:`rasad.schemas`).

>>> class Score(Result):
...     name: str
...     value: float | None
>>> Score(name="auc", value=float("nan")).to_json()
'{"name":"auc","value":null}'
>>> Score.from_json('{"name": "auc", "value": 0.8}')
Score(name='auc', value=0.8)
"""

from __future__ import annotations

import json
from typing import Any, Self

from pydantic import BaseModel, ConfigDict


class Result(BaseModel):
    """A typed, immutable result that renders itself to JSON.

    Unknown keys are ignored when reading, so blobs stored by an older rasad, which may
    carry figures a newer model computes instead, still load.
    """

    model_config = ConfigDict(frozen=True, extra="ignore", ser_json_inf_nan="null",
                              populate_by_name=True, arbitrary_types_allowed=False)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form as Python data: what :meth:`to_json` writes, parsed back."""
        loaded: dict[str, Any] = json.loads(self.to_json())
        return loaded

    def to_json(self, *, indent: int | None = None) -> str:
        """The one JSON serialisation (aliases applied, NaN as null)."""
        return self.model_dump_json(by_alias=True, indent=indent)

    @classmethod
    def from_dict(cls, data: Any) -> Self:
        """Read a result back from its JSON form (as stored, printed or returned)."""
        return cls.model_validate(data)

    @classmethod
    def from_json(cls, text: str | bytes) -> Self:
        """Read a result back from JSON text."""
        return cls.model_validate_json(text)


__all__ = ["Result"]
