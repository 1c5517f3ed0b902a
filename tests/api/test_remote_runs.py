"""Run tracking, stored bytes and gc over the server: ``start_run`` with its RemoteRun,
``load_dataset``, ``load_model`` and ``gc`` give what the local verbs give, on SQLite and
PostgreSQL, and every refusal is the local error with nothing changed."""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sklearn.linear_model import LogisticRegression

from rasad import Project
from rasad.errors import (
    ConflictError,
    InputError,
    IntegrityError,
    PermissionDenied,
    RasadError,
    UntrustedArtifactError,
)
from rasad.identity import Role, add_principal, create_token, local_principal
from rasad.remote import RemoteRun
from rasad.remote.project import RemoteProject
from rasad.training import ActiveRun, RunStatus
from rasad.training.run import metrics_digest
from tests._http import SERVER, InProcess
from tests.api.conftest import Tokens
from tests.cli._helpers import Cli, assert_user_error
from tests.identity._helpers import snapshot
from tests.registry._helpers import (
    CUSTOM_ESTIMATOR,
    FEATURES,
    TARGET,
    CustomLogistic,
    blob_path,
    flip_one_byte,
    portfolio,
    registered,
)

V1 = "/api/v1"


@pytest.fixture
def transport(app: FastAPI) -> Iterator[InProcess]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield InProcess(client)


@pytest.fixture
def remote(transport: InProcess, tokens: Tokens) -> Iterator[RemoteProject]:
    with RemoteProject(SERVER, tokens.admin, transport=transport) as remote:
        yield remote


def raised(call: object) -> RasadError:
    assert callable(call)
    with pytest.raises(RasadError) as info:
        call()
    return info.value


