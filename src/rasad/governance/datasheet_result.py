"""The datasheet of a dataset version as a typed value, and its Markdown form.

Pure: these models import nothing that touches the store, so the HTML renderer
(:func:`rasad.reports.datasheet.render_datasheet`) can draw them. The service that fills
them from the project's records is :func:`rasad.governance.datasheet.datasheet`.

A datasheet never holds a raw value of a column that may identify someone: the PII scan
contributes kinds and shares only, and the profile of a column with personal data, an
identifier or free text keeps its counts but not its values (:data:`MIN_GROUP` says which
category values are shown at all).

>>> q = Question(topic="uses", question="What should it not be used for?", answer=None)
>>> q.open
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Literal

from pydantic import AliasChoices, Field, computed_field

from rasad.governance._markdown import cell, md_table
from rasad.results import Result
from rasad.tables.column_kind import ColumnKind
from rasad.tables.profile import ColumnProfile

MIN_GROUP: Final[int] = 5
"""A category value appears in a datasheet only when at least this many rows hold it: a
rarer value can single a person out (small-cell suppression), and a planted identifier
would otherwise be printed as a "top value"."""

QUESTIONS: Final[tuple[tuple[str, str], ...]] = (
    ("motivation", "For what purpose was the dataset created, and who created and funded it?"),
    ("composition", "What do the rows represent, is anything missing, and does it hold "
                    "confidential or sensitive data?"),
    ("collection", "How, by whom, over what period and with what consent was the data "
                   "collected?"),
    ("preprocessing", "What cleaning, labelling or other preprocessing was done, and is the "
                      "raw data kept?"),
    ("uses", "What has the dataset been used for, and what should it not be used for?"),
    ("distribution", "Is the dataset shared outside the organisation, and under what terms?"),
    ("maintenance", "Who maintains the dataset, how is it updated, and how are errors "
                    "reported?"),
    ("owner", "Who owns the dataset?"),
)
"""The questions of "Datasheets for Datasets" (Gebru et al., 2021) that only people can
answer, by the ``governance.datasets.NAME`` key of ``rasad.yaml`` that answers each."""

CONTROLS: Final[tuple[tuple[str, str, str], ...]] = (
    ("GDPR", "Art. 5", "Principles relating to processing of personal data"),
    ("GDPR", "Art. 9", "Processing of special categories of personal data"),
    ("EU AI Act", "Art. 10", "Data and data governance"),
)
"""The controls a datasheet is evidence for: (framework, ID, official title), only those
marked verified in the project's regulatory research (shared/research/regulation.md)."""

ERASURES_NOTE: Final = "No data-subject erasure concerns this version."
"""What :attr:`Lineage.erasures` says when no erasure concerns the version."""


class Question(Result):
    """One question of the datasheet and the answer ``rasad.yaml`` gives, if any."""

    topic: str
    question: str
    answer: str | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def open(self) -> bool:
        """True when ``rasad.yaml`` does not answer it."""
        return self.answer is None


class ColumnSheet(Result):
    """One column: its profile, with values withheld when they could identify someone."""

    profile: ColumnProfile
    withheld: bool = Field(description="True when the column's values (range, quantiles, "
                                       "top values) are left out.")


class SchemaColumn(Result):
    """What the schema in force says of one column (category values counted, not listed)."""

    name: str
    kind: ColumnKind
    dtype: str
    nullable: bool
    unique: bool
    categories: int | None


class SchemaSummary(Result):
    """The schema in force for the dataset: where it comes from and its columns."""

    label: str
    source: str
    sha256: str
    columns: tuple[SchemaColumn, ...]


class ValidationEntry(Result):
    """One validation recorded for this version (the verdict; examples stay in the blob)."""

    id: int
    schema_label: str
    ok: bool
    errors: int
    warnings: int
    created_at: str


class PIIShare(Result):
    """One kind of personal data in a column: the share of checked values holding it."""

    kind: str
    basis: str
    share: float
    checked: int


class PIIColumn(Result):
    """A column holding personal data or declared a protected attribute."""

    column: str
    protected: bool
    findings: tuple[PIIShare, ...]


class PIISummary(Result):
    """The scan of every row, in kinds and shares (never values, not even masked)."""

    rows: int
    scanned_rows: int
    columns: tuple[PIIColumn, ...]


