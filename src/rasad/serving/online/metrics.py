"""What the prediction server says about itself: Prometheus metrics and JSON event logs.

Metrics (``GET /metrics``, the Prometheus text format), all prefixed ``rasad_``:

==========================================  =========  =====================================
name                                        type       labels
==========================================  =========  =====================================
``requests_total``                          counter    model, version, role, protocol, status
``request_duration_seconds``                histogram  model, version, role
``request_errors_total``                    counter    protocol, reason
``predictions_total``                       counter    model, version, role, label (classifiers)
``prediction_score``                        histogram  model, version, role (positive class)
``prediction_value``                        summary    model, version, role (regressors)
``prediction_log_queue_rows``               gauge
``prediction_log_dropped_rows_total``       counter    model
``shadow_requests_total``                   counter    model, version, outcome
``shadow_queue_requests``                   gauge
``model_serving_version``                   gauge      model, role
``model_reloads_total``                     counter    model
``model_load_failures_total``               counter    model
==========================================  =========  =====================================

``role`` is the deployment that scored: ``primary``, ``canary`` (its share of the traffic)
or ``shadow`` (scored after the answer, never answering). A shadow's outcome is
``scored``, ``failed`` (it raised or its inputs did not fit; the answer was not
affected) or ``skipped`` (the shadow queue was full).

A request for a model the server does not serve is counted with ``model=""``: a label
value never comes from the URL unchecked, so a client cannot grow the metric set.

Updating a metric is a dictionary lookup and an addition: the labelled children are made
once per label set and kept (:meth:`Metrics.request`).

With several uvicorn workers each process writes its values to ``PROMETHEUS_MULTIPROC_DIR``
(set by ``rasad serve --workers N`` before the workers start), and ``/metrics`` adds them
up across workers (:func:`render`).

>>> from prometheus_client import CollectorRegistry
>>> metrics = Metrics(CollectorRegistry())
>>> metrics.request("credit", "2", "primary", "v2", 200, 0.0012)
>>> metrics.request("credit", "2", "primary", "v2", 200, 0.0008)
>>> metrics.registry.get_sample_value("rasad_requests_total", {
...     "model": "credit", "version": "2", "role": "primary", "protocol": "v2",
...     "status": "200"})
2.0

Events are logged one JSON object a line on the ``rasad.serve`` logger
(:func:`event`): the server's start and stop, each model loaded, switched or refused,
request errors with their reason. Never a request body, an input value or a token.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any, Final

import numpy as np
import orjson
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Summary,
    generate_latest,
)

MULTIPROC_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"

# Seconds: a one-row request takes about a millisecond; a 10,000-row batch, seconds.
LATENCY_BUCKETS: Final = (0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128,
                          0.256, 0.512, 1.024, 2.048, 4.096, float("inf"))
SCORE_BUCKETS: Final = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, float("inf"))
MAX_LABELS: Final = 50
"""Distinct predicted labels counted per model version; the rest count as ``other`` (a
classifier with thousands of classes must not make thousands of series)."""

log = logging.getLogger("rasad.serve")


class Metrics:
    """The server's Prometheus metrics, registered in ``registry``.

    Parameters
    ----------
    registry : CollectorRegistry
        Where the metrics are registered: one per app (tests build several apps in one
        process). In multiprocess mode the values go to files whatever the registry, and
        :func:`render` reads them back.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        r = registry
        self.requests = Counter("rasad_requests", "Requests answered.",
                                ["model", "version", "role", "protocol", "status"], registry=r)
        self.latency = Histogram("rasad_request_duration_seconds",
                                 "Time from a request's body read to its answer.",
                                 ["model", "version", "role"], buckets=LATENCY_BUCKETS,
                                 registry=r)
        self.errors = Counter("rasad_request_errors", "Requests refused or failed, by reason.",
                              ["protocol", "reason"], registry=r)
        self.predictions = Counter("rasad_predictions", "Predicted labels of classifiers.",
                                   ["model", "version", "role", "label"], registry=r)
        self.scores = Histogram("rasad_prediction_score",
                                "Positive-class scores of binary classifiers (when asked for).",
                                ["model", "version", "role"], buckets=SCORE_BUCKETS,
                                registry=r)
        self.values = Summary("rasad_prediction_value", "Predicted values of regressors.",
                              ["model", "version", "role"], registry=r)
        self.log_queue = Gauge("rasad_prediction_log_queue_rows",
                               "Rows waiting to be written to the prediction log.",
                               registry=r, multiprocess_mode="livesum")
        self.log_dropped = Counter("rasad_prediction_log_dropped_rows",
                                   "Predictions answered but not logged: the log queue was full.",
                                   ["model"], registry=r)
        self.shadows = Counter("rasad_shadow_requests",
                               "Requests given to a shadow, by outcome (scored, failed, "
                               "skipped: the shadow queue was full).",
                               ["model", "version", "outcome"], registry=r)
        self.shadow_queue = Gauge("rasad_shadow_queue_requests",
                                  "Answered requests waiting for their shadow.", registry=r,
                                  multiprocess_mode="livesum")
        self.serving = Gauge("rasad_model_serving_version",
                             "The version in each deployment slot, by model and role.",
                             ["model", "role"], registry=r, multiprocess_mode="livemax")
        self.reloads = Counter("rasad_model_reloads", "Versions loaded after a promotion or "
                               "rollback.", ["model"], registry=r)
        self.load_failures = Counter("rasad_model_load_failures",
                                     "Versions that failed to load (the previous one kept "
                                     "serving).", ["model"], registry=r)
        self._requests: dict[tuple[str, str, str, str, int], Any] = {}
        self._latency: dict[tuple[str, str, str], Any] = {}
        self._labels: dict[tuple[str, str, str], dict[str, Any]] = {}

    def request(self, model: str, version: str, role: str, protocol: str, status: int,
                seconds: float) -> None:
        """Count one answered request and its latency."""
        key = (model, version, role, protocol, status)
        child = self._requests.get(key)
        if child is None:
            child = self._requests[key] = self.requests.labels(model, version, role, protocol,
                                                               str(status))
        child.inc()
        timer = self._latency.get(key[:3])
        if timer is None:
            timer = self._latency[key[:3]] = self.latency.labels(model, version, role)
        timer.observe(seconds)

    def error(self, protocol: str, reason: str) -> None:
        """Count a refused or failed request (``reason``: a short fixed word)."""
        self.errors.labels(protocol, reason).inc()

    def predicted(self, model: str, version: str, role: str, outputs: np.ndarray,
                  scores: np.ndarray | None, classifier: bool) -> None:
        """Add a request's predictions to the distribution of ``model@version`` in
        ``role``."""
        if not classifier:
            summary = self.values.labels(model, version, role)
            for value in np.asarray(outputs, dtype=np.float64).ravel():
                summary.observe(float(value))
            return
        key = (model, version, role)
        seen = self._labels.get(key)
        if seen is None:
            seen = self._labels[key] = {}
        if len(outputs) == 1:  # the common case, without numpy's unique
            self._label(key, seen, outputs[0]).inc()
        else:
            found, counts = np.unique(outputs, return_counts=True)
            for label, count in zip(found, counts, strict=True):
                self._label(key, seen, label).inc(int(count))
        if scores is not None:
            histogram = self.scores.labels(model, version, role)
            for score in np.asarray(scores, dtype=np.float64).ravel():
                histogram.observe(float(score))

    def shadow(self, model: str, version: str, outcome: str) -> None:
        """Count a request given to ``model@version`` as its shadow: ``scored``,
        ``failed`` or ``skipped``."""
        self.shadows.labels(model, version, outcome).inc()

    def _label(self, key: tuple[str, str, str], seen: dict[str, Any], label: object) -> Any:
        text = str(label.item() if isinstance(label, np.generic) else label)
        child = seen.get(text)
        if child is None:
            if len(seen) >= MAX_LABELS:
                text = "other"
                child = seen.get(text)
            if child is None:
                child = seen[text] = self.predictions.labels(*key, text)
        return child


