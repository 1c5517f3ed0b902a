"""Training runs: the stored record (:class:`Run`) and the live handle (:class:`ActiveRun`)."""

from __future__ import annotations

import atexit
import enum
import json
import math
import os
import socket
import time
import traceback
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update

from rasad.errors import ConflictError, InputError
from rasad.identity import Permission
from rasad.ledger import canonical_json
from rasad.ledger.replay import step_metrics_digest
from rasad.results import Result
from rasad.store._tables import RunDatasetRow, RunRow, StepMetricRow
from rasad.store.lineage import run_datasets, run_row
from rasad.training.environment import RunOrigin

if TYPE_CHECKING:
    import pyarrow as pa
    from sqlalchemy.orm import Session

    from rasad.core import Context
    from rasad.datasets import DatasetVersion
    from rasad.ledger import Tx

FLUSH_EVERY = 1000
FLUSH_SECONDS = 5.0


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


class Run(Result):
    """A training run as stored."""

    id: str
    name: str | None
    status: RunStatus
    params: dict[str, Any]
    metrics: dict[str, Any]
    environment: dict[str, Any]
    code_version: dict[str, Any]
    seed: int | None
    datasets: list[dict[str, Any]]
    model_blob: str | None
    model_info: dict[str, Any] | None
    error: str | None
    host: str
    pid: int
    created_by: str
    started_at: str
    ended_at: str | None
    duration_s: float | None

    @classmethod
    def from_row(cls, row: RunRow, datasets: list[dict[str, Any]]) -> Run:
        return cls(
            id=row.id, name=row.name, status=RunStatus(row.status),
            params=json.loads(row.params), metrics=json.loads(row.metrics),
            environment=json.loads(row.environment), code_version=json.loads(row.code_version),
            seed=row.seed, datasets=datasets, model_blob=row.model_blob,
            model_info=json.loads(row.model_info) if row.model_info else None,
            error=row.error, host=row.host, pid=row.pid, created_by=row.created_by,
            started_at=row.started_at, ended_at=row.ended_at, duration_s=row.duration_s,
        )


