"""How the versions serving a model compared, from the prediction log (docs/serving.md).

:func:`compare` reads a window of one model's log in one environment, every role at
once, with the feedback labels that arrived, and reports:

- **per version and role** (primary, canary, shadow): the requests and rows it scored,
  its share of the answered requests (a canary's observed share), its latency (p50 and
  p99 over requests, linear interpolation), its prediction distribution (rows per
  predicted label for a classifier; mean, standard deviation and 5th, 50th and 95th
  percentiles for a regressor) and, over the rows whose label arrived, its metrics:
  accuracy, and ROC AUC over the labelled rows that carry a score (binary classifiers;
  a request that asked for ``predict_proba``, or any shadow row), or MAE and RMSE for a
  regressor, each with its row counts. Primary and canary answer different requests, so
  their figures compare two samples of the traffic; a shadow scored the same requests as
  the versions that answered them.
- **agreement** of each shadow with the versions that answered the same requests, joined
  by ``(request_id, row)``: the share of equal predictions, the mean absolute difference
  of the positive-class scores where both have one, and for a regressor the mean
  absolute difference of the predictions.

Request ids are what joins a shadow to its answer: a client that reuses an id for
different requests makes that join ambiguous (the first answer logged is kept).

>>> _summary(np.array([1.0, 2.0, 3.0, 4.0])).p50
2.5
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final, cast

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from rasad.errors import NotFoundError
from rasad.evaluation.metrics import compute_metrics
from rasad.registry import models
from rasad.results import Result
from rasad.serving.predlog import LogWindow, read_log_window

if TYPE_CHECKING:
    from rasad.core import Context

ROLES: Final = ("primary", "canary", "shadow")
MAX_LABELS: Final = 50
"""Predicted labels listed per version; the rest are counted under ``other``."""
KEYS: Final = ["request_id", "row"]


class ValueSummary(Result):
    """The distribution of a regressor's predictions."""

    mean: float
    std: float
    """Population standard deviation."""
    p5: float
    p50: float
    p95: float


class VersionReport(Result):
    """One version in one role, over the window."""

    role: str
    version: int
    task: str
    requests: int
    rows: int
    answered_share: float | None
    """Its share of the answered requests (None for a shadow, which answers none)."""
    latency_p50_ms: float | None
    latency_p99_ms: float | None
    labels: dict[str, int] | None
    """Rows per predicted label (classifiers), at most 50 labels then ``other``."""
    values: ValueSummary | None
    """The predictions' distribution (regressors)."""
    labelled: int
    """Rows whose feedback label arrived: what the metrics are computed over."""
    scored_labelled: int
    """Labelled rows that carry a score: what ROC AUC is computed over."""
    metrics: dict[str, float | None]


class Agreement(Result):
    """A shadow against the version that answered the same requests."""

    shadow_version: int
    against_role: str
    against_version: int
    rows: int
    """Rows scored by both, joined by ``(request_id, row)``."""
    agreement: float | None
    """Share of the rows with equal predictions."""
    score_rows: int
    mean_abs_score_difference: float | None
    mean_abs_prediction_difference: float | None
    """Regressors only."""


class ServingComparison(Result):
    """How the versions serving ``model`` in ``environment`` compared over a window."""

    model: str
    environment: str
    since: str | None
    until: str | None
    canary_share: float | None
    """The configured share (``serving.environments.ENV.canary.share``), if any."""
    requests: int
    """Answered requests (primary and canary)."""
    versions: list[VersionReport]
    agreement: list[Agreement]
    unmatched_shadow_rows: int
    """Shadow rows whose answer is not in the log (dropped, or outside the window)."""


