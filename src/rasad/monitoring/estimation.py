"""Confidence-based performance estimation (CBPE): a binary classifier's metrics without labels.

When labels arrive late (a loan defaults months after the decision), the
model's scores still say how well it should be doing. CBPE, as in NannyML,
reads a calibrated score as the probability that the row is positive, and
takes expectations over the unknown labels. It assumes that the model's
calibration, learned on the reference, holds on the current data: covariate
shift (the features move, ``P(y | x)`` does not) is what it is built for;
concept drift (``P(y | x)`` changes) it cannot see.

The method, step by step:

1. **Calibrate** on the labelled reference with isotonic regression (NannyML's
   only calibrator). With ``calibration="auto"`` (the default) rasad applies
   NannyML's criterion: over 10 stratified shuffle splits (90% fit, 10%
   held out, seeded by ``random_state``, default 42 as in NannyML) the
   held-out scores are pooled, and the expected calibration error (10
   equal-count bins) of the calibrated scores is compared with that of the
   raw scores. Calibration is used only when it
   lowers that error; it is skipped outright when the reference ROC AUC
   exceeds 0.999 (isotonic regression would flatten a perfect ranking).
   The report's ``calibration`` records the choice and both errors.
2. **Expected confusion matrix** per chunk, from the calibrated probabilities
   ``p`` and the (fixed) predictions: ``E[TP] = sum(p)`` over rows predicted
   positive, ``E[FP] = sum(1 - p)`` over them, and likewise ``E[FN]`` and
   ``E[TN]`` over rows predicted negative. Accuracy, precision, recall and F1
   are computed from the expected counts (precision, recall, F1 are 0 where
   their denominator is, as scikit-learn reports them).
3. **Expected ROC AUC.** Rows are ranked by the *raw* score (the realized AUC
   is the raw score's), with mid-ranks for ties. With labels drawn
   independently as ``y_i ~ Bernoulli(p_i)``, the Mann-Whitney count
   ``U = sum(rank_i * y_i) - P(P+1)/2`` (``P`` the number of positives) has an
   exact expectation, and so does ``P(n - P)``; the estimate is their ratio,
   ``E[U] / E[P(n - P)]``, the expected share of correctly ordered
   positive-negative pairs. This is NannyML's expected-ROC-curve estimate
   without its self-pairs, computed in ``O(n log n)``.
4. **Confidence band.** Each estimate gets the standard deviation of the
   *realized* metric under the same label model (labels ``Bernoulli(p_i)``,
   predictions and scores fixed), by the delta method on the sums it is made
   of: exact for accuracy and precision, first-order for recall, F1 and ROC
   AUC. The band is ``estimate ± z * std`` for the ``confidence`` level
   (default 95%, ``z = 1.96``), clipped to [0, 1]. It covers the chance
   variation of the realized metric around its expectation, not a
   miscalibration under shift or concept drift: the validation in
   ``docs/performance.md`` measures both.
5. **Adaptive calibration (opt-in, ``features=``).** Under covariate shift a
   model that does not capture ``P(y | x)`` exactly is calibrated differently
   on the current population than on the reference, and plain CBPE cannot
   see it (the validation shows this). Given the feature columns, rasad
   re-weights the reference to look like each current chunk before
   calibrating, the importance-weighting idea behind NannyML's later PAPE:
   a histogram gradient-boosting domain classifier separates the reference
   from the chunk on the features and the score; its 2-fold cross-fitted
   probability ``q`` gives each reference row the weight ``q / (1 - q)``
   (``q`` clipped to [0.001, 0.999], weights capped at their 99.9th
   percentile), and a weighted isotonic regression calibrates the chunk. It
   costs one classifier per chunk; each chunk reports the effective number of
   reference rows behind its calibration, ``(sum w)^2 / sum w^2``, which
   falls when the chunk lies where the reference has few rows; below
   :data:`MIN_EFFECTIVE_ROWS` (200) the chunk's ``reason`` says its estimates
   are unreliable (ROC AUC, which hangs on the tails, suffers first).
   Reference chunks keep the global calibration.
6. **Thresholds** come from the reference chunks: by default from their
   *estimated* values (``thresholds_from="estimated"``), so that estimates are
   compared with estimates; ``"realized"`` uses the reference chunks' realized
   values, as NannyML does (wider bounds, fewer alerts).

Labels: the positive class is the second of the sorted labels of the
reference target and predictions (1 for 0/1, ``True`` for booleans), and the
score is its probability, as in :mod:`rasad.evaluation.metrics`.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Sequence
from statistics import NormalDist
from typing import Any, Literal, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import computed_field
from scipy.stats import rankdata
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, StratifiedShuffleSplit, cross_val_predict
from threadpoolctl import threadpool_limits

from rasad.drift.chunking import Chunk, Chunker
from rasad.errors import InputError
from rasad.evaluation.metrics import Metric, Task, parse_metrics
from rasad.monitoring.performance import (
    METRIC_RANGE,
    MIN_CHUNK_ROWS,
    ChunkStatus,
    ChunkSummary,
    MetricAlert,
    _alerts,
    _check_frame,
    _check_min_rows,
    _chunking_dict,
    _Design,
    _finite,
    _realized,
    _reference_warnings,
    _row_status,
    _scores,
    _summary,
    _with_alerts,
)
from rasad.monitoring.thresholds import Bounds, StdThreshold, Threshold
from rasad.results import Result

CBPE_METRICS: tuple[Metric, ...] = (
    Metric.ACCURACY, Metric.PRECISION, Metric.RECALL, Metric.F1, Metric.ROC_AUC,
)
"""The metrics CBPE estimates, and its default."""

_E = TypeVar("_E", bound=enum.StrEnum)

MIN_EFFECTIVE_ROWS = 200
"""Adaptive calibration resting on fewer effective reference rows than this is flagged."""

CALIBRATION_SPLITS = 10
CALIBRATION_BINS = 10


class Calibration(enum.StrEnum):
    """Whether CBPE calibrates the scores: by NannyML's criterion, always, or never."""

    AUTO = "auto"
    ISOTONIC = "isotonic"
    NONE = "none"


