"""A shadow scores every answered request after the answer, never answering: its predictions
go to the prediction log beside the answer's, under the same request id; whatever it does
(raise, take too long, fall behind) never reaches an answer.

The module's seeded project (test_canary.py): credit@1 serves production; credit@3, trained
on three of the four columns, is the shadow, so its rows are decoded for it apart. A
model's own failure is injected by swapping the loaded shadow's scorer (the model, not
rasad, misbehaves).
"""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from collections.abc import Iterator
from types import MappingProxyType
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from rasad import Project
from rasad.registry import promotion
from rasad.serving.online import create_app
from rasad.serving.predlog import read_log

from . import test_canary
from .conftest import ENV, MODEL, Served, expected, mlflow_split, rows, v2_named
from .test_canary import with_slots

source = test_canary.source  # the module's seeded project, and a copy of it per test
slotted = test_canary.slotted

INFER = f"/v2/models/{MODEL}/infer"
SUBSET = ["income", "age", "debt_to_income"]


@pytest.fixture
def shadowed(slotted: Served, client_of: Any) -> tuple[Served, TestClient]:
    """credit@3 as the shadow of production."""
    with_slots(slotted.project, shadow=3)
    return slotted, client_of(create_app(slotted.root, follow=False))


def logged(served: Served) -> pd.DataFrame:
    return read_log(served.project.context, MODEL, environment=ENV, with_feedback=False,
                    role=None)


def settle(client: TestClient) -> None:
    """Wait for the shadow's queue to empty, then write the log."""
    server = client.app.state.server  # type: ignore[attr-defined]
    deadline = time.monotonic() + 10
    while server.shadows.depth and time.monotonic() < deadline:
        time.sleep(0.01)
    client.get("/v2/health/live")  # one more turn of the event loop
    server.sink.close()


def swap_shadow_scorer(app: FastAPI, scorer: Any) -> None:
    """The loaded shadow, with ``scorer`` in place of its model (the server follows
    nothing here: follow=False)."""
    served = app.state.server.served
    entry = served.get(MODEL)
    shadow = dataclasses.replace(entry.shadow, scorer=scorer)
    served._entries = MappingProxyType({**served.entries,
                                        MODEL: dataclasses.replace(entry, shadow=shadow)})


class Exploding:
    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        raise RuntimeError("the shadow model broke")

    predict_proba = predict


