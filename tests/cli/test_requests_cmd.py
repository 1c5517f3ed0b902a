"""`rasad promote` through gates, `rasad requests list|show|review`, `rasad approve`,
`rasad reject`, break-glass, and what `models show|list` say about it (SQLite and PostgreSQL).

The policy keeps gates cheap where a test is not about them: staging and production run
only the champion gate (skipped for a first version, so it shows in the table without
scoring anything), production needs one approver. 'tester' (RASAD_USER, the project's
creator and admin) trains and registers; 'amal' and 'omar' are approvers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from rasad import Project

from ._helpers import (
    Cli,
    Trained,
    add_and_train,
    assert_json_error,
    assert_user_error,
    only_json,
    snapshot,
    train_args,
    write_csv,
)

POLICY: dict[str, Any] = {
    "dev": {"gates": []},
    "staging": {"gates": ["champion"]},
    "production": {"gates": ["champion"], "approval": {"approvals": 1, "roles": ["approver"]}},
}


def set_promotion(root: Path, **promotion: Any) -> None:
    """Set keys of rasad.yaml's `promotion` section (each CLI call reads the file anew)."""
    path = root / "rasad.yaml"
    config = yaml.safe_load(path.read_text())
    config["promotion"].update(promotion)
    path.write_text(yaml.safe_dump(config, sort_keys=False))


@pytest.fixture
def rasad(project: Project, capsys: pytest.CaptureFixture[str]) -> Cli:
    set_promotion(project.root, environments=POLICY)
    return Cli(capsys, project.root)