class ThresholdBasis(enum.StrEnum):
    """Which reference values set the alert thresholds of an estimate."""

    ESTIMATED = "estimated"
    REALIZED = "realized"


class EstimationMethod(enum.StrEnum):
    CBPE = "cbpe"
    DLE = "dle"


class CalibrationResult(Result):
    """What calibration did: the mode asked for, whether it applied, and why."""

    mode: Calibration
    applied: bool
    ece_before: float | None
    ece_after: float | None
    reason: str
    adaptive: bool = False


class EstimatedMetric(Result):
    """One metric in one chunk: the estimate, its band, and the realized value if labelled.

    ``std`` is the standard deviation of the realized metric expected around the
    estimate; ``band_lower``/``band_upper`` the confidence band. ``realized`` is
    the metric on the chunk's labelled rows, when it has at least
    ``min_chunk_rows`` of them. ``alert`` compares the estimate with the bounds.
    """

    metric: str
    estimate: float | None
    std: float | None = None
    band_lower: float | None = None
    band_upper: float | None = None
    realized: float | None = None
    alert: bool = False
    reason: str | None = None


class EstimatedChunk(Result):
    """The estimated (and, where labels exist, realized) metrics of one chunk.

    ``effective_reference_rows`` is set by CBPE's adaptive calibration only.
    """

    key: str
    start: str | None
    end: str | None
    rows: int
    labelled_rows: int
    status: ChunkStatus
    reason: str | None = None
    effective_reference_rows: float | None = None
    metrics: dict[str, EstimatedMetric]


class EstimationReport(Result):
    """What an estimator found: thresholds, and the estimates of every chunk.

    ``calibration`` is set by CBPE; ``features`` lists the feature columns used
    (by DLE, or by CBPE's adaptive calibration). ``summary``, ``alerts`` and
    ``estimation_error`` are derived from the current chunks; they are written to
    JSON and recomputed, not read, when a report is loaded.
    """

    kind: Literal["performance_estimation"] = "performance_estimation"
    method: EstimationMethod
    metrics: tuple[str, ...]
    confidence: float
    chunking: dict[str, Any]
    threshold: dict[str, Any]
    thresholds_from: ThresholdBasis
    thresholds: dict[str, Bounds]
    calibration: CalibrationResult | None = None
    features: tuple[str, ...] = ()
    reference: tuple[EstimatedChunk, ...]
    current: tuple[EstimatedChunk, ...]
    warnings: tuple[str, ...] = ()

    @computed_field  # type: ignore[prop-decorator]
    @property
    def summary(self) -> ChunkSummary:
        """Counts over the current chunks."""
        return _summary(self.current, self.alerts)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def alerts(self) -> tuple[MetricAlert, ...]:
        """Every (chunk, metric) of the current chunks whose estimate alerts, in order."""
        return _alerts(self.current, self.metrics)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def estimation_error(self) -> dict[str, float | None] | None:
        """Mean absolute error of the estimates against the realized values, per metric.

        Over the current chunks that have both; ``None`` for a metric without
        any, and ``None`` as a whole when no metric has any (unlabelled current
        data). This is the validation figure: it needs labelled current data.
        """
        errors: dict[str, float | None] = {}
        for name in self.metrics:
            pairs = [(m.estimate, m.realized) for c in self.current
                     for m in (c.metrics[name],) if m.estimate is not None
                     and m.realized is not None]
            errors[name] = (float(np.mean([abs(e - r) for e, r in pairs]))
                            if pairs else None)
        return errors if any(v is not None for v in errors.values()) else None


