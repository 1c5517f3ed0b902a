"""A governed project for the request, approval and break-glass tests: a team of principals,
two versions of ``credit`` trained by one person and registered by another.

Everything goes through rasad's services. 'tester' creates the project (its first admin)
and adds the team; each member acts through their own :class:`rasad.Project` (the local
user's principal with the roles granted to it) or, on the ``http`` backend, through the
API with their own token (a :class:`tests._http.ServedProject`). 'tester' stays local on
every backend: the auditor's view of what was stored (the tables, the artifact store):

- ``dana`` (data_scientist, approver) trains every run: the trainer, who holds the role
  that could approve, so only maker-checker stops her;
- ``rami`` (data_scientist, approver) registers the versions: the registrar, likewise;
- ``omar`` (deployer, approver) opens the requests: the opener, likewise;
- ``amal`` and ``bilal`` (approver) are the checkers;
- ``ada`` (admin, approver) forces promotions (break-glass);
- ``paul`` (deployer) and ``vic`` (viewer) hold no ``model.approve``.

The policy (``promotion:`` in ``rasad.yaml``) runs no gate unless a test declares one:
the tests here are about requests, not gates (the gates have their own tests under
``tests/release/gates``); where a test needs a gate to pass or fail it declares the
metrics gate with a threshold on the evaluation data ``loans-eval``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from rasad import Project
from rasad.config import CONFIG_FILE, ProjectConfig
from rasad.core import Context
from rasad.identity import Role
from rasad.identity.tokens import later
from rasad.registry import ModelVersion
from tests._http import Server, local, served_by
from tests.registry._helpers import portfolio, train

MODEL = "credit"
EVAL = "loans-eval"
TEAM: dict[str, list[Role]] = {
    "dana": [Role.DATA_SCIENTIST, Role.APPROVER],
    "rami": [Role.DATA_SCIENTIST, Role.APPROVER],
    "omar": [Role.DEPLOYER, Role.APPROVER],
    "amal": [Role.APPROVER],
    "bilal": [Role.APPROVER],
    "ada": [Role.ADMIN, Role.APPROVER],
    "paul": [Role.DEPLOYER],
    "vic": [Role.VIEWER],
}
POLICY: dict[str, Any] = {
    "dev": {"gates": []},
    "staging": {"gates": []},
    "production": {"gates": [], "approval": {"approvals": 1, "roles": ["approver"]}},
}


def write_policy(root: Path, environments: dict[str, Any] | None = None,
                 **promotion: Any) -> None:
    """Set rasad.yaml's ``promotion`` section: ``environments`` (default :data:`POLICY`)
    and any other ``promotion`` keys."""
    path = root / "rasad.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["promotion"].update({"environments": environments or POLICY, **promotion})
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


def metrics_policy(production_approvals: int = 1) -> dict[str, Any]:
    """Staging and production run the metrics gate (thresholds: ``promotion.metrics``)."""
    return {
        "dev": {"gates": []},
        "staging": {"gates": ["metrics"]},
        "production": {"gates": ["metrics"], "approval": {
            "approvals": production_approvals, "roles": ["approver"]}},
    }


@dataclasses.dataclass
class Team:
    """The project as each member sees it; ``versions`` are credit@1 and credit@2."""

    root: Path
    members: dict[str, Project]
    versions: list[ModelVersion]
    server: Server | None = None
    fresh_views: list[Project] = dataclasses.field(default_factory=list)

    def __getitem__(self, name: str) -> Project:
        return self.members[name]

    @property
    def admin(self) -> Project:
        """'tester', who created the project, always local: reads the audit log, checks
        the tables."""
        return self.members["tester"]

    def auth(self, name: str) -> str:
        """How ``name`` authenticates when acting as a member: 'os-user', or
        'token:<id>' over the API."""
        return self[name].principal.auth

    def fresh(self, name: str) -> Project:
        """A new view of the project as ``name``, with the roles ``name`` holds now (a new
        local project, or a new token); closed with the team."""
        if self.server is not None:
            return self.server.connect(name)  # type: ignore[return-value]
        member = _as(self.root, name)
        self.fresh_views.append(member)
        return member

    def reopen(self) -> None:
        """Read rasad.yaml again (the server, each local member's project), after a test
        changed it."""
        if self.server is not None:
            self.server.restart()
        for name, project in list(self.members.items()):
            if isinstance(project, Project):
                project.close()
                self.members[name] = _as(self.root, name)


def _as(root: Path, name: str) -> Project:
    return Project(root, ProjectConfig.load(root / CONFIG_FILE), actor=name)


@contextmanager
def team(project: Project, *, versions: int = 2, **promotion: Any) -> Iterator[Team]:
    """The team on ``project`` (its policy written first), with ``versions`` versions of
    credit, each trained by dana and registered by rami."""
    root, server = local(project).root, served_by(project)
    write_policy(root, **promotion)
    if server is not None:
        server.restart()  # the server reads the policy, as a restarted `rasad server` does
    members: dict[str, Project] = {"tester": _as(root, "tester")}
    for name, roles in TEAM.items():
        members["tester"].add_principal(name, roles=roles)
        members[name] = _as(root, name) if server is None else \
            server.connect(name)  # type: ignore[assignment]
    made = Team(root, members, [], server)
    try:
        for _ in range(versions):
            run = train(made["dana"])
            made.versions.append(made["rami"].register(run.id, MODEL))
        yield made
    finally:
        for member in [*made.members.values(), *made.fresh_views]:
            if isinstance(member, Project):  # the server closes its own clients
                member.close()


def add_evaluation(project: Project, seed: int = 21) -> str:
    """A labelled evaluation dataset version of ``loans-eval``; returns its ref."""
    return project.add_dataset(portfolio(seed), EVAL).version.ref


def at(ctx: Context, now: str) -> Context:
    """The same context with a clock that says ``now``."""
    return dataclasses.replace(ctx, clock=lambda: now)


def after(stamp: str, **delta: float) -> str:
    """The stored time text ``delta`` after ``stamp``."""
    return later(stamp, timedelta(**delta))
