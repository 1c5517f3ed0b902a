"""Emission is best effort: whatever goes wrong after the commit, the change stands and a
warning says what was not sent and how to resend it, never a secret; a configuration
that cannot work is refused before any change."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import pytest

from rasad import Project
from rasad.errors import ConfigError
from tests.lineage._spec import validate
from tests.lineage.conftest import Receiver, configure
from tests.registry._helpers import DATASET, portfolio, train


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_endpoint_down_the_change_is_committed_and_a_warning_logged(
        backend: str, tmp_path: Path, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARQUEZ_KEY", "sekrit-key-42")
    root = tmp_path / "proj"
    Project.init(root, name="down").close()
    url = f"http://ol-user:pa55word@127.0.0.1:{_free_port()}"
    configure(root, f"  transport: http\n  url: {url}\n  api_key_env: MARQUEZ_KEY\n")
    with Project.open(root) as project, caplog.at_level("WARNING", logger="rasad.lineage"):
        added = project.add_dataset(portfolio(), DATASET).version
        assert project.dataset(DATASET).content_hash == added.content_hash
        project.add_dataset(portfolio(3), DATASET)  # within the cool-off: skipped, warned
        assert [v.version for v in project.datasets(DATASET)] == [1, 2]
    warnings = [r.getMessage() for r in caplog.records if r.name == "rasad.lineage"]
    assert len(warnings) == 2
    seq = project.audit_log(subject="dataset:loans@1")[0].seq
    assert f"ledger entry {seq} were not sent to http://127.0.0.1:" in warnings[0]
    assert "ConnectionError" in warnings[0]
    assert f"The change is committed; resend with `rasad lineage emit --since {seq}`" \
        in warnings[0]
    assert "failed moments ago" in warnings[1]
    for text in warnings:
        assert "sekrit" not in text and "pa55word" not in text and "ol-user" not in text


def test_an_endpoint_error_status_is_a_warning(lineage_project: Project, receiver: Receiver,
                                               caplog: pytest.LogCaptureFixture) -> None:
    receiver.status = 400
    with caplog.at_level("WARNING", logger="rasad.lineage"):
        lineage_project.add_dataset(portfolio(), DATASET)
    assert lineage_project.datasets(DATASET)
    (warning,) = [r.getMessage() for r in caplog.records if r.name == "rasad.lineage"]
    assert "HTTPError: 400 Client Error" in warning


def test_the_file_transport_writes_one_json_line_per_event(backend: str,
                                                           tmp_path: Path) -> None:
    root = tmp_path / "proj"
    Project.init(root, name="filed").close()
    configure(root, "  transport: file\n  path: lineage/events.jsonl\n")
    with Project.open(root) as project:
        project.add_dataset(portfolio(), DATASET)
        project.register(train(project).id, "credit")
    lines = (root / "lineage" / "events.jsonl").read_text(encoding="utf-8").splitlines()
    events = [json.loads(line) for line in lines]
    assert [(e["eventType"], e["job"]["name"]) for e in events] == [
        ("COMPLETE", "dataset.add:loans"), ("START", "train"), ("COMPLETE", "train"),
        ("COMPLETE", "model.register:credit")]
    for event in events:
        validate(event)


def test_an_unwritable_file_is_a_warning_too(backend: str, tmp_path: Path,
                                             caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "proj"
    Project.init(root, name="filed").close()
    (root / "taken").mkdir()
    configure(root, "  transport: file\n  path: taken\n")  # a folder: cannot be appended to
    with Project.open(root) as project, caplog.at_level("WARNING", logger="rasad.lineage"):
        project.add_dataset(portfolio(), DATASET)
        assert project.datasets(DATASET)
    assert any("were not sent to taken" in r.getMessage() for r in caplog.records)


def test_a_missing_client_is_refused_before_any_change(
        lineage_project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    root = lineage_project.root
    lineage_project.close()
    for name in [m for m in sys.modules if m == "openlineage" or m.startswith("openlineage.")
                 or m.startswith("rasad.lineage._")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "openlineage", None)  # import fails: not installed
    with Project.open(root) as project:
        before = len(project.audit_log())
        with pytest.raises(ConfigError, match=r"pip install 'rasad\[lineage\]'"):
            project.add_dataset(portfolio(), DATASET)
        assert len(project.audit_log()) == before and project.datasets() == []


def test_an_unset_api_key_variable_is_refused_naming_it(
        backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MARQUEZ_KEY", raising=False)
    root = tmp_path / "proj"
    Project.init(root, name="keyed").close()
    configure(root, "  transport: http\n  url: http://127.0.0.1:9\n  api_key_env: MARQUEZ_KEY\n")
    with Project.open(root) as project:
        with pytest.raises(ConfigError, match="names MARQUEZ_KEY, which is not set"):
            project.add_dataset(portfolio(), DATASET)
        assert project.datasets() == []


def test_a_rolled_back_transaction_sends_nothing(lineage_project: Project,
                                                 receiver: Receiver) -> None:
    with pytest.raises(RuntimeError), lineage_project.transaction() as tx:
        tx.record("dataset.add", "dataset:ghost@1", {"content_hash": "0" * 64})
        raise RuntimeError("abandon")
    assert receiver.requests == []
    assert lineage_project.audit_log(subject="dataset:ghost@1") == []