def compare(ctx: Context, model: str, env: str, *, since: datetime | None = None,
            until: datetime | None = None) -> ServingComparison:
    """Compare the primary, canary and shadow of ``model`` in ``env`` from the log.

    Parameters
    ----------
    ctx : Context
    model : str
    env : str
        One of ``registry.environments``.
    since, until : datetime, optional
        The window (``until`` excluded; naive times are UTC); the whole log when None.

    Returns
    -------
    ServingComparison

    Raises
    ------
    NotFoundError
        ``env`` is not an environment of the project.
    InputError
        No prediction of ``model`` in ``env`` in that window (the message says what the
        log holds), or a bad name or window.
    PermissionDenied
        The principal may not read the project.
    """
    models.check_environment(ctx, env)
    window = LogWindow(model, env, since, until, role=None)
    frame = read_log_window(ctx, window, with_feedback=True)
    requests = _requests(frame)
    answered = int(requests["role"].isin(["primary", "canary"]).sum())
    tasks: dict[int, str] = {}
    versions = []
    groups = [(*cast("tuple[str, int]", key), group)
              for key, group in frame.groupby(["role", "version"], sort=False)]
    for role, version, group in sorted(groups, key=lambda g: (ROLES.index(g[0]), g[1])):
        number = int(version)
        if number not in tasks:
            tasks[number] = _task(ctx, model, number, group["prediction"])
        own = requests[(requests["role"] == role) & (requests["version"] == version)]
        versions.append(_version(str(role), number, tasks[number], group, own, answered))
    agreement, unmatched = _agreement(frame, tasks)
    policy = ctx.config.serving.environments.get(env)
    return ServingComparison(
        model=model, environment=env, since=_iso(window.since), until=_iso(window.until),
        canary_share=policy.canary.share if policy is not None and policy.canary else None,
        requests=answered, versions=versions, agreement=agreement,
        unmatched_shadow_rows=unmatched)


