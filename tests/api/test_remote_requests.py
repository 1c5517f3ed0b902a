"""Governed promotion in remote mode: the RemoteProject verbs give what the local Project
verbs give, and the CLI with RASAD_URL and RASAD_TOKEN prints what it prints locally; an
approver approves from "another machine" with a token (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import yaml
from fastapi.testclient import TestClient

from rasad import Project
from rasad.api import create_app
from rasad.errors import ConflictError, GatesFailed
from rasad.identity import Role, add_principal, create_token, local_principal
from rasad.registry import Deployment
from rasad.release.requests import PromotionRequest
from rasad.remote.project import RemoteProject
from tests.api._server import cli_over_server
from tests.api.conftest import make_tokens
from tests.api.test_remote import SERVER, InProcess, raised, same_error
from tests.api.test_requests_routes import write_policy
from tests.cli._helpers import Cli
from tests.registry._helpers import registered


@pytest.fixture
def governed(project: Project) -> Iterator[Project]:
    write_policy(project.root)
    with Project.open(project.root) as reopened:
        registered(reopened, "credit", versions=2)
        yield reopened


@pytest.fixture
def transport(governed: Project) -> Iterator[InProcess]:
    with TestClient(create_app(governed.root), raise_server_exceptions=False) as client:
        yield InProcess(client)


def approver_token(project: Project, name: str = "amal") -> str:
    me = local_principal(project.context)
    add_principal(project.context, name, roles=[Role.APPROVER], by=me)
    return create_token(project.context, name, by=me).token


def test_the_verbs_over_the_server_are_the_local_verbs(
        governed: Project, transport: InProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = make_tokens(governed)
    amal = approver_token(governed)
    with RemoteProject(SERVER, tokens.admin, transport=transport) as ada, \
            RemoteProject(SERVER, amal, transport=transport) as checker:
        staged = ada.promote("credit", 1, "staging")
        assert isinstance(staged, Deployment)
        assert staged == governed.model("credit").history[-1]
        opened = ada.promote("credit", 1, "production", reason="quarterly")
        assert isinstance(opened, PromotionRequest) and opened.status == "open"
        assert opened == governed.request(opened.id)
        assert ada.requests() == governed.requests()
        assert checker.requests(model="credit", environment="production", status="open") == \
            governed.requests(model="credit", environment="production", status="open") == \
            [opened]

        # Refusals are the local errors, message and exit code included.
        same_error(lambda: governed.request(999), lambda: checker.request(999))
        # Locally the project acts as 'tester', who trained and registered credit; an
        # approver now, still refused: maker-checker, the same words through both doors.
        ada.grant("tester", Role.APPROVER)
        with _as_tester(governed, transport) as tester, \
                Project.open(governed.root) as local_tester:
            error = same_error(lambda: local_tester.approve(opened.id),
                               lambda: tester.approve(opened.id))
            assert "'tester' may not approve" in str(error) and "trained run" in str(error)

        approved = checker.approve(opened.id, comment="read the gates")
        assert approved.status == "promoted" and approved == governed.request(opened.id)
        assert checker.environment_status("credit") == governed.environment_status("credit")
        monkeypatch.setenv("RASAD_USER", "amal")  # the same approver, at the database
        with Project.open(governed.root) as local_amal:
            error = same_error(lambda: local_amal.approve(opened.id),
                               lambda: checker.approve(opened.id))
        assert type(error) is ConflictError and f"request #{opened.id}" in str(error).lower()

        second = ada.promote("credit", 2, "production")
        assert isinstance(second, PromotionRequest)
        rejected = checker.reject(second.id, comment="not now")
        assert rejected == governed.request(second.id) and rejected.status == "rejected"

        forced = ada.force_promote("credit", 2, "production", justification="incident 7")
        assert forced == governed.request(forced.id) and forced.status == "forced"
        assert any(s.break_glass_unreviewed for s in checker.environment_status("credit"))
        reviewed = checker.review(forced.id, comment="justified")
        assert reviewed == governed.request(forced.id) and reviewed.reviewed is not None
        assert checker.environment_status("credit") == governed.environment_status("credit")


def _as_tester(project: Project, transport: InProcess) -> RemoteProject:
    """'tester' (who trained and registered credit) acting over the server."""
    token = create_token(project.context, "tester", by=local_principal(project.context)).token
    return RemoteProject(SERVER, token, transport=transport)


def _without_id(message: str, request_id: int) -> str:
    return message.replace(f"#{request_id}", "#N").replace(f"show {request_id}", "show N")


def test_a_blocking_gate_comes_back_as_gates_failed(project: Project) -> None:
    write_policy(project.root, evaluation_data="loans@1",
                 metrics={"roc_auc": {"min": 0.999}})
    path = project.root / "rasad.yaml"
    config = yaml.safe_load(path.read_text())
    config["promotion"]["environments"]["staging"] = {"gates": ["metrics"]}
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    with Project.open(project.root) as reopened:
        registered(reopened, "credit")
        tokens = make_tokens(reopened)
        with TestClient(create_app(reopened.root), raise_server_exceptions=False) as client, \
                RemoteProject(SERVER, tokens.admin, transport=InProcess(client)) as remote:
            error = raised(lambda: remote.promote("credit", 1, "staging"))
            assert type(error) is GatesFailed and error.exit_code == 1
            assert error.request == reopened.request(error.request.id)
            assert error.request.status == "failed"
            local = raised(lambda: reopened.promote("credit", 1, "staging"))
            assert type(local) is GatesFailed
            assert _without_id(str(local), local.request.id) == \
                _without_id(str(error), error.request.id)
            assert "metrics: " in str(error) and "Nothing was deployed" in str(error)
        assert reopened.model("credit").deployed == {}


def test_the_cli_over_the_server_prints_what_it_prints_locally(
        governed: Project, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    local = Cli(capsys, governed.root)
    far = Cli(capsys)
    with cli_over_server(governed, monkeypatch) as tokens:
        amal = approver_token(governed)
        promoted = far.ok("promote", "credit", "1", "--to", "staging").out
        opened = far.ok("promote", "credit", "1", "--to", "production").out
        number = governed.requests(status="open")[0].id
        assert f"Opened request #{number}: needs 1 approval(s) from approver." in opened
        monkeypatch.setenv("RASAD_TOKEN", amal)  # the approver, on another machine
        approved = far.ok("approve", str(number), "--comment", "ok").out
        assert approved.strip() == (f"Approved request #{number} (credit v1 -> production): "
                                    "approved by 1 of 1; credit v1 now serves production.")
        monkeypatch.setenv("RASAD_TOKEN", tokens.admin)
        far.ok("promote", "credit", "2", "--to", "production", "--break-glass", "incident")
        reads = [("requests", "list"), ("requests", "show", str(number)),
                 ("requests", "list", "--status", "forced", "--json"),
                 ("models", "show", "credit"), ("models", "list")]
        remote_out = {args: far.ok(*args).out for args in reads}
        monkeypatch.setenv("RASAD_TOKEN", tokens.viewer)
        refused = far("approve", str(number))
        assert refused.code == 2 and "vic" in refused.err
    monkeypatch.delenv("RASAD_URL")
    assert promoted.strip().endswith("Promoted: credit v1 now serves staging.")
    for args, out in remote_out.items():
        assert local.ok(*args).out == out, args
    assert "BREAK-GLASS (unreviewed)" in remote_out[("models", "show", "credit")]
