"""The fairness gate: the fairness engine's verdicts on the candidate's evaluation decisions.

The candidate scores the declared evaluation dataset version once (shared with the other
gates), and :func:`rasad.governance.fairness.assess` compares its decisions across the
groups of every protected attribute of ``data.protected_attributes``: group metrics,
disparities with stratified bootstrap intervals (``promotion.bootstrap`` resamples,
``promotion.seed``, ``promotion.confidence``) and a verdict per measure under the default
:class:`~rasad.governance.fairness.FairnessPolicy` (the four-fifths rule among them).
Every rate counts the favourable outcome declared for the target under
``governance.fairness.favorable_outcomes`` (for a credit model, ``default: 0``: a repaid
loan, an approval), chosen among the candidate's classes as ``rasad fairness --model``
chooses it; undeclared, the labels must be 0/1 and 1 is taken, and the evidence says so.

The gate fails when any verdict fails. With ``promotion.fairness.require_pass`` every
judged verdict must pass: an inconclusive one (an interval across its threshold) or a
report where nothing could be judged blocks too.

Skipped, with the reason, when no protected attribute is declared, when the candidate is
not a binary classifier (the engine compares two outcomes, one favourable), or when no
evaluation data is declared. A protected attribute that the evaluation data lacks is a
mistake in ``rasad.yaml`` and raises :class:`~rasad.errors.InputError`.

The evidence is the whole report (every group's figures, every disparity with its
interval, threshold and verdict, the policy, resamples and seed), the favourable outcome
and where it was declared, the candidate and its artifact's sha256, and the evaluation
dataset version and its content hash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from rasad.errors import InputError
from rasad.governance.fairness import FairnessReport, Verdict, assess
from rasad.governance.fairness.service import FAVORABLE_FROM_CONFIG, favorable_class
from rasad.release.gates._base import GateInputs, skipped
from rasad.release.report import GateResult, GateStatus

GATE = "fairness"


@dataclass(frozen=True)
class Assessment:
    """The fairness engine's report on the candidate's evaluation decisions, or why there
    is none (``skipped``: the reason, and ``evidence`` for the skipped gate)."""

    report: FairnessReport | None
    skipped: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    declared: bool = False


def assessment(inputs: GateInputs) -> Assessment:
    """Assess the candidate's decisions on the evaluation data across protected groups (the
    gate's figures; the model card shows the same report).

    Raises
    ------
    InputError
        A protected attribute ``rasad.yaml`` declares is not a column of the evaluation data.
    """
    ctx, candidate, config = inputs.ctx, inputs.candidate, inputs.config
    protected = list(ctx.config.data.protected_attributes)
    if not protected:
        return Assessment(None, "No protected attributes are declared; list them under "
                                "data.protected_attributes in rasad.yaml.")
    classes = list(candidate.classes or [])
    if candidate.task != "classification" or len(classes) != 2:
        return Assessment(None, f"{candidate.ref} is not a binary classifier (task "
                                f"{candidate.task}, classes: "
                                f"{', '.join(map(str, classes)) or 'none'}): the fairness "
                                "engine compares two outcomes, one of them favourable, so the "
                                "gate does not apply.")
    evaluation = inputs.evaluation
    if evaluation is None:
        return Assessment(None, "No evaluation data is declared; set "
                                "promotion.evaluation_data in rasad.yaml to assess fairness.",
                          {"protected": protected})
    frame, target, version = evaluation.frame, evaluation.target, evaluation.version
    missing = [column for column in protected if column not in frame.columns]
    if missing:
        raise InputError(f"data.protected_attributes in rasad.yaml names "
                         f"{', '.join(map(repr, missing))}, not a column of the evaluation "
                         f"data {version.ref} (promotion.evaluation_data); its columns are "
                         f"{', '.join(map(str, frame.columns))}.")
    declared = ctx.config.governance.fairness.favorable_outcomes.get(target)
    chosen = favorable_class(classes, declared, candidate.ref)
    scores = inputs.candidate_scores
    proba = None if scores.proba is None else scores.proba[:, classes.index(chosen)]
    report = assess(
        frame[target], pd.Series(scores.predictions, name=f"{candidate.ref} prediction"),
        frame[protected],
        None if proba is None else pd.Series(proba, name=f"{candidate.ref} probability "
                                                         f"of {chosen}"),
        favorable=None if declared is None else chosen, n_boot=config.bootstrap,
        confidence=config.confidence, seed=config.seed)
    return Assessment(report, declared=declared is not None)


def run(inputs: GateInputs) -> GateResult:
    """Assess the candidate's decisions on the evaluation data across protected groups."""
    candidate, config = inputs.candidate, inputs.config
    found = assessment(inputs)
    if found.report is None:
        return skipped(GATE, found.skipped or "", model=candidate.ref, **found.evidence)
    report = found.report
    assert inputs.evaluation is not None  # a report was made on it
    frame, target, version = (inputs.evaluation.frame, inputs.evaluation.target,
                              inputs.evaluation.version)
    protected = list(inputs.ctx.config.data.protected_attributes)
    blocking = _blocking(report, config.fairness.require_pass)
    status = GateStatus.FAILED if blocking else GateStatus.PASSED
    return GateResult(gate=GATE, status=status,
                      summary=_summary(report, blocking, version.ref,
                                       config.fairness.require_pass),
                      evidence={
                          "model": candidate.ref, "artifact_sha256": candidate.blob,
                          "evaluation_data": version.ref,
                          "evaluation_sha256": version.content_hash, "target": target,
                          "rows": int(frame.shape[0]), "protected": protected,
                          "favorable": report.outcome.favorable,
                          "favorable_declared_in": (FAVORABLE_FROM_CONFIG if found.declared
                                                    else None),
                          "require_pass": config.fairness.require_pass,
                          "verdict": str(report.verdict), "blocking": blocking,
                          "report": report.to_dict(),
                      })


def _blocking(report: FairnessReport, require_pass: bool) -> list[str]:
    """The measures that stop the promotion, as ``"measure of 'attribute' (verdict)"``."""
    stops = {Verdict.FAIL} | ({Verdict.INCONCLUSIVE, Verdict.NOT_JUDGED} if require_pass
                              else set())
    found = [f"{d.measure} of {a.name!r} ({d.verdict})" for a in report.attributes
             for d in a.disparities if d.verdict in stops]
    if require_pass and not found and report.verdict is not Verdict.PASS:
        found.append(f"the report as a whole ({report.verdict})")
    return found


def _summary(report: FairnessReport, blocking: list[str], data: str,
             require_pass: bool) -> str:
    outcome = report.outcome
    measured = (f"favourable outcome {outcome.favorable}"
                + ("" if outcome.declared else " (assumed: declare it under "
                   "governance.fairness.favorable_outcomes)"))
    attributes = ", ".join(f"{a.name} {a.verdict}" for a in report.attributes)
    if blocking:
        rule = "every verdict must pass (promotion.fairness.require_pass)" if (
            require_pass and report.verdict is not Verdict.FAIL) else "no verdict may fail"
        return (f"Fairness {report.verdict} on {data} ({report.rows} rows, {measured}), "
                f"and {rule}: {'; '.join(blocking)}.")
    return (f"Fairness {report.verdict} on {data} ({report.rows} rows, {measured}): "
            f"{attributes}.")


__all__ = ["GATE", "Assessment", "assessment", "run"]
