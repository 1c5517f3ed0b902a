"""Remote mode: every RemoteProject verb, run through the real app in-process, gives what
the local Project verb gives on the same project (SQLite and PostgreSQL), and refusals
come back as the same rasad error with the same message and exit code."""

from __future__ import annotations

import dataclasses
import inspect
import re
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pandas as pd
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from rasad import Project
from rasad.api import PREFIX, PROBLEMS, create_app
from rasad.api.auth import server_context
from rasad.core import Context
from rasad.errors import (
    ConflictError,
    InputError,
    NotFoundError,
    PermissionDenied,
    RasadError,
)
from rasad.identity import (
    InvalidToken,
    PrincipalKind,
    Role,
    add_principal,
    create_token,
    local_principal,
    revoke_token,
)
from rasad.registry import Deployment, ModelDetail
from rasad.registry.models import register as registration
from rasad.remote.client import (
    API_PREFIX,
    ERRORS,
    Client,
    ServerUnreachable,
    base_url,
    error_for,
)
from rasad.remote.project import LOCAL_ONLY, NO_ROW_ID, RemoteProject, lifetime_text
from tests._http import SERVER, InProcess
from tests.api.conftest import Tokens
from tests.api.test_endpoints import csv_bytes
from tests.identity._helpers import snapshot
from tests.registry._helpers import registered


@pytest.fixture
def transport(app: FastAPI) -> Iterator[InProcess]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield InProcess(client)


@pytest.fixture
def remote(transport: InProcess, tokens: Tokens) -> Iterator[RemoteProject]:
    with RemoteProject(SERVER, tokens.admin, transport=transport) as remote:
        yield remote


def without_row_ids(detail: ModelDetail) -> ModelDetail:
    """A model as JSON carries it: its versions' row ids stay on the server."""
    return detail.model_copy(update={"versions": [v.model_copy(update={"id": None})
                                                  for v in detail.versions]})


def raised(call: object) -> RasadError:
    assert callable(call)
    with pytest.raises(RasadError) as info:
        call()
    return info.value


def same_error(local: object, remote: object) -> RasadError:
    """Both calls fail with the same class, message and exit code; the remote one returned."""
    mine, theirs = raised(local), raised(remote)
    assert (type(theirs), str(theirs), theirs.exit_code) == \
        (type(mine), str(mine), mine.exit_code)
    return theirs


# ---- verbs: the remote result is the local result --------------------------------------


def test_datasets(project: Project, remote: RemoteProject, tmp_path: Path) -> None:
    csv = tmp_path / "loans.csv"
    csv.write_bytes(csv_bytes())
    added = remote.add_dataset(csv, "loans", description="first cut")
    local = project.dataset("loans", 1)
    assert added.created is True
    assert added.version == local.model_copy(update={"id": NO_ROW_ID})
    assert added.message == f"Added loans@1: 20 rows x 3 columns, sha256 " \
        f"{local.content_hash[:12]}."
    assert (local.created_by, local.source.endswith("/loans.csv")) == ("ada", True)
    assert project.audit_log(action="dataset.add")[-1].details["description"] == "first cut"

    again = remote.add_dataset(str(csv), "loans")
    assert (again.created, again.version.version) == (False, 1)
    assert again.message == project.add_dataset(csv, "loans").message
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": ["a", "b", "c"]})
    from_frame = remote.add_dataset(frame, "loans")
    assert (from_frame.created, from_frame.version.version) == (True, 2)
    # The same rows give the same content hash, whichever door they came through.
    assert project.add_dataset(frame, "loans").version.ref == "loans@2"

    assert [v.to_dict() for v in remote.datasets()] == [v.to_dict() for v in project.datasets()]
    assert remote.datasets("loans") == [v.model_copy(update={"id": NO_ROW_ID})
                                        for v in project.datasets("loans")]
    assert remote.dataset("loans") == project.dataset("loans").model_copy(
        update={"id": NO_ROW_ID})
    assert remote.dataset("loans", 1).to_dict() == local.to_dict()


