"""The validation gate: the candidate's training data and the evaluation data pass their schemas.

The datasets checked are every dataset version the candidate's run read, then the
declared evaluation dataset version (``promotion.evaluation_data``); a version in both
roles is checked once. Each is validated against the schema in force for its dataset
name, as ``rasad validate`` finds it (:func:`rasad.validation.service.find_schema`): the
file declared under ``validation.schemas`` in ``rasad.yaml``, else the latest schema
version stored with ``rasad schema infer`` or ``rasad schema save``.

The check is the pure :func:`rasad.validation.validate` on the stored rows: the gate
writes no validation row and no audit event (it runs for every promotion attempt, and
the gate report that the promotion stores is the record of it), and needs only ``read``.

- Any check of severity error fails the gate, naming each dataset's error count.
- A dataset with no schema at all is reported as ``no schema`` and not checked; when
  nothing fails, the gate is then *skipped* (it could not check everything it should),
  and its summary says how to give the dataset a schema. Under a ``strict`` policy that
  blocks.
- Otherwise the gate passes; warnings are counted and do not block.

The evidence lists, per dataset, its version and content hash, its role, its schema
(label, where it came from, stored version or None for a declared file, sha256), the
rows, the error and warning counts and each failed check with its failing count, share,
message and the failing row positions. No cell value is quoted: a failing value can be
personal data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rasad.datasets import service as datasets
from rasad.release.gates._base import GateInputs, skipped
from rasad.release.report import GateResult, GateStatus
from rasad.validation import validate
from rasad.validation.service import StoredSchema, find_schema

if TYPE_CHECKING:
    from rasad.core import Context
    from rasad.datasets.version import DatasetVersion
    from rasad.validation.validate import CheckResult

GATE = "validation"

NO_SCHEMA = "no schema"
"""The status of a dataset that has no schema (declared or stored)."""


def _how(dataset: str) -> str:
    """How to give ``dataset`` a schema."""
    return (f"infer one with `rasad schema infer {dataset}` (edit it, then store it with "
            f"`rasad schema save {dataset} FILE`) or declare a file for {dataset} under "
            "validation.schemas in rasad.yaml")


def run(inputs: GateInputs) -> GateResult:
    """Validate the training and evaluation dataset versions against their schemas."""
    roles: dict[str, tuple[DatasetVersion, list[str]]] = {}
    for version in inputs.training_data:
        roles.setdefault(version.ref, (version, []))[1].append("training")
    evaluation = inputs.evaluation_version
    if evaluation is not None:
        roles.setdefault(evaluation.ref, (evaluation, []))[1].append("evaluation")
    model = inputs.candidate.ref
    if not roles:
        return skipped(GATE, f"There is no data to validate: the run of {model} records no "
                             "dataset version and promotion.evaluation_data is not set in "
                             "rasad.yaml.", model=model)
    checked = [_check(inputs.ctx, version, role)
               for version, role in roles.values()]
    failed = [entry for entry in checked if entry["status"] == "failed"]
    unchecked = [entry for entry in checked if entry["status"] == NO_SCHEMA]
    status = (GateStatus.FAILED if failed else GateStatus.SKIPPED if unchecked
              else GateStatus.PASSED)
    return GateResult(gate=GATE, status=status, summary=_summary(checked, failed, unchecked),
                      evidence={"model": model, "datasets": checked})


def _check(ctx: Context, version: DatasetVersion, roles: list[str]) -> dict[str, Any]:
    """One dataset version's validation, as the gate's evidence holds it."""
    entry: dict[str, Any] = {"dataset": version.ref, "sha256": version.content_hash,
                             "roles": roles, "rows": version.rows}
    schema = find_schema(ctx, version.name)
    if schema is None:
        return {**entry, "status": NO_SCHEMA, "schema": None}
    report = validate(datasets.load_frame(ctx, version), schema.table_schema)
    return {**entry, "status": "passed" if report.ok else "failed",
            "schema": _schema(schema), "errors": len(report.errors),
            "warnings": len(report.warnings),
            "failures": [_failure(result) for result in report.failures]}


def _schema(schema: StoredSchema) -> dict[str, Any]:
    return {"label": schema.label, "source": schema.source, "version": schema.version,
            "sha256": schema.content_hash}


def _failure(result: CheckResult) -> dict[str, Any]:
    """A failed check without its example values (row positions only)."""
    return {"check": str(result.check), "column": result.column,
            "severity": str(result.severity), "failing": result.failing,
            "share": result.share, "message": result.message,
            "rows": [example.row for example in result.examples]}


def _summary(checked: list[dict[str, Any]], failed: list[dict[str, Any]],
             unchecked: list[dict[str, Any]]) -> str:
    def named(entry: dict[str, Any]) -> str:
        return f"{entry['dataset']} ({' and '.join(entry['roles'])} data)"

    parts = []
    if failed:
        parts.append("; ".join(
            f"{named(e)} fails {e['schema']['label']}: {e['errors']} error(s) "
            f"({', '.join(_first(e))})" for e in failed))
    passed = [e for e in checked if e["status"] == "passed"]
    if passed:
        parts.append("; ".join(f"{named(e)} passes {e['schema']['label']}" for e in passed))
    for entry in unchecked:
        parts.append(f"{named(entry)} has no schema and was not validated; "
                     f"{_how(entry['dataset'].rsplit('@', 1)[0])}")
    return ". ".join(parts) + "."


def _first(entry: dict[str, Any]) -> list[str]:
    errors = [f for f in entry["failures"] if f["severity"] == "error"]
    shown = [f"{f['check']} on {f['column'] or 'the table'}" for f in errors[:3]]
    return shown + ([f"{len(errors) - 3} more"] if len(errors) > 3 else [])


__all__ = ["GATE", "NO_SCHEMA", "run"]
