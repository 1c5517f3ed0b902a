"""Run tracking for a client that trains on its own machine (``Project.start_run`` over the
server): start a run, then log parameters, step metrics, a model and datasets to it, and
end it.

The client holds the live run (:class:`rasad.remote.RemoteRun`), buffers step metrics as
the local handle does, and sends each step here; the services
(:mod:`rasad.training.tracking`) write what the local handle writes at the same point.
Only the principal who started a run may write to it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import Response
from pydantic import Field, StringConstraints

from rasad.api.auth import ContextDep
from rasad.api.bodies import NO_NUL, TextPath, respond
from rasad.api.routes.datasets import _file_name
from rasad.results import Result
from rasad.training import Run, RunStatus, tracking
from rasad.training import run as runs
from rasad.training.environment import RunOrigin
from rasad.training.tracking import ERROR_LENGTH, StepMetric, StoredModel

router = APIRouter(tags=["tracking"])

Short = Annotated[str, StringConstraints(pattern=NO_NUL, max_length=200)]
MetricKey = Annotated[str, StringConstraints(pattern=NO_NUL, min_length=1, max_length=250)]
ErrorText = Annotated[str, StringConstraints(pattern=NO_NUL, max_length=ERROR_LENGTH)]
INT32: int = 2**31 - 1
INT64: int = 2**63 - 1


class RunStart(Result):
    """A run to start (``Project.start_run``), with where it executes: the client's
    environment and code version (its reproducibility record) and its host and process."""

    name: Short | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    seed: int | None = Field(default=None, ge=-INT32, le=INT32)
    environment: dict[str, Any] = Field(default_factory=dict, description=(
        "Python, platform and package versions where the run executes."))
    code_version: dict[str, Any] = Field(default_factory=dict, description=(
        "The git commit and dirty flag of the client's checkout; {} outside git."))
    host: Short = Field(min_length=1)
    pid: int = Field(ge=0, le=INT32)


class Params(Result):
    """Parameters to merge into the run's (``run.log_params``)."""

    params: dict[str, Any]


class StepBody(Result):
    """One value of a metric at a step (``run.log_metric``)."""

    key: MetricKey
    value: float
    step: int = Field(ge=-INT64 - 1, le=INT64)
    logged_at: float


class Steps(Result):
    """A batch of step metrics, as the client's run flushes them."""

    metrics: list[StepBody] = Field(max_length=100_000)


class Logged(Result):
    """How many step metrics were written."""

    logged: int


class DatasetUse(Result):
    """A dataset version the run used (``run.use_dataset``): lineage."""

    dataset: Annotated[str, StringConstraints(pattern=NO_NUL, min_length=1, max_length=300)]
    role: Annotated[str, StringConstraints(pattern=NO_NUL, min_length=1, max_length=50)] = \
        "train"


class RunEnd(Result):
    """End the run: finished, or failed with the error (``run.finish``, ``run.fail``), with
    its final metrics and how long it ran on the client."""

    status: Literal["finished", "failed"]
    error: ErrorText | None = None
    metrics: dict[str, Any] = Field(default_factory=dict)
    duration_s: float = Field(ge=0.0)


@router.post("/tracked-runs", status_code=201, response_model=Run)
def start(ctx: ContextDep, body: RunStart) -> Response:
    """Start a run that the client executes and logs to (status ``running``).
    ``Project.start_run``."""
    origin = RunOrigin(environment=body.environment, code_version=body.code_version,
                       host=body.host, pid=body.pid)
    run = runs.open_record(ctx, body.name, params=body.params, seed=body.seed, origin=origin)
    return respond(run, 201)


@router.post("/runs/{run_id}/params", response_model=Run)
def log_params(ctx: ContextDep, run_id: TextPath, body: Params) -> Response:
    """Merge parameters into a running run's. ``run.log_params``."""
    tracking.log_params(ctx, run_id, body.params)
    return respond(runs.get(ctx, run_id, reconcile_first=False))


@router.post("/runs/{run_id}/metrics", response_model=Logged)
def log_metrics(ctx: ContextDep, run_id: TextPath, body: Steps) -> Response:
    """Write a batch of step metrics to a running run. ``run.log_metric`` (flushed)."""
    steps = [StepMetric(key=s.key, value=s.value, step=s.step, logged_at=s.logged_at)
             for s in body.metrics]
    return respond(Logged(logged=tracking.log_steps(ctx, run_id, steps)))


@router.get("/runs/{run_id}/metrics", response_model=list[StepMetric])
def history(ctx: ContextDep, run_id: TextPath,
            key: Annotated[MetricKey, Query(description="The metric's key.")]) -> Response:
    """A metric's values in step order. ``run.history(key)``."""
    return respond(tracking.history(ctx, run_id, key))


@router.post("/runs/{run_id}/model", status_code=201, response_model=StoredModel)
def log_model(
    ctx: ContextDep,
    run_id: TextPath,
    model: Annotated[UploadFile, File(description="The fitted model, saved with skops.")],
    sample: Annotated[UploadFile, File(description=(
        "Rows of the model's input columns (Parquet, CSV or TSV, by suffix): their kinds "
        "and categories become the signature scoring checks."))],
    target: Annotated[Short | None, Form()] = None,
) -> Response:
    """Store a fitted model in a running run, checked by the server's trust policy before
    anything is built. ``run.log_model``."""
    from rasad.tables import read_table

    data = model.file.read()
    with tempfile.TemporaryDirectory(prefix="rasad-sample-") as folder:
        path = Path(folder) / _file_name(sample.filename)
        path.write_bytes(sample.file.read())
        table = read_table(path)
    return respond(tracking.store_model(ctx, run_id, data, table, target=target), 201)


@router.post("/runs/{run_id}/datasets", status_code=201, response_model=Run)
def use_dataset(ctx: ContextDep, run_id: TextPath, body: DatasetUse) -> Response:
    """Record a dataset version (``NAME@VERSION``) the run used. ``run.use_dataset``."""
    tracking.use_dataset(ctx, run_id, body.dataset, body.role)
    return respond(runs.get(ctx, run_id, reconcile_first=False), 201)


@router.post("/runs/{run_id}/end", response_model=Run)
def end(ctx: ContextDep, run_id: TextPath, body: RunEnd) -> Response:
    """End a running run, sealing its step metrics and model in the closing audit event.
    ``run.finish``, ``run.fail``."""
    closed = tracking.close(ctx, run_id, status=RunStatus(body.status), error=body.error,
                            metrics=body.metrics, duration_s=body.duration_s)
    return respond(closed)


__all__ = ["DatasetUse", "Logged", "Params", "RunEnd", "RunStart", "StepBody", "Steps",
           "router"]
