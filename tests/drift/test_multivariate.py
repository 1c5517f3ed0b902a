"""Tests for rasad.drift.multivariate: the domain classifier and PCA reconstruction error."""

from __future__ import annotations

import doctest
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from scipy import stats

from rasad.drift.chunking import Chunker, Period
from rasad.drift.multivariate import (
    DEFAULT_AUC_THRESHOLD,
    TIME_COLUMN_REASON,
    DomainClassifierResult,
    PCAReconstructionResult,
    domain_classifier,
    pca_reconstruction,
)
from rasad.drift.reference import NOT_COMPARED
from rasad.errors import InputError
from rasad.tables import ColumnKind

DOCS = Path(__file__).resolve().parents[2] / "docs" / "drift-multivariate.md"


def correlated(n: int, rho: float, rng: np.random.Generator) -> pd.DataFrame:
    """x and y standard normal with correlation rho, plus an independent column."""
    x, z, w = rng.normal(size=(3, n))
    return pd.DataFrame({"x": x, "y": rho * x + np.sqrt(1 - rho**2) * z, "w": w})


def mixed(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Numbers, a category, a boolean and missing values, all from fixed distributions."""
    frame = pd.DataFrame({
        "amount": rng.lognormal(3, 1, n),
        "score": rng.normal(600, 50, n),
        "region": rng.choice(["north", "south", "east", "west"], n, p=[0.4, 0.3, 0.2, 0.1]),
        "active": rng.random(n) < 0.3,
    })
    frame.loc[rng.random(n) < 0.05, "score"] = np.nan
    frame.loc[rng.random(n) < 0.05, "region"] = None
    return frame


# ------------------------------------------------------------------ the correlation change


@pytest.fixture(scope="module")
def correlation_broken() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reference: x and y correlated at 0.8. Current: independent. Marginals identical."""
    rng = np.random.default_rng(11)
    return correlated(3000, 0.8, rng), correlated(3000, 0.0, rng)


def test_univariate_tests_do_not_see_the_correlation_change(correlation_broken) -> None:
    reference, current = correlation_broken
    for column in reference.columns:
        assert stats.ks_2samp(reference[column], current[column]).pvalue > 0.01


def test_domain_classifier_catches_the_correlation_change(correlation_broken) -> None:
    result = domain_classifier(*correlation_broken)
    assert result.drifted
    assert result.roc_auc > 0.65 and result.p_value < 1e-6
    assert set(result.top_features) == {"x", "y"}  # w, unchanged, is not named
    assert result.importances[-1].column == "w"


def test_pca_catches_the_correlation_change(correlation_broken) -> None:
    result = pca_reconstruction(*correlation_broken)
    assert result.drifted
    assert result.current_error > 1.5 * result.upper_threshold


def test_domain_classifier_catches_a_new_correlation() -> None:
    rng = np.random.default_rng(12)
    reference, current = correlated(3000, 0.0, rng), correlated(3000, 0.8, rng)
    for column in reference.columns:
        assert stats.ks_2samp(reference[column], current[column]).pvalue > 0.01
    result = domain_classifier(reference, current)
    assert result.drifted and set(result.top_features) == {"x", "y"}


def test_pca_keeps_every_component_of_two_independent_columns() -> None:
    # Documented limit: two independent columns need both components to reach 65% of
    # the variance, so nothing is left out to measure, and a new correlation is unseen.
    rng = np.random.default_rng(13)
    reference, current = correlated(2000, 0.0, rng), correlated(2000, 0.8, rng)
    result = pca_reconstruction(reference, current, columns=["x", "y"])
    assert result.n_components == 2 and result.explained_variance == pytest.approx(1.0)
    assert result.current_error == 0.0 and not result.drifted


# ------------------------------------------------------------------ no false alarm


@pytest.mark.parametrize("seed", [0, 1])
def test_no_false_alarm_on_two_samples_of_one_distribution(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    reference, current = mixed(4000, rng), mixed(3000, rng)
    classifier = domain_classifier(reference, current, seed=seed)
    assert not classifier.drifted
    assert abs(classifier.roc_auc - 0.5) < 0.03 and classifier.top_features == ()
    assert not pca_reconstruction(reference, current).drifted
    assert not pca_reconstruction(reference, current, chunker=Chunker(number=4)).drifted


def test_small_samples_do_not_flag_on_noise() -> None:
    # At 40 rows a side a held-out AUC above 0.55 is noise; the p-value rule holds it back.
    results = []
    for seed in range(8):
        rng = np.random.default_rng(300 + seed)
        results.append(domain_classifier(mixed(40, rng), mixed(40, rng), seed=seed))
    assert not any(result.drifted for result in results)
    assert max(result.roc_auc for result in results) > DEFAULT_AUC_THRESHOLD


# ------------------------------------------------------------------ other drifts


def test_domain_classifier_names_the_shifted_columns() -> None:
    rng = np.random.default_rng(21)
    reference, current = mixed(3000, rng), mixed(3000, rng)
    current["score"] += 25  # half a standard deviation
    current["region"] = rng.choice(["north", "south", "east", "west"], 3000,
                                   p=[0.1, 0.2, 0.3, 0.4])
    result = domain_classifier(reference, current)
    assert result.drifted
    assert set(result.top_features[:2]) == {"score", "region"}
    assert [item.column for item in result.importances][:2] == list(result.top_features[:2])


def test_domain_classifier_sees_a_change_in_missing_values() -> None:
    rng = np.random.default_rng(22)
    reference, current = mixed(3000, rng), mixed(3000, rng)
    current.loc[rng.random(3000) < 0.3, "amount"] = np.nan
    result = domain_classifier(reference, current)
    assert result.drifted and result.top_features[0] == "amount"


def test_pca_reports_every_chunk_and_flags_the_changed_ones() -> None:
    rng = np.random.default_rng(23)
    reference = correlated(4000, 0.8, rng)
    current = pd.concat([correlated(1000, 0.8, rng), correlated(1000, 0.0, rng)],
                        ignore_index=True)
    result = pca_reconstruction(reference, current, chunker=Chunker(size=500))
    assert [chunk.key for chunk in result.chunks] == [
        "[0:500]", "[500:1000]", "[1000:1500]", "[1500:2000]"]
    assert [chunk.drifted for chunk in result.chunks] == [False, False, True, True]
    assert result.drifted and result.reference_chunks == 8
    for chunk in result.chunks:
        assert chunk.lower_threshold == result.lower_threshold
        assert chunk.upper_threshold == result.upper_threshold


def test_pca_chunks_by_time_and_leaves_the_time_column_out() -> None:
    rng = np.random.default_rng(24)
    reference = correlated(3000, 0.8, rng)
    reference["day"] = pd.date_range("2025-01-01", periods=3000, freq="h")
    current = correlated(1000, 0.0, rng)
    current["day"] = pd.date_range("2025-06-01", periods=1000, freq="h")
    result = pca_reconstruction(reference, current,
                                chunker=Chunker(period=Period.WEEK, time_column="day"))
    assert "day" not in result.columns
    assert result.chunks[0].start == "2025-06-01T00:00:00"
    assert all(chunk.drifted for chunk in result.chunks)


def test_pca_widens_the_band_for_a_small_current() -> None:
    rng = np.random.default_rng(25)
    reference, current = correlated(10_000, 0.8, rng), correlated(100, 0.8, rng)
    small = pca_reconstruction(reference, current)
    chunk_band = small.chunk_error_mean + 3 * small.chunk_error_std
    assert small.upper_threshold == pytest.approx(
        small.chunk_error_mean + 3 * small.chunk_error_std * np.sqrt(1000 / 100))
    assert small.upper_threshold > chunk_band and not small.drifted


def test_pca_sees_a_column_that_was_constant() -> None:
    rng = np.random.default_rng(26)
    reference, current = correlated(2000, 0.8, rng), correlated(2000, 0.8, rng)
    reference["flag"], current["flag"] = 1.0, rng.normal(1.0, 0.5, 2000)
    assert pca_reconstruction(reference, current).drifted


def test_many_rare_categories_count_through_target_encoding() -> None:
    # 400 categories of about 5 rows each: too rare for a tree to split on one by one.
    rng = np.random.default_rng(27)
    reference = pd.DataFrame({"city": rng.integers(0, 400, 2000).astype(str),
                              "x": rng.normal(size=2000)})
    current = pd.DataFrame({"city": rng.integers(0, 400, 2000).astype(str),
                            "x": rng.normal(size=2000)})
    assert not domain_classifier(reference, current).drifted
    current["city"] = "new-" + current["city"]  # every category unseen in the reference
    result = domain_classifier(reference, current)
    assert result.drifted and result.top_features == ("city",)


def test_very_unequal_sides() -> None:
    rng = np.random.default_rng(30)
    result = domain_classifier(correlated(12, 0.5, rng), correlated(5000, 0.5, rng))
    assert not result.drifted and result.sampled_current_rows == 5000


def test_infinities_count_as_missing_values() -> None:
    rng = np.random.default_rng(28)
    reference, current = correlated(2000, 0.5, rng), correlated(2000, 0.5, rng)
    reference.loc[:3, "x"] = np.inf
    assert not domain_classifier(reference, current).drifted
    assert np.isfinite(pca_reconstruction(reference, current).current_error)


# ------------------------------------------------------------------ results and settings


def test_results_are_frozen_and_render_to_json(correlation_broken) -> None:
    classifier = domain_classifier(*correlation_broken, max_rows=1000)
    pca = pca_reconstruction(*correlation_broken, chunker=Chunker(number=3))
    for result in (classifier, pca):
        with pytest.raises(ValidationError, match="frozen"):
            result.drifted = False  # type: ignore[misc]
        data = json.loads(json.dumps(result.to_dict()))
        assert data["method"] == result.method and data["drifted"] is True
    assert isinstance(classifier, DomainClassifierResult)
    assert isinstance(pca, PCAReconstructionResult)
    assert len(json.loads(json.dumps(pca.to_dict()))["chunks"]) == 3


def test_domain_classifier_subsamples_each_side_deterministically(correlation_broken) -> None:
    first = domain_classifier(*correlation_broken, max_rows=500, seed=3)
    again = domain_classifier(*correlation_broken, max_rows=500, seed=3)
    other = domain_classifier(*correlation_broken, max_rows=500, seed=4)
    assert first == again
    assert first.fold_roc_auc != other.fold_roc_auc
    assert (first.reference_rows, first.sampled_reference_rows) == (3000, 500)
    assert (first.current_rows, first.sampled_current_rows) == (3000, 500)
    assert len(first.fold_roc_auc) == first.folds == 5


def test_explicit_columns_and_component_counts(correlation_broken) -> None:
    reference, current = correlation_broken
    assert domain_classifier(reference, current, columns=["w"], max_rows=1000).columns == ("w",)
    result = pca_reconstruction(reference, current, n_components=1)
    assert result.n_components == 1 and result.columns == ("x", "y", "w")


def with_ids_and_times(frame: pd.DataFrame, first: int, start: str) -> pd.DataFrame:
    """Columns that differ between a reference and a later sample by construction."""
    n = len(frame)
    days = pd.date_range(start, periods=n, freq="h")
    return frame.assign(
        application_id=[f"APP-{first + i:07d}" for i in range(n)],  # unique text
        id=np.arange(first, first + n),  # unique integers named like an identifier
        at=days,  # timestamps
        day=days.strftime("%Y-%m-%d"),  # ISO dates as text
        month=days.strftime("%Y-%m"),  # month labels as text
        note=[f"called on {d:%A} about loan {first + i}, customer asked to wait" for i, d in
              enumerate(days)],  # free text
    )


LEFT_OUT = {"application_id": "identifier", "id": "identifier", "at": "datetime",
            "day": "datetime", "month": "datetime", "note": "text"}


@pytest.fixture(scope="module")
def alike_but_later() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both sides drawn alike; only identifiers, times and notes tell them apart."""
    rng = np.random.default_rng(29)
    return (with_ids_and_times(mixed(1500, rng), 1, "2024-01-01"),
            with_ids_and_times(mixed(1500, rng), 50_000, "2025-06-01"))


def test_identifiers_times_and_text_are_left_out_with_a_reason(alike_but_later) -> None:
    reference, current = alike_but_later
    for result in (domain_classifier(reference, current), pca_reconstruction(reference, current)):
        assert result.columns == ("amount", "score", "active", "region")
        assert {item.column: item.kind.value for item in result.excluded} == LEFT_OUT
        reasons = {item.column: item.reason for item in result.excluded}
        assert reasons["id"] == NOT_COMPARED[ColumnKind.IDENTIFIER]
        assert reasons["month"] == NOT_COMPARED[ColumnKind.DATETIME]
        assert reasons["note"] == NOT_COMPARED[ColumnKind.TEXT]
        assert not result.drifted, result
        assert result.to_dict()["excluded"] == [item.to_dict() for item in result.excluded]


def test_without_leaving_them_out_the_classifier_sees_only_time(alike_but_later) -> None:
    """The bug this guards against: kinds that keep the identifiers make the sides trivially
    separable, which is what the domain classifier reported on the demo (ROC AUC 1.000)."""
    reference, current = alike_but_later
    kept = {"application_id": "categorical", "id": "numeric"}
    result = domain_classifier(reference, current, kinds=kept)
    assert result.roc_auc > 0.99 and result.drifted
    assert {"application_id", "id"} <= set(result.columns)
    assert "id" in result.top_features or "application_id" in result.top_features


def test_named_columns_are_left_out_too_and_kinds_decide(alike_but_later) -> None:
    reference, current = alike_but_later
    result = pca_reconstruction(reference, current, columns=["amount", "score", "at", "id"])
    assert result.columns == ("amount", "score")
    assert [item.column for item in result.excluded] == ["at", "id"]
    # A declared identifier (say, from rasad.yaml) is left out although it is a number.
    declared = domain_classifier(reference, current, columns=["amount", "score"],
                                 kinds={"score": ColumnKind.IDENTIFIER}, max_rows=1000)
    assert declared.columns == ("amount",)
    assert [(e.column, e.kind) for e in declared.excluded] == [("score",
                                                                ColumnKind.IDENTIFIER)]


def test_the_chunks_time_column_is_left_out(alike_but_later) -> None:
    reference, current = alike_but_later
    reference, current = reference.drop(columns="at"), current.drop(columns="at")
    chunker = Chunker(period=Period.MONTH, time_column="day")
    result = pca_reconstruction(reference, current, chunker=chunker, kinds={"day": "categorical"})
    assert "day" not in result.columns
    assert ("day", TIME_COLUMN_REASON) in [(e.column, e.reason) for e in result.excluded]


def test_nothing_left_is_an_input_error(alike_but_later) -> None:
    reference, current = alike_but_later
    with pytest.raises(InputError, match=r"No column is left.*'id': identifier columns"):
        domain_classifier(reference, current, columns=["id", "at"])
    with pytest.raises(InputError, match="Kind 'number' for column 'amount'"):
        pca_reconstruction(reference, current, kinds={"amount": "number"})


def test_a_datetime_column_given_another_kind_is_an_input_error() -> None:
    rng = np.random.default_rng(30)
    reference, current = correlated(500, 0.0, rng), correlated(500, 0.0, rng)
    reference["at"] = pd.date_range("2024-01-01", periods=500, freq="D")
    current["at"] = pd.date_range("2026-01-01", periods=500, freq="D")
    with pytest.raises(InputError, match="'at' holds dates or times but is given as numeric"):
        domain_classifier(reference, current, kinds={"at": "numeric"})


def test_equal_category_shares_do_not_blow_up_the_reconstruction_error() -> None:
    """Ten equally common categories all have share 0.1, whose standard deviation comes
    out as rounding noise (1.4e-17, not 0); dividing by it made errors of 3e15."""
    rng = np.random.default_rng(31)

    def side() -> pd.DataFrame:  # four copies of one factor: one component holds 65%
        x = rng.normal(size=1000)
        return pd.DataFrame({f"x{j}": x + 0.1 * rng.normal(size=1000) for j in range(4)})

    reference, current = side(), side()
    reference["batch"] = np.repeat([f"b{i}" for i in range(10)], 100)
    current["batch"] = "b10"  # a category the reference never had: share 0
    assert reference["batch"].map(reference["batch"].value_counts(normalize=True)).std() > 0
    result = pca_reconstruction(reference, current)
    assert "batch" in result.columns and result.n_components == 1
    assert result.current_error < 1 and result.upper_threshold < 1
    assert result.drifted  # the whole current is one new category: a real change


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda r, c: domain_classifier(r.iloc[:0], c), "reference has no rows"),
        (lambda r, c: pca_reconstruction(r, c.iloc[:0]), "current has no rows"),
        (lambda r, c: domain_classifier(r, c, columns=["x", "nope"]), "'nope' not in the"),
        (lambda r, c: pca_reconstruction(r.rename(columns=str.upper), c), "no column in common"),
        (lambda r, c: domain_classifier(r, c.assign(x="text")), "'x' is numeric on one side"),
        (lambda r, c: domain_classifier(r, c, folds=1), r"folds=1 is out of range"),
        (lambda r, c: domain_classifier(r, c, threshold=1.5), "threshold=1.5"),
        (lambda r, c: domain_classifier(r.iloc[:3], c), "needs at least one per fold"),
        (lambda r, c: pca_reconstruction(r, c, n_components=1.0), "n_components=1.0"),
        (lambda r, c: pca_reconstruction(r, c, n_components=4), "use 1 to 3"),
        (lambda r, c: pca_reconstruction(r, c, n_components="all"),  # type: ignore[arg-type]
         "share of variance"),
        (lambda r, c: pca_reconstruction(r.iloc[:1], c), "needs at least 2"),
        (lambda r, c: domain_classifier(r.to_numpy(), c), "must be a pandas DataFrame"),
    ],
)
def test_bad_input_is_an_input_error(correlation_broken, call, message: str) -> None:
    with pytest.raises(InputError, match=message):
        call(*correlation_broken)


def test_docs_examples_run() -> None:
    failures, tried = doctest.testfile(str(DOCS), module_relative=False,
                                       optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried > 0 and failures == 0
