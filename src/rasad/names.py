"""Names and references that every layer checks the same way: ``NAME`` and ``NAME@VERSION``.

Dataset, model and monitor names share one rule, so a name that one command accepts
is accepted by all of them, and a file name or URL built from it stays safe.

>>> check_name("loans-2025"), parse_ref("loans@3")
('loans-2025', ('loans', 3))
"""

from __future__ import annotations

import re
from typing import Final

from rasad.errors import InputError

NAME_PATTERN: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


def check_name(name: str, what: str = "Dataset") -> str:
    """Validate a dataset, model or monitor name and return it unchanged.

    >>> check_name("loans-2025")
    'loans-2025'
    >>> check_name("../etc")
    Traceback (most recent call last):
    ...
    rasad.errors.InputError: Dataset name '../etc' is not allowed: use letters, digits, '.', \
'_' and '-', starting with a letter or digit (at most 200 characters).
    """
    if not NAME_PATTERN.fullmatch(name or ""):
        raise InputError(f"{what} name {name!r} is not allowed: use letters, digits, '.', '_' "
                         "and '-', starting with a letter or digit (at most 200 characters).")
    return name


def parse_ref(ref: str) -> tuple[str, int | None]:
    """Split ``NAME[@VERSION]``.

    >>> parse_ref("loans@3"), parse_ref("loans")
    (('loans', 3), ('loans', None))
    """
    name, _, version = ref.partition("@")
    if not version:
        return name, None
    if not version.isdigit() or int(version) < 1:
        raise InputError(f"{ref!r}: the version after '@' must be a positive whole number, "
                         "as in loans@2.")
    return name, int(version)


__all__ = ["NAME_PATTERN", "check_name", "parse_ref"]
