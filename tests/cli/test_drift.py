"""`rasad drift REFERENCE CURRENT`: on files without a project, and on a project's datasets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from rasad import Project
from rasad.monitoring.results import load_payload

from ._helpers import Cli, Result, assert_user_error, snapshot

NUMERIC = ("income", "age", "score")
REGIONS = ["north", "south", "east", "west"]


def _side(rng: np.random.Generator, rows: int, *, drift: bool) -> pd.DataFrame:
    """Loan applications; ``drift`` moves income up and reshuffles the regions."""
    return pd.DataFrame({
        "income": rng.lognormal(3.6 if drift else 3.0, 0.5, rows),
        "age": rng.normal(40, 10, rows),
        "score": rng.uniform(0, 1, rows),
        "region": rng.choice(REGIONS, rows, p=[0.1, 0.2, 0.3, 0.4] if drift
                             else [0.4, 0.3, 0.2, 0.1]),
    })


def _week_days(rows: int) -> pd.Series:
    """Timestamps on Wednesdays to Fridays of the weeks starting Monday 6, 13 and 20 January
    2025, in order, a third of the rows in each week."""
    days = [pd.Timestamp("2025-01-06") + pd.Timedelta(days=7 * week + day)
            for week in range(3) for day in (2, 3, 4)]
    per_day = rows // len(days)
    stamps = [day + pd.Timedelta(minutes=10 * i) for day in days for i in range(per_day)]
    return pd.Series(stamps, name="day")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """reference.csv; drifted.parquet (income and region drift); same.parquet (no drift);
    weekly.parquet (drifted, with a `day` time column)."""
    folder = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(20250106)
    reference = _side(rng, 450, drift=False)
    reference.to_csv(folder / "reference.csv", index=False)
    _side(rng, 360, drift=True).to_parquet(folder / "drifted.parquet")
    _side(rng, 360, drift=False).to_parquet(folder / "same.parquet")
    weekly = _side(rng, 360, drift=True)
    weekly["day"] = _week_days(360)
    weekly.to_parquet(folder / "weekly.parquet")
    return {"reference": folder / "reference.csv", "drifted": folder / "drifted.parquet",
            "same": folder / "same.parquet", "weekly": folder / "weekly.parquet"}


@pytest.fixture
def rasad(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
          tmp_path: Path) -> Cli:
    """`rasad` run from an empty folder: no project anywhere."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return Cli(capsys)


def _rows(out: str, names: tuple[str, ...]) -> dict[str, list[str]]:
    """The first line of each column's row in the printed table, as cells."""
    rows = {}
    for line in out.splitlines():
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if cells and cells[0] in names and cells[0] not in rows:
            rows[cells[0]] = cells
    return rows


def _text(out: str) -> str:
    """Printed output with line wrapping undone (long paths wrap at 160 columns)."""
    return " ".join(out.split())


def _by_name(columns: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {column["name"]: column for column in columns}


def _result(column: dict[str, Any], method: str) -> dict[str, Any]:
    return next(r for r in column["results"] if r["method"] == method)


def _frame(path: Path) -> pd.DataFrame:
    return pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)


# --- files, no project --------------------------------------------------------------------


def test_files_without_a_project(rasad: Cli, data: dict[str, Path], tmp_path: Path) -> None:
    result = rasad.ok("drift", data["reference"], data["drifted"])
    assert _text(result.out).startswith(
        f"{data['drifted']} against {data['reference']}: drift (drift: 2 of 4 counted columns "
        "drifted (50%), at least one needed)")
    rows = _rows(result.out, ("income", "age", "score", "region"))
    assert {name: cells[3] for name, cells in rows.items()} == {
        "income": "yes", "region": "yes", "age": "no", "score": "no"}
    assert rows["income"][1:3] == ["numeric", "tested"]
    assert rows["income"][4].startswith("values drifted: ks adjusted p=")
    assert rows["region"][4].startswith("values drifted: chi_square adjusted p=")
    assert rows["age"][4].startswith("values did not drift: ks adjusted p=")
    assert "report:" not in result.out
    assert list((tmp_path / "work").iterdir()) == []  # nothing written without --json/--html


