"""`rasad promote --slot`, `rasad rollback --slot`, `rasad retire`, and the listings that show
the slots (SQLite and PostgreSQL, and with RASAD_URL set: the http backend)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rasad import Project
from tests._http import cli_on, local, reopened
from tests.cli._helpers import Cli
from tests.registry._helpers import registered, serve_canary

pytestmark = pytest.mark.over_http


@pytest.fixture
def rasad(project: Project, capsys: pytest.CaptureFixture[str],
          monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    """credit@1-3, staging with a canary share; the CLI runs as the project's creator, on
    the project's folder or, on the http backend, through the API with its token."""
    registered(project, versions=3)
    serve_canary(local(project).root, "staging", share=0.1, key="customer_id")
    with reopened(project) as there, cli_on(there, monkeypatch) as where:
        yield Cli(capsys, local(there).root if where else None)


def test_promote_a_canary_and_a_shadow_then_retire_and_roll_back(rasad: Cli) -> None:
    assert rasad.ok("promote", "credit", "1", "--to", "staging").out.strip().endswith(
        "Promoted: credit v1 now serves staging.")
    assert rasad.ok("promote", "credit", "2", "--to", "staging", "--slot", "canary"
                    ).out.strip().endswith("Promoted: credit v2 is now the canary of staging.")
    shadow = rasad.ok("promote", "credit", "3", "--to", "staging", "--slot", "shadow",
                      "--json").json()
    assert (shadow["environment"], shadow["version"], shadow["changed"]) == (
        "staging:shadow", 3, True)
    assert "already is the shadow of staging; nothing changed" in rasad.ok(
        "promote", "credit", "3", "--to", "staging", "--slot", "shadow").out

    shown = rasad.ok("models", "show", "credit")
    for target, version in (("staging:canary", "2"), ("staging:shadow", "3")):
        serving = [line for line in shown.out.splitlines() if target in line]
        assert serving and any(version in line for line in serving), shown.out
    assert "staging:canary: v2" in rasad.ok("models", "list").out
    assert rasad.ok("models", "show", "credit", "--json").json()["deployed"] == {
        "staging": 1, "staging:canary": 2, "staging:shadow": 3}
    history = rasad.ok("models", "history", "credit", "--json").json()
    assert [(d["environment"], d["version"]) for d in history] == [
        ("staging", 1), ("staging:canary", 2), ("staging:shadow", 3)]

    rasad.ok("promote", "credit", "3", "--to", "staging", "--slot", "canary")
    assert rasad.ok("rollback", "credit", "--env", "staging", "--slot", "canary"
                    ).out.strip() == ("Rolled back: credit v2 is now the canary of staging "
                                      "(replacing v3).")
    assert rasad.ok("retire", "credit", "--env", "staging", "--slot", "canary", "--reason",
                    "enough data").out.strip() == (
        "Retired: credit v2 is no longer the canary of staging.")
    retired = rasad.ok("retire", "credit", "--env", "staging", "--slot", "shadow",
                       "--json").json()
    assert (retired["environment"], retired["slot"], retired["version"]) == (
        "staging:shadow", "shadow", 3)
    assert rasad.ok("models", "show", "credit", "--json").json()["deployed"] == {"staging": 1}
    assert rasad.ok("audit", "verify").code == 0


def test_slot_mistakes_exit_2_and_name_the_fix(rasad: Cli) -> None:
    rasad.ok("promote", "credit", "1", "--to", "staging")
    no_share = rasad("promote", "credit", "2", "--to", "production", "--slot", "canary")
    assert no_share.code == 2
    assert "serving.environments.production.canary" in no_share.err
    bad = rasad("promote", "credit", "2", "--to", "staging", "--slot", "blue", "--json")
    assert bad.code == 2 and bad.json()["error"]["type"] == "InputError"
    assert "slots are primary, canary, shadow" in bad.json()["error"]["message"]
    primary_twice = rasad("promote", "credit", "1", "--to", "staging", "--slot", "shadow")
    assert primary_twice.code == 2 and "is the primary of staging" in primary_twice.err
    nothing = rasad("retire", "credit", "--env", "staging", "--slot", "canary", "--json")
    assert nothing.code == 2 and nothing.json()["error"]["type"] == "ConflictError"
    primary = rasad("retire", "credit", "--env", "staging", "--slot", "primary")
    assert primary.code == 2 and "is not retired" in primary.err
    missing = rasad("retire", "credit", "--env", "staging")
    assert missing.code == 2 and "--slot" in missing.err
