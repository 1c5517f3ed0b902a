"""Assessing a registered model's fairness on a dataset version, and keeping the result.

:func:`assess_model` is the use-case behind ``rasad fairness --model M@V --data D@V``
and :meth:`rasad.Project.assess_fairness`: it loads the model through the registry
(its bytes checked against their hash and built from trusted types only), scores the
dataset version, runs the pure engine (:func:`rasad.governance.fairness.assess`) with
the protected attributes and favourable outcome from ``rasad.yaml`` unless the caller
overrides them, and stores the report as a monitor result of kind ``fairness``, in one
transaction with its ``monitor.result`` audit event
(:func:`rasad.monitoring.results.save_result`). :func:`list_assessments` and
:func:`load_report` read them back.

Nothing is stored when anything fails: the model is loaded and scored, and the report
computed, before the one write.

Where the defaults come from in ``rasad.yaml``:

- protected attributes: ``data.protected_attributes``;
- the favourable outcome of the target: ``governance.fairness.favorable_outcomes``;
- the target: the column the model was trained to predict.

The pure engine and its modules never import this one: fairness on files needs no
project (``rasad fairness scores.csv ...``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd

from rasad.datasets import service as datasets
from rasad.errors import InputError
from rasad.governance.fairness.assess import assess
from rasad.governance.fairness.report import FairnessAssessment, FairnessReport
from rasad.identity import Permission
from rasad.monitoring.results import (
    MonitorKind,
    MonitorResult,
    list_results,
    load_payload,
    save_result,
)
from rasad.names import check_name, parse_ref
from rasad.registry import models

if TYPE_CHECKING:
    from rasad.core import Context
    from rasad.governance.fairness.terms import Label
    from rasad.governance.fairness.verdict import FairnessPolicy
    from rasad.registry.version import ModelVersion

DEFAULT_MONITOR: Final = "fairness"
"""The monitor name assessments are stored under unless the caller names another."""

FAVORABLE_FROM_CONFIG: Final = "rasad.yaml (governance.fairness.favorable_outcomes)"
"""Where the favourable outcome came from when the caller gave none."""


def assess_model(ctx: Context, model: str, dataset: str, *, version: int | None = None,
                 env: str | None = None, target: str | None = None,
                 protected: Sequence[str] | None = None, favorable: Label | None = None,
                 favorable_source: str = "the favorable argument",
                 bins: Mapping[str, Sequence[float] | None] | None = None,
                 intersections: bool = False, policy: FairnessPolicy | None = None,
                 n_boot: int = 1000, seed: int = 0, save: bool = True,
                 monitor: str = DEFAULT_MONITOR) -> FairnessAssessment:
    """Score a dataset version with a registered model and assess its fairness.

    Parameters
    ----------
    ctx : Context
        The project's context; the stored result and its audit event name ``ctx.actor``.
    model : str
        The model's name, or ``NAME@VERSION``.
    dataset : str
        The dataset version, ``NAME@VERSION`` (``NAME`` alone: the latest version).
    version, env : int or str, optional
        Which version of ``model``: a number, the one serving in an environment, or
        (neither) the latest.
    target : str, optional
        The label column; default the column the model was trained to predict.
    protected : sequence of str, optional
        The sensitive columns; default ``data.protected_attributes`` in ``rasad.yaml``.
    favorable : label value, optional
        The label value that favours the person; default the target's entry in
        ``governance.fairness.favorable_outcomes``, else the positive label 1.
    favorable_source : str
        Where ``favorable`` was declared, as reports should name it (the CLI passes
        ``"the --favorable option"``).
    bins, intersections, policy, n_boot, seed
        As for :func:`rasad.governance.fairness.assess`.
    save : bool
        Store the report (default; needs ``monitor.write``). False computes it and writes
        nothing.
    monitor : str
        The monitor name to store it under.

    Returns
    -------
    FairnessAssessment
        The report, the model and dataset versions, where the favourable outcome was
        declared, and the stored result's id (None when ``save`` is False).

    Raises
    ------
    InputError
        The model is not a binary classifier, a column is missing, no protected
        attribute is known, the favourable outcome is not a class of the model, or the
        data does not fit the model's signature.
    NotFoundError
        No such model, version, environment or dataset version.
    IntegrityError, UntrustedArtifactError
        The model's bytes fail their hash check or hold a type the trust policy refuses;
        nothing is stored.
    """
    if save:  # refused before the model is scored
        check_name(monitor, "Monitor")
        ctx.require(Permission.MONITOR_WRITE, f"save results of monitor {monitor!r}")
    version_ = _model_version(ctx, model, version, env)
    classes = list(version_.classes or [])
    if version_.task != "classification" or len(classes) != 2:
        raise InputError(f"Model {version_.ref} is not a binary classifier (classes: "
                         f"{', '.join(map(str, classes)) or 'none'}); fairness compares two "
                         f"outcomes, one of them favourable.")
    name, number = parse_ref(dataset)
    data_version = datasets.get(ctx, name, number)
    frame = datasets.load_frame(ctx, data_version).reset_index(drop=True)
    target = target or _trained_target(ctx, version_)
    columns = _protected(ctx, protected)
    missing = [f"{what} {column!r}" for what, column in
               [("target", target), *(("protected attribute", c) for c in columns)]
               if column not in frame.columns]
    if missing:
        raise InputError(f"{', '.join(missing)}: no such column in {data_version.ref}; its "
                         f"columns are {', '.join(map(str, frame.columns))}.")
    declared, declared_in = _favorable(ctx, target, favorable, favorable_source)
    chosen = favorable_class(classes, declared, version_.ref)
    predictions, scores = _score(ctx, version_, frame, classes.index(chosen))
    label = f"{version_.ref} probability of {chosen}"
    report = assess(frame[target], pd.Series(predictions, name=f"{version_.ref} prediction"),
                    frame[columns], None if scores is None else pd.Series(scores, name=label),
                    favorable=None if declared is None else chosen,
                    intersections=intersections, bins=bins, policy=policy, n_boot=n_boot,
                    seed=seed)
    stored = None
    if save:
        stored = save_result(
            ctx, monitor=monitor, kind=MonitorKind.FAIRNESS, reference=version_.ref,
            current=data_version.ref, alert=report.failed,
            summary=_summary(report, version_, data_version.content_hash, target, columns,
                             declared_in),
            payload=report.to_dict())
    return FairnessAssessment(
        data=f"{data_version.ref} scored by {version_.ref}", model=version_.ref,
        dataset=data_version.ref, declared_in=declared_in,
        result_id=None if stored is None else stored.id, report=report)


def list_assessments(ctx: Context, monitor: str | None = None) -> list[MonitorResult]:
    """The stored fairness results, oldest first (of one monitor when ``monitor`` is given)."""
    return list_results(ctx, monitor, kind=MonitorKind.FAIRNESS)


def load_report(ctx: Context, result: MonitorResult) -> FairnessReport:
    """The full report of a stored fairness result (its blob checked against its hash)."""
    if result.kind != MonitorKind.FAIRNESS:
        raise InputError(f"Monitor result {result.id} is a {result.kind} result, not a "
                         "fairness one.")
    return FairnessReport.from_dict(load_payload(ctx, result))


def _model_version(ctx: Context, model: str, version: int | None,
                   env: str | None) -> ModelVersion:
    name, pinned = parse_ref(model)
    if pinned is not None and (version is not None or env is not None):
        raise InputError(f"{model!r} already names a version; drop the separate "
                         "version or environment.")
    return models.resolve(ctx, name, version=pinned if pinned is not None else version,
                          env=env)


def _trained_target(ctx: Context, version: ModelVersion) -> str:
    """The column the model was trained to predict, from its run's record."""
    target = models.trained_target(ctx, version)
    if target is None:
        raise InputError(f"Model {version.ref} does not record the column it predicts; "
                         "name the label column (--target COLUMN).")
    return target

