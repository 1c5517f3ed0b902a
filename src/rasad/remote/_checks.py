"""The check verbs of :class:`rasad.remote.RemoteProject`: drift, fairness, performance.

Each is one ``POST /checks/...`` on dataset versions the server holds, and reads the
answer back into what the :class:`rasad.Project` verb returns. The server never reads a
client's files, so a side given as a frame or a path is refused here with an
:class:`~rasad.errors.InputError` saying to upload it first (``rasad data add``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from rasad.datasets import DatasetVersion
from rasad.errors import InputError
from rasad.governance.fairness.report import FairnessAssessment
from rasad.monitoring import EstimationReport, PerformanceReport
from rasad.monitoring.drift_check import DriftCheck
from rasad.monitoring.results import MonitorKind, MonitorResult
from rasad.monitoring.thresholds import FixedThreshold, StdThreshold
from rasad.monitoring.tracking import PerformanceCheck
from rasad.names import parse_ref

if TYPE_CHECKING:
    from rasad.drift import Chunker
    from rasad.evaluation.metrics import Metric, Task
    from rasad.governance.fairness import FairnessPolicy
    from rasad.monitoring import Threshold
    from rasad.monitoring.drift_check import Side
    from rasad.remote.client import Client
    from rasad.serving.predlog import LogWindow


def dataset_ref(side: object, what: str) -> str:
    """A check's side as the server takes it: ``NAME@VERSION`` (or ``NAME``, the latest).

    >>> dataset_ref("loans@2", "reference")
    'loans@2'
    >>> dataset_ref("loans@x", "reference")
    Traceback (most recent call last):
    ...
    rasad.errors.InputError: 'loans@x': the version after '@' must be a positive whole \
number, as in loans@2.
    >>> dataset_ref("ref.csv", "reference")
    Traceback (most recent call last):
    ...
    rasad.errors.InputError: The reference 'ref.csv' is a file: over the server, checks run \
on the server's dataset versions. Upload it with `rasad data add ref.csv --name NAME` (or \
RemoteProject.add_dataset) and give NAME@VERSION.

    Raises
    ------
    InputError
        If ``side`` is a frame, a table or a path rather than a dataset version, or its
        version is not a positive whole number.
    """
    if isinstance(side, DatasetVersion):
        return side.ref
    if isinstance(side, str) and "/" not in side and "\\" not in side and not any(
            side.lower().endswith(suffix) for suffix in (".csv", ".tsv", ".parquet", ".pq")):
        parse_ref(side)  # a bad version is refused here, in the local words
        return side
    if isinstance(side, (str, os.PathLike)):
        path = os.fspath(side)
        raise InputError(
            f"The {what} {path!r} is a file: over the server, checks run on the server's "
            f"dataset versions. Upload it with `rasad data add {path} --name NAME` (or "
            f"RemoteProject.add_dataset) and give NAME@VERSION.")
    raise InputError(
        f"The {what} (a {type(side).__name__}) is not a dataset version: over the server, "
        f"checks run on the server's dataset versions. Upload it with "
        f"RemoteProject.add_dataset(frame, NAME) and give NAME@VERSION.")


def chunking(chunker: Chunker | None) -> dict[str, Any] | None:
    """A chunker as the API's ``chunking`` object."""
    if chunker is None:
        return None
    return {"size": chunker.size, "number": chunker.number,
            "period": None if chunker.period is None else str(chunker.period),
            "time_column": chunker.time_column}


def threshold(value: Threshold | None) -> dict[str, Any] | None:
    """A threshold as the API's ``threshold`` object.

    Raises
    ------
    InputError
        For a threshold class the API does not know (only std and fixed travel).
    """
    if value is None:
        return None
    if isinstance(value, (StdThreshold, FixedThreshold)):
        return value.to_dict()
    raise InputError(f"A {type(value).__name__} cannot be sent to the server; use "
                     "StdThreshold or FixedThreshold.")


