"""`rasad train` with its options, and `rasad runs list | show | compare`."""

from __future__ import annotations

from pathlib import Path

import pytest

from rasad import Project

from ._helpers import (
    ESTIMATOR,
    FEATURES,
    Cli,
    assert_user_error,
    portfolio,
    train_args,
    write_csv,
)


@pytest.fixture
def rasad(project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    cli = Cli(capsys, project.root)
    cli.ok("data", "add", write_csv(tmp_path / "loans.csv"), "--name", "loans")
    return cli


def test_train_with_options_records_them_and_registers(rasad: Cli) -> None:
    result = rasad.ok(*train_args("--name", "baseline", "--seed", "3", "--json")).json()
    run = result["run"]
    assert run["status"] == "finished" and run["error"] is None
    assert run["name"] == "baseline" and run["seed"] == 3
    params = run["params"]
    assert params["dataset"] == "loans@1"
    assert params["target"] == "default"
    assert params["features"] == list(FEATURES)
    assert params["estimator"] == ESTIMATOR
    assert params["estimator_params"] == {"max_iter": 200}
    assert set(run["metrics"]) == {"train", "validation", "test"}
    assert 0.0 <= run["metrics"]["test"]["roc_auc"] <= 1.0
    assert [d["dataset"] for d in run["datasets"]] == ["loans@1"]
    model = result["model_version"]
    assert (model["name"], model["version"], model["run_id"]) == ("credit", 1, run["id"])


def test_train_renders_metrics_and_the_next_step(rasad: Cli) -> None:
    registered = rasad.ok(*train_args()).out
    assert "finished" in registered and "roc_auc" in registered
    assert "Registered as credit@1" in registered
    unregistered = rasad.ok(*train_args(register_as=None)).out
    assert "rasad models register" in unregistered


def test_train_at_a_dataset_version(rasad: Cli, tmp_path: Path) -> None:
    rasad.ok("data", "add", write_csv(tmp_path / "small.csv", portfolio().head(200)), "--name",
             "loans")
    args = train_args("--json", register_as=None)
    args[args.index("loans")] = "loans@1"
    assert rasad.ok(*args).json()["run"]["params"]["dataset"] == "loans@1"
    latest = rasad.ok(*train_args("--json", register_as=None)).json()
    assert latest["run"]["params"]["dataset"] == "loans@2"


def test_runs_list_show_compare(rasad: Cli) -> None:
    first = rasad.ok(*train_args("--json", register_as=None)).json()["run"]["id"]
    args = train_args("--json", register_as=None)
    args[args.index("max_iter=200")] = "C=0.5"
    second = rasad.ok(*args).json()["run"]["id"]

    listed = rasad.ok("runs", "list", "--json").json()
    assert {r["id"] for r in listed} == {first, second}
    assert all(r["status"] == "finished" for r in listed)
    assert rasad.ok("runs", "list", "--status", "failed", "--json").json() == []
    table = rasad.ok("runs", "list").out
    assert first[:8] in table and second[:8] in table and "LogisticRegression" in table

    shown = rasad.ok("runs", "show", first[:8], "--json").json()
    assert shown["id"] == first
    assert shown["environment"]["packages"]["scikit-learn"]
    assert shown["model_blob"] and shown["model_info"]["task"] == "classification"
    text = rasad.ok("runs", "show", first).out
    assert f"Run {first}" in text and "datasets: loans@1 (train)" in text

    compared = rasad.ok("runs", "compare", first[:8], second[:8], "--json").json()
    assert compared["runs"] == [first, second]
    assert "estimator_params.C" in compared["differing_params"]
    assert "estimator_params.max_iter" in compared["differing_params"]
    assert "target" not in compared["differing_params"]
    assert compared["params"]["estimator_params.max_iter"] == [200, None]
    assert "test.roc_auc" in compared["metrics"]
    table = rasad.ok("runs", "compare", first, second).out
    assert "* estimator_params.C" in table


def test_train_and_compare_over_the_server(project: Project, rasad: Cli,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """With RASAD_URL set, `rasad train` trains on the server (the same run as on the
    folder, by the token's principal) and `runs compare` compares there."""
    from tests.api._server import cli_over_server

    local = rasad.ok(*train_args("--seed", "3", "--json", register_as=None)).json()
    far = Cli(rasad.capsys)
    with cli_over_server(project, monkeypatch) as tokens:
        remote = far.ok(*train_args("--seed", "3", "--json", register_as="credit")).json()
        assert (remote["run"]["created_by"], remote["model_version"]["version"]) == ("ada", 1)
        assert remote["run"]["metrics"] == local["run"]["metrics"]
        ids = (local["run"]["id"], remote["run"]["id"])
        compared = far.ok("runs", "compare", *ids, "--json").json()
        monkeypatch.setenv("RASAD_TOKEN", tokens.viewer)
        assert_user_error(far(*train_args(register_as=None)), "run.write")
    monkeypatch.delenv("RASAD_URL")  # the folder again
    assert compared == rasad.ok("runs", "compare", *ids, "--json").json()
    assert len(project.runs()) == 2
