"""Model cards: what rasad holds about a model version, in the shape of "Model Cards for
Model Reporting" (Mitchell et al.) and the Model Card Toolkit's JSON, generated from the
records and never typed by hand.

Where each part comes from:

- model details: the registry (version, artifact sha256, who and when, deployments),
  the training run (estimator and parameters, seed, Python, platform, packages, git
  commit, the metrics it recorded), and ``governance.models.NAME`` of ``rasad.yaml``
  (owner, risk tier, overview, licence, references);
- intended use, users, out-of-scope uses, limitations, ethical considerations:
  ``governance.models.NAME``, as declared; what is not declared is listed in ``missing``
  (:func:`rasad.governance.card_checks.card_gaps`, the rule the card gate applies);
- training and evaluation data: the dataset versions the run used and
  ``promotion.evaluation_data``, each with its content hash and its datasheet
  (:func:`rasad.governance.datasheet.datasheet`);
- metrics: the task's metrics on the evaluation data, scored once exactly as the
  promotion gates score it (:class:`rasad.release.gates.GateInputs`), each with its
  percentile bootstrap interval (:func:`rasad.evaluation.uncertainty.metric_intervals`,
  ``promotion.confidence``, ``promotion.bootstrap`` and ``promotion.seed``, the metrics
  gate's settings, so its intervals are the gate's), on all rows and on slices: each
  ``slice_performance`` test of ``promotion.tests`` and each group of each protected
  attribute (numeric ones binned as the fairness engine bins them);
- fairness: :func:`rasad.governance.fairness.assess` on the evaluation data, called as
  the fairness gate calls it (same favourable outcome, resamples and seed);
- gate results and approvals: every promotion request of the version
  (:func:`rasad.release.service.list_requests`);
- drift and performance while serving: saved monitor results about the version (its
  realized performance and fairness results, drift against its training data, and the
  estimated performance of the monitors judging the model while the version served);
- explanations: permutation importance on the evaluation data
  (:func:`rasad.evaluation.importance.permutation_importances`,
  ``governance.explanations.permutation_repeats`` repeats, ``promotion.seed``).

It writes nothing and needs ``read``. It sits in ``rasad.compliance``, above ``release``
and ``automation``, whose records it reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rasad.datasets import service as datasets
from rasad.errors import ConfigError, InputError
from rasad.evaluation.importance import permutation_importances, scoring_for
from rasad.evaluation.metrics import DEFAULT_METRICS, Metric, parse_task
from rasad.evaluation.uncertainty import metric_intervals
from rasad.governance.card_checks import card_gaps
from rasad.governance.card_result import (
    Considerations,
    DataEntry,
    Decision,
    DeploymentEntry,
    Described,
    ExplanationSection,
    FairnessSection,
    GateEntry,
    InputColumn,
    Interval,
    License,
    ModelCard,
    ModelDetails,
    ModelParameters,
    MonitoringEntry,
    Owner,
    PerformanceMetric,
    QuantitativeAnalysis,
    Reference,
    ReleaseEntry,
    Risk,
    RunDetails,
    VersionInfo,
)
from rasad.governance.datasheet import datasheet
from rasad.governance.fairness import encode
from rasad.identity import Permission
from rasad.monitoring.results import list_results
from rasad.names import parse_ref
from rasad.registry import models
from rasad.release import service as release
from rasad.release.gates import GateInputs, environment_policy
from rasad.release.gates import fairness as fairness_gate
from rasad.training import run as runs

if TYPE_CHECKING:
    from rasad.config import ModelGovernanceConfig, SliceConfig
    from rasad.core import Context
    from rasad.datasets import DatasetVersion
    from rasad.registry.version import ModelDetail, ModelVersion

_PROBABILITY = frozenset({Metric.ROC_AUC, Metric.LOG_LOSS, Metric.BRIER})


def model_card(ctx: Context, name: str, version: int | None = None) -> ModelCard:
    """The model card of ``name@version`` (the latest version when ``version`` is None).

    Raises
    ------
    NotFoundError
        No such model or version; the message lists the versions there are.
    InputError
        ``rasad.yaml`` names evaluation data or protected attributes that do not exist.
    """
    found = models.resolve(ctx, name, version=version)
    ctx.require(Permission.READ, f"read the model card of {found.ref}")
    config = ctx.config
    declared = config.governance.models.get(name)
    detail = models.detail(ctx, name)
    env = config.registry.environments[-1]
    inputs = GateInputs(ctx, found, env, environment_policy(ctx, env), config.promotion)
    data = _data(ctx, found, inputs.evaluation_version)
    return ModelCard(
        model=found.ref, generated_at=ctx.clock(),
        model_details=_details(ctx, found, detail, declared),
        model_parameters=_parameters(ctx, found, data, inputs),
        quantitative_analysis=_quantitative(inputs),
        considerations=_considerations(declared),
        fairness=_fairness(inputs),
        releases=_releases(ctx, found),
        monitoring=_monitoring(ctx, found, detail),
        explanations=_explanations(inputs),
        missing=card_gaps(config, name, [e.datasheet.name for e in data]))


# -- model details ---------------------------------------------------------------------


def _details(ctx: Context, found: ModelVersion, detail: ModelDetail,
             declared: ModelGovernanceConfig | None) -> ModelDetails:
    run = runs.get(ctx, found.run_id, reconcile_first=False)
    environment, code = run.environment, run.code_version
    earlier = [v.version for v in detail.versions if v.version < found.version]
    license_ = None if declared is None else declared.license
    return ModelDetails(
        name=found.name, overview=None if declared is None else declared.description,
        owners=() if declared is None or declared.owner is None
        else (Owner(name=declared.owner),),
        version=VersionInfo(name=str(found.version), date=found.created_at,
                            diff=f"{found.name}@{max(earlier)}" if earlier else None),
        licenses=() if license_ is None else (_license(license_),),
        references=() if declared is None else tuple(Reference(reference=r)
                                                     for r in declared.references),
        ref=found.ref, risk_tier=None if declared is None else declared.risk_tier,
        task=found.task, classes=found.classes, artifact_sha256=found.blob,
        created_by=found.created_by, created_at=found.created_at,
        run=RunDetails(
            id=run.id, name=run.name, status=str(run.status), started_at=run.started_at,
            ended_at=run.ended_at, duration_s=run.duration_s, created_by=run.created_by,
            seed=run.seed, estimator=_text(run.params.get("estimator")),
            params={k: v for k, v in run.params.items() if k != "estimator"},
            python=_text(environment.get("python")), platform=_text(environment.get("platform")),
            packages={str(k): str(v) for k, v in dict(environment.get("packages") or {}).items()},
            git_commit=_text(code.get("git_commit")),
            git_dirty=code.get("git_dirty") if isinstance(code.get("git_dirty"), bool) else None,
            git_branch=_text(code.get("git_branch")), metrics=dict(run.metrics)),
        deployments=tuple(
            DeploymentEntry(environment=d.environment, kind=str(d.kind),
                            deployed_by=d.deployed_by, deployed_at=d.deployed_at,
                            reason=d.reason, request_id=d.request_id,
                            serving_now=detail.deployed.get(d.environment) == found.version
                            and d.id == _current_id(detail, d.environment))
            for d in detail.history if d.version == found.version),
        serving=tuple(detail.environments_of(found.version)))


def _current_id(detail: ModelDetail, target: str) -> int | None:
    """The id of the newest deployment to ``target`` (the one serving there now)."""
    ids = [d.id for d in detail.history if d.environment == target]
    return max(ids) if ids else None


def _license(text: str) -> License:
    # An SPDX identifier is one token (Apache-2.0, proprietary); anything else is text.
    token = text.strip()
    return License(identifier=token) if token and len(token.split()) == 1 and "/" not in token \
        else License(custom_text=text)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


# -- data, inputs and outputs ----------------------------------------------------------


def _data(ctx: Context, found: ModelVersion,
          evaluation: DatasetVersion | None) -> list[DataEntry]:
    used: list[tuple[DatasetVersion, str]] = []
    for entry in found.datasets:
        dataset, number = parse_ref(str(entry["dataset"]))
        used.append((datasets.get(ctx, dataset, number), str(entry["role"])))
    if evaluation is not None:
        used.append((evaluation, "evaluation"))
    entries = []
    for version, role in used:
        sheet = datasheet(ctx, version.name, version.version)
        sensitive = [f"{c.column}: {', '.join(f.kind for f in c.findings)}"
                     for c in sheet.pii.columns if c.findings]
        sensitive += [f"{a}: protected attribute" for a in sheet.protected_attributes.present]
        entries.append(DataEntry(
            name=version.ref, role=role, content_hash=version.content_hash, rows=version.rows,
            description=(f"{role} data: {version.rows:,} rows x {version.columns} columns, "
                         f"sha256 {version.content_hash}, added by {version.created_by} at "
                         f"{version.created_at}"),
            sensitive=tuple(sensitive), datasheet=sheet))
    return entries


def _parameters(ctx: Context, found: ModelVersion, data: list[DataEntry],
                inputs: GateInputs) -> ModelParameters:
    run = runs.get(ctx, found.run_id, reconcile_first=False)
    estimator = _text(run.params.get("estimator"))
    columns = tuple(InputColumn(name=c.name, kind=str(c.kind), dtype=c.dtype)
                    for c in found.signature.columns)
    if found.task == "classification":
        output = (f"a class label among {', '.join(map(str, found.classes or []))}"
                  + ("" if found.classes is None else ", with the probability of each class "
                     "where the model gives probabilities"))
    else:
        output = "a number"
    return ModelParameters(
        model_architecture=estimator, data=tuple(data),
        input_format="a table with columns " + ", ".join(
            f"{c.name} ({c.kind}, {c.dtype})" for c in columns),
        output_format=output, inputs=columns, target=inputs.trained_target)


# -- metrics, slices, fairness, importance -----------------------------------------------


def _quantitative(inputs: GateInputs) -> QuantitativeAnalysis:
    config = inputs.config
    settings: dict[str, Any] = {"confidence": config.confidence, "n_boot": config.bootstrap,
                                "seed": config.seed}
    evaluation = inputs.evaluation
    if evaluation is None:
        return QuantitativeAnalysis(
            performance_metrics=(), evaluation_data=None, evaluation_sha256=None,
            note="No evaluation data is declared (promotion.evaluation_data): the card has "
                 "no metrics with intervals.", **settings)
    candidate, scores = inputs.candidate, inputs.candidate_scores
    chosen = [m for m in DEFAULT_METRICS[parse_task(candidate.task)]
              if scores.proba is not None or m not in _PROBABILITY]
    frame, version = evaluation.frame, evaluation.version
    y_true = evaluation.y_true
    found = _intervals(chosen, y_true, scores, np.ones(len(frame), dtype=bool), None, None,
                       version.ref, inputs)
    for described, source, mask in _slices(inputs):
        found += _intervals(chosen, y_true, scores, mask, described, source, version.ref,
                            inputs)
    return QuantitativeAnalysis(performance_metrics=tuple(found),
                                evaluation_data=version.ref,
                                evaluation_sha256=version.content_hash, **settings)


def _intervals(chosen: list[Metric], y_true: Any, scores: Any, mask: Any, described: str | None,
               source: str | None, data: str, inputs: GateInputs) -> list[PerformanceMetric]:
    config = inputs.config
    rows = int(mask.sum())
    labelled = mask & pd.notna(y_true)
    try:
        intervals = metric_intervals(
            chosen, y_true[labelled], predictions=scores.predictions[labelled],
            proba=None if scores.proba is None else scores.proba[labelled],
            classes=scores.classes, confidence=config.confidence, n_boot=config.bootstrap,
            seed=config.seed)
    except InputError as exc:
        return [PerformanceMetric(type=m.value, value=None, slice=described, dataset=data,
                                  rows=rows, slice_source=source, note=str(exc))
                for m in chosen]
    return [PerformanceMetric(
        type=i.metric.value, value=i.estimate, slice=described, dataset=data, rows=rows,
        confidence_interval=None if i.n_valid == 0 else Interval(lower_bound=i.lower,
                                                                 upper_bound=i.upper),
        slice_source=source,
        note=None if i.n_valid == i.n_boot else f"defined in {i.n_valid} of {i.n_boot} "
                                                "resamples") for i in intervals]


def _slices(inputs: GateInputs) -> list[tuple[str, str, Any]]:
    """(description, where it is declared, row mask) of every slice the card measures."""
    evaluation = inputs.evaluation
    assert evaluation is not None
    frame = evaluation.frame
    found: list[tuple[str, str, Any]] = []
    for test in inputs.config.tests:
        if test.kind == "slice_performance" and test.slice is not None:
            spec = test.slice
            if spec.column not in frame.columns:
                raise InputError(f"promotion.tests {test.name!r} slices on {spec.column!r}, "
                                 f"not a column of the evaluation data {evaluation.version.ref}.")
            found.append((_describe(spec), f"promotion.tests: {test.name}",
                          _mask(frame[spec.column], spec)))
    protected = [c for c in inputs.ctx.config.data.protected_attributes if c in frame.columns]
    if protected:
        for attribute in encode(frame[protected], rows=len(frame)):
            for code, label in enumerate(attribute.labels):
                found.append((f"{attribute.name} = {label}",
                              "data.protected_attributes", attribute.codes == code))
    return found


def _mask(column: pd.Series, spec: SliceConfig) -> Any:
    # The rows `rasad test` counts for a slice_performance test (evaluation.behaviour).
    if spec.values is not None:
        wanted = {_label(v) for v in spec.values}
        return np.asarray(column.map(_label, na_action="ignore").isin(wanted), dtype=bool)
    numbers = column.astype(float)
    mask = numbers.notna()
    if spec.min is not None:
        mask &= numbers >= spec.min
    if spec.max is not None:
        mask &= numbers < spec.max
    return np.asarray(mask, dtype=bool)


def _label(value: Any) -> str:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _describe(spec: SliceConfig) -> str:
    if spec.values is not None:
        return f"{spec.column} in {', '.join(map(str, spec.values))}"
    return " and ".join(([f"{spec.column} >= {spec.min:g}"] if spec.min is not None else [])
                        + ([f"{spec.column} < {spec.max:g}"] if spec.max is not None else []))


def _fairness(inputs: GateInputs) -> FairnessSection:
    """The fairness gate's assessment, figure for figure (or why there is none)."""
    evaluation = inputs.evaluation
    data = None if evaluation is None else evaluation.version.ref
    found = fairness_gate.assessment(inputs)
    return FairnessSection(evaluation_data=data, report=found.report, note=found.skipped)


