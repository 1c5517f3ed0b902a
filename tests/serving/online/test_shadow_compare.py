"""End to end: a server with a canary and a shadow, real requests and feedback, then
`compare` over its log; every figure recomputed from the answers the client got and the
models' own predictions, with scikit-learn. And the docs' example of it runs as shown."""

from __future__ import annotations

import contextlib
import io
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import accuracy_score

from rasad import Project
from rasad.serving.online import create_app
from tests.registry._helpers import TARGET, portfolio

from . import test_canary
from .conftest import ENV, MODEL, Served, rows, v2_named
from .test_canary import with_slots
from .test_shadow import SUBSET, settle

source = test_canary.source
slotted = test_canary.slotted
INFER = f"/v2/models/{MODEL}/infer"


def test_compare_reports_what_the_server_answered(slotted: Served, client_of: Any) -> None:
    with_slots(slotted.project, canary=2, shadow=3, share=0.3)
    client = client_of(create_app(slotted.root, follow=False))
    truth = portfolio()[TARGET]
    shadow_model = slotted.project.load_model(MODEL, 3)
    got: dict[int, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    agreement: dict[int, list[bool]] = defaultdict(list)
    score_gaps: dict[int, list[float]] = defaultdict(list)
    shadow_truth, shadow_said = [], []
    for i in range(40):
        frame = rows(2, start=2 * i)
        asks_proba = i % 2 == 0
        outputs = [{"name": "predict"}] + ([{"name": "predict_proba"}] if asks_proba else [])
        answer = client.post(INFER, json=v2_named(frame, id=f"e{i}", outputs=outputs),
                             headers=slotted.as_predictor)
        assert answer.status_code == 200, answer.text
        version = int(answer.headers["x-rasad-model-version"])
        said = answer.json()["outputs"][0]["data"]
        labels = truth.iloc[2 * i:2 * i + 2].astype(int).tolist()
        assert client.post(f"/v2/models/{MODEL}/feedback", headers=slotted.as_predictor,
                           json={"request_id": f"e{i}", "labels": labels}).status_code == 202
        got[version]["said"] += said
        got[version]["truth"] += labels
        got[version]["requests"].append(i)
        mine = shadow_model.predict(frame[SUBSET]).tolist()
        agreement[version] += [a == b for a, b in zip(mine, said, strict=True)]
        shadow_truth += labels
        shadow_said += mine
        if asks_proba:
            theirs = np.asarray(answer.json()["outputs"][1]["data"]).reshape(2, 2)[:, 1]
            score_gaps[version] += np.abs(
                shadow_model.predict_proba(frame[SUBSET])[:, 1] - theirs).tolist()
    settle(client)
    with Project.open(slotted.root) as project:  # with the canary share of rasad.yaml
        report = project.compare_serving(MODEL, ENV)
    assert report.requests == 40 and report.canary_share == 0.3
    found = {(v.role, v.version): v for v in report.versions}
    assert set(found) == {("primary", 1), ("canary", 2), ("shadow", 3)}
    for version, role in ((1, "primary"), (2, "canary")):
        mine = found[(role, version)]
        assert mine.requests == len(got[version]["requests"])
        assert mine.answered_share == pytest.approx(mine.requests / 40)
        assert mine.labelled == mine.rows == 2 * mine.requests
        assert mine.metrics["accuracy"] == pytest.approx(
            accuracy_score(got[version]["truth"], got[version]["said"]))
    shadow = found[("shadow", 3)]
    assert shadow.requests == 40 and shadow.scored_labelled == 80  # a shadow always scores
    assert shadow.metrics["accuracy"] == pytest.approx(accuracy_score(shadow_truth,
                                                                      shadow_said))
    for item in report.agreement:
        assert item.shadow_version == 3
        assert item.rows == len(agreement[item.against_version])
        assert item.agreement == pytest.approx(np.mean(agreement[item.against_version]))
        gaps = score_gaps[item.against_version]
        assert item.score_rows == len(gaps)
        assert item.mean_abs_score_difference == pytest.approx(np.mean(gaps), rel=1e-9)
    assert report.unmatched_shadow_rows == 0


DOCS = Path(__file__).parents[3] / "docs" / "serving.md"


def test_the_documented_canary_and_shadow_example_prints_what_it_shows(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    text = DOCS.read_text(encoding="utf-8")
    blocks = re.findall(r"```(\w*)\n(.*?)```", text, flags=re.S)  # (language, text)
    found = [i for i, (language, code) in enumerate(blocks)
             if language == "python" and "compare_serving" in code]
    assert len(found) == 1, "docs/serving.md lost its canary and shadow example"
    code, (language, shown) = blocks[found[0]][1], blocks[found[0] + 1]
    assert language == ""  # the output, right after the example
    monkeypatch.chdir(tmp_path)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, str(DOCS), "exec"), {})
    assert printed.getvalue() == shown
