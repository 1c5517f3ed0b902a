"""Tracking a run by its id, for a live run held elsewhere: the management API's side.

:class:`~rasad.training.run.ActiveRun` is the live run of a process that holds the
project's context. A client of ``rasad server`` holds its live run on its own machine
(:class:`rasad.remote.RemoteRun`) and sends each step here by the run's id; each function
writes what the local handle writes at the same point, with the same checks:

- :func:`log_params`: parameters, merged into the run's (``log_params``);
- :func:`log_steps`: a batch of step metrics (the local handle's ``flush``);
- :func:`store_model`: a fitted model's skops bytes, checked by the trust policy before
  anything is built, then loaded to describe it (``log_model``);
- :func:`use_dataset`: a dataset version the run read (lineage);
- :func:`close`: finished or failed, sealing the step metrics and the model in the
  closing audit event, as locally.

Each needs ``run.write``, and the run must be running and started by the same principal:
a token cannot write into someone else's run. Every check and write of a step happens
under the write lock, so no step lands after the run's closing event sealed its count.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import insert, select, update

from rasad.errors import (
    ConflictError,
    InputError,
    IntegrityError,
    PermissionDenied,
    UntrustedArtifactError,
)
from rasad.identity import Permission
from rasad.ledger import canonical_json
from rasad.names import parse_ref
from rasad.results import Result
from rasad.store._tables import DatasetVersionRow, RunDatasetRow, RunRow, StepMetricRow
from rasad.store.lineage import run_row
from rasad.training.run import (
    Closing,
    Run,
    RunStatus,
    check_metric,
    describe_model,
    get,
    metric_history,
    session_metrics_digest,
    write_close,
)

if TYPE_CHECKING:
    import pyarrow as pa
    from sqlalchemy.orm import Session

    from rasad.core import Context


ERROR_LENGTH: Final = 20_000
"""The longest failure message a tracked run's end carries (a client shortens longer ones)."""


class StepMetric(Result):
    """One logged value of a metric: ``key`` at ``step``, logged at ``logged_at`` (epoch
    seconds, the logging process's clock)."""

    key: str
    value: float
    step: int
    logged_at: float


class StoredModel(Result):
    """A model stored in a running run: its artifact's sha256 and the run's ``model_info``."""

    model_blob: str
    model_info: dict[str, Any]


def _writable(session: Session, ctx: Context, run_id: str, action: str) -> RunRow:
    """The run's row, if it is running and the acting principal started it."""
    row = run_row(session, run_id)
    if row.status != RunStatus.RUNNING:
        raise ConflictError(f"Run {row.id} is closed; start a new run to log more.")
    if row.created_by != ctx.actor:
        raise PermissionDenied(
            f"{ctx.actor!r} cannot {action}: run {row.id} was started by {row.created_by!r}, "
            "and only the principal who started a run logs to it or closes it. Start your "
            "own run.")
    return row


