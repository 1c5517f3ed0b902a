"""The prediction server in-process: both protocols score as the registered pipeline does,
every answer names its model, version and request, and every error has its status and
its protocol's shape."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from rasad.serving.online import create_app
from rasad.serving.predlog import read_log
from tests.serving.online.conftest import (
    ENV,
    MODEL,
    OTHER,
    Served,
    configure,
    expected,
    mlflow_split,
    rows,
    v2_named,
)

INFER = f"/v2/models/{MODEL}/infer"


@pytest.fixture(scope="module")
def client(shared: Served) -> Iterator[TestClient]:
    app = create_app(shared.root, follow=False)
    with TestClient(app, raise_server_exceptions=False,
                    headers=shared.as_predictor) as client:
        yield client


def test_v2_named_inputs_score_as_the_pipeline_does(client: TestClient,
                                                    shared: Served) -> None:
    frame = rows(5)
    answer = client.post(INFER, json=v2_named(frame, id="req-1"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["model_name"] == MODEL and body["model_version"] == "1"
    assert body["id"] == "req-1"
    (output,) = body["outputs"]
    assert output["name"] == "predict" and output["shape"] == [5]
    assert output["data"] == expected(shared.project, frame)
    assert answer.headers["x-rasad-model"] == MODEL
    assert answer.headers["x-rasad-model-version"] == "1"
    assert answer.headers["x-request-id"] == "req-1"


def test_the_request_id_comes_from_the_body_else_the_header_else_a_new_one(
        client: TestClient) -> None:
    body = v2_named(rows(1))
    given = client.post(INFER, json=body, headers={"x-request-id": "from-header"})
    assert given.headers["x-request-id"] == "from-header" == given.json()["id"]
    both = client.post(INFER, json={**body, "id": "from-body"},
                       headers={"x-request-id": "from-header"})
    assert both.headers["x-request-id"] == "from-body"
    fresh = [client.post(INFER, json=body).headers["x-request-id"] for _ in range(2)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", made) for made in fresh)
    assert fresh[0] != fresh[1]
    odd = client.post(INFER, json={**body, "id": "naïve id\u2028"})
    assert odd.json()["id"] == "naïve id\u2028"  # the body keeps it; the header is quoted
    assert odd.headers["x-request-id"] == "na%C3%AFve%20id%E2%80%A8"


def test_probabilities_only_when_asked(client: TestClient, shared: Served) -> None:
    frame = rows(4)
    answer = client.post(INFER, json=v2_named(frame, outputs=[{"name": "predict"},
                                                              {"name": "predict_proba"}]))
    assert answer.status_code == 200, answer.text
    predict, proba = answer.json()["outputs"]
    assert proba["name"] == "predict_proba" and proba["shape"] == [4, 2]
    pipeline = shared.project.load_model(MODEL, 1)
    assert np.allclose(np.reshape(proba["data"], (4, 2)), pipeline.predict_proba(frame),
                       rtol=0, atol=1e-12)
    assert predict["data"] == expected(shared.project, frame)


def test_one_tensor_of_every_column_in_order(client: TestClient, shared: Served) -> None:
    frame = rows(2)
    data = frame.astype(object).values.ravel().tolist()
    answer = client.post(INFER, json={"inputs": [{"name": "x", "shape": [2, 4],
                                                  "datatype": "BYTES", "data": data}]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["outputs"][0]["data"] == expected(shared.project, frame)


@pytest.mark.parametrize("form", ["dataframe_split", "dataframe_records", "instances",
                                  "inputs"])
def test_mlflow_formats_score_as_the_pipeline_does(client: TestClient, shared: Served,
                                                   form: str) -> None:
    frame = rows(3)
    records = frame.astype(object).to_dict(orient="records")
    body = {"dataframe_split": mlflow_split(frame)["dataframe_split"],
            "dataframe_records": records, "instances": records, "inputs": records}[form]
    answer = client.post(f"/invocations?model={MODEL}", json={form: body})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"predictions": expected(shared.project, frame),
                             "model_name": MODEL, "model_version": 1}
    assert answer.headers["x-rasad-model-version"] == "1"


def test_mlflow_picks_the_model_by_query_header_or_the_only_one(shared: Served) -> None:
    body = mlflow_split(rows(1))
    several = create_app(shared.root, follow=False)
    with TestClient(several, headers=shared.as_predictor) as client:
        none = client.post("/invocations", json=body)
        assert none.status_code == 400
        assert none.json()["error_code"] == "BAD_REQUEST"
        assert f"({MODEL}, {OTHER})" in none.json()["message"] and "?model=" in \
            none.json()["message"]
        by_header = client.post("/invocations", json=body, headers={"X-Rasad-Model": OTHER})
        assert by_header.headers["x-rasad-model"] == OTHER
        unknown = client.post("/invocations?model=nope", json=body)
        assert unknown.status_code == 404
        assert unknown.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    single = create_app(shared.root, models=[MODEL], follow=False)
    with TestClient(single, headers=shared.as_predictor) as client:
        answer = client.post("/invocations", json=body)
        assert answer.status_code == 200 and answer.headers["x-rasad-model"] == MODEL


def test_a_version_that_is_not_serving_is_a_404_naming_the_serving_one(
        client: TestClient) -> None:
    body = v2_named(rows(1))
    assert client.post(f"/v2/models/{MODEL}/versions/1/infer", json=body).status_code == 200
    for version in ("2", "abc", "01"):
        refused = client.post(f"/v2/models/{MODEL}/versions/{version}/infer", json=body)
        assert refused.status_code == 404
        assert refused.json()["field"] == "version"
        assert "serves version 1" in refused.json()["error"]
        assert refused.headers["x-rasad-model-version"] == "1"


def test_metadata_health_and_readiness(client: TestClient) -> None:
    meta = client.get(f"/v2/models/{MODEL}").json()
    assert meta["name"] == MODEL and meta["versions"] == ["1"]
    assert [(i["name"], i["datatype"]) for i in meta["inputs"]] == [
        ("income", "FP64"), ("age", "FP64"), ("employment_type", "BYTES"),
        ("debt_to_income", "FP64")]
    assert [o["name"] for o in meta["outputs"]] == ["predict", "predict_proba"]
    assert client.get(f"/v2/models/{MODEL}/versions/1").json() == meta
    assert client.get(f"/v2/models/{MODEL}/versions/2").status_code == 404
    assert client.get(f"/v2/models/{MODEL}/ready").json() == {"name": MODEL, "ready": True}
    assert client.get(f"/v2/models/{MODEL}/versions/1/ready").status_code == 200
    assert client.get("/v2/models/nope/ready").status_code == 404
    server = client.get("/v2").json()
    assert server["name"] == "rasad" and server["extensions"] == []
    assert client.get("/v2/health/live").json() == {"live": True}
    assert client.get("/v2/health/ready").json() == {"ready": True}
    assert client.get("/ping").status_code == client.get("/health").status_code == 200
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", client.get("/version").text)


@pytest.mark.parametrize(("body", "status", "field", "words"), [
    ("{not json", 400, None, "not valid JSON"),
    ({"inputs": []}, 400, "inputs", "non-empty list"),
    ({"inputs": [{"name": "income", "shape": [1], "datatype": "FP64", "data": [1.0]}]}, 422,
     "age", "missing column"),
    ("wrong-type", 422, "income", "numeric"),
    ({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": [1, 2, 3]}]}, 400,
     "inputs[0]", "shape"),
    ({**v2_named(rows(1)), "outputs": [{"name": "explain"}]}, 422, "outputs", "explain"),
])
def test_v2_errors_say_what_and_where(client: TestClient, body: Any, status: int,
                                      field: str | None, words: str) -> None:
    if body == "wrong-type":
        body = v2_named(rows(1))
        body["inputs"][0].update(datatype="BYTES", data=["lots"])
    sent = (client.post(INFER, content=body, headers={"content-type": "application/json"})
            if isinstance(body, str) else client.post(INFER, json=body))
    assert sent.status_code == status, sent.text
    answer = sent.json()
    assert set(answer) <= {"error", "field"} and words in answer["error"]
    if field is not None:
        assert answer["field"].startswith(field)
    assert sent.headers["x-rasad-model"] == MODEL and sent.headers["x-request-id"]


def test_mlflow_errors_have_mlflows_shape(client: TestClient) -> None:
    url = f"/invocations?model={MODEL}"
    broken = client.post(url, json={"dataframe_records": [{"income": 1.0}]})
    assert broken.status_code == 422
    assert broken.json()["error_code"] == "BAD_REQUEST"
    assert "missing column 'age'" in broken.json()["message"]
    csv = client.post(url, content=b"income,age\n1,2\n", headers={"content-type": "text/csv"})
    assert csv.status_code == 415 and "takes JSON" in csv.json()["message"]
    two = client.post(url, json={**mlflow_split(rows(1)), "instances": []})
    assert two.status_code == 400 and set(two.json()) == {"error_code", "message"}


def test_unknown_models_routes_and_methods(client: TestClient) -> None:
    unknown = client.post("/v2/models/nope/infer", json=v2_named(rows(1)))
    assert unknown.status_code == 404
    assert unknown.json()["error"].startswith("No model 'nope' is served here; models "
                                              f"served: {MODEL}, {OTHER}")
    assert "x-rasad-model" not in unknown.headers and unknown.headers["x-request-id"]
    no_route = client.get("/v2/nothing/here", headers={"x-request-id": "r-404"})
    assert no_route.status_code == 404 and no_route.headers["x-request-id"] == "r-404"
    assert set(no_route.json()) == {"error"}
    wrong_method = client.get(INFER)
    assert wrong_method.status_code == 405 and wrong_method.json()["error"]
    assert client.get("/nothing").json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_bodies_and_batches_over_the_limits_are_413(shared: Served, tmp_path: Any) -> None:
    configure(shared.root, max_body_bytes=4096, max_batch_rows=10)
    try:
        app = create_app(shared.root, follow=False)
    finally:
        configure(shared.root, max_body_bytes=16 * 1024 * 1024, max_batch_rows=10_000)
    with TestClient(app, headers=shared.as_predictor) as client:
        big = v2_named(rows(150))
        declared = client.post(INFER, json=big)
        assert declared.status_code == 413 and "4,096 bytes" in declared.json()["error"]
        assert declared.headers["connection"] == "close"

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
            for _ in range(10):
                yield b" " * 1000
        streamed = client.post(INFER, content=chunks(), headers={"content-type": JSON})
        assert streamed.status_code == 413 and "larger than" in streamed.json()["error"]
        many = client.post(INFER, json=v2_named(rows(11)))
        assert many.status_code == 413 and "10" in many.json()["error"]
        assert client.post(INFER, json=v2_named(rows(10))).status_code == 200
        records = client.post(f"/invocations?model={MODEL}",
                              json={"dataframe_records": [{"income": 1}] * 11})
        assert records.status_code == 413 and records.json()["error_code"] == \
            "REQUEST_LIMIT_EXCEEDED"


JSON = "application/json"


def test_feedback_is_taken_by_request_id_and_checked(client: TestClient) -> None:
    url = f"/v2/models/{MODEL}/feedback"
    taken = client.post(url, json={"request_id": "req-1", "labels": [1, 0], "rows": [3, 1]})
    assert taken.status_code == 202, taken.text
    assert taken.json() == {"request_id": "req-1", "accepted": 2}
    assert taken.headers["x-request-id"] == "req-1"
    assert client.post(url, json={"request_id": "r", "labels": [True]}).status_code == 202
    for body, status, field in [
        ([1, 2], 400, None),
        ({"request_id": "", "labels": [1]}, 400, "request_id"),
        ({"request_id": "r", "labels": []}, 400, "labels"),
        ({"request_id": "r", "labels": [None]}, 422, "labels[0]"),
        ({"request_id": "r", "labels": [{"a": 1}]}, 422, "labels[0]"),
        ({"request_id": "r", "labels": [1, 0], "rows": [0]}, 400, "rows"),
        ({"request_id": "r", "labels": [1, 0], "rows": [0, 0]}, 400, "rows"),
        ({"request_id": "r", "labels": [1], "rows": [-1]}, 400, "rows"),
        ({"request_id": "r", "labels": [1], "extra": 1}, 400, "extra"),
    ]:
        refused = client.post(url, json=body)
        assert refused.status_code == status, (body, refused.text)
        assert refused.json().get("field") == field, body
    assert client.post("/v2/models/nope/feedback",
                       json={"request_id": "r", "labels": [1]}).status_code == 404


def test_metrics_count_requests_by_model_version_protocol_and_status(
        client: TestClient) -> None:
    client.post(INFER, json=v2_named(rows(2)))
    client.post(f"/invocations?model={MODEL}", json=mlflow_split(rows(1)))
    client.post(INFER, json={"inputs": []})
    client.post("/v2/models/a-name-an-attacker-made-up/infer", json={})
    text = client.get("/metrics", headers={"Authorization": ""}).text
    assert re.search(r'rasad_requests_total\{model="credit",protocol="v2",role="primary",'
                     r'status="200",version="1"\} [1-9]', text)
    assert ('rasad_requests_total{model="credit",protocol="mlflow",role="primary",'
            'status="200",version="1"}') in text
    assert ('rasad_requests_total{model="credit",protocol="v2",role="primary",status="400",'
            'version="1"}') in text
    assert 'rasad_request_errors_total{protocol="v2",reason="not_found"}' in text
    assert "a-name-an-attacker-made-up" not in text  # labels never come from the URL
    assert re.search(r'rasad_request_duration_seconds_bucket\{le="0.064",model="credit",'
                     r'role="primary",version="1"\} [1-9]', text)
    assert re.search(r'rasad_predictions_total\{label="[01]",model="credit",role="primary",'
                     r'version="1"\}', text)
    assert 'rasad_model_serving_version{model="credit",role="primary"} 1.0' in text
    assert "rasad_prediction_log_queue_rows" in text


def test_every_scored_request_reaches_the_prediction_log(shared: Served) -> None:
    app = create_app(shared.root, models=[MODEL], follow=False)
    with TestClient(app, headers=shared.as_predictor) as client:
        for i in range(3):
            sent = client.post(INFER, json=v2_named(rows(2, start=i), id=f"logged-{i}"))
            assert sent.status_code == 200
    # Leaving the client ran the app's shutdown: the log was flushed and closed.
    logged = read_log(shared.project.context, MODEL, environment=ENV, with_feedback=False)
    mine = logged[logged["request_id"].str.startswith("logged-")]
    assert sorted(mine["request_id"]) == ["logged-0", "logged-0", "logged-1", "logged-1",
                                          "logged-2", "logged-2"]
    assert set(mine["version"]) == {1} and set(mine["role"]) == {"primary"}
    assert list(mine.sort_values(["request_id", "row"])["prediction"].astype(int)) == [
        v for i in range(3) for v in expected(shared.project, rows(2, start=i))]


def test_the_openapi_schema_documents_every_route_and_body(client: TestClient) -> None:
    schema = client.get("/openapi.json", headers={"Authorization": ""}).json()
    paths = schema["paths"]
    assert set(paths) == {
        "/v2/health/live", "/v2/health/ready", "/v2", "/v2/models/{name}",
        "/v2/models/{name}/versions/{version}", "/v2/models/{name}/ready",
        "/v2/models/{name}/versions/{version}/ready", "/v2/models/{name}/infer",
        "/v2/models/{name}/versions/{version}/infer", "/v2/models/{name}/feedback",
        "/invocations", "/ping", "/health", "/version", "/metrics"}
    infer = paths["/v2/models/{name}/infer"]["post"]
    assert infer["requestBody"]["content"][JSON]["schema"] == {
        "$ref": "#/components/schemas/InferenceRequest"}
    assert {"200", "400", "401", "403", "404", "413", "422"} <= set(infer["responses"])
    assert infer["security"] == [{"token": []}]
    mlflow = paths["/invocations"]["post"]["requestBody"]["content"][JSON]["schema"]
    assert len(mlflow["oneOf"]) == 4
    components = schema["components"]
    assert {"InferenceRequest", "Tensor", "FeedbackRequest", "MlflowSplit", "V2Error",
            "MlflowError", "InferenceResponse"} <= set(components["schemas"])
    assert components["securitySchemes"]["token"]["scheme"] == "bearer"
    assert "security" not in paths["/v2/health/ready"]["get"]


@pytest.mark.parametrize(("default", "credit", "refused"), [
    ("score", None, set()),
    ("score", "refuse", {MODEL}),
    ("refuse", None, {MODEL, OTHER}),
    ("refuse", "score", {OTHER}),
])
def test_each_model_scores_or_refuses_unseen_categories_as_configured(
        shared: Served, default: str, credit: str | None, refused: set[str]) -> None:
    models = {MODEL: {"unseen_categories": credit}} if credit else {}
    configure(shared.root, unseen_categories=default, models=models)
    try:
        app = create_app(shared.root, follow=False)
    finally:
        configure(shared.root, unseen_categories="score", models={})
    frame = rows(2).assign(employment_type=["astronaut", "salaried"])
    with TestClient(app, headers=shared.as_predictor) as client:
        for model in (MODEL, OTHER):
            answer = client.post(f"/v2/models/{model}/infer", json=v2_named(frame))
            if model in refused:
                assert answer.status_code == 422, answer.text
                assert "employment_type" in answer.text and "astronaut" in answer.text
            else:  # scored as the encoder does, as batch scoring does
                assert answer.status_code == 200, answer.text
                if model == MODEL:
                    assert answer.json()["outputs"][0]["data"] == expected(shared.project,
                                                                          frame)
