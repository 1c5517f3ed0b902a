"""Performance tracking with labels: realized metrics per chunk, with alert thresholds.

:func:`track` splits the reference and the current data into the same kind of
chunks (:class:`rasad.drift.chunking.Chunker`), computes the model's metrics in
every chunk with :func:`rasad.evaluation.compute_metrics` (so every value is
scikit-learn's), sets alert bounds per metric from the reference chunks
(:class:`~rasad.monitoring.thresholds.StdThreshold`, mean ± 3 standard
deviations, by default) and marks the chunks whose value falls outside them.

Rules, fixed once:

- Rows whose target is missing (labels that have not arrived yet) are left out
  of a chunk's metrics; the chunk reports ``labelled_rows`` beside ``rows``.
- A chunk with no labelled rows has status ``no_labels``; one with fewer than
  ``min_chunk_rows`` (default :data:`MIN_CHUNK_ROWS`, 30) labelled rows has
  status ``too_few_rows``. Neither gets values, sets thresholds or alerts.
- A metric that cannot be computed in a chunk (ROC AUC when the chunk's labels
  hold one class, MAPE when a true value is 0) is ``None`` with a reason.
- Classification: the positive class is the second of the sorted labels, as in
  :mod:`rasad.evaluation.metrics` (1 for 0/1, ``True`` for booleans). ``score``
  is the probability of that class; it is needed for ROC AUC, which is tracked
  by default only when a score column is given.
"""

from __future__ import annotations

import enum
import math
import types
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import computed_field

from rasad.drift.chunking import Chunk, Chunker
from rasad.errors import InputError
from rasad.evaluation.metrics import Metric, Task, compute_metrics, parse_metrics, parse_task
from rasad.monitoring.thresholds import MIN_REFERENCE_CHUNKS, Bounds, StdThreshold, Threshold
from rasad.results import Result

MIN_CHUNK_ROWS = 30
"""Chunks with fewer (labelled) rows than this get no metrics: their values are noise."""

TRACKED_METRICS: Mapping[Task, tuple[Metric, ...]] = types.MappingProxyType(
    {
        Task.CLASSIFICATION: (
            Metric.ACCURACY, Metric.PRECISION, Metric.RECALL, Metric.F1, Metric.ROC_AUC,
        ),
        Task.REGRESSION: (Metric.RMSE, Metric.MAE, Metric.MAPE, Metric.R2),
    }
)
"""The metrics :func:`track` computes when none are named (ROC AUC only with a score)."""

METRIC_RANGE: Mapping[Metric, tuple[float | None, float | None]] = types.MappingProxyType(
    {
        Metric.ACCURACY: (0.0, 1.0), Metric.PRECISION: (0.0, 1.0), Metric.RECALL: (0.0, 1.0),
        Metric.F1: (0.0, 1.0), Metric.ROC_AUC: (0.0, 1.0), Metric.BRIER: (0.0, 1.0),
        Metric.LOG_LOSS: (0.0, None), Metric.RMSE: (0.0, None), Metric.MAE: (0.0, None),
        Metric.MAPE: (0.0, None), Metric.R2: (None, 1.0),
    }
)
"""The values each metric can take; alert bounds are clipped to this range."""

_MAX_CATEGORIES = 254
_SCORE_METRICS = frozenset({Metric.ROC_AUC, Metric.LOG_LOSS, Metric.BRIER})


class ChunkStatus(enum.StrEnum):
    """Whether a chunk got metrics, and if not, why."""

    OK = "ok"
    TOO_FEW_ROWS = "too_few_rows"
    NO_LABELS = "no_labels"


class MetricValue(Result):
    """One metric in one chunk: its value, whether it alerts, and why it is missing."""

    metric: str
    value: float | None
    alert: bool = False
    reason: str | None = None


class ChunkPerformance(Result):
    """The realized metrics of one chunk."""

    key: str
    start: str | None
    end: str | None
    rows: int
    labelled_rows: int
    status: ChunkStatus
    reason: str | None = None
    metrics: dict[str, MetricValue]


class MetricAlert(Result):
    """One metric of one current chunk that lies outside its thresholds."""

    chunk: str
    metric: str


class ChunkSummary(Result):
    """The current chunks at a glance: how many, how many with values, how many alert."""

    chunks: int
    chunks_ok: int
    chunks_alerting: int
    alerts: int


