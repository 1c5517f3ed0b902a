"""The prediction log as the current data of performance tracking and drift checks
(``Project.track_performance`` and ``Project.check_drift`` with a ``LogWindow``).

Local only, not through the API: the log is written here with the project's context, and
a :class:`~rasad.remote.RemoteProject` refuses a ``LogWindow`` (the log is read where its
segments are; the server's checks take dataset versions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from rasad import Project
from rasad.config import PredictionLogConfig
from rasad.drift import Chunker
from rasad.errors import InputError
from rasad.monitoring.results import list_results, load_payload
from rasad.serving.predlog import LogWindow, PredictionLog, read_log
from rasad.serving.records import Feedback, Scored
from tests.registry._helpers import FEATURES, portfolio, registered

START = datetime(2026, 5, 4, tzinfo=UTC).timestamp()


def applications(rng: np.random.Generator, rows: int, shift: float) -> pd.DataFrame:
    """A calibrated score, a decision at 0.5 and the outcome (as in tests/cli)."""
    x = rng.normal(shift, 1.0, rows)
    score = 1 / (1 + np.exp(-2 * x))
    return pd.DataFrame({"x": x, "default": (rng.random(rows) < score).astype(int),
                         "score": score, "decision": (score >= 0.5).astype(int)})


def log_applications(project: Project, frame: pd.DataFrame, *, labelled: float = 0.8,
                     seed: int = 3) -> None:
    """One request per row, a second apart; feedback for a ``labelled`` share of them."""
    rng = np.random.default_rng(seed)
    log = PredictionLog.open(project.context, "production",
                             PredictionLogConfig(flush_seconds=300.0))
    for i, row in enumerate(frame.itertuples(index=False)):
        log.submit(Scored(f"q{i}", START + i, "credit", 1, "primary",
                          pd.DataFrame({"x": [row.x]}), np.array([row.decision]),
                          np.array([row.score]), 0.2))
        if rng.random() < labelled:
            log.submit_feedback(Feedback(f"q{i}", START + i + 3600, "credit", (0,),
                                         (int(row.default),)))
    log.close()


def by_hand(frame: pd.DataFrame) -> dict[str, float]:
    y, p = frame["label"].astype(int), frame["prediction"]
    return {"accuracy": skm.accuracy_score(y, p), "precision": skm.precision_score(y, p),
            "recall": skm.recall_score(y, p), "f1": skm.f1_score(y, p),
            "roc_auc": skm.roc_auc_score(y, frame["score"])}


def test_performance_from_the_log_equals_sklearn(project: Project) -> None:
    rng = np.random.default_rng(7)
    project.add_dataset(applications(rng, 3000, 0.0), "apps")
    log_applications(project, applications(rng, 1500, 1.2))
    window = LogWindow("credit", "production")
    checked = project.track_performance("apps", window, target="default", prediction="decision",
                                        score="score", chunker=Chunker(size=500), save=True,
                                        monitor="credit-live")
    report = checked.report
    logged = read_log(project.context, "credit")
    assert checked.current == window.ref == "log:credit@production[..]"
    assert [(c.key, c.rows) for c in report.current] == \
        [(f"[{i}:{i + 500}]", 500) for i in range(0, 1500, 500)]
    for chunk, start in zip(report.current, range(0, 1500, 500), strict=True):
        part = logged.iloc[start:start + 500]
        known = part[part["label"].notna()]
        assert chunk.labelled_rows == len(known) < 500
        for metric, expected in by_hand(known).items():
            assert chunk.metrics[metric].value == pytest.approx(expected, abs=1e-12), metric
    [saved] = list_results(project.context, kind="performance")
    assert (saved.monitor, saved.reference, saved.current) == \
        ("credit-live", "apps@1", "log:credit@production[..]")
    assert load_payload(project.context, saved) == report.to_dict()


def test_a_window_of_the_log_chunked_by_day(project: Project) -> None:
    rng = np.random.default_rng(8)
    reference = applications(rng, 3000, 0.0)
    project.add_dataset(reference.assign(
        time=pd.date_range("2026-01-01", periods=3000, freq="h", tz="UTC")), "apps")
    log_applications(project, applications(rng, 2880, 0.0))
    # Requests a second apart over 48 minutes: one day, so one chunk of the window.
    since = datetime.fromtimestamp(START, UTC) + timedelta(minutes=10)
    checked = project.track_performance(
        "apps", LogWindow("credit", since=since), target="default", prediction="decision",
        chunker=Chunker(period="day", time_column="time"))
    [chunk] = checked.report.current
    assert chunk.rows == 2880 - 600 and chunk.start is not None
    assert chunk.start.startswith("2026-05-04")


def test_drift_of_the_logged_inputs_against_the_training_data(project: Project) -> None:
    [model] = registered(project)
    shifted = portfolio(seed=11)[FEATURES].head(400)
    shifted["income"] = shifted["income"] * 3
    log = PredictionLog.open(project.context, "production", PredictionLogConfig(
        flush_seconds=300.0, personal_data={"age": "mask"}))
    for i in range(0, 400, 4):
        rows = shifted.iloc[i:i + 4].reset_index(drop=True)
        log.submit(Scored(f"q{i}", START + i, "credit", model.version, "primary", rows,
                          np.zeros(4, dtype=int), None, 0.3))
    log.close()
    result = project.check_drift(None, LogWindow("credit"), save=True, monitor="inputs")
    assert (result.reference, result.current) == ("loans@1", "log:credit[..]")
    compared = {column.name for column in result.drift.columns}
    assert compared == {"income", "employment_type", "debt_to_income"}  # age is masked
    assert "income" in result.drift.drifted_columns
    assert result.saved is not None and result.saved.current == "log:credit[..]"
    # A reference of one's own, and the columns one names.
    own = project.check_drift(project.dataset("loans", 1), LogWindow("credit"),
                              columns=["debt_to_income"])
    assert [c.name for c in own.drift.columns] == ["debt_to_income"]
    with pytest.raises(InputError, match="age are masked in the prediction log"):
        project.check_drift(None, LogWindow("credit"), columns=["age", "income"])


def test_drift_needs_a_reference_when_the_run_recorded_no_training_data(
        project: Project) -> None:
    [model] = registered(project)
    with project.start_run() as run:  # a model logged by hand: no dataset on record
        run.log_model(project.load_model("credit"), portfolio()[FEATURES], target="default")
    hand = project.register(run.id, "credit")
    log = PredictionLog.open(project.context, "dev", PredictionLogConfig(flush_seconds=300.0))
    log.submit(Scored("q0", START, "credit", hand.version, "primary",
                      portfolio()[FEATURES].head(2), np.zeros(2), None, 0.1))
    log.close()
    with pytest.raises(InputError, match=r"credit@2 has no training dataset on record.*"
                                         r"rasad drift REFERENCE --from-log credit"):
        project.check_drift(None, LogWindow("credit"))
    assert model.version == 1
    with pytest.raises(InputError, match="needs reference data"):
        project.check_drift(None, project.dataset("loans", 1))


def test_no_log_is_a_clear_error_and_stores_nothing(project: Project) -> None:
    project.add_dataset(applications(np.random.default_rng(1), 300, 0.0), "apps")
    with pytest.raises(InputError, match="no predictions of model 'credit'"):
        project.track_performance("apps", LogWindow("credit"), target="default",
                                  prediction="decision", save=True)
    assert list_results(project.context) == []
