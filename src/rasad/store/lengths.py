"""Text column lengths, read from the table declarations: the one place values are checked.

PostgreSQL refuses a value longer than its ``VARCHAR(n)`` column (after the work that
led to it); SQLite stores it silently. Services check user-supplied text (actor, run
name, model name) with :func:`check_length` before any work starts, and every ORM
write passes :func:`check_row` once more before it is flushed, so both databases
refuse the same values with the same message.

>>> max_length("runs.name")
200
>>> check_length("x" * 201, "runs.name", "Run name")
Traceback (most recent call last):
...
rasad.errors.InputError: Run name 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' is 201 characters long; \
at most 200 fit. Use a shorter one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, inspect

from rasad.errors import InputError
from rasad.store._tables import Base


def _lengths() -> dict[str, int]:
    found = {}
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, String) and column.type.length:
                found[f"{table.name}.{column.name}"] = int(column.type.length)
    return found


LENGTHS: dict[str, int] = _lengths()
"""``"table.column"`` -> the most characters it holds, for every bounded text column."""

# What to call a column in a message when a service did not name it itself:
# "table.column" first, then the column name alone.
_LABELS = {
    "runs.name": "Run name",
    "created_by": "Actor name (RASAD_USER)",
    "deployed_by": "Actor name (RASAD_USER)",
    "actor": "Actor name (RASAD_USER)",
}


def max_length(column: str) -> int:
    """The most characters ``column`` (``"table.column"``) holds.

    Raises
    ------
    KeyError
        If the column is not a bounded text column (a programming error).
    """
    return LENGTHS[column]


def check_length(value: str | None, column: str, what: str) -> None:
    """Refuse ``value`` if it is longer than ``column`` holds.

    Parameters
    ----------
    value : str or None
        The text to store; None passes.
    column : str
        ``"table.column"``, a key of :data:`LENGTHS`.
    what : str
        The value's name in the message (``"Run name"``).

    Raises
    ------
    InputError
        Naming the value (shortened), its length and the limit.
    """
    if value is None:
        return
    limit = max_length(column)
    if len(value) > limit:
        shown = value if len(value) <= 30 else value[:30] + "..."
        raise InputError(f"{what} {shown!r} is {len(value):,} characters long; at most "
                         f"{limit} fit. Use a shorter one.")


def check_row(row: Any) -> None:
    """Check every bounded text attribute of an ORM row before it is written."""
    mapper = inspect(type(row))
    loaded = inspect(row).dict  # only loaded values: checking must not trigger a query
    table = mapper.local_table.name
    for attribute in mapper.column_attrs:
        for column in attribute.columns:
            key = f"{table}.{column.name}"
            if key not in LENGTHS:
                continue
            value = loaded.get(attribute.key)
            if isinstance(value, str):
                what = _LABELS.get(key) or _LABELS.get(column.name, f"The value of {key}")
                check_length(value, key, what)


__all__ = ["LENGTHS", "check_length", "check_row", "max_length"]
