"""``rasad subject find|erase`` and ``POST /subjects/find|erase``: the same results through
the CLI, locally and over the server (PostgreSQL), with the id in no URL; exit 2 and no
change for bad input and an unconfirmed erasure."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from rasad import Project
from rasad.cli import run
from tests._http import Server, cli_on
from tests.governance._subjects_world import SUBJECT, build
from tests.identity._helpers import snapshot


@pytest.fixture
def world(backend: str, tmp_path: Path) -> Iterator[Project]:
    project = build(tmp_path / "proj")
    yield project
    project.close()


def test_the_cli_finds_and_erases(world: Project, capsys: pytest.CaptureFixture[str]) -> None:
    where = ["--project", str(world.root)]
    assert run([*where, "subject", "find", SUBJECT, "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert [v["dataset"] for v in found["versions"]] == ["loans@1", "loans@3"]
    assert run([*where, "subject", "find", SUBJECT]) == 0
    shown = capsys.readouterr().out
    assert "loans@3" in shown and "credit@1" in shown and "r-prod" in shown
    before = snapshot(world)
    assert run([*where, "subject", "erase", SUBJECT, "--reason", "GDPR"]) == 2  # no --yes
    assert "--yes" in capsys.readouterr().err
    assert run([*where, "subject", "erase", SUBJECT, "--reason", "", "--yes"]) == 2
    capsys.readouterr()
    assert snapshot(world) == before
    assert run([*where, "subject", "erase", SUBJECT, "--reason", "GDPR", "--yes"]) == 0
    out = capsys.readouterr().out
    assert "Erasure #1" in out and "loans@4" in out and "retrain required by" in out
    assert run([*where, "subject", "erase", SUBJECT, "--reason", "GDPR", "--yes",
                "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["erased"] is False


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_over_the_server(world: Project, monkeypatch: pytest.MonkeyPatch,
                         capsys: pytest.CaptureFixture[str]) -> None:
    with Server(world) as server:
        remote = server.connect()
        assert remote.subject_find(SUBJECT).indexes_built == 4
        assert remote.subject_find(SUBJECT) == world.subject_find(SUBJECT)
        with cli_on(remote, monkeypatch) as where:
            assert run([*where, "subject", "erase", SUBJECT, "--reason", "GDPR", "--yes",
                        "--json"]) == 0
        erased = json.loads(capsys.readouterr().out)
        assert erased["erased"] and erased["versions"][1]["replaced_by"] == "loans@4"
        assert world.subject_find(SUBJECT).predictions == ()
        # The id went in request bodies: the server's audit events name no URL with it.
        assert all(SUBJECT not in json.dumps(e.details) for e in world.audit_log())