def test_fail_on_drift(rasad: Cli, data: dict[str, Path]) -> None:
    drifted = rasad("drift", data["reference"], data["drifted"], "--fail-on-drift")
    assert drifted.code == 1, str(drifted)
    assert ": drift (drift: 2 of 4" in _text(drifted.out) and drifted.err == ""
    same = rasad("drift", data["reference"], data["same"], "--fail-on-drift")
    assert same.code == 0, str(same)
    assert ": no drift (no drift: 0 of 4 counted columns drifted" in _text(same.out)


def test_json_holds_every_figure(rasad: Cli, data: dict[str, Path], tmp_path: Path) -> None:
    target = tmp_path / "out" / "drift.json"  # its folder is created
    result = rasad.ok("drift", data["reference"], data["drifted"], "-o", target)
    assert f"JSON report: {target}" in result.out
    payload = json.loads(target.read_text(encoding="utf-8"))
    assert (payload["reference"], payload["current"]) == (str(data["reference"]),
                                                          str(data["drifted"]))
    assert payload["multivariate"] == []
    report = payload["drift"]
    assert report["drifted"] is True
    assert report["drifted_columns"] == ["income", "region"]
    assert (report["n_drifted"], report["n_counted"], report["share"]) == (2, 4, 0.5)
    assert (report["reference_rows"], report["current_rows"]) == (450, 360)
    assert report["chunks"] == []
    assert report["policy"]["alpha"] == 0.05

    reference, current = _frame(data["reference"]), _frame(data["drifted"])
    columns = _by_name(report["columns"])
    assert list(columns) == ["income", "age", "score", "region"]
    for name in NUMERIC:
        ks = _result(columns[name], "ks")
        expected = stats.ks_2samp(reference[name], current[name])
        assert ks["p_value"] == expected.pvalue, name
        assert ks["statistic"] == pytest.approx(expected.statistic, abs=1e-15), name
        assert ks["adjusted_p_value"] >= ks["p_value"]
        wasserstein = _result(columns[name], "wasserstein")
        assert wasserstein["statistic"] == pytest.approx(
            stats.wasserstein_distance(reference[name], current[name])
            / reference[name].std(ddof=1), rel=1e-9), name
        assert columns[name]["histogram"]["edges"] and columns[name]["reference"]["rows"] == 450
    table = pd.crosstab(pd.concat([reference["region"], current["region"]]),
                        np.repeat([0, 1], [450, 360])).to_numpy().T
    chi = _result(columns["region"], "chi_square")
    assert chi["p_value"] == pytest.approx(stats.chi2_contingency(table).pvalue, rel=1e-9)
    assert sorted(columns["region"]["histogram"]["labels"]) == sorted(REGIONS)
    for name, column in columns.items():
        assert column["status"] == "tested"
        assert column["drifted"] is (name in ("income", "region"))
        assert column["missing"]["difference"] == 0.0


def test_json_flag_prints_the_report_and_nothing_else(rasad: Cli, data: dict[str, Path],
                                                     tmp_path: Path) -> None:
    target = tmp_path / "drift.json"
    result = rasad("drift", data["reference"], data["drifted"], "--json", "-o", target,
                   "--fail-on-drift")
    assert result.code == 1, str(result)  # the verdict still sets the exit code
    printed = result.json()  # stdout is one JSON document: no table, no "JSON report:" line
    assert printed == json.loads(target.read_text(encoding="utf-8"))
    assert set(printed) == {"reference", "current", "drift", "multivariate"}
    assert printed["drift"]["drifted_columns"] == ["income", "region"]
    plain = rasad.ok("drift", data["reference"], data["same"], "--json")
    assert plain.json()["drift"]["drifted"] is False and plain.err == ""
    assert list((tmp_path / "work").iterdir()) == []  # --json alone writes no file