class CBPE:
    """Confidence-based performance estimation for a binary classifier.

    Parameters
    ----------
    target, score, prediction : str
        Columns of the true label (needed in the reference only), the predicted
        probability of the positive class, and the predicted label.
    chunker : Chunker, optional
        How the data is split; default ``Chunker()``, 10 equal parts per side.
    metrics : iterable of Metric or str, optional
        A subset of :data:`CBPE_METRICS` (the default).
    calibration : Calibration or str, default "auto"
        ``"auto"`` calibrates when it helps (see the module notes),
        ``"isotonic"`` always, ``"none"`` never.
    confidence : float, default 0.95
        Coverage of the confidence band.
    threshold : Threshold, optional
        Default ``StdThreshold(3.0)``.
    thresholds_from : ThresholdBasis or str, default "estimated"
        Set thresholds from the reference chunks' estimates or realized values.
    min_chunk_rows : int, default 30
        Chunks with fewer rows get status ``too_few_rows`` and no estimates.
    features : sequence of str, optional
        Turns on adaptive calibration: the reference is re-weighted to each
        current chunk's feature distribution before calibrating (module notes).
    threads : int or None, default 1
        OpenMP threads for adaptive calibration's domain classifiers (see
        :class:`~rasad.monitoring.regression_estimation.DLE`).
    random_state : int, default 42
        Seeds the calibration check's splits and the domain classifiers. 42 is
        NannyML's seed for the same splits, so both make the same calibration
        decision on the same data, and give the same estimates.

    Attributes
    ----------
    labels_ : tuple
        The negative and the positive label.
    calibrator_ : IsotonicRegression or None
        The fitted calibrator, ``None`` when scores are used as they are.
    calibration_ : CalibrationResult
    thresholds_ : dict of str to Bounds
    reference_ : tuple of EstimatedChunk

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> def draw(n, shift):
    ...     x = rng.normal(shift, 1.0, n)
    ...     y = (rng.random(n) < 1 / (1 + np.exp(-2 * x))).astype(int)
    ...     score = 1 / (1 + np.exp(-1.5 * x))          # right ranking, too timid
    ...     return pd.DataFrame({"y": y, "score": score, "pred": (score >= 0.5).astype(int)})
    >>> cbpe = CBPE(target="y", score="score", prediction="pred",
    ...             chunker=Chunker(size=1000)).fit(draw(10_000, 0.0))
    >>> cbpe.calibration_.applied
    True
    >>> report = cbpe.estimate(draw(3000, 1.0))
    >>> [round(c.metrics["roc_auc"].estimate, 3) for c in report.current]
    [0.866, 0.872, 0.861]
    >>> [round(c.metrics["roc_auc"].realized, 3) for c in report.current]
    [0.882, 0.867, 0.884]
    """

    def __init__(
        self,
        *,
        target: str,
        score: str,
        prediction: str,
        chunker: Chunker | None = None,
        metrics: Iterable[Metric | str] | str | None = None,
        calibration: Calibration | str = Calibration.AUTO,
        confidence: float = 0.95,
        threshold: Threshold | None = None,
        thresholds_from: ThresholdBasis | str = ThresholdBasis.ESTIMATED,
        min_chunk_rows: int = MIN_CHUNK_ROWS,
        features: Sequence[str] | None = None,
        threads: int | None = 1,
        random_state: int = 42,
    ) -> None:
        self.target = target
        self.score = score
        self.prediction = prediction
        self.chunker = chunker
        self.metrics = metrics
        self.calibration = calibration
        self.confidence = confidence
        self.threshold = threshold
        self.thresholds_from = thresholds_from
        self.min_chunk_rows = min_chunk_rows
        self.features = features
        self.threads = threads
        self.random_state = random_state

    def fit(self, reference: pd.DataFrame) -> CBPE:
        """Calibrate on the labelled reference and set thresholds from its chunks."""
        with threadpool_limits(limits=self.threads, user_api="openmp"):
            return self._fit(reference)

    def estimate(self, current: pd.DataFrame) -> EstimationReport:
        """Estimate the metrics of every chunk of ``current`` (its target may be absent)."""
        with threadpool_limits(limits=self.threads, user_api="openmp"):
            return self._estimate(current)

    def _fit(self, reference: pd.DataFrame) -> CBPE:
        self._metrics, self._z = _cbpe_metrics(self.metrics), _z(self.confidence)
        mode = _enum(Calibration, self.calibration, "calibration")
        basis = _enum(ThresholdBasis, self.thresholds_from, "thresholds_from")
        _check_min_rows(self.min_chunk_rows)
        features = self._features()
        _check_frame(reference, "reference",
                     [self.target, self.score, self.prediction, *features])
        labelled = reference[self.target].notna().to_numpy(dtype=bool)
        if not labelled.any():
            raise InputError(f"Reference column {self.target!r} holds no labels; CBPE "
                             "calibrates on a labelled reference.")
        self.labels_ = _binary_labels(reference, labelled, self.target, self.prediction)
        scores = _scores(reference, "reference", self.score)
        truth = _positive(reference[self.target].to_numpy(dtype=object), self.labels_)
        self.calibration_, self.calibrator_ = _calibrate(
            truth[labelled], scores[labelled], mode, self.random_state)
        if features:
            self.calibration_ = self.calibration_.model_copy(update={"adaptive": True})
            known = reference.loc[labelled]
            self._design = _Design.learn(known, [*features, self.score])
            self._reference = (self._design.matrix(known, "reference"), scores[labelled],
                               truth[labelled])
        chunks = [self._chunk(c, reference, scores, "reference")
                  for c in self._chunker.split(reference)]
        self.thresholds_ = _thresholds(chunks, self._metrics, self._threshold, basis)
        self.reference_ = tuple(_with_alerts(c, self.thresholds_, "estimate") for c in chunks)
        self._basis = basis
        return self

    def _estimate(self, current: pd.DataFrame) -> EstimationReport:
        if not hasattr(self, "thresholds_"):
            raise InputError("This CBPE is not fitted yet; call fit(reference) first.")
        _check_frame(current, "current", [self.score, self.prediction, *self._features()])
        scores = _scores(current, "current", self.score)
        chunks = [self._chunk(c, current, scores, "current")
                  for c in self._chunker.split(current)]
        return EstimationReport(
            method=EstimationMethod.CBPE, metrics=tuple(m.value for m in self._metrics),
            confidence=float(self.confidence), chunking=_chunking_dict(self._chunker),
            threshold=self._threshold.to_dict(), thresholds_from=self._basis,
            thresholds=self.thresholds_, reference=self.reference_,
            current=tuple(_with_alerts(c, self.thresholds_, "estimate") for c in chunks),
            calibration=self.calibration_, features=tuple(self._features()),
            warnings=_reference_warnings(self.reference_, self._threshold),
        )

    def _features(self) -> list[str]:
        if self.features is None:
            return []
        if isinstance(self.features, str) or not list(self.features):
            raise InputError("features= takes a list of column names (or None to turn "
                             "adaptive calibration off).")
        features = list(dict.fromkeys(self.features))
        clash = [c for c in (self.target, self.score, self.prediction) if c in features]
        if clash:
            raise InputError(f"features must not include {', '.join(map(repr, clash))}; the "
                             "score is added for you and the target is what is missing.")
        return features

    def _adapted(self, rows: pd.DataFrame, raw: npt.NDArray[np.float64]
                 ) -> tuple[npt.NDArray[np.float64], float]:
        """Calibrated probabilities for one chunk from the re-weighted reference, and its ESS."""
        reference_x, reference_scores, reference_truth = self._reference
        chunk_x = self._design.matrix(rows, "current")
        x = np.vstack([reference_x, chunk_x])
        side = np.r_[np.zeros(len(reference_x)), np.ones(len(chunk_x))]
        mask = self._design.mask
        domain = HistGradientBoostingClassifier(
            categorical_features=mask if any(mask) else None, random_state=self.random_state)
        folds = StratifiedKFold(n_splits=2, shuffle=True, random_state=self.random_state)
        q = cross_val_predict(domain, x, side, cv=folds, method="predict_proba")
        q = np.clip(q[: len(reference_x), 1], 0.001, 0.999)
        weights = q / (1.0 - q)
        weights = np.minimum(weights, np.quantile(weights, 0.999))
        effective = float(weights.sum() ** 2 / (weights**2).sum())
        calibrator = _isotonic(reference_scores, reference_truth, weights)
        return calibrator.predict(raw), effective

    @property
    def _chunker(self) -> Chunker:
        return Chunker() if self.chunker is None else self.chunker

    @property
    def _threshold(self) -> Threshold:
        return StdThreshold() if self.threshold is None else self.threshold

    def _chunk(self, chunk: Chunk, frame: pd.DataFrame, scores: npt.NDArray[np.float64],
               side: str) -> EstimatedChunk:
        rows = frame.iloc[chunk.index]
        pred = _positive(_predictions(rows, self.prediction, self.labels_, side), self.labels_)
        raw = scores[chunk.index]
        truth, labelled = _labels(rows, self.target, self.labels_)
        status, reason = _row_status(chunk.rows, self.min_chunk_rows, labels=False)
        if status is not ChunkStatus.OK:
            values = {m.value: EstimatedMetric(metric=m.value, estimate=None, reason=reason)
                      for m in self._metrics}
            return EstimatedChunk(key=chunk.key, start=chunk.start, end=chunk.end,
                                  rows=chunk.rows, labelled_rows=int(labelled.sum()),
                                  status=status, metrics=values, reason=reason)
        effective, note = None, None
        if side == "current" and self._features():
            proba, effective = self._adapted(rows, raw)
            if effective < MIN_EFFECTIVE_ROWS:
                note = (f"adaptive calibration rests on {effective:.0f} effective reference "
                        f"rows (< {MIN_EFFECTIVE_ROWS}): this chunk lies where the reference "
                        "has little data, so its estimates are unreliable")
        else:
            proba = raw if self.calibrator_ is None else self.calibrator_.predict(raw)
        estimates = _cbpe_estimates(proba, raw, pred, self._metrics)
        realized = _realized_binary(truth, pred, raw, labelled, self._metrics,
                                    self.min_chunk_rows)
        values = {name: _banded(name, est, std, realized.get(name), self._z, reason_est)
                  for name, (est, std, reason_est) in estimates.items()}
        return EstimatedChunk(key=chunk.key, start=chunk.start, end=chunk.end, rows=chunk.rows,
                              labelled_rows=int(labelled.sum()), status=status,
                              metrics=values, reason=note,
                              effective_reference_rows=effective)