def multiprocess_dir() -> str | None:
    """``PROMETHEUS_MULTIPROC_DIR`` when the server runs several worker processes."""
    return os.environ.get(MULTIPROC_ENV) or None


def render(registry: CollectorRegistry) -> bytes:
    """The Prometheus text of ``registry``, or of every worker in multiprocess mode."""
    folder = multiprocess_dir()
    if folder is None:
        return generate_latest(registry)
    from prometheus_client import multiprocess

    combined = CollectorRegistry()
    multiprocess.MultiProcessCollector(combined, path=folder)
    return generate_latest(combined)


def worker_exited(pid: int) -> None:
    """Drop a finished worker's live gauges (multiprocess mode)."""
    if multiprocess_dir() is not None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


# ---- structured logs -------------------------------------------------------------------


class JsonLines(logging.Formatter):
    """One JSON object a line: time, level, event and the event's fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(), "event": record.getMessage()}
        entry.update(getattr(record, "fields", {}))
        if record.exc_info and record.exc_info[0] is not None:
            entry["error_type"] = record.exc_info[0].__name__
        return orjson.dumps(entry, default=str).decode()


def event(name: str, *, level: int = logging.INFO, **fields: Any) -> None:
    """Log event ``name`` with ``fields`` (values that are not JSON become text)."""
    if log.isEnabledFor(level):
        log.log(level, name, extra={"fields": fields})


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to the ``sys.stderr`` of the moment, not the one there when it was made: a
    server started in process (a test, a notebook) must not keep a stream that is
    closed or swapped later."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr


def configure_logging(
        level: int = logging.INFO,
        loggers: Iterable[str] = ("rasad.serve", "rasad.store")) -> Callable[[], None]:
    """Send the server's events to stderr as JSON lines (once per process).

    Returns a function that puts the loggers back as they were, for a server run in
    a process that goes on afterwards (``rasad serve`` called in process).
    """
    saved: list[tuple[logging.Logger, logging.Handler | None, int, bool]] = []
    for name in loggers:
        logger = logging.getLogger(name)
        added: logging.Handler | None = None
        if not any(isinstance(h.formatter, JsonLines) for h in logger.handlers):
            added = _Stderr()
            added.setFormatter(JsonLines())
            logger.addHandler(added)
        saved.append((logger, added, logger.level, logger.propagate))
        logger.setLevel(level)
        logger.propagate = False

    def restore() -> None:
        for logger, added, old_level, old_propagate in saved:
            if added is not None:
                logger.removeHandler(added)
            logger.setLevel(old_level)
            logger.propagate = old_propagate

    return restore


__all__ = ["CONTENT_TYPE", "MULTIPROC_ENV", "JsonLines", "Metrics", "configure_logging",
           "event", "multiprocess_dir", "render", "worker_exited"]
