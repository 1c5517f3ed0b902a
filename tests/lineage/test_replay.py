"""``rasad lineage emit`` (and ``Project.lineage_emit``): the ledger's events sent again,
with the same run ids, so a replay after an outage is idempotent in Marquez."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rasad import Project
from rasad.errors import ConfigError, InputError, PermissionDenied
from rasad.remote.project import LOCAL_ONLY, RemoteProject
from tests.cli._helpers import Cli, assert_user_error
from tests.lineage._spec import validate
from tests.lineage.conftest import Receiver
from tests.registry._helpers import DATASET, portfolio, train


def _loop(project: Project) -> None:
    project.add_dataset(portfolio(), DATASET)
    version = project.register(train(project).id, "credit")
    project.promote("credit", version.version, "dev")


def _ids(events: list[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    return [(e["eventType"], e["job"]["name"], e["run"]["runId"], e["eventTime"])
            for e in events]


def test_a_replay_sends_the_same_events_with_the_same_run_ids(
        lineage_project: Project, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    _loop(lineage_project)
    live = list(receiver.events)
    assert len(live) == 5
    receiver.events.clear()
    cli = Cli(capsys, lineage_project.root)
    result = cli.ok("lineage", "emit", "--since", "1")
    assert "Sent 5 OpenLineage event(s) for 5 ledger entries (from 1) to " \
        f"{receiver.url}/api/v1/lineage." in result.out
    assert receiver.events == live  # byte for byte what the commits sent
    receiver.events.clear()
    cli.ok("lineage", "emit")
    assert _ids(receiver.events) == _ids(live)  # idempotent: the same runs again
    for event in receiver.events:
        validate(event)


def test_since_and_until_bound_the_entries(lineage_project: Project, receiver: Receiver,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    _loop(lineage_project)
    live = list(receiver.events)
    start = next(e.seq for e in lineage_project.audit_log(action="run.start"))
    end = next(e.seq for e in lineage_project.audit_log(action="run.finish"))
    receiver.events.clear()
    cli = Cli(capsys, lineage_project.root)
    result = cli.ok("lineage", "emit", "--since", str(start), "--until", str(end), "--json")
    report = result.json()
    assert (report["entries"], report["events"], report["ok"]) == (2, 2, True)
    assert (report["since"], report["until"], report["last_seq"]) == (start, end, end)
    assert receiver.events == live[1:3]
    receiver.events.clear()
    assert lineage_project.lineage_emit(since=end + 1000).events == 0
    assert receiver.events == []


def test_a_failed_replay_exits_1_naming_where_to_resume(
        lineage_project: Project, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    _loop(lineage_project)
    receiver.status = 503
    first = lineage_project.audit_log(action="dataset.add")[0].seq
    result = Cli(capsys, lineage_project.root)("lineage", "emit")
    assert result.code == 1, str(result)
    assert f"then stopped at entry {first}" in result.out
    assert f"`rasad lineage emit --since {first}`" in result.out
    assert "Traceback" not in result.out + result.err
    report = lineage_project.lineage_emit()
    assert not report.ok and report.failed_seq == first and report.events == 0


def test_bad_ranges_and_no_transport_are_user_errors(
        backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Project.init(tmp_path / "proj", name="quiet") as project:
        cli = Cli(capsys, project.root)
        assert_user_error(cli("lineage", "emit"), "lineage.transport is none in rasad.yaml")
        with pytest.raises(ConfigError):
            project.lineage_emit()
        with pytest.raises(InputError, match="--since 0 is not a ledger entry"):
            project.lineage_emit(since=0)
        assert_user_error(cli("lineage", "emit", "--since", "9", "--until", "3"),
                          "--since 9 is after --until 3")


def test_a_replay_needs_audit_read(lineage_project: Project, receiver: Receiver) -> None:
    _loop(lineage_project)
    receiver.events.clear()
    stranger = Project(lineage_project.root, lineage_project.config, actor="mallory")
    try:
        with pytest.raises(PermissionDenied, match="audit.read"):
            stranger.lineage_emit()
    finally:
        stranger.close()
    assert receiver.events == []


def test_remote_mode_says_the_replay_runs_where_the_database_is() -> None:
    assert "lineage_emit" in LOCAL_ONLY
    with RemoteProject("http://127.0.0.1:9", "rsd_0123456789abcdef_x") as remote:
        with pytest.raises(InputError, match=r"`lineage_emit` is not available over the "
                                             r"server .*the server sends its own"):
            remote.lineage_emit  # noqa: B018
