"""Reason codes from the prediction server: asked per request, in each protocol's shape,
equal to batch scoring's, refused clearly, and the request still logged."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from rasad import Project
from rasad.serving.online import create_app
from rasad.serving.predlog import read_log
from tests.serving.online.conftest import (
    ENV,
    MODEL,
    Served,
    expected,
    mlflow_split,
    rows,
    v2_named,
)

INFER = f"/v2/models/{MODEL}/infer"
EXPLAIN = {"parameters": {"explain": True}}


@pytest.fixture(scope="module")
def client(shared: Served) -> Iterator[TestClient]:
    app = create_app(shared.root, follow=False)
    with TestClient(app, raise_server_exceptions=False,
                    headers=shared.as_predictor) as client:
        yield client


def batch_reasons(project: Project, n: int) -> list[list[dict[str, Any]]]:
    """What `rasad predict --explain` gives for the same rows."""
    result = project.predict(MODEL, rows(n), version=1, explain=True)
    assert result.frame is not None
    return [json.loads(text) for text in result.frame["reasons"]]


def test_v2_explain_adds_reason_tensors_equal_to_batch_scoring(client: TestClient,
                                                               shared: Served) -> None:
    answer = client.post(INFER, json=v2_named(rows(5), **EXPLAIN))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    outputs = {o["name"]: o for o in body["outputs"]}
    assert list(outputs) == ["predict", "reasons", "reason_features", "reason_effects"]
    assert outputs["predict"]["data"] == expected(shared.project, rows(5))
    k = shared.project.config.governance.explanations.reasons
    for name in ("reasons", "reason_features", "reason_effects"):
        assert outputs[name]["shape"] == [5, k]
    assert body["parameters"] == {"explained_with": "substitution",
                                  "reasons_reference": "profile of loans@1"}
    batch = batch_reasons(shared.project, 5)
    texts = np.array(outputs["reasons"]["data"], dtype=object).reshape(5, k)
    features = np.array(outputs["reason_features"]["data"], dtype=object).reshape(5, k)
    effects = outputs["reason_effects"]["data"]
    for i, reasons in enumerate(batch):
        assert list(texts[i][:len(reasons)]) == [r["text"] for r in reasons]
        assert list(features[i][:len(reasons)]) == [r["feature"] for r in reasons]
        assert all(t == "" for t in texts[i][len(reasons):])
        assert effects[i * k:i * k + len(reasons)] == pytest.approx(
            [r["effect"] for r in reasons], abs=1e-12)
        assert all(e is None for e in effects[i * k + len(reasons):(i + 1) * k])
    assert any(batch), "the rows chosen have reasons"


def test_v2_without_explain_answers_as_before(client: TestClient) -> None:
    for extra in ({}, {"parameters": {"explain": False}}):
        body = client.post(INFER, json=v2_named(rows(2), **extra)).json()
        assert [o["name"] for o in body["outputs"]] == ["predict"]
        assert "parameters" not in body


def test_mlflow_explains_by_params_or_query(client: TestClient, shared: Served) -> None:
    batch = batch_reasons(shared.project, 3)
    by_params = client.post(f"/invocations?model={MODEL}", json={**mlflow_split(rows(3)),
                                                  "params": {"explain": True}})
    by_query = client.post(f"/invocations?model={MODEL}&explain=true", json=mlflow_split(rows(3)))
    for answer in (by_params, by_query):
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["predictions"] == expected(shared.project, rows(3))
        assert body["explained_with"] == "substitution"
        assert [[r["text"] for r in row] for row in body["reasons"]] == [
            [r["text"] for r in row] for row in batch]
        assert set(body["reasons"][0][0]) == {"feature", "value", "reference", "effect", "text"}
    plain = client.post(f"/invocations?model={MODEL}&explain=false",
                        json=mlflow_split(rows(3))).json()
    assert set(plain) == {"predictions", "model_name", "model_version"}


@pytest.mark.parametrize(("path", "body", "field"), [
    (INFER, v2_named(rows(1), parameters={"explain": "yes"}), "parameters.explain"),
    (f"/invocations?model={MODEL}", {**mlflow_split(rows(1)), "params": {"explain": 1}},
     "params.explain"),
])
def test_explain_must_be_a_boolean(client: TestClient, path: str, body: dict[str, Any],
                                   field: str) -> None:
    answer = client.post(path, json=body)
    assert answer.status_code == 400
    text = answer.json().get("error") or answer.json()["message"]
    assert f'"{field}" must be true or false' in text
    bad = client.post(f"/invocations?model={MODEL}&explain=maybe", json=mlflow_split(rows(1)))
    assert bad.status_code == 400 and "?explain=true" in bad.json()["message"]


def test_a_version_without_typical_values_refuses_explain_and_still_scores(
        shared: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    from rasad.serving import batch

    real = batch.explainer

    def without(ctx: Any, version: Any, model: Any, *, scorer: Any = None) -> Any:
        # The version as a model logged by hand records it: no training dataset.
        return real(ctx, version.model_copy(update={"datasets": []}), model, scorer=scorer)

    monkeypatch.setattr(batch, "explainer", without)
    app = create_app(shared.root, models=[MODEL], follow=False)
    with TestClient(app, headers=shared.as_predictor) as client:
        refused = client.post(INFER, json=v2_named(rows(1), **EXPLAIN))
        assert refused.status_code == 422
        assert refused.json() == {
            "error": "Model 'credit' version 1 gives no reason codes: credit@1 records no "
                     "training dataset, so its reason codes have no typical values to compare "
                     "with. Train it with `rasad train`, or record the data its run used "
                     "(Run.use_dataset) before registering it.",
            "field": "parameters.explain"}
        assert client.post(INFER, json=v2_named(rows(1))).status_code == 200
        metrics = client.get("/metrics").text
    assert 'rasad_request_errors_total{protocol="v2",reason="explain"} 1.0' in metrics


def test_a_loaded_version_holds_its_typical_values_from_training(shared: Served) -> None:
    from rasad.serving.online.models import load

    version = shared.project.model(MODEL).versions[0]
    loaded = load(shared.project.context, version)
    assert loaded.explainer is not None and loaded.unexplainable is None
    profile = shared.project.dataset("loans", 1).profile
    assert loaded.explainer.references.values["income"] == \
        profile.column("income").quantiles["0.5"]
    # The compiled scorer, proved equal to the pipeline, predicts the substituted rows.
    assert loaded.explainer.scorer is loaded.scorer


def test_explained_requests_reach_the_prediction_log(shared: Served) -> None:
    app = create_app(shared.root, models=[MODEL], follow=False)
    with TestClient(app, headers=shared.as_predictor) as client:
        sent = client.post(INFER, json=v2_named(rows(2), id="explained-1", **EXPLAIN))
        assert sent.status_code == 200
        mlflow = client.post(f"/invocations?model={MODEL}&explain=true", json=mlflow_split(rows(2)),
                             headers={"x-request-id": "explained-2"})
        assert mlflow.status_code == 200
    logged = read_log(shared.project.context, MODEL, environment=ENV, with_feedback=False)
    mine = logged[logged["request_id"].str.startswith("explained-")]
    assert sorted(mine["request_id"]) == ["explained-1", "explained-1", "explained-2",
                                          "explained-2"]
    assert list(mine.sort_values(["request_id", "row"])["prediction"].astype(int)) == \
        expected(shared.project, rows(2)) * 2


def test_the_documented_explain_request_gets_the_documented_answer(shared: Served) -> None:
    import re
    from pathlib import Path

    docs = (Path(__file__).parents[3] / "docs" / "explanations.md").read_text()
    (block,) = [b for b in re.findall(r"```console\n(.*?)```", docs, flags=re.S)
                if "curl" in b]
    lines = block.replace("\\\n", " ").splitlines()
    call = re.search(r"curl -s http://127\.0\.0\.1:8080(\S+) .*-d '(.*)'", lines[0])
    assert call is not None
    shown = json.loads(lines[1])
    app = create_app(shared.root, models=[MODEL], follow=False)
    with TestClient(app, headers=shared.as_predictor) as client:
        answer = client.post(call.group(1), json=json.loads(call.group(2)))
    assert answer.status_code == 200, answer.text
    got = answer.json()
    assert set(got) == set(shown)
    assert set(got["parameters"]) == set(shown["parameters"])
    assert [(o["name"], o["shape"], o["datatype"]) for o in got["outputs"]] == [
        (o["name"], o["shape"], o["datatype"]) for o in shown["outputs"]]
    # The test project's credit model is the documented one: the same reasons, in words.
    for got_output, shown_output in zip(got["outputs"], shown["outputs"], strict=True):
        if got_output["datatype"] == "FP64":
            assert got_output["data"] == pytest.approx(shown_output["data"], abs=5e-4)
        else:
            assert got_output["data"] == shown_output["data"]
    assert got["id"] == shown["id"] and got["parameters"] == shown["parameters"]
