"""compare(): the report on a model's primary, canary and shadow, from a hand-built
prediction log written by the real writer, checked figure by figure against scikit-learn
and numpy over the same rows (SQLite and PostgreSQL: the task comes from the registry)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import (
    accuracy_score,
    mean_absolute_error,
    mean_squared_error,
    roc_auc_score,
)

from rasad import Project
from rasad.config import PredictionLogConfig
from rasad.errors import InputError, NotFoundError
from rasad.serving.compare import ServingComparison, compare
from rasad.serving.predlog import PredictionLog
from rasad.serving.records import Feedback, Scored
from tests.registry._helpers import registered

START = datetime(2026, 5, 4, tzinfo=UTC)
ENV = "production"
SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
"""The registry is read once per report: one test on both backends is enough."""


@dataclass
class Sent:
    """What was written to the log, row by row, to compute the report by hand."""

    rows: list[dict[str, object]] = field(default_factory=list)
    labels: dict[tuple[str, int], float] = field(default_factory=dict)

    def frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(self.rows)
        frame["label"] = [self.labels.get((r, i), np.nan)
                          for r, i in zip(frame["request_id"], frame["row"], strict=True)]
        return frame


def write(project: Project, model: str, *, regression: bool = False, seed: int = 11) -> Sent:
    """400 requests: a quarter answered by the canary (v2), the rest by the primary (v1),
    every fifth of three rows, half with scores; a shadow (v3) beside each answer but the
    last ten, plus ten shadow rows whose answer is not logged; labels for two in three."""
    rng = np.random.default_rng(seed)
    log = PredictionLog.open(project.context, ENV, PredictionLogConfig())
    sent = Sent()

    def submit(request: str, at: float, version: int, role: str, outputs: np.ndarray,
               scores: np.ndarray | None, latency: float) -> None:
        inputs = pd.DataFrame({"income": rng.normal(4000, 500, len(outputs))})
        assert log.submit(Scored(request, at, model, version, role, inputs,  # type: ignore[arg-type]
                                 outputs, scores, latency))
        for row, value in enumerate(outputs):
            sent.rows.append({"request_id": request, "row": row, "time": at,
                              "version": version, "role": role, "prediction": value,
                              "score": np.nan if scores is None else scores[row],
                              "latency_ms": latency})

    for i in range(410):
        request, at = f"r{i}", START.timestamp() + i
        n = 3 if i % 5 == 0 else 1
        canary = i % 4 == 0
        if regression:
            answer = rng.normal(100.0, 20.0, n)
            scores = None
        else:
            answer = rng.integers(0, 2, n)
            scores = rng.random(n) if i % 2 == 0 else None
        if i < 400:
            submit(request, at, 2 if canary else 1, "canary" if canary else "primary",
                   answer, scores, float(rng.gamma(2.0, 0.4 if canary else 0.3)))
        if 390 <= i < 400:  # no shadow for these; r400..r409 are shadows without answer
            continue
        if regression:
            mine = answer + rng.normal(0.0, 3.0, n)
            shadow_scores = None
        else:
            flip = rng.random(n) < 0.2
            mine = np.where(flip, 1 - answer, answer)
            shadow_scores = np.clip((scores if scores is not None else rng.random(n))
                                    + rng.normal(0, 0.05, n), 0, 1)
        submit(request, at, 3, "shadow", mine, shadow_scores, float(rng.gamma(2.0, 0.5)))
        if i % 3 and i < 400:
            labels = rng.normal(100.0, 20.0, n) if regression else rng.integers(0, 2, n)
            assert log.submit_feedback(Feedback(request, at + 30, model, tuple(range(n)),
                                                tuple(labels.tolist())))
            sent.labels.update({(request, row): float(v) for row, v in enumerate(labels)})
    log.close()
    return sent


def by_hand(sent: pd.DataFrame, role: str, version: int, regression: bool
            ) -> dict[str, object]:
    rows = sent[(sent["role"] == role) & (sent["version"] == version)]
    requests = rows.drop_duplicates("request_id")
    p50, p99 = np.percentile(requests["latency_ms"], [50, 99])
    labelled = rows[rows["label"].notna()]
    found: dict[str, object] = {"requests": len(requests), "rows": len(rows),
                                "p50": p50, "p99": p99, "labelled": len(labelled)}
    if regression:
        found["mae"] = mean_absolute_error(labelled["label"], labelled["prediction"])
        found["rmse"] = mean_squared_error(labelled["label"], labelled["prediction"]) ** 0.5
        found["p95"] = np.percentile(rows["prediction"], 95)
        found["mean"] = rows["prediction"].mean()
        return found
    found["accuracy"] = accuracy_score(labelled["label"], labelled["prediction"])
    scored = labelled[labelled["score"].notna()]
    found["scored"] = len(scored)
    found["roc_auc"] = roc_auc_score(scored["label"], scored["score"])
    found["labels"] = {str(k): int(v) for k, v in rows["prediction"].value_counts().items()}
    return found


@pytest.fixture
def versions(project: Project) -> Project:
    """credit@1, @2 and @3 in the registry: classifiers."""
    registered(project, versions=3)
    return project


def check(report: ServingComparison, sent: pd.DataFrame, *, regression: bool) -> None:
    answered = sent[sent["role"] != "shadow"].drop_duplicates("request_id")
    assert report.requests == len(answered)
    assert [(v.role, v.version) for v in report.versions] == [
        ("primary", 1), ("canary", 2), ("shadow", 3)]
    for found in report.versions:
        want = by_hand(sent, found.role, found.version, regression)
        assert (found.requests, found.rows, found.labelled) == (
            want["requests"], want["rows"], want["labelled"])
        assert found.latency_p50_ms == pytest.approx(want["p50"], rel=1e-12)
        assert found.latency_p99_ms == pytest.approx(want["p99"], rel=1e-12)
        if found.role == "shadow":
            assert found.answered_share is None
        else:
            assert found.answered_share == pytest.approx(want["requests"] / len(answered))
        if regression:
            assert found.task == "regression" and found.labels is None
            assert found.metrics["mae"] == pytest.approx(want["mae"], rel=1e-12)
            assert found.metrics["rmse"] == pytest.approx(want["rmse"], rel=1e-12)
            assert found.values is not None
            assert found.values.p95 == pytest.approx(want["p95"], rel=1e-12)
            assert found.values.mean == pytest.approx(want["mean"], rel=1e-12)
        else:
            assert found.task == "classification" and found.values is None
            assert found.labels == want["labels"]
            assert found.metrics["accuracy"] == pytest.approx(want["accuracy"], rel=1e-12)
            assert found.scored_labelled == want["scored"]
            assert found.metrics["roc_auc"] == pytest.approx(want["roc_auc"], rel=1e-12)


def agreement_by_hand(sent: pd.DataFrame, against: int) -> dict[str, float]:
    shadow = sent[sent["role"] == "shadow"]
    answers = sent[(sent["role"] != "shadow") & (sent["version"] == against)]
    joined = shadow.merge(answers, on=["request_id", "row"], suffixes=("_s", ""))
    both = joined[joined["score_s"].notna() & joined["score"].notna()]
    return {"rows": len(joined),
            "equal": float((joined["prediction_s"] == joined["prediction"]).mean()),
            "score_rows": len(both),
            "score_diff": float((both["score_s"] - both["score"]).abs().mean())
            if len(both) else float("nan"),
            "prediction_diff": float((joined["prediction_s"] - joined["prediction"])
                                     .abs().mean())}


def test_the_report_matches_a_hand_computation(versions: Project) -> None:
    sent = write(versions, "credit").frame()
    report = versions.compare_serving("credit", ENV)
    assert report == compare(versions.context, "credit", ENV)
    check(report, sent, regression=False)
    assert [(a.shadow_version, a.against_role, a.against_version)
            for a in report.agreement] == [(3, "primary", 1), (3, "canary", 2)]
    for found in report.agreement:
        want = agreement_by_hand(sent, found.against_version)
        assert (found.rows, found.score_rows) == (want["rows"], want["score_rows"])
        assert found.agreement == pytest.approx(want["equal"], rel=1e-12)
        assert found.mean_abs_score_difference == pytest.approx(want["score_diff"], rel=1e-12)
        assert found.mean_abs_prediction_difference is None
    assert report.unmatched_shadow_rows == len(sent[sent["request_id"].isin(
        [f"r{i}" for i in range(400, 410)])])
    assert report.canary_share is None  # not configured in this project
    # One JSON form, read back whole.
    assert ServingComparison.from_json(report.to_json()) == report


@SQLITE
def test_a_window_counts_only_its_requests(versions: Project) -> None:
    sent = write(versions, "credit").frame()
    since, until = START + timedelta(seconds=100), START + timedelta(seconds=300)
    report = versions.compare_serving("credit", ENV, since=since, until=until)
    assert (report.since, report.until) == ("2026-05-04T00:01:40Z", "2026-05-04T00:05:00Z")
    inside = sent[(sent["time"] >= since.timestamp()) & (sent["time"] < until.timestamp())]
    check(report, inside, regression=False)


@SQLITE
def test_a_regressor_reports_mae_and_its_distribution(versions: Project) -> None:
    # A model the registry does not know: its task is read from its predictions.
    sent = write(versions, "price", regression=True, seed=3).frame()
    report = compare(versions.context, "price", ENV)
    check(report, sent, regression=True)
    for found in report.agreement:
        want = agreement_by_hand(sent, found.against_version)
        assert found.mean_abs_prediction_difference == pytest.approx(want["prediction_diff"],
                                                                     rel=1e-12)
        assert found.mean_abs_score_difference is None and found.score_rows == 0


@SQLITE
def test_without_feedback_the_metrics_are_empty(versions: Project) -> None:
    log = PredictionLog.open(versions.context, ENV, PredictionLogConfig())
    frame = pd.DataFrame({"income": [1.0, 2.0]})
    log.submit(Scored("a", START.timestamp(), "credit", 1, "primary", frame,
                      np.array([0, 1]), None, 0.5))
    log.close()
    report = compare(versions.context, "credit", ENV)
    [primary] = report.versions
    assert (primary.labelled, primary.metrics) == (0, {"accuracy": None, "roc_auc": None})
    assert report.agreement == [] and report.unmatched_shadow_rows == 0


@SQLITE
def test_refusals_name_the_problem(versions: Project) -> None:
    with pytest.raises(NotFoundError, match="No environment 'prod'"):
        compare(versions.context, "credit", "prod")
    with pytest.raises(InputError, match="no predictions of model 'credit'"):
        compare(versions.context, "credit", ENV)
    with pytest.raises(InputError, match="before it starts"):
        compare(versions.context, "credit", ENV, since=START, until=START - timedelta(1))
