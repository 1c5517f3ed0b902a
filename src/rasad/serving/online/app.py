"""The prediction server: an ASGI app speaking the Open Inference Protocol and MLflow's format.

:func:`create_app` loads the models deployed to an environment and returns a FastAPI app
(``rasad serve`` runs it on uvicorn; docs/serving.md). One port serves:

- Open Inference Protocol V2 REST: ``/v2/health/live``, ``/v2/health/ready``, ``/v2``,
  ``/v2/models/{name}[/versions/{v}]`` (metadata), ``.../ready``, ``.../infer``, and
  ``POST /v2/models/{name}/feedback`` (true labels, to the prediction log);
- MLflow's scoring server: ``POST /invocations``, ``/ping``, ``/health``, ``/version``;
- ``/metrics`` (Prometheus) and ``/openapi.json``.

Canary and shadow (docs/serving.md). With a canary deployed, :meth:`ModelEntry.route`
picks the version that answers each request (the canary for its configured share, sticky
by the key column when one is set); the answer names it. With a shadow, the decoded rows
are scored by the shadow after the answer, one request at a time on the event loop
(:class:`Shadows`): never before the answer, never changing it, dropped (and counted)
past :data:`SHADOW_QUEUE` waiting requests, and logged with role ``shadow`` under the
same request id.

The hot path (``infer`` and ``invocations``) reads the raw body and answers raw bytes:
orjson in and out, no pydantic, no database (authentication is cached, models are held in
memory), ``predict_proba`` only when the request asks for it. Every scored request goes
to the prediction log through a bounded queue that never blocks (a full queue drops the
row from the log, counted, and the answer still goes out).

Errors: Open Inference Protocol routes answer ``{"error": "...", "field": "..."}``,
MLflow's ``{"error_code": "BAD_REQUEST", "message": "..."}``, with 400 (malformed), 401
(no or bad token), 403 (no ``predict`` permission), 404 (no such model or version), 413
(body or rows over the limits), 415 (not JSON, MLflow), 422 (input against the
signature). Every answer names the request (``x-request-id``: the V2 ``id``, else the
request's own header, else a new id) and a model route's answer the model and version
(``x-rasad-model``, ``x-rasad-model-version``).

Reason codes (docs/explanations.md): a V2 request with ``parameters: {"explain": true}``,
or an MLflow request with ``params: {"explain": true}`` or ``?explain=true``, also gets
each row's reasons, computed against the typical values read when the version was
loaded (:attr:`Loaded.explainer`). Such a request is always scored in a worker thread;
one that does not ask is scored exactly as before. A version without typical values (no
training dataset recorded) answers 422 to an explain request and serves the rest.

Retention: while it runs, the server purges the prediction log past
``serving.log.retention_days`` when it starts and then daily (:class:`Purger`).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

import anyio.to_thread
import numpy as np
import orjson
from fastapi import FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CollectorRegistry
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from rasad.config import CONFIG_FILE, ProjectConfig
from rasad.core import Context
from rasad.errors import InputError, NotFoundError, PermissionDenied, RasadError
from rasad.identity import InvalidToken
from rasad.registry import Slot
from rasad.serving.online import _openapi as doc
from rasad.serving.online.auth import CACHE_SECONDS, Authenticator, TokenCache, may_predict
from rasad.serving.online.inputs import (
    Decoded,
    RequestProblem,
    decode_mlflow,
    decode_v2,
    encode_mlflow,
    encode_v2,
    parse_json,
    v2_metadata,
)
from rasad.serving.online.metrics import CONTENT_TYPE, Metrics, event, render, worker_exited
from rasad.serving.online.models import (
    Change,
    Follower,
    Loaded,
    ModelEntry,
    ServedModels,
)
from rasad.serving.records import Feedback, PredictionSink, Role, Scored
from rasad.store import migrate

if TYPE_CHECKING:
    import pandas as pd

    from rasad.evaluation.reasons import Explanation

VERSION: Final = metadata.version("rasad")
"""The rasad version serving (``/v2``, ``/version``; not the models' versions)."""
JSON: Final = "application/json"
V2: Final = "v2"
MLFLOW: Final = "mlflow"
INLINE_BYTES: Final = 32 * 1024
"""Bodies up to this size are decoded and scored on the event loop; larger ones in a
worker thread (their shadow too)."""
SHADOW_QUEUE: Final = 1_000
"""Answered requests that may wait for the shadow; past it a request is not shadowed
(``rasad_shadow_requests_total{outcome="skipped"}``): the shadow never holds memory or
the event loop hostage to its backlog."""
PURGE_SECONDS: Final = 24 * 3600.0
"""How often a running server purges the prediction log past its retention."""
MAX_ID: Final = 200
MLFLOW_CODES: Final = {400: "BAD_REQUEST", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                       404: "RESOURCE_DOES_NOT_EXIST", 405: "BAD_REQUEST",
                       413: "REQUEST_LIMIT_EXCEEDED", 415: "BAD_REQUEST", 422: "BAD_REQUEST",
                       500: "INTERNAL_ERROR", 503: "TEMPORARILY_UNAVAILABLE"}


class Problem(Exception):
    """An answer other than success: status, message (problem and fix), field, and the
    short reason counted in ``rasad_request_errors_total``."""

    def __init__(self, status: int, message: str, *, reason: str, field: str | None = None,
                 headers: Mapping[str, str] | None = None,
                 serving: Loaded | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason
        self.field = field
        self.headers = dict(headers or {})
        self.serving = serving
        """The version serving the model asked for, when known (named in the headers)."""


_REASONS = {400: "bad_request", 413: "too_large", 422: "signature"}


def _from_request_problem(problem: RequestProblem) -> Problem:
    return Problem(problem.status, problem.reason, field=problem.field,
                   reason=_REASONS.get(problem.status, "bad_request"))


def _header_safe(text: str) -> str:
    return text if text.isascii() and text.isprintable() else quote(text, safe="")


@dataclass(frozen=True)
class ServingUnseen:
    """``serving.unseen_categories`` and each model's own setting (``serving.models``)."""

    default: str
    by_model: Mapping[str, str]

    def refused(self, model: str) -> bool:
        return self.by_model.get(model, self.default) == "refuse"


@dataclass
class Server:
    """What the handlers share: the models, the log, the metrics and the limits."""

    ctx: Context
    env: str
    served: ServedModels
    metrics: Metrics
    sink: PredictionSink | None
    auth: Authenticator
    anonymous: bool
    max_body_bytes: int
    max_batch_rows: int
    shadows: Shadows
    unseen_categories: ServingUnseen = field(default_factory=lambda: ServingUnseen("score", {}))
    """Which models' requests with a category unseen in training are refused (422)."""
    stopping: bool = False
    closed: bool = field(default=False)

    # ---- the request's parts ----------------------------------------------------------

    async def authorize(self, request: Request, model: str | None) -> None:
        """Refuse (401/403) a request without a token holding ``predict``, unless the
        environment is anonymous (``model``: what it asks of, for the refusal's words)."""
        if self.anonymous:
            return
        try:
            principal = await self.auth.principal(request.headers.get("authorization"))
            may_predict(principal, model)
        except InvalidToken as error:
            raise Problem(401, str(error), reason="unauthorized",
                          headers={"WWW-Authenticate": "Bearer"}) from None
        except PermissionDenied as error:
            raise Problem(403, str(error), reason="forbidden") from None

    def entry(self, name: str) -> ModelEntry:
        """The entry answering for ``name`` (404 when it is not served here)."""
        entry = self.served.get(name)
        if entry is None:
            served = ", ".join(sorted(self.served.entries)) or "none"
            raise Problem(404, f"No model {name!r} is served here; models served: {served} "
                          "(GET /v2/models/NAME for a model's inputs).", reason="not_found")
        return entry

    def answering(self, entry: ModelEntry, version: str | None) -> Loaded:
        """The version a request names: the primary when it names none, else the primary
        or the canary of that number (404 for any other, the shadow included)."""
        if version is None:
            return entry.primary
        found = entry.answering(version)
        if found is None:
            name, serving = entry.name, entry.primary.number
            canary = (f" and version {entry.canary.number} as its canary"
                      if entry.canary is not None else "")
            raise Problem(404, f"Model {name!r} serves version {serving} here{canary}, not "
                          f"{version!r}: send to /v2/models/{name}/infer (whichever version "
                          f"serves) or /v2/models/{name}/versions/{serving}/infer.",
                          reason="not_found", field="version", serving=entry.primary)
        return found

    async def body(self, request: Request) -> bytes:
        """The body, refused (413) past ``max_body_bytes``: by its declared length before
        reading, and while it streams in when it declares none (or lies)."""
        limit = self.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise self.too_large(declared)
        chunks = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise self.too_large(None)
            chunks.append(chunk)
        return b"".join(chunks)

    def too_large(self, declared: str | None) -> Problem:
        said = f" ({int(declared):,} bytes)" if declared else ""
        return Problem(413, f"The request body{said} is larger than this server's limit of "
                       f"{self.max_body_bytes:,} bytes (serving.max_body_bytes in "
                       f"{CONFIG_FILE}); send fewer rows per request.", reason="too_large",
                       headers={"Connection": "close"})

    def submit(self, loaded: Loaded, role: Role, decoded: Decoded, request_id: str,
               received: float, predictions: np.ndarray, scores: np.ndarray | None,
               latency_ms: float) -> None:
        if self.sink is None:
            return
        item = Scored(request_id=request_id, received_at=received, model=loaded.name,
                      version=loaded.number, role=role, inputs=decoded.raw,
                      outputs=predictions, scores=scores, latency_ms=latency_ms)
        if not self.sink.submit(item):
            self.metrics.log_dropped.labels(loaded.name).inc(item.rows)

    # ---- answers ----------------------------------------------------------------------

    def problem(self, problem: Problem, protocol: str, request_id: str,
                loaded: Loaded | None, started: float | None = None) -> Response:
        """The error answer of ``protocol``, counted."""
        if protocol == V2:
            body: dict[str, Any] = {"error": problem.message}
            if problem.field is not None:
                body["field"] = problem.field
        else:
            body = {"error_code": MLFLOW_CODES.get(problem.status, "BAD_REQUEST"),
                    "message": problem.message}
        headers = {"x-request-id": _header_safe(request_id), **problem.headers}
        model, version, role = "", "", ""
        loaded = loaded or problem.serving
        if loaded is not None:
            model, version = loaded.name, str(loaded.number)
            entry = self.served.get(model)
            role = entry.role(loaded) if entry is not None else "primary"
            headers["x-rasad-model"] = model
            headers["x-rasad-model-version"] = version
        self.metrics.error(protocol, problem.reason)
        if started is not None:
            self.metrics.request(model, version, role, protocol, problem.status,
                                 time.perf_counter() - started)
        if problem.status >= 500:
            event("request.failed", level=logging.ERROR, protocol=protocol, model=model,
                  status=problem.status, reason=problem.reason, request_id=request_id)
        return Response(orjson.dumps(body), status_code=problem.status, media_type=JSON,
                        headers=headers)

    def answer(self, content: bytes, request_id: str, loaded: Loaded | None,
               status: int = 200) -> Response:
        headers = {"x-request-id": _header_safe(request_id)}
        if loaded is not None:
            headers["x-rasad-model"] = loaded.name
            headers["x-rasad-model-version"] = str(loaded.number)
        return Response(content, status_code=status, media_type=JSON, headers=headers)

    # ---- scoring ----------------------------------------------------------------------

    async def score(self, request: Request, protocol: str, name: str | None,
                    version: str | None = None) -> Response:
        """``infer`` (V2) and ``invocations`` (MLflow): authenticate, decode, route,
        predict, answer, log; then hand the rows to the shadow, if any."""
        started = time.perf_counter()
        received = time.time()
        header_id = request.headers.get("x-request-id")
        request_id = header_id[:MAX_ID] if header_id else uuid.uuid4().hex
        chosen: list[Loaded] = []  # the version answering, once known (for errors too)
        try:
            await self.authorize(request, name)
            if name is None:
                name = self.only_model()
            entry = self.entry(name)
            pinned = None if version is None else self.answering(entry, version)
            chosen.append(pinned or entry.primary)
            if protocol == MLFLOW:
                kind = request.headers.get("content-type", JSON).split(";")[0].strip().lower()
                if kind not in (JSON, "", "application/*", "*/*") and not kind.endswith("+json"):
                    raise Problem(415, f"/invocations takes JSON (Content-Type: {JSON}), not "
                                  f"{kind!r}: send dataframe_split, dataframe_records, "
                                  "instances or inputs.", reason="media_type")
            raw = await self.body(request)
            given = header_id[:MAX_ID] if header_id else None
            query = (request.query_params.get("explain")
                     if protocol == MLFLOW and request.scope.get("query_string") else None)
            # An explain request may import SHAP and scores rows x features rows: never on
            # the event loop. A body that does not hold the word cannot ask.
            inline = len(raw) <= INLINE_BYTES and query is None and b"explain" not in raw
            if inline:
                result = self._score(entry, pinned, raw, protocol, given, chosen, query)
            else:
                result = await anyio.to_thread.run_sync(self._score, entry, pinned, raw,
                                                        protocol, given, chosen, query)
            decoded, predictions, proba, explanation = result
            loaded = chosen[-1]
            if decoded.request_id is not None:
                request_id = decoded.request_id
            if protocol == V2:
                content = encode_v2(model=loaded.name, version=loaded.number,
                                    request_id=request_id, outputs=decoded.outputs,
                                    predictions=predictions, proba=proba,
                                    explanation=explanation)
            else:
                content = encode_mlflow(model=loaded.name, version=loaded.number,
                                        predictions=predictions, explanation=explanation)
        except Problem as problem:
            return self.problem(problem, protocol, request_id, _last(chosen), started)
        except RequestProblem as problem:
            return self.problem(_from_request_problem(problem), protocol, request_id,
                                _last(chosen), started)
        except RasadError as error:  # the pipeline refused a value (a bad boolean, say)
            return self.problem(Problem(422, str(error), reason="signature"), protocol,
                                request_id, _last(chosen), started)
        except Exception as error:  # noqa: BLE001 - answer 500, log the type (no inputs)
            event("model.failed", level=logging.ERROR, model=name, error_type=type(error)
                  .__name__, request_id=request_id)
            return self.problem(Problem(
                500, f"Model {name!r} failed on this input ({type(error).__name__}); the "
                "server logged it.", reason="internal"), protocol, request_id, _last(chosen),
                started)
        seconds = time.perf_counter() - started
        scores = loaded.positive(proba)
        role = entry.role(loaded)
        self.submit(loaded, role, decoded, request_id, received, predictions, scores,
                    seconds * 1e3)
        version_label = str(loaded.number)
        self.metrics.request(loaded.name, version_label, role, protocol, 200, seconds)
        self.metrics.predicted(loaded.name, version_label, role, predictions, scores,
                               loaded.classifier)
        if entry.shadow is not None:
            self.shadows.submit(ShadowJob(entry.shadow, loaded, decoded, request_id,
                                          received, inline))
        return self.answer(content, request_id, loaded)

    def _score(self, entry: ModelEntry, pinned: Loaded | None, raw: bytes, protocol: str,
               given_id: str | None, chosen: list[Loaded], query: str | None = None
               ) -> tuple[Decoded, np.ndarray, np.ndarray | None, Explanation | None]:
        """Decode for the version in ``chosen``; with a canary and no version named,
        route (appending the canary to ``chosen`` when it answers), then predict, and
        explain when asked (``query``: MLflow's ``?explain=``)."""
        body = parse_json(raw)
        decode = decode_v2 if protocol == V2 else decode_mlflow
        loaded = chosen[0]
        strict = self.unseen_categories.refused(entry.name)
        decoded = decode(body, loaded.version.signature, max_rows=self.max_batch_rows,
                         strict_categories=strict)
        if pinned is None and entry.canary is not None:
            routed = entry.route(decoded.raw, decoded.request_id
                                 if decoded.request_id is not None else given_id)
            if routed is not loaded:
                chosen.append(routed)
                loaded = routed
                if not entry.canary_same_inputs:
                    decoded = decode(body, routed.version.signature,
                                     max_rows=self.max_batch_rows, strict_categories=strict)
        explain = _explain_asked(decoded, protocol, query)
        predictions = loaded.predict(decoded.frame)
        proba = (loaded.predict_proba(decoded.frame)
                 if "predict_proba" in decoded.outputs else None)
        explanation = None
        if explain:
            field = "parameters.explain" if protocol == V2 else "params.explain"
            if loaded.explainer is None:
                raise Problem(422, f"Model {loaded.name!r} version {loaded.number} gives no "
                              f"reason codes: {loaded.unexplainable}", reason="explain",
                              field=field)
            try:
                explanation = loaded.explainer.explain(decoded.frame)
            except RasadError as error:
                raise Problem(422, str(error), reason="explain", field=field) from None
        return decoded, predictions, proba, explanation

    def only_model(self) -> str:
        """The model of an MLflow request that names none: the one served."""
        served = sorted(self.served.entries)
        if len(served) == 1:
            return served[0]
        raise Problem(400, f"This server serves {len(served)} models ({', '.join(served)}); "
                      "name one with the query parameter ?model=NAME or the header "
                      "X-Rasad-Model: NAME.", reason="bad_request", field="model")

    # ---- feedback ---------------------------------------------------------------------

    async def feedback(self, request: Request, name: str) -> Response:
        started = time.perf_counter()
        header_id = request.headers.get("x-request-id")
        request_id = header_id[:MAX_ID] if header_id else uuid.uuid4().hex
        loaded: Loaded | None = None
        try:
            await self.authorize(request, name)
            loaded = self.entry(name).primary
            if self.sink is None:
                raise Problem(409, "This server's prediction log is off (serving.log.enabled "
                              f"is false in {CONFIG_FILE}), so feedback has nowhere to go.",
                              reason="log_off")
            item = self._feedback(name, parse_json(await self.body(request)))
            request_id = item.request_id
            if not self.sink.submit_feedback(item):
                self.metrics.log_dropped.labels(name).inc(len(item.rows))
                raise Problem(503, "The prediction log's queue is full; nothing was kept. "
                              "Send this feedback again in a few seconds.", reason="log_full",
                              headers={"Retry-After": "5"})
        except Problem as problem:
            return self.problem(problem, V2, request_id, loaded, started)
        except RequestProblem as problem:
            return self.problem(_from_request_problem(problem), V2, request_id, loaded,
                                started)
        self.metrics.request(name, str(loaded.number), "primary", V2, 202,
                             time.perf_counter() - started)
        return self.answer(orjson.dumps({"request_id": item.request_id,
                                         "accepted": len(item.rows)}),
                           request_id, loaded, status=202)

    def _feedback(self, name: str, body: Any) -> Feedback:
        if not isinstance(body, dict):
            raise Problem(400, 'Feedback is a JSON object: {"request_id": "...", "labels": '
                          '[...], "rows": [...]}.', reason="bad_request")
        unknown = sorted(set(body) - {"request_id", "labels", "rows"})
        if unknown:
            raise Problem(400, f"Unknown key {unknown[0]!r} in feedback; keys are request_id, "
                          "labels and rows.", reason="bad_request", field=unknown[0])
        request_id = body.get("request_id")
        if not isinstance(request_id, str) or not 0 < len(request_id) <= MAX_ID:
            raise Problem(400, '"request_id" must be the id of a scored request (a string of '
                          f"1 to {MAX_ID} characters): the `id` sent, or the x-request-id "
                          "answered.", reason="bad_request", field="request_id")
        labels = body.get("labels")
        if not isinstance(labels, list) or not labels:
            raise Problem(400, '"labels" must be a non-empty list of labels, one per row.',
                          reason="bad_request", field="labels")
        if len(labels) > self.max_batch_rows:
            raise Problem(413, f"{len(labels):,} labels is more than this server takes at "
                          f"once ({self.max_batch_rows:,}, serving.max_batch_rows).",
                          reason="too_large", field="labels")
        for i, label in enumerate(labels):
            if not isinstance(label, str | int | float) or (
                    isinstance(label, float) and not np.isfinite(label)):
                raise Problem(422, f"labels[{i}] is {orjson.dumps(label).decode()[:50]}; a "
                              "label is a string, number or boolean.", reason="signature",
                              field=f"labels[{i}]")
        rows = body.get("rows")
        if rows is None:
            rows = list(range(len(labels)))
        elif not isinstance(rows, list) or not all(
                type(r) is int and 0 <= r < self.max_batch_rows for r in rows):
            raise Problem(400, '"rows" must list the row number (0 for the first row of the '
                          "request) of each label.", reason="bad_request", field="rows")
        if len(rows) != len(labels):
            raise Problem(400, f'"rows" holds {len(rows)} row numbers for {len(labels)} '
                          "labels; give one per label.", reason="bad_request", field="rows")
        if len(set(rows)) != len(rows):
            raise Problem(400, '"rows" names a row twice; give each row one label.',
                          reason="bad_request", field="rows")
        return Feedback(request_id=request_id, received_at=time.time(), model=name,
                        rows=tuple(rows), labels=tuple(labels))

    # ---- following the registry -------------------------------------------------------

    def changed(self, changes: list[Change]) -> None:
        """Log and count what a refresh of the served models did."""
        for change in changes:
            role = change.role
            if change.error is None and change.new is not None:
                self.metrics.reloads.labels(change.model).inc()
                self.metrics.serving.labels(change.model, role).set(change.new)
                event("model.switched", model=change.model, role=role, version=change.new,
                      previous=change.old, environment=self.env)
            elif change.error is None:
                try:
                    self.metrics.serving.remove(change.model, role)
                except KeyError:
                    pass
                event("model.retired", model=change.model, role=role, previous=change.old,
                      environment=self.env)
            else:
                self.metrics.load_failures.labels(change.model).inc()
                event("model.load_failed", level=logging.ERROR, model=change.model, role=role,
                      version=change.new, serving=change.old, environment=self.env,
                      error_type=type(change.error).__name__, error=str(change.error))

    def tick(self) -> None:
        if self.sink is not None:
            self.metrics.log_queue.set(self.sink.depth)
        self.metrics.shadow_queue.set(self.shadows.depth)

    def close(self) -> None:
        """Flush and stop the prediction log, release the database (idempotent)."""
        if self.closed:
            return
        self.closed = True
        if self.sink is not None:
            self.sink.close()
        self.ctx.close()


def _explain_asked(decoded: Decoded, protocol: str, query: str | None) -> bool:
    """Whether a request asks for reason codes: the V2 ``parameters.explain`` or MLflow's
    ``params.explain`` (a JSON boolean), or MLflow's ``?explain=true``."""
    field = "parameters.explain" if protocol == V2 else "params.explain"
    asked = decoded.parameters.get("explain", False)
    if not isinstance(asked, bool):
        raise Problem(400, f'"{field}" must be true or false, not '
                      f"{orjson.dumps(asked).decode()[:50]}.", reason="bad_request",
                      field=field)
    if query is not None:
        words = {"true": True, "1": True, "false": False, "0": False}
        if query.lower() not in words:
            raise Problem(400, f"?explain={query[:50]} is not a yes or no; use ?explain=true "
                          "or ?explain=false.", reason="bad_request", field="explain")
        asked = asked or words[query.lower()]
    return asked


def _last(chosen: list[Loaded]) -> Loaded | None:
    return chosen[-1] if chosen else None


@dataclass(frozen=True, slots=True)
class ShadowJob:
    """An answered request, waiting for its shadow to score it."""

    shadow: Loaded
    answered: Loaded
    """The version that answered (its signature decoded the rows)."""
    decoded: Decoded
    request_id: str
    received: float
    inline: bool
    """Small enough to score on the event loop (else in a worker thread)."""


class Shadows:
    """Scores answered requests with their model's shadow, off the requests' path.

    :meth:`submit` queues a request after its answer is computed and never blocks: past
    ``limit`` waiting requests it is skipped and counted. One task on the event loop
    takes the requests in turn and scores each (a large one in a worker thread), yielding
    to the loop between them, so answers go first. The shadow's predictions go to the
    prediction log with role ``shadow`` and the answered request's id; whatever the
    shadow does (raises, gets inputs it cannot take) is counted and logged once per
    version, and never reaches an answer.
    """

    def __init__(self, metrics: Metrics, sink: PredictionSink | None, *,
                 limit: int = SHADOW_QUEUE) -> None:
        self.metrics = metrics
        self.sink = sink
        self.limit = limit
        self._queue: asyncio.Queue[ShadowJob] | None = None
        self._task: asyncio.Task[None] | None = None
        self._warned: set[tuple[str, int]] = set()

    @property
    def depth(self) -> int:
        """Requests waiting for their shadow."""
        return 0 if self._queue is None else self._queue.qsize()

    def start(self) -> None:
        """Start taking requests (on the event loop, when the server starts)."""
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._run())

    def submit(self, job: ShadowJob) -> None:
        queue = self._queue
        if queue is None or queue.qsize() >= self.limit:
            self.metrics.shadow(job.shadow.name, str(job.shadow.number), "skipped")
            return
        queue.put_nowait(job)

    async def stop(self, timeout: float = 5.0) -> None:
        """Score what waits (for up to ``timeout`` seconds), then stop."""
        if self._task is None or self._queue is None:
            return
        deadline = time.monotonic() + timeout
        while not self._queue.empty() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._task = None

    async def _run(self) -> None:
        queue = self._queue
        assert queue is not None
        while True:
            job = await queue.get()
            if job.inline:
                self.score(job)
            else:
                await anyio.to_thread.run_sync(self.score, job)
            await asyncio.sleep(0)  # a backlog must not starve the requests

    def score(self, job: ShadowJob) -> None:
        """Score ``job`` with its shadow and log it; never raises."""
        shadow = job.shadow
        version = str(shadow.number)
        started = time.perf_counter()
        try:
            frame = job.decoded.frame
            signature = shadow.version.signature
            if signature is not job.answered.version.signature \
                    and signature != job.answered.version.signature:
                frame = _shadow_inputs(shadow, job.decoded.raw)
            predictions = shadow.predict(frame)
            binary = shadow.classifier and len(shadow.pipeline.classes_) == 2
            scores = shadow.positive(shadow.predict_proba(frame)) if binary else None
        except Exception as error:  # noqa: BLE001 - a shadow never fails anything else
            self.metrics.shadow(shadow.name, version, "failed")
            if (shadow.name, shadow.number) not in self._warned:
                self._warned.add((shadow.name, shadow.number))
                event("shadow.failed", level=logging.WARNING, model=shadow.name,
                      version=shadow.number, error_type=type(error).__name__,
                      request_id=job.request_id)
            return
        latency_ms = (time.perf_counter() - started) * 1e3
        self.metrics.shadow(shadow.name, version, "scored")
        self.metrics.predicted(shadow.name, version, "shadow", predictions, scores,
                               shadow.classifier)
        if self.sink is None:
            return
        item = Scored(request_id=job.request_id, received_at=job.received, model=shadow.name,
                      version=shadow.number, role="shadow", inputs=job.decoded.raw,
                      outputs=predictions, scores=scores, latency_ms=latency_ms)
        if not self.sink.submit(item):
            self.metrics.log_dropped.labels(shadow.name).inc(item.rows)


def _shadow_inputs(shadow: Loaded, raw: pd.DataFrame) -> pd.DataFrame:
    """The received rows in the shadow's own signature (it differs from the answering
    version's)."""
    signature = shadow.version.signature
    errors = signature.check(raw).errors(False)
    if errors:
        raise InputError(f"The shadow {shadow.name}@{shadow.number} cannot take these "
                         f"inputs: {'; '.join(errors)}.")
    return signature.coerce(raw)


class Purger:
    """Deletes prediction log segments past ``serving.log.retention_days`` while a server
    runs: when it starts, then every ``every`` seconds, in a daemon thread.

    The purge needs ``project.maintain``; a server whose principal lacks it logs that
    once (``log.purge_refused``) and keeps trying at each interval, in case the role is
    granted. Any other failure (a store that is down) is logged and tried again at the
    next interval; serving is never affected.
    """

    def __init__(self, ctx: Context, every: float) -> None:
        self.ctx = ctx
        self.every = every
        self.refused = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="rasad-serve-purge",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.purge()
            if self._stop.wait(self.every):
                return

    def purge(self) -> None:
        """One purge, its outcome logged; never raises."""
        from rasad.serving.predlog import purge

        try:
            report = purge(self.ctx)
        except PermissionDenied as error:
            if not self.refused:
                event("log.purge_refused", level=logging.WARNING, error=str(error))
            self.refused = True
            return
        except Exception as error:  # noqa: BLE001 - retention waits; serving goes on
            event("log.purge_failed", level=logging.WARNING, error_type=type(error).__name__,
                  error=str(error))
            return
        if report.segments or report.failed:
            event("log.purged", segments=len(report.segments), bytes=report.bytes,
                  failed=len(report.failed), cutoff=report.to_dict()["cutoff"])


SinkFactory = Callable[[Context, str, ProjectConfig], PredictionSink | None]


def open_log(ctx: Context, env: str, config: ProjectConfig) -> PredictionSink | None:
    """The project's prediction log for ``env`` (None when ``serving.log.enabled`` is
    false)."""
    if not config.serving.log.enabled:
        return None
    from rasad.serving.predlog import PredictionLog

    return PredictionLog.open(ctx, env, config.serving.log)


def create_app(root: Path | str, *, env: str | None = None, models: Sequence[str] = (),
               sink: SinkFactory = open_log, registry: CollectorRegistry | None = None,
               auth_cache_seconds: float = CACHE_SECONDS, follow: bool = True,
               poll_seconds: float | None = None,
               purge_seconds: float | None = PURGE_SECONDS) -> FastAPI:
    """The prediction server for the project at ``root``, its models loaded.

    Parameters
    ----------
    root : path
        The project folder (``rasad.yaml``).
    env : str, optional
        The environment whose deployments are served (default: the last one,
        production).
    models : sequence of str
        Serve only these models (default: every model deployed to ``env``).
    sink : callable
        ``(ctx, env, config) -> PredictionSink | None``: where scored requests go
        (default: the project's prediction log).
    registry : CollectorRegistry, optional
        Where the metrics are registered (default: a new one).
    auth_cache_seconds : float
        How long a token's authentication is trusted without the database.
    follow : bool
        Run the server's background work: follow promotions and rollbacks, and purge
        the prediction log (off: a fixed set of models and nothing in the background).
    poll_seconds : float, optional
        How often to look for them (default ``serving.poll_seconds``).
    purge_seconds : float, optional
        Purge the prediction log past its retention when the server starts and then
        this often (default daily; None: never).

    Raises
    ------
    NotFoundError
        No project at ``root``, an unknown environment, or a named model not deployed.
    InputError
        Nothing is deployed to ``env``.
    IntegrityError, UntrustedArtifactError
        A deployed version failed its checks.
    """
    root = Path(root).resolve()
    if not (root / CONFIG_FILE).is_file():
        raise NotFoundError(f"No rasad project in {root}: {CONFIG_FILE} is missing. Run "
                            "`rasad init` there, or pass the project folder.")
    config = ProjectConfig.load(root / CONFIG_FILE)
    environments = config.registry.environments
    env = env or environments[-1]
    ctx = Context.build(root, config)
    try:
        migrate.check_current(ctx.db)
        from rasad.registry.models import check_environment

        check_environment(ctx, env)
        served = ServedModels(ctx, env, models)
        started = served.start()
        log_sink = sink(ctx, env, config)
    except BaseException:
        ctx.close()
        raise
    policy = config.serving.environments.get(env)
    metrics = Metrics(registry if registry is not None else CollectorRegistry())
    server = Server(ctx=ctx, env=env, served=served, metrics=metrics, sink=log_sink,
                    auth=Authenticator(ctx, TokenCache(seconds=auth_cache_seconds)),
                    anonymous=bool(policy and policy.anonymous),
                    max_body_bytes=config.serving.max_body_bytes,
                    max_batch_rows=config.serving.max_batch_rows,
                    shadows=Shadows(metrics, log_sink),
                    unseen_categories=ServingUnseen(
                        config.serving.unseen_categories,
                        {name: model.unseen_categories
                         for name, model in config.serving.models.items()
                         if model.unseen_categories is not None}))
    for change in started:
        entry = served.entries.get(change.model)
        loaded = entry.slot(Slot(change.role)) if entry is not None else None
        if change.error is not None or loaded is None:
            server.changed([change])  # a canary or shadow that failed: logged, counted
            continue
        metrics.serving.labels(change.model, change.role).set(loaded.number)
        event("model.loaded", model=change.model, role=change.role, version=loaded.number,
              environment=env, compiled=loaded.compiled)
    follower = Follower(served, poll_seconds=poll_seconds or config.serving.poll_seconds,
                        on_changes=server.changed, on_tick=server.tick)
    purger = Purger(ctx, purge_seconds) if follow and purge_seconds else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(follower.run()) if follow else None
        server.shadows.start()
        if purger is not None:
            purger.start()
        # What is loaded now (the models, the libraries) lives as long as the server: out
        # of the collector's generations, a full collection no longer walks it, and the
        # pauses that made the slowest requests slower go with it.
        gc.collect()
        gc.freeze()
        event("server.started", environment=env, models=sorted(served.entries),
              anonymous=server.anonymous, pid=os.getpid())
        try:
            yield
        finally:
            server.stopping = True
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                await anyio.to_thread.run_sync(follower.stop)
            await server.shadows.stop()
            if purger is not None:
                await anyio.to_thread.run_sync(purger.stop)
            await anyio.to_thread.run_sync(server.close)
            gc.unfreeze()
            worker_exited(os.getpid())  # its live gauges leave the sums (several workers)
            event("server.stopped", environment=env, pid=os.getpid())

    app = FastAPI(title="rasad prediction server", version=VERSION, lifespan=lifespan,
                  summary="Open Inference Protocol V2 and MLflow scoring for the models "
                          f"deployed to {env}.", redoc_url=None)
    app.state.server = server
    app.state.follower = follower
    app.state.purger = purger
    app.add_middleware(FastLane, server=server)
    _routes(app, server)
    _errors(app, server)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _routes(app: FastAPI, server: Server) -> None:
    """The routes. Handlers take the raw request; the bodies are documented apart."""
    v2_errors = doc.answers(doc.V2Error, 400, 401, 403, 404, 413, 422)
    secured = doc.SECURED

    @app.get("/v2/health/live", response_model=doc.Live, tags=["Open Inference Protocol"])
    async def live() -> Response:
        """The server process is up."""
        return server.answer(b'{"live":true}', _request_id(None), None)

    @app.get("/v2/health/ready", response_model=doc.Ready, tags=["Open Inference Protocol"],
             responses={503: {"model": doc.Ready, "description": "Shutting down."}})
    async def ready() -> Response:
        """Every served model is loaded and the server is not shutting down."""
        ok = bool(server.served.entries) and not server.stopping
        return server.answer(b'{"ready":true}' if ok else b'{"ready":false}',
                             _request_id(None), None, status=200 if ok else 503)

    @app.get("/v2", response_model=doc.ServerMetadata, tags=["Open Inference Protocol"],
             responses=doc.answers(doc.V2Error, 401, 403), openapi_extra=secured)
    async def server_metadata(request: Request) -> Response:
        """The server's name, version and protocol extensions."""
        request_id = _request_id(request)
        try:
            await server.authorize(request, None)
        except Problem as problem:
            return server.problem(problem, V2, request_id, None)
        return server.answer(orjson.dumps({"name": "rasad", "version": VERSION,
                                           "extensions": []}), request_id, None)

    async def metadata(request: Request, name: str, version: str | None) -> Response:
        request_id = _request_id(request)
        try:
            await server.authorize(request, name)
            entry = server.entry(name)
            loaded = server.answering(entry, version)
        except Problem as problem:
            return server.problem(problem, V2, request_id, None)
        versions = [str(loaded.number)] if version is not None else [
            str(v.number) for v in (entry.primary, entry.canary) if v is not None]
        body = v2_metadata(name, versions, loaded.version.signature, classes=loaded.classes)
        return server.answer(orjson.dumps(body), request_id, loaded)

    @app.get("/v2/models/{name}", response_model=doc.ModelMetadata,
             tags=["Open Inference Protocol"], responses=doc.answers(doc.V2Error, 401, 403, 404),
             openapi_extra=secured)
    async def model_metadata(request: Request, name: str) -> Response:
        """The model's inputs (one per signature column) and outputs."""
        return await metadata(request, name, None)

    @app.get("/v2/models/{name}/versions/{version}", response_model=doc.ModelMetadata,
             tags=["Open Inference Protocol"], responses=doc.answers(doc.V2Error, 401, 403, 404),
             openapi_extra=secured)
    async def version_metadata(request: Request, name: str, version: str) -> Response:
        """The metadata of a version answering here: the primary or the canary (404 for any
        other)."""
        return await metadata(request, name, version)

    async def model_ready(request: Request, name: str, version: str | None) -> Response:
        request_id = _request_id(request)
        try:
            await server.authorize(request, name)
            loaded = server.answering(server.entry(name), version)
        except Problem as problem:
            return server.problem(problem, V2, request_id, None)
        return server.answer(orjson.dumps({"name": name, "ready": True}), request_id, loaded)

    @app.get("/v2/models/{name}/ready", response_model=doc.ModelReady,
             tags=["Open Inference Protocol"], responses=doc.answers(doc.V2Error, 401, 403, 404),
             openapi_extra=secured)
    async def ready_model(request: Request, name: str) -> Response:
        """The model is loaded and answering."""
        return await model_ready(request, name, None)

    @app.get("/v2/models/{name}/versions/{version}/ready", response_model=doc.ModelReady,
             tags=["Open Inference Protocol"], responses=doc.answers(doc.V2Error, 401, 403, 404),
             openapi_extra=secured)
    async def ready_version(request: Request, name: str, version: str) -> Response:
        """The version answers here (the primary or the canary), loaded."""
        return await model_ready(request, name, version)

    infer_body = doc.body(doc.InferenceRequest, description=(
        "Named inputs, one per model column, or one tensor [rows, columns]."))

    @app.post("/v2/models/{name}/infer", response_model=doc.InferenceResponse,
              tags=["Open Inference Protocol"], responses=v2_errors,
              openapi_extra={**infer_body, **secured})
    async def infer(request: Request, name: str) -> Response:
        """Score rows with the version serving ``name``."""
        return await server.score(request, V2, name)

    @app.post("/v2/models/{name}/versions/{version}/infer", response_model=doc.InferenceResponse,
              tags=["Open Inference Protocol"], responses=v2_errors,
              openapi_extra={**infer_body, **secured})
    async def infer_version(request: Request, name: str, version: str) -> Response:
        """Score with ``version``, which must be the primary or the canary (404 names the
        primary otherwise)."""
        return await server.score(request, V2, name, version)

    @app.post("/v2/models/{name}/feedback", status_code=202,
              response_model=doc.FeedbackAccepted, tags=["Feedback"],
              responses={**doc.answers(doc.V2Error, 400, 401, 403, 404, 409, 413, 422, 503)},
              openapi_extra={**doc.body(doc.FeedbackRequest, description=(
                  "True labels of a scored request's rows, by its request id.")), **secured})
    async def feedback(request: Request, name: str) -> Response:
        """Send true labels for predictions already made; they join the prediction log."""
        return await server.feedback(request, name)

    mlflow_body = doc.body(doc.MlflowSplit, doc.MlflowRecords, doc.MlflowInstances,
                           doc.MlflowInputs, description="MLflow's scoring format.")

    @app.post("/invocations", response_model=doc.MlflowPredictions, tags=["MLflow"],
              responses=doc.answers(doc.MlflowError, 400, 401, 403, 404, 413, 415, 422),
              openapi_extra={**mlflow_body, **secured})
    async def invocations(
        request: Request,
        model: str | None = Query(None, description="The model to score with, when the "
                                  "server serves several."),
        x_rasad_model: str | None = Header(None, description="The same, as a header."),
        explain: bool | None = Query(None, description="true: add each row's reason codes "
                                     "(`reasons`, `explained_with`); as `params.explain`."),
    ) -> Response:
        """Score rows with the served model (MLflow's ``/invocations``)."""
        del explain  # documented here; Server.score reads it from the request itself
        return await server.score(request, MLFLOW, model or x_rasad_model)

    @app.get("/ping", response_class=PlainTextResponse, tags=["MLflow"])
    async def ping() -> Response:
        """Liveness, as MLflow's scoring server answers it."""
        return PlainTextResponse("\n")

    @app.get("/health", response_class=PlainTextResponse, tags=["MLflow"])
    async def health() -> Response:
        """Liveness, as MLflow's scoring server answers it."""
        return PlainTextResponse("\n")

    @app.get("/version", response_class=PlainTextResponse, tags=["MLflow"],
             responses=doc.answers(doc.MlflowError, 401, 403), openapi_extra=secured)
    async def version(request: Request) -> Response:
        """The rasad version serving."""
        try:
            await server.authorize(request, None)
        except Problem as problem:
            return server.problem(problem, MLFLOW, _request_id(request), None)
        return PlainTextResponse(VERSION)

    @app.get("/metrics", response_class=PlainTextResponse, tags=["Operations"])
    async def metrics() -> Response:
        """Prometheus metrics (every worker's, with --workers N)."""
        server.tick()
        return Response(render(server.metrics.registry), media_type=CONTENT_TYPE)


class FastLane:
    """The scoring routes without FastAPI's routing and parameter solving.

    ``POST /v2/models/{name}[/versions/{v}]/infer`` and ``POST /invocations`` go straight
    to :meth:`Server.score`, which needs nothing from FastAPI but the raw request; every
    other request, and the OpenAPI description of these, is FastAPI's. Paths are matched
    as FastAPI matches them (a name is one path segment).
    """

    def __init__(self, app: ASGIApp, server: Server) -> None:
        self.app = app
        self.server = server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            routed = _scoring_route(scope)
            if routed is not None:
                protocol, name, version = routed
                request = Request(scope, receive)
                if protocol == MLFLOW:
                    name = _chosen_model(scope, request)
                response = await self.server.score(request, protocol, name, version)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _scoring_route(scope: Scope) -> tuple[str, str | None, str | None] | None:
    """``(protocol, model, version)`` of a scoring path, else None."""
    path: str = scope["path"]
    if path == "/invocations":
        return MLFLOW, None, None
    if not path.startswith("/v2/models/") or not path.endswith("/infer"):
        return None
    parts = path.split("/")  # "", "v2", "models", NAME, ["versions", V,] "infer"
    if len(parts) == 5 and parts[3]:
        return V2, parts[3], None
    if len(parts) == 7 and parts[3] and parts[4] == "versions" and parts[5]:
        return V2, parts[3], parts[5]
    return None


def _chosen_model(scope: Scope, request: Request) -> str | None:
    """The ``model`` query parameter or ``X-Rasad-Model`` header of an MLflow request."""
    if scope.get("query_string"):
        chosen = request.query_params.get("model")
        if chosen:
            return chosen
    return request.headers.get("x-rasad-model") or None


def _request_id(request: Request | None) -> str:
    given = request.headers.get("x-request-id") if request is not None else None
    return given[:MAX_ID] if given else uuid.uuid4().hex


def _errors(app: FastAPI, server: Server) -> None:
    """Answers for what never reached a handler (no such route, wrong method), in the
    protocol of the path."""

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        protocol = V2 if request.url.path.startswith("/v2") else MLFLOW
        message = ("No such route; see /openapi.json for the routes." if error.status_code
                   == 404 else str(error.detail))
        return server.problem(Problem(error.status_code, message, reason="route"), protocol,
                              _request_id(request), None)

    async def invalid(request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        protocol = V2 if request.url.path.startswith("/v2") else MLFLOW
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ())[1:]) or None
        return server.problem(Problem(400, f"Invalid request: {first.get('msg', 'invalid')}.",
                                      reason="bad_request", field=where), protocol,
                              _request_id(request), None)

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, plus the request bodies and the token scheme it cannot see."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, summary=app.summary,
                             routes=app.routes)
        components = schema.setdefault("components", {})
        components.setdefault("schemas", {}).update(doc.components())
        components["securitySchemes"] = {"token": doc.TOKEN_SCHEME}
        app.openapi_schema = schema
    return app.openapi_schema


