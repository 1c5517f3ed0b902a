"""Performance tracking and estimation on a project's dataset versions, kept as results.

The engines (:func:`~rasad.monitoring.track`, :func:`~rasad.monitoring.estimate`,
:func:`~rasad.monitoring.estimate_regression`) work on two data frames. The services
here take two dataset versions of the project instead (a
:class:`~rasad.datasets.DatasetVersion`, or its reference ``NAME`` or ``NAME@VERSION``),
read their rows after checking each stored file against its hash
(:func:`rasad.datasets.service.load_frame`), run the engine, and with ``save=True``
keep the report as a monitor result (:func:`rasad.monitoring.results.save_result`):
a row with its summary, the report's JSON as an artifact, and one ``monitor.result``
audit event in the same transaction. Bad input (an unknown dataset, a missing column)
is refused before anything is stored.

:func:`estimate_frames` is the pure part of estimation that both doors share: it picks
CBPE for a classifier and DLE for a regressor and says what each needs, so
``rasad performance estimate ref.csv cur.csv`` needs no project.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from rasad.datasets.service import get, load_frame
from rasad.datasets.version import DatasetVersion
from rasad.errors import InputError
from rasad.evaluation.metrics import Metric, Task, parse_task
from rasad.identity import Permission
from rasad.monitoring.drift_check import Rows
from rasad.monitoring.estimation import EstimationReport, estimate
from rasad.monitoring.performance import MIN_CHUNK_ROWS, PerformanceReport, track
from rasad.monitoring.regression_estimation import estimate_regression
from rasad.monitoring.results import MonitorKind, MonitorResult, load_payload, save_result
from rasad.names import check_name, parse_ref

if TYPE_CHECKING:
    import pandas as pd

    from rasad.core import Context
    from rasad.drift.chunking import Chunker
    from rasad.monitoring.thresholds import Threshold

R = TypeVar("R", PerformanceReport, EstimationReport)

Side = DatasetVersion | str | Rows
"""One side of a check: a dataset version, its reference ``NAME`` or ``NAME@VERSION``, or
named rows from another source of the project (a window of the prediction log)."""

TRACKING_MONITOR = "performance"
"""The monitor name a tracked report is saved under when none is given."""
ESTIMATION_MONITOR = "estimation"
"""The monitor name an estimated report is saved under when none is given."""


@dataclass(frozen=True)
class PerformanceCheck(Generic[R]):
    """A report computed on two dataset versions, and the stored result if it was saved.

    Attributes
    ----------
    report : PerformanceReport or EstimationReport
    reference, current : str
        The dataset versions compared, as ``NAME@VERSION``.
    saved : MonitorResult or None
        The stored result (its id, monitor, blob); ``None`` unless ``save=True``.
    """

    report: R
    reference: str
    current: str
    saved: MonitorResult | None = None


def track_performance(
    ctx: Context,
    reference: Side,
    current: Side,
    *,
    target: str,
    prediction: str,
    task: Task | str = Task.CLASSIFICATION,
    score: str | None = None,
    chunker: Chunker | None = None,
    metrics: Iterable[Metric | str] | str | None = None,
    threshold: Threshold | None = None,
    min_chunk_rows: int = MIN_CHUNK_ROWS,
    save: bool = False,
    monitor: str = TRACKING_MONITOR,
) -> PerformanceCheck[PerformanceReport]:
    """Track a model's realized performance between two dataset versions, and maybe keep it.

    Parameters
    ----------
    ctx : Context
    reference, current : DatasetVersion, str or Rows
        Dataset versions of the project, or their references: ``NAME`` (the latest) or
        ``NAME@VERSION``; or :class:`~rasad.monitoring.drift_check.Rows` (how
        :mod:`rasad.serving.predlog` passes a window of the prediction log).
    target, prediction, task, score, chunker, metrics, threshold, min_chunk_rows
        As for :func:`rasad.monitoring.track`.
    save : bool, default False
        Keep the report as a ``performance`` result of ``monitor``, with its audit event.
    monitor : str, default "performance"
        The monitor the saved result belongs to.

    Returns
    -------
    PerformanceCheck[PerformanceReport]

    Raises
    ------
    NotFoundError
        If a dataset or version does not exist.
    InputError
        If the monitor name is not allowed, or the engine refuses the data (a missing
        column, no labels in the reference...). Nothing is stored then.
    """
    if save:  # refused before any computation
        check_name(monitor, "Monitor")
        ctx.require(Permission.MONITOR_WRITE, f"save results of monitor {monitor!r}")
    (ref_version, ref_frame), (cur_version, cur_frame) = _sides(ctx, reference, current)
    report = track(ref_frame, cur_frame, task=task, target=target, prediction=prediction,
                   score=score, chunker=chunker, metrics=metrics, threshold=threshold,
                   min_chunk_rows=min_chunk_rows)
    saved = None
    if save:
        saved = _save(ctx, monitor, MonitorKind.PERFORMANCE, ref_version, cur_version, report,
                      {"task": report.task.value})
    return PerformanceCheck(report, ref_version.ref, cur_version.ref, saved)


def estimate_performance(
    ctx: Context,
    reference: Side,
    current: Side,
    *,
    target: str,
    prediction: str,
    task: Task | str = Task.CLASSIFICATION,
    score: str | None = None,
    features: Sequence[str] | None = None,
    chunker: Chunker | None = None,
    threshold: Threshold | None = None,
    save: bool = False,
    monitor: str = ESTIMATION_MONITOR,
) -> PerformanceCheck[EstimationReport]:
    """Estimate a model's performance on a dataset version without its labels, and maybe keep it.

    Parameters
    ----------
    ctx : Context
    reference, current : DatasetVersion or str
        Dataset versions of the project, or their references: ``NAME`` (the latest) or
        ``NAME@VERSION``. The reference must be labelled, the current one need not be.
    target, prediction, task, score, features, chunker, threshold
        As for :func:`estimate_frames`.
    save : bool, default False
        Keep the report as an ``estimation`` result of ``monitor``, with its audit event.
    monitor : str, default "estimation"
        The monitor the saved result belongs to.

    Returns
    -------
    PerformanceCheck[EstimationReport]

    Raises
    ------
    NotFoundError
        If a dataset or version does not exist.
    InputError
        As :func:`estimate_frames`, or for a monitor name that is not allowed. Nothing
        is stored then.
    """
    if save:  # refused before any computation
        check_name(monitor, "Monitor")
        ctx.require(Permission.MONITOR_WRITE, f"save results of monitor {monitor!r}")
    (ref_version, ref_frame), (cur_version, cur_frame) = _sides(ctx, reference, current)
    report = estimate_frames(ref_frame, cur_frame, target=target, prediction=prediction,
                             task=task, score=score, features=features, chunker=chunker,
                             threshold=threshold)
    saved = None
    if save:
        saved = _save(ctx, monitor, MonitorKind.ESTIMATION, ref_version, cur_version, report,
                      {"method": report.method.value})
    return PerformanceCheck(report, ref_version.ref, cur_version.ref, saved)


def estimate_frames(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    target: str,
    prediction: str,
    task: Task | str = Task.CLASSIFICATION,
    score: str | None = None,
    features: Sequence[str] | None = None,
    chunker: Chunker | None = None,
    threshold: Threshold | None = None,
) -> EstimationReport:
    """Estimate performance without labels: CBPE for a binary classifier, DLE for a regressor.

    Pure: two data frames in, a report out, no project needed.

    Parameters
    ----------
    reference, current : pandas.DataFrame
        The labelled reference, and the data to estimate (its labels may be absent).
    target, prediction : str
        Columns of the true value (needed in the reference) and the model's output.
    task : Task or str, default "classification"
    score : str, optional
        Classification: the predicted probability of the positive class (required).
    features : sequence of str, optional
        Regression: the model's input columns, which DLE's loss models learn from
        (required). Classification: turns on CBPE's adaptive calibration.
    chunker : Chunker, optional
    threshold : Threshold, optional

    Returns
    -------
    EstimationReport

    Raises
    ------
    InputError
        If the task is unknown, a classifier has no ``score`` or a regressor no
        ``features``, or the engine refuses the data.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"y": [0, 1], "pred": [0, 1]})
    >>> estimate_frames(frame, frame, target="y", prediction="pred")
    Traceback (most recent call last):
    ...
    rasad.errors.InputError: Estimating classifier performance needs a score column \
