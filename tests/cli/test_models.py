"""`rasad models register | list | show`, `rasad promote`, `rasad rollback`, `rasad predict`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from rasad import Project

from ._helpers import (
    Cli,
    Trained,
    add_and_train,
    assert_user_error,
    portfolio,
    train_args,
    write_csv,
)


@pytest.fixture
def rasad(project: Project, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(capsys, project.root)


@pytest.fixture
def trained(rasad: Cli, tmp_path: Path) -> Trained:
    return add_and_train(rasad, write_csv(tmp_path / "loans.csv"))


def test_register_list_show(rasad: Cli, trained: Trained) -> None:
    again = rasad.ok("models", "register", trained.run_id[:8], "--name", "credit")
    assert "already registered as credit@1" in again.out
    second = rasad.ok(*train_args(register_as=None), "--json").json()
    registered = rasad.ok("models", "register", second["run"]["id"][:8], "--name", "credit",
                          "--json").json()
    assert (registered["name"], registered["version"]) == ("credit", 2)
    assert registered["run_id"] == second["run"]["id"]
    assert len(registered["artifact_sha256"]) == 64
    text = rasad.ok("models", "register", trained.run_id, "--name", "scorecard").out
    assert text.startswith(f"Registered scorecard@1 from run {trained.run_id[:8]}")

    listed = rasad.ok("models", "list", "--json").json()
    assert [(m["name"], [v["version"] for v in m["versions"]]) for m in listed] == [
        ("credit", [1, 2]), ("scorecard", [1])]
    assert "credit" in rasad.ok("models", "list").out

    shown = rasad.ok("models", "show", "credit", "--json").json()
    assert shown["name"] == "credit" and shown["deployed"] == {} and shown["history"] == []
    version = shown["versions"][0]
    assert version["task"] == "classification"
    assert [c["name"] for c in version["signature"]["columns"]] == [
        "income", "age", "employment_type", "loan_amount", "debt_to_income"]
    assert [d["dataset"] for d in version["datasets"]] == ["loans@1"]
    assert "roc_auc" in version["metrics"]["test"]
    assert "loans@1" in rasad.ok("models", "show", "credit").out


def test_promote_and_rollback(rasad: Cli, trained: Trained) -> None:
    rasad.ok(*train_args())  # credit@2
    assert rasad.ok("promote", "credit", "1", "--to", "dev").out.strip() == (
        "Promoted: credit v1 now serves dev.")
    promoted = rasad.ok("promote", "credit", "2", "--to", "dev", "--reason", "better auc",
                        "--json").json()
    assert (promoted["version"], promoted["previous_version"], promoted["kind"]) == (2, 1,
                                                                                 "promotion")
    assert promoted["changed"] is True and promoted["reason"] == "better auc"
    assert "already serves dev; nothing changed" in rasad.ok(
        "promote", "credit", "2", "--to", "dev").out
    rasad.ok("promote", "credit", "2", "--to", "staging")

    rolled = rasad.ok("rollback", "credit", "--env", "dev", "--reason", "incident 7").out
    assert rolled.strip() == "Rolled back: credit v1 now serves dev (replacing v2)."

    shown = rasad.ok("models", "show", "credit", "--json").json()
    assert shown["deployed"] == {"dev": 1, "staging": 2}
    assert [(h["environment"], h["version"], h["kind"]) for h in shown["history"]] == [
        ("dev", 1, "promotion"), ("dev", 2, "promotion"), ("staging", 2, "promotion"),
        ("dev", 1, "rollback")]
    assert "dev: v1, staging: v2" in rasad.ok("models", "list").out


def test_predict_by_environment_and_version(rasad: Cli, trained: Trained,
                                            tmp_path: Path) -> None:
    rasad.ok("promote", "credit", "1", "--to", "staging")
    applications = portfolio(months=1, rows_per_month=120, seed=5).drop(columns=["default"])
    data = write_csv(tmp_path / "applications.csv", applications)

    out = tmp_path / "out" / "scores.csv"
    text = rasad.ok("predict", "credit", data, "--env", "staging", "-o", out).out
    assert f"Scored 120 rows with credit v1; wrote {out}" in text
    scores = pd.read_csv(out)
    assert len(scores) == len(applications)
    assert {"prediction", "proba_0", "proba_1", "model_name", "model_version"} <= set(
        scores.columns)
    assert set(scores["prediction"]) <= {0, 1}
    assert (scores["model_version"] == 1).all()
    assert ((scores["proba_0"] + scores["proba_1"]).round(9) == 1).all()

    parquet = tmp_path / "scores.parquet"
    result = rasad.ok("predict", "credit", data, "--version", "1", "--output", parquet,
                      "--json").json()
    assert (result["model"], result["version"], result["rows"]) == ("credit", 1, 120)
    assert result["output"] == str(parquet)
    assert any("not used by the model" in w for w in result["warnings"])
    assert len(pd.read_parquet(parquet)) == 120

    predictions = rasad.ok("audit", "log", "--action", "model.predict", "--json").json()
    assert [(e["subject"], e["details"]["environment"], e["details"]["rows"])
            for e in predictions] == [("model:credit@1", "staging", 120),
                                      ("model:credit@1", None, 120)]


def test_register_and_predict_over_the_server(project: Project, rasad: Cli, trained: Trained,
                                              tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """With RASAD_URL set, `models register` and `predict` run on the server; the scored
    file is written here, the same bytes as a local run's."""
    from tests.api._server import cli_over_server

    second = rasad.ok(*train_args(register_as=None), "--json").json()["run"]["id"]
    applications = portfolio(months=1, rows_per_month=50, seed=5).drop(columns=["default"])
    data = write_csv(tmp_path / "applications.csv", applications)
    far = Cli(rasad.capsys)
    with cli_over_server(project, monkeypatch):
        again = far.ok("models", "register", trained.run_id[:8], "--name", "credit").out
        assert "already registered as credit@1" in again
        made = far.ok("models", "register", second[:8], "--name", "credit", "--json").json()
        assert (made["created"], made["version"], made["created_by"]) == (True, 2, "ada")
        remote_out = tmp_path / "remote.csv"
        text = far.ok("predict", "credit", data, "--version", "2", "-o", remote_out).out
        assert f"Scored 50 rows with credit v2; wrote {remote_out}" in text
        assert_user_error(far("predict", "credit", data, "--version", "2", "-o", data),
                          "would destroy the input")
    monkeypatch.delenv("RASAD_URL")  # the folder again
    local_out = tmp_path / "local.csv"
    rasad.ok("predict", "credit", data, "--version", "2", "-o", local_out)
    assert remote_out.read_bytes() == local_out.read_bytes()