def _requests(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (request, version, role): its latency."""
    return (frame.drop_duplicates(["request_id", "time", "role", "version"])
            [["request_id", "role", "version", "latency_ms"]])


def _task(ctx: Context, model: str, version: int, predictions: pd.Series) -> str:
    """The version's task from the registry; from its predictions when it is not there."""
    try:
        return str(models.resolve(ctx, model, version=version).task)
    except NotFoundError:
        return "regression" if predictions.dtype.kind == "f" else "classification"


def _version(role: str, version: int, task: str, rows: pd.DataFrame, requests: pd.DataFrame,
             answered: int) -> VersionReport:
    latency = requests["latency_ms"].dropna().to_numpy(np.float64)
    p50, p99 = (np.percentile(latency, [50, 99]).tolist() if len(latency)
                else (None, None))
    labelled = rows[rows["label"].notna()]
    scored = labelled[labelled["score"].notna()]
    classifier = task == "classification"
    return VersionReport(
        role=role, version=version, task=task, requests=len(requests), rows=len(rows),
        answered_share=(len(requests) / answered if answered and role != "shadow" else None),
        latency_p50_ms=p50, latency_p99_ms=p99,
        labels=_label_counts(rows["prediction"]) if classifier else None,
        values=_summary(rows["prediction"].to_numpy(np.float64)) if not classifier else None,
        labelled=len(labelled), scored_labelled=len(scored),
        metrics=_metrics(task, labelled, scored))


def _metrics(task: str, labelled: pd.DataFrame, scored: pd.DataFrame
             ) -> dict[str, float | None]:
    if task != "classification":
        if not len(labelled):
            return {"mae": None, "rmse": None}
        truth, predicted = _aligned(labelled["label"], labelled["prediction"])
        return compute_metrics(task, truth, predicted, metrics=["mae", "rmse"])
    found: dict[str, float | None] = {"accuracy": None, "roc_auc": None}
    if len(labelled):
        truth, predicted = _aligned(labelled["label"], labelled["prediction"])
        found["accuracy"] = float(np.mean(truth == predicted))
    if len(scored):
        truth, predicted = _aligned(scored["label"], scored["prediction"])
        classes = np.unique(np.concatenate([truth, predicted]))
        if len(classes) == 2 and len(np.unique(truth)) == 2:
            # The score is the probability of the second class in sorted order: what a
            # binary scikit-learn classifier's classes_ and predict_proba[:, 1] mean.
            found["roc_auc"] = compute_metrics(
                task, truth, predicted, y_proba=scored["score"].to_numpy(np.float64),
                classes=classes, metrics=["roc_auc"])["roc_auc"]
    return found


def _aligned(truth: pd.Series, predicted: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Labels and predictions in one type: numbers when both are, else text (feedback
    labels arrive as JSON: ``1`` for a class predicted as ``1``, or ``"yes"``)."""
    if is_numeric_dtype(predicted) or is_bool_dtype(predicted):
        numbers = pd.to_numeric(truth, errors="coerce")
        if numbers.notna().all():
            return numbers.to_numpy(np.float64), predicted.to_numpy(np.float64)
    return truth.map(_text).to_numpy(object), predicted.map(_text).to_numpy(object)


def _text(value: object) -> str:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _label_counts(predictions: pd.Series) -> dict[str, int]:
    counts = predictions.map(_text).value_counts(sort=True)
    kept = {str(label): int(n) for label, n in counts.iloc[:MAX_LABELS].items()}
    rest = int(counts.iloc[MAX_LABELS:].sum())
    if rest:
        kept["other"] = rest
    return dict(sorted(kept.items()))


def _summary(values: np.ndarray) -> ValueSummary | None:
    """Mean, population standard deviation and percentiles (linear interpolation)."""
    finite = values[np.isfinite(values)]
    if not len(finite):
        return None
    p5, p50, p95 = np.percentile(finite, [5, 50, 95]).tolist()
    return ValueSummary(mean=float(finite.mean()), std=float(finite.std()), p5=p5, p50=p50,
                        p95=p95)


def _agreement(frame: pd.DataFrame, tasks: dict[int, str]) -> tuple[list[Agreement], int]:
    shadow = frame[frame["role"] == "shadow"]
    if not len(shadow):
        return [], 0
    columns = [*KEYS, "role", "version", "prediction", "score"]
    answers = (frame[frame["role"] != "shadow"][columns]
               .drop_duplicates(KEYS, keep="first"))
    joined = (shadow[columns].drop_duplicates([*KEYS, "version"], keep="first")
              .merge(answers, on=KEYS, how="left", suffixes=("_shadow", "")))
    unmatched = int(joined["role"].isna().sum())
    found = []
    matched = joined[joined["role"].notna()]
    for key, rows in matched.groupby(["version_shadow", "role", "version"], sort=True):
        shadow_version, role, version = cast("tuple[int, str, int]", key)
        mine, theirs = rows["prediction_shadow"], rows["prediction"]
        regression = tasks.get(int(shadow_version)) == "regression"
        both = rows["score_shadow"].notna() & rows["score"].notna()
        scores = (rows["score_shadow"][both] - rows["score"][both]).abs()
        found.append(Agreement(
            shadow_version=int(shadow_version), against_role=str(role),
            against_version=int(version), rows=len(rows),
            agreement=float(np.mean(_equal(mine, theirs))), score_rows=int(both.sum()),
            mean_abs_score_difference=float(scores.mean()) if len(scores) else None,
            mean_abs_prediction_difference=float(np.mean(np.abs(
                mine.to_numpy(np.float64) - theirs.to_numpy(np.float64))))
            if regression else None))
    found.sort(key=lambda a: (a.shadow_version, ROLES.index(a.against_role),
                              a.against_version))
    return found, unmatched


def _equal(mine: pd.Series, theirs: pd.Series) -> np.ndarray:
    if is_numeric_dtype(mine) and is_numeric_dtype(theirs):
        return mine.to_numpy(np.float64) == theirs.to_numpy(np.float64)
    return mine.map(_text).to_numpy(object) == theirs.map(_text).to_numpy(object)


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


__all__ = ["Agreement", "ServingComparison", "ValueSummary", "VersionReport", "compare"]
