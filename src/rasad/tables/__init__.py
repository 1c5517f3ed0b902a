"""Pure helpers for tables, below every package that reads data: reading and writing
(:func:`read_table`, :func:`write_parquet`), column kinds (:func:`infer_kinds`),
profiles (:func:`profile_table`) and a model's input signature (:class:`Signature`).

Nothing here touches the metadata database, so the pure engines (drift, validation,
fairness, monitoring) and the services that store datasets and models share them.
Names load on first use, so ``import rasad.tables`` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rasad.tables._reader import read_table, write_parquet
    from rasad.tables.column_kind import ColumnKind
    from rasad.tables.kinds import KindPolicy, infer_kinds
    from rasad.tables.profile import ColumnProfile, TableProfile, profile_table
    from rasad.tables.signature import ColumnSpec, Signature, SignatureReport

_HOMES = {
    "read_table": "_reader", "write_parquet": "_reader",
    "ColumnKind": "column_kind", "KindPolicy": "kinds", "infer_kinds": "kinds",
    "ColumnProfile": "profile", "TableProfile": "profile", "profile_table": "profile",
    "ColumnSpec": "signature", "Signature": "signature", "SignatureReport": "signature",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)


__all__ = [
    "ColumnKind",
    "ColumnProfile",
    "ColumnSpec",
    "KindPolicy",
    "Signature",
    "SignatureReport",
    "TableProfile",
    "infer_kinds",
    "profile_table",
    "read_table",
    "write_parquet",
]