def test_runs_models_promotion_rollback(project: Project, remote: RemoteProject) -> None:
    first, second = registered(project, "credit", versions=2)
    assert remote.runs() == project.runs()
    assert remote.runs(status="finished") == project.runs(status="finished")
    assert remote.runs(status="failed") == project.runs(status="failed") == []
    assert remote.run(first.run_id) == project.run(first.run_id)
    assert remote.run(first.run_id[:8]) == project.run(first.run_id)

    promoted = remote.promote("credit", 1, "staging", reason="first")
    assert promoted == project.model("credit").history[-1]
    assert (promoted.deployed_by, promoted.reason) == ("ada", "first")
    unchanged = remote.promote("credit", 1, "staging")
    assert isinstance(unchanged, Deployment) and unchanged.changed is False
    remote.promote("credit", 2, "staging")
    rolled = remote.rollback("credit", "staging", reason="v2 misbehaves")
    assert rolled == project.model("credit").history[-1]
    assert (rolled.version, rolled.kind, rolled.previous_version) == (1, "rollback", 2)

    assert remote.models() == [without_row_ids(m) for m in project.models()]
    assert remote.model("credit") == without_row_ids(project.model("credit"))
    # A version's row id stays on the server (None read back from JSON).
    local_v2 = project.model_version("credit", 2)
    assert remote.model_version("credit", 2) == local_v2.model_copy(update={"id": None})
    assert remote.model_version("credit").to_dict() == \
        project.model_version("credit").to_dict()
    assert remote.model_version("credit", env="staging").to_dict() == \
        project.model_version("credit", env="staging").to_dict() == first.to_dict()

    other = remote.register(first.run_id, "other")
    assert other.to_dict() == project.model_version("other", 1).to_dict()
    assert other.created_by == "ada"
    again = remote.registration(first.run_id, "other")
    assert (again.created, again.version.version) == (False, 1)
    assert again.to_dict() == registration(project.context, first.run_id, "other").to_dict()
    assert again.message.startswith(f"Run {first.run_id[:8]} is already registered")


def test_monitor_results(project: Project, remote: RemoteProject) -> None:
    saved = project.save_monitor_result(
        monitor="credit", kind="drift", reference="loans@1", current="loans@2", alert=True,
        summary={"drifted": True}, payload={"columns": {"age": {"statistic": 0.4}}})
    assert remote.monitor_results() == project.monitor_results() == [saved]
    assert remote.monitor_results(monitor="credit", kind="drift") == [saved]
    assert remote.monitor_results(kind="fairness") == project.monitor_results(kind="fairness")
    assert remote.monitor_result(saved.id) == project.monitor_result(saved.id)
    assert remote.monitor_report(saved.id) == {"columns": {"age": {"statistic": 0.4}}}
    same_error(lambda: project.monitor_result(saved.id + 1),
               lambda: remote.monitor_result(saved.id + 1))


def test_audit_log_and_verify(project: Project, remote: RemoteProject) -> None:
    assert remote.audit_log() == project.audit_log()
    assert remote.audit_log(action="token.create", limit=1) == \
        project.audit_log(action="token.create", limit=1)
    assert remote.audit_log(subject="principal:*") == project.audit_log(subject="principal:*")
    verified = remote.verify_audit()
    assert verified == project.verify_audit()
    assert verified.ok is True and verified.events == len(project.audit_log())
    assert remote.verify_audit(replay=False) == project.verify_audit(replay=False)
    refused = raised(lambda: remote.verify_audit(checkpoints="file:///elsewhere"))
    assert isinstance(refused, InputError) and "server's own checkpoint store" in str(refused)


def test_users_and_tokens(project: Project, remote: RemoteProject, tokens: Tokens,
                          transport: InProcess) -> None:
    who = remote.principal
    assert (who.name, who.roles) == ("ada", (Role.ADMIN,))
    assert who.auth == f"token:{tokens.admin.split('_')[1]}"
    assert remote.actor == "ada"

    added = remote.add_principal("ci", kind="service", roles=[Role.DEPLOYER])
    assert added == [p for p in project.principals() if p.name == "ci"][0]
    assert (added.kind, added.roles, added.created_by) == ("service", (Role.DEPLOYER,), "ada")
    assert remote.grant("ci", Role.AUDITOR).roles == (Role.DEPLOYER, Role.AUDITOR)
    revoked = remote.revoke_role("ci", Role.DEPLOYER)
    assert revoked.roles == (Role.AUDITOR,)
    assert remote.principals() == project.principals()

    created = remote.create_token("ci", lifetime=timedelta(weeks=2))
    assert created.info.principal == "ci" and created.info.created_by == "ada"
    assert remote.tokens("ci") == project.tokens("ci") == [created.info]
    assert remote.tokens() == project.tokens()
    with RemoteProject(SERVER, created.token, transport=transport) as ci:
        assert (ci.principal.name, ci.principal.roles) == ("ci", (Role.AUDITOR,))
        gone = remote.revoke_token(created.info.id)
        assert gone == project.tokens("ci")[0] and gone.revoked_at is not None
        assert isinstance(raised(lambda: ci.principal), InvalidToken)
    same_error(lambda: project.revoke_token(created.info.id),
               lambda: remote.revoke_token(created.info.id))
    disabled = remote.disable_principal("vic")
    assert disabled.disabled_at is not None and disabled == \
        [p for p in project.principals() if p.name == "vic"][0]


