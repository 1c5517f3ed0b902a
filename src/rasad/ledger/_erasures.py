"""Data-subject state replayed from the ledger: erasures, the dataset versions each one
names, the "retrain required" flags it raised, and the subject-id indexes.

An erasure's event (``subject.erase``, subject ``subject:KEYED_HASH``) carries the
erasure's id, reason, retrain deadline and summary: the versions that held the subject
(with their row counts and the versions written without them) and the model versions it
flagged. An index event (``dataset.subject_index``) names each column's index blob and
entry count under a key id. So an insider who deletes a flag (hiding the obligation to
retrain), rewrites an erasure's reason or deadline, or points an index at a blob that
leaves a subject out (so that ``rasad subject find`` misses them) is named here, row by
row. None of these tables is ever updated or deleted from by rasad.

Private to :mod:`rasad.ledger`; :class:`rasad.ledger.replay.StateReplay` feeds it.

>>> replay = ErasureReplay()
>>> replay.feed(7, "dataset.subject_index", "dataset:loans@1",
...             {"key_id": "k1", "columns": {"customer_id": {"blob": "ab", "entries": 3}}})
>>> sorted(replay.indexes)
[('loans@1', 'customer_id', 'k1')]
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from rasad.ledger._canonical import canonical_json
from rasad.ledger._governance import Facts, _actors, compare_rows
from rasad.ledger.problems import Problem
from rasad.store._tables import (
    DatasetVersionRow,
    ErasedVersionRow,
    ErasureRow,
    ModelVersionRow,
    RetrainFlagRow,
    SubjectIndexRow,
)

INDEX_ACTION = "dataset.subject_index"
ERASE_ACTION = "subject.erase"
ACTIONS = frozenset({INDEX_ACTION, ERASE_ACTION})
"""The actions this replay reads (the same names :mod:`rasad.governance.subjects` records)."""

_SUMMARY = ("versions", "prediction_rows", "feedback_rows", "segments", "flagged")
_DATA = "dataset_versions"


def summary_digest(summary: Any) -> str:
    """How an erasure's summary is compared: the start of the sha256 of its canonical JSON
    (the row keeps that JSON; the event spreads the same keys among its details).

    >>> summary_digest({"flagged": [], "versions": []})
    'sha256 f557b6f156f2…'
    """
    text = summary if isinstance(summary, str) else canonical_json(summary)
    return f"sha256 {hashlib.sha256(text.encode('utf-8')).hexdigest()[:12]}…"


@dataclass
class ErasureReplay:
    """Erasures, erased versions, retrain flags and subject indexes, as the events imply."""

    erasures: dict[int, Facts] = field(default_factory=dict)
    # (erasure id, dataset version "name@v") -> rows and the version written without them.
    versions: dict[tuple[int, str], Facts] = field(default_factory=dict)
    # (erasure id, model version "name@v") -> due date.
    flags: dict[tuple[int, str], Facts] = field(default_factory=dict)
    # (dataset version "name@v", column, key id) -> blob and entry count.
    indexes: dict[tuple[str, str, str], Facts] = field(default_factory=dict)

    def feed(self, seq: int, action: str, subject: str, details: dict[str, Any]) -> None:
        """Take one event of :data:`ACTIONS` (its details already parsed)."""
        ref = subject.partition(":")[2]
        if action == INDEX_ACTION:
            key_id = str(details.get("key_id"))
            for column, entry in sorted((details.get("columns") or {}).items()):
                facts = self.indexes[(ref, column, key_id)] = Facts(seq, action)
                facts.set(seq, action, blob=entry.get("blob"), entries=entry.get("entries"))
            return
        erasure_id = details.get("erasure")
        if not isinstance(erasure_id, int):
            return
        due = details.get("retrain_due_at")
        facts = self.erasures[erasure_id] = Facts(seq, action)
        facts.set(seq, action, subject_key=ref, reason=details.get("reason"),
                  retrain_due_at=due, summary=summary_digest(
                      {k: details[k] for k in _SUMMARY if k in details}))
        for version in details.get("versions") or []:
            held = self.versions[(erasure_id, str(version.get("dataset")))] = Facts(seq, action)
            held.set(seq, action, rows=version.get("rows"),
                     replaced_by=version.get("replaced_by"))
        for model in details.get("flagged") or []:
            self.flags[(erasure_id, str(model))] = flag = Facts(seq, action)
            flag.set(seq, action, due_at=due)

    # -- comparing -----------------------------------------------------------------------

    def compare(self, session: Session, problems: list[Problem]) -> dict[str, int]:
        """Add every difference to ``problems``; the rows read per table."""
        return {"erasures": self._erasures(session, problems),
                "erased_versions": self._versions(session, problems),
                "retrain_flags": self._flags(session, problems),
                "subject_indexes": self._indexes(session, problems)}

    def _erasures(self, session: Session, problems: list[Problem]) -> int:
        by_seq = _actors(session, sorted(f.seq for f in self.erasures.values()))
        for facts in self.erasures.values():
            facts.set(facts.seq, facts.action, created_by=by_seq.get(facts.seq, "?"))
        rows = session.execute(select(
            ErasureRow.id, ErasureRow.subject_key, ErasureRow.reason,
            ErasureRow.retrain_due_at, ErasureRow.summary, ErasureRow.created_by)).all()
        stored = {r.id: {"subject_key": r.subject_key, "reason": r.reason,
                         "retrain_due_at": r.retrain_due_at,
                         "summary": summary_digest(r.summary), "created_by": r.created_by}
                  for r in rows}
        compare_rows(problems, "erasures", lambda k: f"#{k}", self.erasures, stored,
                     "such erasure")
        return len(rows)

    def _versions(self, session: Session, problems: list[Problem]) -> int:
        held, replaced = aliased(DatasetVersionRow), aliased(DatasetVersionRow)
        rows = session.execute(
            select(ErasedVersionRow.erasure_id, ErasedVersionRow.dataset_version_id,
                   held.name, held.version, ErasedVersionRow.rows,
                   ErasedVersionRow.replaced_by_id, replaced.name, replaced.version)
            .outerjoin(held, held.id == ErasedVersionRow.dataset_version_id)
            .outerjoin(replaced, replaced.id == ErasedVersionRow.replaced_by_id)).all()
        stored = {(r[0], _ref(r[2], r[3], r[1], _DATA)): {
            "rows": r[4],
            "replaced_by": None if r[5] is None else _ref(r[6], r[7], r[5], _DATA)}
            for r in rows}
        compare_rows(problems, "erased_versions", _pair, self.versions, stored,
                     "erasure of that version")
        return len(rows)

    def _flags(self, session: Session, problems: list[Problem]) -> int:
        rows = session.execute(
            select(RetrainFlagRow.erasure_id, RetrainFlagRow.model_version_id,
                   ModelVersionRow.name, ModelVersionRow.version, RetrainFlagRow.due_at)
            .outerjoin(ModelVersionRow, ModelVersionRow.id == RetrainFlagRow.model_version_id)
        ).all()
        stored = {(r[0], _ref(r[2], r[3], r[1], "model_versions")): {"due_at": r[4]}
                  for r in rows}
        compare_rows(problems, "retrain_flags", _pair, self.flags, stored,
                     "such flag")
        return len(rows)

    def _indexes(self, session: Session, problems: list[Problem]) -> int:
        rows = session.execute(
            select(SubjectIndexRow.dataset_version_id, DatasetVersionRow.name,
                   DatasetVersionRow.version, SubjectIndexRow.column, SubjectIndexRow.key_id,
                   SubjectIndexRow.blob, SubjectIndexRow.entries)
            .outerjoin(DatasetVersionRow,
                       DatasetVersionRow.id == SubjectIndexRow.dataset_version_id)).all()
        stored = {(_ref(r[1], r[2], r[0], _DATA), r[3], r[4]): {"blob": r[5], "entries": r[6]}
                  for r in rows}
        compare_rows(problems, "subject_indexes", lambda k: f"{k[0]}, {k[1]}, key {k[2]}",
                     self.indexes, stored, "index of that column")
        return len(rows)


def _ref(name: str | None, version: int | None, row_id: int, table: str) -> str:
    """``name@version``, or the id a row points at when no such version exists."""
    return f"{name}@{version}" if name is not None else f"{table} id {row_id}"


def _pair(key: tuple[int, str]) -> str:
    return f"erasure #{key[0]}, {key[1]}"