class Held:
    """A shadow scorer that starts, then does not finish until the test releases it."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.started = threading.Event()
        self.release = threading.Event()
        self.finished = threading.Event()

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        self.started.set()
        self.release.wait(timeout=60)
        self.finished.set()
        return np.asarray(self.model.predict(frame))

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.model.predict_proba(frame))


def test_the_shadow_is_logged_beside_the_answer_and_never_answers(
        shadowed: tuple[Served, TestClient]) -> None:
    served, client = shadowed
    frame = rows(5, start=10)
    headers = served.as_predictor
    for i in range(12):
        answer = client.post(INFER, json=v2_named(frame, id=f"v{i}"), headers=headers)
        assert answer.status_code == 200, answer.text
        assert answer.headers["x-rasad-model-version"] == "1"
        assert answer.json()["outputs"][0]["data"] == expected(served.project, frame, 1)
    mlflow = client.post(f"/invocations?model={MODEL}", json=mlflow_split(frame),
                         headers={**headers, "x-request-id": "m1"})
    assert mlflow.json()["model_version"] == 1
    assert client.post(f"/v2/models/{MODEL}/versions/3/infer", json=v2_named(frame),
                       headers=headers).status_code == 404  # a shadow never answers
    settle(client)
    log = logged(served)
    primary, shadow = log[log["role"] == "primary"], log[log["role"] == "shadow"]
    ids = {f"v{i}" for i in range(12)} | {"m1"}
    assert set(primary["request_id"]) == set(shadow["request_id"]) == ids
    assert set(shadow["version"]) == {3} and set(primary["version"]) == {1}
    assert len(shadow) == len(primary) == 13 * 5
    model = served.project.load_model(MODEL, 3)
    for request_id, rows_of in shadow.groupby("request_id"):
        ordered = rows_of.sort_values("row")
        assert ordered["row"].tolist() == [0, 1, 2, 3, 4]
        assert ordered["prediction"].tolist() == [int(v) for v in model.predict(frame[SUBSET])]
        assert np.allclose(ordered["score"], model.predict_proba(frame[SUBSET])[:, 1])
        # Same arrival time as the answer it shadows: one request, two versions.
        assert set(ordered["time"]) == set(primary[primary["request_id"] == request_id]["time"])
    metrics = client.get("/metrics").text
    assert 'rasad_shadow_requests_total{model="credit",outcome="scored",version="3"} 13.0' \
        in metrics
    assert 'rasad_model_serving_version{model="credit",role="shadow"} 3.0' in metrics
    assert 'rasad_predictions_total{label="0",model="credit",role="shadow",version="3"}' \
        in metrics


def test_a_shadow_that_raises_changes_no_answer(
        shadowed: tuple[Served, TestClient], caplog: pytest.LogCaptureFixture) -> None:
    served, client = shadowed
    swap_shadow_scorer(client.app, Exploding())  # type: ignore[arg-type]
    frame = rows(3)
    with caplog.at_level("WARNING", logger="rasad.serve"):
        for i in range(10):
            answer = client.post(INFER, json=v2_named(frame, id=f"x{i}",
                                                      outputs=[{"name": "predict_proba"}]),
                                 headers=served.as_predictor)
            assert answer.status_code == 200, answer.text
            assert answer.headers["x-rasad-model-version"] == "1"
        settle(client)
    failed = [r for r in caplog.records if r.getMessage() == "shadow.failed"]
    assert len(failed) == 1  # once per version, not once a request
    assert failed[0].fields["error_type"] == "RuntimeError"  # type: ignore[attr-defined]
    assert "broke" not in caplog.text  # the type, never the message (it may hold inputs)
    log = logged(served)
    assert set(log["role"]) == {"primary"} and len(log) == 30
    metrics = client.get("/metrics").text
    assert 'rasad_shadow_requests_total{model="credit",outcome="failed",version="3"} 10.0' \
        in metrics
    assert 'outcome="scored"' not in metrics


def test_a_full_shadow_queue_skips_the_shadow_not_the_answer(
        shadowed: tuple[Served, TestClient]) -> None:
    served, client = shadowed
    client.app.state.server.shadows.limit = 0  # type: ignore[attr-defined]
    for i in range(5):
        assert client.post(INFER, json=v2_named(rows(1), id=f"q{i}"),
                           headers=served.as_predictor).status_code == 200
    settle(client)
    assert set(logged(served)["role"]) == {"primary"}
    assert 'rasad_shadow_requests_total{model="credit",outcome="skipped",version="3"} 5.0' \
        in client.get("/metrics").text


def test_a_shadow_whose_inputs_are_missing_is_counted_as_failed(
        slotted: Served, client_of: Any) -> None:
    # credit@3 (three columns) answers; credit@1, which also needs employment_type, shadows
    # it: requests that carry only the three columns are answered, the shadow fails.
    with Project.open(slotted.root) as project:
        promotion.promote(project.context, MODEL, 3, ENV)
        promotion.promote(project.context, MODEL, 1, ENV, slot="shadow")
    client = client_of(create_app(slotted.root, follow=False))
    frame = rows(2)[SUBSET]
    for i in range(4):
        answer = client.post(INFER, json=v2_named(frame, id=f"n{i}"),
                             headers=slotted.as_predictor)
        assert answer.status_code == 200, answer.text
        assert answer.headers["x-rasad-model-version"] == "3"
    settle(client)
    assert set(logged(slotted)["role"]) == {"primary"}
    assert 'rasad_shadow_requests_total{model="credit",outcome="failed",version="1"} 4.0' \
        in client.get("/metrics").text


@pytest.fixture
def live(shadowed: tuple[Served, TestClient]) -> Iterator[tuple[str, Served, FastAPI]]:
    """The shadowed project served by uvicorn on a real socket, in a thread."""
    served, _ = shadowed
    app = create_app(served.root, follow=False)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", served, app
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def test_the_answer_does_not_wait_for_the_shadow(live: tuple[str, Served, FastAPI]) -> None:
    url, served, app = live
    shadow = app.state.server.served.get(MODEL).shadow
    held = Held(shadow.scorer)
    swap_shadow_scorer(app, held)
    frame = rows(2)
    try:
        with httpx.Client(base_url=url, headers=served.as_predictor, timeout=30) as client:
            answer = client.post(INFER, json=v2_named(frame, id="slow-1"))
            # The answer came back while the shadow, which did start, is still held.
            assert held.started.wait(timeout=30) and not held.finished.is_set()
    finally:
        held.release.set()
    assert answer.status_code == 200
    assert answer.json()["outputs"][0]["data"] == expected(served.project, frame, 1)
    assert held.finished.wait(timeout=30)  # released, the shadow completes