def estimate(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    target: str,
    score: str,
    prediction: str,
    chunker: Chunker | None = None,
    metrics: Iterable[Metric | str] | str | None = None,
    calibration: Calibration | str = Calibration.AUTO,
    confidence: float = 0.95,
    threshold: Threshold | None = None,
    thresholds_from: ThresholdBasis | str = ThresholdBasis.ESTIMATED,
    min_chunk_rows: int = MIN_CHUNK_ROWS,
    features: Sequence[str] | None = None,
    threads: int | None = 1,
    random_state: int = 42,
) -> EstimationReport:
    """Estimate a binary classifier's metrics per chunk without labels (CBPE).

    ``CBPE(...).fit(reference).estimate(current)``; see :class:`CBPE` for the
    parameters and the module notes for the method.

    Returns
    -------
    EstimationReport

    Raises
    ------
    InputError
        If a side is empty, a column is missing, the reference has no labels or
        a single class, predictions are not two labels (or hold a label the
        reference does not), scores are missing or outside [0, 1].

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=4000)
    >>> frame = pd.DataFrame({"y": (rng.random(4000) < 1 / (1 + np.exp(-3 * x))).astype(int),
    ...                       "p": 1 / (1 + np.exp(-3 * x))})
    >>> frame["pred"] = (frame["p"] >= 0.5).astype(int)
    >>> report = estimate(frame[:2000], frame[2000:].drop(columns="y"), target="y",
    ...                   score="p", prediction="pred", chunker=Chunker(size=500))
    >>> c = report.calibration        # the scores are already calibrated
    >>> c.applied, round(c.ece_before, 4), round(c.ece_after, 4)
    (False, 0.0173, 0.0198)
    >>> acc = report.current[0].metrics["accuracy"]
    >>> round(acc.estimate, 3), round(acc.band_lower, 3), round(acc.band_upper, 3)
    (0.84, 0.811, 0.87)
    """
    return CBPE(
        target=target, score=score, prediction=prediction, chunker=chunker, metrics=metrics,
        calibration=calibration, confidence=confidence, threshold=threshold,
        thresholds_from=thresholds_from, min_chunk_rows=min_chunk_rows, features=features,
        threads=threads, random_state=random_state,
    ).fit(reference).estimate(current)