# ---- refusals: the same error, and nothing changes ------------------------------------


def test_unknown_names_are_the_local_not_found_errors(project: Project,
                                                      remote: RemoteProject) -> None:
    error = same_error(lambda: project.dataset("loans"), lambda: remote.dataset("loans"))
    assert isinstance(error, NotFoundError) and error.exit_code == 2
    project.add_dataset(pd.DataFrame({"x": [1, 2]}), "scores")
    same_error(lambda: project.dataset("loans"), lambda: remote.dataset("loans"))
    same_error(lambda: project.dataset("scores", 7), lambda: remote.dataset("scores", 7))
    same_error(lambda: project.model("credit"), lambda: remote.model("credit"))
    same_error(lambda: project.run("feedface"), lambda: remote.run("feedface"))
    same_error(lambda: project.promote("credit", 1, "staging"),
               lambda: remote.promote("credit", 1, "staging"))
    (first,) = registered(project, "credit")
    same_error(lambda: project.model_version("credit", 4),
               lambda: remote.model_version("credit", 4))
    same_error(lambda: project.model_version("credit", env="production"),
               lambda: remote.model_version("credit", env="production"))
    same_error(lambda: project.rollback("credit", "staging"),
               lambda: remote.rollback("credit", "staging"))
    same_error(lambda: project.model_version("credit", 1, env="dev"),
               lambda: remote.model_version("credit", 1, env="dev"))
    assert isinstance(raised(lambda: remote.add_principal("ada")), ConflictError)


def test_a_viewer_cannot_promote_and_nothing_changes(project: Project, tokens: Tokens,
                                                     transport: InProcess) -> None:
    registered(project, "credit")
    before = snapshot(project)
    with RemoteProject(SERVER, tokens.viewer, transport=transport) as viewer:
        assert viewer.models() == [without_row_ids(m) for m in project.models()]  # it reads
        error = raised(lambda: viewer.promote("credit", 1, "staging"))
        assert type(error) is PermissionDenied and error.exit_code == 2
        assert "vic" in str(error)
        assert type(raised(lambda: viewer.create_token("vic"))) is PermissionDenied
    assert snapshot(project) == before


def test_revoked_and_expired_tokens_are_invalid(project: Project, app: FastAPI,
                                                tokens: Tokens, transport: InProcess) -> None:
    ctx = project.context
    revoke_token(ctx, tokens.viewer.split("_")[1], by=local_principal(ctx))
    short = create_token(ctx, "ada", lifetime=timedelta(minutes=1), by=local_principal(ctx))
    before = snapshot(project)
    with RemoteProject(SERVER, tokens.viewer, transport=transport) as revoked:
        error = raised(revoked.models)
        assert type(error) is InvalidToken and "was revoked" in str(error)
        assert error.exit_code == 2
    # The server's clock moves on (the override is cleared by the `app` fixture).
    server: Context = app.state.context
    later = dataclasses.replace(server, clock=lambda: "2999-01-01T00:00:00.000000Z")
    app.dependency_overrides[server_context] = lambda: later
    with RemoteProject(SERVER, short.token, transport=transport) as expired:
        error = raised(lambda: expired.promote("credit", 1, "staging"))
        assert type(error) is InvalidToken and "expired at" in str(error)
    assert snapshot(project) == before
    assert short.token not in repr(expired) and short.token not in str(error)


def test_verbs_the_api_does_not_cover_say_so(remote: RemoteProject) -> None:
    for name in ("context", "db", "checkpoint", "save_monitor_result"):
        error = raised(lambda name=name: getattr(remote, name))
        assert type(error) is InputError
        assert str(error).startswith(f"`{name}` is not available over the server (")
        assert "unset RASAD_URL" in str(error)
    with pytest.raises(AttributeError, match="no attribute 'tarin'"):
        # mypy flags it too: __getattr__ is hidden from the type checker.
        remote.tarin  # type: ignore[attr-defined]  # noqa: B018


