"""Pieces the drift results share: figures that may not exist, and input errors.

A statistic can be NaN (a test that could not be computed) or infinite (PSI of an
empty bin without smoothing): the results' JSON writes both as ``null``
(:class:`rasad.results.Result`), and :data:`Figure` reads ``null`` back as NaN, so a
stored report loads into the same model it was written from.

>>> from pydantic import TypeAdapter
>>> TypeAdapter(Figure).validate_python(None)
nan
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from pydantic import BeforeValidator, ValidationError, WithJsonSchema

from rasad.errors import InputError


def _nan_if_none(value: Any) -> Any:
    return math.nan if value is None else value


Figure = Annotated[
    float,
    BeforeValidator(_nan_if_none),
    WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "null"}],
                    "description": "null when the figure does not exist (NaN or infinite)"}),
]
"""A float that is written as ``null`` when it is NaN or infinite, and read back as NaN."""


def input_error(error: ValidationError, what: str) -> InputError:
    """The :class:`InputError` behind a pydantic ``ValidationError``, or one naming the field.

    rasad's own checks raise InputError inside validators, with a message that names
    the value and the fix; pydantic wraps it, and this unwraps it. Type errors that
    pydantic finds itself become ``"<what>: <field>: <pydantic's message> (got <value>)"``.
    """
    for item in error.errors():
        original = (item.get("ctx") or {}).get("error")
        if isinstance(original, InputError):
            return original
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "value"
    return InputError(f"{what}: {where}: {first['msg']} (got {first['input']!r}).")


@contextmanager
def checked(what: str) -> Iterator[None]:
    """Run a model's construction, turning a ValidationError into rasad's InputError."""
    try:
        yield
    except ValidationError as error:
        raise input_error(error, what) from None