def expected_roc_auc(proba: npt.ArrayLike, score: npt.ArrayLike) -> tuple[float, float]:
    """Expected ROC AUC of ``score`` when each label is ``Bernoulli(proba)``, and its std.

    Parameters
    ----------
    proba : array-like of shape (n,)
        Calibrated probability that each row is positive.
    score : array-like of shape (n,)
        The model's score, which ranks the rows (ties count one half).

    Returns
    -------
    (float, float)
        ``E[U] / E[P(n - P)]`` and the delta-method standard deviation of the
        realized AUC; ``nan`` when fewer than one positive or negative is
        expected.

    Examples
    --------
    >>> estimate_, std = expected_roc_auc([0.1, 0.4, 0.6, 0.9], [0.1, 0.4, 0.6, 0.9])
    >>> round(estimate_, 4), round(std, 4)
    (0.8892, 0.1811)
    """
    p = np.asarray(proba, dtype=np.float64)
    ranks = rankdata(np.asarray(score, dtype=np.float64))
    n = p.shape[0]
    var = p * (1.0 - p)
    mean_p, var_p = float(p.sum()), float(var.sum())
    if mean_p < 1.0 or n - mean_p < 1.0:
        return math.nan, math.nan
    mean_s = float(ranks @ p)
    expected_u = mean_s - (mean_p * mean_p + var_p + mean_p) / 2.0
    expected_pairs = n * mean_p - mean_p * mean_p - var_p
    # Delta method on AUC = (S - P(P+1)/2) / (P(n-P)), S = sum(rank * y), P = sum(y).
    pairs = mean_p * (n - mean_p)
    numerator = mean_s - mean_p * (mean_p + 1.0) / 2.0
    grad_s = 1.0 / pairs
    grad_p = (-(mean_p + 0.5) * pairs - numerator * (n - 2.0 * mean_p)) / pairs**2
    var_s, cov = float(ranks**2 @ var), float(ranks @ var)
    variance = grad_s**2 * var_s + grad_p**2 * var_p + 2.0 * grad_s * grad_p * cov
    return expected_u / expected_pairs, math.sqrt(max(variance, 0.0))


