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
    as_json = outside.ok("pii", "scan", data, "--json", "--all-rows")
    assert "memo" in shown.out and "payment card" in shown.out
    for output in (shown.out + shown.err, as_json.out + as_json.err):
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
