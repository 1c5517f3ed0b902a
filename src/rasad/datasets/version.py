"""The DatasetVersion value: an immutable, content-addressed snapshot of a table."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from rasad.results import Result
from rasad.store._tables import DatasetVersionRow
from rasad.tables.column_kind import ColumnKind
from rasad.tables.profile import TableProfile


class DatasetVersion(Result):
    """One version of a named dataset (its JSON leaves out the database row id)."""

    id: int = Field(exclude=True)
    name: str
    version: int
    content_hash: str
    rows: int
    columns: int
    kinds: dict[str, ColumnKind]
    profile: TableProfile
    source: str
    parent_id: int | None
    created_by: str
    created_at: str

    @property
    def ref(self) -> str:
        """``name@version``, the way commands name it."""
        return f"{self.name}@{self.version}"

    @property
    def blob(self) -> str:
        """The artifact holding the normalised Parquet file (its sha256 is the content hash)."""
        return self.content_hash

    def to_dict(self, with_profile: bool = True) -> dict[str, Any]:
        """The JSON form; ``with_profile=False`` leaves the column profiles out (listings)."""
        out = super().to_dict()
        if not with_profile:
            del out["profile"]
        return out

    @classmethod
    def from_row(cls, row: DatasetVersionRow) -> DatasetVersion:
        return cls(
            id=row.id,
            name=row.name,
            version=row.version,
            content_hash=row.content_hash,
            rows=row.rows,
            columns=row.columns,
            kinds={k: ColumnKind(v) for k, v in json.loads(row.kinds).items()},
            profile=TableProfile.from_dict(json.loads(row.profile)),
            source=row.source,
            parent_id=row.parent_id,
            created_by=row.created_by,
            created_at=row.created_at,
        )


@dataclass(frozen=True)
class AddResult:
    """What ``add`` did: the version, and whether it was created or already there."""

    version: DatasetVersion
    created: bool

    @property
    def message(self) -> str:
        v = self.version
        if self.created:
            return (f"Added {v.ref}: {v.rows:,} rows x {v.columns} columns, "
                    f"sha256 {v.content_hash[:12]}.")
        return (f"Identical content is already stored as {v.ref} "
                f"(sha256 {v.content_hash[:12]}); nothing was added.")

    def to_dict(self) -> dict[str, Any]:
        return {"created": self.created, "message": self.message,
                **self.version.to_dict(with_profile=False)}