class CheckVerbs:
    """Drift, fairness and performance over the server: the :class:`rasad.Project`
    signatures for dataset-version sides."""

    client: Client

    def check_drift(self, reference: Side | None, current: Side | LogWindow, *,
                    columns: Sequence[str] | None = None, chunker: Chunker | None = None,
                    multivariate: bool = False, use_profile: bool = False, save: bool = False,
                    monitor: str = "drift") -> DriftCheck:
        """Compare two dataset versions on the server; ``save`` keeps the result."""
        _no_log_window(current)
        if reference is None:
            raise InputError("Over the server both sides are dataset versions: pass the "
                             "reference as NAME@VERSION (a reference taken from the model's "
                             "training data is for a prediction-log window, which runs locally).")
        body = {"reference": dataset_ref(reference, "reference"),
                "current": dataset_ref(current, "current"),
                "columns": None if columns is None else list(columns),
                "chunking": chunking(chunker), "multivariate": multivariate,
                "use_profile": use_profile, "save": save, "monitor": monitor}
        answer = self.client.post("/checks/drift", body)
        saved = answer.get("saved")
        return DriftCheck.from_dict(answer).model_copy(update={
            "saved": None if saved is None else MonitorResult.from_dict(saved),
            "profile_built": answer.get("profile_built")})

    def assess_fairness(self, model: str, dataset: str, *, version: int | None = None,
                        env: str | None = None, target: str | None = None,
                        protected: Sequence[str] | None = None,
                        favorable: bool | int | float | str | None = None,
                        intersections: bool = False, policy: FairnessPolicy | None = None,
                        n_boot: int = 1000, seed: int = 0, save: bool = True,
                        monitor: str = "fairness",
                        bins: dict[str, list[float] | None] | None = None,
                        favorable_source: str = "the favorable argument"
                        ) -> FairnessAssessment:
        """Score a dataset version with a registered model on the server and assess it."""
        body = {"model": model, "dataset": dataset_ref(dataset, "dataset"),
                "version": version, "env": env, "target": target,
                "protected": None if protected is None else list(protected),
                "favorable": favorable, "favorable_source": favorable_source,
                "bins": bins, "intersections": intersections,
                "policy": None if policy is None else policy.to_dict(), "n_boot": n_boot,
                "seed": seed, "save": save, "monitor": monitor}
        return FairnessAssessment.from_dict(self.client.post("/checks/fairness", body))

    def fairness_assessments(self, monitor: str | None = None) -> list[MonitorResult]:
        """Saved fairness assessments, oldest first."""
        found = self.client.get("/monitor/results",
                                {"monitor": monitor, "kind": MonitorKind.FAIRNESS.value})
        return [MonitorResult.from_dict(item) for item in found]

    def track_performance(self, reference: DatasetVersion | str,
                          current: DatasetVersion | str | LogWindow, *, target: str,
                          prediction: str, task: Task | str = "classification",
                          score: str | None = None, chunker: Chunker | None = None,
                          metrics: Iterable[Metric | str] | str | None = None,
                          threshold: Threshold | None = None, min_chunk_rows: int = 30,
                          save: bool = False, monitor: str = "performance"
                          ) -> PerformanceCheck[PerformanceReport]:
        """Realized metrics per chunk of two dataset versions, computed on the server."""
        _no_log_window(current)
        body = {"reference": dataset_ref(reference, "reference"),
                "current": dataset_ref(current, "current"), "target": target,
                "prediction": prediction, "task": str(task), "score": score,
                "chunking": chunking(chunker),
                "metrics": metrics if metrics is None or isinstance(metrics, str)
                else [str(m) for m in metrics],
                "threshold": _threshold(threshold), "min_chunk_rows": min_chunk_rows,
                "save": save, "monitor": monitor}
        answer = self.client.post("/checks/performance", body)
        return PerformanceCheck(PerformanceReport.from_dict(answer["report"]),
                                answer["reference"], answer["current"], _saved(answer))

    def estimate_performance(self, reference: DatasetVersion | str,
                             current: DatasetVersion | str, *, target: str, prediction: str,
                             task: Task | str = "classification", score: str | None = None,
                             features: Sequence[str] | None = None,
                             chunker: Chunker | None = None, threshold: Threshold | None = None,
                             save: bool = False, monitor: str = "estimation"
                             ) -> PerformanceCheck[EstimationReport]:
        """Estimated metrics per chunk without labels, computed on the server."""
        body = {"reference": dataset_ref(reference, "reference"),
                "current": dataset_ref(current, "current"), "target": target,
                "prediction": prediction, "task": str(task), "score": score,
                "features": None if features is None else list(features),
                "chunking": chunking(chunker), "threshold": _threshold(threshold),
                "save": save, "monitor": monitor}
        answer = self.client.post("/checks/estimation", body)
        return PerformanceCheck(EstimationReport.from_dict(answer["report"]),
                                answer["reference"], answer["current"], _saved(answer))

    def performance_report(self, result: MonitorResult) -> PerformanceReport | EstimationReport:
        """The typed report a saved ``performance`` or ``estimation`` result holds.

        Raises
        ------
        InputError
            If the result is of another kind (drift, fairness).
        """
        from rasad.monitoring.tracking import report_model

        model = report_model(result)  # checked before the request
        return model.from_dict(self.client.get(f"/monitor/results/{int(result.id)}/report"))


# The verbs' parameter is named `threshold`, as on Project; the module function is reached
# through this alias inside them.
_threshold = threshold


def _saved(answer: dict[str, Any]) -> MonitorResult | None:
    saved = answer.get("saved")
    return None if saved is None else MonitorResult.from_dict(saved)


__all__ = ["CheckVerbs", "chunking", "dataset_ref", "threshold"]


def _no_log_window(current: object) -> None:
    """Refuse a prediction-log window: the log is read where the artifact store is."""
    if type(current).__name__ == "LogWindow":  # not imported: it would load the log reader
        raise InputError("--from-log reads the prediction log in the project's artifact "
                         "store, which remote mode does not reach: run the check on a "
                         "machine with the project (unset RASAD_URL).")