class ProtectedAttributes(Result):
    """Protected attributes declared in ``rasad.yaml`` and what the data holds of them."""

    declared: tuple[str, ...]
    present: tuple[str, ...]
    missing: tuple[str, ...]
    groups: dict[str, dict[str, int]] = Field(
        description=f"Rows per group of each present attribute (groups of fewer than "
                    f"{MIN_GROUP} rows are counted together as 'other').")
    favorable_outcomes: dict[str, bool | int | str] = Field(
        description="governance.fairness.favorable_outcomes for target columns in the data.")


class LineageEvent(Result):
    """An audit event about this version (the action, who and when; details stay in the
    ledger)."""

    seq: int
    action: str
    actor: str
    occurred_at: str


class VersionLink(Result):
    """Another version of the same dataset in this version's lineage."""

    ref: str
    content_hash: str
    created_at: str


class ErasureLink(Result):
    """A data-subject erasure that concerns this version (docs/subjects.md): the version
    ``held`` the erased subject (``other`` is the version written without them, None when
    this was not its dataset's latest), or the erasure ``wrote`` it (``other`` is the version
    it was written from). ``rows`` were removed; the subject is never named."""

    erasure_id: int
    role: Literal["held", "wrote"]
    other: str | None
    rows: int
    reason: str
    erased_by: str
    erased_at: str


def erasures_text(links: Sequence[ErasureLink]) -> str:
    """The erasures in one line, for the lineage section.

    >>> erasures_text([])
    'No data-subject erasure concerns this version.'
    >>> erasures_text([ErasureLink(erasure_id=1, role="wrote", other="loans@2", rows=3,
    ...     reason="GDPR Art. 17", erased_by="dpo", erased_at="2026-01-02T00:00:00Z")])
    'erasure #1 (2026-01-02, by dpo: GDPR Art. 17) wrote it from loans@2 without 3 row(s)'
    """
    if not links:
        return ERASURES_NOTE
    parts = []
    for link in links:
        head = f"erasure #{link.erasure_id} ({link.erased_at[:10]}, by {link.erased_by}: " \
               f"{link.reason})"
        if link.role == "wrote":
            parts.append(f"{head} wrote it from {link.other} without {link.rows} row(s)")
        else:
            then = f"; replaced by {link.other}" if link.other else ""
            parts.append(f"{head}: it held {link.rows} row(s) of the erased subject{then}, "
                         "its blob removed by `rasad gc` under the retention rule")
    return "; ".join(parts)


class Lineage(Result):
    """Where the version came from and what derives from it."""

    source: str
    content_hash: str
    created_by: str
    created_at: str
    parents: tuple[VersionLink, ...] = Field(description="Nearest first.")
    children: tuple[VersionLink, ...]
    events: tuple[LineageEvent, ...]
    erasures: str = ERASURES_NOTE
    erasure_records: tuple[ErasureLink, ...] = ()


class TrainedModel(Result):
    """A registered model version whose training run used this dataset version."""

    model: str
    run_id: str
    role: str
    created_by: str
    created_at: str


class Control(Result):
    """A regulatory control the datasheet is evidence for."""

    framework: str
    id: str
    title: str


class Datasheet(Result):
    """The datasheet of one dataset version, generated from what rasad holds."""

    dataset: str
    name: str
    version: int
    generated_at: str
    rows: int
    columns: int
    profile: tuple[ColumnSheet, ...]
    table_schema: SchemaSummary | None = Field(
        serialization_alias="schema", validation_alias=AliasChoices("schema", "table_schema"))
    validations: tuple[ValidationEntry, ...]
    pii: PIISummary
    protected_attributes: ProtectedAttributes
    lineage: Lineage
    models: tuple[TrainedModel, ...]
    questions: tuple[Question, ...]
    controls: tuple[Control, ...] = tuple(
        Control(framework=f, id=i, title=t) for f, i, t in CONTROLS)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def open_questions(self) -> tuple[str, ...]:
        """The topics ``rasad.yaml`` leaves unanswered."""
        return tuple(q.topic for q in self.questions if q.open)

    def to_markdown(self) -> str:
        """The datasheet as Markdown (table cells escaped)."""
        return _markdown(self)