ENV_ROOT: Final = "RASAD_SERVE_ROOT"
ENV_ENVIRONMENT: Final = "RASAD_SERVE_ENV"
ENV_MODELS: Final = "RASAD_SERVE_MODELS"


def app_from_environment() -> FastAPI:
    """The app of a uvicorn worker (``rasad serve --workers N``): its settings come from
    ``RASAD_SERVE_ROOT``, ``RASAD_SERVE_ENV`` and ``RASAD_SERVE_MODELS`` (comma-separated),
    which ``rasad serve`` sets before starting the workers."""
    from rasad.serving.online.metrics import configure_logging

    configure_logging()
    root = os.environ.get(ENV_ROOT)
    if not root:
        raise NotFoundError(f"{ENV_ROOT} is not set: start the server with `rasad serve`.")
    names = [n for n in os.environ.get(ENV_MODELS, "").split(",") if n]
    return create_app(root, env=os.environ.get(ENV_ENVIRONMENT) or None, models=names)


__all__ = ["ENV_ENVIRONMENT", "ENV_MODELS", "ENV_ROOT", "MLFLOW", "PURGE_SECONDS",
           "SHADOW_QUEUE", "V2", "Problem", "Purger", "Server", "ShadowJob", "Shadows",
           "app_from_environment", "create_app", "open_log"]
