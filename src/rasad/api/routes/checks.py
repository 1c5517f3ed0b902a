"""``/checks``: drift, fairness, and realized or estimated performance, on dataset versions.

Every check runs on dataset versions the server holds, named ``NAME@VERSION`` (``NAME``
alone: the latest version): the server never reads a path a client sends. A client
with files uploads them first (``POST /datasets/{name}/versions``). The services decide
who may do what: a viewer may run a check that stores nothing where the service asks
only ``read``; saving needs ``monitor.write``, and a refusal comes before any work.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import Field, StringConstraints

from rasad.api.auth import ContextDep
from rasad.api.bodies import NO_NUL, Text, respond
from rasad.core import Context
from rasad.datasets import DatasetVersion
from rasad.datasets import service as datasets
from rasad.drift import Chunker
from rasad.drift.chunking import Period
from rasad.governance.fairness import service as fairness
from rasad.governance.fairness.assess import MIN_BOOT
from rasad.governance.fairness.report import FairnessAssessment
from rasad.governance.fairness.terms import Measure
from rasad.governance.fairness.verdict import FairnessPolicy
from rasad.monitoring import EstimationReport, PerformanceReport, tracking
from rasad.monitoring import drift_check as drift
from rasad.monitoring.results import MonitorResult
from rasad.monitoring.thresholds import FixedThreshold, StdThreshold, Threshold
from rasad.names import parse_ref
from rasad.results import Result

router = APIRouter(prefix="/checks", tags=["checks"])

# Nine digits at most: a version beyond a 32-bit integer would fail the database's
# comparison (PostgreSQL), where it should be a plain 404.
DATASET_REF: str = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}(@[1-9][0-9]{0,8})?$"
DatasetRef = Annotated[str, StringConstraints(pattern=DATASET_REF)]
Column = Annotated[str, StringConstraints(pattern=NO_NUL, min_length=1, max_length=400)]
MonitorName = Annotated[str, StringConstraints(pattern=NO_NUL, max_length=200)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
Count = Annotated[int, Field(ge=1, le=2**31 - 1)]


# ---- shared parts of the requests -----------------------------------------------------


class Chunking(Result):
    """How to chunk the current data: one of ``size`` (rows), ``number`` (equal parts) or
    ``period`` (with ``time_column``); none of them: ten equal parts."""

    size: Count | None = None
    number: Count | None = None
    period: Period | None = None
    time_column: Column | None = None

    def chunker(self) -> Chunker:
        """The chunker (its own checks refuse two ways at once, or a period without time)."""
        return Chunker(size=self.size, number=self.number, period=self.period,
                       time_column=self.time_column)


class StdThresholdBody(Result):
    """Alert outside the mean ± ``multiplier`` standard deviations of the reference chunks."""

    method: Literal["std"] = "std"
    multiplier: Finite = Field(default=3.0, gt=0, le=1e6)


class FixedThresholdBody(Result):
    """Alert below ``lower`` or above ``upper`` (at least one)."""

    method: Literal["fixed"] = "fixed"
    lower: Finite | None = None
    upper: Finite | None = None


ThresholdBody = Annotated[StdThresholdBody | FixedThresholdBody, Field(discriminator="method")]


def _threshold(body: StdThresholdBody | FixedThresholdBody | None) -> Threshold | None:
    if body is None:
        return None
    if isinstance(body, StdThresholdBody):
        return StdThreshold(multiplier=body.multiplier)
    return FixedThreshold(lower=body.lower, upper=body.upper)


def _version(ctx: Context, ref: str) -> DatasetVersion:
    return datasets.get(ctx, *parse_ref(ref))


# ---- requests -------------------------------------------------------------------------


class DriftRequest(Result):
    """``rasad drift REFERENCE CURRENT`` on two dataset versions."""

    reference: DatasetRef
    current: DatasetRef
    columns: list[Column] | None = Field(default=None, max_length=10_000, description=(
        "Columns to compare; default all."))
    chunking: Chunking | None = Field(default=None, description=(
        "Also compare each chunk of the current data."))
    multivariate: bool = False
    use_profile: bool = Field(default=False, description=(
        "Compare against the reference version's stored profile (built on first use)."))
    save: bool = Field(default=False, description="Store the result (needs monitor.write).")
    monitor: MonitorName = "drift"


class DriftCheckBody(drift.DriftCheck):
    """A drift check (``rasad drift --json``), with what the call stored: ``saved`` (the
    result, when saved) and ``profile_built`` (with ``use_profile``: whether this call
    built the profile)."""

    saved: MonitorResult | None = None
    profile_built: bool | None = None


class PolicyBody(Result):
    """Thresholds and minimum sizes for fairness verdicts (a FairnessPolicy's JSON)."""

    thresholds: dict[Measure, Finite | None] = Field(default_factory=dict, description=(
        "Overrides of the default threshold per measure; null: no verdict."))
    min_group_size: Count = 30
    min_class_count: Count = 10

    def policy(self) -> FairnessPolicy:
        overrides: dict[Measure | str, float | None] = {
            measure: value for measure, value in self.thresholds.items()}
        return FairnessPolicy(thresholds=overrides, min_group_size=self.min_group_size,
                              min_class_count=self.min_class_count)


class FairnessRequest(Result):
    """``rasad fairness --model M --data D``: score a dataset version with a registered
    model and assess its fairness."""

    model: DatasetRef = Field(description="The model, NAME or NAME@VERSION.")
    dataset: DatasetRef
    version: Count | None = None
    env: Annotated[str, StringConstraints(pattern=NO_NUL, max_length=200)] | None = None
    target: Column | None = None
    protected: list[Column] | None = Field(default=None, max_length=100)
    favorable: bool | int | Finite | Annotated[str, StringConstraints(
        pattern=NO_NUL, max_length=400)] | None = None
    favorable_source: Text = Field(default="the favorable argument", description=(
        "Where the favourable outcome was declared, as the report names it."))
    bins: dict[Column, list[Finite] | None] | None = Field(default=None, max_length=100)
    intersections: bool = False
    policy: PolicyBody | None = None
    n_boot: int = Field(default=1000, ge=MIN_BOOT, le=10_000)
    seed: int = Field(default=0, ge=0, le=2**32 - 1)
    save: bool = Field(default=True, description="Store the report (needs monitor.write).")
    monitor: MonitorName = fairness.DEFAULT_MONITOR


class PerformanceRequest(Result):
    """``rasad performance track`` on two labelled dataset versions."""

    reference: DatasetRef
    current: DatasetRef
    target: Column
    prediction: Column
    task: Literal["classification", "regression"] = "classification"
    score: Column | None = None
    chunking: Chunking | None = None
    metrics: list[Column] | Column | None = Field(default=None, description=(
        "Metric names; default the task's usual ones."))
    threshold: ThresholdBody | None = None
    min_chunk_rows: int = Field(default=30, ge=1, le=2**31 - 1)
    save: bool = False
    monitor: MonitorName = tracking.TRACKING_MONITOR


class EstimationRequest(Result):
    """``rasad performance estimate``: metrics without labels on the current version."""

    reference: DatasetRef
    current: DatasetRef
    target: Column
    prediction: Column
    task: Literal["classification", "regression"] = "classification"
    score: Column | None = None
    features: list[Column] | None = Field(default=None, max_length=10_000)
    chunking: Chunking | None = None
    threshold: ThresholdBody | None = None
    save: bool = False
    monitor: MonitorName = tracking.ESTIMATION_MONITOR


class PerformanceCheckBody(Result):
    """Realized performance of ``current`` against ``reference``, and the stored result."""

    reference: str
    current: str
    report: PerformanceReport
    saved: MonitorResult | None = None


class EstimationCheckBody(Result):
    """Estimated performance of ``current`` against ``reference``, and the stored result."""

    reference: str
    current: str
    report: EstimationReport
    saved: MonitorResult | None = None


# ---- routes ---------------------------------------------------------------------------


@router.post("/drift", response_model=DriftCheckBody)
def check_drift(ctx: ContextDep, body: DriftRequest) -> Response:
    """Compare two dataset versions column by column (and chunk by chunk). ``rasad drift``."""
    result = drift.check(
        ctx, _version(ctx, body.reference), _version(ctx, body.current), columns=body.columns,
        chunker=body.chunking.chunker() if body.chunking else None,
        multivariate=body.multivariate, use_profile=body.use_profile, save=body.save,
        monitor=body.monitor)
    return respond(DriftCheckBody.model_validate(
        {**dict(result), "saved": result.saved, "profile_built": result.profile_built}))


@router.post("/fairness", response_model=FairnessAssessment)
def assess_fairness(ctx: ContextDep, body: FairnessRequest) -> Response:
    """Score a dataset version with a registered model and assess its fairness; stored
    unless ``save`` is false. ``rasad fairness --model M --data D``."""
    return respond(fairness.assess_model(
        ctx, body.model, body.dataset, version=body.version, env=body.env, target=body.target,
        protected=body.protected, favorable=body.favorable,
        favorable_source=body.favorable_source, bins=body.bins,
        intersections=body.intersections,
        policy=body.policy.policy() if body.policy else None, n_boot=body.n_boot,
        seed=body.seed, save=body.save, monitor=body.monitor))


@router.post("/performance", response_model=PerformanceCheckBody)
def track_performance(ctx: ContextDep, body: PerformanceRequest) -> Response:
    """Realized metrics per chunk of two labelled dataset versions. ``rasad performance
    track``."""
    checked = tracking.track_performance(
        ctx, body.reference, body.current, target=body.target, prediction=body.prediction,
        task=body.task, score=body.score,
        chunker=body.chunking.chunker() if body.chunking else None, metrics=body.metrics,
        threshold=_threshold(body.threshold), min_chunk_rows=body.min_chunk_rows,
        save=body.save, monitor=body.monitor)
    return respond(PerformanceCheckBody(reference=checked.reference, current=checked.current,
                                        report=checked.report, saved=checked.saved))


@router.post("/estimation", response_model=EstimationCheckBody)
def estimate_performance(ctx: ContextDep, body: EstimationRequest) -> Response:
    """Estimated metrics per chunk without labels (CBPE; DLE for regression). ``rasad
    performance estimate``."""
    checked = tracking.estimate_performance(
        ctx, body.reference, body.current, target=body.target, prediction=body.prediction,
        task=body.task, score=body.score, features=body.features,
        chunker=body.chunking.chunker() if body.chunking else None,
        threshold=_threshold(body.threshold), save=body.save, monitor=body.monitor)
    return respond(EstimationCheckBody(reference=checked.reference, current=checked.current,
                                       report=checked.report, saved=checked.saved))


__all__ = ["Chunking", "DriftCheckBody", "DriftRequest", "EstimationCheckBody",
           "EstimationRequest", "FairnessRequest", "FixedThresholdBody", "PerformanceCheckBody",
           "PerformanceRequest", "PolicyBody", "StdThresholdBody", "router"]
