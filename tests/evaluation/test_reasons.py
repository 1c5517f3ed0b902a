"""Reason codes checked against models whose true drivers are known.

The data are built so that the answer is known before any model is fitted: the outcome
depends strongly on ``x1``, weakly on ``x2``, not at all on ``x3``; ``region`` matters
only when it is ``"risky"``. A reason code that ranks ``x3`` high, or misses ``x1`` on a
row where ``x1`` is extreme, is wrong whatever its method.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.svm import LinearSVC

from rasad.errors import ConfigError, InputError
from rasad.evaluation import reasons as engine
from rasad.evaluation.reasons import (
    Explainer,
    ReasonMethod,
    References,
    references_from_profile,
)
from rasad.tables.kinds import ColumnKind
from rasad.tables.profile import profile_table
from rasad.tables.signature import Signature
from rasad.training.pipeline import build_pipeline

KINDS = {"x1": ColumnKind.NUMERIC, "x2": ColumnKind.NUMERIC, "x3": ColumnKind.NUMERIC,
         "region": ColumnKind.CATEGORICAL, "owner": ColumnKind.BOOLEAN}
NUMERIC = ["x1", "x2", "x3"]


def applicants(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "x1": rng.normal(size=n), "x2": rng.normal(size=n), "x3": rng.normal(size=n),
        "region": rng.choice(["north", "south", "risky"], size=n, p=[0.45, 0.45, 0.1]),
        "owner": rng.random(n) < 0.5})


def outcome(frame: pd.DataFrame, seed: int = 1) -> np.ndarray:
    """Default (1) driven by x1 (strong), x2 (weak), region 'risky'; never x3 or owner."""
    rng = np.random.default_rng(seed)
    logit = 3.0 * frame["x1"] + 0.6 * frame["x2"] + np.where(frame["region"] == "risky",
                                                               2.5, 0.0)
    return (logit + 0.3 * rng.logistic(size=len(frame)) > 0).astype(int).to_numpy()


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray, Signature, References]:
    frame = applicants(4000)
    signature = Signature.from_frame(frame, KINDS)
    profile = profile_table(pa.Table.from_pandas(frame, preserve_index=False), KINDS)
    references = references_from_profile(profile, signature, source="profile of test@1")
    return frame, outcome(frame), signature, references


def fitted(estimator: object, data: tuple[pd.DataFrame, np.ndarray, Signature, References]
           ) -> object:
    frame, y, _, _ = data
    return build_pipeline(NUMERIC, ["region"], ["owner"], estimator).fit(frame, y)


def scored(data: tuple[pd.DataFrame, np.ndarray, Signature, References], n: int = 600,
           seed: int = 5) -> pd.DataFrame:
    return data[2].coerce(applicants(n, seed=seed))


def top(explanation: engine.Explanation) -> list[str | None]:
    return [explanation.features[r[0]] if r else None for r in explanation.ranked()]


# -- the references -------------------------------------------------------------------------


def test_references_are_the_training_medians_and_most_frequent_values(data: tuple) -> None:
    frame, _, _, references = data
    for name in NUMERIC:
        assert references.values[name] == pytest.approx(float(frame[name].median()))
    assert references.values["region"] == frame["region"].mode()[0]
    assert references.values["owner"] is bool(frame["owner"].mode()[0])
    assert references.unexplained == ()
    assert references.source == "profile of test@1"


def test_inputs_without_a_typical_value_are_left_unexplained() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "empty": [None, None, None],
                          "note": ["a", "b", "c"]}).astype({"empty": float})
    kinds = {"x": ColumnKind.NUMERIC, "empty": ColumnKind.NUMERIC, "note": ColumnKind.TEXT}
    signature = Signature.from_frame(frame, kinds)
    profile = profile_table(pa.Table.from_pandas(frame, preserve_index=False), kinds)
    references = references_from_profile(profile, signature)
    assert references.values == {"x": 2.0}
    assert references.unexplained == ("empty", "note")
    # A frame whose columns have no typical value at all cannot be explained.
    model = LinearRegression().fit(frame[["x"]], [1.0, 2.0, 3.0])
    explainer = Explainer(model, References(values={}), task="regression",
                          method="substitution")
    with pytest.raises(InputError, match="no reason can be given"):
        explainer.explain(frame[["x"]])


# -- known drivers -------------------------------------------------------------------------


@pytest.mark.parametrize("estimator", [LogisticRegression(max_iter=500),
                                       GradientBoostingClassifier(random_state=0)],
                         ids=["logistic", "boosted-trees"])
def test_the_strong_driver_leads_where_it_is_extreme_and_the_idle_one_never_does(
        data: tuple, estimator: object) -> None:
    model = fitted(estimator, data)
    rows = scored(data)
    explanation = Explainer(model, data[3], task="classification", method="substitution",
                            target="default").explain(rows)
    leaders = top(explanation)
    extreme = (rows["x1"].abs() > 1.5).to_numpy()
    assert extreme.sum() > 50
    assert all(leaders[i] == "x1" for i in np.flatnonzero(extreme))
    # x3 plays no part: it leads at most 1 row in 100 (a tree model fits some noise),
    # and its typical effect is a hundredth of x1's.
    assert leaders.count("x3") <= len(rows) // 100
    mean = np.abs(explanation.effects).mean(axis=0)
    assert mean[explanation.features.index("x3")] < 0.02 * mean[explanation.features.index("x1")]
    # The leading reason's words name the row's value, the typical one and the outcome.
    i = int(np.flatnonzero(extreme)[0])
    words = explanation.row(i).reasons[0].text
    value = rows["x1"].iloc[i]
    assert words.startswith(f"x1 = {value:.4g} (typical: ")
    assert f"raised the probability of default = {explanation.outcomes[i]} by " in words


def test_reasons_push_towards_the_decision_largest_first(data: tuple) -> None:
    model = fitted(LogisticRegression(max_iter=500), data)
    rows = scored(data, n=300)
    explanation = Explainer(model, data[3], task="classification", reasons=3,
                            method="substitution").explain(rows)
    predicted = model.predict(rows)
    for i, row in enumerate(explanation.rows()):
        assert row.outcome == predicted[i]
        assert row.score == pytest.approx(model.predict_proba(rows.iloc[[i]])[0, predicted[i]])
        effects = [reason.effect for reason in row.reasons]
        assert len(effects) <= 3 and all(e > 0 for e in effects)
        assert effects == sorted(effects, reverse=True)
    # A refused applicant's reasons raised the refusal's probability: substituting the
    # first reason's typical value lowers it by exactly its effect.
    i = int(np.flatnonzero(predicted == 1)[0])
    first = explanation.row(i).reasons[0]
    changed = rows.iloc[[i]].copy()
    changed[first.feature] = first.reference
    drop = model.predict_proba(rows.iloc[[i]])[0, 1] - model.predict_proba(changed)[0, 1]
    assert drop == pytest.approx(first.effect)


def test_a_row_at_its_typical_values_has_no_reasons(data: tuple) -> None:
    references = data[3]
    model = fitted(LogisticRegression(max_iter=500), data)
    typical = data[2].coerce(pd.DataFrame([references.values]))
    explanation = Explainer(model, references, task="classification",
                            method="substitution").explain(typical)
    assert explanation.row(0).reasons == ()
    assert list(explanation.to_frame().iloc[0]) == ["", "", "", "", "[]"]


def test_a_categorical_driver_is_named_with_its_category(data: tuple) -> None:
    model = fitted(GradientBoostingClassifier(random_state=0), data)
    rows = scored(data, n=400)
    explanation = Explainer(model, data[3], task="classification",
                            method="substitution").explain(rows)
    risky = ((rows["region"] == "risky") & (rows["x1"].abs() < 0.3)).to_numpy()
    assert risky.sum() >= 5
    for i in np.flatnonzero(risky):
        if explanation.outcomes[i] == 1:
            reason = explanation.row(int(i)).reasons[0]
            assert reason.feature == "region" and reason.value == "risky"
            assert reason.text.startswith(
                f"region = risky (typical: {data[3].values['region']}) raised")


def test_a_missing_value_is_a_reason_when_the_model_reads_it_so() -> None:
    # A model that learned that a missing x1 means default (NaN handled by the trees).
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"x1": rng.normal(size=3000), "x2": rng.normal(size=3000)})
    gone = rng.random(3000) < 0.2
    y = ((frame["x1"] > 1.0) | gone).astype(int)
    frame.loc[gone, "x1"] = np.nan
    model = HistGradientBoostingClassifier(random_state=0).fit(frame, y)
    references = References(values={"x1": float(frame["x1"].median()), "x2": 0.0})
    rows = pd.DataFrame({"x1": [np.nan, 0.0], "x2": [0.1, 0.1]})
    explanation = Explainer(model, references, task="classification",
                            method="auto").explain(rows)
    first = explanation.row(0)
    assert first.outcome == 1
    assert first.reasons[0].feature == "x1" and first.reasons[0].value is None
    assert first.reasons[0].text.startswith("x1 = missing (typical: ")
    assert json.loads(explanation.to_frame()["reasons"].iloc[0])[0]["value"] is None


def test_a_regressor_reasons_are_its_largest_moves_either_way() -> None:
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"x1": rng.normal(size=2000), "x2": rng.normal(size=2000),
                          "x3": rng.normal(size=2000)})
    y = 3.0 * frame["x1"] - 1.0 * frame["x2"]
    references = References(values={name: float(frame[name].median()) for name in frame})
    rows = pd.DataFrame({"x1": [-2.5, 2.5, 0.0], "x2": [0.2, -0.2, 2.0],
                         "x3": [1.5, -1.5, 0.0]})
    for model in (LinearRegression().fit(frame, y),
                  GradientBoostingRegressor(random_state=0).fit(frame, y)):
        explanation = Explainer(model, references, task="regression",
                                method="auto").explain(rows)
        assert explanation.outcomes is None
        first, second, third = (explanation.row(i).reasons[0] for i in range(3))
        assert (first.feature, second.feature, third.feature) == ("x1", "x1", "x2")
        assert "lowered the prediction by" in first.text and first.effect < 0
        assert "raised the prediction by" in second.text and second.effect > 0
        assert "lowered the prediction by" in third.text
        assert all(r.feature != "x3" or abs(r.effect) < 0.3
                   for i in range(3) for r in explanation.row(i).reasons)
    assert explanation.method is ReasonMethod.SHAP  # the boosted regressor: trees


# -- SHAP ------------------------------------------------------------------------------------


@pytest.mark.parametrize("estimator", [GradientBoostingClassifier(random_state=0),
                                       RandomForestClassifier(n_estimators=60, random_state=0)],
                         ids=["boosted", "forest"])
def test_shap_and_substitution_agree_on_the_top_driver_of_a_tree_model(
        data: tuple, estimator: object) -> None:
    model = fitted(estimator, data)
    rows = scored(data, n=400)
    shap = Explainer(model, data[3], task="classification", method="shap").explain(rows)
    substitution = Explainer(model, data[3], task="classification",
                             method="substitution").explain(rows)
    assert shap.method is ReasonMethod.SHAP
    assert substitution.method is ReasonMethod.SUBSTITUTION
    # Where x1 is extreme and the only cause (a risky region is a second one that
    # saturates the score on its own: docs/explanations.md, "Limits").
    extreme = np.flatnonzero(((rows["x1"].abs() > 1.5)
                              & (rows["region"] != "risky")).to_numpy())
    assert len(extreme) > 30
    assert [top(shap)[i] for i in extreme] == [top(substitution)[i] for i in extreme] \
        == ["x1"] * len(extreme)
    agree = np.mean([a == b for a, b in zip(top(shap), top(substitution), strict=True)])
    assert agree > 0.8
    # Shapley values against the one typical row add up to the distance from its score,
    # the one-hot columns of region summed back into region.
    typical = data[2].coerce(pd.DataFrame([data[3].values]))
    base = model.predict_proba(typical)[0]
    positions = [list(model.classes_).index(o) for o in shap.outcomes]
    np.testing.assert_allclose(shap.effects.sum(axis=1), shap.scores - base[positions],
                               atol=1e-6)
    assert shap.features == ("x1", "x2", "x3", "region", "owner")


def test_auto_uses_shap_for_trees_and_substitution_for_the_rest(data: tuple) -> None:
    rows = scored(data, n=50)
    trees = Explainer(fitted(GradientBoostingClassifier(random_state=0), data), data[3],
                      task="classification").explain(rows)
    linear = Explainer(fitted(LogisticRegression(max_iter=500), data), data[3],
                       task="classification").explain(rows)
    assert (trees.method, linear.method) == (ReasonMethod.SHAP, ReasonMethod.SUBSTITUTION)


def test_shap_asked_of_a_model_it_cannot_read_says_so(data: tuple) -> None:
    explainer = Explainer(fitted(LogisticRegression(max_iter=500), data), data[3],
                          task="classification", method="shap")
    with pytest.raises(InputError, match="SHAP cannot explain LogisticRegression.*"
                                         "method to auto or substitution"):
        explainer.explain(scored(data, n=5))


def test_shap_asked_but_not_installed_names_the_extra(data: tuple,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "shap_installed", lambda: False)
    model = fitted(GradientBoostingClassifier(random_state=0), data)
    with pytest.raises(ConfigError, match=r"pip install 'rasad\[explain\]'"):
        Explainer(model, data[3], task="classification", method="shap")
    # auto falls back to substitution without a word.
    explanation = Explainer(model, data[3], task="classification").explain(scored(data, 20))
    assert explanation.method is ReasonMethod.SUBSTITUTION


def test_shap_values_that_do_not_add_up_are_not_used(data: tuple,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    model = fitted(GradientBoostingClassifier(random_state=0), data)
    rows = scored(data, n=30)
    real = engine._TreeShap.effects

    def skewed(self: engine._TreeShap, *args: object) -> np.ndarray | None:
        scaled = self.groups * 1.5  # a model SHAP would read wrongly, simulated
        original, self.groups = self.groups, scaled
        try:
            return real(self, *args)  # type: ignore[arg-type]
        finally:
            self.groups = original

    monkeypatch.setattr(engine._TreeShap, "effects", skewed)
    with pytest.raises(InputError, match="do not add up"):
        Explainer(model, data[3], task="classification", method="shap").explain(rows)
    auto = Explainer(model, data[3], task="classification")
    assert auto.explain(rows).method is ReasonMethod.SUBSTITUTION
    assert auto.explain(rows).method is ReasonMethod.SUBSTITUTION  # and stays so


# -- mechanics ---------------------------------------------------------------------------------


def test_chunks_give_the_same_effects_as_one_batch(data: tuple) -> None:
    model = fitted(LogisticRegression(max_iter=500), data)
    rows = scored(data, n=97)
    whole = Explainer(model, data[3], task="classification",
                      method="substitution").explain(rows)
    chunked = Explainer(model, data[3], task="classification", method="substitution",
                        chunk_rows=7).explain(rows)
    np.testing.assert_array_equal(whole.effects, chunked.effects)


def test_a_multiclass_model_explains_the_class_it_predicts() -> None:
    rng = np.random.default_rng(8)
    frame = pd.DataFrame({"x1": rng.normal(size=1500), "x3": rng.normal(size=1500)})
    y = np.where(frame["x1"] < -0.5, "low", np.where(frame["x1"] > 0.5, "high", "mid"))
    model = LogisticRegression(max_iter=500).fit(frame, y)
    references = References(values={"x1": 0.0, "x3": 0.0})
    explanation = Explainer(model, references, task="classification",
                            method="substitution", target="band").explain(
        pd.DataFrame({"x1": [-2.0, 2.0], "x3": [0.0, 0.0]}))
    assert list(explanation.outcomes or []) == ["low", "high"]
    assert explanation.row(1).reasons[0].text == (
        f"x1 = 2 (typical: 0) raised the probability of band = high by "
        f"{explanation.effects[1, 0]:.2g}")


def test_the_frame_form_keeps_the_index_and_pads_missing_reasons(data: tuple) -> None:
    model = fitted(LogisticRegression(max_iter=500), data)
    rows = scored(data, n=40)
    explanation = Explainer(model, data[3], task="classification", reasons=6,
                            method="substitution").explain(rows)
    index = pd.Index(range(100, 140))
    out = explanation.to_frame(index=index)
    assert list(out.columns) == [f"reason_{k}" for k in range(1, 7)] + ["reasons"]
    assert out.index.equals(index)
    for i, (_, line) in enumerate(out.iterrows()):
        listed = json.loads(line["reasons"])
        assert [r["text"] for r in listed] == [line[f"reason_{k + 1}"]
                                               for k in range(len(listed))]
        assert all(line[f"reason_{k}"] == "" for k in range(len(listed) + 1, 7))
        assert [r["feature"] for r in listed] == [
            r.feature for r in explanation.row(i).reasons]
    grid = explanation.grid()
    assert len(grid.texts) == 40 and all(len(t) == 6 for t in grid.texts)
    assert np.isnan(grid.effects[np.array(grid.features) == ""]).all()


def test_bad_arguments_are_refused(data: tuple) -> None:
    with pytest.raises(InputError, match="has no predict_proba"):
        Explainer(LinearSVC().fit(data[0][NUMERIC], data[1]), data[3], task="classification")
    with pytest.raises(InputError, match="at least 1"):
        Explainer(LinearRegression(), data[3], task="regression", reasons=0)
    with pytest.raises(InputError, match="is not one reason codes explain"):
        Explainer(LinearRegression(), data[3], task="ranking")
    with pytest.raises(ValueError, match="'causal' is not a valid ReasonMethod"):
        Explainer(LinearRegression(), data[3], task="regression", method="causal")
    explainer = Explainer(LinearRegression(), data[3], task="regression")
    with pytest.raises(InputError, match="no rows"):
        explainer.explain(data[0].iloc[:0])


def test_one_explainer_serves_concurrent_callers_with_the_serial_answers(data: tuple) -> None:
    from concurrent.futures import ThreadPoolExecutor

    model = fitted(GradientBoostingClassifier(random_state=0), data)
    explainer = Explainer(model, data[3], task="classification")  # SHAP built once, shared
    batches = [scored(data, n=40, seed=seed) for seed in range(8)]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(explainer.explain, batches))
    for rows, got in zip(batches, together, strict=True):
        alone = Explainer(model, data[3], task="classification").explain(rows)
        assert got.method is alone.method is ReasonMethod.SHAP
        np.testing.assert_array_equal(got.effects, alone.effects)


def test_an_effect_that_is_a_rounding_error_is_not_a_reason(data) -> None:  # type: ignore[no-untyped-def]
    """Far past the boundary, x2 still nudges the probability up, by a rounding error next
    to x1's effect: it is not listed as a reason (MIN_SHARE), while x1 is."""
    _, _, signature, references = data
    model = fitted(LogisticRegression(max_iter=500), data)
    rows = signature.coerce(pd.DataFrame({
        "x1": [2.0], "x2": [2.0], "x3": [0.0], "region": ["north"], "owner": [False]}))
    explained = Explainer(model, references, task="classification",
                          method=ReasonMethod.SUBSTITUTION).explain(rows)
    x1, x2 = (explained.features.index(f) for f in ("x1", "x2"))
    assert 0 < explained.effects[0, x2] < engine.MIN_SHARE * explained.effects[0, x1]
    assert [r.feature for r in explained.row(0).reasons] == ["x1"]
