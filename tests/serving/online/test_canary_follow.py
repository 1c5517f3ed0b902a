"""A canary promoted, retired or promoted to primary reaches a running server as a primary
does: within the poll window (at once on PostgreSQL, by NOTIFY), without a failed request
(SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from fastapi.testclient import TestClient

from rasad import Project
from rasad.registry import promotion
from rasad.serving.online import create_app
from tests.registry._helpers import serve_canary

from .conftest import ENV, MODEL, Served, rows, v2_named

INFER = f"/v2/models/{MODEL}/infer"


@dataclass
class Traffic:
    """A client thread scoring in a loop, each request with its own id (so a canary gets
    its share); what each answer said, with its time."""

    client: TestClient
    headers: dict[str, str]
    answers: list[tuple[float, int, str | None]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        body = v2_named(rows(1))
        sent = 0
        while not self.stop.is_set():
            sent += 1
            answer = self.client.post(INFER, json=body,
                                      headers={**self.headers, "x-request-id": f"t{sent}"})
            self.answers.append((time.monotonic(), answer.status_code,
                                 answer.headers.get("x-rasad-model-version")))

    def since(self, after: float) -> list[str | None]:
        return [version for at, _, version in list(self.answers) if at > after]

    def settles(self, versions: set[str], after: float, within: float) -> float:
        """Seconds from ``after`` until every later answer (half a second of them at
        least) comes from ``versions``; fails past ``within``."""
        deadline = after + within
        while time.monotonic() < deadline:
            time.sleep(0.05)
            seen = list(self.answers)
            off = [at for at, _, version in seen if at > after and version not in versions]
            settled = max(off, default=after)
            if seen and seen[-1][0] - settled > 0.5:
                return settled - after
        raise AssertionError(f"answers did not settle on {versions} within {within} s")

    def reaches(self, version: str, after: float, within: float) -> float:
        deadline = after + within
        while time.monotonic() < deadline:
            for at, _, answered in list(self.answers):
                if at > after and answered == version:
                    return at - after
            time.sleep(0.02)
        raise AssertionError(f"no answer by version {version} within {within} s")


def test_a_canary_promoted_retired_and_made_primary_live(served: Served, backend: str) -> None:
    serve_canary(served.root, ENV, share=0.5)
    poll = 0.2 if backend == "sqlite" else 30.0  # PostgreSQL: only NOTIFY explains speed
    app = create_app(served.root, poll_seconds=poll)
    with Project.open(served.root) as project, \
            TestClient(app, raise_server_exceptions=False) as client:
        ctx = project.context
        if backend == "postgresql":
            assert app.state.follower.listening.wait(10), "the server never listened"
        traffic = Traffic(client, served.as_predictor)
        thread = threading.Thread(target=traffic.run)
        thread.start()
        try:
            time.sleep(0.3)
            assert set(traffic.since(0.0)) == {"1"}
            promotion.promote(ctx, MODEL, 2, ENV, slot="canary")
            promoted = time.monotonic()
            assert traffic.reaches("2", promoted, within=5.0) < 3.0
            promotion.retire(ctx, MODEL, ENV, "canary")
            retired = time.monotonic()
            assert traffic.settles({"1"}, retired, within=5.0) < 3.0
            promotion.promote(ctx, MODEL, 2, ENV, slot="canary")
            again = time.monotonic()
            assert traffic.reaches("2", again, within=5.0) < 3.0
            promotion.promote(ctx, MODEL, 2, ENV)  # the canary's version becomes primary
            made_primary = time.monotonic()
            assert traffic.settles({"2"}, made_primary, within=5.0) < 3.0
        finally:
            traffic.stop.set()
            thread.join()
        metrics = client.get("/metrics").text
    statuses = {status for _, status, _ in traffic.answers}
    assert statuses == {200}, statuses
    assert len(traffic.answers) > 40
    slots = [line for line in metrics.splitlines()
             if line.startswith('rasad_model_serving_version{model="credit"')]
    # The retired canary left the gauge; the canary made primary left its slot with it.
    assert slots == ['rasad_model_serving_version{model="credit",role="primary"} 2.0'], slots
