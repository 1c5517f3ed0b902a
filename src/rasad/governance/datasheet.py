"""Datasheets: what rasad holds about a dataset version, in the shape of "Datasheets for
Datasets" (Gebru et al.), generated from the records and never typed by hand.

:func:`datasheet` reads the version's profile, the schema in force and the validations
recorded for it, scans every row for personal data (kinds and shares only), lists the
protected attributes ``rasad.yaml`` declares, the version's lineage (source, content hash,
parent and derived versions, its audit events, the data-subject erasures that concern it)
and the model versions trained on it, and answers the people-only questions from
``governance.datasets.NAME`` in ``rasad.yaml``, listing those it leaves open. It writes
nothing and needs ``read``.

It sits in ``governance`` and reads the datasets, validation, registry and ledger services;
the import-linter layers allow it because nothing it reads imports ``governance`` back
(only ``release``, above the registry, does). The value it returns and its Markdown form are
in :mod:`rasad.governance.datasheet_result`; :func:`rasad.reports.datasheet.render_datasheet`
draws the HTML page.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from rasad.datasets import service as datasets
from rasad.governance.datasheet_result import (
    MIN_GROUP,
    QUESTIONS,
    ColumnSheet,
    Datasheet,
    ErasureLink,
    Lineage,
    LineageEvent,
    PIIColumn,
    PIIShare,
    PIISummary,
    ProtectedAttributes,
    Question,
    SchemaColumn,
    SchemaSummary,
    TrainedModel,
    ValidationEntry,
    VersionLink,
    erasures_text,
)
from rasad.identity import Permission
from rasad.ledger import events
from rasad.registry import models as registry
from rasad.tables.column_kind import ColumnKind
from rasad.validation import service as validation

if TYPE_CHECKING:
    from rasad.core import Context
    from rasad.datasets import DatasetVersion
    from rasad.tables.profile import ColumnProfile
    from rasad.validation.pii import PIIReport

_VALUELESS = frozenset({ColumnKind.IDENTIFIER, ColumnKind.TEXT})
"""Kinds whose values are never shown: each value tends to be one person's."""


def datasheet(ctx: Context, name: str, version: int | None = None) -> Datasheet:
    """The datasheet of ``name@version`` (the latest version when ``version`` is None).

    Raises
    ------
    NotFoundError
        No such dataset or version; the message lists the versions there are.
    """
    found = datasets.get(ctx, name, version)
    ctx.require(Permission.READ, f"read the datasheet of {found.ref}")
    config = ctx.config
    report = validation.scan_dataset(ctx, found, sample_rows=None)
    flagged = {c.column for c in report.columns if c.findings}
    hidden = flagged | {c for c in config.data.id_columns if c in found.kinds}
    answers = config.governance.datasets.get(name)
    return Datasheet(
        dataset=found.ref, name=found.name, version=found.version, generated_at=ctx.clock(),
        rows=found.rows, columns=found.columns,
        profile=tuple(_column(c, hidden) for c in found.profile.columns),
        table_schema=_schema(ctx, name),
        validations=tuple(ValidationEntry(id=v.id, schema_label=v.schema_label, ok=v.ok,
                                          errors=v.errors, warnings=v.warnings,
                                          created_at=v.created_at)
                          for v in validation.validations(ctx, name) if v.dataset == found.ref),
        pii=_pii(report),
        protected_attributes=_protected(ctx, found, hidden),
        lineage=_lineage(ctx, found),
        models=_models(ctx, found),
        questions=tuple(Question(topic=topic, question=text,
                                 answer=None if answers is None else getattr(answers, topic))
                        for topic, text in QUESTIONS),
    )


def _column(profile: ColumnProfile, hidden: set[str]) -> ColumnSheet:
    if profile.name in hidden or profile.kind in _VALUELESS:
        return ColumnSheet(profile=profile.model_copy(update={
            "min": None, "max": None, "mean": None, "std": None, "quantiles": None,
            "top": None}), withheld=True)
    if profile.top is not None:
        profile = profile.model_copy(update={
            "top": tuple((v, n) for v, n in profile.top if n >= MIN_GROUP)})
    if profile.kind is ColumnKind.CATEGORICAL:
        # Text bounds of a category column are raw values whatever their counts.
        profile = profile.model_copy(update={"min": None, "max": None})
    return ColumnSheet(profile=profile, withheld=False)