def expected_confusion_metrics(
    proba: npt.ArrayLike, predicted_positive: npt.ArrayLike
) -> dict[str, tuple[float, float]]:
    """Accuracy, precision, recall and F1 from the expected confusion matrix, with stds.

    Parameters
    ----------
    proba : array-like of shape (n,)
        Calibrated probability that each row is positive.
    predicted_positive : array-like of bool, shape (n,)
        Whether the model predicted the positive class.

    Returns
    -------
    dict of str to (float, float)
        Metric name to (estimate, standard deviation of the realized metric).

    Examples
    --------
    >>> got = expected_confusion_metrics([0.9, 0.8, 0.3, 0.1], [True, True, False, False])
    >>> {name: round(value, 4) for name, (value, std) in got.items()}
    {'accuracy': 0.825, 'precision': 0.85, 'recall': 0.8095, 'f1': 0.8293}
    """
    p = np.asarray(proba, dtype=np.float64)
    pos = np.asarray(predicted_positive, dtype=bool)
    n, var = p.shape[0], p * (1.0 - p)
    tp, fn = float(p[pos].sum()), float(p[~pos].sum())
    var_tp, var_fn = float(var[pos].sum()), float(var[~pos].sum())
    predicted = float(pos.sum())
    tn = float((~pos).sum()) - fn
    positives = tp + fn
    out = {"accuracy": ((tp + tn) / n, math.sqrt(var_tp + var_fn) / n)}
    out["precision"] = (tp / predicted, math.sqrt(var_tp) / predicted) if predicted else (0.0, 0.0)
    out["recall"] = ((tp / positives, math.sqrt(fn**2 * var_tp + tp**2 * var_fn) / positives**2)
                     if positives else (0.0, 0.0))
    denominator = tp + fn + predicted
    out["f1"] = ((2 * tp / denominator,
                  2 * math.sqrt((fn + predicted) ** 2 * var_tp + tp**2 * var_fn) / denominator**2)
                 if denominator else (0.0, 0.0))
    return out