@pytest.fixture
def as_user(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    return lambda name: monkeypatch.setenv("RASAD_USER", name)


@pytest.fixture
def trained(rasad: Cli, tmp_path: Path) -> Iterator[Trained]:
    trained = add_and_train(rasad, write_csv(tmp_path / "loans.csv"))
    rasad.ok("users", "add", "amal", "--role", "approver")
    rasad.ok("users", "add", "omar", "--role", "approver")
    rasad.ok("users", "add", "dana", "--role", "data_scientist")
    yield trained


def opened_id(out: str) -> int:
    line = next(line for line in out.splitlines() if line.startswith("Opened request #"))
    return int(line.removeprefix("Opened request #").split(":")[0])


def test_promote_shows_the_gates_then_deploys_or_opens_a_request(
        rasad: Cli, trained: Trained, as_user: Callable[[str], None]) -> None:
    staged = rasad.ok("promote", "credit", "1", "--to", "staging").out
    assert "champion" in staged and "skipped" in staged
    assert staged.rstrip().endswith("Promoted: credit v1 now serves staging.")

    opened = rasad.ok("promote", "credit", "1", "--to", "production").out
    assert "gates for credit@1 -> production" in opened and "champion" in opened
    number = opened_id(opened)
    assert f"Opened request #{number}: needs 1 approval(s) from approver." in opened
    shown = rasad.ok("models", "show", "credit", "--json").json()
    assert shown["deployed"] == {"staging": 1}  # nothing deployed yet

    listed = rasad.ok("requests", "list", "--status", "open", "--json").json()
    assert [(r["id"], r["model"], r["version"], r["environment"], r["status"])
            for r in listed] == [(number, "credit", 1, "production", "open")]
    assert listed == rasad.ok("requests", "list", "--model", "credit", "--env", "production",
                              "--status", "open", "--json").json()
    table = rasad.ok("requests", "list").out
    assert f"{number}" in table and "0/1" in table and "open" in table

    as_user("amal")
    approved = rasad.ok("approve", str(number), "--comment", "looked at the gates").out
    assert approved.strip() == (f"Approved request #{number} (credit v1 -> production): "
                                "approved by 1 of 1; credit v1 now serves production.")
    assert rasad.ok("models", "show", "credit", "--json").json()["deployed"] == {
        "staging": 1, "production": 1}
    request = rasad.ok("requests", "show", str(number), "--json").json()
    assert request["status"] == "promoted" and request["deployment_id"] is not None
    assert [(a["principal"], a["decision"], a["comment"]) for a in request["approvals"]] == [
        ("amal", "approve", "looked at the gates")]

    # models show: per environment, the version, its gates and who approved it.
    serving = rasad.ok("models", "show", "credit").out
    production = next(line for line in serving.splitlines() if "production" in line
                      and f"#{number}" in line)
    assert "amal" in production and "passed" in production
    assert "BREAK-GLASS" not in serving


def test_the_maker_cannot_approve_and_nobody_approves_twice(
        rasad: Cli, project: Project, trained: Trained,
        as_user: Callable[[str], None]) -> None:
    number = opened_id(rasad.ok("promote", "credit", "1", "--to", "production").out)
    # The trainer is refused as a maker first, approver role or not.
    assert_user_error(rasad("approve", str(number)), "'tester' may not", "trained run")
    rasad.ok("users", "add", "zaid", "--role", "admin")
    as_user("zaid")  # an admin who made nothing, but production's rule counts approvers
    assert_user_error(rasad("approve", str(number)), "'zaid'", "counts only approver")
    as_user("tester")
    rasad.ok("users", "grant", "tester", "approver")
    before = snapshot(project)
    # Now an approver, 'tester' still trained the run: maker-checker, and it says so.
    assert_user_error(rasad("approve", str(number), "--comment", "mine"), "'tester' may not",
                      f"approve request #{number}", "trained run", "maker-checker")
    assert snapshot(project) == before

    as_user("dana")  # a data scientist has no model.approve
    assert_user_error(rasad("approve", str(number)), "'dana'", "model.approve")
    as_user("amal")
    rasad.ok("approve", str(number))
    as_user("omar")
    # The request deployed on amal's approval: a second approver has nothing to decide.
    assert_json_error(rasad("approve", str(number), "--json"), "ConflictError", 2,
                      f"Request #{number} (credit@1 -> production) is promoted")
    assert_user_error(rasad("approve", "999"), "No promotion request #999")
    assert snapshot(project) != before  # amal's approval deployed


def test_reject_needs_a_comment_and_closes_the_request(
        rasad: Cli, project: Project, trained: Trained,
        as_user: Callable[[str], None]) -> None:
    number = opened_id(rasad.ok("promote", "credit", "1", "--to", "production").out)
    as_user("amal")
    missing = rasad("reject", str(number))
    assert missing.code == 2 and "Missing option '--comment'" in missing.err
    rejected = rasad.ok("reject", str(number), "--comment", "the slice tests are missing")
    assert rejected.out.strip() == (f"Rejected request #{number} (credit v1 -> production): "
                                    "rejected.")
    shown = rasad.ok("requests", "show", str(number)).out
    assert "rejected" in shown and "the slice tests are missing" in shown
    assert_user_error(rasad("approve", str(number)), str(number))
    assert project.model("credit").deployed == {}


def test_a_newer_request_supersedes_the_older(rasad: Cli, trained: Trained) -> None:
    rasad.ok(*train_args())  # credit@2
    first = opened_id(rasad.ok("promote", "credit", "1", "--to", "production").out)
    second = opened_id(rasad.ok("promote", "credit", "2", "--to", "production").out)
    statuses = {r["id"]: r["status"] for r in rasad.ok("requests", "list", "--json").json()}
    assert statuses == {first: "superseded", second: "open"}
    assert "superseded" in rasad.ok("requests", "list", "--status", "superseded").out


def test_break_glass_is_marked_until_reviewed(rasad: Cli, project: Project, trained: Trained,
                                              as_user: Callable[[str], None]) -> None:
    as_user("dana")
    before = snapshot(project)
    assert_user_error(rasad("promote", "credit", "1", "--to", "production", "--break-glass",
                            "pager"), "model.force")
    assert snapshot(project) == before
    as_user("tester")
    assert_user_error(rasad("promote", "credit", "1", "--to", "production", "--break-glass",
                            "x", "--reason", "y"), "--break-glass JUSTIFICATION alone")

    forced = rasad.ok("promote", "credit", "1", "--to", "production", "--break-glass",
                      "incident 7: the old model scores nothing").out
    assert "BREAK-GLASS" in forced and "credit v1 now serves production" in forced
    request = rasad.ok("requests", "list", "--status", "forced", "--json").json()[0]
    number = request["id"]
    assert request["break_glass"] is True and request["reviewed"] is None
    assert request["justification"] == "incident 7: the old model scores nothing"
    assert project.model("credit").deployed == {"production": 1}

    marker = "BREAK-GLASS (unreviewed)"
    assert marker in rasad.ok("models", "show", "credit").out
    assert marker in rasad.ok("models", "list").out
    assert marker in rasad.ok("requests", "show", str(number)).out
    assert marker in rasad.ok("requests", "list").out

    as_user("amal")
    missing = rasad("requests", "review", str(number))
    assert missing.code == 2 and "Missing option '--comment'" in missing.err
    reviewed = rasad.ok("requests", "review", str(number), "--comment", "justified").out
    assert "reviewed by amal" in reviewed
    for args in (("models", "show", "credit"), ("models", "list"),
                 ("requests", "show", str(number))):
        assert marker not in rasad.ok(*args).out, args
    assert "reviewed by amal: justified" in rasad.ok("requests", "show", str(number)).out


def test_a_blocking_gate_exits_1_and_deploys_nothing(rasad: Cli, project: Project,
                                                     trained: Trained) -> None:
    # The metrics gate on the training data, with a threshold no model reaches.
    set_promotion(project.root, evaluation_data="loans@1",
                  metrics={"roc_auc": {"min": 0.999}},
                  environments={**POLICY, "staging": {"gates": ["metrics"]}})
    failed = rasad("promote", "credit", "1", "--to", "staging")
    assert failed.code == 1, str(failed)
    assert "metrics" in failed.out and "failed (blocks)" in failed.out
    assert "Not promoted: 1 gate(s) block (metrics)" in failed.out
    as_json = rasad("promote", "credit", "1", "--to", "staging", "--json")
    assert as_json.code == 1, str(as_json)
    request = only_json(as_json)  # the failed request itself, one document
    assert request["status"] == "failed" and request["gates"]["blocking"] == ["metrics"]
    metrics = request["gates"]["gates"][0]
    assert metrics["gate"] == "metrics" and metrics["status"] == "failed"
    assert project.model("credit").deployed == {}
    shown = rasad.ok("requests", "show", str(request["id"])).out
    assert "roc_auc" in shown and "failed" in shown


def test_bad_ids_and_options_are_usage_errors(rasad: Cli, trained: Trained) -> None:
    for args, fragment in [(("approve", "0"), "Invalid value for 'ID'"),
                           (("approve", "x"), "Invalid value for 'ID'"),
                           (("requests", "show", "-3"), "-3"),
                           (("reject", "1", "--comment", " "), "Give a comment"),
                           (("requests", "list", "--status", "pending"),
                            "Request status 'pending' is not one of open, promoted")]:
        result = rasad(*args)
        assert result.code == 2 and fragment in result.err and "Traceback" not in result.err, \
            str(result)
    assert_user_error(rasad("requests", "show", "42"), "42")


def test_an_unreviewed_break_glass_is_warned_about_until_reviewed(
        rasad: Cli, project: Project, trained: Trained, tmp_path: Path,
        as_user: Callable[[str], None]) -> None:
    forced = rasad.ok("promote", "credit", "1", "--to", "production", "--break-glass",
                      "incident 4411")
    number = int(forced.out.split("request #")[1].split(")")[0].split(" ")[0])
    data = tmp_path / "loans.csv"
    scored = rasad.ok("predict", "credit", str(data), "--env", "production", "-o",
                      tmp_path / "scores.csv", "--json")
    assert f"through BREAK-GLASS (unreviewed) request #{number}" in scored.err
    assert f"rasad requests review {number}" in scored.err
    json.loads(scored.out)  # stdout stays one JSON document
    as_user("amal")
    rasad.ok("requests", "review", str(number), "--comment", "incident closed")
    again = rasad.ok("predict", "credit", str(data), "--env", "production", "-o",
                     tmp_path / "scores2.csv")
    assert "BREAK-GLASS" not in again.err + again.out
