"""Performance tracking and estimation on a project's datasets, stored with an audit event.

The project-level tests call the Project verbs (``track_performance``,
``estimate_performance``, ``monitor_results``, ``performance_report``), so they also run
through the API (conftest's http backend); a raw drift result, which only a check may save
over the server, is saved on the project behind it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rasad import Project
from rasad.drift.chunking import Chunker
from rasad.errors import InputError, NotFoundError
from rasad.monitoring import (
    EstimationReport,
    FixedThreshold,
    PerformanceReport,
    estimate,
    estimate_regression,
    track,
)
from rasad.monitoring.results import MonitorKind, load_payload, save_result
from rasad.monitoring.tracking import estimate_frames, stored_report
from tests._http import local

CLASSIFIER = {"target": "default", "prediction": "decision", "score": "score"}

pytestmark = pytest.mark.over_http


def _applications(seed: int, rows: int, shift: float) -> pd.DataFrame:
    """A calibrated score, a decision at 0.5 and the outcome; ``shift`` moves x only."""
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1.0, rows)
    score = 1 / (1 + np.exp(-2 * x))
    return pd.DataFrame({"x": x, "default": (rng.random(rows) < score).astype(int),
                         "score": score, "decision": (score >= 0.5).astype(int)})


def _claims(seed: int, rows: int, shift: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1.0, rows)
    return pd.DataFrame({"x": x, "amount": 100 + 20 * x + rng.normal(0, 5 + 5 * np.abs(x), rows),
                         "predicted": 100 + 20 * x})


@pytest.fixture
def loans(project: Project) -> Project:
    """apps@1 (the labelled reference) and apps@2 (shifted applicants, half unlabelled)."""
    project.add_dataset(_applications(0, 3000, 0.0), "apps")
    current = _applications(1, 1500, 1.2)
    current.loc[750:, "default"] = np.nan  # labels not in yet for the later half
    project.add_dataset(current, "apps")
    return project


def _events(project: Project) -> int:
    return len(project.audit_log())


def test_track_saves_the_report_with_its_audit_event(loans: Project) -> None:
    checked = loans.track_performance("apps@1", "apps", **CLASSIFIER,
                                      chunker=Chunker(size=250), save=True, monitor="credit")
    # The same figures as the engine on the same rows.
    expected = track(loans.load_dataset("apps", 1), loans.load_dataset("apps", 2),
                     task="classification", **CLASSIFIER, chunker=Chunker(size=250))
    assert checked.report == expected
    assert (checked.reference, checked.current) == ("apps@1", "apps@2")
    assert [c.status for c in checked.report.current].count("no_labels") == 3
    assert checked.report.alerts, "shifted applicants move the metrics"

    [saved] = loans.monitor_results(kind="performance")
    assert saved == checked.saved
    assert loans.monitor_results(kind="estimation") == []
    assert (saved.monitor, saved.kind, saved.reference, saved.current, saved.alert) == (
        "credit", MonitorKind.PERFORMANCE, "apps@1", "apps@2", True)
    summary = checked.report.summary
    assert saved.summary == {
        "task": "classification", "metrics": list(expected.metrics),
        "chunks": summary.chunks, "chunks_ok": summary.chunks_ok,
        "chunks_alerting": summary.chunks_alerting, "alerts": summary.alerts,
        "alerting_metrics": sorted({a.metric for a in expected.alerts})}

    # The stored blob is the report's JSON, and reads back into the same typed report.
    payload = loans.monitor_report(saved.id)
    assert payload == expected.to_dict() == load_payload(local(loans), saved)
    assert PerformanceReport.from_dict(payload) == expected
    assert loans.performance_report(saved) == expected
    assert loans.performance_report(saved).alerts == expected.alerts  # from sorted-key JSON

    [event] = loans.audit_log(action="monitor.result")
    assert (event.subject, event.actor) == ("monitor:credit", "tester")
    assert event.details["kind"] == "performance"
    assert event.details["result_sha256"] == saved.blob
    assert event.details["summary"] == saved.summary
    assert loans.verify_audit().ok


def test_estimate_saves_an_estimation_result(loans: Project) -> None:
    reference = loans.dataset("apps", 1)  # a version object works as well as its reference
    checked = loans.estimate_performance(reference, "apps@2", **CLASSIFIER,
                                         chunker=Chunker(size=250), save=True)
    expected = estimate(loans.load_dataset("apps", 1), loans.load_dataset("apps", 2),
                        **CLASSIFIER, chunker=Chunker(size=250))
    assert checked.report == expected
    # Realized values where labels arrived, estimates everywhere.
    assert [c.metrics["accuracy"].realized is None for c in expected.current] == \
        [False] * 3 + [True] * 3
    assert all(c.metrics["accuracy"].estimate is not None for c in expected.current)

    [saved] = loans.monitor_results(kind=MonitorKind.ESTIMATION)
    assert (saved.monitor, saved.reference, saved.current) == ("estimation", "apps@1", "apps@2")
    assert saved.alert is bool(expected.alerts)
    assert saved.summary["method"] == "cbpe"
    loaded = loans.performance_report(saved)
    assert isinstance(loaded, EstimationReport) and loaded == expected
    assert loaded.estimation_error == expected.estimation_error
    [event] = loans.audit_log(action="monitor.result")
    assert event.details["kind"] == "estimation" and event.details["result_sha256"] == saved.blob


def test_regression_estimation_on_datasets(project: Project) -> None:
    project.add_dataset(_claims(0, 1000, 0.0), "claims")
    project.add_dataset(_claims(1, 600, 1.0).drop(columns="amount"), "claims")
    checked = project.estimate_performance("claims@1", "claims@2", task="regression",
                                           target="amount", prediction="predicted",
                                           features=["x"], chunker=Chunker(size=200),
                                           save=True, monitor="claims")
    expected = estimate_regression(project.load_dataset("claims", 1),
                                   project.load_dataset("claims", 2), target="amount",
                                   prediction="predicted", features=["x"],
                                   chunker=Chunker(size=200))
    assert checked.report == expected and checked.report.method == "dle"
    [saved] = project.monitor_results(monitor="claims")
    assert saved.kind is MonitorKind.ESTIMATION and saved.summary["method"] == "dle"
    assert project.performance_report(saved) == expected


def test_without_save_nothing_is_stored(loans: Project) -> None:
    before = _events(loans)
    checked = loans.track_performance("apps@1", "apps@2", **CLASSIFIER,
                                      threshold=FixedThreshold(lower=0.5))
    assert checked.saved is None
    assert checked.report.thresholds["accuracy"].lower == 0.5
    estimated = loans.estimate_performance("apps@1", "apps@2", **CLASSIFIER)
    assert estimated.saved is None
    assert loans.monitor_results() == [] and _events(loans) == before


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda p: p.track_performance("apps@1", "nope", **CLASSIFIER, save=True),
     NotFoundError, "No dataset named 'nope'. Known datasets: apps."),
    (lambda p: p.estimate_performance("apps@1", "apps@7", **CLASSIFIER, save=True),
     NotFoundError, "Dataset 'apps' has no version 7; versions are 1, 2."),
    (lambda p: p.track_performance("apps@1", "apps@x", **CLASSIFIER, save=True),
     InputError, "'apps@x': the version after '@' must be a positive whole number"),
    (lambda p: p.track_performance("apps@1", "apps@2", target="outcome",
                                   prediction="decision", save=True),
     InputError, "has no column(s) 'outcome'"),
    (lambda p: p.estimate_performance("apps@1", "apps@2", target="outcome",
                                      prediction="decision", score="score", save=True),
     InputError, "has no column(s) 'outcome'"),
    (lambda p: p.estimate_performance("apps@1", "apps@2", target="default",
                                      prediction="decision", save=True),
     InputError, "needs a score column"),
    (lambda p: p.track_performance("apps@1", "apps@2", **CLASSIFIER, save=True,
                                   monitor="no good"),
     InputError, "Monitor name 'no good' is not allowed"),
])
def test_bad_input_is_refused_and_nothing_is_stored(loans: Project, call, error, message) -> None:
    before = _events(loans)
    with pytest.raises(error) as caught:
        call(loans)
    assert message in str(caught.value)
    assert loans.monitor_results() == []
    assert _events(loans) == before


def test_a_drift_result_is_not_a_performance_report(loans: Project) -> None:
    # Saved raw on the project behind the API (only a check saves over it), read back
    # through the verb.
    here = local(loans)
    saved = save_result(here.context, monitor="credit", kind="drift", reference="apps@1",
                        current="apps@2", alert=False, summary={}, payload={"drift": {}})
    with pytest.raises(InputError, match="is a drift result, not a performance or estimation"):
        stored_report(here.context, saved)
    with pytest.raises(InputError, match="is a drift result, not a performance or estimation"):
        loans.performance_report(loans.monitor_result(saved.id))


def test_estimate_frames_picks_the_estimator_and_names_what_it_needs() -> None:
    reference, current = _applications(0, 2000, 0.0), _applications(1, 1000, 0.5)
    assert estimate_frames(reference, current, **CLASSIFIER).method == "cbpe"
    adaptive = estimate_frames(reference, current, **CLASSIFIER, features=["x"])
    assert adaptive.calibration is not None and adaptive.calibration.adaptive
    claims = _claims(0, 600, 0.0)
    assert estimate_frames(claims, claims, task="regression", target="amount",
                           prediction="predicted", features=["x"]).method == "dle"
    with pytest.raises(InputError, match="needs the model's input columns"):
        estimate_frames(claims, claims, task="regression", target="amount",
                        prediction="predicted")
    with pytest.raises(InputError, match="'ranking'"):
        estimate_frames(reference, current, task="ranking", **CLASSIFIER)
