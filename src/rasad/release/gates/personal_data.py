"""The personal-data gate: no model input holds undeclared personal data.

The candidate's input columns (its signature) are scanned with rasad's PII scanner
(:func:`rasad.validation.pii.scan`) in every dataset version its run read; when the run
records none, in the declared evaluation dataset version instead. The scan is the pure
one, on the stored rows: nothing is written. It checks at most
:data:`~rasad.validation.pii.DEFAULT_SAMPLE_ROWS` rows per version, drawn with
``promotion.seed``.

An input column blocks the promotion when

- the scan finds personal data in it (an e-mail address, a phone number, a national ID,
  a name...), or
- it is a protected attribute (``data.protected_attributes``): a model should not decide
  on sex or age,

unless ``promotion.personal_data.allowed`` in ``rasad.yaml`` lists it with a written
justification (``age: "Credit law allows age as a risk factor; reviewed by legal"``).
Listed columns pass, and their justification is kept in the evidence.

The evidence holds, per flagged input column, each finding (dataset version, kind,
basis, share, matches, values checked and up to three *masked* examples: a raw value is
never quoted), whether it is a protected attribute, its justification if listed, and
whether it blocks; the datasets scanned with their content hashes, rows and rows
checked; the scan's thresholds; and the allowed list as it was applied.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rasad.datasets import service as datasets
from rasad.release.gates._base import GateInputs, skipped
from rasad.release.report import GateResult, GateStatus
from rasad.validation.pii import PIIPolicy, PIIReport, scan

if TYPE_CHECKING:
    from rasad.datasets.version import DatasetVersion

GATE = "personal_data"


def run(inputs: GateInputs) -> GateResult:
    """Scan the candidate's inputs for personal data and protected attributes."""
    ctx, candidate = inputs.ctx, inputs.candidate
    allowed = dict(inputs.config.personal_data.allowed)
    features = list(candidate.signature.names)
    protected = [c for c in ctx.config.data.protected_attributes if c in features]
    scanned_in, sources = "training", list(inputs.training_data)
    if not sources and inputs.evaluation_version is not None:
        scanned_in, sources = "evaluation", [inputs.evaluation_version]
    policy = PIIPolicy(seed=inputs.config.seed)
    reports = [(version, _scan(inputs, version, features, protected, policy))
               for version in sources]
    columns = _columns(features, protected, reports, allowed)
    blocking = [entry for entry in columns if entry["blocks"]]
    evidence: dict[str, Any] = {
        "model": candidate.ref, "artifact_sha256": candidate.blob, "inputs": features,
        "protected_attributes": list(ctx.config.data.protected_attributes),
        "allowed": allowed,
        "unused_allowances": sorted(set(allowed) - set(features)),
        "scanned": scanned_in if sources else None,
        "datasets": [{"dataset": version.ref, "sha256": version.content_hash,
                      "rows": report.rows, "sampled_rows": report.sampled_rows,
                      "not_scanned": [c for c in features if c not in version.kinds]}
                     for version, report in reports],
        "policy": policy.to_dict(), "columns": columns,
    }
    if blocking:
        return GateResult(gate=GATE, status=GateStatus.FAILED, summary=(
            f"{len(blocking)} input(s) of {candidate.ref} hold personal data or a protected "
            f"attribute without a justification: {'; '.join(map(_why, blocking))}. Retrain "
            "without them, or list each under promotion.personal_data.allowed in rasad.yaml "
            "with the reason the model may use it."), evidence=evidence)
    if not sources:
        return skipped(GATE, f"No data to scan: the run of {candidate.ref} records no dataset "
                             "version and promotion.evaluation_data is not set in rasad.yaml "
                             "(no input is a protected attribute without a justification).",
                       **evidence)
    justified = [entry for entry in columns if entry["allowed"] is not None]
    where = ", ".join(f"{version.ref} ({report.sampled_rows:,} rows checked)"
                      for version, report in reports)
    return GateResult(gate=GATE, status=GateStatus.PASSED, summary=(
        f"No input of {candidate.ref} holds undeclared personal data ({len(features)} inputs "
        f"scanned in {where})"
        + (f"; used with a justification: {'; '.join(map(_why, justified))}" if justified
           else "") + "."), evidence=evidence)


def _scan(inputs: GateInputs, version: DatasetVersion, features: list[str],
          protected: list[str], policy: PIIPolicy) -> PIIReport:
    """The PII scan of ``version``'s input columns (those it has)."""
    present = [c for c in features if c in version.kinds]
    frame = datasets.load_frame(inputs.ctx, version)[present]
    return scan(frame, protected_attributes=[c for c in protected if c in present],
                policy=policy).labelled(version.ref)


def _columns(features: list[str], protected: list[str],
             reports: list[tuple[DatasetVersion, PIIReport]],
             allowed: dict[str, str]) -> list[dict[str, Any]]:
    """Per flagged input column (in input order): findings, justification, verdict."""
    entries = []
    for column in features:
        findings = [{"dataset": version.ref, **finding.to_dict()}
                    for version, report in reports for found in report.columns
                    if found.column == column for finding in found.findings]
        is_protected = column in protected
        if not findings and not is_protected:
            continue
        entries.append({
            "column": column,
            "kinds": list(dict.fromkeys(str(f["kind"]) for f in findings)),
            "protected": is_protected, "findings": findings,
            "allowed": allowed.get(column), "blocks": column not in allowed})
    return entries


def _why(entry: dict[str, Any]) -> str:
    """``"mobile (phone in 100% of values)"``, ``"sex (protected attribute)"``."""
    reasons = [f"{f['kind']} in {f['share']:.0%} of {f['dataset']}'s values"
               for f in entry["findings"]]
    if entry["protected"]:
        reasons.append("protected attribute")
    text = f"{entry['column']} ({', '.join(reasons)})"
    return text if entry["allowed"] is None else f"{text}: {entry['allowed']!r}"


__all__ = ["GATE", "run"]