(--score), the predicted probability of the positive class.
    """
    parsed = parse_task(task)
    if parsed is Task.CLASSIFICATION:
        if score is None:
            raise InputError("Estimating classifier performance needs a score column (--score), "
                             "the predicted probability of the positive class.")
        return estimate(reference, current, target=target, score=score, prediction=prediction,
                        chunker=chunker, threshold=threshold, features=features)
    if not features:
        raise InputError("Estimating regression error needs the model's input columns "
                         "(--features), which the loss models learn from.")
    return estimate_regression(reference, current, target=target, prediction=prediction,
                               features=features, chunker=chunker, threshold=threshold)


def stored_report(ctx: Context, result: MonitorResult) -> PerformanceReport | EstimationReport:
    """The typed report a ``performance`` or ``estimation`` result holds (its hash checked).

    Raises
    ------
    InputError
        If the result is of another kind (drift, fairness).
    """
    return report_model(result).from_dict(load_payload(ctx, result))


def report_model(result: MonitorResult) -> type[PerformanceReport] | type[EstimationReport]:
    """The report class a ``performance`` or ``estimation`` result's payload reads into.

    Raises
    ------
    InputError
        If the result is of another kind (drift, fairness).
    """
    kinds: dict[MonitorKind, type[PerformanceReport] | type[EstimationReport]] = {
        MonitorKind.PERFORMANCE: PerformanceReport,
        MonitorKind.ESTIMATION: EstimationReport,
    }
    model = kinds.get(result.kind)
    if model is None:
        raise InputError(f"Monitor result {result.id} is a {result.kind.value} result, not a "
                         "performance or estimation report.")
    return model


def _sides(ctx: Context, reference: Side, current: Side
           ) -> tuple[tuple[DatasetVersion | Rows, pd.DataFrame],
                      tuple[DatasetVersion | Rows, pd.DataFrame]]:
    # Both versions are looked up before either is read: a typo costs no loading.
    versions = [side if isinstance(side, DatasetVersion | Rows) else get(ctx, *parse_ref(side))
                for side in (reference, current)]
    return ((versions[0], _load(ctx, versions[0])), (versions[1], _load(ctx, versions[1])))


def _load(ctx: Context, side: DatasetVersion | Rows) -> pd.DataFrame:
    return side.frame if isinstance(side, Rows) else load_frame(ctx, side)


def _save(ctx: Context, monitor: str, kind: MonitorKind, reference: DatasetVersion | Rows,
          current: DatasetVersion | Rows, report: PerformanceReport | EstimationReport,
          how: dict[str, str]) -> MonitorResult:
    """Store ``report`` with a summary that a list of results can show without the blob."""
    summary = {**how, "metrics": list(report.metrics), **report.summary.to_dict(),
               "alerting_metrics": sorted({alert.metric for alert in report.alerts})}
    return save_result(ctx, monitor=monitor, kind=kind, reference=reference.ref,
                       current=current.ref, alert=bool(report.alerts), summary=summary,
                       payload=report.to_dict())


__all__ = [
    "ESTIMATION_MONITOR",
    "TRACKING_MONITOR",
    "PerformanceCheck",
    "Side",
    "estimate_frames",
    "estimate_performance",
    "stored_report",
    "track_performance",
]
