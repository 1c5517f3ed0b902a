"""``rasad pii scan``: planted personal data found by kind, look-alikes left out, no raw values."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from rasad import Project

from ._helpers import Cli, portfolio, write_csv

EMAILS = ("fatimah.alharbi@example.com", "omar.k@bank.example.sa")
IBAN = "SA0380000000608010167519"
CARD = "4111111111111111"
FAKE_CARD = "4111111111111112"  # fails the Luhn check
FAKE_IBAN = "SA0380000000608010167518"  # fails mod 97
RAW = (*EMAILS, IBAN, CARD, FAKE_CARD, FAKE_IBAN)


def planted() -> pd.DataFrame:
    """The portfolio with each kind planted at a few rows of otherwise ordinary columns."""
    frame = portfolio()
    rows = range(len(frame))
    frame["memo"] = [f"note {i}" for i in rows]
    frame.loc[[11, 222], "memo"] = list(EMAILS)
    frame["reference"] = [f"REF-{i:05d}" for i in rows]
    frame.loc[33, "reference"] = IBAN
    frame["code"] = [f"C{i}" for i in rows]
    frame.loc[44, "code"] = CARD
    frame["code_b"] = [f"C{i}" for i in rows]
    frame.loc[55, "code_b"] = FAKE_CARD
    frame["reference_b"] = [f"REF-{i:05d}" for i in rows]
    frame.loc[66, "reference_b"] = FAKE_IBAN
    return frame


@pytest.fixture
def outside(tmp_path: Path, capsys: pytest.CaptureFixture[str],
            monkeypatch: pytest.MonkeyPatch) -> Cli:
    work = tmp_path / "outside"
    work.mkdir()
    monkeypatch.chdir(work)
    return Cli(capsys)


def _kinds(report: dict[str, object]) -> dict[str, list[str]]:
    columns = report["columns"]
    assert isinstance(columns, list)
    return {c["column"]: c["kinds"] for c in columns}


def test_planted_pii_is_found_with_its_kind(outside: Cli, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "pii.csv", planted())
    result = outside.ok("pii", "scan", data, "--json", "--all-rows")
    report = result.json()
    kinds = _kinds(report)
    assert kinds["memo"] == ["email"]
    assert kinds["reference"] == ["iban"]
    assert kinds["code"] == ["payment card"]
    findings = {c["column"]: c["findings"][0] for c in report["columns"] if c["findings"]}
    assert findings["memo"]["matches"] == 2
    assert findings["reference"]["checksum"] is True
    assert findings["code"]["examples"] == ["************1111"]
    assert report["rows"] == len(planted())


def test_look_alikes_failing_the_checksum_are_not_reported(outside: Cli,
                                                           tmp_path: Path) -> None:
    data = write_csv(tmp_path / "pii.csv", planted())
    kinds = _kinds(outside.ok("pii", "scan", data, "--json").json())
    assert "payment card" not in kinds.get("code_b", [])
    assert "iban" not in kinds.get("reference_b", [])
    assert set(kinds) == {"memo", "reference", "code"}


def test_no_raw_value_is_printed(outside: Cli, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "pii.csv", planted())
    shown = outside.ok("pii", "scan", data)
    written = tmp_path / "pii.json"
    as_json = outside.ok("pii", "scan", data, "--json", "--all-rows", "-o", written)
    assert "memo" in shown.out and "payment card" in shown.out
    assert as_json.json() == json.loads(written.read_text())
    assert as_json.json()["data"] == str(data)
    for output in (shown.out + shown.err, as_json.out + as_json.err, written.read_text()):
        for raw in RAW:
            assert raw not in output
        for local in ("fatimah", "alharbi", "608010167"):
            assert local not in output


def test_an_ordinary_file_has_no_personal_data(outside: Cli, tmp_path: Path) -> None:
    frame = portfolio()[["income", "age", "loan_amount", "region"]]
    result = outside.ok("pii", "scan", write_csv(tmp_path / "plain.csv", frame))
    assert "No personal data found" in result.out


def test_protected_attributes_come_from_rasad_yaml(backend: str, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    config = ("name: pii\ndata:\n  protected_attributes: [gender, nationality, religion]\n")
    with Project.init(tmp_path / "proj", config_text=config) as project:
        project.add_dataset(planted(), "loans")
    rasad = Cli(capsys, tmp_path / "proj")

    report = rasad.ok("pii", "scan", "loans", "--json").json()
    assert report["data"] == "loans@1"
    kinds = _kinds(report)
    assert kinds["gender"] == ["protected attribute"]
    assert kinds["nationality"] == ["protected attribute"]
    assert kinds["memo"] == ["email"]
    assert report["missing_protected"] == ["religion"]
    shown = rasad.ok("pii", "scan", "loans")
    assert "protected attribute" in shown.out and IBAN not in shown.out

    overridden = _kinds(rasad.ok("pii", "scan", "loans", "--protected", "region",
                                 "--json").json())
    assert overridden["region"] == ["protected attribute"]
    assert "gender" not in overridden

    file_report = json.loads(rasad.ok("pii", "scan", write_csv(tmp_path / "f.csv", planted()),
                                      "--json").out)
    assert _kinds(file_report)["gender"] == ["protected attribute"]


def test_personal_data_inside_free_text_is_reported_masked(outside: Cli, tmp_path: Path) -> None:
    # The new-user case: a notes column where a quarter of the rows hold an e-mail address,
    # plus a phone, an IBAN, a card and a Saudi ID written inside sentences.
    frame = portfolio()[["income", "age"]].head(400).copy()
    notes = [f"customer asked us to write to client{i}@mail.example.com" if i % 4 == 0
             else "called about the delivery" for i in range(len(frame))]
    notes[1] = "call back on +966 50 123 4567 tomorrow"
    notes[2] = "refund to SA03 8000 0000 6080 1016 7519 approved"
    notes[3] = "paid with 4111 1111 1111 1111, receipt sent"
    notes[5] = "verified ID 1058529940 at the branch"
    frame["notes"] = notes
    data = write_csv(tmp_path / "notes.csv", frame)

    report = outside.ok("pii", "scan", data, "--json").json()
    assert _kinds(report) == {"notes": ["email", "iban", "payment card", "saudi national id",
                                        "phone"]}
    email = report["columns"][0]["findings"][0]
    assert (email["matches"], email["in_text"], email["share"]) == (100, 100, 0.25)
    shown = outside.ok("pii", "scan", data)
    assert "No personal data" not in shown.out
    assert "25.0%" in shown.out and "c***@m***.com" in shown.out
    for output in (shown.out, json.dumps(report)):
        for raw in ("client0@", "123 4567", "6080 1016", "1111 1111 1111", "1058529940"):
            assert raw not in output


def test_scan_over_the_server(project: Project, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str],
                              monkeypatch: pytest.MonkeyPatch) -> None:
    """With RASAD_URL set, a dataset is scanned on the server (the same report as on the
    folder, examples masked); a file is scanned here."""
    from tests.api._server import cli_over_server

    project.add_dataset(planted(), "loans")
    local = Cli(capsys, project.root).ok("pii", "scan", "loans", "--json", "--all-rows").json()
    with cli_over_server(project, monkeypatch):
        far = Cli(capsys)
        assert far.ok("pii", "scan", "loans", "--json", "--all-rows").json() == local
        text = far.ok("pii", "scan", "loans@1").out
        data = write_csv(tmp_path / "pii.csv", planted())
        from_file = far.ok("pii", "scan", data, "--json", "--all-rows").json()
    assert not any(raw in text + json.dumps(local) for raw in RAW)
    assert _kinds(from_file) == _kinds(local)