def test_columns_restrict_the_comparison(rasad: Cli, data: dict[str, Path],
                                         tmp_path: Path) -> None:
    target = tmp_path / "drift.json"
    result = rasad.ok("drift", data["reference"], data["drifted"], "--columns", " region, age ",
                      "-o", target)
    assert set(_rows(result.out, ("income", "age", "score", "region"))) == {"region", "age"}
    report = json.loads(target.read_text())["drift"]
    assert [c["name"] for c in report["columns"]] == ["region", "age"]
    assert report["drifted_columns"] == ["region"]
    assert (report["n_drifted"], report["n_counted"]) == (1, 2)


def test_chunks_by_size(rasad: Cli, data: dict[str, Path], tmp_path: Path) -> None:
    target = tmp_path / "drift.json"
    rasad.ok("drift", data["reference"], data["drifted"], "--chunk-size", "150", "-o", target)
    report = json.loads(target.read_text())["drift"]
    chunks = report["chunks"]
    assert [(c["key"], c["rows"]) for c in chunks] == [
        ("[0:150]", 150), ("[150:300]", 150), ("[300:360]", 60)]
    reference, current = _frame(data["reference"]), _frame(data["drifted"])
    for chunk, start in zip(chunks, (0, 150, 300), strict=True):
        part = current.iloc[start:start + chunk["rows"]]
        columns = _by_name(chunk["columns"])
        assert list(columns) == ["income", "age", "score", "region"]
        for name in NUMERIC:
            assert _result(columns[name], "ks")["p_value"] == stats.ks_2samp(
                reference[name], part[name]).pvalue, (chunk["key"], name)
        assert columns["income"]["drifted"] and columns["income"]["current"]["rows"] == len(part)
        assert chunk["n_counted"] == 4
        assert chunk["drifted"] is True
    # The whole-data figures are still there, unchanged by chunking.
    assert report["drifted_columns"] == ["income", "region"]


def test_chunks_by_week(rasad: Cli, data: dict[str, Path], tmp_path: Path) -> None:
    target = tmp_path / "drift.json"
    rasad.ok("drift", data["reference"], data["weekly"], "--chunk-period", "week",
             "--time-column", "day", "-o", target)
    report = json.loads(target.read_text())["drift"]
    current = _frame(data["weekly"])
    reference = _frame(data["reference"])
    weeks = [current.iloc[i * 120:(i + 1) * 120] for i in range(3)]
    chunks = report["chunks"]
    assert [c["rows"] for c in chunks] == [120, 120, 120]
    assert "day" not in [c["name"] for c in report["columns"]]  # the time column is not compared
    for chunk, week in zip(chunks, weeks, strict=True):
        assert chunk["start"] == week["day"].min().isoformat()
        assert chunk["end"] == week["day"].max().isoformat()
        columns = _by_name(chunk["columns"])
        assert "day" not in columns
        for name in NUMERIC:
            assert _result(columns[name], "ks")["p_value"] == stats.ks_2samp(
                reference[name], week[name]).pvalue, (chunk["key"], name)
    assert [c["drifted"] for c in chunks] == [True, True, True]


def test_weeks_start_on_monday(rasad: Cli, data: dict[str, Path], tmp_path: Path) -> None:
    frame = _side(np.random.default_rng(5), 140, drift=False)
    frame["day"] = pd.date_range("2025-01-06", periods=140, freq="144min")  # Mon 6 - Sun 19
    frame.to_csv(tmp_path / "current.csv", index=False)
    target = tmp_path / "drift.json"
    rasad.ok("drift", data["reference"], tmp_path / "current.csv", "--chunk-period", "week",
             "--time-column", "day", "-o", target)
    chunks = json.loads(target.read_text())["drift"]["chunks"]
    assert [(c["key"], c["rows"]) for c in chunks] == [("2025-01-06", 70), ("2025-01-13", 70)]


def test_multivariate(rasad: Cli, data: dict[str, Path], tmp_path: Path) -> None:
    target = tmp_path / "drift.json"
    result = rasad("drift", data["reference"], data["same"], "--multivariate", "-o", target,
                   "--fail-on-drift")
    payload = json.loads(target.read_text())
    methods = {m["method"]: m for m in payload["multivariate"]}
    assert list(methods) == ["domain_classifier", "pca_reconstruction"]
    classifier, pca = methods["domain_classifier"], methods["pca_reconstruction"]
    assert sorted(classifier["columns"]) == sorted(["income", "age", "score", "region"])
    assert f"ROC AUC {classifier['roc_auc']:.3f}" in _text(result.out)
    assert f"reconstruction error {pca['current_error']:.4g}" in _text(result.out)
    flagged = payload["drift"]["drifted"] or classifier["drifted"] or pca["drifted"]
    assert result.code == (1 if flagged else 0), str(result)