class PerformanceReport(Result):
    """What :func:`track` found: thresholds, and the metrics of every chunk.

    ``reference`` and ``current`` hold one :class:`ChunkPerformance` per chunk,
    in order; ``thresholds`` maps each metric to its :class:`Bounds`. ``chunking``
    and ``threshold`` record the configuration (the chunker's and the threshold's
    parameters). ``summary`` and ``alerts`` are derived from the current chunks;
    they are written to JSON and recomputed, not read, when a report is loaded.
    """

    kind: Literal["performance_tracking"] = "performance_tracking"
    task: Task
    metrics: tuple[str, ...]
    chunking: dict[str, Any]
    threshold: dict[str, Any]
    thresholds: dict[str, Bounds]
    reference: tuple[ChunkPerformance, ...]
    current: tuple[ChunkPerformance, ...]
    warnings: tuple[str, ...] = ()

    @computed_field  # type: ignore[prop-decorator]
    @property
    def summary(self) -> ChunkSummary:
        """Counts over the current chunks."""
        return _summary(self.current, self.alerts)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def alerts(self) -> tuple[MetricAlert, ...]:
        """Every (chunk, metric) of the current chunks whose value alerts, in order."""
        return _alerts(self.current, self.metrics)


def track(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    task: Task | str,
    target: str,
    prediction: str,
    score: str | None = None,
    chunker: Chunker | None = None,
    metrics: Iterable[Metric | str] | str | None = None,
    threshold: Threshold | None = None,
    min_chunk_rows: int = MIN_CHUNK_ROWS,
) -> PerformanceReport:
    """Track a model's realized performance per chunk, with alerts.

    Parameters
    ----------
    reference : pandas.DataFrame
        A period whose performance is acceptable (often the test set); its
        chunks set the thresholds.
    current : pandas.DataFrame
        The data to monitor, with the labels that have arrived.
    task : Task or str
        ``"classification"`` or ``"regression"``.
    target, prediction : str
        Columns of the true value and the model's prediction. A missing target
        leaves the row out of the metrics.
    score : str, optional
        Binary classification: the column of the predicted probability of the
        positive class (the second of the sorted labels). Needed for ROC AUC.
    chunker : Chunker, optional
        How both sides are split; default ``Chunker()``, 10 equal parts each.
    metrics : iterable of Metric or str, optional
        Default :data:`TRACKED_METRICS` for the task.
    threshold : Threshold, optional
        Default ``StdThreshold(3.0)``: mean ± 3 standard deviations of the
        reference chunks' values. ``FixedThreshold`` for fixed bounds.
    min_chunk_rows : int, default 30
        Chunks with fewer labelled rows get status ``too_few_rows``.

    Returns
    -------
    PerformanceReport

    Raises
    ------
    InputError
        If a side is empty, a column is missing, predictions or scores are
        missing, scores lie outside [0, 1], a metric needs a score that was not
        given, or the reference has no labelled row.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> def draw(n, noise):
    ...     y = rng.integers(0, 2, n)
    ...     p = np.clip(0.5 + (y - 0.5) * 0.6 + rng.normal(0, noise, n), 0, 1)
    ...     return pd.DataFrame({"y": y, "p": p, "pred": (p >= 0.5).astype(int)})
    >>> reference, current = draw(3000, 0.25), pd.concat([draw(900, 0.25), draw(600, 0.5)])
    >>> report = track(reference, current, task="classification", target="y",
    ...                prediction="pred", score="p", chunker=Chunker(size=300))
    >>> round(report.thresholds["accuracy"].lower, 3)
    0.822
    >>> [round(c.metrics["accuracy"].value, 3) for c in report.current]
    [0.873, 0.913, 0.893, 0.73, 0.703]
    >>> list(dict.fromkeys(alert.chunk for alert in report.alerts))
    ['[900:1200]', '[1200:1500]']
    """
    parsed_task = parse_task(task)
    chunker = Chunker() if chunker is None else chunker
    threshold = StdThreshold() if threshold is None else threshold
    _check_min_rows(min_chunk_rows)
    chosen = _tracked_metrics(parsed_task, metrics, score)
    columns = [target, prediction] + ([score] if score else [])
    sides = {"reference": reference, "current": current}
    for side, frame in sides.items():
        _check_frame(frame, side, columns)
    data = {side: _Columns.read(frame, side, parsed_task, target, prediction, score)
            for side, frame in sides.items()}
    if not data["reference"].labelled.any():
        raise InputError(f"Reference column {target!r} holds no labels; tracking needs a "
                         "labelled reference.")
    classes: list[int] | None = None
    if parsed_task is Task.CLASSIFICATION:
        labels = _classes(data)
        if score is not None and len(labels) > 2:
            raise InputError(
                f"Column {score!r} is read as the probability of the positive class, but the "
                f"labels hold {len(labels)} classes {labels}; ROC AUC from one score column "
                "needs a binary task (drop score= for multiclass).")
        data = {side: columns.encoded(labels) for side, columns in data.items()}
        classes = list(range(len(labels)))
    names = tuple(m.value for m in chosen)
    chunks = {side: [_chunk(c, data[side], parsed_task, chosen, classes, min_chunk_rows)
                     for c in chunker.split(sides[side])] for side in sides}
    thresholds = {m.value: threshold.bounds(
        [chunk.metrics[m.value].value for chunk in chunks["reference"]
         if chunk.status is ChunkStatus.OK]).clip(*METRIC_RANGE[m]) for m in chosen}
    return PerformanceReport(
        task=parsed_task, metrics=names, chunking=_chunking_dict(chunker),
        threshold=threshold.to_dict(), thresholds=thresholds,
        reference=tuple(_with_alerts(c, thresholds) for c in chunks["reference"]),
        current=tuple(_with_alerts(c, thresholds) for c in chunks["current"]),
        warnings=_reference_warnings(chunks["reference"], threshold),
    )


