"""``rasad schema`` and ``rasad validate``: stored schemas, every defect with its rows, CI exits.

The defect cases validate corrupted copies of a seeded portfolio file against the schema
inferred from the clean file, each defect planted at known rows.
"""

from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from rasad import Project
from rasad.validation import TableSchema, infer_schema
from rasad.validation.service import get_schema, validations

from ._helpers import Cli, assert_user_error, portfolio, snapshot, write_csv


@pytest.fixture
def rasad(project: Project, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(capsys, project.root)


@pytest.fixture
def loans(rasad: Cli, tmp_path: Path) -> Cli:
    rasad.ok("data", "add", write_csv(tmp_path / "loans.csv"), "--name", "loans")
    return rasad


@pytest.fixture
def outside(tmp_path: Path, capsys: pytest.CaptureFixture[str],
            monkeypatch: pytest.MonkeyPatch) -> Cli:
    """``rasad`` run from a folder that holds no project."""
    work = tmp_path / "outside"
    work.mkdir()
    monkeypatch.chdir(work)
    return Cli(capsys)


def test_schema_infer_stores_v1_and_show_prints_readable_yaml(loans: Cli,
                                                              project: Project) -> None:
    result = loans.ok("schema", "infer", "loans")
    assert "Stored loans schema v1 (15 columns), inferred from loans@1." in result.out
    shown = loans.ok("schema", "show", "loans").out
    assert shown.startswith("# loans schema v1 (inferred from loans@1)\n")
    assert TableSchema.from_yaml(shown) == get_schema(project, "loans").table_schema
    as_json = loans.ok("schema", "show", "loans", "--json").json()
    assert (as_json["version"], as_json["source"]) == (1, "inferred from loans@1")
    assert len(as_json["schema"]["columns"]) == 15
    again = loans.ok("schema", "infer", "loans", "--json")  # same data: no new version
    assert again.json() == as_json
    assert get_schema(project, "loans").version == 1
    assert len(project.audit_log(action="schema.save")) == 1


def test_validate_json_prints_the_masked_report_alone(loans: Cli, project: Project,
                                                      tmp_path: Path) -> None:
    loans.ok("schema", "infer", "loans")
    batch = portfolio()
    batch.loc[5, "region"] = "Atlantis"
    loans.ok("data", "add", write_csv(tmp_path / "batch.csv", batch), "--name", "loans")
    written = tmp_path / "r.json"
    result = loans("validate", "loans@2", "--json", "-o", written)
    assert result.code == 1, str(result)
    printed = result.json()  # stdout is the JSON document and nothing else
    assert printed == json.loads(written.read_text())
    assert (printed["data"], printed["schema"], printed["ok"]) == (
        "loans@2", "loans schema v1", False)
    [unseen] = [r for r in printed["results"]
                if r["check"] == "unseen_category" and r["column"] == "region"]
    assert unseen["examples"] == [{"row": 5, "value": "A******s"}]
    assert "Atlantis" not in result.out + written.read_text()
    stored = validations(project)[-1]
    assert (stored.dataset, stored.schema_label, stored.errors) == (
        "loans@2", "loans schema v1", printed["errors"])


def test_schema_infer_and_save_print_json(loans: Cli, outside: Cli, tmp_path: Path) -> None:
    inferred = loans.ok("schema", "infer", "loans", "--json").json()
    assert (inferred["dataset"], inferred["version"]) == ("loans", 1)
    assert TableSchema.from_dict(inferred["schema"]).names == tuple(portfolio().columns)
    path = tmp_path / "edited.yaml"
    edited = TableSchema.from_dict(inferred["schema"])
    path.write_text(dataclasses.replace(edited, max_rows=10**9).to_yaml(), encoding="utf-8")
    saved = loans.ok("schema", "save", "loans", path, "--json").json()
    assert (saved["version"], saved["source"]) == (2, f"saved from {path}")
    assert saved["sha256"] != inferred["sha256"]

    csv = write_csv(tmp_path / "file.csv")
    from_file = outside.ok("schema", "infer", csv, "--json").json()
    assert (from_file["dataset"], from_file["version"]) == (str(csv), None)
    assert from_file["source"] == f"inferred from {csv}"


def test_schema_infer_a_file_without_a_project(outside: Cli, tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "loans.csv")
    printed = TableSchema.from_yaml(outside.ok("schema", "infer", csv).out)
    target = tmp_path / "s.yaml"
    result = outside.ok("schema", "infer", csv, "-o", target)
    assert result.out.strip() == f"Wrote {target}."
    written = TableSchema.read(target)
    assert written == printed
    assert written.names == tuple(portfolio().columns)
    assert not list(tmp_path.rglob("rasad.yaml"))


def test_schema_save_of_an_edited_file_makes_v2(loans: Cli, project: Project,
                                                tmp_path: Path) -> None:
    loans.ok("schema", "infer", "loans")
    batch = portfolio()
    batch.loc[3, "income"] = 10_000_000.0
    loans.ok("data", "add", write_csv(tmp_path / "batch.csv", batch), "--name", "loans")
    failed = loans("validate", "loans@2")
    assert failed.code == 1, str(failed)
    assert "out_of_range on income" in failed.out

    schema = TableSchema.from_yaml(loans.ok("schema", "show", "loans").out)
    edited = dataclasses.replace(schema, columns=tuple(
        dataclasses.replace(c, maximum=20_000_000.0) if c.name == "income" else c
        for c in schema.columns))
    path = tmp_path / "edited.yaml"
    path.write_text(edited.to_yaml(), encoding="utf-8")
    assert "Stored loans schema v2" in loans.ok("schema", "save", "loans", path).out
    assert get_schema(project, "loans").version == 2

    passed = loans.ok("validate", "loans@2")
    assert "loans@2 against loans schema v2: valid" in passed.out
    assert [(v.dataset, v.schema_label, v.ok) for v in validations(project)] == [
        ("loans@2", "loans schema v1", False), ("loans@2", "loans schema v2", True)]
    assert [e.subject for e in project.audit_log(action="dataset.validate")] == [
        "dataset:loans@2", "dataset:loans@2"]


def test_an_inferred_range_does_not_let_a_sign_or_a_share_flip(loans: Cli,
                                                                tmp_path: Path) -> None:
    # income was never negative and debt_to_income is a share (in [0, 1]): a batch with
    # income -5 and a ratio of 1.02 fails, although both lie inside the old widening
    # (minimum - 0.1 x range reached -3,554; maximum + 0.1 x range 1.07).
    loans.ok("schema", "infer", "loans")
    batch = portfolio()
    batch.loc[7, "income"] = -5.0
    batch.loc[9, "debt_to_income"] = 1.02
    batch.loc[11, "employment_years"] = 0.0     # at the wall: still valid
    loans.ok("data", "add", write_csv(tmp_path / "batch.csv", batch), "--name", "loans")
    failed = loans("validate", "loans@2", "-o", tmp_path / "r.json")
    assert failed.code == 1, str(failed)
    report = json.loads((tmp_path / "r.json").read_text())
    errors = {(r["check"], r["column"]): [e["row"] for e in r["examples"]]
              for r in report["results"] if not r["passed"] and r["severity"] == "error"}
    assert errors == {("out_of_range", "income"): [7], ("out_of_range", "debt_to_income"): [9]}


@pytest.fixture
def schema_file(outside: Cli, tmp_path: Path) -> Path:
    target = tmp_path / "schema.yaml"
    outside.ok("schema", "infer", write_csv(tmp_path / "clean.csv"), "-o", target)
    return target


def test_a_clean_copy_passes(outside: Cli, schema_file: Path, tmp_path: Path) -> None:
    copy = write_csv(tmp_path / "copy.csv", portfolio())
    result = outside.ok("validate", copy, "--schema", schema_file, "-o", tmp_path / "r.json",
                        "--junit", tmp_path / "r.xml")
    assert "valid: every check passed" in " ".join(result.out.split())  # may wrap
    report = json.loads((tmp_path / "r.json").read_text())
    assert (report["ok"], report["errors"], report["warnings"]) == (True, 0, 0)
    assert (report["data"], report["schema"]) == (str(copy), str(schema_file))
    suite = ET.parse(tmp_path / "r.xml").getroot()
    assert suite.get("failures") == "0" and not suite.findall("testcase/failure")


def _nulls(frame: pd.DataFrame) -> None:
    frame.loc[[3, 50], "income"] = None


def _out_of_range(frame: pd.DataFrame) -> None:
    frame.loc[[10, 20], "age"] = 150


def _unseen(frame: pd.DataFrame) -> None:
    frame.loc[5, "region"] = "Atlantis"


def _duplicate_key(frame: pd.DataFrame) -> None:
    frame.loc[9, "application_id"] = str(frame.at[2, "application_id"])


def _wrong_type(frame: pd.DataFrame) -> None:
    frame["loan_amount"] = frame["loan_amount"].astype(object)
    frame.loc[[4, 7], "loan_amount"] = "lots"


def _missing_column(frame: pd.DataFrame) -> None:
    del frame["gender"]


DEFECTS: dict[str, tuple[Callable[[pd.DataFrame], None], str, str, list[int]]] = {
    "nulls": (_nulls, "nulls", "income", [3, 50]),
    "out of range": (_out_of_range, "out_of_range", "age", [10, 20]),
    "unseen category": (_unseen, "unseen_category", "region", [5]),
    "duplicate key": (_duplicate_key, "duplicate_key", "application_id", [9]),
    "wrong type": (_wrong_type, "wrong_type", "loan_amount", [4, 7]),
    "missing column": (_missing_column, "missing_column", "gender", []),
}


@pytest.mark.parametrize("defect", list(DEFECTS))
def test_each_defect_is_reported_with_its_rows(outside: Cli, schema_file: Path, tmp_path: Path,
                                               defect: str) -> None:
    corrupt, check, column, rows = DEFECTS[defect]
    frame = portfolio()
    corrupt(frame)
    data = write_csv(tmp_path / "bad.csv", frame)
    report_path, junit_path = tmp_path / "r.json", tmp_path / "r.xml"

    result = outside("validate", data, "--schema", schema_file, "-o", report_path,
                     "--junit", junit_path)

    assert result.code == 1, str(result)
    assert f"{check} on {column}" in result.out
    report = json.loads(report_path.read_text())
    errors = [r for r in report["results"] if not r["passed"] and r["severity"] == "error"]
    assert [(r["check"], r["column"]) for r in errors] == [(check, column)], errors
    (error,) = errors
    assert [e["row"] for e in error["examples"]] == rows
    assert error["failing"] == (len(rows) if rows else len(frame))
    if check == "unseen_category":
        assert error["examples"][0]["value"] == "A******s"
    if check == "wrong_type":
        assert "lots" not in report_path.read_text()
    suite = ET.parse(junit_path).getroot()
    assert suite.get("failures") == "1"
    (failure,) = suite.findall("testcase/failure")
    assert failure.get("type") == check


def test_junit_counts_every_error(outside: Cli, schema_file: Path, tmp_path: Path) -> None:
    frame = portfolio()
    for corrupt in (_nulls, _out_of_range, _unseen):
        corrupt(frame)
    junit = tmp_path / "r.xml"
    result = outside("validate", write_csv(tmp_path / "bad.csv", frame), "--schema",
                     schema_file, "--junit", junit)
    assert result.code == 1, str(result)
    suite = ET.parse(junit).getroot()
    assert suite.get("failures") == "3"
    assert sorted(f.get("type") or "" for f in suite.findall("testcase/failure")) == [
        "nulls", "out_of_range", "unseen_category"]
    assert int(suite.get("tests") or 0) == len(suite.findall("testcase"))


def test_bad_input_exits_2_and_changes_nothing(loans: Cli, project: Project,
                                               tmp_path: Path) -> None:
    loans.ok("schema", "infer", "loans")
    csv = tmp_path / "loans.csv"
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    bad_kind = tmp_path / "bad_kind.yaml"
    bad_kind.write_text("columns: [{name: age, kind: numerc, dtype: int64}]\n")
    not_yaml = tmp_path / "not_yaml.yaml"
    not_yaml.write_text("columns: [unclosed\n")
    cases: list[tuple[list[str | Path], tuple[str, ...]]] = [
        (["validate", "loans", "--schema", tmp_path / "nope.yaml"],
         ("Cannot read schema file", "nope.yaml")),
        (["validate", "loans", "--schema", binary], ("Cannot read schema file",)),
        (["validate", "loans", "--schema", not_yaml], ("not valid YAML",)),
        (["validate", "loans", "--schema", bad_kind],
         ("'columns[0].kind' has value 'numerc'", "numeric")),
        (["schema", "save", "loans", bad_kind], ("'columns[0].kind' has value 'numerc'",)),
        (["schema", "save", "loans", tmp_path / "nope.yaml"], ("Cannot read schema file",)),
        (["validate", tmp_path / "missing.csv"], ("missing.csv",)),
        (["validate", csv], ("No schema for", "--schema FILE")),
        (["schema", "show", "nosuch"], ("has no schema", "`rasad schema infer nosuch`")),
        (["schema", "show", "loans", "--version", "9"], ("no schema version 9",)),
    ]
    for args, fragments in cases:
        before = snapshot(project)
        assert_user_error(loans(*args), *fragments)
        assert snapshot(project) == before, f"rasad {' '.join(map(str, args))} changed it"
    assert validations(project) == []
    assert get_schema(project, "loans").version == 1


def test_bad_input_without_a_project(outside: Cli, tmp_path: Path) -> None:
    assert_user_error(outside("validate", tmp_path / "missing.csv"), "no such file")
    assert_user_error(outside("validate", "loans@1"), "is not a file", "no project")
    assert_user_error(outside("validate", write_csv(tmp_path / "a.csv")), "--schema FILE")
    assert_user_error(outside("schema", "infer", tmp_path / "missing.csv"), "no such file")


def test_quality_reports_constants_and_leakage(outside: Cli, tmp_path: Path) -> None:
    frame = portfolio()
    frame["leak"] = frame["default"] * 2
    frame["const"] = 1
    data = write_csv(tmp_path / "q.csv", frame)
    report = outside.ok("quality", data, "--target", "default", "--json").json()
    assert report["rows"] == len(frame) and report["target"] == "default"
    assert report["constant_columns"] == ["const"]
    assert [item["column"] for item in report["leakage"]] == ["leak"]
    written = tmp_path / "q.json"
    outside.ok("quality", data, "--target", "default", "-o", written)
    assert json.loads(written.read_text()) == report
    shown = outside.ok("quality", data, "--target", "default").out
    assert "- constant column const" in shown
    assert "possible leakage: leak" in shown


def test_quality_of_a_project_dataset(loans: Cli) -> None:
    report = loans.ok("quality", "loans", "--target", "default", "--json").json()
    assert report["data"] == "loans@1"
    assert report["constant_columns"] == [] and report["leakage"] == []


def test_a_schema_naming_absent_columns_is_bad_input(loans: Cli, project: Project,
                                                     outside: Cli, tmp_path: Path) -> None:
    other = tmp_path / "other.yaml"
    other.write_text(infer_schema(pd.DataFrame({"x": [1.0, 2.0], "y": ["a", "b"]})).to_yaml())
    before = snapshot(project)
    assert_user_error(loans("schema", "save", "loans", other), "'x'", "does not have")
    assert_user_error(loans("validate", "loans", "--schema", other), "names none of")
    assert snapshot(project) == before
    assert_user_error(outside("validate", write_csv(tmp_path / "a.csv"), "--schema", other),
                      "names none of")


def test_schema_validate_quality_over_the_server(project: Project, loans: Cli, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """With RASAD_URL set, the commands on a dataset run on the server and print what they
    print on the folder; a viewer's validation is refused and stores nothing; a file
    with a schema file stays local."""
    from tests.api._server import cli_over_server

    far = Cli(loans.capsys)  # no --project: the server is the project
    with cli_over_server(project, monkeypatch) as tokens:
        inferred = far.ok("schema", "infer", "loans", "--json").json()
        assert inferred == project.schema("loans").to_dict()
        assert inferred["created_by"] == "ada"
        assert far.ok("schema", "show", "loans", "--json").json() == inferred
        schema_file = tmp_path / "schema.yaml"
        far.ok("schema", "infer", "loans", "-o", schema_file)
        assert "Stored loans schema v1 from" in far.ok("schema", "save", "loans",
                                                       schema_file).out
        remote_report = far.ok("validate", "loans@1", "--json").json()
        remote_quality = far.ok("quality", "loans", "--target", "default", "--json").json()
        # A file against a schema file is checked here: no request, nothing stored.
        data = write_csv(tmp_path / "again.csv")
        assert far.ok("validate", data, "--schema", schema_file, "--json").json()["ok"]
        monkeypatch.setenv("RASAD_TOKEN", tokens.viewer)
        assert_user_error(far("validate", "loans"), "dataset.write")
    monkeypatch.delenv("RASAD_URL")  # the folder again
    assert [v.created_at is not None for v in project.validations()] == [True]
    assert remote_report == loans.ok("validate", "loans@1", "--json").json()
    assert remote_quality == loans.ok("quality", "loans", "--target", "default",
                                      "--json").json()