def frame(rows: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    x = rng.normal(size=rows)
    return pd.DataFrame({"x": x, "g": rng.choice(["a", "b"], rows),
                         "y": (x + rng.normal(0, 0.5, rows) > 0).astype(int)})


def logged(project: Project | RemoteProject) -> tuple[ActiveRun | RemoteRun, str]:
    """One run tracked the same way through either door; the model blob it stored."""
    data = frame()
    model = LogisticRegression(C=0.5).fit(data[["x"]], data["y"])
    with project.start_run("sweep", params={"lr": np.float64(0.1), "depth": 3}, seed=5) as run:
        for step in range(1203):  # more than one batch of step metrics
            run.log_metric("loss", 1.0 / (step + 1), step=step)
        run.log_metric("acc", 0.5)
        run.log_metric("acc", 0.6)
        run.log_params({"depth": 4, "note": "tuned"})
        run.set_summary_metrics({"test": {"auc": 0.75, "nan": float("nan")}})
        blob = run.log_model(model, data[["x"]], target="y")
    return run, blob


# ---- tracking -------------------------------------------------------------------------


def test_a_remote_run_is_recorded_as_a_local_one(project: Project, remote: RemoteProject,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # A remote run records the git state of the working directory, a local one the
    # project folder's: the same folder here.
    monkeypatch.chdir(project.root)
    local_run, local_blob = logged(project)
    remote_run, remote_blob = logged(remote)
    assert isinstance(remote_run, RemoteRun)
    mine, theirs = project.run(local_run.id), project.run(remote_run.id)
    assert remote.run(remote_run.id) == theirs
    # skops archives carry their time of writing: the same model, other bytes.
    differ = {"id", "created_by", "started_at", "ended_at", "duration_s", "host", "pid",
              "model_blob"}
    assert theirs.model_dump(exclude=differ) == mine.model_dump(exclude=differ)
    assert mine.model_blob == local_blob
    assert (theirs.status, theirs.created_by, theirs.params) == \
        (RunStatus.FINISHED, "ada", {"depth": 4, "lr": 0.1, "note": "tuned"})
    assert theirs.metrics == {"acc": 0.6, "loss": 1 / 1203, "test": {"auc": 0.75, "nan": None}}
    assert theirs.model_info == mine.model_info and theirs.model_blob == remote_blob
    assert remote_run.history("acc")[1][:2] == local_run.history("acc")[1][:2] == (1, 0.6)
    assert [p[:2] for p in remote_run.history("loss")] == \
        [p[:2] for p in local_run.history("loss")]
    # The closing event seals the count and digest of the step metrics stored.
    finish = project.audit_log(action="run.finish")[-1]
    assert (finish.actor, finish.subject) == ("ada", f"run:{remote_run.id}")
    digest, count = metrics_digest(project.context, remote_run.id)
    assert (finish.details["step_metrics"], finish.details["step_metrics_sha256"]) == \
        (count, digest)
    assert count == 1205 and digest == metrics_digest(project.context, local_run.id)[0]
    assert finish.details["model_blob"] == remote_blob
    assert [e.action for e in project.audit_log(subject=f"run:{remote_run.id}")] == \
        [e.action for e in project.audit_log(subject=f"run:{local_run.id}")]
    assert project.verify_audit().ok
    # The run registers and serves like a local one.
    version = remote.register(remote_run.id, "credit")
    model = remote.load_model("credit", version.version)
    assert list(model.predict(frame()[["x"]])) == \
        list(project.load_model("credit", version.version).predict(frame()[["x"]]))


def test_a_run_records_the_clients_origin(project: Project, remote: RemoteProject,
                                          tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # outside any git checkout: no code version
    with remote.start_run() as run:
        pass
    stored = project.run(run.id)
    assert stored.code_version == {}
    assert "scikit-learn" in stored.environment["packages"]
    assert (stored.host, stored.pid) == (socket.gethostname(), os.getpid())


def test_a_failure_and_the_lineage_are_recorded(project: Project,
                                                remote: RemoteProject) -> None:
    loans = project.add_dataset(frame(), "loans").version
    with pytest.raises(ZeroDivisionError), remote.start_run("boom") as run:
        run.use_dataset(remote.dataset("loans"), "train")
        run.log_metric("loss", 1.0)
        _ = 1 / 0
    stored = project.run(run.id)
    assert (stored.status, stored.error) == (RunStatus.FAILED,
                                             "ZeroDivisionError: division by zero")
    assert stored.metrics == {"loss": 1.0}
    assert stored.datasets == [{"dataset": "loans@1", "content_hash": loans.content_hash,
                                "role": "train"}]
    assert project.audit_log(action="run.fail")[-1].subject == f"run:{run.id}"
    error = raised(lambda: run.log_metric("loss", 2.0))
    assert type(error) is ConflictError and str(error) == \
        f"Run {run.id} is closed; start a new run to log more."


def test_bad_values_are_the_local_input_errors(project: Project,
                                               remote: RemoteProject) -> None:
    with project.start_run() as mine, remote.start_run() as theirs:
        for key, value in (("loss", float("nan")), ("", 1.0), ("k" * 251, 1.0)):
            local = raised(lambda key=key, value=value: mine.log_metric(key, value))
            there = raised(lambda key=key, value=value: theirs.log_metric(key, value))
            assert (type(there), str(there)) == (type(local), str(local))
            assert type(there) is InputError
        local = raised(lambda: mine.log_model(LogisticRegression(), "missing.csv"))
        there = raised(lambda: theirs.log_model(LogisticRegression(), "missing.csv"))
        assert (type(there), str(there)) == (type(local), str(local))


def test_the_server_checks_what_a_client_sends(project: Project, app: FastAPI,
                                               tokens: Tokens, remote: RemoteProject) -> None:
    """A client that skips the checks (or is not rasad) is refused by the server."""
    with TestClient(app, headers=tokens.as_admin) as client:
        run = remote.start_run()
        steps = f"{V1}/runs/{run.id}/metrics"
        nan = client.post(steps, content=b'{"metrics": [{"key": "loss", "value": NaN, '
                          b'"step": 0, "logged_at": 1.0}]}',
                          headers={"content-type": "application/json"})
        assert nan.status_code == 422 and "only finite numbers" in nan.json()["detail"]
        pickle_file = client.post(f"{V1}/runs/{run.id}/model", files={
            "model": ("m.skops", b"\x80\x04not a skops archive", "application/octet-stream"),
            "sample": ("s.csv", b"x\n1\n", "text/csv")})
        assert pickle_file.status_code == 422
        assert pickle_file.json()["detail"] == (
            "The uploaded model (21 bytes) is not a skops archive; rasad reads models only "
            "in the skops format (`run.log_model` saves them so).")
        run.finish()
        after = client.post(steps, json={"metrics": []})
        assert (after.status_code, after.json()["error"]) == (409, "ConflictError")
        again = client.post(f"{V1}/runs/{run.id}/end", json={"status": "finished",
                                                             "duration_s": 1.0})
        assert again.status_code == 409
    assert project.run(run.id).model_blob is None
    assert project.verify_audit().ok


def test_an_untrusted_model_is_refused_before_anything_is_built(
        project: Project, remote: RemoteProject) -> None:
    data = portfolio()
    model = CustomLogistic(max_iter=200).fit(data[["income", "age"]], data[TARGET])
    blobs = {b.digest for b in project.artifacts.list_blobs()}
    with project.start_run() as mine, remote.start_run() as theirs:
        local = raised(lambda: mine.log_model(model, data[["income", "age"]]))
        there = raised(lambda: theirs.log_model(model, data[["income", "age"]]))
    assert type(there) is UntrustedArtifactError and str(there) == str(local)
    assert CUSTOM_ESTIMATOR in str(there)
    assert project.run(theirs.id).model_blob is None
    assert {b.digest for b in project.artifacts.list_blobs()} == blobs  # nothing stored


def test_only_the_principal_who_started_a_run_writes_to_it(
        project: Project, tokens: Tokens, transport: InProcess,
        remote: RemoteProject) -> None:
    me = local_principal(project.context)
    add_principal(project.context, "dana", roles=[Role.DATA_SCIENTIST], by=me)
    dana_token = create_token(project.context, "dana", by=me).token
    run = remote.start_run("ada's")
    run.log_metric("loss", 1.0)
    run.flush()
    before = snapshot(project)
    with RemoteProject(SERVER, dana_token, transport=transport) as dana:
        hijack = RemoteRun(dana.client, dana.run(run.id))
        hijack.log_metric("loss", 0.0)
        error = raised(hijack.flush)
        assert type(error) is PermissionDenied and "started by 'ada'" in str(error)
        assert type(raised(hijack.finish)) is PermissionDenied
        assert type(raised(lambda: hijack.log_params({"x": 1}))) is PermissionDenied
    with RemoteProject(SERVER, tokens.viewer, transport=transport) as viewer:
        assert type(raised(lambda: viewer.start_run())) is PermissionDenied
    assert snapshot(project) == before
    assert run.finish().status is RunStatus.FINISHED


def test_a_remote_run_has_the_local_handles_methods_and_values(
        remote: RemoteProject) -> None:
    methods = {n for n in dir(ActiveRun) if not n.startswith("_")
               and callable(inspect.getattr_static(ActiveRun, n))}
    assert methods <= set(dir(RemoteRun))
    for name in sorted(methods):
        assert str(inspect.signature(getattr(RemoteRun, name))).replace(
            "RemoteRun", "ActiveRun") == str(inspect.signature(getattr(ActiveRun, name))), name
    with remote.start_run(params={"a": 1}) as run:
        values = {field.name for field in dataclasses.fields(ActiveRun)
                  if not field.name.startswith("_") and field.name != "ctx"}
        assert {name: type(getattr(run, name)).__name__ for name in sorted(values)} == {
            "id": "str", "metrics": "dict", "model_blob": "NoneType",
            "model_info": "NoneType", "params": "dict", "started": "float"}


# ---- stored bytes ---------------------------------------------------------------------


def test_load_dataset_and_load_model_give_the_local_values(project: Project,
                                                           remote: RemoteProject) -> None:
    registered(project, "credit", versions=2)
    assert remote.load_dataset("loans").equals(project.load_dataset("loans"))
    assert remote.load_dataset("loans", 1).dtypes.equals(project.load_dataset("loans", 1).dtypes)
    rows = portfolio()[FEATURES]
    for version in (None, 1, 2):
        there = remote.load_model("credit", version)
        mine = project.load_model("credit", version)
        assert type(there) is type(mine)
        assert np.array_equal(there.predict_proba(rows), mine.predict_proba(rows))
    for local, there in ((lambda: project.load_model("credit", 9),
                          lambda: remote.load_model("credit", 9)),
                         (lambda: project.load_dataset("loans", 4),
                          lambda: remote.load_dataset("loans", 4))):
        mine_error, their_error = raised(local), raised(there)
        assert (type(their_error), str(their_error)) == (type(mine_error), str(mine_error))


def test_damaged_bytes_are_never_loaded(project: Project, remote: RemoteProject,
                                        app: FastAPI, tokens: Tokens) -> None:
    (version,) = registered(project, "credit")
    flip_one_byte(blob_path(project, version.blob))
    error = raised(lambda: remote.load_model("credit", 1))  # the server checks first
    assert type(error) is IntegrityError and error.exit_code == 1

    # Bytes changed on the way: the client's own check against the version's hash.
    loans = project.dataset("loans")

    class Tamper(httpx.BaseTransport):
        def __init__(self, inner: InProcess) -> None:
            self.inner = inner

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            answer = self.inner.handle_request(request)
            if request.url.path.endswith("/file"):
                body = bytearray(answer.content)
                body[len(body) // 2] ^= 0xFF
                return httpx.Response(answer.status_code, headers=answer.headers,
                                      content=bytes(body))
            return answer

    with TestClient(app, raise_server_exceptions=False) as client, \
            RemoteProject(SERVER, tokens.admin, transport=Tamper(InProcess(client))) as bad:
        error = raised(lambda: bad.load_dataset("loans"))
    assert type(error) is IntegrityError
    assert str(error).startswith(f"The file the server sent for {loans.ref} has sha256 ")
    assert f"not the {loans.content_hash[:12]} the version records" in str(error)


def test_a_type_only_the_servers_config_trusts_is_refused_here(
        project: Project, remote: RemoteProject) -> None:
    config = project.root / "rasad.yaml"
    config.write_text(config.read_text() + f"registry:\n  trusted_types: [{CUSTOM_ESTIMATOR}]\n")
    local = Project.open(project.root)
    data = portfolio()
    with local.start_run() as run:
        run.log_model(CustomLogistic(max_iter=200).fit(data[["income"]], data[TARGET]),
                      data[["income"]], target=TARGET)
    local.register(run.id, "custom")
    assert isinstance(local.load_model("custom"), CustomLogistic)  # trusted where it lives
    error = raised(lambda: remote.load_model("custom"))
    assert type(error) is UntrustedArtifactError
    assert str(error).startswith(f"Model custom@1 holds types outside rasad's allow-list: "
                                 f"'{CUSTOM_ESTIMATOR}'. The server's project trusts them")
    local.close()


def test_the_download_routes_send_the_stored_bytes(project: Project, app: FastAPI,
                                                   tokens: Tokens) -> None:
    (version,) = registered(project, "credit")
    loans = project.dataset("loans")
    with TestClient(app, headers=tokens.as_viewer) as client:  # a viewer may read them
        data = client.get(f"{V1}/datasets/loans/versions/1/file")
        model = client.get(f"{V1}/models/credit/versions/1/file")
        missing = client.get(f"{V1}/models/credit/versions/2/file")
    assert data.headers["content-type"] == "application/vnd.apache.parquet"
    assert hashlib.sha256(data.content).hexdigest() == loans.content_hash
    assert hashlib.sha256(model.content).hexdigest() == version.blob
    assert (missing.status_code, missing.json()["error"]) == (404, "NotFoundError")


# ---- gc -------------------------------------------------------------------------------


def test_gc_runs_on_the_servers_store(project: Project, remote: RemoteProject,
                                      tokens: Tokens, transport: InProcess) -> None:
    orphan = project.artifacts.put_bytes(b"nothing refers to this")
    listed = remote.gc(dry_run=True, min_age_s=0)
    # A project opened afresh, as the server did: the orphan is not its own write in flight.
    with Project.open(project.root) as local:
        assert listed == local.gc(dry_run=True, min_age_s=0)
    assert [b.digest for b in listed.unreferenced] == [orphan] and not listed.removed
    assert remote.gc(min_age_s=3600).kept_young == 1
    with RemoteProject(SERVER, tokens.viewer, transport=transport) as viewer:
        error = raised(lambda: viewer.gc(dry_run=False, min_age_s=0))
        assert type(error) is PermissionDenied and "project.maintain" in str(error)
    assert project.artifacts.exists(orphan)
    removed = remote.gc(dry_run=False, min_age_s=0)
    assert removed.removed and [b.digest for b in removed.unreferenced] == [orphan]
    assert not project.artifacts.exists(orphan)
    event = project.audit_log(action="artifacts.gc")[-1]
    assert (event.actor, event.details["removed"]) == ("ada", [orphan])
    bad = raised(lambda: remote.gc(min_age_s=-1))
    assert type(bad) is InputError


def test_gc_over_the_cli(project: Project, monkeypatch: pytest.MonkeyPatch,
                         capsys: pytest.CaptureFixture[str]) -> None:
    """`rasad gc` with RASAD_URL set collects the server's store: the local output."""
    from tests.api._server import cli_over_server

    project.artifacts.put_bytes(b"left behind")
    rasad = Cli(capsys)
    local = Cli(capsys, project.root).ok("gc", "--dry-run", "--min-age", "0", "--json").json()
    local_text = Cli(capsys, project.root).ok("gc", "--dry-run", "--min-age", "0").out
    with cli_over_server(project, monkeypatch) as tokens:
        assert rasad.ok("gc", "--dry-run", "--min-age", "0", "--json").json() == local
        assert rasad.ok("gc", "--dry-run", "--min-age", "0").out == local_text
        monkeypatch.setenv("RASAD_TOKEN", tokens.viewer)
        assert_user_error(rasad("gc", "--min-age", "0"), "project.maintain")
    assert [b["sha256"] for b in local["blobs"]] == \
        [b.digest for b in project.gc(min_age_s=0).unreferenced]
