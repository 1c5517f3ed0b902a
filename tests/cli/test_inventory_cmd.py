"""`rasad inventory`: the table and `--json` (docs/cli.md's convention), each figure the
registry's (SQLite and PostgreSQL).

'tester' (the project's creator, an admin) trains, registers, promotes and forces; 'amal'
approves. credit has two versions (v1 the primary of staging, v2 its canary, an open
request for v1 to production) and a declaration; scorecard is forced into production
(break-glass, not reviewed) and declares nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rasad import Project
from tests.registry._helpers import serve_canary

from ._helpers import Cli, add_and_train, assert_json_error, only_json, train_args, write_csv

POLICY = {
    "dev": {"gates": []},
    "staging": {"gates": []},
    "production": {"gates": [], "approval": {"approvals": 1, "roles": ["approver"]}},
}


@pytest.fixture
def rasad(project: Project, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Cli:
    path = project.root / "rasad.yaml"
    config = yaml.safe_load(path.read_text())
    config["promotion"]["environments"] = POLICY
    config["governance"]["models"] = {"credit": {"owner": "model-risk@bank",
                                                 "risk_tier": "critical"}}
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    serve_canary(project.root, "staging")
    cli = Cli(capsys, project.root)
    add_and_train(cli, write_csv(tmp_path / "loans.csv"))
    cli.ok(*train_args("--seed", "7"))
    cli.ok(*train_args(register_as="scorecard"))
    cli.ok("users", "add", "amal", "--role", "approver")
    return cli


def test_the_table_and_the_json_say_what_the_registry_holds(
        rasad: Cli, project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    rasad.ok("promote", "credit", "1", "--to", "staging")
    rasad.ok("promote", "credit", "2", "--to", "staging", "--slot", "canary")
    rasad.ok("promote", "credit", "1", "--to", "production")
    rasad.ok("promote", "scorecard", "1", "--to", "production", "--break-glass", "INC-7")

    found = only_json(rasad.ok("inventory", "--json"))
    with Project.open(project.root) as fresh:  # rasad.yaml as the commands read it
        expected = fresh.inventory().to_dict()
    assert found.pop("generated_at") and expected.pop("generated_at")
    assert found == expected
    credit, scorecard = found["models"]
    assert (credit["model"], credit["owner"], credit["risk_tier"], credit["missing"]) == (
        "credit", "model-risk@bank", "critical", [])
    assert (scorecard["model"], scorecard["owner"], scorecard["missing"]) == (
        "scorecard", None, ["owner", "risk_tier"])
    assert credit["serving"] == [{"environment": "staging", "primary": 1, "canary": 2,
                                  "shadow": None}]
    assert scorecard["serving"] == [{"environment": "production", "primary": 1,
                                     "canary": None, "shadow": None}]
    (opened,) = project.requests(status="open")
    assert [r["id"] for r in credit["open_requests"]] == [opened.id]
    (forced,) = project.requests(status="forced")
    assert [b["request_id"] for b in scorecard["break_glass_unreviewed"]] == [forced.id]

    out = rasad.ok("inventory").out
    lines = out.splitlines()
    row = next(line for line in lines if "scorecard" in line and "│" in line)
    assert row.count("missing") == 2  # owner and risk tier, never invented
    assert "model-risk@bank" in out and "critical" in out
    assert f"request #{opened.id} (credit@1 -> production) has 0 of 1 approval(s)" in out
    assert f"`rasad requests review {forced.id} --comment TEXT`" in out
    assert "SAMA CSF 3.3.3 Asset Management" in out
    assert "Not tracked yet" not in out and "retrain required" not in out  # no erasure

    monkeypatch.setenv("RASAD_USER", "amal")
    rasad.ok("approve", str(opened.id))
    rasad.ok("requests", "review", str(forced.id), "--comment", "checked")
    after = only_json(rasad.ok("inventory", "--json"))
    credit, scorecard = after["models"]
    assert credit["open_requests"] == [] and scorecard["break_glass_unreviewed"] == []
    assert credit["last_approval"]["approver"] == "amal"
    assert credit["last_approval"]["request_id"] == opened.id
    assert [s["environment"] for s in credit["serving"]] == ["staging", "production"]


def test_json_errors_and_an_empty_registry(project: Project,
                                           capsys: pytest.CaptureFixture[str],
                                           tmp_path: Path) -> None:
    rasad = Cli(capsys, project.root)
    empty = only_json(rasad.ok("inventory", "--json"))
    assert empty["models"] == [] and empty["project"] == "test"
    assert "No registered models yet" in rasad.ok("inventory").out
    assert_json_error(rasad("inventory", "--bogus", "--json"), "UsageError", 2)
    missing = Cli(capsys, tmp_path / "nowhere")
    assert_json_error(missing("inventory", "--json"), "NotFoundError", 2)

