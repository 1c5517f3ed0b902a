"""State replay: what the ledger implies about the state tables, compared with them.

Every state change writes its audit event in the same transaction, so the
ledger alone says which version serves each model in each environment (the last
``model.promotion`` or ``model.rollback`` there, unless a ``model.retire`` emptied that
canary or shadow slot since: its stored environment is ``ENV:canary`` or ``ENV:shadow``,
as in the events), which artifact each model
version points to (``model.register``), which content each dataset version
holds (``dataset.add``), and each closed run's status, model and step metrics
(the count and digest sealed in ``run.finish`` / ``run.fail``); and the governance
state: promotion requests and their decisions, principals, role grants and API tokens
(:mod:`rasad.ledger._governance`); and data subjects' erasures, the versions they name, the
retrain flags they raised and the subject-id indexes (:mod:`rasad.ledger._erasures`). An
insider who edits a state table without forging
the ledger is named here, row by row.

Events recorded before a field was sealed simply lack it; that field is then
not checked for that row (old ledgers still verify).

>>> replay = StateReplay()
>>> replay.feed(1, "dataset.add", "dataset:loans@1", '{"content_hash":"ab"}')
>>> replay.datasets
{('loans', 1): (1, 'ab')}
>>> replay.feed(2, "model.promotion", "model:credit", '{"environment":"dev:canary","version":2}')
>>> replay.feed(3, "model.retire", "model:credit", '{"environment":"dev:canary","version":2}')
>>> replay.retired
{('credit', 'dev:canary'): (3, 2)}
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rasad.ledger._erasures import ACTIONS as ERASURE_ACTIONS
from rasad.ledger._erasures import ErasureReplay
from rasad.ledger._governance import ACTIONS as GOVERNANCE_ACTIONS
from rasad.ledger._governance import GovernanceReplay
from rasad.ledger.problems import Problem, ProblemKind
from rasad.store._tables import (
    CurrentDeploymentRow,
    DatasetVersionRow,
    DeploymentRow,
    ModelVersionRow,
    RunRow,
    StepMetricRow,
)

RELEVANT = frozenset({"dataset.add", "model.register", "model.promotion", "model.rollback",
                      "model.retire", "run.start", "run.finish", "run.fail"}
                     ) | GOVERNANCE_ACTIONS | ERASURE_ACTIONS


def step_metrics_digest(rows: Iterable[tuple[str, int, float]]) -> tuple[str, int]:
    """sha256 over (key, step, value) rows in (key, step, id) order, and their count.

    The same digest a run seals in its closing event.

    >>> step_metrics_digest([("loss", 0, 1.0), ("loss", 1, 0.5)])[1]
    2
    """
    digest = hashlib.sha256()
    count = 0
    for key, step, value in rows:
        digest.update(f"{key}\x1f{step}\x1f{float(value)!r}\n".encode())
        count += 1
    return digest.hexdigest(), count


@dataclass
class _RunFacts:
    start_seq: int
    seq: int
    status: str = "running"
    model_blob: str | None = None
    model_sealed: bool = False
    metrics: tuple[int, str] | None = None


@dataclass
class StateReplay:
    """Accumulates the state-changing events of one pass over the ledger."""

    datasets: dict[tuple[str, int], tuple[int, str | None]] = field(default_factory=dict)
    models: dict[tuple[str, int], tuple[int, str | None]] = field(default_factory=dict)
    deployments: dict[tuple[str, str], list[tuple[int, int, str]]] = field(default_factory=dict)
    # (model, stored environment) -> (seq, version) of a retirement no deployment followed.
    retired: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    runs: dict[str, _RunFacts] = field(default_factory=dict)
    governance: GovernanceReplay = field(default_factory=GovernanceReplay)
    erasures: ErasureReplay = field(default_factory=ErasureReplay)

    def feed(self, seq: int, action: str, subject: str, details_json: str) -> None:
        """Take one event (only :data:`RELEVANT` actions matter)."""
        if action not in RELEVANT:
            return
        details: dict[str, Any] = json.loads(details_json)
        kind, _, ref = subject.partition(":")
        if action in ERASURE_ACTIONS:
            self.erasures.feed(seq, action, subject, details)
            return
        if action in GOVERNANCE_ACTIONS:
            self.governance.feed(seq, action, subject, details)
            if action != "model.promotion":
                return
        if action == "dataset.add":
            self.datasets[_versioned(ref)] = (seq, details.get("content_hash"))
        elif action == "model.register":
            self.models[_versioned(ref)] = (seq, details.get("artifact_sha256"))
        elif action in ("model.promotion", "model.rollback"):
            key = (ref, str(details.get("environment")))
            self.deployments.setdefault(key, []).append(
                (seq, int(details.get("version") or 0), action.removeprefix("model.")))
            self.retired.pop(key, None)
        elif action == "model.retire":
            # No deployments row: the slot's pointer goes, its history stays.
            key = (ref, str(details.get("environment")))
            self.retired[key] = (seq, int(details.get("version") or 0))
        elif action == "run.start":
            self.runs[ref] = _RunFacts(seq, seq)
        else:
            facts = self.runs.setdefault(ref, _RunFacts(0, seq))
            facts.seq = seq
            facts.status = "finished" if action == "run.finish" else "failed"
            if "model_blob" in details:
                facts.model_blob, facts.model_sealed = details["model_blob"], True
            if "step_metrics_sha256" in details:
                facts.metrics = (int(details["step_metrics"]), str(details["step_metrics_sha256"]))

    def compare(self, session: Session) -> tuple[list[Problem], dict[str, int]]:
        """Every difference between the state tables and the replayed events."""
        problems: list[Problem] = []
        counts = {
            "dataset_versions": self._datasets(session, problems),
            "model_versions": self._models(session, problems),
            "current_deployments": self._current(session, problems),
            "deployments": self._history(session, problems),
            "runs": self._runs(session, problems),
            "step_metrics": self._metrics(session, problems),
            **self.governance.compare(session, problems),
            **self.erasures.compare(session, problems),
        }
        return problems, counts

    def _datasets(self, session: Session, problems: list[Problem]) -> int:
        rows = session.execute(select(DatasetVersionRow.name, DatasetVersionRow.version,
                                      DatasetVersionRow.content_hash, DatasetVersionRow.blob))
        return _versions(problems, "dataset_versions", "dataset.add", self.datasets,
                         {(n, v): (h, b) for n, v, h, b in rows}, ("content_hash", "blob"))

    def _models(self, session: Session, problems: list[Problem]) -> int:
        rows = session.execute(select(ModelVersionRow.name, ModelVersionRow.version,
                                      ModelVersionRow.blob))
        return _versions(problems, "model_versions", "model.register", self.models,
                         {(n, v): (b,) for n, v, b in rows}, ("blob",))

    def _current(self, session: Session, problems: list[Problem]) -> int:
        rows = session.execute(
            select(CurrentDeploymentRow.model_name, CurrentDeploymentRow.environment,
                   DeploymentRow.id, DeploymentRow.model_name, DeploymentRow.environment,
                   ModelVersionRow.name, ModelVersionRow.version)
            .outerjoin(DeploymentRow, DeploymentRow.id == CurrentDeploymentRow.deployment_id)
            .outerjoin(ModelVersionRow, ModelVersionRow.id == DeploymentRow.model_version_id)
        ).all()
        stored = {(r[0], r[1]): r[2:] for r in rows}
        for (name, env), history in sorted(self.deployments.items()):
            seq, version, _ = history[-1]
            row = f"current_deployments ({name}, {env})"
            if (name, env) in self.retired:
                retired_seq, retired_version = self.retired[(name, env)]
                if stored.pop((name, env), None) is not None:
                    problems.append(Problem(ProblemKind.STATE, (
                        f"{row} exists, but the ledger retired {name}@{retired_version} "
                        f"there (event {retired_seq}) and deployed nothing there since."),
                        seq=retired_seq, row=row))
                continue
            if (name, env) not in stored:
                problems.append(Problem(ProblemKind.STATE, (
                    f"{row} is missing: the ledger's last deployment there (event {seq}) "
                    f"serves {name}@{version}."), seq=seq, row=row))
                continue
            dep_id, dep_name, dep_env, mv_name, mv_version = stored.pop((name, env))
            if (dep_name, dep_env, mv_name) != (name, env, name) or mv_version != version:
                serves = (f"{mv_name}@{mv_version}" if mv_name else "nothing")
                problems.append(Problem(ProblemKind.STATE, (
                    f"{row} points at deployment {dep_id} ({dep_name}, {dep_env}), which serves "
                    f"{serves}; the ledger's last promotion or rollback there (event {seq}) "
                    f"serves {name}@{version}."), seq=seq, row=row))
        for (name, env), _ in sorted(stored.items()):
            row = f"current_deployments ({name}, {env})"
            problems.append(Problem(ProblemKind.STATE, (
                f"{row} exists, but the ledger records no deployment of {name} to {env}."),
                row=row))
        return len(rows)

    def _history(self, session: Session, problems: list[Problem]) -> int:
        rows = session.execute(
            select(DeploymentRow.id, DeploymentRow.model_name, DeploymentRow.environment,
                   ModelVersionRow.version, DeploymentRow.kind)
            .outerjoin(ModelVersionRow, ModelVersionRow.id == DeploymentRow.model_version_id)
            .order_by(DeploymentRow.id)).all()
        stored: dict[tuple[str, str], list[tuple[int, int | None, str]]] = {}
        for dep_id, name, env, version, kind in rows:
            stored.setdefault((name, env), []).append((dep_id, version, kind))
        for key in sorted(set(stored) | set(self.deployments)):
            _history_pair(problems, key, stored.get(key, []), self.deployments.get(key, []))
        return len(rows)

    def _runs(self, session: Session, problems: list[Problem]) -> int:
        rows = session.execute(select(RunRow.id, RunRow.status, RunRow.model_blob)).all()
        stored = {r[0]: (r[1], r[2]) for r in rows}
        for run_id, facts in self.runs.items():
            row = f"runs ({run_id})"
            if run_id not in stored:
                problems.append(Problem(ProblemKind.STATE, (
                    f"{row} is missing: the ledger records run {run_id} (event "
                    f"{facts.start_seq or facts.seq})."), seq=facts.seq, row=row))
                continue
            status, blob = stored.pop(run_id)
            if status != facts.status:
                problems.append(Problem(ProblemKind.STATE, (
                    f"{row} has status {status!r}; the ledger (event {facts.seq}) says "
                    f"{facts.status!r}."), seq=facts.seq, row=row))
            if facts.model_sealed and blob != facts.model_blob:
                problems.append(Problem(ProblemKind.STATE, (
                    f"{row} points at model blob {_short(blob)}; the run's closing event "
                    f"(event {facts.seq}) recorded {_short(facts.model_blob)}."),
                    seq=facts.seq, row=row))
        for run_id in sorted(stored):
            row = f"runs ({run_id})"
            problems.append(Problem(ProblemKind.STATE, (
                f"{row} exists, but the ledger never recorded its start."), row=row))
        return len(rows)

    def _metrics(self, session: Session, problems: list[Problem]) -> int:
        sealed = {run_id: facts for run_id, facts in self.runs.items()
                  if facts.metrics is not None}
        found: dict[str, list[tuple[str, int, float]]] = {run_id: [] for run_id in sealed}
        rows = session.execute(
            select(StepMetricRow.run_id, StepMetricRow.key, StepMetricRow.step,
                   StepMetricRow.value)
            .order_by(StepMetricRow.run_id, StepMetricRow.key, StepMetricRow.step,
                      StepMetricRow.id))
        total = 0
        for run_id, key, step, value in rows:
            total += 1
            if run_id in found:
                found[run_id].append((key, step, value))
        for run_id, facts in sorted(sealed.items()):
            assert facts.metrics is not None
            digest, count = step_metrics_digest(found[run_id])
            want_count, want_digest = facts.metrics
            if (count, digest) != (want_count, want_digest):
                row = f"step_metrics (run {run_id})"
                problems.append(Problem(ProblemKind.STATE, (
                    f"{row}: {count} rows with digest {_short(digest)}; the run's closing "
                    f"event (event {facts.seq}) sealed {want_count} rows with digest "
                    f"{_short(want_digest)} (a value was edited, or rows deleted or added)."),
                    seq=facts.seq, row=row))
        return total


def _versioned(ref: str) -> tuple[str, int]:
    name, _, version = ref.rpartition("@")
    return name, int(version) if version.isdigit() else 0


def _short(digest: str | None) -> str:
    return "none" if digest is None else digest[:12] + "…"


def _versions(problems: list[Problem], table: str, action: str,
              implied: dict[tuple[str, int], tuple[int, str | None]],
              stored: dict[tuple[str, int], tuple[str, ...]], columns: tuple[str, ...]) -> int:
    total = len(stored)
    for (name, version), (seq, digest) in sorted(implied.items()):
        row = f"{table} ({name}@{version})"
        values = stored.pop((name, version), None)
        if values is None:
            problems.append(Problem(ProblemKind.STATE, (
                f"{row} is missing: the ledger recorded it ({action}, event {seq})."),
                seq=seq, row=row))
            continue
        if digest is None:  # an event from before the hash was recorded
            continue
        for column, value in zip(columns, values, strict=True):
            if value != digest:
                problems.append(Problem(ProblemKind.STATE, (
                    f"{row}: {column} is {_short(value)}, but the ledger ({action}, event "
                    f"{seq}) recorded {_short(digest)}."), seq=seq, row=row))
    for name, version in sorted(stored):
        row = f"{table} ({name}@{version})"
        problems.append(Problem(ProblemKind.STATE, (
            f"{row} exists, but the ledger has no {action} event for it."), row=row))
    return total


def _history_pair(problems: list[Problem], key: tuple[str, str],
                  rows: list[tuple[int, int | None, str]],
                  events: list[tuple[int, int, str]]) -> None:
    name, env = key
    for i in range(max(len(rows), len(events))):
        row_item = rows[i] if i < len(rows) else None
        event = events[i] if i < len(events) else None
        if row_item is not None and event is not None:
            if (row_item[1], row_item[2]) == (event[1], event[2]):
                continue
            row = f"deployments (id {row_item[0]})"
            message = (f"{row}: {name}@{row_item[1]} to {env} by {row_item[2]}; the ledger's "
                       f"deployment #{i + 1} there (event {event[0]}) is {name}@{event[1]} "
                       f"by {event[2]}.")
        elif row_item is not None:
            row = f"deployments (id {row_item[0]})"
            message = (f"{row}: {name}@{row_item[1]} to {env} by {row_item[2]} has no event "
                       "in the ledger.")
        else:
            assert event is not None
            row = f"deployments ({name}, {env})"
            message = (f"{row}: the ledger's deployment of {name}@{event[1]} (event "
                       f"{event[0]}) has no deployments row.")
        problems.append(Problem(ProblemKind.STATE, message,
                                seq=event[0] if event else None, row=row))
        return  # the first difference per (model, environment); the rest follow from it