@dataclass
class ActiveRun:
    """A run in progress. Use it as a context manager: an exception marks it failed.

    Step metrics are buffered and written in batches of ``FLUSH_EVERY`` (or every
    ``FLUSH_SECONDS``); the run's closing audit event seals their count and digest.

    >>> import tempfile
    >>> from rasad import Project
    >>> project = Project.init(tempfile.mkdtemp(), name="demo")
    >>> with project.start_run("sweep", params={"lr": 0.1}) as run:
    ...     for step in range(3):
    ...         run.log_metric("loss", 1.0 / (step + 1), step=step)
    >>> stored = project.run(run.id)
    >>> str(stored.status), stored.metrics["loss"], [v for _, v, _ in run.history("loss")]
    ('finished', 0.3333333333333333, [1.0, 0.5, 0.3333333333333333])
    """

    ctx: Context
    id: str
    started: float
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    model_blob: str | None = None
    model_info: dict[str, Any] | None = None
    _buffer: list[dict[str, Any]] = field(default_factory=list)
    _next_step: dict[str, int] = field(default_factory=dict)
    _last_flush: float = 0.0
    _logged: int = 0
    _closed: bool = False

    # -- logging ---------------------------------------------------------------------------

    def log_metric(self, key: str, value: float, step: int | None = None) -> None:
        """Record ``value`` of ``key`` at ``step`` (default: the next step for that key)."""
        self._require_open()
        number = check_metric(key, value)
        if step is None:
            step = self._next_step.get(key, 0)
        self._next_step[key] = int(step) + 1
        self._buffer.append({"run_id": self.id, "key": key, "value": number,
                             "step": int(step), "logged_at": time.time()})
        self.metrics[key] = number
        if len(self._buffer) >= FLUSH_EVERY or time.monotonic() - self._last_flush > FLUSH_SECONDS:
            self.flush()

    def log_metrics(self, values: dict[str, float], step: int | None = None) -> None:
        for key, value in values.items():
            self.log_metric(key, value, step)

    def log_params(self, params: dict[str, Any]) -> None:
        self._require_open()
        self.params.update(json.loads(canonical_json(params)))

    def set_summary_metrics(self, metrics: dict[str, Any]) -> None:
        """Final metrics (e.g. per split), stored on the run record."""
        self.metrics.update(json.loads(canonical_json(metrics)))

    def log_model(self, model: Any, sample: Any, *, target: str | None = None) -> str:
        """Store a fitted model built outside ``rasad train`` (for example a mitigated one).

        ``sample`` is a DataFrame of the model's input columns (training rows); its
        kinds, dtypes and categories become the signature scoring checks. The model is
        saved with skops; registering the run then works as for a trained pipeline.
        A model holding a type the trust policy refuses (see ``docs/model-trust.md``)
        raises :class:`~rasad.errors.UntrustedArtifactError` and nothing is stored.
        Returns the artifact's sha256.
        """
        from rasad.artifacts.skops import check_trusted, dump_model
        from rasad.tables import read_table

        self._require_open()
        self.ctx.require(Permission.RUN_WRITE, f"store a model in run {self.id}")
        table = read_table(sample)
        data, untrusted = dump_model(model)
        check_trusted(untrusted, self.ctx.config.registry.trusted_types)
        self.model_blob = self.ctx.artifacts.put_bytes(data)
        self.model_info = describe_model(model, table, target=target, untrusted=untrusted,
                                         size_bytes=len(data))
        return self.model_blob

    def flush(self) -> None:
        """Write the buffered step metrics in one statement."""
        self._last_flush = time.monotonic()
        if not self._buffer:
            return
        self.ctx.require(Permission.RUN_WRITE, f"log metrics to run {self.id}")
        batch, self._buffer = self._buffer, []
        with self.ctx.db.write_engine.begin() as conn:  # one executemany, no ORM
            conn.execute(insert(StepMetricRow), batch)
        self._logged += len(batch)

    def history(self, key: str) -> list[tuple[int, float, float]]:
        """(step, value, time) for ``key``, in step order."""
        self.flush()
        return metric_history(self.ctx, self.id, key)

    # -- closing ---------------------------------------------------------------------------

    def finish(self) -> Run:
        return self._close(RunStatus.FINISHED, None)

    def fail(self, error: str) -> Run:
        return self._close(RunStatus.FAILED, error)

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if self._closed:
            return
        if exc is None:
            self.finish()
        else:
            self.fail(f"{type(exc).__name__}: {exc}".strip())

    def _close(self, status: RunStatus, error: str | None) -> Run:
        self._require_open()
        action = f"close run {self.id}"
        self.ctx.require(Permission.RUN_WRITE, action)  # refused: the run stays open
        try:
            self.flush()
        except Exception as exc:  # the run still gets closed, with the reason
            status, error = RunStatus.FAILED, f"{error or ''} (step metrics lost: {exc})".strip()
        self._closed = True
        atexit.unregister(self._abandon)
        digest, count = metrics_digest(self.ctx, self.id)
        duration = round(time.monotonic() - self.started, 6)
        with self.ctx.transaction(Permission.RUN_WRITE, action) as tx:
            write_close(tx, self.ctx, self.id, Closing(
                status=status, error=error, params=self.params, metrics=self.metrics,
                model_blob=self.model_blob, model_info=self.model_info, duration_s=duration),
                digest=digest, count=count)
        return get(self.ctx, self.id, reconcile_first=False)

    def _abandon(self) -> None:
        if not self._closed:
            try:
                self.fail("The Python process exited before the run was finished.")
            except Exception:  # at interpreter exit nothing more can be done
                traceback.print_exc()

    def _require_open(self) -> None:
        if self._closed:
            raise ConflictError(f"Run {self.id} is closed; start a new run to log more.")

    def use_dataset(self, version: DatasetVersion, role: str = "train") -> None:
        with self.ctx.transaction(Permission.RUN_WRITE,
                                  f"record a dataset of run {self.id}") as tx:
            tx.session.add(RunDatasetRow(run_id=self.id, dataset_version_id=version.id,
                                         role=role))
            tx.record("run.use_dataset", f"run:{self.id}",
                      {"dataset": version.ref, "content_hash": version.content_hash,
                       "role": role})


def start(ctx: Context, name: str | None = None, *, params: dict[str, Any] | None = None,
          seed: int | None = None, extra_packages: tuple[str, ...] = ()) -> ActiveRun:
    """Open a new run record (status running) and return its live handle.

    Needs ``run.write``, and so do logging to it and closing it.
    """
    ctx.require(Permission.RUN_WRITE, "start a run" if name is None else f"start run {name!r}")
    run = open_record(ctx, name, params=params, seed=seed,
                      origin=RunOrigin.here(ctx.root, extra_packages))
    active = ActiveRun(ctx, run.id, time.monotonic(), params=run.params,
                       _last_flush=time.monotonic())
    atexit.register(active._abandon)
    return active


