"""Tests for rasad.monitoring.performance: realized metrics per chunk, thresholds, alerts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from sklearn import metrics as skm

import rasad.monitoring as monitoring
from rasad.drift.chunking import Chunker, Period
from rasad.errors import InputError
from rasad.evaluation.metrics import Task
from rasad.monitoring import (
    ChunkStatus,
    FixedThreshold,
    StdThreshold,
    track,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "performance.md"


def _classification(seed: int, n: int, flip: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    score = np.clip(0.5 + (y - 0.5) * 0.5 + rng.normal(0, 0.2, n), 0, 1)
    pred = (score >= 0.5).astype(int)
    flipped = rng.random(n) < flip
    return pd.DataFrame({"y": y, "score": score, "pred": np.where(flipped, 1 - pred, pred)})


def _regression(seed: int, n: int, noise: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame({"y": 3 + x + rng.normal(0, noise, n), "pred": 3 + x})


@pytest.fixture
def drifted() -> tuple[pd.DataFrame, pd.DataFrame]:
    reference = _classification(0, 4000, 0.0)
    current = pd.concat([_classification(1, 1000, 0.0), _classification(2, 1000, 0.3)],
                        ignore_index=True)
    return reference, current


def test_exports_match_all() -> None:
    # The package loads its names on first use (PEP 562): every name in __all__ resolves,
    # and nothing public is defined there beyond __all__ (tests/test_exports.py).
    for name in monitoring.__all__:
        assert getattr(monitoring, name) is not None, name
    with pytest.raises(AttributeError):
        monitoring.NoSuchName  # noqa: B018


def test_classification_metrics_are_sklearns_per_chunk(drifted) -> None:
    reference, current = drifted
    report = track(reference, current, task="classification", target="y", prediction="pred",
                   score="score", chunker=Chunker(size=500))
    assert report.metrics == ("accuracy", "precision", "recall", "f1", "roc_auc")
    assert [c.key for c in report.current] == ["[0:500]", "[500:1000]", "[1000:1500]",
                                               "[1500:2000]"]
    rows = current.iloc[1000:1500]
    got = report.current[2].metrics
    assert got["accuracy"].value == pytest.approx(skm.accuracy_score(rows.y, rows.pred))
    assert got["precision"].value == pytest.approx(skm.precision_score(rows.y, rows.pred))
    assert got["recall"].value == pytest.approx(skm.recall_score(rows.y, rows.pred))
    assert got["f1"].value == pytest.approx(skm.f1_score(rows.y, rows.pred))
    assert got["roc_auc"].value == pytest.approx(skm.roc_auc_score(rows.y, rows.score))


def test_regression_metrics_are_sklearns_per_chunk() -> None:
    reference, current = _regression(0, 2000, 0.5), _regression(1, 600, 1.5)
    report = track(reference, current, task="regression", target="y", prediction="pred",
                   chunker=Chunker(number=3))
    assert report.metrics == ("rmse", "mae", "mape", "r2")
    rows = current.iloc[200:400]
    got = report.current[1].metrics
    assert got["rmse"].value == pytest.approx(skm.root_mean_squared_error(rows.y, rows.pred))
    assert got["mae"].value == pytest.approx(skm.mean_absolute_error(rows.y, rows.pred))
    assert got["mape"].value == pytest.approx(
        skm.mean_absolute_percentage_error(rows.y, rows.pred))
    assert got["r2"].value == pytest.approx(skm.r2_score(rows.y, rows.pred))
    assert all(value.alert for value in got.values())


def test_thresholds_come_from_the_reference_chunks(drifted) -> None:
    reference, current = drifted
    report = track(reference, current, task="classification", target="y", prediction="pred",
                   score="score", chunker=Chunker(size=400))
    values = [c.metrics["f1"].value for c in report.reference]
    expected = StdThreshold().bounds(values).clip(0.0, 1.0)
    assert report.thresholds["f1"] == expected
    assert len(report.reference) == 10


def test_degraded_chunks_alert_and_clean_ones_do_not(drifted) -> None:
    reference, current = drifted
    # Flipped predictions leave the score, and so ROC AUC, unchanged: track the others.
    report = track(reference, current, task="classification", target="y", prediction="pred",
                   metrics=["accuracy", "precision", "recall", "f1"], chunker=Chunker(size=500))
    alerting = {alert.chunk for alert in report.alerts}
    assert alerting == {"[1000:1500]", "[1500:2000]"}
    assert report.current[3].metrics["accuracy"].alert
    assert not report.current[0].metrics["accuracy"].alert


def test_fixed_threshold() -> None:
    reference, current = _classification(0, 1000, 0.0), _classification(1, 1000, 0.2)
    report = track(reference, current, task="classification", target="y", prediction="pred",
                   metrics=["accuracy"], threshold=FixedThreshold(lower=0.9),
                   chunker=Chunker(number=2))
    assert report.thresholds["accuracy"].lower == 0.9
    assert [(a.chunk, a.metric) for a in report.alerts] == [("[0:500]", "accuracy"),
                                                           ("[500:1000]", "accuracy")]
    assert report.warnings == ()


def test_roc_auc_with_one_class_is_none_with_a_reason() -> None:
    reference = _classification(0, 1000, 0.0)
    current = _classification(1, 400, 0.0)
    current.loc[:199, "y"] = 1  # the first chunk holds positives only
    report = track(reference, current, task="classification", target="y", prediction="pred",
                   score="score", chunker=Chunker(size=200))
    first = report.current[0].metrics["roc_auc"]
    assert first.value is None and "both classes" in (first.reason or "")
    assert not first.alert
    assert report.current[1].metrics["roc_auc"].value is not None


def test_mape_with_a_zero_target_is_none_with_a_reason() -> None:
    reference, current = _regression(0, 500, 0.5), _regression(1, 100, 0.5)
    current.loc[3, "y"] = 0.0
    report = track(reference, current, task="regression", target="y", prediction="pred",
                   chunker=Chunker(size=50))
    assert report.current[0].metrics["mape"].value is None
    assert "0" in (report.current[0].metrics["mape"].reason or "")
    assert report.current[1].metrics["mape"].value is not None


def test_missing_labels_are_left_out_and_counted() -> None:
    reference = _classification(0, 1000, 0.0)
    current = _classification(1, 300, 0.0).astype({"y": "float64"})
    current.loc[0:99, "y"] = np.nan        # chunk 1: no labels yet
    current.loc[100:179, "y"] = np.nan     # chunk 2: 20 labels
    current.loc[200:209, "y"] = np.nan     # chunk 3: 90 labels
    report = track(reference, current, task="classification", target="y", prediction="pred",
                   chunker=Chunker(size=100))
    statuses = [(c.status, c.labelled_rows) for c in report.current]
    assert statuses == [(ChunkStatus.NO_LABELS, 0), (ChunkStatus.TOO_FEW_ROWS, 20),
                        (ChunkStatus.OK, 90)]
    assert report.current[1].metrics["f1"].value is None
    assert "20 labelled rows" in (report.current[1].reason or "")
    rows = current.iloc[210:300]
    assert report.current[2].metrics["accuracy"].value == pytest.approx(
        skm.accuracy_score(rows.y.astype(int), rows.pred))


def test_string_and_boolean_labels_use_the_second_sorted_class() -> None:
    frame = _classification(0, 800, 0.1)
    text = frame.assign(y=np.where(frame.y == 1, "yes", "no"),
                        pred=np.where(frame.pred == 1, "yes", "no"))
    boolean = frame.assign(y=frame.y.astype(bool), pred=frame.pred.astype(bool))
    reports = [track(f, f, task="classification", target="y", prediction="pred", score="score",
                     chunker=Chunker(number=2)) for f in (frame, text, boolean)]
    values = [[c.metrics["precision"].value for c in r.current] for r in reports]
    assert values[0] == values[1] == values[2]


def test_multiclass_tracks_macro_metrics_without_a_score() -> None:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"y": rng.integers(0, 3, 600)})
    frame["pred"] = np.where(rng.random(600) < 0.7, frame.y, rng.integers(0, 3, 600))
    report = track(frame, frame, task="classification", target="y", prediction="pred",
                   chunker=Chunker(number=3))
    assert report.metrics == ("accuracy", "precision", "recall", "f1")
    rows = frame.iloc[:200]
    assert report.current[0].metrics["f1"].value == pytest.approx(
        skm.f1_score(rows.y, rows.pred, average="macro"))


def test_period_chunks_carry_their_time_span() -> None:
    frame = _classification(0, 90, 0.0).assign(
        t=pd.date_range("2025-01-01", periods=90, freq="D"))
    report = track(frame, frame, task="classification", target="y", prediction="pred",
                   chunker=Chunker(period=Period.MONTH, time_column="t"))
    assert [c.key for c in report.current] == ["2025-01", "2025-02", "2025-03"]
    assert report.current[1].start == "2025-02-01T00:00:00"
    assert report.chunking["period"] == "month"
    # February has 28 rows, under MIN_CHUNK_ROWS: a status, not a value.
    assert [c.status for c in report.current] == [ChunkStatus.OK, ChunkStatus.TOO_FEW_ROWS,
                                                  ChunkStatus.OK]
    assert report.warnings and "only 2 usable reference chunk(s)" in report.warnings[0]


def test_report_to_dict_is_strict_json(drifted) -> None:
    reference, current = drifted
    current = current.copy()
    current.loc[:99, "y"] = 1
    report = track(reference, current, task="classification", target="y", prediction="pred",
                   score="score", chunker=Chunker(size=100))
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert data["kind"] == "performance_tracking"
    assert data["current"][0]["metrics"]["roc_auc"]["value"] is None
    assert data["summary"]["chunks"] == 20
    assert data["summary"]["alerts"] == len(data["alerts"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r, c: (r.iloc[:0], c), "reference data has no rows"),
        (lambda r, c: (r, c.iloc[:0]), "current data has no rows"),
        (lambda r, c: (r, c.drop(columns="pred")), "no column\\(s\\) 'pred'; its columns are"),
        (lambda r, c: (r, c.assign(score=c.score * 3)), "outside \\[0, 1\\]"),
        (lambda r, c: (r, c.assign(pred=c.pred.astype(float).where(c.index > 5))),
         "missing prediction"),
        (lambda r, c: (r.assign(y=np.nan), c), "holds no labels"),
        (lambda r, c: (r, c.assign(score=c.score.astype(str).where(c.index > 0, "high"))),
         "not numbers"),
    ],
)
def test_bad_input_is_an_input_error(drifted, change, message) -> None:
    reference, current = change(*drifted)
    with pytest.raises(InputError, match=message):
        track(reference, current, task="classification", target="y", prediction="pred",
              score="score")


def test_metric_needing_a_score_without_one_is_an_input_error(drifted) -> None:
    with pytest.raises(InputError, match="roc_auc need\\(s\\) the predicted probability"):
        track(*drifted, task="classification", target="y", prediction="pred",
              metrics=["f1", "roc_auc"])


def test_score_with_multiclass_is_an_input_error() -> None:
    frame = pd.DataFrame({"y": [0, 1, 2] * 20, "pred": [0, 1, 2] * 20, "s": [0.5] * 60})
    with pytest.raises(InputError, match="binary task"):
        track(frame, frame, task="classification", target="y", prediction="pred", score="s")


def test_text_in_a_regression_target_is_an_input_error() -> None:
    frame = _regression(0, 100, 1.0).astype({"y": object})
    frame.loc[4, "y"] = "n/a"
    with pytest.raises(InputError, match="1 value\\(s\\) that are not numbers"):
        track(frame, frame, task="regression", target="y", prediction="pred")


def test_unknown_task_or_metric_is_an_input_error(drifted) -> None:
    with pytest.raises(InputError, match="Unknown task"):
        track(*drifted, task="ranking", target="y", prediction="pred")
    with pytest.raises(InputError, match="not available for classification"):
        track(*drifted, task="classification", target="y", prediction="pred", metrics=["rmse"])
    with pytest.raises(InputError, match="min_chunk_rows"):
        track(*drifted, task="classification", target="y", prediction="pred", min_chunk_rows=0)


def test_docs_examples_run_and_print_what_they_say(capsys) -> None:
    # Every ```python block of docs/performance.md runs, in order, in one namespace, and
    # prints exactly its "# ..." comment lines (whitespace aside: the docs wrap lines).
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(), flags=re.DOTALL)
    assert len(blocks) >= 5
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(DOCS), "exec"), namespace)  # noqa: S102
        expected = " ".join(line[2:] for line in block.splitlines() if line.startswith("# "))
        assert capsys.readouterr().out.split() == expected.split()


# --- the JSON form: typed reports, and reports stored by earlier versions ---------------------

# A report as `PerformanceReport.to_dict()` wrote it before reports were pydantic models
# (figures rounded to 4 places): what blobs saved by rasad 0.x hold.
_NO_LABELS = {"metric": "accuracy", "value": None, "alert": False,
              "reason": "no labelled rows in this chunk"}
OLD_TRACKING_PAYLOAD = {
    "kind": "performance_tracking", "task": "classification", "metrics": ["accuracy", "f1"],
    "chunking": {"size": 100, "number": None, "period": None, "time_column": None},
    "threshold": {"method": "std", "multiplier": 3.0},
    "thresholds": {"accuracy": {"lower": 0.63, "upper": 0.9, "method": "std", "reason": None},
                   "f1": {"lower": 0.6319, "upper": 0.8962, "method": "std", "reason": None}},
    "summary": {"chunks": 2, "chunks_ok": 1, "chunks_alerting": 1, "alerts": 2},
    "alerts": [{"chunk": "[0:100]", "metric": "accuracy"}, {"chunk": "[0:100]", "metric": "f1"}],
    "reference": [
        {"key": "[0:100]", "start": None, "end": None, "rows": 100, "labelled_rows": 100,
         "status": "ok", "reason": None, "metrics": {
             "accuracy": {"metric": "accuracy", "value": 0.72, "alert": False, "reason": None},
             "f1": {"metric": "f1", "value": 0.72, "alert": False, "reason": None}}},
        {"key": "[100:200]", "start": None, "end": None, "rows": 100, "labelled_rows": 100,
         "status": "ok", "reason": None, "metrics": {
             "accuracy": {"metric": "accuracy", "value": 0.81, "alert": False, "reason": None},
             "f1": {"metric": "f1", "value": 0.8081, "alert": False, "reason": None}}}],
    "current": [
        {"key": "[0:100]", "start": None, "end": None, "rows": 100, "labelled_rows": 100,
         "status": "ok", "reason": None, "metrics": {
             "accuracy": {"metric": "accuracy", "value": 0.94, "alert": True, "reason": None},
             "f1": {"metric": "f1", "value": 0.9677, "alert": True, "reason": None}}},
        {"key": "[100:120]", "start": None, "end": None, "rows": 20, "labelled_rows": 0,
         "status": "no_labels", "reason": "no labelled rows in this chunk", "metrics": {
             "accuracy": _NO_LABELS, "f1": {**_NO_LABELS, "metric": "f1"}}}],
    "warnings": ["only 2 usable reference chunk(s); thresholds from the spread of fewer than "
                 "6 chunks are unreliable: use more reference data, smaller chunks, or a "
                 "FixedThreshold"],
}


def test_an_old_payload_loads_into_the_typed_report_and_round_trips() -> None:
    report = monitoring.PerformanceReport.from_dict(OLD_TRACKING_PAYLOAD)
    assert report.task is Task.CLASSIFICATION and report.metrics == ("accuracy", "f1")
    assert report.thresholds["f1"] == monitoring.Bounds(lower=0.6319, upper=0.8962,
                                                       method="std")
    assert report.current[1].status is ChunkStatus.NO_LABELS
    assert report.current[0].metrics["f1"] == monitoring.MetricValue(metric="f1", value=0.9677,
                                                                     alert=True)
    # Summary and alerts are derived, and agree with what was stored.
    assert report.summary == monitoring.ChunkSummary(chunks=2, chunks_ok=1, chunks_alerting=1,
                                                     alerts=2)
    assert [(a.chunk, a.metric) for a in report.alerts] == [("[0:100]", "accuracy"),
                                                            ("[0:100]", "f1")]
    assert report.to_dict() == OLD_TRACKING_PAYLOAD
    assert monitoring.PerformanceReport.from_json(report.to_json()) == report


def test_the_json_is_todays_key_for_key(drifted) -> None:
    report = track(*drifted, task="classification", target="y", prediction="pred",
                   score="score", chunker=Chunker(size=500))
    data = report.to_dict()
    assert list(data) == ["kind", "task", "metrics", "chunking", "threshold", "thresholds",
                          "reference", "current", "warnings", "summary", "alerts"]
    assert list(data["current"][0]) == ["key", "start", "end", "rows", "labelled_rows",
                                        "status", "reason", "metrics"]
    assert list(data["current"][0]["metrics"]["f1"]) == ["metric", "value", "alert", "reason"]
    assert data["chunking"] == {"size": 500, "number": None, "period": None,
                                "time_column": None}
    assert data["threshold"] == {"method": "std", "multiplier": 3.0}
    # Stored blobs are canonical JSON, keys sorted: the report and its alerts read back alike.
    stored = json.loads(json.dumps(data, sort_keys=True))
    again = monitoring.PerformanceReport.from_dict(stored)
    assert again == report and again.alerts == report.alerts and again.to_dict() == data


def test_reports_are_immutable(drifted) -> None:
    report = track(*drifted, task="classification", target="y", prediction="pred")
    with pytest.raises(ValidationError, match="frozen"):
        report.task = Task.REGRESSION  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        report.current[0].metrics["f1"].value = 1.0  # type: ignore[misc]