def test_the_reason_names_a_missing_share_that_decided(rasad: Cli, tmp_path: Path) -> None:
    """Values alike, missing share 3.4% -> 0.3%: the column drifted, and its reason says it
    was the missing share, by which test, before the value tests that did not flag."""
    rng = np.random.default_rng(3)
    reference = pd.DataFrame({"amount": rng.normal(100, 15, 5000)})
    current = pd.DataFrame({"amount": rng.normal(100, 15, 5000)})
    reference.loc[:169, "amount"] = np.nan  # 170 of 5000 = 3.4%
    current.loc[:14, "amount"] = np.nan  # 15 of 5000 = 0.3%
    reference.to_csv(tmp_path / "ref.csv", index=False)
    current.to_csv(tmp_path / "cur.csv", index=False)
    target = tmp_path / "drift.json"
    result = rasad.ok("drift", tmp_path / "ref.csv", tmp_path / "cur.csv", "-o", target)
    column = json.loads(target.read_text())["drift"]["columns"][0]
    assert column["drifted"] is True and column["missing"]["drifted"] is True
    assert not any(r["drifted"] for r in column["results"] if r["deciding"])
    reason = column["reason"]
    assert reason.startswith("missing share drifted: 3.4% -> 0.3% (two-proportion z-test, "
                             f"adjusted p={column['missing']['adjusted_p_value']:.3g} < 0.05)")
    assert "; values did not drift: ks adjusted p=" in reason
    row = _rows(result.out, ("amount",))["amount"]
    assert row[3] == "yes" and row[4].startswith("missing share drifted: 3.4% -> 0.3%")


def _timeline_rows(out: str) -> dict[str, list[str]]:
    """The rows of the printed "Over time" table, by chunk label."""
    rows = {}
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Over time:"))
    for line in lines[start:]:
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if cells and cells[0]:
            rows[cells[0]] = cells
    return rows


def test_chunks_show_as_a_timeline_in_the_terminal(rasad: Cli, data: dict[str, Path],
                                                   tmp_path: Path) -> None:
    target = tmp_path / "drift.json"
    result = rasad.ok("drift", data["reference"], data["drifted"], "--chunk-size", "150",
                      "--multivariate", "-o", target)
    payload = json.loads(target.read_text())
    assert "Over time: 3 chunks of the current data" in result.out
    rows = _timeline_rows(result.out)
    pca = next(m for m in payload["multivariate"] if m["method"] == "pca_reconstruction")
    chunks = payload["drift"]["chunks"]
    assert list(rows) == [chunk["key"] for chunk in chunks] == ["[0:150]", "[150:300]",
                                                                 "[300:360]"]
    for chunk, error in zip(chunks, pca["chunks"], strict=True):
        row = rows[chunk["key"]]
        names = [c["name"] for c in chunk["columns"] if c["drifted"]]
        assert row[1:3] == [str(chunk["rows"]), "yes" if chunk["drifted"] else "no"]
        assert row[3] == f"{chunk['n_drifted']} of {chunk['n_counted']}: {', '.join(names)}"
        where = "outside" if error["drifted"] else "within"
        assert row[4] == (f"{error['error']:.4g} {where} {error['lower_threshold']:.4g} to "
                          f"{error['upper_threshold']:.4g}")


def test_timeline_by_week_without_multivariate(rasad: Cli, data: dict[str, Path]) -> None:
    result = rasad.ok("drift", data["reference"], data["weekly"], "--chunk-period", "week",
                      "--time-column", "day")
    rows = _timeline_rows(result.out)
    assert list(rows) == ["2025-01-06", "2025-01-13", "2025-01-20"]
    assert all(row[1] == "120" and row[2] == "yes" and len(row) == 4 for row in rows.values())
    assert all("income" in row[3] for row in rows.values())
    plain = rasad.ok("drift", data["reference"], data["weekly"])
    assert "Over time" not in plain.out  # no chunking, no timeline