def open_record(ctx: Context, name: str | None = None, *,
                params: dict[str, Any] | None = None, seed: int | None = None,
                origin: RunOrigin) -> Run:
    """Write a new run record (status running) for a run executing at ``origin``.

    :func:`start` records this process; the management API records the client's process,
    where a remote run executes. Needs ``run.write``.
    """
    action = "start a run" if name is None else f"start run {name!r}"
    ctx.require(Permission.RUN_WRITE, action)
    run_id = uuid.uuid4().hex
    clean_params = json.loads(canonical_json(params or {}))
    code = origin.code_version
    with ctx.transaction(Permission.RUN_WRITE, action) as tx:
        tx.session.add(RunRow(
            id=run_id, name=name, status=str(RunStatus.RUNNING),
            params=canonical_json(clean_params), metrics="{}",
            environment=canonical_json(origin.environment), code_version=canonical_json(code),
            seed=seed, host=origin.host, pid=origin.pid, created_by=tx.actor,
            started_at=ctx.clock()))
        tx.record("run.start", f"run:{run_id}", {"name": name, "params": clean_params,
                                                 "seed": seed, "code_version": code})
    return get(ctx, run_id, reconcile_first=False)


def check_metric(key: str, value: float) -> float:
    """``value`` as the float stored for metric ``key``.

    >>> check_metric("loss", 1)
    1.0
    >>> check_metric("loss", float("inf"))
    Traceback (most recent call last):
    ...
    rasad.errors.InputError: Metric 'loss' got inf; only finite numbers are stored.

    Raises
    ------
    InputError
        If the key is empty or longer than 250 characters, or the value is not finite.
    """
    if not key or len(key) > 250:
        raise InputError(f"Metric key {key!r} must be 1 to 250 characters long.")
    number = float(value)
    if not math.isfinite(number):
        raise InputError(f"Metric {key!r} got {value!r}; only finite numbers are stored.")
    return number


def describe_model(model: Any, sample: pa.Table, *, target: str | None,
                   untrusted: list[str], size_bytes: int) -> dict[str, Any]:
    """The run's ``model_info`` for a fitted model: task, classes, the input signature
    scoring checks (from ``sample``, a table of the model's input columns), estimator, and
    the untrusted type names its skops bytes hold."""
    from rasad.evaluation.metrics import Task
    from rasad.tables import infer_kinds
    from rasad.tables.signature import Signature

    kinds = infer_kinds(sample)
    frame = sample.to_pandas()
    classes = getattr(model, "classes_", None)
    task = Task.CLASSIFICATION if classes is not None else Task.REGRESSION
    return {
        "task": str(task), "target": target, "features": list(frame.columns),
        "classes": [c.item() if hasattr(c, "item") else c for c in classes]
        if classes is not None else None,
        "signature": Signature.from_frame(frame, kinds).to_dict(),
        "untrusted_types": untrusted, "estimator": f"{type(model).__module__}."
        f"{type(model).__qualname__}", "size_bytes": size_bytes,
    }


@dataclass(frozen=True)
class Closing:
    """What closing a run writes: its end state and the values its live handle held."""

    status: RunStatus
    error: str | None
    params: dict[str, Any]
    metrics: dict[str, Any]
    model_blob: str | None
    model_info: dict[str, Any] | None
    duration_s: float


def write_close(tx: Tx, ctx: Context, run_id: str, closing: Closing, *, digest: str,
                count: int) -> None:
    """Close run ``run_id`` in ``tx``: its row, and the event sealing its model and its
    ``count`` step metrics (their ``digest``, as :func:`metrics_digest` computes it)."""
    status = closing.status
    tx.session.execute(update(RunRow).where(RunRow.id == run_id).values(
        status=str(status), params=canonical_json(closing.params),
        metrics=canonical_json(closing.metrics), model_blob=closing.model_blob,
        model_info=canonical_json(closing.model_info) if closing.model_info else None,
        error=closing.error, ended_at=ctx.clock(), duration_s=closing.duration_s))
    tx.record(f"run.{'finish' if status is RunStatus.FINISHED else 'fail'}",
              f"run:{run_id}", {
                  "status": str(status), "error": closing.error,
                  "duration_s": closing.duration_s, "metrics": closing.metrics,
                  "model_blob": closing.model_blob, "step_metrics": count,
                  "step_metrics_sha256": digest})


def metric_history(ctx: Context, run_id: str, key: str) -> list[tuple[int, float, float]]:
    with ctx.db.read() as session:
        rows = session.execute(
            select(StepMetricRow.step, StepMetricRow.value, StepMetricRow.logged_at)
            .where(StepMetricRow.run_id == run_id, StepMetricRow.key == key)
            .order_by(StepMetricRow.step, StepMetricRow.id)).all()
    return [(int(s), float(v), float(t)) for s, v, t in rows]


