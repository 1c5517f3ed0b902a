"""`rasad predict --explain`: the reason columns in the written file, locally and over the
management API; a model that cannot be explained is a usage error (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from rasad import Project
from rasad.cli import run
from tests._http import cli_on, local
from tests.registry._helpers import FEATURES, TARGET, portfolio, registered

pytestmark = pytest.mark.over_http


def test_predict_explain_writes_reason_columns(project: Project, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    registered(project)
    data = tmp_path / "applications.csv"
    portfolio(seed=5).head(60).drop(columns=[TARGET]).to_csv(data, index=False)
    out = tmp_path / "scores.parquet"
    with cli_on(project, monkeypatch) as where:
        assert run([*where, "predict", "credit", str(data), "--version", "1", "-o", str(out),
                    "--explain"]) == 0
        said = capsys.readouterr().out
        assert "Scored 60 rows with credit v1, with reason codes (substitution); wrote" in said
        assert run([*where, "predict", "credit", str(data), "--version", "1", "-o",
                    str(tmp_path / "plain.parquet"), "--json"]) == 0
        assert "explained_with" not in json.loads(capsys.readouterr().out)
    scores = pd.read_parquet(out)
    assert [c for c in scores.columns if c.startswith("reason")] == [
        "reason_1", "reason_2", "reason_3", "reason_4", "reasons"]
    first = json.loads(scores["reasons"].iloc[0])
    assert first and first[0]["text"] == scores["reason_1"].iloc[0]
    assert {r["feature"] for row in scores["reasons"] for r in json.loads(row)} <= set(FEATURES)
    assert "reasons" not in pd.read_parquet(tmp_path / "plain.parquet").columns


@pytest.mark.local_only(reason="logs a model by hand, which the API does not serve")
def test_predict_explain_of_a_model_without_training_data_is_exit_2(
        project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    model = project.load_model("credit", registered(project)[0].version)
    with local(project).start_run() as logged:
        logged.log_model(model, portfolio()[FEATURES], target=TARGET)
    project.register(logged.id, "by-hand")
    data = tmp_path / "applications.csv"
    portfolio(seed=5).head(5).to_csv(data, index=False)
    with cli_on(project, monkeypatch) as where:
        code = run([*where, "predict", "by-hand", str(data), "--version", "1", "-o",
                    str(tmp_path / "out.csv"), "--explain"])
    assert code == 2
    err = capsys.readouterr().err
    assert "by-hand@1 records no training dataset" in err and "Traceback" not in err
    assert not (tmp_path / "out.csv").exists()