def _markdown(sheet: Datasheet) -> str:
    lines = [f"# Datasheet: {cell(sheet.dataset)}", "",
             f"Generated by rasad at {sheet.generated_at} from the project's records.", "",
             "Evidence for: " + "; ".join(f"{c.framework} {c.id} ({c.title})"
                                          for c in sheet.controls) + ".", "",
             "## Composition", "",
             f"{sheet.rows:,} rows x {sheet.columns} columns.", ""]
    lines += md_table(["column", "kind", "dtype", "missing", "distinct", "min", "max", "values"],
                    [_profile_row(c) for c in sheet.profile])
    lines += ["## Schema", ""]
    if sheet.table_schema is None:
        lines += ["No schema is stored or declared for this dataset.", ""]
    else:
        s = sheet.table_schema
        lines += [f"{cell(s.label)} (sha256 {s.sha256}).", ""]
        lines += md_table(["column", "kind", "dtype", "nullable", "unique", "categories"],
                        [(c.name, c.kind.value, c.dtype, c.nullable, c.unique, c.categories)
                         for c in s.columns])
    lines += ["## Validation results", ""]
    lines += md_table(["id", "schema", "ok", "errors", "warnings", "at"],
                    [(v.id, v.schema_label, v.ok, v.errors, v.warnings, v.created_at)
                     for v in sheet.validations])
    lines += ["## Personal data", "",
              f"Scanned {sheet.pii.scanned_rows:,} of {sheet.pii.rows:,} rows; kinds and "
              "shares only, never values.", ""]
    lines += md_table(["column", "kind", "basis", "share", "checked"],
                    [row for c in sheet.pii.columns for row in _pii_rows(c)])
    p = sheet.protected_attributes
    lines += ["## Protected attributes", "",
              f"Declared: {cell(', '.join(p.declared) or 'none')}. "
              f"Missing from the data: {cell(', '.join(p.missing) or 'none')}.", ""]
    lines += md_table(["attribute", "group", "rows"],
                    [(a, g, n) for a, groups in p.groups.items() for g, n in groups.items()])
    if p.favorable_outcomes:
        lines += ["Favourable outcomes: " + cell(", ".join(
            f"{k} = {v}" for k, v in p.favorable_outcomes.items())) + ".", ""]
    lineage = sheet.lineage
    lines += ["## Lineage", "",
              f"- Source: {cell(lineage.source)}",
              f"- Content sha256: {lineage.content_hash}",
              f"- Added by {cell(lineage.created_by)} at {lineage.created_at}",
              "- Parents: " + cell(", ".join(v.ref for v in lineage.parents) or "none"),
              "- Derived versions: " + cell(", ".join(v.ref for v in lineage.children)
                                             or "none"),
              f"- Erasures: {cell(lineage.erasures)}", ""]
    lines += md_table(["seq", "action", "actor", "at"],
                    [(e.seq, e.action, e.actor, e.occurred_at) for e in lineage.events])
    lines += ["## Models trained on it", ""]
    lines += md_table(["model version", "run", "role", "by", "at"],
                    [(m.model, m.run_id, m.role, m.created_by, m.created_at)
                     for m in sheet.models])
    lines += ["## Questions", ""]
    for q in sheet.questions:
        lines += [f"### {q.topic.capitalize()}", "", f"*{q.question}*", "",
                  q.answer.strip() if q.answer is not None
                  else f"**Open question**: not answered in rasad.yaml "
                       f"(governance.datasets.{sheet.name}.{q.topic}).", ""]
    return "\n".join(lines).rstrip() + "\n"


def _profile_row(column: ColumnSheet) -> tuple[object, ...]:
    c = column.profile
    values = ("withheld" if column.withheld
              else ", ".join(f"{v} ({n})" for v, n in c.top or ()) or None)
    return (c.name, c.kind.value, c.dtype, f"{c.missing_share:.1%}", c.n_unique, c.min, c.max,
            values)


def _pii_rows(column: PIIColumn) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = [(column.column, f.kind, f.basis, f"{f.share:.1%}",
                                       f.checked) for f in column.findings]
    if column.protected:
        rows.append((column.column, "protected attribute", "declared", None, None))
    return rows


__all__ = ["CONTROLS", "ERASURES_NOTE", "MIN_GROUP", "QUESTIONS", "ColumnSheet", "Control",
           "ErasureLink", "erasures_text",
           "Datasheet", "Lineage",
           "LineageEvent", "PIIColumn", "PIIShare", "PIISummary", "ProtectedAttributes",
           "Question", "SchemaColumn", "SchemaSummary", "TrainedModel", "ValidationEntry",
           "VersionLink"]
