"""Run tracking over the server: ``start_run`` and :class:`RemoteRun`, the live run.

A remote run executes here, on the client: it records this machine's environment, git
state, host and process, buffers step metrics as the local
:class:`~rasad.training.ActiveRun` does (``FLUSH_EVERY`` values or ``FLUSH_SECONDS``),
and sends each step to the server (:mod:`rasad.api.routes.tracking`). It has the local
handle's methods with the same checks and the same errors, so code written against
``project.start_run`` runs unchanged against ``Project.connect(url, token)``.
"""

from __future__ import annotations

import atexit
import json
import os
import tempfile
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rasad.errors import ConflictError, PermissionDenied, RasadError
from rasad.ledger import canonical_json
from rasad.remote.client import Client, segment
from rasad.training import Run, RunStatus
from rasad.training.environment import RunOrigin
from rasad.training.run import FLUSH_EVERY, FLUSH_SECONDS, check_metric
from rasad.training.tracking import ERROR_LENGTH, StoredModel

if TYPE_CHECKING:
    from rasad.datasets import DatasetVersion


def _clean(value: Any) -> Any:
    """``value`` as JSON data, the way the local run stores it (NaN as null, NumPy
    scalars as numbers)."""
    return json.loads(canonical_json(value))


class RemoteRun:
    """A run in progress here, tracked on the server. Use it as a context manager: an
    exception marks it failed.

    Parameters
    ----------
    client : Client
        The server's client.
    run : Run
        The run record the server opened.
    """

    def __init__(self, client: Client, run: Run) -> None:
        self.client = client
        self.id = run.id
        self.started = time.monotonic()
        self.params: dict[str, Any] = dict(run.params)
        self.metrics: dict[str, Any] = {}
        self.model_blob: str | None = None
        self.model_info: dict[str, Any] | None = None
        self._buffer: list[dict[str, Any]] = []
        self._next_step: dict[str, int] = {}
        self._last_flush = time.monotonic()
        self._closed = False

    def __repr__(self) -> str:
        return f"RemoteRun({self.id!r}, {self.client.url!r})"

    @property
    def _path(self) -> str:
        return f"/runs/{segment(self.id)}"

    # -- logging ---------------------------------------------------------------------------

    def log_metric(self, key: str, value: float, step: int | None = None) -> None:
        """Record ``value`` of ``key`` at ``step`` (default: the next step for that key)."""
        self._require_open()
        number = check_metric(key, value)
        if step is None:
            step = self._next_step.get(key, 0)
        self._next_step[key] = int(step) + 1
        self._buffer.append({"key": key, "value": number, "step": int(step),
                             "logged_at": time.time()})
        self.metrics[key] = number
        if len(self._buffer) >= FLUSH_EVERY or time.monotonic() - self._last_flush > FLUSH_SECONDS:
            self.flush()

    def log_metrics(self, values: dict[str, float], step: int | None = None) -> None:
        for key, value in values.items():
            self.log_metric(key, value, step)

    def log_params(self, params: dict[str, Any]) -> None:
        self._require_open()
        run = Run.from_dict(self.client.post(f"{self._path}/params", {"params": _clean(params)}))
        self.params = dict(run.params)

    def set_summary_metrics(self, metrics: dict[str, Any]) -> None:
        """Final metrics (e.g. per split), stored on the run record when it ends."""
        self.metrics.update(_clean(metrics))

    def log_model(self, model: Any, sample: Any, *, target: str | None = None) -> str:
        """Store a fitted model in the run, as ``ActiveRun.log_model`` does.

        The model is saved here with skops and uploaded with ``sample`` (as Parquet); the
        server checks the types it holds against its trust policy before building
        anything, and a refused model raises
        :class:`~rasad.errors.UntrustedArtifactError` with nothing stored. Returns the
        artifact's sha256.
        """
        import pyarrow.parquet as pq

        from rasad.artifacts.skops import dump_model
        from rasad.tables import read_table

        self._require_open()
        table = read_table(sample)
        data, _ = dump_model(model)
        with tempfile.TemporaryDirectory(prefix="rasad-model-") as folder:
            model_file, sample_file = Path(folder) / "model.skops", Path(folder) / "sample.parquet"
            model_file.write_bytes(data)
            pq.write_table(table, sample_file)
            stored = StoredModel.from_dict(self.client.upload_files(
                f"{self._path}/model", {"model": model_file, "sample": sample_file},
                form={"target": target}))
        self.model_blob, self.model_info = stored.model_blob, stored.model_info
        return self.model_blob

    def use_dataset(self, version: DatasetVersion, role: str = "train") -> None:
        """Record that the run used a dataset version of the server (its lineage)."""
        self.client.post(f"{self._path}/datasets", {"dataset": version.ref, "role": role})

    def flush(self) -> None:
        """Send the buffered step metrics in one request."""
        self._last_flush = time.monotonic()
        if not self._buffer:
            return
        # Kept until the server took them: a refused or lost request can be sent again.
        self.client.post(f"{self._path}/metrics", {"metrics": self._buffer})
        self._buffer = []

    def history(self, key: str) -> list[tuple[int, float, float]]:
        """(step, value, time) for ``key``, in step order."""
        self.flush()
        found = self.client.get(f"{self._path}/metrics", {"key": key})
        return [(int(p["step"]), float(p["value"]), float(p["logged_at"])) for p in found]

    # -- closing ---------------------------------------------------------------------------

    def finish(self) -> Run:
        return self._close(RunStatus.FINISHED, None)

    def fail(self, error: str) -> Run:
        return self._close(RunStatus.FAILED, error)

    def __enter__(self) -> RemoteRun:
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
        try:
            self.flush()
        except PermissionDenied:  # an invalid token too: the run stays open, as locally
            raise
        except RasadError as exc:  # the run still gets closed, with the reason
            status, error = RunStatus.FAILED, f"{error or ''} (step metrics lost: {exc})".strip()
            self._buffer = []
        if error is not None:
            error = error.replace("\x00", "\\x00")
            if len(error) > ERROR_LENGTH:
                error = error[:ERROR_LENGTH - 1] + "…"
        body = {"status": str(status), "error": error, "metrics": self.metrics,
                "duration_s": round(time.monotonic() - self.started, 6)}
        closed = Run.from_dict(self.client.post(f"{self._path}/end", body))
        self._closed = True
        atexit.unregister(self._abandon)
        return closed

    def _abandon(self) -> None:
        if not self._closed:
            try:
                self.fail("The Python process exited before the run was finished.")
            except Exception:  # at interpreter exit nothing more can be done
                traceback.print_exc()

    def _require_open(self) -> None:
        if self._closed:
            raise ConflictError(f"Run {self.id} is closed; start a new run to log more.")


class RunVerbs:
    """``start_run``; mixed into :class:`~rasad.remote.project.RemoteProject`."""

    client: Client

    def start_run(self, name: str | None = None, *, params: dict[str, Any] | None = None,
                  seed: int | None = None) -> RemoteRun:
        """Start a run that executes here and is tracked on the server: its record holds
        this machine's environment and git state (of the working directory)."""
        origin = RunOrigin.here(Path(os.getcwd()))
        body = {"name": name, "params": _clean(params or {}), "seed": seed,
                "environment": origin.environment, "code_version": origin.code_version,
                "host": origin.host, "pid": origin.pid}
        active = RemoteRun(self.client, Run.from_dict(self.client.post("/tracked-runs", body)))
        atexit.register(active._abandon)
        return active


__all__ = ["RemoteRun", "RunVerbs"]