@pytest.mark.parametrize(("column", "fragments"), [
    ("income", ("Time column 'income' holds numbers (float64)", "not dates or times")),
    ("region", ("Time column 'region' holds text that is not dates or times",
                "360 of 360", "'east'")),
    ("flag", ("Time column 'flag' holds true/false values (bool)",)),
])
def test_a_time_column_must_hold_times(rasad: Cli, data: dict[str, Path], tmp_path: Path,
                                       column: str, fragments: tuple[str, ...]) -> None:
    """Numbers read as times would all fall in one chunk labelled 1970-01: bad input."""
    current = _frame(data["weekly"])
    current["flag"] = current["income"] > 20
    current.to_parquet(tmp_path / "current.parquet")
    for chunking in (["--chunk-period", "month"], ["--chunk-size", "100"]):
        result = rasad("drift", data["reference"], tmp_path / "current.parquet", *chunking,
                       "--time-column", column, "-o", tmp_path / "d.json")
        assert_user_error(result, *fragments)
        assert not (tmp_path / "d.json").exists()


def test_month_labels_are_a_time_column(rasad: Cli, data: dict[str, Path],
                                        tmp_path: Path) -> None:
    """Text such as 2025-01 labels periods: it chunks by month, and is not compared."""
    current = _frame(data["weekly"])
    current["month"] = ["2025-01"] * 200 + ["2025-02"] * 160
    current.to_csv(tmp_path / "current.csv", index=False)
    target = tmp_path / "drift.json"
    rasad.ok("drift", data["reference"], tmp_path / "current.csv", "--chunk-period", "month",
             "--time-column", "month", "-o", target)
    report = json.loads(target.read_text())["drift"]
    assert [(c["key"], c["rows"]) for c in report["chunks"]] == [("2025-01", 200),
                                                                  ("2025-02", 160)]


def test_time_column_without_chunking_is_bad_input(rasad: Cli, data: dict[str, Path]) -> None:
    result = rasad("drift", data["reference"], data["weekly"], "--time-column", "day")
    assert_user_error(result, "--time-column", "--chunk-period")


# --- bad input: exit 2, one line, no report -----------------------------------------------


def _bad_inputs(folder: Path, data: dict[str, Path]) -> dict[str, tuple[list[str], str]]:
    (folder / "garbage.parquet").write_bytes(b"\x00\x01 not parquet at all")
    (folder / "ragged.csv").write_text("income,age\n1.0,2.0\n3.0\n", encoding="utf-8")
    (folder / "header_only.csv").write_text("income,age,score,region\n", encoding="utf-8")
    (folder / "empty.csv").write_bytes(b"")
    pd.DataFrame({"x": [1.0, 2.0], "y": ["a", "b"]}).to_csv(folder / "other.csv", index=False)
    ref, cur = str(data["reference"]), str(data["drifted"])
    return {
        "unreadable parquet": ([str(folder / "garbage.parquet"), cur],
                               "not a valid Parquet file"),
        "ragged csv": ([ref, str(folder / "ragged.csv")], "line 3 has 1 fields"),
        "empty file": ([str(folder / "empty.csv"), cur], "the file is empty"),
        "missing file": ([ref, str(folder / "nowhere.csv")], "no such file"),
        "unknown dataset name": ([ref, "nowhere@2"], "is not a file, and there is no project"),
        "zero rows": ([ref, str(folder / "header_only.csv")], "no data rows"),
        "no common columns": ([ref, str(folder / "other.csv")], "no column in common"),
        "unknown column": ([ref, cur, "--columns", "income,salary"], "'salary'"),
        "bad chunk period": ([ref, cur, "--chunk-period", "year", "--time-column", "day"],
                             "Chunk period 'year' is not one of day, week, month"),
        "period without time column": ([ref, cur, "--chunk-period", "week"],
                                       "needs a time column"),
        "missing time column": ([ref, cur, "--chunk-period", "week", "--time-column", "when"],
                                "Time column 'when' is not in the current data"),
        "chunk size zero": ([ref, cur, "--chunk-size", "0"], "whole number >= 1"),
        "dataset ref without project": (["loans@1", cur], "no project to look up"),
        "bad version": (["loans@x", cur], "must be a positive whole number"),
        "save without project": ([ref, cur, "--save"], "--save keeps results"),
    }


