"""Schemas, validations, quality and PII scans over the API: each remote verb gives what
the local Project verb gives on the same project (SQLite and PostgreSQL); a viewer's
writes are refused with nothing stored; the server reads no client path."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from rasad import Project
from rasad.api import PREFIX
from rasad.errors import InputError, NotFoundError, PermissionDenied
from rasad.remote.project import RemoteProject
from tests.api.conftest import Tokens
from tests.api.test_remote import SERVER, InProcess, same_error
from tests.registry._helpers import add_loans

R = RemoteProject


@pytest.fixture
def transport(app: FastAPI) -> Iterator[InProcess]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield InProcess(client)


@pytest.fixture
def remote(transport: InProcess, tokens: Tokens) -> Iterator[R]:
    with R(SERVER, tokens.admin, transport=transport) as remote:
        yield remote


@pytest.fixture
def viewer(transport: InProcess, tokens: Tokens) -> Iterator[R]:
    with R(SERVER, tokens.viewer, transport=transport) as remote:
        yield remote


def test_schema_infer_show_save(project: Project, remote: R, tmp_path: Path) -> None:
    add_loans(project)
    inferred = remote.infer_schema("loans@1", tolerance=0.2)
    assert (inferred.version, inferred.created_by) == (1, "ada")
    assert inferred == project.schema("loans") == remote.schema("loans")
    assert remote.schema("loans", 1) == project.schema("loans", 1)

    edited = dataclasses.replace(inferred.table_schema,
                                 columns=inferred.table_schema.columns[:3])
    path = tmp_path / "schema.yaml"
    path.write_text(edited.to_yaml())
    saved = remote.save_schema("loans", path)
    # Labelled with the path as given, as a local `schema save` labels it.
    assert (saved.version, saved.source) == (2, f"saved from {path}")
    assert saved.table_schema == edited
    # The same content saved locally is not stored again: the local verb finds this row.
    assert project.save_schema("loans", path) == saved == remote.schema("loans")
    assert project.audit_log(action="schema.save")[-1].actor == "ada"

    same_error(lambda: project.schema("loans", 9), lambda: remote.schema("loans", 9))
    same_error(lambda: project.infer_schema("nope"), lambda: remote.infer_schema("nope"))


def test_schema_save_refuses_bad_files_storing_nothing(project: Project, remote: R,
                                                       tmp_path: Path) -> None:
    add_loans(project)
    remote.infer_schema("loans")
    stranger = tmp_path / "other.yaml"
    stranger.write_text("columns: [{name: shoe_size, kind: numeric, dtype: int64}]\n")
    with pytest.raises(InputError, match="'shoe_size' that loans@1 does not have"):
        remote.save_schema("loans", stranger)
    broken = tmp_path / "broken.yaml"
    broken.write_bytes(b"\xff\xfe not text")
    with pytest.raises(InputError, match="broken.yaml is not UTF-8 text"):
        remote.save_schema("loans", broken)
    with pytest.raises(InputError, match="no such file"):
        remote.save_schema("loans", tmp_path / "missing.yaml")
    control = tmp_path / "control.yaml"
    control.write_text("columns: \x98\n")
    with pytest.raises(InputError, match="is not valid YAML: special characters are not allowed"):
        remote.save_schema("loans", control)
    assert [e.subject for e in project.audit_log(action="schema.save")] == ["schema:loans@1"]


def test_validate_and_validations(project: Project, remote: R, tmp_path: Path) -> None:
    add_loans(project)
    same_error(lambda: project.validate("loans"), lambda: remote.validate("loans"))
    remote.infer_schema("loans")
    report = remote.validate("loans")
    assert report.to_dict() == project.validate("loans").masked().to_dict()
    assert report.ok and report.data == "loans@1"

    # A schema file is read by the client and sent as text; the label is the path given.
    path = tmp_path / "strict.yaml"
    strict = project.schema("loans").table_schema
    path.write_text(strict.to_yaml().replace("nullable: true", "nullable: false"))
    remote_report = remote.validate("loans@1", schema=path)
    local_report = project.validate("loans@1", schema=path)
    assert remote_report.to_dict() == local_report.masked().to_dict()
    assert remote_report.schema_label == str(path)

    stored = remote.validations("loans")
    assert [v.to_dict() for v in stored] == [v.to_dict() for v in project.validations("loans")]
    assert len(stored) == 4 and remote.validations("other") == []
    assert project.audit_log(action="dataset.validate")[0].actor == "ada"


def test_quality_and_pii_scan(project: Project, remote: R) -> None:
    add_loans(project)
    assert remote.quality("loans", target="default").to_dict() == \
        project.quality("loans", target="default").to_dict()
    assert remote.quality("loans@1").to_dict() == project.quality("loans@1").to_dict()
    scanned = remote.scan_pii("loans", protected_attributes=["age"], all_rows=True)
    assert scanned.to_dict() == project.scan_pii("loans", protected_attributes=["age"],
                                                 all_rows=True).to_dict()
    assert remote.scan_pii("loans").to_dict() == project.scan_pii("loans").to_dict()
    same_error(lambda: project.quality("loans@7"), lambda: remote.quality("loans@7"))


def test_a_viewer_reads_but_stores_nothing(project: Project, remote: R, viewer: R,
                                           tmp_path: Path) -> None:
    add_loans(project)
    remote.infer_schema("loans")
    path = tmp_path / "schema.yaml"
    path.write_text(project.schema("loans").table_schema.to_yaml())
    events = len(project.audit_log())
    for refused in (lambda: viewer.validate("loans"), lambda: viewer.infer_schema("loans"),
                    lambda: viewer.save_schema("loans", path),
                    lambda: viewer.validate("loans", schema=path)):
        with pytest.raises(PermissionDenied):
            refused()
    assert project.validations() == [] and project.schema("loans").version == 1
    assert len(project.audit_log()) == events
    # Reads are a viewer's.
    assert viewer.schema("loans") == project.schema("loans")
    assert viewer.quality("loans").to_dict() == project.quality("loans").to_dict()


def test_http_answers(project: Project, app: FastAPI, tokens: Tokens) -> None:
    add_loans(project)
    with TestClient(app) as client:
        missing = client.get(f"{PREFIX}/schemas/loans", headers=tokens.as_admin)
        assert missing.status_code == 404
        assert missing.json()["error"] == NotFoundError.__name__
        made = client.post(f"{PREFIX}/schemas/loans/inferences", json={},
                           headers=tokens.as_admin)
        assert made.status_code == 201 and made.json()["version"] == 1
        bad = client.post(f"{PREFIX}/validations", json={"dataset": "loans@x"},
                          headers=tokens.as_admin)
        assert bad.status_code == 422 and bad.json()["error"] == InputError.__name__
        anonymous = client.post(f"{PREFIX}/quality", json={"dataset": "loans"})
        assert anonymous.status_code == 401