def _protected(ctx: Context, protected: Sequence[str] | None) -> list[str]:
    columns = list(ctx.config.data.protected_attributes if protected is None else protected)
    if not columns:
        raise InputError("No protected attributes to assess: name them (--sensitive COL,...) "
                         "or list them under data.protected_attributes in rasad.yaml.")
    return columns


def _favorable(ctx: Context, target: str, favorable: Label | None,
               source: str) -> tuple[Label | None, str | None]:
    """The declared favourable outcome and where it was declared (None, None: nowhere)."""
    if favorable is not None:
        return favorable, source
    outcomes = ctx.config.governance.fairness.favorable_outcomes
    if target in outcomes:
        return outcomes[target], FAVORABLE_FROM_CONFIG
    return None, None


def favorable_class(classes: list[Any], favorable: Label | None, model: str) -> Any:
    """The model class that is the favourable outcome (class 1 when none is declared)."""
    if favorable is None:
        return classes[1]
    for value in classes:
        if str(value) == str(favorable):
            return value
        try:
            if float(value) == float(favorable):
                return value
        except (TypeError, ValueError):
            continue
    raise InputError(f"The favourable outcome {favorable!r} is not a class of model {model} "
                     f"(classes: {', '.join(map(str, classes))}); set --favorable or "
                     f"governance.fairness.favorable_outcomes to one of them.")


def _score(ctx: Context, version: ModelVersion, frame: pd.DataFrame, favorable_index: int
           ) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any] | None]:
    """The model's class predictions, and the probability of the favourable class.

    The score is the favourable class's so that roc_auc is computed on the outcome
    measured; a model without ``predict_proba`` (a fairness-mitigated one) gives none.
    """
    version.signature.check(frame).raise_for_errors()
    pipeline = models.load(ctx, version)  # hash checked, trusted types only
    inputs = version.signature.coerce(frame)
    predictions = np.asarray(pipeline.predict(inputs))
    if not hasattr(pipeline, "predict_proba"):
        return predictions, None
    proba = np.asarray(pipeline.predict_proba(inputs), dtype=float)
    return predictions, proba[:, favorable_index]


def _summary(report: FairnessReport, version: ModelVersion, dataset_hash: str, target: str,
             protected: list[str], declared_in: str | None) -> dict[str, Any]:
    """What the stored row and its audit event say without opening the report."""
    return {
        "verdict": str(report.verdict), "reason": report.reason, "rows": report.rows,
        "target": target, "favorable": report.outcome.favorable, "declared_in": declared_in,
        "protected": protected, "failed": report.failures(),
        "attributes": {a.name: str(a.verdict) for a in report.attributes},
        "model_sha256": version.blob, "dataset_sha256": dataset_hash,
    }


__all__ = ["DEFAULT_MONITOR", "FAVORABLE_FROM_CONFIG", "assess_model", "favorable_class",
           "list_assessments", "load_report"]
