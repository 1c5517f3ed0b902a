"""The behavioural test engine on real scikit-learn models trained here.

``reads_region`` reads debt, region and noise; ``ignores_region`` reads debt only (both
take the same input columns). The default rate rises with debt and differs by region.
Every figure the engine reports is recomputed here with scikit-learn directly.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder

from rasad.config import ModelTestConfig
from rasad.errors import InputError
from rasad.evaluation.behaviour import DEFAULT_POLICY, ModelTestReport, run_tests, to_junit

FEATURES = ["debt", "region", "noise"]
TARGET = "default"


def _frame(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    debt = rng.uniform(0.0, 1.0, n)
    region = rng.choice(["north", "south", "east"], n)
    effect = pd.Series(region).map({"north": -1.5, "south": 1.5, "east": 0.0}).to_numpy()
    risk = 1 / (1 + np.exp(-(4 * (debt - 0.5) + effect)))
    branch = rng.choice([f"b{i:02d}" for i in range(30)], n, p=np.arange(1, 31) / 465)
    return pd.DataFrame({"debt": debt, "region": region, "noise": rng.normal(size=n),
                         "branch": branch, TARGET: (rng.random(n) < risk).astype(int)})


def _classifier(numeric: list[str], categorical: list[str], *,
                unknown: str = "ignore") -> Pipeline:
    parts: list[tuple[str, Any, list[str]]] = [
        ("num", SimpleImputer(strategy="median"), numeric)]
    if categorical:
        parts.append(("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                           OneHotEncoder(handle_unknown=unknown)),
                      categorical))
    model = make_pipeline(ColumnTransformer(parts), LogisticRegression(max_iter=500))
    return model.fit(FRAME[FEATURES], FRAME[TARGET])


FRAME = _frame()
READS_REGION = _classifier(["debt", "noise"], ["region"])
IGNORES_REGION = _classifier(["debt"], [])


def _run(tests: list[dict[str, Any]], model: Any = READS_REGION, frame: pd.DataFrame = FRAME,
         **options: Any) -> ModelTestReport:
    arguments: dict[str, Any] = {
        "task": "classification", "classes": list(model.classes_), "predict": model.predict,
        "predict_proba": model.predict_proba, "features": FEATURES, **options}
    return run_tests([ModelTestConfig.model_validate(t) for t in tests], frame, TARGET,
                     **arguments)


def _invariance(column: str, **extra: Any) -> dict[str, Any]:
    return {"name": f"{column} does not matter", "kind": "invariance", "column": column,
            **extra}


# -- invariance -------------------------------------------------------------------------------


def test_invariance_tells_a_model_that_reads_a_column_from_one_that_does_not() -> None:
    (reads,) = _run([_invariance("region")]).tests
    (ignores,) = _run([_invariance("region")], IGNORES_REGION).tests
    before = READS_REGION.predict(FRAME[FEATURES])
    shares = {v: float(np.mean(READS_REGION.predict(FRAME[FEATURES].assign(region=v)) != before))
              for v in ["east", "north", "south"]}
    assert {e["value"]: e["share"] for e in reads.evidence["values"]} == shares
    assert reads.evidence["worst_share"] == max(shares.values()) > 0.1
    assert reads.evidence["worst_value"] == max(shares, key=lambda v: shares[v])
    assert not reads.passed and "> tolerance 0.00%" in reads.summary
    assert ignores.passed and ignores.evidence["worst_share"] == 0.0


def test_the_tolerance_is_a_share_at_or_under_which_it_passes() -> None:
    worst = _run([_invariance("region")]).tests[0].evidence["worst_share"]
    assert _run([_invariance("region", tolerance=worst)]).passed
    assert not _run([_invariance("region", tolerance=worst - 1e-9)]).passed


def test_a_column_the_model_does_not_read_changes_nothing() -> None:
    (result,) = _run([_invariance("branch")]).tests
    assert result.passed and result.evidence["model_input"] is False
    assert "not an input of the model" in result.summary


def test_without_values_invariance_tries_the_columns_own_values_capped() -> None:
    numeric, text = _run([_invariance("noise"), _invariance("branch")],
                         features=[*FEATURES, "branch"]).tests
    tried = [entry["value"] for entry in numeric.evidence["values"]]
    assert len(tried) == 20 and "20 quantiles of 2000 values" in numeric.evidence["values_from"]
    assert min(tried) == FRAME["noise"].min() and max(tried) == FRAME["noise"].max()
    counts = FRAME["branch"].value_counts()
    expected = sorted(counts.index, key=lambda b: (-counts[b], b))[:20]
    assert [entry["value"] for entry in text.evidence["values"]] == expected
    (few,) = _run([_invariance("region", values=["south"])]).tests
    assert [entry["value"] for entry in few.evidence["values"]] == ["south"]


# -- directional ------------------------------------------------------------------------------


def _directional(column: str, change: float, direction: str, **extra: Any) -> dict[str, Any]:
    return {"name": f"{column} {direction}", "kind": "directional", "column": column,
            "change": change, "direction": direction, **extra}


def test_directional_compares_the_mean_probability_before_and_after() -> None:
    up, down, safer = _run([_directional("debt", 0.1, "increase"),
                            _directional("debt", 0.1, "decrease"),
                            _directional("debt", 0.1, "decrease", outcome=0)]).tests
    proba = READS_REGION.predict_proba(FRAME[FEATURES])[:, 1]
    moved = READS_REGION.predict_proba(FRAME[FEATURES].assign(debt=FRAME["debt"] + 0.1))[:, 1]
    assert up.evidence["mean_before"] == pytest.approx(proba.mean(), rel=1e-12)
    assert up.evidence["mean_after"] == pytest.approx(moved.mean(), rel=1e-12)
    assert up.passed and up.evidence["delta"] > 0 and up.evidence["outcome"] == 1
    assert not down.passed and "expects it to decrease" in down.summary
    assert safer.passed and safer.evidence["outcome"] == 0


def test_no_move_fails_a_strict_direction_and_passes_a_lenient_one() -> None:
    strict, lenient = _run([_directional("noise", 1.0, "increase"),
                            _directional("noise", 1.0, "no_decrease")], IGNORES_REGION).tests
    assert strict.evidence["delta"] == lenient.evidence["delta"] == 0.0
    assert not strict.passed and lenient.passed


def test_a_regressor_follows_its_mean_prediction() -> None:
    frame = FRAME.assign(amount=3.0 * FRAME["debt"] + FRAME["noise"])
    model = LinearRegression().fit(frame[["debt", "noise"]], frame["amount"])
    tests = [ModelTestConfig.model_validate(_directional("debt", 0.5, "increase"))]
    report = run_tests(tests, frame, "amount", task="regression", classes=None,
                       predict=model.predict, features=["debt", "noise"])
    assert report.passed
    assert report.tests[0].evidence["delta"] == pytest.approx(model.coef_[0] * 0.5)
    with pytest.raises(InputError, match="outcome applies to classifiers"):
        run_tests([tests[0].model_copy(update={"outcome": 1})], frame, "amount",
                  task="regression", classes=None, predict=model.predict)


# -- slice performance ------------------------------------------------------------------------


def _slice(metric: str, where: dict[str, Any], **bound: float) -> dict[str, Any]:
    return {"name": f"{metric} where {where}", "kind": "slice_performance", "metric": metric,
            "slice": where, **bound}


def test_slice_metrics_are_scikit_learns_on_the_slices_rows() -> None:
    frame = FRAME.copy()
    frame.loc[:9, "debt"], frame.loc[10:19, "debt"] = 0.5, 0.2  # on both edges
    rows = (frame["debt"] >= 0.2) & (frame["debt"] < 0.5)
    north = frame["region"] == "north"
    inputs = frame[FEATURES]
    accuracy = accuracy_score(frame[TARGET][north], READS_REGION.predict(inputs[north]))
    auc = roc_auc_score(frame[TARGET][rows], READS_REGION.predict_proba(inputs[rows])[:, 1])
    at, above, ranged = _run([
        _slice("accuracy", {"column": "region", "values": ["north"]}, min=accuracy),
        _slice("accuracy", {"column": "region", "values": ["north"]}, min=accuracy + 1e-9),
        _slice("roc_auc", {"column": "debt", "min": 0.2, "max": 0.5}, min=0.5)],
        frame=frame).tests
    assert at.passed and at.evidence["value"] == accuracy
    assert not above.passed and at.evidence["rows"] == int(north.sum())
    assert ranged.evidence["rows"] == int(rows.sum()) and ranged.evidence["value"] == auc


def test_a_slice_may_select_on_the_label() -> None:
    defaulted = FRAME[TARGET] == 1
    recall = accuracy_score(FRAME[TARGET][defaulted],
                            READS_REGION.predict(FRAME[FEATURES][defaulted]))
    (result,) = _run([_slice("accuracy", {"column": TARGET, "values": [1]}, min=0.0)]).tests
    assert result.evidence["value"] == recall and result.evidence["rows"] == defaulted.sum()


def test_a_slice_that_cannot_be_measured_fails_and_says_why() -> None:
    frame = FRAME.assign(batch=np.where(FRAME[TARGET] == 1, "late", "early"))
    empty, one_class, no_proba = _run([
        _slice("accuracy", {"column": "region", "values": ["west"]}, min=0.5),
        _slice("roc_auc", {"column": "batch", "values": ["late"]}, min=0.5),
        _slice("brier", {"column": "region", "values": ["north"]}, max=0.3)],
        frame=frame, predict_proba=None).tests
    assert not empty.passed and "no labelled rows where region in west" in empty.summary
    assert not one_class.passed and "roc_auc cannot be computed" in one_class.summary
    assert not no_proba.passed and "gives no probabilities" in no_proba.summary


def test_unlabelled_rows_are_left_out_of_a_slice_and_counted() -> None:
    frame = FRAME.astype({TARGET: float})
    frame.loc[frame.index[:50], TARGET] = np.nan
    north = (frame["region"] == "north") & frame[TARGET].notna()
    (result,) = _run([_slice("accuracy", {"column": "region", "values": ["north"]}, min=0.0)],
                     frame=frame).tests
    assert result.evidence["unlabelled_rows"] == int(
        (frame["region"].iloc[:50] == "north").sum()) > 0
    assert result.evidence["value"] == accuracy_score(
        frame[TARGET][north], READS_REGION.predict(frame[FEATURES][north]))


# -- robustness -------------------------------------------------------------------------------


ROBUST = {"name": "robust", "kind": "robustness"}


def test_a_model_that_crashes_on_missing_values_is_reported_and_the_run_goes_on() -> None:
    bare = LogisticRegression().fit(FRAME[["debt", "noise"]], FRAME[TARGET])
    report = _run([ROBUST, _invariance("noise", values=[0.0])], bare,
                  features=["debt", "noise"])
    robust, after = report.tests
    crashed = [c for c in robust.evidence["checks"] if c["outcome"] == "crashed"]
    assert [(c["column"], c["perturbation"]) for c in crashed] == [
        ("debt", "missing"), ("noise", "missing")]
    assert all(c["detail"].startswith("ValueError: Input X contains NaN") for c in crashed)
    assert {c["outcome"] for c in robust.evidence["checks"]} - {"crashed"} == {"answered"}
    assert not robust.passed and robust.evidence["failures"] == 2
    assert "ValueError" in robust.summary
    assert after.evidence["values"]  # the next test ran


def test_a_model_that_handles_every_perturbation_passes() -> None:
    model = HistGradientBoostingClassifier(random_state=0, max_iter=30).fit(
        FRAME[["debt", "noise"]], FRAME[TARGET])
    (robust,) = _run([ROBUST], model, features=["debt", "noise"]).tests
    values = {c["value"] for c in robust.evidence["checks"] if c["column"] == "debt"}
    debt = FRAME["debt"]
    assert values == {None, 1e12, -1e12, debt.min() * 1e6, debt.max() * 1e6}
    assert robust.passed and robust.evidence["rows"] == DEFAULT_POLICY.robustness_rows == 200


def test_an_unseen_category_crashes_an_encoder_that_refuses_unknowns() -> None:
    strict = _classifier(["debt", "noise"], ["region"], unknown="error")
    (refused,) = _run([{**ROBUST, "columns": ["region"]}], strict).tests
    (tolerant,) = _run([{**ROBUST, "columns": ["region"]}]).tests
    (unseen,) = [c for c in refused.evidence["checks"] if c["perturbation"] == "unseen category"]
    assert unseen["outcome"] == "crashed" and "unknown categor" in unseen["detail"]
    assert tolerant.passed and not refused.passed


def test_a_clear_input_error_counts_as_an_answer() -> None:
    def guarded(method: Callable[[pd.DataFrame], Any]) -> Callable[[pd.DataFrame], Any]:
        def call(rows: pd.DataFrame) -> Any:
            if rows.isna().any().any():
                raise InputError("Missing values: fill them in first.")
            return method(rows)
        return call

    (robust,) = _run([ROBUST], predict=guarded(READS_REGION.predict),
                     predict_proba=guarded(READS_REGION.predict_proba)).tests
    refused = [c for c in robust.evidence["checks"] if c["outcome"] == "clear error"]
    assert [c["perturbation"] for c in refused] == ["missing"] * 3
    assert refused[0]["detail"] == "Missing values: fill them in first."
    assert robust.passed


def test_an_infinite_answer_fails() -> None:
    frame = FRAME.assign(amount=np.exp(FRAME["debt"]))
    model = TransformedTargetRegressor(LinearRegression(), func=np.log, inverse_func=np.exp)
    model.fit(frame[["debt"]], frame["amount"])
    with np.errstate(over="ignore"):
        report = run_tests([ModelTestConfig.model_validate(ROBUST)], frame, "amount",
                           task="regression", classes=None, predict=model.predict,
                           features=["debt"])
    bad = [c for c in report.tests[0].evidence["checks"] if c["outcome"] == "bad answer"]
    assert [c["value"] for c in bad] == [1e12, frame["debt"].max() * 1e6]
    assert "missing or infinite" in bad[0]["detail"] and not report.passed


def test_a_crash_in_any_test_fails_that_test_only() -> None:
    def fragile(rows: pd.DataFrame) -> Any:
        if (rows["region"] == "east").all():
            raise RuntimeError("no model for the east")
        return READS_REGION.predict(rows)

    crashed, fine = _run([_invariance("region", values=["east"]),
                          _directional("debt", 0.1, "increase")], predict=fragile).tests
    assert not crashed.passed
    assert crashed.summary == "the model failed: RuntimeError: no model for the east"
    assert fine.passed


# -- declarations that cannot mean anything ---------------------------------------------------


@pytest.mark.parametrize(("test", "fragments"), [
    (_invariance("nosuch"), ["'nosuch does not matter' (invariance)", "not a column",
                             "columns are debt"]),
    (_directional("region", 1.0, "increase"), ["not numeric", "use an invariance test"]),
    (_directional("debt", 0.1, "increase", outcome=7), ["outcome 7 is not a class",
                                                        "classes: 0, 1"]),
    (_slice("auc", {"column": "region", "values": ["north"]}, min=0.5),
     ["Metric 'auc' is not available", "choose from accuracy"]),
    (_slice("rmse", {"column": "region", "values": ["north"]}, max=0.5), ["'rmse'"]),
    (_slice("accuracy", {"column": "region", "min": 1.0}, min=0.5), ["numeric column"]),
    ({**ROBUST, "columns": ["branch"]}, ["'branch' is not an input of the model"]),
    (_invariance(TARGET), ["is the label column"]),
    (_directional("debt", 0.0, "increase"), ["change must be a finite number other than 0"]),
])
def test_a_wrong_declaration_names_the_test_before_anything_runs(
        test: dict[str, Any], fragments: list[str]) -> None:
    calls: list[int] = []

    def counted(rows: pd.DataFrame) -> Any:
        calls.append(len(rows))
        return READS_REGION.predict(rows)

    with pytest.raises(InputError) as raised:
        _run([ROBUST, test], predict=counted)
    for fragment in fragments:
        assert fragment in str(raised.value)
    assert calls == []


def test_a_value_the_model_refuses_is_a_wrong_declaration() -> None:
    def typed(rows: pd.DataFrame) -> Any:
        if not pd.api.types.is_numeric_dtype(rows["noise"]):
            raise InputError("column 'noise' has non-numeric values (e.g. 'loud').")
        return READS_REGION.predict(rows)

    with pytest.raises(InputError, match=r"Test 'noise does not matter' \(invariance\): column "
                                         r"'noise' has non-numeric .* Change the test"):
        _run([_invariance("noise", values=["loud"])], predict=typed)


@pytest.mark.parametrize(("frame", "options", "fragment"), [
    (FRAME.drop(columns=TARGET), {}, "no label column 'default'"),
    (FRAME.iloc[:0], {}, "no rows"),
    (FRAME.drop(columns="noise"), {}, "lacks the model's input column(s) noise"),
    (FRAME, {"classes": None}, "need its classes"),
])
def test_data_that_cannot_be_tested_is_refused(frame: pd.DataFrame, options: dict[str, Any],
                                               fragment: str) -> None:
    with pytest.raises(InputError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        _run([ROBUST], frame=frame, **options)


# -- the report -------------------------------------------------------------------------------


def test_the_report_reads_back_and_renders_as_junit() -> None:
    report = _run([_invariance("region"), _invariance("region", values=["north"],
                                                      name="north only", tolerance=1.0)])
    assert ModelTestReport.from_json(report.to_json()) == report
    assert report.to_dict()["failed"] == ["region does not matter"]
    suite = ET.fromstring(to_junit(report, "credit@3"))
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    (failure,) = suite.findall("testcase/failure")
    assert failure.get("message") == report.tests[0].summary
    assert [c.get("name") for c in suite.findall("testcase")] == [
        "region does not matter", "north only"]
