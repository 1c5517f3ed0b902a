"""Reference profiles of dataset versions, computed once and reused for every drift check.

The first drift check against a dataset version with ``--use-profile`` (or a call
to :func:`reference_profile`) builds its :class:`~rasad.drift.ReferenceProfile`
and stores it as an artifact with an audit event; later checks read the stored
profile (its hash checked) instead of the reference rows.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pyarrow as pa
from sqlalchemy import select

from rasad.datasets.service import load_frame
from rasad.drift import ReferenceProfile
from rasad.drift.reference import is_time_text
from rasad.identity import Permission
from rasad.ledger import canonical_json
from rasad.store._tables import ReferenceProfileRow
from rasad.tables import ColumnKind

if TYPE_CHECKING:
    import pandas as pd

    from rasad.core import Context
    from rasad.datasets import DatasetVersion


def reference_profile(ctx: Context, version: DatasetVersion, *, bins: int = 10
                      ) -> tuple[ReferenceProfile, bool]:
    """The stored profile of ``version`` (built and stored on first use); (profile, built).

    Storing it needs ``monitor.write``; for a principal without it the profile is built
    and returned but not stored, so reading (a drift check) never needs a write.
    """
    with ctx.db.read() as session:
        row = session.execute(select(ReferenceProfileRow).where(
            ReferenceProfileRow.dataset_version_id == version.id,
            ReferenceProfileRow.bins == bins)).scalar_one_or_none()
    if row is not None:
        data = json.loads(ctx.artifacts.get_bytes(row.blob))
        return ReferenceProfile.from_dict(data), False
    frame = load_frame(ctx, version)
    profile = ReferenceProfile.from_frame(frame, kinds=_drift_kinds(frame, version), bins=bins)
    if not ctx.principal.can(Permission.MONITOR_WRITE):
        return profile, True
    blob = ctx.artifacts.put_bytes(canonical_json(profile.to_dict()).encode("utf-8"))
    with ctx.transaction(Permission.MONITOR_WRITE,
                         f"store the reference profile of {version.ref}") as tx:
        existing = tx.session.execute(select(ReferenceProfileRow).where(
            ReferenceProfileRow.dataset_version_id == version.id,
            ReferenceProfileRow.bins == bins)).scalar_one_or_none()
        if existing is None:  # another process may have stored it meanwhile
            tx.session.add(ReferenceProfileRow(dataset_version_id=version.id, bins=bins,
                                               blob=blob, created_by=tx.actor,
                                               created_at=ctx.clock()))
            tx.record("dataset.reference_profile", f"dataset:{version.ref}",
                      {"bins": bins, "profile_sha256": blob, "columns": len(profile.names)})
    return profile, True


def _drift_kinds(frame: pd.DataFrame, version: DatasetVersion) -> dict[str, ColumnKind]:
    """The version's stored kinds, with period labels held as text (``2025-01``) taken as
    time columns, as the exact comparison does (:func:`rasad.drift.is_time_text`): a
    profile must not compare what the rows would leave out."""
    kinds = {name: ColumnKind(kind) for name, kind in version.kinds.items()}
    for name, kind in kinds.items():
        if kind is ColumnKind.CATEGORICAL and name in frame.columns and is_time_text(
                pa.chunked_array([pa.array(frame[name].astype("string"), type=pa.string())])):
            kinds[name] = ColumnKind.DATETIME
    return kinds
