"""Dataset versions: immutable, content-addressed snapshots with kinds and profiles."""

from rasad.datasets._reader import read_table, write_parquet
from rasad.datasets.kinds import ColumnKind, KindPolicy, infer_kinds
from rasad.datasets.profile import ColumnProfile, TableProfile, profile_table
from rasad.datasets.service import parse_ref
from rasad.datasets.version import AddResult, DatasetVersion

__all__ = [
    "AddResult",
    "ColumnKind",
    "ColumnProfile",
    "DatasetVersion",
    "KindPolicy",
    "TableProfile",
    "infer_kinds",
    "parse_ref",
    "profile_table",
    "read_table",
    "write_parquet",
]
