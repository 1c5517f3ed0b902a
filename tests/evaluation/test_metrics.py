"""Tests for rasad.evaluation.metrics: values equal scikit-learn's, edge cases are None."""

from __future__ import annotations

import json
import types

import numpy as np
import pytest
from sklearn import metrics as skm

import rasad.evaluation as evaluation
from rasad.errors import InputError
from rasad.evaluation import DEFAULT_METRICS, Metric, Task, compute_metrics, parse_metrics


@pytest.fixture
def binary() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    truth = np.array(["no", "yes"])[rng.integers(0, 2, 200)]
    p_yes = np.clip(np.where(truth == "yes", 0.65, 0.35) + rng.normal(0, 0.2, 200), 0.01, 0.99)
    pred = np.where(p_yes > 0.5, "yes", "no")
    return truth, pred, np.column_stack([1 - p_yes, p_yes])


@pytest.fixture
def multiclass() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 3, 150)
    raw = rng.random((150, 3)) + np.eye(3)[truth] * 0.8
    proba = raw / raw.sum(axis=1, keepdims=True)
    return truth, proba.argmax(axis=1), proba


def test_exports_match_all() -> None:
    # submodules (metrics, uncertainty, ...) appear once imported; they are not exports
    exported = {name for name, value in vars(evaluation).items()
                if not name.startswith("_") and not isinstance(value, types.ModuleType)}
    assert exported == set(evaluation.__all__)


def test_default_metrics_cover_each_task_and_are_read_only() -> None:
    assert DEFAULT_METRICS[Task.CLASSIFICATION] == (
        Metric.ACCURACY,
        Metric.PRECISION,
        Metric.RECALL,
        Metric.F1,
        Metric.ROC_AUC,
        Metric.LOG_LOSS,
        Metric.BRIER,
    )
    assert DEFAULT_METRICS[Task.REGRESSION] == (Metric.RMSE, Metric.MAE, Metric.R2, Metric.MAPE)
    with pytest.raises(TypeError):
        DEFAULT_METRICS[Task.REGRESSION] = ()  # type: ignore[index]


def test_binary_metrics_equal_sklearn_with_second_class_positive(binary) -> None:
    truth, pred, proba = binary
    got = compute_metrics(Task.CLASSIFICATION, truth, pred, proba, classes=["no", "yes"])
    positive = truth == "yes"
    assert got == pytest.approx(
        {
            "accuracy": skm.accuracy_score(truth, pred),
            "precision": skm.precision_score(truth, pred, pos_label="yes"),
            "recall": skm.recall_score(truth, pred, pos_label="yes"),
            "f1": skm.f1_score(truth, pred, pos_label="yes"),
            "roc_auc": skm.roc_auc_score(positive, proba[:, 1]),
            "log_loss": skm.log_loss(truth, proba),
            "brier": skm.brier_score_loss(positive, proba[:, 1]),
        }
    )
    # The positive class really is classes[1]: precision of "no" differs from "yes".
    assert got["precision"] != pytest.approx(skm.precision_score(truth, pred, pos_label="no"))
    assert list(got) == [m.value for m in DEFAULT_METRICS[Task.CLASSIFICATION]]
    json.dumps(got)


def test_binary_one_dimensional_proba_is_positive_class(binary) -> None:
    truth, pred, proba = binary
    full = compute_metrics(Task.CLASSIFICATION, truth, pred, proba, classes=["no", "yes"])
    flat = compute_metrics(Task.CLASSIFICATION, truth, pred, proba[:, 1], classes=["no", "yes"])
    assert flat == full


def test_multiclass_metrics_are_macro_and_one_vs_rest(multiclass) -> None:
    truth, pred, proba = multiclass
    got = compute_metrics(Task.CLASSIFICATION, truth, pred, proba, classes=[0, 1, 2])
    assert got == pytest.approx(
        {
            "accuracy": skm.accuracy_score(truth, pred),
            "precision": skm.precision_score(truth, pred, average="macro"),
            "recall": skm.recall_score(truth, pred, average="macro"),
            "f1": skm.f1_score(truth, pred, average="macro"),
            "roc_auc": skm.roc_auc_score(truth, proba, multi_class="ovr", average="macro"),
            "log_loss": skm.log_loss(truth, proba),
            "brier": None,
        }
    )


def test_classes_default_to_labels_present() -> None:
    got = compute_metrics(
        "classification", [0, 1, 1], [0, 1, 0], [[0.8, 0.2], [0.3, 0.7], [0.6, 0.4]]
    )
    assert got["roc_auc"] == 1.0
    assert got["recall"] == 0.5


