"""Files over the server: every record names the caller's file, never the server's copy.

The server reads an uploaded file from a temporary folder of its own; what it records
(the ``dataset.add``, ``model.predict``, ``schema.save`` and ``dataset.validate`` events,
a dataset version's ``source``) names the file as the client named it, marked as the
client's where the server cannot check it. Temporary folders are moved under the test's
own directory, so any temporary path that leaks into a record is found by a search.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from rasad import Project
from rasad.api import PREFIX
from rasad.ledger import AuditEvent
from tests.api.conftest import Tokens
from tests.api.test_remote import SERVER, InProcess
from tests.api.test_validation_routes import R
from tests.cli._helpers import Cli
from tests.registry._helpers import add_loans, portfolio, registered

CLIENT = {"input_from": "client", "output_from": "client"}
SCORED = ("rows", "environment", "artifact_sha256", "input", "output")


@pytest.fixture
def temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every temporary folder of this process (the server's and the client's) goes here."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def remote(app: FastAPI, tokens: Tokens, temporary: Path) -> Iterator[R]:
    with TestClient(app, raise_server_exceptions=False) as client, \
            R(SERVER, tokens.admin, transport=InProcess(client)) as remote:
        yield remote


def leaks(project: Project, temporary: Path) -> list[str]:
    """The records that name a temporary path: audit events and dataset sources."""
    found = [f"{e.action} {json.dumps(e.details)}" for e in project.audit_log()
             if str(temporary) in json.dumps(e.details)]
    return found + [f"{v.ref} source {v.source}" for v in project.datasets()
                    if str(temporary) in v.source]


def scored(event: AuditEvent) -> dict[str, object]:
    return {key: event.details[key] for key in SCORED}


def test_a_dataset_added_over_the_server_names_the_clients_file(
        project: Project, remote: R, tmp_path: Path, temporary: Path) -> None:
    csv = tmp_path / "loans.csv"
    portfolio(seed=1).head(60).to_csv(csv, index=False)
    added = remote.add_dataset(csv, "loans").version
    assert added.source == str(csv.resolve()) == project.dataset("loans", 1).source
    (event,) = project.audit_log(action="dataset.add")
    assert (event.details["source"], event.details["source_from"]) == (str(csv.resolve()),
                                                                       "client")
    # The local verb records the same file under the same name, without the marker.
    project.add_dataset(csv, "loans-here")
    here = project.audit_log(action="dataset.add")[-1]
    assert here.details["source"] == event.details["source"] and "source_from" not in here.details

    frame = remote.add_dataset(portfolio(seed=2).head(40), "loans").version
    assert frame.source == "pandas.DataFrame"
    assert project.audit_log(action="dataset.add")[-1].details["source_from"] == "client"
    assert leaks(project, temporary) == []


def test_predict_over_the_server_records_the_clients_files(
        project: Project, remote: R, tmp_path: Path, temporary: Path) -> None:
    registered(project, "credit")
    source = tmp_path / "applications.csv"
    portfolio(seed=11).head(30).to_csv(source, index=False)
    out = tmp_path / "nested" / "scores.parquet"

    remote.predict("credit", source, output=out)
    project.predict("credit", source, output=tmp_path / "here.parquet")
    there, here = project.audit_log(action="model.predict")
    assert {k: there.details[k] for k in CLIENT} == CLIENT
    assert scored(there) == {**scored(here), "output": str(out.resolve())}
    assert there.details["input"] == str(source.resolve())
    assert (there.actor, there.details["auth"].startswith("token:")) == ("ada", True)

    remote.predict("credit", portfolio(seed=12).head(20))  # a frame, no output file
    frame = project.audit_log(action="model.predict")[-1]
    assert (frame.details["input"], frame.details["output"]) == ("pandas.DataFrame", None)
    assert {k: frame.details[k] for k in CLIENT} == CLIENT
    assert leaks(project, temporary) == []


def test_schemas_and_validations_keep_the_path_the_client_gave(
        project: Project, remote: R, tmp_path: Path, temporary: Path) -> None:
    add_loans(project)
    schema = remote.infer_schema("loans").table_schema
    path = tmp_path / "schemas" / "loans.yaml"
    path.parent.mkdir()
    path.write_text(schema.to_yaml(), encoding="utf-8")
    edited = tmp_path / "edited.yaml"
    edited.write_text(schema.to_yaml().replace("min_rows: 1", "min_rows: 5"), encoding="utf-8")

    saved = remote.save_schema("loans", edited)
    assert saved.source == f"saved from {edited}"
    assert project.audit_log(action="schema.save")[-1].details["source"] == saved.source
    report = remote.validate("loans", schema=path)
    assert report.schema_label == str(path) == project.validate(
        "loans", schema=path).schema_label
    assert project.audit_log(action="dataset.validate")[-1].details["schema"] == str(path)
    assert leaks(project, temporary) == []


def test_a_model_logged_from_a_client_run_leaves_no_temporary_path(
        project: Project, remote: R, temporary: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0] * 5, "y": [0, 0, 1, 1] * 5})
    with remote.start_run("client") as run:
        run.log_model(LogisticRegression().fit(frame[["x"]], frame["y"]), frame[["x"]],
                      target="y")
    assert project.run(run.id).status == "finished"
    assert leaks(project, temporary) == []


def test_the_cli_over_the_server_records_the_files_it_was_given(
        project: Project, tmp_path: Path, temporary: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.api._server import cli_over_server

    registered(project, "credit")
    data = tmp_path / "applications.csv"
    portfolio(seed=13).head(25).to_csv(data, index=False)
    monkeypatch.chdir(tmp_path)  # relative names, as typed at a prompt
    rasad = Cli(capsys)
    with cli_over_server(project, monkeypatch):
        rasad.ok("data", "add", "applications.csv", "--name", "batch")
        rasad.ok("predict", "credit", "applications.csv", "--version", "1", "-o", "scores.csv")
    assert project.dataset("batch").source == str(data.resolve())
    event = project.audit_log(action="model.predict")[-1]
    assert (event.details["input"], event.details["output"]) == (
        str(data.resolve()), str((tmp_path / "scores.csv").resolve()))
    assert leaks(project, temporary) == []


def test_a_bare_upload_is_named_by_its_file_name_and_bad_names_are_refused(
        project: Project, app: FastAPI, tokens: Tokens, temporary: Path) -> None:
    registered(project, "credit")
    rows = portfolio(seed=14).head(10).to_csv(index=False).encode()
    url = f"{PREFIX}/models/credit/predictions"
    with TestClient(app, raise_server_exceptions=False) as client:
        answered = client.post(url, headers=tokens.as_admin,
                               files={"file": ("batch 7.csv", rows, "text/csv")})
        assert answered.status_code == 200, answered.text
        before = len(project.audit_log())
        for bad in ("a\x00b.csv", "x" * 4097):
            refused = client.post(url, headers=tokens.as_admin, data={"input_name": bad},
                                  files={"file": ("in.csv", rows, "text/csv")})
            assert refused.status_code == 422, (bad[:10], refused.text)
        assert len(project.audit_log()) == before
    event = project.audit_log(action="model.predict")[-1]
    assert (event.details["input"], event.details["output"]) == ("batch 7.csv", None)
    assert {k: event.details[k] for k in CLIENT} == CLIENT
    assert leaks(project, temporary) == []
