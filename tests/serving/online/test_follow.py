"""Live follow: a promotion or rollback reaches a running server within seconds and no
request fails; a version that cannot be loaded leaves the old one serving."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient

from rasad.registry import promotion
from rasad.serving.online import create_app
from tests.registry._helpers import blob_path, counted, flip_one_byte
from tests.serving.online.conftest import ENV, MODEL, Served, rows, v2_named

INFER = f"/v2/models/{MODEL}/infer"


@dataclass
class Traffic:
    """A client thread scoring in a loop; what each answer said, with its time."""

    client: TestClient
    headers: dict[str, str]
    answers: list[tuple[float, int, str | None]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        body = v2_named(rows(2))
        while not self.stop.is_set():
            sent = self.client.post(INFER, json=body, headers=self.headers)
            self.answers.append((time.monotonic(), sent.status_code,
                                 sent.headers.get("x-rasad-model-version")))

    def first(self, version: str, after: float, within: float) -> float:
        """Seconds from ``after`` to the first answer by ``version`` (fails past ``within``)."""
        deadline = after + within
        while time.monotonic() < deadline:
            for at, _, answered in list(self.answers):
                if at > after and answered == version:
                    return at - after
            time.sleep(0.02)
        raise AssertionError(f"no answer by version {version} within {within} s")


def test_promotion_and_rollback_switch_the_answers_without_a_failed_request(
        served: Served, backend: str) -> None:
    # On PostgreSQL the poll is 30 s: only the NOTIFY sent on commit explains a fast switch.
    poll = 0.2 if backend == "sqlite" else 30.0
    app = create_app(served.root, poll_seconds=poll)
    ctx = served.project.context
    with TestClient(app, raise_server_exceptions=False) as client:
        follower = app.state.follower
        if backend == "postgresql":
            assert follower.listening.wait(10), "the server never listened"
        traffic = Traffic(client, served.as_predictor)
        thread = threading.Thread(target=traffic.run)
        thread.start()
        try:
            time.sleep(0.3)
            # Timed from the commit (the call's return): the server cannot know sooner.
            promotion.promote(ctx, MODEL, 2, ENV)
            promoted = time.monotonic()
            to_two = traffic.first("2", promoted, within=10.0)
            promotion.rollback(ctx, MODEL, ENV)
            rolled = time.monotonic()
            back = traffic.first("1", rolled, within=10.0)
            time.sleep(0.2)
        finally:
            traffic.stop.set()
            thread.join()
    statuses = {status for _, status, _ in traffic.answers}
    assert statuses == {200}, statuses
    assert len(traffic.answers) > 20
    # "Within a couple of seconds"; on PostgreSQL far below the 30 s poll.
    assert to_two < 3.0 and back < 3.0, (to_two, back)
    # After each switch the answers stay on the new version: no flapping back.
    after_rollback = [v for at, _, v in traffic.answers if at > rolled + back + 0.05]
    assert set(after_rollback) == {"1"}
    metrics = client.get("/metrics").text
    assert 'rasad_model_reloads_total{model="credit"} 2.0' in metrics


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_version_that_fails_to_load_leaves_the_old_one_serving(
        served: Served, caplog: pytest.LogCaptureFixture) -> None:
    ctx = served.project.context
    app = create_app(served.root, poll_seconds=60.0)
    with TestClient(app, headers=served.as_predictor) as client:
        promotion.promote(ctx, MODEL, 2, ENV)  # verified: the bytes were sound then
        flip_one_byte(blob_path(served.project, _blob(served, 2)))
        with caplog.at_level(logging.INFO, logger="rasad.serve"):
            app.state.follower.wake()
            deadline = time.monotonic() + 10
            while "model.load_failed" not in caplog.text and time.monotonic() < deadline:
                time.sleep(0.05)
        assert "model.load_failed" in caplog.text
        failure = next(r for r in caplog.records if r.getMessage() == "model.load_failed")
        assert failure.fields["version"] == 2 and failure.fields["serving"] == 1  # type: ignore[attr-defined]
        assert failure.fields["error_type"] == "IntegrityError"  # type: ignore[attr-defined]
        answer = client.post(INFER, json=v2_named(rows(1)))
        assert answer.status_code == 200
        assert answer.headers["x-rasad-model-version"] == "1"
        metrics = client.get("/metrics").text
        assert 'rasad_model_load_failures_total{model="credit"} 1.0' in metrics
        assert 'rasad_model_serving_version{model="credit",role="primary"} 1.0' in metrics
        # Nothing changed since: looking again costs one read of the ledger head.
        served_models = app.state.server.served
        with counted(app.state.server.ctx) as statements:
            assert served_models.refresh() == []
        assert len([s for s in statements if "ledger_head" in s]) == 1
        assert not [s for s in statements if "model_versions" in s]


def _blob(served: Served, version: int) -> str:
    from rasad.registry import models

    return models.resolve(served.project.context, MODEL, version=version).blob