def _tracked_metrics(task: Task, metrics: Iterable[Metric | str] | str | None,
                     score: str | None) -> tuple[Metric, ...]:
    if metrics is None:
        return tuple(m for m in TRACKED_METRICS[task] if score or m not in _SCORE_METRICS)
    chosen = parse_metrics(metrics, task)
    needs = [m.value for m in chosen if m in _SCORE_METRICS]
    if needs and not score:
        raise InputError(f"{', '.join(needs)} need(s) the predicted probability; pass "
                         "score= (--score) or leave them out of the metrics.")
    return chosen


@dataclass(frozen=True)
class _Columns:
    truth: npt.NDArray[Any]
    pred: npt.NDArray[Any]
    score: npt.NDArray[np.float64] | None
    labelled: npt.NDArray[np.bool_]

    @classmethod
    def read(cls, frame: pd.DataFrame, side: str, task: Task, target: str, prediction: str,
             score: str | None) -> _Columns:
        labelled = frame[target].notna().to_numpy(dtype=bool)
        if task is Task.REGRESSION:
            truth = _numeric(frame[target], side, target, allow_missing=True)
            pred: npt.NDArray[Any] = _numeric(frame[prediction], side, prediction)
        else:
            truth = frame[target].to_numpy(dtype=object)
            pred = frame[prediction].to_numpy(dtype=object)
            missing = int(frame[prediction].isna().sum())
            if missing:
                raise InputError(f"{side.capitalize()} column {prediction!r} has {missing} "
                                 "missing prediction(s); every row needs the model's output.")
        return cls(truth, pred, None if score is None else _scores(frame, side, score), labelled)

    def encoded(self, labels: Sequence[Any]) -> _Columns:
        """Labels replaced by their position in ``labels`` (-1 where the target is missing).

        Integer codes keep scikit-learn's type checks happy whatever the labels'
        dtypes, and keep the positive class (code 1) the second sorted label.
        """
        codes = {label: code for code, label in enumerate(labels)}
        truth = pd.Series(self.truth).map(codes).fillna(-1).to_numpy(dtype=np.intp)
        pred = pd.Series(self.pred).map(codes).to_numpy(dtype=np.intp)
        return _Columns(truth, pred, self.score, self.labelled)


def _check_min_rows(min_chunk_rows: int) -> None:
    if isinstance(min_chunk_rows, bool) or not isinstance(min_chunk_rows, int) \
            or min_chunk_rows < 1:
        raise InputError(f"min_chunk_rows must be a whole number >= 1; got {min_chunk_rows!r}.")


def _check_frame(frame: pd.DataFrame, side: str, columns: Sequence[str]) -> None:
    """Raise :class:`InputError` unless ``frame`` is a non-empty frame with ``columns``."""
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"The {side} data must be a pandas DataFrame; got "
                         f"{type(frame).__name__}.")
    if len(frame) == 0:
        raise InputError(f"The {side} data has no rows; give at least one chunk's worth.")
    missing = [c for c in dict.fromkeys(columns) if c not in frame.columns]
    if missing:
        raise InputError(
            f"The {side} data has no column(s) {', '.join(map(repr, missing))}; its columns are "
            f"{', '.join(map(str, frame.columns))}."
        )