CASES = ["unreadable parquet", "ragged csv", "empty file", "missing file", "zero rows",
         "no common columns", "unknown column", "bad chunk period", "period without time column",
         "missing time column", "chunk size zero", "dataset ref without project", "bad version",
         "save without project"]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_exits_2(case: str, rasad: Cli, data: dict[str, Path], tmp_path: Path) -> None:
    args, fragment = _bad_inputs(tmp_path, data)[case]
    reports = tmp_path / "reports"
    result = rasad("drift", *args, "-o", reports / "d.json", "--html", reports / "d.html")
    assert_user_error(result, fragment)
    assert not reports.exists()


def test_a_read_error_names_the_side(rasad: Cli, data: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    assert_user_error(rasad("drift", tmp_path / "bad.parquet", data["drifted"]),
                      "Reference data: Cannot read", "not a valid Parquet file")
    assert_user_error(rasad("drift", data["reference"], tmp_path / "bad.parquet"),
                      "Current data: Cannot read", "not a valid Parquet file")
    # The options a project needs are refused first, whatever the files hold.
    assert_user_error(rasad("drift", tmp_path / "bad.parquet", data["drifted"], "--save"),
                      "--save keeps results")


def test_report_path_that_is_a_folder(rasad: Cli, data: dict[str, Path], tmp_path: Path) -> None:
    result = rasad("drift", data["reference"], data["drifted"], "-o", tmp_path)
    assert_user_error(result, "is a folder; give a file name")


def test_text_in_a_numeric_column_is_bad_input(rasad: Cli, data: dict[str, Path],
                                               tmp_path: Path) -> None:
    """A few unreadable values among numbers are a data error: exit 2, no report written."""
    current = _frame(data["drifted"]).astype({"income": object})
    current.loc[7, "income"] = "unknown"
    current.to_csv(tmp_path / "current.csv", index=False)
    target = tmp_path / "drift.json"
    result = rasad("drift", data["reference"], tmp_path / "current.csv", "-o", target)
    assert_user_error(result, "'income'", "'unknown'", "--columns")
    assert not target.exists()


def test_a_column_that_became_text_is_a_kind_mismatch(rasad: Cli, data: dict[str, Path],
                                                      tmp_path: Path) -> None:
    """A column whose current values are text through and through changed kind: it gets the
    status `kind mismatch` with its reason, is not counted, and the rest are compared."""
    current = _frame(data["drifted"])
    current["income"] = ["low", "high"] * (len(current) // 2) + ["low"] * (len(current) % 2)
    current.to_csv(tmp_path / "current.csv", index=False)
    target = tmp_path / "drift.json"
    result = rasad.ok("drift", data["reference"], tmp_path / "current.csv", "-o", target)
    assert _rows(result.out, ("income",))["income"][2] == "kind mismatch"
    report = json.loads(target.read_text())["drift"]
    income = _by_name(report["columns"])["income"]
    assert (income["status"], income["drifted"], income["results"]) == ("kind mismatch",
                                                                         False, [])
    assert income["reason"] == ("the reference holds numbers but the current data holds text "
                                "(string)")
    assert report["drifted_columns"] == ["region"] and report["n_counted"] == 3


def test_no_comparable_column_is_bad_input(rasad: Cli, data: dict[str, Path],
                                           tmp_path: Path) -> None:
    pd.DataFrame({"income": ["low", "high", "mid"] * 20}).to_csv(tmp_path / "text.csv",
                                                               index=False)
    target = tmp_path / "drift.json"
    result = rasad("drift", data["reference"], tmp_path / "text.csv", "-o", target)
    assert_user_error(result, "No column could be compared", "income")
    assert not target.exists()


# --- inside a project ---------------------------------------------------------------------


@pytest.fixture
def in_project(project: Project, data: dict[str, Path],
               capsys: pytest.CaptureFixture[str]) -> Cli:
    """A project with loans@1 (the reference) and loans@2 (drifted)."""
    project.add_dataset(data["reference"], "loans")
    project.add_dataset(data["drifted"], "loans")
    return Cli(capsys, project.root)


def test_save_a_monitor_result(in_project: Cli, project: Project, tmp_path: Path) -> None:
    target = tmp_path / "drift.json"
    result = in_project.ok("drift", "loans@1", "loans@2", "--save", "--monitor", "credit",
                           "-o", target)
    assert result.out.startswith("loans@2 against loans@1: drift (drift: 2 of 4")
    written = json.loads(target.read_text(encoding="utf-8"))

    [saved] = project.monitor_results()
    assert (saved.monitor, saved.kind, saved.reference, saved.current, saved.alert) == (
        "credit", "drift", "loans@1", "loans@2", True)
    assert saved.summary["drifted_columns"] == ["income", "region"]
    assert saved.summary["drifted"] is True and saved.summary["multivariate"] == {}
    assert saved.created_by == "tester"
    assert project.monitor_results("credit") == [saved]
    assert project.monitor_results("other") == []

    [event] = project.audit_log(action="monitor.result")
    assert event.subject == "monitor:credit"
    assert event.details["result_sha256"] == saved.blob
    assert (event.details["reference"], event.details["current"]) == ("loans@1", "loans@2")
    assert project.verify_audit().ok

    payload = load_payload(project, saved)
    assert payload["drift"] == written["drift"]
    assert payload == written


def test_save_says_where_the_result_is(in_project: Cli, project: Project) -> None:
    text = in_project.ok("drift", "loans@1", "loans@2", "--save")
    [saved] = project.monitor_results()
    assert (f"Saved as monitor result {saved.id} of drift; show it with "
            f"`rasad monitor show {saved.id}`.") in _text(text.out)
    printed = in_project.ok("drift", "loans@1", "loans@2", "--save", "--json").json()
    first, second = project.monitor_results()
    assert printed == load_payload(project, second) == load_payload(project, first)


def test_save_with_file_paths_saves_nothing(in_project: Cli, project: Project,
                                            data: dict[str, Path], tmp_path: Path) -> None:
    before = snapshot(project)
    pairs: list[tuple[str | Path, str | Path]] = [(data["reference"], "loans@2"),
                                                  ("loans@1", data["drifted"])]
    for args in pairs:
        result = in_project("drift", *args, "--save", "-o", tmp_path / "d.json")
        assert_user_error(result, "--save keeps results of a project's datasets")
    assert not (tmp_path / "d.json").exists()
    assert project.monitor_results() == []
    assert snapshot(project) == before


def test_save_with_a_bad_monitor_name(in_project: Cli, project: Project, tmp_path: Path) -> None:
    before = snapshot(project)
    result: Result = in_project("drift", "loans@1", "loans@2", "--save", "--monitor", "no good",
                                "-o", tmp_path / "d.json", "--html", tmp_path / "d.html")
    assert_user_error(result, "Monitor name 'no good' is not allowed")
    assert not (tmp_path / "d.json").exists() and not (tmp_path / "d.html").exists()
    assert project.monitor_results() == []
    assert snapshot(project) == before


def test_unknown_dataset_version(in_project: Cli) -> None:
    result = in_project("drift", "loans@1", "loans@9")
    assert_user_error(result, "Dataset 'loans' has no version 9; versions are 1, 2")


# --- multivariate leaves out identifiers and times ------------------------------------------


def _with_ids_and_times(frame: pd.DataFrame, first: int, month: str) -> pd.DataFrame:
    """Adds what tells a later sample from the reference without any drift: an identifier,
    a customer number (an identifier only rasad.yaml can tell), a date and a month label."""
    rows = len(frame)
    return frame.assign(
        application_id=[f"APP-{first + i:06d}" for i in range(rows)],
        customer=np.arange(first, first + rows),
        applied=pd.Timestamp(f"{month}-01") + pd.to_timedelta(np.arange(rows) % 28, unit="D"),
        month=month,
    )


def test_multivariate_leaves_out_identifiers_and_times(project: Project, data: dict[str, Path],
                                                       capsys: pytest.CaptureFixture[str],
                                                       tmp_path: Path) -> None:
    """Reference and current are drawn alike; only their identifiers and times differ.
    Without leaving those out the classifier's ROC AUC is 1.0 (the demo's bug)."""
    reference = _with_ids_and_times(_frame(data["reference"]), 1, "2025-01")
    current = _with_ids_and_times(_frame(data["same"]), 10_000, "2025-06")
    reference.to_parquet(tmp_path / "ref.parquet")
    current.to_parquet(tmp_path / "cur.parquet")
    project.add_dataset(tmp_path / "ref.parquet", "apps")
    project.add_dataset(tmp_path / "cur.parquet", "apps")
    config = project.root / "rasad.yaml"
    text = config.read_text(encoding="utf-8")
    assert "id_columns: []" in text
    config.write_text(text.replace("id_columns: []", "id_columns: [customer]"), encoding="utf-8")

    cli = Cli(capsys, project.root)
    target = tmp_path / "drift.json"
    result = cli("drift", "apps@1", "apps@2", "--multivariate", "-o", target)
    payload = json.loads(target.read_text())
    kinds = {c["name"]: (c["kind"], c["status"]) for c in payload["drift"]["columns"]}
    assert kinds["customer"] == ("identifier", "not tested")  # declared in rasad.yaml
    assert kinds["application_id"] == ("identifier", "not tested")
    assert kinds["applied"] == kinds["month"] == ("datetime", "not tested")
    left_out = {"application_id": "identifier", "customer": "identifier",
                "applied": "datetime", "month": "datetime"}
    for method in payload["multivariate"]:
        assert sorted(method["columns"]) == ["age", "income", "region", "score"]
        assert {e["column"]: e["kind"] for e in method["excluded"]} == left_out
        assert all(e["reason"] for e in method["excluded"])
    classifier = payload["multivariate"][0]
    assert classifier["roc_auc"] < 0.6 and classifier["drifted"] is False
    out = _text(result.out)
    assert ("left out of multivariate drift: application_id, customer (identifier columns are "
            "not compared: their values are unique by design)") in out
    assert "left out of multivariate drift: applied, month (date and time columns" in out
    assert result.code == 0, str(result)


def test_drift_over_the_server(project: Project, data: dict[str, Path], rasad: Cli,
                               monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """With RASAD_URL set, `rasad drift` on datasets runs on the server: the same report as
    on the project folder; saving as a viewer is refused and stores nothing; files stay
    local only when both sides are files."""
    from tests.api._server import cli_over_server

    project.add_dataset(data["reference"], "loans")
    project.add_dataset(data["drifted"], "loans")
    local = Cli(rasad.capsys, project.root).ok("drift", "loans@1", "loans@2", "--json",
                                               "--chunk-size", "100").json()
    with cli_over_server(project, monkeypatch) as tokens:
        far = rasad.ok("drift", "loans@1", "loans@2", "--json", "--chunk-size", "100")
        assert far.json() == local
        text = rasad.ok("drift", "loans@1", "loans@2", "--save", "--monitor", "nightly")
        [saved] = project.monitor_results()
        assert saved.created_by == "ada" and saved.monitor == "nightly"
        assert f"Saved as monitor result {saved.id} of nightly" in _text(text.out)
        both_files = rasad.ok("drift", data["reference"], data["drifted"], "--json").json()
        assert (both_files["reference"], both_files["drift"]["drifted"]) == (
            str(data["reference"]), True)
        assert_user_error(rasad("drift", data["reference"], "loans@2"),
                          "is a file: over the server")
        monkeypatch.setenv("RASAD_TOKEN", tokens.viewer)
        assert_user_error(rasad("drift", "loans@1", "loans@2", "--save"), "monitor.write")
    assert project.monitor_results() == [saved]