def _explanations(inputs: GateInputs) -> ExplanationSection:
    evaluation = inputs.evaluation
    if evaluation is None:
        return ExplanationSection(evaluation_data=None, importance=None,
                                  note="No evaluation data is declared "
                                       "(promotion.evaluation_data): no importances.")
    ctx, candidate = inputs.ctx, inputs.candidate
    labelled = evaluation.frame[evaluation.frame[evaluation.target].notna()]
    x = candidate.signature.coerce(labelled.reset_index(drop=True))
    pipeline = models.load(ctx, candidate)
    scoring = scoring_for(candidate.task, candidate.classes,
                          inputs.candidate_scores.proba is not None)
    importance = permutation_importances(
        pipeline, x, labelled[evaluation.target].to_numpy(), scoring=scoring,
        n_repeats=ctx.config.governance.explanations.permutation_repeats,
        seed=inputs.config.seed)
    return ExplanationSection(evaluation_data=evaluation.version.ref, importance=importance)


# -- considerations --------------------------------------------------------------------


def _considerations(declared: ModelGovernanceConfig | None) -> Considerations:
    if declared is None:
        return Considerations(users=(), use_cases=(), out_of_scope_uses=(), limitations=(),
                              ethical_considerations=())
    return Considerations(
        users=tuple(Described(description=u) for u in declared.users),
        use_cases=() if declared.intended_use is None
        else (Described(description=declared.intended_use),),
        out_of_scope_uses=tuple(Described(description=u) for u in declared.out_of_scope_uses),
        limitations=tuple(Described(description=u) for u in declared.limitations),
        ethical_considerations=tuple(Risk(name=k, mitigation_strategy=v)
                                     for k, v in declared.ethical_considerations.items()))


