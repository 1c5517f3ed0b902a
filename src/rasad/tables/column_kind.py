"""The :class:`ColumnKind` enum on its own, so that results naming a column's kind (drift,
validation, signatures) can be imported without NumPy or Arrow; inference lives in
:mod:`rasad.tables.kinds`."""

from __future__ import annotations

import enum


class ColumnKind(enum.StrEnum):
    """How rasad treats a column.

    Examples
    --------
    >>> ColumnKind("numeric") is ColumnKind.NUMERIC
    True
    >>> str(ColumnKind.IDENTIFIER)
    'identifier'
    """

    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    TEXT = "text"
    IDENTIFIER = "identifier"


__all__ = ["ColumnKind"]