def log_params(ctx: Context, run_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """Merge ``params`` into a running run's parameters; returns them all.

    Raises
    ------
    ConflictError
        If the run is closed.
    """
    action = f"log parameters to run {run_id}"
    ctx.require(Permission.RUN_WRITE, action)
    clean = json.loads(canonical_json(params))
    with ctx.transaction(Permission.RUN_WRITE, action) as tx:
        row = _writable(tx.session, ctx, run_id, action)
        merged: dict[str, Any] = json.loads(row.params) | clean
        tx.session.execute(update(RunRow).where(RunRow.id == row.id).values(
            params=canonical_json(merged)))
    return merged


def log_steps(ctx: Context, run_id: str, steps: Sequence[StepMetric]) -> int:
    """Write a batch of step metrics to a running run; returns how many.

    Raises
    ------
    InputError
        If a key is empty or too long, or a value or time is not finite (nothing is
        written).
    ConflictError
        If the run is closed.
    """
    action = f"log metrics to run {run_id}"
    ctx.require(Permission.RUN_WRITE, action)
    rows = []
    for step in steps:
        if not math.isfinite(step.logged_at):
            raise InputError(f"Metric {step.key!r} was logged at {step.logged_at!r}; give "
                             "the time as finite epoch seconds.")
        rows.append({"key": step.key, "value": check_metric(step.key, step.value),
                     "step": int(step.step), "logged_at": float(step.logged_at)})
    with ctx.transaction(Permission.RUN_WRITE, action) as tx:
        row = _writable(tx.session, ctx, run_id, action)
        if rows:
            tx.session.execute(insert(StepMetricRow), [{"run_id": row.id, **r} for r in rows])
    return len(rows)


def history(ctx: Context, run_id: str, key: str) -> list[StepMetric]:
    """The values of ``key`` in run ``run_id``, in step order. Needs ``read``."""
    run = get(ctx, run_id, reconcile_first=False)
    return [StepMetric(key=key, value=value, step=step, logged_at=logged)
            for step, value, logged in metric_history(ctx, run.id, key)]


def store_model(ctx: Context, run_id: str, data: bytes, sample: pa.Table, *,
                target: str | None) -> StoredModel:
    """Store a fitted model's skops bytes in a running run, as ``log_model`` does locally.

    The type names the bytes hold must pass the trust policy before anything is built;
    then the model is loaded (building only those types) to read its task and classes.
    ``sample`` holds the model's input columns: their kinds and categories become the
    signature scoring checks. The run's row points at the model from now on, and its
    closing event seals it.

    Raises
    ------
    InputError
        If ``data`` is not a skops archive.
    UntrustedArtifactError
        If it holds a type the trust policy refuses (nothing is stored).
    ConflictError
        If the run is closed.
    """
    from rasad.artifacts.skops import check_trusted, load_model, untrusted_types

    action = f"store a model in run {run_id}"
    ctx.require(Permission.RUN_WRITE, action)
    with ctx.db.read() as session:
        _writable(session, ctx, run_id, action)
    try:
        untrusted = untrusted_types(data)
    except IntegrityError:
        raise InputError(f"The uploaded model ({len(data)} bytes) is not a skops archive; "
                         "rasad reads models only in the skops format (`run.log_model` "
                         "saves them so).") from None
    user_trusted = ctx.config.registry.trusted_types
    check_trusted(untrusted, user_trusted)
    try:
        model = load_model(data, untrusted, user_trusted)
    except (UntrustedArtifactError, IntegrityError):
        raise
    except Exception as error:  # only trusted types are built, but the archive is a stranger's
        raise InputError(f"skops could not load the uploaded model ({type(error).__name__}: "
                         f"{error}); save the fitted model with skops.io.dump.") from None
    info = describe_model(model, sample, target=target, untrusted=untrusted,
                          size_bytes=len(data))
    blob = ctx.artifacts.put_bytes(data)
    with ctx.transaction(Permission.RUN_WRITE, action) as tx:
        row = _writable(tx.session, ctx, run_id, action)
        tx.session.execute(update(RunRow).where(RunRow.id == row.id).values(
            model_blob=blob, model_info=canonical_json(info)))
    return StoredModel(model_blob=blob, model_info=info)


def use_dataset(ctx: Context, run_id: str, dataset: str, role: str = "train") -> None:
    """Record that run ``run_id`` used dataset version ``NAME[@VERSION]`` (its lineage).

    Raises
    ------
    NotFoundError
        If there is no such dataset version.
    ConflictError
        If the run is closed.
    """
    from rasad.datasets import service as datasets

    name, number = parse_ref(dataset)
    version = datasets.get(ctx, name, number)
    action = f"record a dataset of run {run_id}"
    with ctx.transaction(Permission.RUN_WRITE, action) as tx:
        row = _writable(tx.session, ctx, run_id, action)
        version_id = tx.session.execute(select(DatasetVersionRow.id).where(
            DatasetVersionRow.name == version.name,
            DatasetVersionRow.version == version.version)).scalar_one()
        if tx.session.get(RunDatasetRow, (row.id, version_id)) is not None:
            raise ConflictError(f"Run {row.id} records {version.ref} already.")
        tx.session.add(RunDatasetRow(run_id=row.id, dataset_version_id=version_id, role=role))
        tx.record("run.use_dataset", f"run:{row.id}",
                  {"dataset": version.ref, "content_hash": version.content_hash,
                   "role": role})


def close(ctx: Context, run_id: str, *, status: RunStatus, error: str | None,
          metrics: dict[str, Any], duration_s: float) -> Run:
    """Close a running run with its final metrics (the latest value of each, and the
    summary), sealing its step metrics and model in the closing event (``run.finish`` or
    ``run.fail``), as locally.

    Raises
    ------
    InputError
        If ``status`` is ``running`` or the duration is not a finite, non-negative number.
    ConflictError
        If the run is closed already.
    """
    if status is RunStatus.RUNNING:
        raise InputError("A run closes as finished or failed, not running.")
    if not math.isfinite(duration_s) or duration_s < 0:
        raise InputError(f"Run duration {duration_s!r} must be 0 or more seconds.")
    action = f"close run {run_id}"
    ctx.require(Permission.RUN_WRITE, action)
    with ctx.transaction(Permission.RUN_WRITE, action) as tx:
        row = _writable(tx.session, ctx, run_id, action)
        digest, count = session_metrics_digest(tx.session, row.id)
        write_close(tx, ctx, row.id, Closing(
            status=status, error=error, params=json.loads(row.params), metrics=metrics,
            model_blob=row.model_blob,
            model_info=json.loads(row.model_info) if row.model_info else None,
            duration_s=duration_s), digest=digest, count=count)
        closed = row.id
    return get(ctx, closed, reconcile_first=False)



__all__ = ["ERROR_LENGTH", "StepMetric", "StoredModel", "close", "history", "log_params",
           "log_steps", "store_model", "use_dataset"]