def _cbpe_estimates(proba: npt.NDArray[np.float64], raw: npt.NDArray[np.float64],
                    pred: npt.NDArray[np.bool_], chosen: Sequence[Metric]
                    ) -> dict[str, tuple[float | None, float | None, str | None]]:
    confusion = expected_confusion_metrics(proba, pred)
    out: dict[str, tuple[float | None, float | None, str | None]] = {}
    for metric in chosen:
        if metric is Metric.ROC_AUC:
            auc, std = expected_roc_auc(proba, raw)
            out[metric.value] = ((None, None, "fewer than one positive or one negative expected "
                                  "in this chunk") if math.isnan(auc) else (auc, std, None))
        else:
            value, std = confusion[metric.value]
            out[metric.value] = (value, std, None)
    return out


def _banded(name: str, estimate_: float | None, std: float | None, realized: float | None,
            z: float, reason: str | None) -> EstimatedMetric:
    if estimate_ is None or std is None:
        return EstimatedMetric(metric=name, estimate=None, realized=realized, reason=reason)
    low, high = METRIC_RANGE[Metric(name)]
    lower, upper = estimate_ - z * std, estimate_ + z * std
    lower = lower if low is None else max(lower, low)
    upper = upper if high is None else min(upper, high)
    return EstimatedMetric(metric=name, estimate=_finite(estimate_), std=_finite(std),
                           band_lower=_finite(lower), band_upper=_finite(upper),
                           realized=realized)


def _realized_binary(truth: npt.NDArray[np.bool_], pred: npt.NDArray[np.bool_],
                     raw: npt.NDArray[np.float64], labelled: npt.NDArray[np.bool_],
                     chosen: Sequence[Metric], min_rows: int) -> dict[str, float | None]:
    if labelled.sum() < min_rows:
        return {}
    values = _realized(Task.CLASSIFICATION, truth[labelled].astype(np.intp),
                       pred[labelled].astype(np.intp), raw[labelled], [0, 1], chosen)
    return {name: value.value for name, value in values.items()}


def _thresholds(chunks: Sequence[Any], chosen: Sequence[Metric], threshold: Threshold,
                basis: ThresholdBasis) -> dict[str, Bounds]:
    field = "estimate" if basis is ThresholdBasis.ESTIMATED else "realized"
    return {m.value: threshold.bounds(
        [getattr(c.metrics[m.value], field) for c in chunks if c.status is ChunkStatus.OK]
    ).clip(*METRIC_RANGE[m]) for m in chosen}


def _calibrate(truth: npt.NDArray[np.bool_], scores: npt.NDArray[np.float64],
               mode: Calibration, random_state: int
               ) -> tuple[CalibrationResult, IsotonicRegression | None]:
    if mode is Calibration.NONE:
        return _decided(mode, False, "calibration turned off"), None
    if mode is Calibration.ISOTONIC:
        return _decided(mode, True, "isotonic calibration asked for"), _isotonic(scores, truth)
    if roc_auc_score(truth, scores) > 0.999:
        return _decided(mode, False, "the reference ROC AUC exceeds 0.999; calibration would "
                        "flatten a perfect ranking"), None
    try:
        splits = list(StratifiedShuffleSplit(n_splits=CALIBRATION_SPLITS, test_size=0.1,
                                             random_state=random_state).split(scores, truth))
    except ValueError:
        return _decided(mode, False, "too few labelled reference rows of each class to test "
                        "calibration; scores used as they are"), None
    held, raw, fitted = [], [], []
    for train, test in splits:
        held.append(truth[test])
        raw.append(scores[test])
        fitted.append(_isotonic(scores[train], truth[train]).predict(scores[test]))
    y = np.concatenate(held)
    before = _ece(y, np.concatenate(raw))
    after = _ece(y, np.concatenate(fitted))
    if after < before:
        return (_decided(mode, True, f"isotonic calibration lowers the held-out expected "
                         f"calibration error from {before:.4f} to {after:.4f}", before, after),
                _isotonic(scores, truth))
    return _decided(mode, False, f"isotonic calibration does not lower the held-out expected "
                    f"calibration error ({before:.4f} before, {after:.4f} after); scores used "
                    "as they are", before, after), None


def _decided(mode: Calibration, applied: bool, reason: str, before: float | None = None,
             after: float | None = None) -> CalibrationResult:
    return CalibrationResult(mode=mode, applied=applied, ece_before=before, ece_after=after,
                             reason=reason)


def _isotonic(scores: npt.NDArray[np.float64], truth: npt.NDArray[np.bool_],
              weights: npt.NDArray[np.float64] | None = None) -> IsotonicRegression:
    model = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
    return model.fit(scores, truth.astype(np.float64), sample_weight=weights)