def test_every_project_verb_is_covered_or_refused_clearly() -> None:
    local = {name for name in dir(Project) if not name.startswith("_")} | {"context"}
    remote = {name for name in dir(RemoteProject) if not name.startswith("_")}
    constructors = {"init", "open", "find", "connect"}
    # A verb added to Project must be served remotely or listed in LOCAL_ONLY.
    assert local - remote - constructors == LOCAL_ONLY
    assert not LOCAL_ONLY & remote


def test_remote_verbs_have_the_local_signatures() -> None:
    from rasad.remote.project import LOCAL_ONLY

    verbs = {name for name in dir(Project) if not name.startswith("_")}
    remote = {name for name in dir(RemoteProject) if not name.startswith("_")}
    # Every Project verb is served remotely or refused by name; the ways to open a
    # project (init, open, find, connect) are the facade's own.
    assert verbs - remote - LOCAL_ONLY == {"connect", "find", "init", "open"}
    assert not (remote & LOCAL_ONLY)
    for name in sorted(verbs & remote):
        local, there = getattr(Project, name), getattr(RemoteProject, name)
        if isinstance(inspect.getattr_static(RemoteProject, name), property):
            continue
        if name == "train":  # Project.train takes name and progress through **overrides
            assert {"name", "progress"} <= set(inspect.signature(there).parameters)
            continue
        if name == "start_run":  # the live run is a RemoteRun, with ActiveRun's methods
            assert inspect.signature(there).parameters == inspect.signature(local).parameters
            assert inspect.signature(there).return_annotation == "RemoteRun"
            continue
        assert str(inspect.signature(there)) == str(inspect.signature(local)), name
    for name in ("principal", "actor"):
        assert isinstance(vars(RemoteProject)[name], property)


# ---- the client ------------------------------------------------------------------------


def test_the_error_table_covers_every_rasad_error() -> None:
    for cls in PROBLEMS:
        assert ERRORS[cls.__name__] is cls

    def subclasses(cls: type[RasadError]) -> set[type[RasadError]]:
        found = set()
        for sub in cls.__subclasses__():
            found |= {sub} | subclasses(sub)
        return found

    import rasad.ledger.checkpoint  # noqa: F401 - defines CheckpointFileError
    from rasad.serving.online.inputs import RequestProblem

    # RequestProblem is answered by the prediction server in its protocols' own error
    # shapes (Open Inference Protocol, MLflow); it never crosses the management API.
    defined = {c for c in subclasses(RasadError)
               if c.__module__.startswith("rasad.")
               and c not in (ServerUnreachable, RequestProblem)}
    assert defined <= set(ERRORS.values()), defined - set(ERRORS.values())
    assert {c.__name__ for c in defined} | {"RasadError"} == set(ERRORS)


def test_a_problem_becomes_its_error() -> None:
    problem = {"detail": "Dataset 'loans' has no version 7.", "error": "NotFoundError",
               "exit_code": 2}
    error = error_for(problem, status=404)
    assert type(error) is NotFoundError and str(error) == problem["detail"]
    newer = error_for({"detail": "Quota exceeded.", "error": "QuotaExceeded",
                       "exit_code": 3}, status=429)
    assert type(newer) is RasadError and newer.exit_code == 3 and RasadError.exit_code == 2
    bare = error_for({"title": "Not Found"}, status=404)
    assert str(bare) == "The server refused the request: 404 Not Found."


def answering(status: int, body: bytes, kind: str) -> httpx.MockTransport:
    return httpx.MockTransport(
        lambda request: httpx.Response(status, content=body, headers={"content-type": kind}))


def test_answers_that_are_not_rasad_problems() -> None:
    with Client(SERVER, "t", transport=answering(502, b"<html>bad gateway</html>",
                                                 "text/html")) as client:
        error = raised(lambda: client.get("/models"))
        assert type(error) is RasadError
        assert str(error).startswith(f"The server at {SERVER}{API_PREFIX} answered 502 Bad "
                                     "Gateway without a rasad problem report")
    with Client(SERVER, "t", transport=answering(200, b"<html/>", "text/html")) as client:
        assert "is not JSON" in str(raised(lambda: client.get("/models")))


def test_an_unreachable_server() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    with Client("http://127.0.0.1:9", "t", transport=httpx.MockTransport(refuse)) as client:
        error = raised(lambda: client.get("/whoami"))
    assert type(error) is ServerUnreachable and isinstance(error, ConnectionError)
    assert str(error) == ("Cannot reach the server at http://127.0.0.1:9/api/v1: Connection "
                          "refused. Check RASAD_URL and that `rasad server` runs there.")


