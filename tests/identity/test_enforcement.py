"""Every state-changing verb checks the acting principal's permission, through Python and
the CLI: each role can do what ROLE_PERMISSIONS grants it, is refused the rest with
PermissionDenied (exit 2 on the CLI), and a refusal changes nothing (every row of every
table, the audit log included, is the same before and after).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from rasad import Project
from rasad.cli import run as cli
from rasad.core import Context
from rasad.errors import InputError, PermissionDenied
from rasad.identity import (
    OS_USER,
    ROLE_PERMISSIONS,
    Permission,
    Role,
    authenticate,
)
from rasad.ledger.keys import generate_key

from ._helpers import snapshot

P = Permission


@dataclasses.dataclass
class Seeded:
    """A project with a dataset, two finished runs registered as credit@1 and credit@2
    (credit@2 serving in staging, where credit@1 served before), and one principal per
    role, named after it."""

    project: Project
    run_id: str
    csv: Path
    key: Path
    checkpoints: Path


def _frame(rows: int = 80, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(rows)
    x = rng.normal(shift, 1.0, rows)
    return pd.DataFrame({"x": x, "g": rng.choice(["a", "b"], rows),
                         "y": (x + rng.normal(0, 0.5, rows) > 0).astype(int)})


@pytest.fixture
def seeded(project: Project, tmp_path: Path) -> Seeded:
    frame = _frame()
    project.add_dataset(frame, "loans")
    for c in (1.0, 0.5):
        with project.start_run("seed") as run:
            model = LogisticRegression(C=c).fit(frame[["x"]], frame["y"])
            run.log_model(model, frame[["x"]], target="y")
        project.register(run.id, "credit")
    project.promote("credit", 1, "staging")
    project.promote("credit", 2, "staging")
    for role in Role:
        project.add_principal(role.value, roles=[role])
    csv = tmp_path / "more.csv"
    _frame(90, 0.3).to_csv(csv, index=False)
    key = tmp_path / "signing"
    generate_key(key)
    return Seeded(project, run.id, csv, key, tmp_path / "checkpoints")


def _as(project: Project, name: str) -> Project:
    """The same project opened by the local user ``name`` (RASAD_USER=name)."""
    return Project(project.root, project.config, actor=name)


# What each permission allows, as one Python call on a project opened by the actor. The
# calls write something new each time they are allowed (a new name or content), except
# where a repeat is the documented no-op.
Verb = Callable[[Project, Seeded, str], object]
PYTHON: dict[Permission, list[Verb]] = {
    P.READ: [lambda p, s, who: p.datasets(), lambda p, s, who: p.models(),
             lambda p, s, who: p.runs(), lambda p, s, who: p.monitor_results(),
             lambda p, s, who: p.principals()],
    P.DATASET_WRITE: [lambda p, s, who: p.add_dataset(_frame(70 + len(who)), "loans"),
                      lambda p, s, who: p.infer_schema("loans@1")],
    P.RUN_WRITE: [lambda p, s, who: p.start_run(f"run-{who}").finish()],
    P.MODEL_REGISTER: [lambda p, s, who: p.register(s.run_id, f"model-{who}")],
    P.MODEL_PROMOTE: [lambda p, s, who: p.rollback("credit", "staging"),
                      lambda p, s, who: p.promote("credit", 2, "staging")],
    P.MODEL_FORCE: [lambda p, s, who: p.force_promote("credit", 1, "dev",
                                                      justification=f"drill by {who}")],
    P.MONITOR_WRITE: [lambda p, s, who: p.save_monitor_result(
        monitor=f"m-{who}", kind="drift", reference="loans@1", current="loans@1",
        alert=False, summary={}, payload={"who": who})],
    P.AUDIT_READ: [lambda p, s, who: p.audit_log(), lambda p, s, who: p.verify_audit()],
    P.AUDIT_CHECKPOINT: [lambda p, s, who: p.checkpoint(to=str(s.checkpoints), key=s.key)],
    P.IDENTITY_MANAGE: [lambda p, s, who: p.add_principal(f"new-{who}", roles=[Role.VIEWER]),
                        lambda p, s, who: p.create_token("viewer")],
    P.PROJECT_MAINTAIN: [lambda p, s, who: p.gc(dry_run=True)],
    P.SUBJECT_ERASE: [lambda p, s, who: _erase(p, who)],
}


def _erase(project: Project, who: str) -> object:
    """An erasure; allowed, it stops at the next check (this project declares no subject
    columns: tests/governance/test_subjects.py erases for real)."""
    try:
        return project.subject_erase("C-1", reason=f"drill by {who}")
    except InputError as error:
        assert "subject_columns" in str(error)
        return None

# The same through the CLI: argv after `rasad --project ROOT`.
Argv = Callable[[Seeded, str], list[str]]
CLI: dict[Permission, list[Argv]] = {
    P.READ: [lambda s, who: ["data", "list", "--json"], lambda s, who: ["models", "list"],
             lambda s, who: ["runs", "list"], lambda s, who: ["users", "list"]],
    P.DATASET_WRITE: [lambda s, who: ["data", "add", str(s.csv), "--name", f"cli-{who}"]],
    P.MODEL_REGISTER: [lambda s, who: ["models", "register", s.run_id, "--name",
                                       f"cli-{who}"]],
    P.MODEL_PROMOTE: [lambda s, who: ["rollback", "credit", "--env", "staging"],
                      lambda s, who: ["promote", "credit", "2", "--to", "staging"]],
    P.MONITOR_WRITE: [lambda s, who: ["drift", "loans@1", "loans@1", "--save", "--monitor",
                                      f"cli-{who}"]],
    P.AUDIT_READ: [lambda s, who: ["audit", "log", "--json"]],
    P.AUDIT_CHECKPOINT: [lambda s, who: ["audit", "checkpoint", "--to", str(s.checkpoints),
                                         "--key", str(s.key)]],
    P.IDENTITY_MANAGE: [lambda s, who: ["users", "add", f"cli-{who}", "--role", "viewer"]],
    P.PROJECT_MAINTAIN: [lambda s, who: ["gc", "--dry-run"]],
}


def test_every_permission_has_a_verb_tried() -> None:
    # model.approve is not enough to approve: the approval rule's roles and maker-checker
    # decide too (tests/release/test_approvals.py). predict is checked by the prediction
    # server, no Python verb (tests/serving/online/test_auth.py).
    assert set(PYTHON) == set(Permission) - {P.MODEL_APPROVE, P.PREDICT}
    assert set(CLI) <= set(PYTHON)


@pytest.fixture
def as_user(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    yield lambda name: monkeypatch.setenv("RASAD_USER", name)


def _refused(permission: Permission, allowed: frozenset[Permission]) -> set[str]:
    """The permissions a refusal may name: a role that cannot read (predictor) is refused
    at the read a write verb does first."""
    return {str(permission)} if P.READ in allowed else {str(permission), str(P.READ)}


@pytest.mark.parametrize("role", list(Role))
def test_each_role_through_python(seeded: Seeded, role: Role) -> None:
    allowed = ROLE_PERMISSIONS[role]
    with _as(seeded.project, role.value) as acting:
        for permission, verbs in PYTHON.items():
            for verb in verbs:
                if permission in allowed:
                    verb(acting, seeded, role.value)
                    continue
                before = snapshot(seeded.project)
                needed = "|".join(sorted(_refused(permission, allowed)))
                with pytest.raises(PermissionDenied,
                                   match=rf"'{role}' \(os-user; roles: {role}\) may not .* "
                                         rf"needs the permission ({needed}),"):
                    verb(acting, seeded, role.value)
                assert snapshot(seeded.project) == before, (role, permission)
    assert seeded.project.verify_audit().ok


@pytest.mark.parametrize("role", list(Role))
def test_each_role_through_the_cli(seeded: Seeded, role: Role,
                                   as_user: Callable[[str], None],
                                   capsys: pytest.CaptureFixture[str]) -> None:
    allowed = ROLE_PERMISSIONS[role]
    as_user(role.value)
    root = str(seeded.project.root)
    for permission, commands in CLI.items():
        for command in commands:
            argv = ["--project", root, *command(seeded, role.value)]
            before = snapshot(seeded.project)
            code = cli(argv)
            err = capsys.readouterr().err
            if permission in allowed:
                assert code in (0, 1), (argv, err)  # 1: drift found, a check not a refusal
                continue
            assert code == 2, (argv, err)
            assert "PermissionDenied" in err or "may not" in err, err
            assert any(f"needs the permission {p}," in " ".join(err.split())
                       for p in _refused(permission, allowed)), err
            assert snapshot(seeded.project) == before, argv


def test_run_logging_and_closing_need_run_write_too(seeded: Seeded) -> None:
    project = seeded.project
    project.grant("deployer", Role.DATA_SCIENTIST)
    with _as(project, "deployer") as acting:
        active = acting.start_run("long")
        active.log_metric("loss", 1.0)
        project.revoke_role("deployer", Role.DATA_SCIENTIST)
        # The run's process looks its principal up again (as every new command does).
        active.ctx = dataclasses.replace(active.ctx)
        before = snapshot(project)
        with pytest.raises(PermissionDenied, match="may not log metrics"):
            active.flush()
        with pytest.raises(PermissionDenied, match="may not close run"):
            active.finish()
        assert snapshot(project) == before
        project.grant("deployer", Role.DATA_SCIENTIST)  # granted again, the run can close
        active.ctx = dataclasses.replace(active.ctx)
        assert str(active.finish().status) == "finished"


def test_an_unknown_local_user_can_read_but_not_write(seeded: Seeded,
                                                      as_user: Callable[[str], None],
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    project = seeded.project
    with _as(project, "mallory") as stranger:
        assert stranger.context.principal.roles == (Role.VIEWER,)
        assert [v.ref for v in stranger.datasets()] == ["loans@1"]
        assert stranger.model_version("credit", env="staging").version == 2
        before = snapshot(project)
        for write in (lambda: stranger.add_dataset(_frame(50), "loans"),
                      lambda: stranger.promote("credit", 1, "production"),
                      lambda: stranger.add_principal("mallory", roles=[Role.ADMIN]),
                      lambda: stranger.start_run("sneaky")):
            with pytest.raises(PermissionDenied, match=r"'mallory' \(os-user; roles: viewer\)"):
                write()
        assert snapshot(project) == before
    as_user("mallory")
    assert cli(["--project", str(project.root), "data", "list"]) == 0
    assert cli(["--project", str(project.root), "data", "add", str(seeded.csv),
                "--name", "loans"]) == 2
    assert "'mallory' (os-user; roles: viewer) may not add a version of dataset 'loans'" \
        in " ".join(capsys.readouterr().err.split())
    assert snapshot(project) == before


def test_the_audit_log_names_the_principal_and_how_it_authenticated(seeded: Seeded) -> None:
    project = seeded.project
    with _as(project, "data_scientist") as scientist:
        added = scientist.add_dataset(_frame(55), "loans").version
    token = project.create_token("deployer", roles=[Role.DEPLOYER])
    deployer = authenticate(project.context, token.token)
    remote = Context.build(project.root, project.config, principal=deployer)
    try:
        from rasad.registry import promotion
        promotion.promote(remote, "credit", 1, "production", reason="remote")
    finally:
        remote.close()
    log = project.audit_log()
    first = log[0]
    assert (first.action, first.actor, first.auth) == ("project.init", "tester", OS_USER)
    assert first.details["first_admin"] == "tester"
    assert all(event.auth is not None for event in log)
    add = next(e for e in log if e.subject == f"dataset:{added.ref}")
    assert (add.actor, add.auth) == ("data_scientist", OS_USER)
    by_deployer = [(e.action, e.auth) for e in log if e.actor == "deployer"]
    assert by_deployer == [("model.promotion", f"token:{token.info.id}")]
    assert project.verify_audit().ok


def test_a_token_revoked_after_authentication_cannot_act(seeded: Seeded) -> None:
    project = seeded.project
    token = project.create_token("deployer")
    deployer = authenticate(project.context, token.token)
    remote = Context.build(project.root, project.config, principal=deployer)
    try:
        from rasad.registry import promotion
        project.revoke_token(token.info.id)
        before = snapshot(project)
        with pytest.raises(PermissionDenied, match=r"'deployer' \(token:.*roles: none\)"):
            promotion.promote(remote, "credit", 1, "production")
        assert snapshot(project) == before
    finally:
        remote.close()


def test_a_viewer_token_changes_nothing(seeded: Seeded) -> None:
    project = seeded.project
    token = project.create_token("admin", roles=[Role.VIEWER])  # an admin's read-only token
    reader = authenticate(project.context, token.token)
    remote = Context.build(project.root, project.config, principal=reader)
    try:
        from rasad.datasets import service as datasets
        from rasad.identity import service as identity
        assert [v.ref for v in datasets.list_versions(remote)] == ["loans@1"]
        before = snapshot(project)
        for write in (lambda: datasets.add(remote, _frame(40), "loans"),
                      lambda: identity.grant(remote, "viewer", Role.ADMIN)):
            with pytest.raises(PermissionDenied, match="use a token created with"):
                write()
        assert snapshot(project) == before
    finally:
        remote.close()


def test_init_claims_the_project_for_its_creator(tmp_path: Path,
                                                 as_user: Callable[[str], None]) -> None:
    as_user("founder@bank.example")
    with Project.init(tmp_path / "new", name="new") as project:
        assert [(p.name, p.roles) for p in project.principals()] == [
            ("founder@bank.example", (Role.ADMIN,))]
        assert [(e.action, e.actor) for e in project.audit_log()] == [
            ("project.init", "founder@bank.example")]
    as_user("someone-else")
    with Project.open(tmp_path / "new") as other:
        with pytest.raises(PermissionDenied, match="'someone-else'"):
            other.add_principal("someone-else", roles=[Role.ADMIN])


def test_a_folder_added_to_a_shared_database_needs_its_admin(
        seeded: Seeded, tmp_path: Path, as_user: Callable[[str], None],
        monkeypatch: pytest.MonkeyPatch) -> None:
    project = seeded.project
    monkeypatch.setenv("RASAD_DATABASE_URL", project.db.url)  # PostgreSQL: set already
    as_user("viewer")
    before = snapshot(project)
    with pytest.raises(PermissionDenied, match=r"'viewer' .* may not initialise a project "
                                               r".* needs the permission project\.maintain"):
        Project.init(tmp_path / "second", name="second")
    assert not (tmp_path / "second").exists()
    assert snapshot(project) == before
    as_user("tester")
    with Project.init(tmp_path / "second", name="second") as second:
        event = second.audit_log(action="project.init")[-1]
    assert (event.subject, event.actor, event.auth) == ("project:second", "tester", OS_USER)
    assert "first_admin" not in event.details  # tester was an admin of it already
