"""`rasad audit log` and `rasad audit verify`, including a ledger edited behind rasad's back."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from rasad import Project

from ._helpers import Cli, add_and_train, write_csv


@pytest.fixture
def rasad(project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    cli = Cli(capsys, project.root)
    add_and_train(cli, write_csv(tmp_path / "loans.csv"))
    cli.ok("promote", "credit", "1", "--to", "dev")
    return cli


def _exec(project: Project, sql: str, **params: object) -> None:
    with project.db.write_engine.begin() as conn:
        conn.execute(sa.text(sql), params)


def _seq_of(rasad: Cli, action: str) -> int:
    return int(rasad.ok("audit", "log", "--action", action, "--json").json()[0]["seq"])


def test_log_filters_and_json(rasad: Cli) -> None:
    everything = rasad.ok("audit", "log", "--json").json()
    assert [e["seq"] for e in everything] == list(range(1, len(everything) + 1))
    assert [e["action"] for e in everything] == [
        "project.init", "dataset.add", "run.start", "run.use_dataset", "run.finish",
        "model.register", "model.promotion"]
    assert all(e["actor"] == "tester" for e in everything)
    for earlier, later in zip(everything, everything[1:], strict=False):
        assert later["prev_hash"] == earlier["hash"]

    promotions = rasad.ok("audit", "log", "--json", "--subject", "model:credit").json()
    assert [(e["action"], e["details"]["environment"], e["details"]["version"])
            for e in promotions] == [("model.promotion", "dev", 1)]
    models = rasad.ok("audit", "log", "--json", "--subject", "model:*").json()
    assert [e["subject"] for e in models] == ["model:credit@1", "model:credit"]
    assert len(rasad.ok("audit", "log", "--json", "--limit", "2").json()) == 2

    table = rasad.ok("audit", "log").out
    assert "dataset.add" in table and "model.promotion" in table and "dataset:loans@1" in table


def test_verify_passes_on_an_untouched_ledger(rasad: Cli) -> None:
    assert rasad.ok("audit", "verify").out.strip() == "Audit chain intact: 7 events."
    assert rasad.ok("audit", "verify", "--json").json() == {
        "ok": True, "events": 7, "first_bad_seq": None, "reason": None}


def test_verify_names_an_edited_event(rasad: Cli, project: Project) -> None:
    seq = _seq_of(rasad, "model.register")
    _exec(project, "UPDATE audit_events SET actor = 'mallory' WHERE seq = :seq", seq=seq)
    result = rasad("audit", "verify")
    assert result.code == 1, str(result)
    assert f"Audit chain broken at event {seq}" in result.out
    assert "was edited" in result.out
    assert "Traceback" not in result.out + result.err
    report = rasad("audit", "verify", "--json")
    assert report.code == 1
    assert report.json()["first_bad_seq"] == seq and report.json()["ok"] is False


def test_verify_names_a_deleted_event(rasad: Cli, project: Project) -> None:
    seq = _seq_of(rasad, "run.use_dataset")
    _exec(project, "DELETE FROM audit_events WHERE seq = :seq", seq=seq)
    result = rasad("audit", "verify")
    assert result.code == 1, str(result)
    assert f"Audit chain broken at event {seq}" in result.out
    assert f"event {seq} is missing" in result.out


def test_verify_notices_the_newest_event_deleted(rasad: Cli, project: Project) -> None:
    _exec(project, "DELETE FROM audit_events WHERE seq = 7")
    result = rasad("audit", "verify", "--json")
    assert result.code == 1, str(result)
    assert result.json()["first_bad_seq"] == 7
