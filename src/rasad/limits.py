"""Input limits: the sizes rasad refuses before doing any work, as one explicit policy.

A table wider than ``max_columns``, a ``rasad.yaml`` whose aliases expand past
``yaml_nodes`` values, and estimator parameters deeper than ``param_depth`` or with
more than ``param_items`` values are refused with an :class:`~rasad.errors.InputError`
(exit 2) instead of exhausting memory. The column limit can be raised per process
with ``RASAD_MAX_COLUMNS``:

>>> DEFAULT_LIMITS.max_columns
10000
>>> import os
>>> os.environ["RASAD_MAX_COLUMNS"] = "20000"
>>> max_columns()
20000
>>> del os.environ["RASAD_MAX_COLUMNS"]
>>> check_plain({"C": 0.5, "hidden_layer_sizes": [64, 32]}, "--param")
>>> check_plain({"when": float("inf")}, "--param")
Traceback (most recent call last):
...
rasad.errors.InputError: --param when = inf is not a finite number; use a finite value.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

from rasad.errors import ConfigError, InputError

MAX_COLUMNS_ENV = "RASAD_MAX_COLUMNS"


@dataclass(frozen=True)
class Limits:
    """Sizes beyond which input is refused.

    Parameters
    ----------
    max_columns : int
        Columns a table may have (CSV header, Parquet schema, DataFrame). A model
        table has tens to hundreds; 10,000 leaves room for wide genomics or text
        features while a 100,000-column file (1.5 MB) is refused before it is parsed.
    yaml_nodes : int
        Values a ``rasad.yaml`` may hold once its aliases are expanded. The commented
        template holds about 60; the bound stops "billion laughs" documents.
    param_depth : int
        Nesting of lists and mappings in one estimator parameter.
    param_items : int
        Values (scalars, list items, mapping entries) in all estimator parameters.
    param_text : int
        Characters in one text value of an estimator parameter.
    """

    max_columns: int = 10_000
    yaml_nodes: int = 10_000
    param_depth: int = 4
    param_items: int = 1_000
    param_text: int = 10_000


DEFAULT_LIMITS = Limits()


def max_columns() -> int:
    """The column limit: ``RASAD_MAX_COLUMNS`` when set, else the default (10,000)."""
    raw = os.environ.get(MAX_COLUMNS_ENV, "").strip()
    if not raw:
        return DEFAULT_LIMITS.max_columns
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError(f"{MAX_COLUMNS_ENV}={raw!r} is not allowed: use a whole number of "
                          "columns of at least 1, or unset it for the default 10000.")
    return value


def check_plain(params: dict[str, Any], source: str, limits: Limits = DEFAULT_LIMITS) -> None:
    """Refuse estimator parameters that are not plain, bounded data.

    Plain means ``None``, booleans, integers, finite floats, text, and lists (or tuples) and
    mappings (with text or number keys) of those, nested at most ``limits.param_depth`` deep
    and holding at most ``limits.param_items`` values in all.

    Parameters
    ----------
    params : dict
        Parameter name to value.
    source : str
        Where they came from, for the message (``"--param"``, ``"rasad.yaml"``).
    limits : Limits
        The bounds.

    Raises
    ------
    InputError
        Naming the parameter and what is wrong with it.

    Examples
    --------
    >>> check_plain({"alpha": [[[[[1]]]]]}, "--param")
    Traceback (most recent call last):
    ...
    rasad.errors.InputError: --param alpha nests lists or mappings 5 deep; at most 4 levels \
are allowed.
    """
    count = 0

    def visit(value: Any, name: str, depth: int) -> None:
        nonlocal count
        count += 1
        if count > limits.param_items:
            raise InputError(f"{source}: the estimator parameters hold more than "
                             f"{limits.param_items:,} values; pass smaller parameters.")
        if type(value).__module__ == "numpy" and getattr(value, "shape", None) == ():
            value = value.item()  # a NumPy scalar is a plain number or text
        if value is None or isinstance(value, (bool, int)):
            return
        if isinstance(value, float):
            if not math.isfinite(value):
                raise InputError(f"{source} {name} = {value!r} is not a finite number; use a "
                                 "finite value.")
            return
        if isinstance(value, str):
            if len(value) > limits.param_text:
                raise InputError(f"{source} {name} is {len(value):,} characters long; at most "
                                 f"{limits.param_text:,} are allowed.")
            return
        if isinstance(value, (list, tuple, dict)):
            if depth >= limits.param_depth:
                raise InputError(f"{source} {name} nests lists or mappings {depth + 1} deep; "
                                 f"at most {limits.param_depth} levels are allowed.")
            if isinstance(value, (list, tuple)):
                for item in value:
                    visit(item, name, depth + 1)
                return
            for key, item in value.items():
                # Scalar keys only: class_weight={0: 1, 1: 5} is a common parameter.
                if not isinstance(key, (str, int, float)):
                    raise InputError(f"{source} {name} has a key of type "
                                     f"{type(key).__name__}; use text or numbers as keys.")
                visit(item, name, depth + 1)
            return
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        raise InputError(f"{source} {name} = {shown} is a {type(value).__name__}; parameters "
                         "must be numbers, text, true/false, null, or lists and mappings of "
                         "those (quote a date or other value to pass it as text).")

    for key, value in params.items():
        if not isinstance(key, str):
            raise InputError(f"{source}: parameter name {key!r} is not text.")
        visit(value, key, 0)


__all__ = ["DEFAULT_LIMITS", "MAX_COLUMNS_ENV", "Limits", "check_plain", "max_columns"]
