"""compare(): figures equal SciPy's, statuses instead of crashes, corrections, chunks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from scipy import stats

from rasad.drift import (
    Chunker,
    ColumnStatus,
    Correction,
    DriftPolicy,
    Method,
    MethodSpec,
    Period,
    ValueKind,
    compare,
)
from rasad.errors import InputError, NotFoundError
from rasad.examples import DRIFTED_COLUMNS, generate_drift_pair
from rasad.tables import ColumnKind


@pytest.fixture(scope="module")
def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(11)
    n = 3000
    reference = pd.DataFrame({
        "income": rng.lognormal(3, 0.5, n),
        "age": rng.integers(18, 80, n),
        "region": rng.choice(["north", "south", "east", "west"], n, p=[0.4, 0.3, 0.2, 0.1]),
        "member": rng.random(n) < 0.3,
    })
    current = pd.DataFrame({
        "income": rng.lognormal(3.2, 0.5, n),
        "age": rng.integers(18, 80, n),
        "region": rng.choice(["north", "south", "east", "west"], n, p=[0.25, 0.25, 0.25, 0.25]),
        "member": rng.random(n) < 0.31,
    })
    return reference, current


def test_p_values_equal_scipys_on_the_same_data(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    reference, current = frames
    report = compare(reference, current, policy=DriftPolicy(correction=Correction.NONE))
    for name in ("income", "age"):
        ks = report.column(name).result(Method.KS)
        expected = stats.ks_2samp(reference[name], current[name])
        assert (ks.statistic, ks.p_value) == (expected.statistic, expected.pvalue)
        w = report.column(name).result(Method.WASSERSTEIN).statistic
        assert w == pytest.approx(stats.wasserstein_distance(reference[name], current[name])
                                  / reference[name].std(), rel=1e-12)
    chi = report.column("region").result(Method.CHI_SQUARE)
    labels = reference["region"].value_counts().index  # the report's order: reference's counts
    table = np.array([reference["region"].value_counts()[labels],
                      current["region"].value_counts()[labels]])
    expected_chi = stats.chi2_contingency(table)
    assert (chi.statistic, chi.p_value) == (expected_chi.statistic, expected_chi.pvalue)
    z = report.column("member").result(Method.Z_TEST)
    counts = [[(~reference.member).sum(), reference.member.sum()],
              [(~current.member).sum(), current.member.sum()]]
    assert z.p_value == pytest.approx(
        stats.chi2_contingency(np.array(counts), correction=False).pvalue, rel=1e-10)
    assert report.column("member").value_kind is ValueKind.BINARY


def test_drift_decided_by_significance_and_size(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    report = compare(*frames)
    assert report.drifted_columns == ("income", "region")
    income = report.column("income")
    assert [r.method for r in income.results] == [Method.KS, Method.WASSERSTEIN, Method.PSI,
                                                   Method.JENSEN_SHANNON]
    assert [r.deciding for r in income.results] == [True, True, False, False]
    assert income.rule.startswith("numeric column with 3,000 values on the smaller side")
    assert income.reason.startswith("values drifted: ks adjusted p=")
    member = report.column("member")
    assert not member.drifted and member.reason.startswith("values did not drift: z_test")


def test_a_significant_but_tiny_shift_is_not_drift() -> None:
    rng = np.random.default_rng(2)
    reference = pd.DataFrame({"x": rng.normal(size=200_000)})
    current = pd.DataFrame({"x": rng.normal(0.03, 1, size=200_000)})
    column = compare(reference, current).column("x")
    assert column.result("ks").drifted  # p far below 0.05 at this size...
    assert not column.drifted           # ...but 0.03 std is below the 0.1 effect threshold
    assert "(though ks adjusted p=" in column.reason


def test_override_changes_the_deciding_rule(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    policy = DriftPolicy(overrides={"income": MethodSpec("psi", threshold=5.0)})
    column = compare(*frames, policy=policy).column("income")
    assert [r.method for r in column.results] == [Method.PSI]
    assert column.rule == "override for column 'income'" and not column.drifted


def test_corrections_adjust_the_deciding_p_values(frames: tuple[pd.DataFrame, pd.DataFrame]
                                                  ) -> None:
    raw = compare(*frames, policy=DriftPolicy(correction="none"))
    family = [r.p_value for c in raw.columns for r in c.results
              if r.deciding and r.p_value is not None]
    family += [c.missing.p_value for c in raw.columns if c.missing is not None]
    for correction, adjust in (
            ("benjamini-hochberg", lambda p: stats.false_discovery_control(p, method="bh")),
            ("bonferroni", lambda p: np.minimum(np.asarray(p) * len(p), 1.0))):
        report = compare(*frames, policy=DriftPolicy(correction=correction))
        adjusted = [r.adjusted_p_value for c in report.columns for r in c.results
                    if r.deciding and r.p_value is not None]
        adjusted += [c.missing.adjusted_p_value for c in report.columns if c.missing is not None]
        np.testing.assert_allclose(adjusted, adjust(family), rtol=1e-12)
    assert all(r.adjusted_p_value is None for c in raw.columns for r in c.results)


def test_dataset_verdict_follows_the_drift_share(frames: tuple[pd.DataFrame, pd.DataFrame]
                                                 ) -> None:
    assert compare(*frames).drifted  # two of four columns
    report = compare(*frames, policy=DriftPolicy(drift_share=0.75))
    assert (report.drifted, report.n_drifted, report.n_counted, report.share) == \
        (False, 2, 4, 0.5)
    assert report.reason == "no drift: 2 of 4 counted columns drifted (50%), at least 75% needed"


def test_columns_that_cannot_be_compared_get_a_status_not_a_crash() -> None:
    n = 500
    rng = np.random.default_rng(5)
    reference = pd.DataFrame({
        "steady": np.full(n, 3.0), "switched": np.full(n, 3.0), "label": ["a"] * n,
        "empty": [None] * n, "lost": rng.normal(size=n), "amount": rng.normal(size=n),
        "customer_id": np.arange(n), "only_ref": 1.0, "x": rng.normal(size=n)})
    current = pd.DataFrame({
        "steady": np.full(n, 3.0), "switched": np.where(np.arange(n) < 100, 4.0, 3.0),
        "label": ["a"] * (n - 100) + ["b"] * 100, "empty": [None] * n,
        "lost": np.full(n, np.nan), "amount": ["12.5 SAR"] * n,
        "customer_id": np.arange(n) + n, "only_cur": "z", "x": rng.normal(size=n)})
    report = compare(reference, current)
    status = {c.name: c.status for c in report.columns}
    assert status == {
        "steady": ColumnStatus.CONSTANT, "switched": ColumnStatus.CONSTANT,
        "label": ColumnStatus.CONSTANT, "empty": ColumnStatus.ALL_MISSING,
        "lost": ColumnStatus.ALL_MISSING, "amount": ColumnStatus.KIND_MISMATCH,
        "customer_id": ColumnStatus.NOT_TESTED, "only_ref": ColumnStatus.REFERENCE_ONLY,
        "x": ColumnStatus.TESTED, "only_cur": ColumnStatus.CURRENT_ONLY}
    assert not report.column("steady").drifted
    assert report.column("switched").drifted  # 20% of values left the constant
    assert [(new.category, new.share) for new in report.column("label").new_categories] == [
        ("b", 0.2)]
    assert report.column("lost").drifted and report.column("lost").missing.current_share == 1.0
    assert report.column("amount").reason == \
        "the reference holds numbers but the current data holds text (string)"
    assert "identifier" in report.column("customer_id").reason
    assert report.n_counted == 6
    json.dumps(report.to_dict(), allow_nan=False)


def test_new_categories_are_named_with_their_share() -> None:
    reference = pd.DataFrame({"city": ["riyadh"] * 60 + ["jeddah"] * 40})
    current = pd.DataFrame({"city": ["riyadh"] * 50 + ["dammam"] * 30 + ["abha"] * 20})
    column = compare(reference, current).column("city")
    assert [(new.category, new.share) for new in column.new_categories] == [
        ("dammam", 0.3), ("abha", 0.2)]
    assert column.value_kind is ValueKind.CATEGORICAL and column.drifted


def test_missing_share_is_tested_on_its_own() -> None:
    rng = np.random.default_rng(9)
    values = rng.normal(size=4000)
    current = values.copy()
    current[rng.random(4000) < 0.1] = np.nan
    column = compare(pd.DataFrame({"x": values}), pd.DataFrame({"x": current})).column("x")
    missing = column.missing
    assert missing is not None and missing.reference_share == 0.0
    assert missing.current_share == pytest.approx(0.1, abs=0.02) and missing.drifted
    assert column.drifted and not column.result("ks").drifted
    assert "missing share drifted: 0.0% -> " in column.reason


def test_too_few_values_are_reported_not_tested() -> None:
    report = compare(pd.DataFrame({"x": np.arange(50.0)}), pd.DataFrame({"x": [1.0, 2.0]}))
    column = report.column("x")
    assert column.status is ColumnStatus.TOO_FEW_VALUES and column.results == ()
    assert "no rule applies below 10 values" in column.reason


def test_arrow_tables_give_the_same_report(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    reference, current = frames
    from_frames = compare(reference, current)
    from_tables = compare(pa.Table.from_pandas(reference), pa.Table.from_pandas(current))
    assert from_tables.to_dict() == from_frames.to_dict()


def test_files_are_read_too(frames: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path) -> None:
    reference, current = frames
    reference.to_parquet(tmp_path / "ref.parquet")
    current.to_csv(tmp_path / "cur.csv", index=False)
    report = compare(tmp_path / "ref.parquet", tmp_path / "cur.csv")
    assert report.drifted_columns == compare(reference, current).drifted_columns


def test_kinds_can_be_given(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    column = compare(*frames, kinds={"age": ColumnKind.CATEGORICAL}).column("age")
    assert column.value_kind is ValueKind.CATEGORICAL
    assert compare(*frames, kinds={"age": "identifier"}).column("age").status is \
        ColumnStatus.NOT_TESTED
    with pytest.raises(InputError, match="Kind 'size' for column 'age'"):
        compare(*frames, kinds={"age": "size"})


@pytest.mark.parametrize(("reference", "current", "message"), [
    (pd.DataFrame({"x": []}), pd.DataFrame({"x": [1.0]}), "Reference data: .*no data rows"),
    (pd.DataFrame({"x": [1.0]}), pa.table({"x": pa.array([], pa.float64())}),
     "Current data: .*no data rows"),
    (pd.DataFrame({"x": [1.0]}), pd.DataFrame({"y": [1.0]}),
     "no column in common.*reference columns are 'x', current columns are 'y'"),
])
def test_bad_inputs_are_input_errors(reference: object, current: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        compare(reference, current)  # type: ignore[arg-type]


def test_unknown_columns_are_named(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    with pytest.raises(InputError, match="'salary' are in neither side"):
        compare(*frames, columns=["income", "salary"])
    report = compare(*frames, columns=["region"])
    assert [c.name for c in report.columns] == ["region"]
    with pytest.raises(NotFoundError, match="no column 'income'"):
        report.column("income")


def test_chunks_are_compared_against_the_same_reference(
        frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    reference, current = frames
    report = compare(reference, current, chunker=Chunker(size=1000))
    assert [(c.key, c.rows) for c in report.chunks] == \
        [("[0:1000]", 1000), ("[1000:2000]", 1000), ("[2000:3000]", 1000)]
    alone = compare(reference, current.iloc[1000:2000])
    chunk = report.chunks[1]
    for name in reference.columns:
        assert chunk.column(name).to_dict() == alone.column(name).to_dict()
    assert (chunk.drifted, chunk.n_drifted) == (alone.drifted, alone.n_drifted)


def test_chunks_by_period_leave_the_time_column_out() -> None:
    rng = np.random.default_rng(4)
    days = pd.date_range("2025-01-01", periods=90, freq="D").repeat(50)
    reference = pd.DataFrame({"x": rng.normal(size=2000)})
    shift = np.where(days >= pd.Timestamp("2025-03-01"), 1.0, 0.0)
    current = pd.DataFrame({"day": days, "x": rng.normal(size=len(days)) + shift})
    report = compare(reference, current,
                     chunker=Chunker(period=Period.MONTH, time_column="day"))
    assert [c.name for c in report.columns] == ["x"]
    assert [(c.key, c.drifted) for c in report.chunks] == \
        [("2025-01", False), ("2025-02", False), ("2025-03", True)]
    assert report.chunks[0].start == "2025-01-01T00:00:00"


def test_peers_tables_flag_exactly_the_injected_columns() -> None:
    reference, current = generate_drift_pair(20_000)
    report = compare(reference, current)
    assert sorted(report.drifted_columns) == list(DRIFTED_COLUMNS)


def test_docs_examples_run() -> None:
    # Every ```python block of docs/drift.md runs, in order, in one namespace.
    text = (Path(__file__).resolve().parents[2] / "docs" / "drift.md").read_text()
    blocks = [part.split("```", 1)[0] for part in text.split("```python\n")[1:]]
    assert len(blocks) >= 4
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, "docs/drift.md", "exec"), namespace)  # noqa: S102
