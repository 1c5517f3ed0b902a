"""The retraining pipeline: dataset -> validate -> train -> register -> request promotion.

:func:`retrain` is what a trigger's ``retrain`` action runs for ``MODEL``, as declared in
``automation.retraining.MODEL`` of ``rasad.yaml``:

1. **dataset**: the newest version of the dataset (``combine: latest``), or every version
   concatenated (``combine: all``) and stored as a version of the derived dataset
   ``NAME-combined`` (the datasets service records no parent versions; the versions
   combined are in this step's output and in the ``dataset.add`` event's description);
2. **validate**: against the schema in force for the dataset; any error stops the
   pipeline (``status: stopped`` with the reason; the caller alerts);
3. **train**: with ``training:`` of ``rasad.yaml`` on that version, through
   :func:`rasad.training.train.train`; the run is named after the trigger
   (``retrain-MODEL-trigger-ID``), its datasets record the version;
4. **register**: the run as the next version of ``MODEL``;
5. **promote**: through :func:`rasad.release.service.promote` to
   ``automation.retraining.MODEL.request_to`` (default: the first environment whose
   policy has gates), so its gates run and an environment with an approval rule
   (production, by default) waits for its approvers; the request's reason names the
   trigger.

Each finished step's output is stored in ``pipeline_steps``, keyed by the step and the
sha256 of the canonical JSON of its inputs (as DVC keys its stages): the dataset step by
the model, dataset and the versions' content hashes; validate by the data and the schema;
train by the data, the training configuration and its seed; register by the run; promote
by the version, the target and the evidence its gates read. A re-run with the same inputs
reuses the stored output (:attr:`StepOutcome.reused`) instead of redoing the step, so a
pipeline killed in the middle resumes after its last finished step, and a trigger run
twice trains once. A step is claimed (``step:STEP:HASH``) while it runs, so two agents
never run the same step at once; a claim held by another agent raises
:class:`~rasad.errors.ConflictError` (try again later; a dead agent's lease expires after
``automation.agent.lease_seconds``). A step killed in the middle is redone: a training
killed while fitting leaves its run ``running`` and the re-run trains a new one.

A finished pipeline records one ``automation.retrain`` event (subject ``model:MODEL``)
with the trigger, the steps, the version and the request; a re-run that reuses every
step of the same trigger records nothing more.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import select

from rasad.automation import claims
from rasad.datasets import DatasetVersion
from rasad.datasets import service as datasets
from rasad.errors import (
    CheckFailed,
    ConfigError,
    ConflictError,
    GatesFailed,
    InputError,
    NotFoundError,
)
from rasad.identity import Permission
from rasad.ledger import canonical_json
from rasad.names import check_name
from rasad.registry import Deployment
from rasad.registry.models import check_environment, register, resolve
from rasad.release import gates
from rasad.release import service as release
from rasad.results import Result
from rasad.store._tables import PipelineStepRow, TriggerRow
from rasad.store.lengths import max_length
from rasad.training.train import resolve_config, train
from rasad.validation.service import find_schema, summary_line, validate_version

if TYPE_CHECKING:
    from rasad.config import RetrainingConfig, TrainingConfig
    from rasad.core import Context
    from rasad.validation.service import StoredSchema

COMBINED_SUFFIX = "-combined"
"""``combine: all`` stores the concatenated versions of ``NAME`` as ``NAME-combined``."""


class PipelineStep(StrEnum):
    """The steps of a retraining, in the order they run."""

    DATASET = "dataset"
    VALIDATE = "validate"
    TRAIN = "train"
    REGISTER = "register"
    PROMOTE = "promote"


class PipelineStatus(StrEnum):
    """How a retraining ended."""

    REQUESTED = "requested"
    """The candidate waits for approvals in the target environment (an open request)."""
    DEPLOYED = "deployed"
    """The target environment needs no approval: the candidate serves there."""
    STOPPED = "stopped"
    """Invalid data, a training that could not run, or blocking gates; see ``reason``."""


class StepOutcome(Result):
    """One step of a retraining: its output, and whether it was reused from an earlier run
    with the same inputs (``input_hash``)."""

    step: PipelineStep
    reused: bool
    input_hash: str
    output: dict[str, Any]


class PipelineResult(Result):
    """What :func:`retrain` did for one trigger.

    >>> result = PipelineResult(trigger_id=3, model="credit", steps=[], version=None,
    ...                         request_id=None, status="stopped", reason="invalid data")
    >>> result.message
    'Retraining credit (trigger #3) stopped: invalid data'
    """

    trigger_id: int
    model: str
    steps: list[StepOutcome]
    version: int | None
    request_id: int | None
    status: PipelineStatus
    reason: str | None = None

    @property
    def message(self) -> str:
        """One line for people."""
        head = f"Retraining {self.model} (trigger #{self.trigger_id})"
        if self.status is PipelineStatus.STOPPED:
            return f"{head} stopped: {self.reason}"
        where = f"{self.model}@{self.version}"
        if self.status is PipelineStatus.DEPLOYED:
            return f"{head} deployed {where} (request #{self.request_id})."
        return f"{head} put {where} up for approval (request #{self.request_id})."


def input_hash(inputs: dict[str, Any]) -> str:
    """The sha256 of the canonical JSON of a step's inputs: its key in ``pipeline_steps``.

    >>> input_hash({"b": 1, "a": 2}) == input_hash({"a": 2, "b": 1})
    True
    >>> input_hash({"a": 1})[:12]
    '015abd7f5cc5'
    """
    return hashlib.sha256(canonical_json(inputs).encode("utf-8")).hexdigest()


def retrain(ctx: Context, model: str, *, trigger_id: int, owner: str) -> PipelineResult:
    """Retrain ``model`` for trigger ``trigger_id``, reusing every step already finished
    with the same inputs.

    Parameters
    ----------
    ctx : Context
        Acting as the agent: it needs ``run.write`` and ``model.register`` (and
        ``dataset.write`` to record the validation, ``model.promote`` for the promotion).
    model : str
        A model named in ``automation.retraining``.
    trigger_id : int
        The trigger that set the retraining off (a row of ``triggers``).
    owner : str
        Who claims the steps (the agent's name); the same owner resumes its own claims.

    Returns
    -------
    PipelineResult
        ``deployed`` or ``requested`` with the version and request; ``stopped`` with the
        reason when the data fail validation, training cannot run or the gates block
        (``request_id`` then names the failed request).

    Raises
    ------
    ConfigError
        ``automation.retraining`` has no entry for ``model``, or names an unknown
        environment or no dataset.
    NotFoundError
        No trigger ``trigger_id``, or no version of the dataset.
    ConflictError
        Another agent holds the claim on a step (run again later).
    """
    check_name(model, "Model")
    plan = _plan(ctx, model)
    action = f"retrain model {model!r} for trigger #{trigger_id}"
    ctx.require(Permission.RUN_WRITE, action)
    ctx.require(Permission.MODEL_REGISTER, action)
    trigger = _trigger(ctx, trigger_id)
    run = _Run(ctx, model, trigger_id, owner)
    versions = datasets.list_versions(ctx, plan.dataset)
    chosen = versions if plan.combine == "all" else versions[-1:]
    made = run.step(PipelineStep.DATASET, {
        "model": model, "dataset": plan.dataset, "combine": plan.combine,
        "versions": [[v.version, v.content_hash] for v in chosen],
    }, lambda: _dataset(ctx, plan, chosen, model, trigger_id))
    version = datasets.get(ctx, made.output["dataset"], made.output["version"])
    schema = find_schema(ctx, plan.dataset)
    checked = run.step(PipelineStep.VALIDATE, {
        "data": version.content_hash,
        "schema": None if schema is None else schema.content_hash,
    }, lambda: _validate(ctx, version, schema))
    if checked.output["ok"] is False:
        return run.finish(trigger, PipelineStatus.STOPPED, reason=(
            f"{version.ref} fails validation against {checked.output['schema']}: "
            f"{checked.output['summary']}; nothing was trained"))
    config = _training(ctx, version)
    try:
        trained = run.step(PipelineStep.TRAIN, {
            "data": version.content_hash,
            "training": config.model_dump(mode="json", by_alias=True,
                                          exclude={"dataset", "version", "register_as"}),
            "seed": config.seed,
        }, lambda: _train(ctx, config, model, trigger_id, _Renewing(run)))
    except (InputError, CheckFailed) as exc:  # the data or configuration; not a refusal
        return run.finish(trigger, PipelineStatus.STOPPED, reason=f"training failed: {exc}")
    run_id = trained.output["run_id"]
    registered = run.step(PipelineStep.REGISTER, {"model": model, "run_id": run_id},
                          lambda: _register(ctx, run_id, model))
    number = registered.output["version"]
    candidate = resolve(ctx, model, version=number)
    evidence = gates.evidence_key(ctx, candidate, plan.environment)
    evidence.pop("champion")  # the candidate becomes the champion once it deploys
    promoted = run.step(PipelineStep.PROMOTE, {
        "model": model, "version": number, "environment": plan.environment,
        "evidence": evidence,
    }, lambda: _promote(ctx, model, number, plan.environment, trigger_id))
    out = promoted.output
    if out["outcome"] == "failed":
        return run.finish(trigger, PipelineStatus.STOPPED, version=number,
                          request_id=out["request_id"], reason=out["reason"])
    status = PipelineStatus.DEPLOYED if out["outcome"] == "deployed" else \
        PipelineStatus.REQUESTED
    return run.finish(trigger, status, version=number, request_id=out["request_id"])


# -- the plan ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Plan:
    dataset: str
    combine: str
    environment: str


def _plan(ctx: Context, model: str) -> _Plan:
    """``automation.retraining.MODEL`` with its defaults filled in, or a ConfigError."""
    config = ctx.config
    entry: RetrainingConfig | None = config.automation.retraining.get(model)
    key = f"automation.retraining.{model}"
    if entry is None:
        known = ", ".join(sorted(config.automation.retraining)) or "none"
        raise ConfigError(f"rasad.yaml has no {key}: add it to retrain model {model!r} "
                          f"(models with a retraining entry: {known}).")
    dataset = entry.dataset or config.training.dataset
    if dataset is None:
        raise ConfigError(f"No dataset to retrain {model!r} on: set {key}.dataset or "
                          "training.dataset in rasad.yaml.")
    envs = config.registry.environments
    if entry.request_to is not None:
        try:
            environment = check_environment(ctx, entry.request_to)
        except NotFoundError as exc:
            raise ConfigError(f"{key}.request_to: {exc}") from None
    else:  # the first gated environment; the last one when no environment has gates
        gated = [e for e in envs if config.promotion.policy(e, envs).gate_names]
        environment = (gated or envs[-1:])[0]
    return _Plan(dataset=dataset, combine=entry.combine, environment=environment)


def _trigger(ctx: Context, trigger_id: int) -> TriggerRow:
    with ctx.read() as session:
        row = session.get(TriggerRow, trigger_id)
    if row is None:
        raise NotFoundError(f"No trigger #{trigger_id}; `rasad agent status` lists the open "
                            "triggers.")
    return row


def _training(ctx: Context, version: DatasetVersion) -> TrainingConfig:
    """``training:`` of rasad.yaml on ``version``; registering is the pipeline's own step."""
    config = resolve_config(ctx.config.training, dataset=version.name, version=version.version)
    return config.model_copy(update={"register_as": None})


# -- the steps ---------------------------------------------------------------------------


def _dataset(ctx: Context, plan: _Plan, chosen: list[DatasetVersion], model: str,
             trigger_id: int) -> dict[str, Any]:
    if plan.combine != "all" or len(chosen) == 1:
        newest = chosen[-1]
        return {"dataset": newest.name, "version": newest.version,
                "content_hash": newest.content_hash, "rows": newest.rows,
                "combined_from": [newest.ref]}
    refs = [v.ref for v in chosen]
    frame = pd.concat([datasets.load_frame(ctx, v) for v in chosen], ignore_index=True)
    name = check_name(plan.dataset + COMBINED_SUFFIX)
    added = datasets.add(ctx, frame, name, description=(
        f"{', '.join(refs)} combined to retrain {model} (trigger #{trigger_id})"))
    combined = added.version
    return {"dataset": combined.name, "version": combined.version,
            "content_hash": combined.content_hash, "rows": combined.rows,
            "combined_from": refs}


def _validate(ctx: Context, version: DatasetVersion,
              schema: StoredSchema | None) -> dict[str, Any]:
    if schema is None:
        return {"schema": None, "ok": None, "summary": "no schema for this dataset",
                "validation_id": None}
    report, stored = validate_version(ctx, version, schema)
    return {"schema": schema.label, "schema_sha256": schema.content_hash, "ok": report.ok,
            "errors": len(report.errors), "warnings": len(report.warnings),
            "summary": summary_line(report), "validation_id": stored.id}


def run_name(model: str, trigger_id: int) -> str:
    """The name of a retraining's run: its lineage back to the trigger.

    >>> run_name("credit", 7)
    'retrain-credit-trigger-7'
    """
    name = f"retrain-{model}-trigger-{trigger_id}"
    limit = max_length("runs.name")
    return name if len(name) <= limit else f"retrain-trigger-{trigger_id}"


def _train(ctx: Context, config: TrainingConfig, model: str, trigger_id: int,
           progress: _Renewing) -> dict[str, Any]:
    # The training section as this pipeline resolved it (its version, nothing registered).
    scoped = dataclasses.replace(
        ctx, config=ctx.config.model_copy(update={"training": config}))
    result = train(scoped, name=run_name(model, trigger_id), progress=progress)
    return {"run_id": result.run.id, "run_name": result.run.name,
            "dataset": f"{config.dataset}@{config.version}",
            "metrics": result.run.metrics.get("test") or result.run.metrics.get("validation")}


def _register(ctx: Context, run_id: str, model: str) -> dict[str, Any]:
    registration = register(ctx, run_id, model)
    return {"version": registration.version.version, "created": registration.created}


def _promote(ctx: Context, model: str, version: int, environment: str,
             trigger_id: int) -> dict[str, Any]:
    reason = f"retraining of {model} for trigger #{trigger_id}"
    try:
        done = release.promote(ctx, model, version, environment, reason=reason)
    except GatesFailed as exc:
        failed = exc.request
        return {"outcome": "failed", "environment": environment, "reason": str(exc),
                "request_id": None if failed is None else failed.id, "deployment_id": None}
    if isinstance(done, Deployment):
        return {"outcome": "deployed", "environment": environment,
                "request_id": done.request_id, "deployment_id": done.id, "reason": None}
    return {"outcome": "requested", "environment": environment, "request_id": done.id,
            "deployment_id": None, "reason": None}


class _Renewing:
    """Training progress that renews the train step's claim at each of its steps (loading,
    fitting, evaluating, saving), so a long fit keeps its lease."""

    def __init__(self, run: _Run) -> None:
        self.run = run

    @contextmanager
    def step(self, description: str) -> Iterator[None]:
        self.run.renew()
        yield


# -- running and storing steps -----------------------------------------------------------


class _Run:
    """One call of :func:`retrain`: the steps done so far, and how each is claimed, reused
    or stored."""

    def __init__(self, ctx: Context, model: str, trigger_id: int, owner: str) -> None:
        self.ctx, self.model, self.trigger_id, self.owner = ctx, model, trigger_id, owner
        self.lease = ctx.config.automation.agent.lease_seconds
        self.steps: list[StepOutcome] = []
        self.claim: str | None = None  # the claim of the step running now

    def renew(self) -> None:
        """Extend the lease on the running step's claim; a lost claim stops the step."""
        if self.claim is not None and not claims.renew(
                self.ctx, self.claim, owner=self.owner, lease_seconds=self.lease):
            raise ConflictError(
                f"The claim {self.claim!r} of the retraining of {self.model!r} passed to "
                "another agent while this one worked past its lease "
                "(automation.agent.lease_seconds); this agent stopped.")

    def step(self, step: PipelineStep, inputs: dict[str, Any],
             compute: Callable[[], dict[str, Any]]) -> StepOutcome:
        """The stored output of ``step`` for ``inputs``, else ``compute()`` run under its
        claim and stored."""
        key_hash = input_hash(inputs)
        outcome = self._stored(step, key_hash)
        if outcome is None:
            claim = f"step:{step}:{key_hash}"
            if not claims.claim(self.ctx, claim, owner=self.owner, lease_seconds=self.lease):
                outcome = self._stored(step, key_hash)  # finished meanwhile
                if outcome is None:
                    raise ConflictError(
                        f"Step {step} of the retraining of {self.model!r} is being run by "
                        f"another agent (claim {claim!r}); this step was not run. Run it again "
                        "later: a dead agent's claim is taken over after "
                        "automation.agent.lease_seconds.")
            else:
                self.claim = claim
                try:
                    output = compute()
                    outcome = self._store(step, key_hash, output)
                except BaseException:
                    claims.release(self.ctx, claim, owner=self.owner)
                    raise
                finally:
                    self.claim = None
                with contextlib.suppress(ConflictError):  # the output is stored: it stands
                    claims.finish(self.ctx, claim, owner=self.owner, outcome="stored")
        self.steps.append(outcome)
        return outcome

    def _stored(self, step: PipelineStep, key_hash: str) -> StepOutcome | None:
        with self.ctx.read() as session:
            row = session.execute(select(PipelineStepRow).where(
                PipelineStepRow.step == str(step),
                PipelineStepRow.input_hash == key_hash)).scalar_one_or_none()
        if row is None:
            return None
        return StepOutcome(step=step, reused=True, input_hash=key_hash,
                           output=json.loads(row.output))

    def _store(self, step: PipelineStep, key_hash: str,
               output: dict[str, Any]) -> StepOutcome:
        text = canonical_json(output)
        action = f"record step {step} of the retraining of {self.model!r}"
        with self.ctx.transaction(Permission.RUN_WRITE, action) as tx:
            row = tx.session.execute(select(PipelineStepRow).where(
                PipelineStepRow.step == str(step),
                PipelineStepRow.input_hash == key_hash)).scalar_one_or_none()
            if row is None:
                tx.session.add(PipelineStepRow(
                    trigger_id=self.trigger_id, step=str(step), input_hash=key_hash,
                    output=text, finished_at=self.ctx.clock()))
            else:  # stored by another agent whose claim had expired: its output stands
                text = row.output
        return StepOutcome(step=step, reused=False, input_hash=key_hash,
                           output=json.loads(text))

    def finish(self, trigger: TriggerRow, status: PipelineStatus, *, version: int | None = None,
               request_id: int | None = None, reason: str | None = None) -> PipelineResult:
        """The result, with its ``automation.retrain`` event recorded once per trigger and
        outcome (a re-run that ends the same way records nothing more)."""
        result = PipelineResult(trigger_id=self.trigger_id, model=self.model,
                                steps=list(self.steps), version=version,
                                request_id=request_id, status=status, reason=reason)
        key_hash = input_hash({"trigger_id": self.trigger_id, "model": self.model,
                               "steps": [[s.step, s.input_hash] for s in self.steps],
                               "status": status})
        action = f"record the retraining of {self.model!r} for trigger #{self.trigger_id}"
        with self.ctx.transaction(Permission.RUN_WRITE, action) as tx:
            done = tx.session.execute(select(PipelineStepRow.id).where(
                PipelineStepRow.step == _FINISHED,
                PipelineStepRow.input_hash == key_hash)).scalar_one_or_none()
            if done is None:
                tx.session.add(PipelineStepRow(
                    trigger_id=self.trigger_id, step=_FINISHED, input_hash=key_hash,
                    output=canonical_json(result.to_dict()), finished_at=self.ctx.clock()))
                tx.record("automation.retrain", f"model:{self.model}", {
                    "trigger_id": self.trigger_id, "monitor": trigger.monitor,
                    "monitor_result_id": trigger.monitor_result_id,
                    "source_file_id": trigger.source_file_id, "status": str(status),
                    "reason": reason, "version": version, "request_id": request_id,
                    "steps": [{"step": str(s.step), "reused": s.reused,
                               "input_hash": s.input_hash} for s in self.steps]})
        return result


_FINISHED = "finished"
"""The ``pipeline_steps`` row marking a pipeline's end, recorded with its audit event."""


__all__ = ["COMBINED_SUFFIX", "PipelineResult", "PipelineStatus", "PipelineStep",
           "StepOutcome", "input_hash", "retrain", "run_name"]