def test_the_token_is_sent_as_a_bearer_header_and_never_shown(tmp_path: Path) -> None:
    token = "rsd_0123456789abcdef_" + "s" * 43
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        request.read()
        return httpx.Response(200, json={"ok": True})

    data = tmp_path / "d.csv"
    data.write_bytes(csv_bytes())
    with Client(SERVER + "/", token, transport=httpx.MockTransport(record)) as client:
        assert repr(client) == f"Client('{SERVER}{API_PREFIX}', " \
            "token='rsd_0123456789abcdef_***')"
        client.get("/runs", {"status": None, "limit": 2})
        client.upload("/datasets/d/versions", data, form={"description": None})
        assert repr(RemoteProject(SERVER, token)) == f"RemoteProject({client!r})"
    assert [r.headers["authorization"] for r in seen] == [f"Bearer {token}"] * 2
    assert str(seen[0].url) == f"{SERVER}{API_PREFIX}/runs?limit=2"
    assert seen[1].headers["content-type"].startswith("multipart/form-data")
    assert b'filename="d.csv"' in seen[1].content and csv_bytes() in seen[1].content
    assert repr(Client(SERVER, "not-a-token")).endswith("token='***')")


def test_bad_urls_and_tokens_are_input_errors() -> None:
    assert API_PREFIX == PREFIX
    assert base_url("http://h:8000/api/v1/") == "http://h:8000/api/v1"
    for url in ("ftp://h", "h:8000", "http://", "http://h?x=1"):
        assert type(raised(lambda url=url: base_url(url))) is InputError, url
    assert "token is empty" in str(raised(lambda: Client(SERVER, "  ")))
    assert "line break" in str(raised(lambda: Client(SERVER, "rsd_x\r\nX-Evil: 1")))


def test_lifetimes_go_over_the_wire_as_the_api_reads_them() -> None:
    from rasad.identity import parse_lifetime

    for lifetime in (timedelta(minutes=30), timedelta(hours=12), timedelta(days=90),
                     timedelta(weeks=2), timedelta(days=400), None):
        assert parse_lifetime(lifetime_text(lifetime)) == lifetime
    for bad in (timedelta(seconds=90), timedelta(0), timedelta(minutes=-5)):
        assert type(raised(lambda bad=bad: lifetime_text(bad))) is InputError


# ---- over a real socket: the documented example ---------------------------------------

DOCS = Path(__file__).parents[2] / "docs" / "api.md"


@pytest.fixture
def live_server(project: Project) -> Iterator[str]:
    """The app on uvicorn, on a free loopback port, in a thread of this process."""
    server = uvicorn.Server(uvicorn.Config(create_app(project.root), host="127.0.0.1",
                                           port=0, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


@pytest.mark.xfail(not hasattr(Project, "connect"), raises=AttributeError, strict=True,
                   reason="Project.connect is added to src/rasad/project.py by the lead")
def test_the_documented_remote_example_runs(project: Project, live_server: str,
                                            monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    section = DOCS.read_text(encoding="utf-8").split("## Remote mode", 1)[1]
    example = re.search(r"```py\n(.*?)```\n\n```\n(.*?)```", section, flags=re.S)
    assert example is not None
    me = local_principal(project.context)
    add_principal(project.context, "ci", kind=PrincipalKind.SERVICE, roles=[Role.VIEWER],
                  by=me)
    project.add_dataset(pd.DataFrame({"age": [31, 45]}), "loans")
    monkeypatch.setenv("RASAD_URL", live_server)
    monkeypatch.setenv("RASAD_TOKEN", create_token(project.context, "ci", by=me).token)
    exec(compile(example.group(1), str(DOCS), "exec"), {})
    assert capsys.readouterr().out == example.group(2)


def test_a_real_socket_gives_the_same_results(project: Project, live_server: str,
                                              tokens: Tokens) -> None:
    (first,) = registered(project, "credit")
    with RemoteProject(live_server, tokens.admin) as remote:
        assert remote.run(first.run_id) == project.run(first.run_id)
        assert remote.promote("credit", 1, "staging") == project.model("credit").history[-1]
        assert remote.audit_log() == project.audit_log()
        same_error(lambda: project.rollback("credit", "staging"),
                   lambda: remote.rollback("credit", "staging"))