def test_undefined_metrics_are_none_not_errors() -> None:
    got = compute_metrics(
        Task.CLASSIFICATION,
        [1, 1, 1],
        [1, 0, 1],
        [[0.2, 0.8], [0.6, 0.4], [0.1, 0.9]],
        classes=[0, 1],
    )
    assert got["roc_auc"] is None
    assert got["accuracy"] == pytest.approx(2 / 3)
    assert got["log_loss"] == pytest.approx(
        skm.log_loss([1, 1, 1], [[0.2, 0.8], [0.6, 0.4], [0.1, 0.9]], labels=[0, 1])
    )


def test_multiclass_roc_auc_none_when_a_class_is_absent() -> None:
    proba = [[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.6, 0.3, 0.1]]
    got = compute_metrics(Task.CLASSIFICATION, [0, 1, 0], [0, 1, 0], proba, classes=[0, 1, 2])
    assert got["roc_auc"] is None
    assert got["accuracy"] == 1.0


def test_probability_metrics_none_without_proba() -> None:
    got = compute_metrics(Task.CLASSIFICATION, [0, 1, 1, 0], [0, 1, 0, 0])
    assert (got["roc_auc"], got["log_loss"], got["brier"]) == (None, None, None)
    assert got["precision"] == 1.0


def test_zero_division_is_zero_without_warning(recwarn) -> None:
    got = compute_metrics(
        Task.CLASSIFICATION, [0, 1], [0, 0], metrics=["precision"], classes=[0, 1]
    )
    assert got == {"precision": 0.0}
    assert not recwarn.list


def test_regression_metrics_equal_sklearn() -> None:
    rng = np.random.default_rng(11)
    truth = rng.normal(10, 3, 100)
    pred = truth + rng.normal(0, 1, 100)
    got = compute_metrics(Task.REGRESSION, truth, pred)
    assert got == pytest.approx(
        {
            "rmse": skm.root_mean_squared_error(truth, pred),
            "mae": skm.mean_absolute_error(truth, pred),
            "r2": skm.r2_score(truth, pred),
            "mape": skm.mean_absolute_percentage_error(truth, pred),
        }
    )
    assert all(type(value) is float for value in got.values())


def test_mape_none_when_a_true_value_is_zero_and_r2_none_for_one_row() -> None:
    assert compute_metrics(Task.REGRESSION, [0.0, 2.0], [0.1, 2.0], metrics=["mape"]) == {
        "mape": None
    }
    assert compute_metrics(Task.REGRESSION, [3.0], [2.0], metrics=["r2", "mae"]) == {
        "r2": None,
        "mae": 1.0,
    }


def test_chosen_metrics_keep_order() -> None:
    got = compute_metrics(Task.REGRESSION, [1.0, 2.0], [1.0, 3.0], metrics=["MAE", "rmse"])
    assert list(got) == ["mae", "rmse"]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"y_true": [1, 2], "y_pred": [1]}, "y_true has 2 values but y_pred has 1"),
        ({"y_true": [], "y_pred": []}, "empty"),
        ({"y_true": [0, 1], "y_pred": [0, 2], "classes": [0, 1]}, "labels [2]"),
        ({"y_true": [0, 1], "y_pred": [0, 1], "y_proba": [[0.1, 0.2, 0.7]] * 2}, "shape (2, 3)"),
    ],
)
def test_bad_classification_input_is_named(kwargs, fragment) -> None:
    with pytest.raises(InputError) as info:
        compute_metrics(Task.CLASSIFICATION, **kwargs)
    assert fragment in str(info.value)


def test_regression_missing_values_are_refused() -> None:
    with pytest.raises(InputError, match="y_pred holds 1 missing or infinite"):
        compute_metrics(Task.REGRESSION, [1.0, 2.0], [1.0, np.nan])


def test_parse_metrics_lists_allowed_names_for_the_task() -> None:
    with pytest.raises(InputError) as info:
        parse_metrics(["accuracy", "rmse", "auc"], Task.CLASSIFICATION)
    message = str(info.value)
    assert "'rmse', 'auc'" in message
    assert "accuracy, precision, recall, f1, roc_auc, log_loss, brier" in message
    with pytest.raises(InputError, match="choose from rmse, mae, r2, mape"):
        parse_metrics(["f1"], "regression")


def test_parse_metrics_normalises_and_deduplicates() -> None:
    assert parse_metrics([" ROC_AUC", "f1", "roc_auc"], "Classification") == (
        Metric.ROC_AUC,
        Metric.F1,
    )
    assert parse_metrics("mae,r2", Task.REGRESSION) == (Metric.MAE, Metric.R2)


def test_parse_metrics_refuses_nothing_and_unknown_task() -> None:
    with pytest.raises(InputError, match="No metric was named"):
        parse_metrics([], Task.REGRESSION)
    with pytest.raises(
        InputError, match="Unknown task 'ranking'; choose one of classification, regression"
    ):
        parse_metrics(["mae"], "ranking")
