"""One run of one automation monitor: compute, save the result, say whether it fired.

A monitor (``automation.monitors.NAME`` in ``rasad.yaml``) judges a recent window of
its source with one of the project's checks and keeps what it found as a monitor result
(:func:`rasad.monitoring.results.save_result`, with its ``monitor.result`` audit event):

- ``drift``: the window against the training data of the version serving the model
  (the dataset its run used with role ``train``), compared with that version's stored
  reference profile (:mod:`rasad.monitoring.reference`), so the training rows are read
  once, not at every run. A files source's window is the dataset version a file became
  (on arrival) or the dataset's latest version (on a schedule); a prediction_log
  source's window is the logged inputs.
- ``performance``: the realized metrics of the logged predictions that have feedback,
  against the fixed bounds of ``metrics`` (``accuracy: {min: 0.8}``).
- ``estimated_performance``: the metrics estimated without labels, CBPE for a
  classifier and DLE for a regressor (:func:`rasad.monitoring.tracking.estimate_frames`),
  for the window of the prediction log; the labelled predictions logged before the window
  are the reference the estimator learns from. ``basis: bound`` compares the worst end
  of the estimate's confidence band instead of the estimate.
- ``validation``: the verdict on an arriving file (ingested, or rejected with its
  problems). Its run keeps no monitor result: the file's row in ``source_files`` is
  the record.

A run that cannot judge (nothing serves the model yet, too few labelled rows) is
``skipped``; one whose check refused the data is ``failed``, with the reason; neither
stores a result nor fires. What a firing sets off (triggers, cooldown, alerts,
retraining) is the agent's business (:mod:`rasad.automation.agent`).

>>> MonitorRun(monitor="income", kind="drift", status=MonitorStatus.FIRED,
...            summary="drift in income").fired
True
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from rasad.config import FileSourceConfig, LogSourceConfig, MonitorConfig
from rasad.errors import ConfigError, InputError, NotFoundError
from rasad.monitoring.results import MonitorResult
from rasad.results import Result

if TYPE_CHECKING:
    import pandas as pd

    from rasad.config import AutomationConfig, Threshold
    from rasad.core import Context
    from rasad.datasets import DatasetVersion
    from rasad.monitoring import Bounds, EstimationReport, PerformanceReport
    from rasad.registry.version import ModelVersion
    from rasad.serving.predlog import LogWindow


class MonitorStatus(enum.StrEnum):
    """How a run ended (``monitor_states.last_status``)."""

    OK = "ok"
    FIRED = "fired"
    FAILED = "failed"
    SKIPPED = "skipped"


class MonitorRun(Result):
    """What one run of a monitor found.

    ``result`` is the saved monitor result (None when the run was skipped or failed);
    ``summary`` says it in one line; ``source_file_id`` names the arriving file an
    on-arrival run judged.
    """

    monitor: str
    kind: str
    status: MonitorStatus
    summary: str
    result: MonitorResult | None = None
    source_file_id: int | None = None
    details: dict[str, Any] = {}

    @property
    def fired(self) -> bool:
        """Whether the run found something to act on."""
        return self.status is MonitorStatus.FIRED


@dataclass(frozen=True)
class Arrival:
    """A file an on-arrival monitor judges: its ``source_files`` row."""

    file_id: int
    source: str
    path: str
    status: str  # ingested | rejected
    dataset_version_id: int | None
    detail: str | None = None

    @property
    def problems(self) -> list[str]:
        """Why the file was rejected (``source_files.detail``)."""
        return problems_of(self.detail)


def problems_of(detail: str | None) -> list[str]:
    """The problems a ``source_files.detail`` records (a JSON list; older text as is).

    >>> problems_of('["column x is missing"]'), problems_of(None)
    (['column x is missing'], [])
    """
    import json

    if not detail:
        return []
    try:
        loaded = json.loads(detail)
    except ValueError:
        return [detail]
    return [str(item) for item in loaded] if isinstance(loaded, list) else [str(loaded)]


def run_monitor(ctx: Context, name: str, *, now: str | None = None,
                arrival: Arrival | None = None) -> MonitorRun:
    """Run monitor ``name`` of ``automation.monitors`` once and save what it found.

    Parameters
    ----------
    ctx : Context
        Acting as the agent (``monitor.write`` to save results).
    name : str
        The monitor's name in ``rasad.yaml``.
    now : str, optional
        The time of the pass (ISO 8601, UTC); ``window_days`` counts back from it.
        Default ``ctx.clock()``.
    arrival : Arrival, optional
        The file an on-arrival run judges; without it a files source's window is the
        dataset's latest version.

    Returns
    -------
    MonitorRun
        Failed or skipped runs are returned, not raised: one monitor's trouble must not
        stop the others.

    Raises
    ------
    NotFoundError
        ``name`` is not one of ``automation.monitors``.
    PermissionDenied
        The acting principal may not save monitor results.
    """
    from rasad.identity import Permission

    automation = ctx.config.automation
    config = automation.monitors.get(name)
    if config is None:
        known = ", ".join(sorted(automation.monitors)) or "none"
        raise NotFoundError(f"No monitor {name!r} in automation.monitors of rasad.yaml "
                            f"(monitors: {known}).")
    ctx.require(Permission.MONITOR_WRITE, f"run monitor {name!r}")
    moment = parse_time(now or ctx.clock())
    file_id = arrival.file_id if arrival is not None else None
    try:
        run = _KINDS[config.kind](ctx, name, config, automation, moment, arrival)
    except _Skip as skip:
        run = MonitorRun(monitor=name, kind=config.kind, status=MonitorStatus.SKIPPED,
                         summary=str(skip))
    except (InputError, NotFoundError, ConfigError) as exc:
        run = MonitorRun(monitor=name, kind=config.kind, status=MonitorStatus.FAILED,
                         summary=str(exc))
    return run.model_copy(update={"source_file_id": file_id})


class _Skip(Exception):
    """Nothing to judge yet; the run is skipped, not failed (never leaves this module)."""


# --- drift --------------------------------------------------------------------------


def _drift(ctx: Context, name: str, config: MonitorConfig, automation: AutomationConfig,
           now: datetime, arrival: Arrival | None) -> MonitorRun:
    from rasad.monitoring import drift_check

    source = automation.sources[config.source]
    model = monitor_model(name, config, automation)
    serving = _serving(ctx, model, _environment(ctx, config, source))
    reference = _training_data(ctx, serving)
    current: DatasetVersion | drift_check.Rows
    if isinstance(source, FileSourceConfig):
        current = _file_window(ctx, source, config, arrival)
    else:
        window = _log_window(ctx, source, config, now)
        current = _log_inputs(ctx, window, config.window_rows)
    checked = drift_check.check(ctx, reference, current, use_profile=True, save=True,
                                monitor=name)
    drifted = checked.drift.drifted_columns
    summary = (f"drift in {', '.join(drifted)} of {checked.current} against "
               f"{checked.reference} ({serving.ref}'s training data)" if checked.drifted
               else f"no drift in {checked.current} against {checked.reference}")
    return MonitorRun(monitor=name, kind=config.kind, result=checked.saved, summary=summary,
                      status=MonitorStatus.FIRED if checked.drifted else MonitorStatus.OK,
                      details={"drifted_columns": list(drifted), "model": serving.ref,
                               "reference": checked.reference, "current": checked.current})


def _file_window(ctx: Context, source: FileSourceConfig, config: MonitorConfig,
                 arrival: Arrival | None) -> DatasetVersion | Any:
    from rasad.datasets.service import get, list_versions, load_frame
    from rasad.monitoring.drift_check import Rows

    if arrival is not None:
        if arrival.dataset_version_id is None:
            raise _Skip(f"{arrival.path} was {arrival.status}, not ingested: nothing to judge")
        found = [v for v in list_versions(ctx, source.dataset)
                 if v.id == arrival.dataset_version_id]
        if not found:
            raise NotFoundError(f"Dataset version id {arrival.dataset_version_id} of "
                                f"{arrival.path} is not a version of {source.dataset!r}.")
        version = found[0]
    else:
        try:
            version = get(ctx, source.dataset)
        except NotFoundError:
            raise _Skip(f"dataset {source.dataset!r} has no version yet") from None
    if config.window_rows is None or config.window_rows >= version.rows:
        return version
    frame = load_frame(ctx, version).tail(config.window_rows).reset_index(drop=True)
    return Rows(f"{version.ref}[-{config.window_rows}:]", frame)


# --- performance, realized and estimated ---------------------------------------------


def _performance(ctx: Context, name: str, config: MonitorConfig,
                 automation: AutomationConfig, now: datetime,
                 arrival: Arrival | None) -> MonitorRun:
    import pandas as pd

    from rasad.drift import Chunker
    from rasad.monitoring import track
    from rasad.monitoring.results import MonitorKind, save_result

    source = _log_source(name, config, automation)
    window = _log_window(ctx, source, config, now)
    logged = _tail(_read(ctx, window, with_feedback=True), config.window_rows)
    version = _logged_version(ctx, window.model, logged)
    frame = pd.DataFrame({"label": logged["label"], "prediction": logged["prediction"]})
    if not frame["label"].notna().any():  # nothing to measure (track would refuse it)
        raise _Skip(f"none of the {len(frame)} logged predictions in {window.describe()} "
                    "has feedback yet")
    score = _score(frame, logged, version)
    report = track(frame, frame, task=version.task, target="label", prediction="prediction",
                   score=score, chunker=Chunker(number=1), metrics=list(config.metrics))
    report = _fixed_bounds(report, config.metrics)
    if not any(c.status == "ok" for c in report.current):
        labelled = int(frame["label"].notna().sum())
        raise _Skip(f"{labelled} of {len(frame)} logged predictions in {window.describe()} "
                    "have feedback: too few to measure")
    ref = _window_ref(window, config.window_rows)
    saved = save_result(ctx, monitor=name, kind=MonitorKind.PERFORMANCE,
                        reference=version.ref, current=ref, alert=bool(report.alerts),
                        summary=_summary(report, "realized"), payload=report.to_dict())
    return _judged(name, config, report, saved, ref, "realized")


def _estimated(ctx: Context, name: str, config: MonitorConfig, automation: AutomationConfig,
               now: datetime, arrival: Arrival | None) -> MonitorRun:
    from rasad.drift import Chunker
    from rasad.monitoring.results import MonitorKind, save_result
    from rasad.monitoring.tracking import estimate_frames
    from rasad.serving.predlog import LogWindow

    source = _log_source(name, config, automation)
    if config.window_rows is None and config.window_days is None:
        raise ConfigError(f"automation.monitors.{name}: an estimated_performance monitor needs "
                          "window_rows or window_days (the labelled predictions logged before "
                          "the window are the reference).")
    window = _log_window(ctx, source, config, now)
    everything = _read(ctx, LogWindow(window.model, window.environment), with_feedback=True)
    recent = everything.index[everything["time"] >= window.since] if window.since is not None \
        else everything.index
    if config.window_rows is not None:
        recent = recent[-config.window_rows:]
    if len(recent) == 0:
        raise _Skip(f"no prediction of {window.describe()}")
    current = everything.loc[recent]
    earlier = everything.drop(index=recent)
    reference = earlier[earlier["label"].notna()]
    if reference.empty:
        raise _Skip(f"no labelled prediction of model {window.model!r} logged before the "
                    "window: the estimator needs some to learn from")
    version = _logged_version(ctx, window.model, current)
    features = [c for c in current.columns if c.startswith("input.")]
    report = estimate_frames(
        _scored(reference), _scored(current), target="label", prediction="prediction",
        task=version.task, score="score" if version.task == "classification" else None,
        features=features if version.task != "classification" else None,
        chunker=Chunker(number=1))
    report = _fixed_bounds(report, config.metrics)
    ref = _window_ref(window, config.window_rows)
    saved = save_result(ctx, monitor=name, kind=MonitorKind.ESTIMATION,
                        reference=f"{window.model} labelled log before the window",
                        current=ref, alert=bool(report.alerts),
                        summary=_summary(report, "estimated"), payload=report.to_dict())
    return _judged(name, config, report, saved, ref, "estimated")


def _scored(frame: pd.DataFrame) -> pd.DataFrame:
    columns = ["label", "prediction", "score", *[c for c in frame.columns
                                                  if c.startswith("input.")]]
    return frame[[c for c in columns if c in frame.columns]].reset_index(drop=True)


def _score(frame: pd.DataFrame, logged: pd.DataFrame, version: ModelVersion) -> str | None:
    if version.task != "classification" or "score" not in logged:
        return None
    if logged["score"].isna().all():
        return None
    frame["score"] = logged["score"].to_numpy()
    return "score"


def _fixed_bounds(report: Any, metrics: dict[str, Threshold]) -> Any:
    """``report`` with the monitor's bounds in place of the engine's, and alerts by them."""
    from rasad.monitoring import Bounds

    unknown = sorted(set(metrics) - set(report.metrics))
    if unknown:
        raise InputError(f"metrics names {', '.join(unknown)}, which the check did not "
                         f"compute (it computed {', '.join(report.metrics)}).")
    bounds = {m: Bounds(lower=t.min, upper=t.max, method="fixed") for m, t in metrics.items()}
    estimated = hasattr(report, "method")

    def judged(chunk: Any) -> Any:
        values = {}
        for metric, value in chunk.metrics.items():
            if metric in bounds:
                value = value.model_copy(update={"alert": _breached(
                    value, bounds[metric], metrics[metric].basis, estimated=estimated)})
            values[metric] = value
        return chunk.model_copy(update={"metrics": values})

    return report.model_copy(update={
        "thresholds": {**report.thresholds, **bounds},
        "threshold": {"method": "fixed", "metrics": {
            m: {"min": t.min, "max": t.max, "basis": t.basis} for m, t in metrics.items()}},
        "reference": tuple(judged(c) for c in report.reference),
        "current": tuple(judged(c) for c in report.current)})


def _breached(value: Any, bounds: Bounds, basis: str, *, estimated: bool) -> bool:
    if not estimated:
        return bounds.breached(value.value)
    if basis == "bound":  # the worst end of the band: the lower for a min, the upper for a max
        worst = value.band_lower if bounds.lower is not None else value.band_upper
        return bounds.breached(worst if worst is not None else value.estimate)
    return bounds.breached(value.estimate)


def _summary(report: PerformanceReport | EstimationReport, how: str) -> dict[str, Any]:
    return {"how": how, "metrics": list(report.metrics),
            "alerting_metrics": sorted({a.metric for a in report.alerts}),
            "values": _values(report)}


def _values(report: PerformanceReport | EstimationReport) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for chunk in report.current[-1:]:
        for metric, value in chunk.metrics.items():
            figure = getattr(value, "value", None) if hasattr(value, "value") \
                else getattr(value, "estimate", None)
            out[metric] = None if figure is None or not math.isfinite(figure) else figure
    return out


def _judged(name: str, config: MonitorConfig, report: PerformanceReport | EstimationReport,
            saved: MonitorResult, ref: str, how: str) -> MonitorRun:
    values = _values(report)
    alerting = sorted({a.metric for a in report.alerts})
    shown = ", ".join(f"{m} {_fmt(values.get(m))} ({_bound(config.metrics[m])})"
                      for m in alerting) if alerting else ", ".join(
        f"{m} {_fmt(values.get(m))}" for m in config.metrics)
    summary = (f"{how} {shown} in {ref}" if alerting else f"{how} {shown} in {ref}: within bounds")
    return MonitorRun(monitor=name, kind=config.kind, result=saved, summary=summary,
                      status=MonitorStatus.FIRED if alerting else MonitorStatus.OK,
                      details={"alerting_metrics": alerting, "values": values,
                               "current": ref})


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def _bound(threshold: Threshold) -> str:
    return f"min {threshold.min}" if threshold.min is not None else f"max {threshold.max}"


# --- validation ----------------------------------------------------------------------


def _validation(ctx: Context, name: str, config: MonitorConfig, automation: AutomationConfig,
                now: datetime, arrival: Arrival | None) -> MonitorRun:
    if arrival is None:
        raise _Skip("a validation monitor judges arriving files (schedule: on_arrival)")
    from rasad.monitoring.results import MonitorKind, save_result

    rejected = arrival.status == "rejected"
    summary = (f"{arrival.path} was rejected: {'; '.join(arrival.problems) or 'invalid'}"
               if rejected else f"{arrival.path} is valid")
    details: dict[str, Any] = {"path": arrival.path, "problems": arrival.problems}
    source = automation.sources[config.source]
    dataset = source.dataset if isinstance(source, FileSourceConfig) else config.source
    saved = save_result(ctx, monitor=name, kind=MonitorKind.VALIDATION,
                        reference=f"schema of {dataset}", current=arrival.path, alert=rejected,
                        summary={"rejected": rejected, "problems": len(arrival.problems)},
                        payload={"file_id": arrival.file_id, **details,
                                 "status": arrival.status,
                                 "dataset_version_id": arrival.dataset_version_id})
    return MonitorRun(monitor=name, kind=config.kind,
                      status=MonitorStatus.FIRED if rejected else MonitorStatus.OK,
                      summary=summary, result=saved, details=details)


_KINDS = {"drift": _drift, "performance": _performance,
          "estimated_performance": _estimated, "validation": _validation}


# --- shared --------------------------------------------------------------------------


def monitor_model(name: str, config: MonitorConfig, automation: AutomationConfig) -> str:
    """The model a monitor judges: its own ``model``, its prediction_log source's model,
    or the only model ``automation.retraining`` names.

    Raises
    ------
    ConfigError
        None of those names one model.
    """
    if config.model is not None:
        return config.model
    source = automation.sources.get(config.source)
    if isinstance(source, LogSourceConfig):
        return source.model
    if len(automation.retraining) == 1:
        return next(iter(automation.retraining))
    raise ConfigError(f"automation.monitors.{name}.model is not set and cannot be told: "
                      "name the model whose serving version is the reference.")


def _environment(ctx: Context, config: MonitorConfig,
                 source: FileSourceConfig | LogSourceConfig) -> str:
    if config.environment is not None:
        return config.environment
    if isinstance(source, LogSourceConfig) and source.environment is not None:
        return source.environment
    return ctx.config.registry.environments[-1]


def _serving(ctx: Context, model: str, env: str) -> ModelVersion:
    from rasad.registry import models

    try:
        return models.resolve(ctx, model, env=env)
    except NotFoundError as exc:
        raise _Skip(f"nothing serves model {model!r} in {env!r} yet ({exc})") from None


def _training_data(ctx: Context, version: ModelVersion) -> DatasetVersion:
    from rasad.serving.predlog import training_data

    return training_data(ctx, version.name, version.version)


def _log_source(name: str, config: MonitorConfig, automation: AutomationConfig
                ) -> LogSourceConfig:
    source = automation.sources[config.source]
    if not isinstance(source, LogSourceConfig):
        raise ConfigError(f"automation.monitors.{name}.source: a {config.kind} monitor reads "
                          "the prediction log; name a source of kind prediction_log.")
    return source


def _log_window(ctx: Context, source: LogSourceConfig, config: MonitorConfig,
                now: datetime) -> LogWindow:
    from rasad.serving.predlog import LogWindow

    since = None if config.window_days is None else now - timedelta(days=config.window_days)
    env = config.environment or source.environment or ctx.config.registry.environments[-1]
    return LogWindow(config.model or source.model, env, since, None)


def _read(ctx: Context, window: LogWindow, *, with_feedback: bool) -> pd.DataFrame:
    from rasad.serving.predlog import read_log_window

    try:
        return read_log_window(ctx, window, with_feedback=with_feedback)
    except InputError as exc:  # the log holds no prediction in the window
        raise _Skip(str(exc)) from None


def _tail(frame: pd.DataFrame, rows: int | None) -> pd.DataFrame:
    return frame if rows is None else frame.tail(rows).reset_index(drop=True)


def _window_ref(window: LogWindow, rows: int | None) -> str:
    return window.ref if rows is None else f"{window.ref}[-{rows}:]"


def _log_inputs(ctx: Context, window: LogWindow, rows: int | None) -> Any:
    import pandas as pd

    from rasad.monitoring.drift_check import Rows
    from rasad.serving.predlog import MASKED_ATTR

    logged = _tail(_read(ctx, window, with_feedback=False), rows)
    masked = set(logged.attrs.get(MASKED_ATTR, []))
    inputs = {c[len("input."):]: logged[c] for c in logged.columns
              if c.startswith("input.") and c[len("input."):] not in masked}
    if not inputs:
        raise InputError(f"The prediction log of {window.describe()} holds no unmasked input "
                         "column to compare.")
    return Rows(_window_ref(window, rows), pd.DataFrame(inputs))


def _logged_version(ctx: Context, model: str, logged: pd.DataFrame) -> ModelVersion:
    from rasad.registry import models

    if logged.empty:
        raise _Skip(f"no prediction of model {model!r} in the window")
    return models.resolve(ctx, model, version=int(logged["version"].iloc[-1]))


def parse_time(text: str) -> datetime:
    """A stored time (ISO 8601, ``Z`` or an offset) as an aware UTC datetime.

    >>> parse_time("2026-03-01T06:00:00.000000Z").isoformat()
    '2026-03-01T06:00:00+00:00'
    """
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{text!r} is not an ISO 8601 time (e.g. 2026-03-01T06:00:00Z).") \
            from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def time_text(moment: datetime) -> str:
    """A time as rasad stores it (``ctx.clock()``'s form), so stored times sort as text.

    >>> time_text(datetime(2026, 3, 1, 6, tzinfo=UTC))
    '2026-03-01T06:00:00.000000Z'
    """
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


__all__ = ["Arrival", "MonitorRun", "MonitorStatus", "monitor_model", "parse_time",
           "problems_of", "run_monitor", "time_text"]