def _ece(truth: npt.NDArray[np.bool_], proba: npt.NDArray[np.float64]) -> float:
    """Expected calibration error over equal-count bins of the sorted probabilities."""
    order = np.argsort(proba, kind="stable")
    total = 0.0
    for part in np.array_split(order, min(CALIBRATION_BINS, max(1, len(order) // 2))):
        total += len(part) * abs(float(proba[part].mean()) - float(truth[part].mean()))
    return total / len(order)


def _binary_labels(reference: pd.DataFrame, labelled: npt.NDArray[np.bool_], target: str,
                   prediction: str) -> tuple[Any, Any]:
    targets = pd.unique(reference[target].to_numpy(dtype=object)[labelled]).tolist()
    predicted = pd.unique(reference[prediction].dropna().to_numpy(dtype=object)).tolist()
    try:
        labels = sorted(set(targets) | set(predicted))
    except TypeError:
        raise InputError(f"Reference columns {target!r} and {prediction!r} mix label types; "
                         "use one type for both.") from None
    if len(labels) > 2:
        raise InputError(
            f"CBPE estimates binary classifiers, but the reference's {target!r} and "
            f"{prediction!r} hold {len(labels)} labels ({_preview(labels)}); pass the predicted "
            "label as prediction= and its probability as score=.")
    if len(set(targets)) < 2:
        raise InputError(f"Reference column {target!r} holds a single class "
                         f"({_preview(targets)}); calibration needs both classes.")
    return labels[0], labels[1]


def _predictions(rows: pd.DataFrame, prediction: str, labels: tuple[Any, Any],
                 side: str) -> npt.NDArray[Any]:
    values = rows[prediction].to_numpy(dtype=object)
    missing = int(pd.isna(values).sum())
    if missing:
        raise InputError(f"{side.capitalize()} column {prediction!r} has {missing} missing "
                         "prediction(s); every row needs the model's output.")
    unknown = set(pd.unique(values).tolist()) - set(labels)
    if unknown:
        raise InputError(
            f"{side.capitalize()} column {prediction!r} holds {_preview(sorted(unknown, key=str))}"
            f", not one of the reference's two labels {list(labels)}; CBPE needs binary "
            "predictions.")
    return values


def _labels(rows: pd.DataFrame, target: str, labels: tuple[Any, Any]
            ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    if target not in rows.columns:
        return np.zeros(len(rows), dtype=bool), np.zeros(len(rows), dtype=bool)
    values = rows[target].to_numpy(dtype=object)
    labelled = ~pd.isna(values)
    unknown = set(pd.unique(values[labelled]).tolist()) - set(labels)
    if unknown:
        raise InputError(f"Current column {target!r} holds {_preview(sorted(unknown, key=str))}, "
                         f"not one of the reference's labels {list(labels)}.")
    return _positive(values, labels), labelled


def _positive(values: npt.NDArray[Any], labels: tuple[Any, Any]) -> npt.NDArray[np.bool_]:
    return pd.Series(values, dtype=object).isin([labels[1]]).to_numpy(dtype=bool)


def _preview(values: Sequence[Any]) -> str:
    shown = ", ".join(repr(v) for v in list(values)[:5])
    return shown + (", ..." if len(values) > 5 else "")


def _cbpe_metrics(metrics: Iterable[Metric | str] | str | None) -> tuple[Metric, ...]:
    if metrics is None:
        return CBPE_METRICS
    chosen = parse_metrics(metrics, Task.CLASSIFICATION)
    other = [m.value for m in chosen if m not in CBPE_METRICS]
    if other:
        raise InputError(f"CBPE does not estimate {', '.join(other)}; choose from "
                         f"{', '.join(m.value for m in CBPE_METRICS)}.")
    return chosen


def _z(confidence: float) -> float:
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) \
            or not 0 < confidence < 1:
        raise InputError(f"confidence must be a number between 0 and 1 (e.g. 0.95); "
                         f"got {confidence!r}.")
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def _enum(kind: type[_E], value: _E | str, name: str) -> _E:
    try:
        return kind(str(value).lower())
    except ValueError:
        raise InputError(f"{name} {value!r} is not one of "
                         f"{', '.join(member.value for member in kind)}.") from None


__all__ = [
    "CBPE",
    "CBPE_METRICS",
    "MIN_EFFECTIVE_ROWS",
    "Calibration",
    "CalibrationResult",
    "EstimatedChunk",
    "EstimatedMetric",
    "EstimationMethod",
    "EstimationReport",
    "ThresholdBasis",
    "estimate",
    "expected_confusion_metrics",
    "expected_roc_auc",
]