def metrics_digest(ctx: Context, run_id: str) -> tuple[str, int]:
    """sha256 over every step metric of a run (key, step, value), and their count: the
    digest ``audit verify`` recomputes (:func:`rasad.ledger.replay.step_metrics_digest`)."""
    with ctx.db.read() as session:
        return session_metrics_digest(session, run_id)


def session_metrics_digest(session: Session, run_id: str) -> tuple[str, int]:
    """:func:`metrics_digest`, read in ``session`` (a write transaction's, to seal them)."""
    rows = session.execute(
        select(StepMetricRow.key, StepMetricRow.step, StepMetricRow.value)
        .where(StepMetricRow.run_id == run_id)
        .order_by(StepMetricRow.key, StepMetricRow.step, StepMetricRow.id))
    return step_metrics_digest(rows)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reconcile(ctx: Context) -> int:
    """Mark failed every 'running' run of this host whose process is gone; returns how many.

    Only a principal with ``run.write`` does it (reading runs calls this first); for one
    without, stale runs keep showing 'running' until someone who may write reads them.
    """
    if not ctx.principal.can(Permission.RUN_WRITE):
        return 0
    host = socket.gethostname()
    with ctx.db.read() as session:
        stale = [(r.id, r.pid) for r in session.execute(
            select(RunRow).where(RunRow.status == str(RunStatus.RUNNING), RunRow.host == host)
        ).scalars() if not _pid_alive(r.pid)]
    for run_id, pid in stale:
        error = f"The process (pid {pid} on {host}) ended without finishing the run."
        with ctx.transaction(Permission.RUN_WRITE, f"mark run {run_id} failed") as tx:
            changed = tx.session.execute(  # type: ignore[attr-defined]
                update(RunRow).where(RunRow.id == run_id,
                                     RunRow.status == str(RunStatus.RUNNING))
                .values(status=str(RunStatus.FAILED), error=error, ended_at=ctx.clock())).rowcount
            if changed:
                tx.record("run.fail", f"run:{run_id}", {"status": "failed", "error": error})
    return len(stale)


def get(ctx: Context, run_id: str, *, reconcile_first: bool = True) -> Run:
    """The run ``run_id`` (or the one run whose id starts with it)."""
    ctx.require(Permission.READ, f"read run {run_id!r}")
    if reconcile_first:
        reconcile(ctx)
    with ctx.db.read() as session:
        row = run_row(session, run_id)
        return Run.from_row(row, run_datasets(session, [row.id])[row.id])


def list_runs(ctx: Context, status: str | None = None) -> list[Run]:
    ctx.require(Permission.READ, "list runs")
    reconcile(ctx)
    with ctx.db.read() as session:
        query = select(RunRow).order_by(RunRow.started_at.desc())
        if status:
            try:
                query = query.where(RunRow.status == str(RunStatus(status)))
            except ValueError:
                raise InputError(f"Run status {status!r} is not one of "
                                 f"{', '.join(s.value for s in RunStatus)}.") from None
        rows = session.execute(query).scalars().all()
        datasets = run_datasets(session, [r.id for r in rows])
        return [Run.from_row(r, datasets[r.id]) for r in rows]


@dataclass(frozen=True)
class RunComparison:
    """Runs side by side: their parameters and metrics, and which keys differ."""

    runs: list[Run]
    params: dict[str, list[Any]]
    metrics: dict[str, list[Any]]
    differing_params: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"runs": [r.id for r in self.runs], "params": self.params,
                "metrics": self.metrics, "differing_params": self.differing_params}


def _flatten(value: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, dict):
            out.update(_flatten(item, name + "."))
        else:
            out[name] = item
    return out


def compare(ctx: Context, run_ids: list[str]) -> RunComparison:
    if len(run_ids) < 2:
        raise InputError("Give at least two run ids to compare.")
    runs = [get(ctx, rid) for rid in run_ids]
    flat_params = [_flatten(r.params) for r in runs]
    flat_metrics = [_flatten(r.metrics) for r in runs]
    param_keys = sorted(set().union(*flat_params))
    metric_keys = sorted(set().union(*flat_metrics))
    params = {k: [p.get(k) for p in flat_params] for k in param_keys}
    metrics = {k: [m.get(k) for m in flat_metrics] for k in metric_keys}
    differing = [k for k, values in params.items() if len({json.dumps(v) for v in values}) > 1]
    return RunComparison(runs, params, metrics, differing)