# -- releases and monitoring -----------------------------------------------------------


def _releases(ctx: Context, found: ModelVersion) -> tuple[ReleaseEntry, ...]:
    requests = [r for r in release.list_requests(ctx, model=found.name)
                if r.version == found.version]
    return tuple(ReleaseEntry(
        request_id=r.id, environment=r.environment, status=str(r.status),
        opened_by=r.opened_by, opened_at=r.opened_at, closed_at=r.closed_at,
        policy_sha256=r.gates.policy_sha256, gates_passed=r.gates.passed,
        gates=tuple(GateEntry(gate=g.gate, status=str(g.status), summary=g.summary)
                    for g in r.gates.gates),
        approvals_required=r.approvals_required,
        decisions=tuple(Decision(principal=a.principal, decision=str(a.decision),
                                 comment=a.comment, created_at=a.created_at)
                        for a in [*r.approvals, *([r.reviewed] if r.reviewed else [])]),
        break_glass=r.break_glass, justification=r.justification)
        for r in sorted(requests, key=lambda r: r.id))


def _monitoring(ctx: Context, found: ModelVersion,
                detail: ModelDetail) -> tuple[MonitoringEntry, ...]:
    from rasad.automation.monitors import monitor_model

    automation = ctx.config.automation
    judging = set()
    for monitor, config in automation.monitors.items():
        try:
            if monitor_model(monitor, config, automation) == found.name:
                judging.add(monitor)
        except ConfigError:
            continue
    training = {str(e["dataset"]) for e in found.datasets if e.get("role") == "train"}
    spans = _serving_spans(detail, found.version)
    entries = []
    for result in list_results(ctx):
        kind = str(result.kind)
        why = None
        if kind in ("performance", "fairness") and result.reference == found.ref:
            why = f"{kind} of this version"
        elif kind == "drift" and result.reference in training:
            why = f"drift against its training data {result.reference}"
        elif kind == "estimation" and result.monitor in judging:
            env = next((e for e, start, end in spans
                        if start <= result.created_at and (end is None
                                                          or result.created_at < end)), None)
            if env is not None:
                why = f"estimated performance while it served {env}"
        if why is not None:
            entries.append(MonitoringEntry(
                result_id=result.id, monitor=result.monitor, kind=kind,
                reference=result.reference, current=result.current, alert=result.alert,
                created_at=result.created_at, summary=result.summary, why=why))
    return tuple(entries)


def _serving_spans(detail: ModelDetail, version: int) -> list[tuple[str, str, str | None]]:
    """(target, from, until) of each stretch ``version`` served; until None: still does."""
    spans = []
    by_target: dict[str, list[Any]] = {}
    for deployment in sorted(detail.history, key=lambda d: d.id):
        by_target.setdefault(deployment.environment, []).append(deployment)
    for target, deployments in by_target.items():
        for i, deployment in enumerate(deployments):
            if deployment.version == version:
                until = deployments[i + 1].deployed_at if i + 1 < len(deployments) else None
                spans.append((target, deployment.deployed_at, until))
    return spans


__all__ = ["ModelCard", "model_card"]
