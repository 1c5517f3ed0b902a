"""What a project sends as its changes commit: one OpenLineage event per dataset version,
registration and deployment, START and COMPLETE (or FAIL) per training run; every event
valid against the published OpenLineage schemas, with the fields Marquez needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rasad import Project
from rasad.core import Context
from rasad.ledger import Tx
from tests.lineage._spec import validate
from tests.lineage.conftest import Receiver, configure
from tests.registry._helpers import DATASET, FEATURES, portfolio, train


def _one(events: list[dict[str, Any]], job: str) -> dict[str, Any]:
    found = [e for e in events if e["job"]["name"] == job]
    assert len(found) == 1, [e["job"]["name"] for e in events]
    return found[0]


def _tags(event: dict[str, Any]) -> dict[str, str]:
    return {t["key"]: t["value"] for t in event["run"]["facets"]["tags"]["tags"]}


def test_the_loop_sends_exactly_its_events(lineage_project: Project, receiver: Receiver,
                                           tmp_path: Path) -> None:
    project = lineage_project
    csv = tmp_path / "loans.csv"
    portfolio().to_csv(csv, index=False)
    added = project.add_dataset(csv, DATASET).version
    assert receiver.summary() == [("COMPLETE", "dataset.add:loans")]

    run = train(project)
    assert receiver.summary()[1:] == [("START", "train"), ("COMPLETE", "train")]
    version = project.register(run.id, "credit")
    project.promote("credit", version.version, "dev")
    assert receiver.summary()[3:] == [("COMPLETE", "model.register:credit"),
                                      ("COMPLETE", "model.deploy:credit:dev")]
    assert {path for path, _ in receiver.requests} == {"/api/v1/lineage"}
    events = receiver.events
    for event in events:
        validate(event)
        assert event["job"]["namespace"] == "credit-risk"
        for dataset in event["inputs"] + event["outputs"]:
            assert dataset["namespace"] and dataset["name"]

    data = events[0]
    assert data["inputs"] == [{"namespace": "file", "name": str(csv.resolve()),
                               "facets": {}, "inputFacets": {}}]
    out = data["outputs"][0]
    assert out["name"] == "dataset:loans"
    assert out["facets"]["version"]["datasetVersion"] == added.content_hash
    assert [(f["name"], f["ordinal_position"]) for f in out["facets"]["schema"]["fields"]] \
        == [(c.name, i) for i, c in enumerate(added.profile.columns, start=1)]
    assert out["outputFacets"]["outputStatistics"]["rowCount"] == added.rows
    assert data["eventTime"] == project.audit_log(subject="dataset:loans@1")[0].occurred_at

    start, end = events[1], events[2]
    assert start["run"]["runId"] == end["run"]["runId"]
    assert _tags(start)["rasad.run_id"] == run.id
    assert start["inputs"] == [] and start["outputs"] == []
    assert [(d["name"], d["facets"]["version"]["datasetVersion"]) for d in end["inputs"]] \
        == [("dataset:loans", added.content_hash)]
    assert [d["name"] for d in end["outputs"]] == [f"model-artifact:{run.model_blob}"]

    register, deploy = events[3], events[4]
    assert [d["name"] for d in register["inputs"]] == [f"model-artifact:{run.model_blob}"]
    assert register["outputs"][0]["name"] == "model:credit"
    assert register["outputs"][0]["facets"]["version"]["datasetVersion"] == version.blob
    assert [d["name"] for d in deploy["inputs"]] == ["model:credit"]
    assert [d["name"] for d in deploy["outputs"]] == ["deployment:credit:dev"]
    assert _tags(deploy)["rasad.kind"] == "promotion"
    # Every run id is distinct but for a training run's two events.
    assert len({e["run"]["runId"] for e in events}) == 4
    # The run facet links each event to its ledger entry.
    seqs = [int(_tags(e)["rasad.ledger.seq"]) for e in events]
    assert seqs == sorted(seqs)
    log = {e.seq: e for e in project.audit_log()}
    assert [log[s].hash for s in seqs] == [_tags(e)["rasad.ledger.hash"] for e in events]


def test_no_value_from_the_data_is_sent(lineage_project: Project, receiver: Receiver) -> None:
    frame = portfolio()
    lineage_project.add_dataset(frame, DATASET, description="Q1 applications")
    sent = str(receiver.events)
    # Names, types and sizes only: no category, no figure of the profile.
    for column in ("employment_type",):
        for value in frame[column].dropna().unique():
            assert f"'{value}'" not in sent
    assert str(frame["income"].iloc[0]) not in sent
    event = receiver.events[0]
    assert event["inputs"] == []  # a data frame is no file
    assert event["outputs"][0]["facets"]["documentation"]["description"] == \
        "loans@1: Q1 applications"


def test_a_failed_run_sends_fail_with_the_error_type_only(lineage_project: Project,
                                                          receiver: Receiver) -> None:
    with pytest.raises(ValueError), lineage_project.start_run("probe") as run:
        raise ValueError("could not convert string to float: 'Amal Saeed'")
    assert receiver.summary() == [("START", "train:probe"), ("FAIL", "train:probe")]
    failed = receiver.events[1]
    validate(failed)
    message = failed["run"]["facets"]["errorMessage"]["message"]
    assert message.startswith("ValueError (the message is in rasad's audit ledger, entry ")
    assert "Amal" not in str(receiver.events)
    assert _tags(failed)["rasad.run_id"] == run.id


def test_a_derived_version_names_its_parent_and_a_rollback_is_a_deployment(
        lineage_project: Project, receiver: Receiver) -> None:
    from rasad.datasets import service

    project = lineage_project
    first = project.add_dataset(portfolio(1), DATASET).version
    service.add(project.context, portfolio(2), DATASET, parent=first)
    derived = receiver.events[-1]
    assert [(d["name"], d["facets"]["version"]["datasetVersion"]) for d in derived["inputs"]] \
        == [("dataset:loans", first.content_hash)]
    first_model = project.register(train(project, version=1).id, "credit")
    second_model = project.register(train(project, version=2, features=FEATURES[:3]).id,
                                    "credit")
    project.promote("credit", first_model.version, "dev")
    project.promote("credit", second_model.version, "dev")
    project.rollback("credit", "dev")
    deploys = [e for e in receiver.events if e["job"]["name"] == "model.deploy:credit:dev"]
    assert [_tags(e)["rasad.kind"] for e in deploys] == ["promotion", "promotion", "rollback"]
    assert deploys[-1]["inputs"][0]["facets"]["version"]["datasetVersion"] == first_model.blob
    for event in receiver.events:
        validate(event)


def test_transport_none_sends_nothing_and_records_with_a_plain_tx(
        backend: str, tmp_path: Path, receiver: Receiver) -> None:
    with Project.init(tmp_path / "proj", name="quiet") as project:
        assert project.context.lineage is None
        with project.transaction() as tx:
            assert type(tx) is Tx  # no recording, no query, no import: nothing to pay
        project.add_dataset(portfolio(), DATASET)
        project.register(train(project).id, "credit")
    assert receiver.events == [] and receiver.requests == []


def test_the_console_transport_logs_each_event(backend: str, tmp_path: Path,
                                               caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "proj"
    Project.init(root, name="console").close()
    configure(root, "  transport: console\n")
    with Project.open(root) as project, caplog.at_level("INFO", logger="rasad.lineage"):
        project.add_dataset(portfolio(), DATASET)
    lines = [r.getMessage() for r in caplog.records if r.name == "rasad.lineage"]
    assert len(lines) == 1 and '"job": {' in lines[0] and "dataset.add:loans" in lines[0]


def test_namespace_from_the_configuration(backend: str, tmp_path: Path,
                                          receiver: Receiver) -> None:
    root = tmp_path / "proj"
    Project.init(root, name="credit-risk").close()
    configure(root, f"  transport: http\n  url: {receiver.url}\n  namespace: bank.risk\n")
    with Project.open(root) as project:
        project.add_dataset(portfolio(), DATASET)
    event = receiver.events[0]
    assert event["job"]["namespace"] == event["outputs"][0]["namespace"] == "bank.risk"


def test_an_api_key_travels_as_a_bearer_token(backend: str, tmp_path: Path,
                                              receiver: Receiver,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARQUEZ_KEY", "k-123")
    root = tmp_path / "proj"
    Project.init(root, name="keyed").close()
    configure(root, f"  transport: http\n  url: {receiver.url}\n  api_key_env: MARQUEZ_KEY\n")
    with Project.open(root) as project:
        project.add_dataset(portfolio(), DATASET)
    (_, headers), = receiver.requests
    assert headers["Authorization"] == "Bearer k-123"


def test_one_emitter_serves_the_contexts_derived_from_a_context(
        lineage_project: Project) -> None:
    import dataclasses

    ctx: Context = lineage_project.context
    assert ctx.lineage is ctx.lineage is not None
    # A server derives one context per request: they share the emitter (its connection,
    # its pause after a failure) unless the configuration itself differs.
    assert dataclasses.replace(ctx, actor="someone").lineage is ctx.lineage
    other = ctx.config.model_copy(update={"name": "renamed"})
    assert dataclasses.replace(ctx, config=other).lineage is not ctx.lineage


def test_a_server_sends_the_events_of_the_changes_its_clients_make(
        lineage_project: Project, receiver: Receiver) -> None:
    from tests._http import Server

    with Server(lineage_project) as server:
        remote = server.connect()
        remote.add_dataset(portfolio(), DATASET)
        remote.add_dataset(portfolio(2), DATASET)
    assert receiver.summary() == [("COMPLETE", "dataset.add:loans")] * 2
    first, second = receiver.events
    assert first["run"]["runId"] != second["run"]["runId"]
    # The client's frame is no file the server can name; nothing of the token is sent.
    assert first["inputs"] == [] and "rsd_" not in str(receiver.events)


def test_concurrent_changes_each_send_their_own_events_once(
        lineage_project: Project, receiver: Receiver) -> None:
    from concurrent.futures import ThreadPoolExecutor

    frames = [portfolio(seed) for seed in range(4)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: lineage_project.add_dataset(frames[i], f"part{i}"), range(4)))
    assert sorted(receiver.summary()) == [("COMPLETE", f"dataset.add:part{i}")
                                          for i in range(4)]
    seqs = {_tags(e)["rasad.ledger.seq"] for e in receiver.events}
    assert len(seqs) == 4 and len({e["run"]["runId"] for e in receiver.events}) == 4
    for event in receiver.events:
        subject = _tags(event)["rasad.subject"]
        assert event["job"]["name"] == "dataset.add:" + subject.removeprefix("dataset:")[:-2]