def _numeric(series: pd.Series, side: str, column: str, *,
            allow_missing: bool = False) -> npt.NDArray[np.float64]:
    """The column as floats; text, infinities, or (unless allowed) gaps are an InputError."""
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    text = int((np.isnan(values) & series.notna().to_numpy()).sum())
    if text:
        raise InputError(f"{side.capitalize()} column {column!r} has {text} value(s) that are "
                         "not numbers.")
    if np.isinf(values).any():
        raise InputError(f"{side.capitalize()} column {column!r} holds infinite values.")
    gaps = int(np.isnan(values).sum())
    if gaps and not allow_missing:
        raise InputError(f"{side.capitalize()} column {column!r} has {gaps} missing value(s); "
                         "every row needs the model's output.")
    return values


def _scores(frame: pd.DataFrame, side: str, column: str) -> npt.NDArray[np.float64]:
    """Predicted probabilities: numbers in [0, 1], none missing."""
    values = _numeric(frame[column], side, column)
    outside = int(((values < 0) | (values > 1)).sum())
    if outside:
        raise InputError(
            f"{side.capitalize()} column {column!r} has {outside} score(s) outside [0, 1] (from "
            f"{values.min():.4g} to {values.max():.4g}); pass the predicted probability of the "
            "positive class, not a margin or a log-odds."
        )
    return values


def _classes(data: Mapping[str, _Columns]) -> list[Any]:
    seen: set[Any] = set()
    for columns in data.values():
        seen.update(pd.unique(columns.truth[columns.labelled]).tolist())
        seen.update(pd.unique(columns.pred).tolist())
    try:
        return sorted(seen)
    except TypeError:
        kinds = ", ".join(sorted({type(v).__name__ for v in seen}))
        raise InputError(f"The labels mix types ({kinds}); use one type for targets and "
                         "predictions.") from None


def _chunk(chunk: Chunk, data: _Columns, task: Task, chosen: Sequence[Metric],
           classes: list[Any] | None, min_rows: int) -> ChunkPerformance:
    labelled = chunk.index[data.labelled[chunk.index]]
    status, reason = _row_status(len(labelled), min_rows, labels=True)
    if status is not ChunkStatus.OK:
        values = {m.value: MetricValue(metric=m.value, value=None, reason=reason)
                  for m in chosen}
    else:
        values = _realized(task, data.truth[labelled], data.pred[labelled],
                          None if data.score is None else data.score[labelled], classes, chosen)
    return ChunkPerformance(key=chunk.key, start=chunk.start, end=chunk.end, rows=chunk.rows,
                            labelled_rows=len(labelled), status=status, metrics=values,
                            reason=reason)


def _row_status(rows: int, min_rows: int, *, labels: bool) -> tuple[ChunkStatus, str | None]:
    """A chunk's status from its (labelled) row count."""
    what = "labelled rows" if labels else "rows"
    if rows == 0 and labels:
        return ChunkStatus.NO_LABELS, "no labelled rows in this chunk"
    if rows < min_rows:
        return ChunkStatus.TOO_FEW_ROWS, f"{rows} {what}; metrics need at least {min_rows}"
    return ChunkStatus.OK, None


def _realized(task: Task, truth: npt.NDArray[Any], pred: npt.NDArray[Any],
             score: npt.NDArray[np.float64] | None, classes: Sequence[Any] | None,
             chosen: Sequence[Metric]) -> dict[str, MetricValue]:
    """Realized metrics of labelled rows, ``None`` with a reason where undefined."""
    values = compute_metrics(task, truth, pred, y_proba=score, classes=classes, metrics=chosen)
    return {name: MetricValue(metric=name, value=value, reason=None if value is not None
                              else _why_missing(Metric(name), classes))
            for name, value in values.items()}


def _why_missing(metric: Metric, classes: Sequence[Any] | None) -> str:
    if classes is not None and len(classes) < 2:
        return "the labels and predictions hold a single class"
    return {
        Metric.ROC_AUC: "ROC AUC needs both classes among the chunk's labels",
        Metric.MAPE: "a true value is 0, where MAPE is undefined",
        Metric.R2: "R2 needs at least two rows",
    }.get(metric, "the metric is undefined for this chunk")