def _schema(ctx: Context, name: str) -> SchemaSummary | None:
    stored = validation.find_schema(ctx, name)
    if stored is None:
        return None
    return SchemaSummary(
        label=stored.label, source=stored.source, sha256=stored.content_hash,
        columns=tuple(SchemaColumn(name=c.name, kind=c.kind, dtype=c.dtype,
                                   nullable=c.nullable, unique=c.unique,
                                   categories=None if c.categories is None
                                   else len(c.categories))
                      for c in stored.table_schema.columns))


def _pii(report: PIIReport) -> PIISummary:
    return PIISummary(rows=report.rows, scanned_rows=report.sampled_rows, columns=tuple(
        PIIColumn(column=c.column, protected=c.protected,
                  findings=tuple(PIIShare(kind=f.kind.value, basis=f.basis.value,
                                          share=f.share, checked=f.checked)
                                 for f in c.findings))
        for c in report.columns))


def _protected(ctx: Context, found: DatasetVersion, hidden: set[str]) -> ProtectedAttributes:
    declared = tuple(dict.fromkeys(ctx.config.data.protected_attributes))
    present = tuple(a for a in declared if a in found.kinds)
    groups: dict[str, dict[str, int]] = {}
    for attribute in present:
        profile = found.profile.column(attribute)
        if attribute in hidden or profile.top is None:
            continue
        counts: Counter[str] = Counter()
        for value, n in profile.top:
            counts[value if n >= MIN_GROUP else "other"] += n
        listed = sum(n for _, n in profile.top)
        rest = profile.count - listed
        if rest:
            counts["other"] += rest
        if profile.missing:
            counts["(missing)"] += profile.missing
        groups[attribute] = dict(counts)
    favorable = {target: outcome for target, outcome
                 in ctx.config.governance.fairness.favorable_outcomes.items()
                 if target in found.kinds}
    return ProtectedAttributes(declared=declared, present=present,
                               missing=tuple(a for a in declared if a not in found.kinds),
                               groups=groups, favorable_outcomes=favorable)


def _lineage(ctx: Context, found: DatasetVersion) -> Lineage:
    by_id = {v.id: v for v in datasets.list_versions(ctx, found.name)}
    parents: list[VersionLink] = []
    seen = {found.id}
    parent_id = found.parent_id
    while parent_id is not None and parent_id in by_id and parent_id not in seen:
        seen.add(parent_id)
        parent = by_id[parent_id]
        parents.append(_link(parent))
        parent_id = parent.parent_id
    children = tuple(_link(v) for v in by_id.values() if v.parent_id == found.id)
    with ctx.read() as session:
        found_events = events(session, subject=f"dataset:{found.ref}")
    from rasad.governance.subjects import version_erasures

    erasures = tuple(ErasureLink(erasure_id=e, role=role, other=other, rows=rows, reason=why,
                                 erased_by=by, erased_at=at)
                     for role, e, other, rows, why, by, at in version_erasures(ctx, found.id))
    return Lineage(
        source=found.source, content_hash=found.content_hash, created_by=found.created_by,
        created_at=found.created_at, parents=tuple(parents), children=children,
        events=tuple(LineageEvent(seq=e.seq, action=e.action, actor=e.actor,
                                  occurred_at=e.occurred_at) for e in found_events),
        erasures=erasures_text(erasures), erasure_records=erasures)


def _link(version: DatasetVersion) -> VersionLink:
    return VersionLink(ref=version.ref, content_hash=version.content_hash,
                       created_at=version.created_at)


def _models(ctx: Context, found: DatasetVersion) -> tuple[TrainedModel, ...]:
    return tuple(
        TrainedModel(model=v.ref, run_id=v.run_id, role=str(used["role"]),
                     created_by=v.created_by, created_at=v.created_at)
        for detail in registry.list_models(ctx) for v in detail.versions
        for used in v.datasets
        if used["dataset"] == found.ref and used["content_hash"] == found.content_hash)


__all__ = ["Datasheet", "datasheet"]
