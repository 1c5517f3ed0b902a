"""``project.train``: from a dataset version to a stored, evaluated pipeline."""

from __future__ import annotations

from importlib import metadata

import pytest

from rasad import Project
from rasad.errors import InputError
from rasad.examples import generate_portfolio
from rasad.training import RunStatus

pytestmark = pytest.mark.over_http  # the project-level tests run through the API too

FEATURES = ["income", "employment_type", "debt_to_income", "age", "loan_term_months"]


@pytest.fixture
def loans(project: Project) -> Project:
    project.add_dataset(generate_portfolio(months=2, rows_per_month=300, seed=3), "loans")
    return project


def test_train_classifier_records_everything(loans: Project) -> None:
    result = loans.train(dataset="loans", target="default", features=FEATURES,
                         estimator="sklearn.linear_model.LogisticRegression",
                         params={"max_iter": 300}, seed=11, register_as="credit")
    run = result.run
    assert run.status is RunStatus.FINISHED
    assert set(run.metrics) == {"train", "validation", "test"}
    assert set(run.metrics["test"]) == {"accuracy", "precision", "recall", "f1", "roc_auc",
                                        "log_loss", "brier"}
    assert 0.5 < run.metrics["test"]["roc_auc"] <= 1.0
    assert run.params["split"]["method"] == "auto"
    assert run.params["split_sizes"] == {"train": 360, "validation": 120, "test": 120}
    assert run.datasets[0]["dataset"] == "loans@1"
    assert run.model_info and run.model_info["features"] == FEATURES
    assert run.model_info["classes"] == [0, 1]
    signature = run.model_info["signature"]
    assert [c["name"] for c in signature["columns"]] == FEATURES
    assert result.model_version is not None and result.model_version.ref == "credit@1"
    assert loans.model_version("credit").metrics["test"] == run.metrics["test"]


def test_same_seed_same_metrics(loans: Project) -> None:
    kwargs = dict(dataset="loans", target="default", features=FEATURES, seed=4,
                  estimator="sklearn.ensemble.RandomForestClassifier",
                  params={"n_estimators": 20})
    first = loans.train(**kwargs).run.metrics
    second = loans.train(**kwargs).run.metrics
    assert first == second


def test_default_features_skip_target_ids_time_and_text(loans: Project) -> None:
    run = loans.train(dataset="loans", target="default",
                      estimator="sklearn.linear_model.LogisticRegression",
                      params={"max_iter": 300}).run
    features = run.model_info["features"] if run.model_info else []
    assert "default" not in features
    assert "application_id" not in features  # an identifier
    assert "application_date" not in features  # a datetime
    assert {"income", "region", "gender"} <= set(features)


def test_regression_and_time_split(loans: Project) -> None:
    run = loans.train(dataset="loans", target="loan_amount", features=["income", "age"],
                      estimator="sklearn.linear_model.Ridge", split="time",
                      time_column="application_date").run
    assert set(run.metrics["test"]) == {"rmse", "mae", "r2", "mape"}
    assert run.params["split"]["method"] == "time"
    auto = loans.train(dataset="loans", target="loan_amount", features=["income", "age"],
                       estimator="sklearn.linear_model.Ridge").run
    assert auto.status is RunStatus.FINISHED  # auto split means random for regressors


@pytest.mark.parametrize("estimator", ["lightgbm.LGBMClassifier", "xgboost.XGBClassifier"])
def test_boosting_libraries(loans: Project, estimator: str) -> None:
    params = {"n_estimators": 20, "verbose": -1} if "lightgbm" in estimator else {
        "n_estimators": 20}
    result = loans.train(dataset="loans", target="default", features=FEATURES,
                         estimator=estimator, params=params, register_as="boost")
    # Recorded under the distribution that provides the module: xgboost-cpu on Linux.
    (dist, *_) = metadata.packages_distributions()[estimator.split(".")[0]]
    assert result.run.environment["packages"].get(dist) == metadata.version(dist)
    frame = loans.load_dataset("loans").drop(columns=["default"])
    scored = loans.predict("boost", frame.head(50), version=1)
    assert scored.frame is not None and len(scored.frame) == 50


@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"target": "nope"}, "Target 'nope' is not a column"),
    ({"target": "default", "features": ["income", "ghost"]}, "'ghost'"),
    ({"target": "default", "features": ["default"]}, "cannot also be a feature"),
    ({"target": "default", "estimator": "sklearn.linear_model.LogisticRegresion"},
     "LogisticRegression"),
    ({"target": "default", "estimator": "sklearn.linear_model.LogisticRegression",
      "params": {"max_itr": 3}}, "max_iter"),
    ({"target": "default", "split": "sideways"}, "split.method"),
    ({"target": "default", "features": ["application_date"]}, "cannot be used"),
])
def test_bad_options_fail_before_any_run(loans: Project, kwargs: dict, fragment: str) -> None:
    events = len(loans.audit_log())
    with pytest.raises(InputError, match=fragment):
        loans.train(dataset="loans", **kwargs)
    assert loans.runs() == []
    assert len(loans.audit_log()) == events


@pytest.mark.local_only(reason="makes the estimator crash inside this process")
def test_crash_during_fit_marks_run_failed(loans: Project) -> None:
    with pytest.raises(ValueError):
        loans.train(dataset="loans", target="default", features=FEATURES,
                    estimator="sklearn.neighbors.KNeighborsClassifier",
                    params={"n_neighbors": 10_000})  # fails once it meets the data
    (run,) = loans.runs()
    assert run.status is RunStatus.FAILED
    assert run.error and "ValueError" in run.error


def test_train_from_config(tmp_path, backend: str) -> None:  # type: ignore[no-untyped-def]
    config = """name: cfg
training:
  dataset: loans
  target: default
  features: [income, debt_to_income]
  estimator:
    class: sklearn.linear_model.LogisticRegression
    params: {max_iter: 200}
  register_as: from-config
"""
    with Project.init(tmp_path / "p", config_text=config) as project:
        project.add_dataset(generate_portfolio(months=1, rows_per_month=300, seed=1), "loans")
        result = project.train()
        assert result.model_version is not None
        assert result.model_version.ref == "from-config@1"
        assert result.run.params["estimator"] == "sklearn.linear_model.LogisticRegression"