_C = TypeVar("_C", bound=Result)


def _with_alerts(chunk: _C, thresholds: Mapping[str, Bounds], field: str = "value") -> _C:
    """The chunk with ``alert`` set where the metric's ``field`` lies outside its bounds.

    ``chunk`` is a :class:`ChunkPerformance` or an ``EstimatedChunk`` (defined downstream,
    in :mod:`rasad.monitoring.estimation`), hence the bound on their common base.
    """
    values: Mapping[str, Result] = getattr(chunk, "metrics")  # noqa: B009 - see above
    metrics = {name: value.model_copy(update={
        "alert": thresholds[name].breached(getattr(value, field))})
        for name, value in values.items()}
    return chunk.model_copy(update={"metrics": metrics})


def _chunking_dict(chunker: Chunker) -> dict[str, Any]:
    return {key: (value.value if isinstance(value, enum.Enum) else value)
            for key, value in asdict(chunker).items()}


def _reference_warnings(reference: Sequence[Any], threshold: Threshold) -> tuple[str, ...]:
    usable = sum(chunk.status is ChunkStatus.OK for chunk in reference)
    if isinstance(threshold, StdThreshold) and usable < MIN_REFERENCE_CHUNKS:
        return (f"only {usable} usable reference chunk(s); thresholds from the spread of fewer "
                f"than {MIN_REFERENCE_CHUNKS} chunks are unreliable: use more reference data, "
                "smaller chunks, or a FixedThreshold",)
    return ()


def _alerts(current: Sequence[Any], metrics: Sequence[str]) -> tuple[MetricAlert, ...]:
    # In the report's metric order, not the chunks' key order: a stored blob is
    # canonical JSON (sorted keys), and a report read back must list the same alerts.
    return tuple(MetricAlert(chunk=chunk.key, metric=name) for chunk in current
                 for name in metrics if name in chunk.metrics and chunk.metrics[name].alert)


def _summary(current: Sequence[Any], alerts: Sequence[MetricAlert]) -> ChunkSummary:
    return ChunkSummary(
        chunks=len(current),
        chunks_ok=sum(chunk.status is ChunkStatus.OK for chunk in current),
        chunks_alerting=len({alert.chunk for alert in alerts}),
        alerts=len(alerts),
    )


@dataclass(frozen=True)
class _Design:
    """How a helper model reads feature columns: numbers as they are, text as categories.

    Categories are the reference's most frequent ``_MAX_CATEGORIES`` values (what a
    histogram gradient-boosting model accepts); others and missing values become
    missing, which those models handle natively.
    """

    columns: tuple[str, ...]
    categories: Mapping[str, tuple[Any, ...]]

    @classmethod
    def learn(cls, frame: pd.DataFrame, columns: Sequence[str]) -> _Design:
        categories = {}
        for column in columns:
            if _is_categorical(frame[column]):
                counts = frame[column].dropna().astype(str).value_counts(sort=True)
                categories[column] = tuple(counts.index[:_MAX_CATEGORIES])
        return cls(tuple(columns), categories)

    @property
    def mask(self) -> list[bool]:
        return [column in self.categories for column in self.columns]

    def matrix(self, frame: pd.DataFrame, side: str) -> npt.NDArray[np.float64]:
        out = np.empty((len(frame), len(self.columns)), dtype=np.float64)
        for j, column in enumerate(self.columns):
            if column in self.categories:
                codes = {value: float(code) for code, value in
                         enumerate(self.categories[column])}
                text = frame[column].astype(str).where(frame[column].notna())
                out[:, j] = text.map(codes).to_numpy(dtype=np.float64, na_value=np.nan)
            else:
                out[:, j] = _numeric(frame[column], side, column, allow_missing=True)
        return out


def _is_categorical(series: pd.Series) -> bool:
    return bool(isinstance(series.dtype, pd.CategoricalDtype)
                or pd.api.types.is_string_dtype(series.dtype)
                or pd.api.types.is_object_dtype(series.dtype))


def _finite(value: float | None) -> float | None:
    """``None`` for a missing or non-finite number, a plain float otherwise."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


__all__ = [
    "METRIC_RANGE",
    "MIN_CHUNK_ROWS",
    "TRACKED_METRICS",
    "ChunkPerformance",
    "ChunkStatus",
    "ChunkSummary",
    "MetricAlert",
    "MetricValue",
    "PerformanceReport",
    "track",
]
