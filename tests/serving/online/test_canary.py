"""A canary answers its share of the requests, sticky by its key column when one is set; the
answer names the version that gave it, and the prediction log its role.

A real project (conftest's credit@1 serving production, credit@2 beside it as the canary);
nothing of rasad is mocked. The bucket of a request is a hash of its key (or id), so the
counts below are exact for these ids: the bounds are those a fair coin would have to meet.
"""

from __future__ import annotations

import math
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from rasad import Project
from rasad.registry import promotion
from rasad.serving.online import create_app
from rasad.serving.online.models import bucket, key_text
from rasad.serving.predlog import read_log
from tests.registry._helpers import serve_canary, train

from .conftest import ENV, MODEL, Served, Tokens, expected, mlflow_split, rows, seed, v2_named

INFER = f"/v2/models/{MODEL}/infer"


def with_slots(project: Project, *, canary: int | None = None, shadow: int | None = None,
               share: float = 0.2, key: str | None = None) -> None:
    """Deploy credit@``canary`` and/or credit@``shadow`` beside the primary (credit@1)."""
    if canary is not None:
        serve_canary(project.root, ENV, share=share, key=key)
    with Project.open(project.root) as reopened:  # reads the canary share
        ctx = reopened.context
        if canary is not None:
            promotion.promote(ctx, MODEL, canary, ENV, slot="canary")
        if shadow is not None:
            promotion.promote(ctx, MODEL, shadow, ENV, slot="shadow")


def third_version(project: Project) -> int:
    """credit@3: trained on three of the four columns (a signature of its own)."""
    run = train(project, features=["income", "age", "debt_to_income"])
    return project.register(run.id, MODEL).version


def binomial_bounds(n: int, p: float, sigmas: float = 4.5) -> tuple[float, float]:
    spread = sigmas * math.sqrt(n * p * (1 - p))
    return n * p - spread, n * p + spread


def logged(project: Project) -> pd.DataFrame:
    return read_log(project.context, MODEL, environment=ENV, with_feedback=False, role=None)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Tokens]]:
    """conftest's seeded project plus credit@3, built once per module (SQLite)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RASAD_USER", "tester")
        for name in ("RASAD_DATABASE_URL", "RASAD_ARTIFACTS_URL"):
            patch.delenv(name, raising=False)
        root = tmp_path_factory.mktemp("slotted") / "proj"
        with Project.init(root, name="slotted") as project:
            tokens = seed(project)
            assert third_version(project) == 3
        yield root, tokens


@pytest.fixture
def slotted(source: tuple[Path, Tokens], tmp_path: Path) -> Iterator[Served]:
    """A copy of the module's seeded project, for one test to change. Routing does not
    touch the database, so these run on SQLite; the live follow of slots runs on both
    (test_canary_follow.py)."""
    root, tokens = source
    shutil.copytree(root, tmp_path / "proj")
    with Project.open(tmp_path / "proj") as project:
        yield Served(project, tokens)


@pytest.fixture
def canaried(slotted: Served, client_of: Any) -> tuple[Served, TestClient]:
    """credit@2 as the canary of production for a fifth of the traffic."""
    with_slots(slotted.project, canary=2, share=0.2)
    return slotted, client_of(create_app(slotted.root, follow=False))




def test_the_canary_answers_its_share_of_the_requests(
        canaried: tuple[Served, TestClient]) -> None:
    served, client = canaried
    frame = rows(1)
    body = v2_named(frame)
    versions = Counter()
    for i in range(400):
        answer = client.post(INFER, json=body, headers={**served.as_predictor,
                                                        "x-request-id": f"req-{i}"})
        assert answer.status_code == 200, answer.text
        said = answer.headers["x-rasad-model-version"]
        assert answer.json()["model_version"] == said  # the header and the OIP field agree
        versions[said] += 1
    low, high = binomial_bounds(400, 0.2)
    assert low < versions["2"] < high, versions
    assert set(versions) == {"1", "2"}
    # The router itself, over many more ids than HTTP could send in a test's time.
    entry = client.app.state.server.served.get(MODEL)  # type: ignore[attr-defined]
    empty = pd.DataFrame(index=[0])
    routed = Counter(entry.route(empty, f"id-{i}").number for i in range(20_000))
    low, high = binomial_bounds(20_000, 0.2)
    assert low < routed[2] < high, routed
    # The same id lands on the same version again (a retried request is not re-split).
    again = [client.post(INFER, json=body, headers={**served.as_predictor,
                                                    "x-request-id": f"req-{i}"})
             for i in range(20)]
    first = [bucket(MODEL, f"req-{i}") < 0.2 for i in range(20)]
    assert [a.headers["x-rasad-model-version"] == "2" for a in again] == first


def test_requests_without_an_id_are_split_at_random(
        canaried: tuple[Served, TestClient]) -> None:
    served, client = canaried
    body = v2_named(rows(1))
    versions = Counter(client.post(INFER, json=body, headers=served.as_predictor)
                       .headers["x-rasad-model-version"] for _ in range(300))
    low, high = binomial_bounds(300, 0.2, sigmas=5.0)
    assert low < versions["2"] < high, versions


def test_the_v2_id_routes_like_the_header(canaried: tuple[Served, TestClient]) -> None:
    served, client = canaried
    ids = [f"app-{i}" for i in range(60)]
    for request_id in ids:
        answer = client.post(INFER, json=v2_named(rows(1), id=request_id),
                             headers=served.as_predictor)
        assert answer.json()["id"] == request_id
        wanted = "2" if bucket(MODEL, request_id) < 0.2 else "1"
        assert answer.headers["x-rasad-model-version"] == wanted, request_id


def test_answers_and_the_log_name_the_version_and_role(
        canaried: tuple[Served, TestClient]) -> None:
    served, client = canaried
    frame = rows(3)
    answers = {}
    for i in range(40):
        answer = client.post(INFER, json=v2_named(frame, id=f"r{i}"),
                             headers=served.as_predictor)
        answers[f"r{i}"] = answer
        version = int(answer.headers["x-rasad-model-version"])
        # Each version gives its own predictions (credit@2 is a different model).
        assert answer.json()["outputs"][0]["data"] == expected(served.project, frame, version)
    mlflow = client.post(f"/invocations?model={MODEL}", json=mlflow_split(frame),
                         headers={**served.as_predictor, "x-request-id": "m-7"})
    assert mlflow.json()["model_version"] == int(mlflow.headers["x-rasad-model-version"])
    client.app.state.server.sink.close()  # type: ignore[attr-defined]
    log = logged(served.project)
    by_request = log.groupby("request_id").agg(version=("version", "first"),
                                               role=("role", "first"), rows=("row", "size"))
    for request_id, answer in answers.items():
        version = int(answer.headers["x-rasad-model-version"])
        assert by_request.loc[request_id, "version"] == version
        assert by_request.loc[request_id, "role"] == ("canary" if version == 2 else "primary")
        assert by_request.loc[request_id, "rows"] == 3
    assert {"primary", "canary"} == set(by_request["role"])
    metrics = client.get("/metrics").text
    assert 'rasad_model_serving_version{model="credit",role="canary"} 2.0' in metrics
    assert ('rasad_requests_total{model="credit",protocol="v2",role="canary",status="200",'
            'version="2"}') in metrics


def test_a_key_column_keeps_each_customer_on_one_version(
        slotted: Served, client_of: Any) -> None:
    with_slots(slotted.project, canary=2, share=0.5, key="customer_id")
    client = client_of(create_app(slotted.root, follow=False))
    headers = slotted.as_predictor
    seen: dict[str, set[str]] = {}
    for turn in range(3):
        for customer in range(40):
            frame = rows(2, start=turn * 2).assign(customer_id=f"c-{customer}")
            answer = client.post(INFER, json=v2_named(frame), headers=headers)  # no id
            assert answer.status_code == 200, answer.text
            seen.setdefault(f"c-{customer}", set()).add(answer.headers["x-rasad-model-version"])
    assert all(len(versions) == 1 for versions in seen.values()), seen
    split = Counter(next(iter(v)) for v in seen.values())
    assert set(split) == {"1", "2"}, split  # both versions get customers
    for customer, versions in seen.items():
        assert versions == {"2" if bucket(MODEL, customer) < 0.5 else "1"}
    # A key sent as a number or as its text is one customer, whatever the format.
    records = rows(1).astype(object).to_dict("records")
    answered = {client.post(f"/invocations?model={MODEL}", headers=headers,
                            json={"dataframe_records": [{**records[0], "customer_id": value}]})
                .headers["x-rasad-model-version"] for value in (1042, 1042.0, "1042")}
    assert answered == {"2" if bucket(MODEL, "1042") < 0.5 else "1"}
    # The key is logged as an input, beside the model's columns.
    client.app.state.server.sink.close()
    assert "input.customer_id" in logged(slotted.project).columns


def test_requests_without_the_key_fall_back_to_their_id(
        slotted: Served, client_of: Any, caplog: pytest.LogCaptureFixture) -> None:
    with_slots(slotted.project, canary=2, share=0.5, key="customer_id")
    client = client_of(create_app(slotted.root, follow=False))
    with caplog.at_level("WARNING", logger="rasad.serve"):
        for i in range(30):
            answer = client.post(INFER, json=v2_named(rows(1), id=f"k{i}"),
                                 headers=slotted.as_predictor)
            wanted = "2" if bucket(MODEL, f"k{i}") < 0.5 else "1"
            assert answer.headers["x-rasad-model-version"] == wanted
    warned = [r for r in caplog.records if r.getMessage() == "canary.key_missing"]
    assert len(warned) == 1  # once, not once a request


def test_key_text_is_canonical() -> None:
    assert key_text(7) == key_text(7.0) == key_text("7") == "7"
    assert key_text(True) == "true" and key_text(0.25) == "0.25"
    assert key_text(None) is None and key_text(float("nan")) is None
    assert key_text(pd.NA) is None
    assert 0.0 <= bucket("credit", "x") < 1.0
    assert bucket("credit", "x") != bucket("fraud", "x")  # salted by the model


def test_explicit_versions_reach_the_primary_and_the_canary_only(
        slotted: Served, client_of: Any) -> None:
    third = 3  # the module's credit@3
    with_slots(slotted.project, canary=2, shadow=third)
    client = client_of(create_app(slotted.root, follow=False))
    headers = slotted.as_predictor
    frame = rows(2)
    for version in (1, 2):
        path = f"/v2/models/{MODEL}/versions/{version}"
        answer = client.post(f"{path}/infer", json=v2_named(frame), headers=headers)
        assert answer.status_code == 200, answer.text
        assert answer.json()["model_version"] == str(version)
        assert answer.json()["outputs"][0]["data"] == expected(slotted.project, frame, version)
        assert client.get(f"{path}/ready", headers=headers).status_code == 200
        assert client.get(path, headers=headers).json()["versions"] == [str(version)]
    refused = client.post(f"/v2/models/{MODEL}/versions/{third}/infer", json=v2_named(frame),
                          headers=headers)
    assert refused.status_code == 404
    assert refused.json()["field"] == "version"
    assert "version 1 here and version 2 as its canary" in refused.json()["error"]
    assert client.get(f"/v2/models/{MODEL}/versions/{third}", headers=headers) \
        .status_code == 404
    assert client.get(f"/v2/models/{MODEL}", headers=headers).json()["versions"] == ["1", "2"]
    client.app.state.server.shadows.limit = 0  # nothing more for the shadow
    client.app.state.server.sink.close()
    log = logged(slotted.project)
    assert set(zip(log["version"], log["role"], strict=True)) >= {(1, "primary"),
                                                                 (2, "canary")}


def test_a_canary_with_other_inputs_decodes_the_request_for_itself(
        slotted: Served, client_of: Any) -> None:
    third = 3  # the module's credit@3
    with_slots(slotted.project, canary=third, share=0.5)
    client = client_of(create_app(slotted.root, follow=False))
    frame = rows(4)
    subset = frame[["income", "age", "debt_to_income"]]
    mine = [int(v) for v in slotted.project.load_model(MODEL, third).predict(subset)]
    answered = Counter()
    for i in range(30):
        answer = client.post(INFER, json=v2_named(frame, id=f"s{i}"),
                             headers=slotted.as_predictor)
        assert answer.status_code == 200, answer.text
        version = int(answer.headers["x-rasad-model-version"])
        answered[version] += 1
        want = mine if version == third else expected(slotted.project, frame, 1)
        assert answer.json()["outputs"][0]["data"] == want
    assert set(answered) == {1, third}


def test_without_a_share_a_deployed_canary_gets_no_routed_traffic(
        slotted: Served, client_of: Any) -> None:
    with_slots(slotted.project, canary=2)
    config = slotted.root / "rasad.yaml"  # the share taken away after the promotion
    config.write_text(_without_canary(config.read_text()), encoding="utf-8")
    client = client_of(create_app(slotted.root, follow=False))
    versions = {client.post(INFER, json=v2_named(rows(1)), headers={
        **slotted.as_predictor, "x-request-id": f"n{i}"}).headers["x-rasad-model-version"]
        for i in range(50)}
    assert versions == {"1"}
    pinned = client.post(f"/v2/models/{MODEL}/versions/2/infer", json=v2_named(rows(1)),
                         headers=slotted.as_predictor)
    assert pinned.status_code == 200


def _without_canary(text: str) -> str:
    import yaml

    config = yaml.safe_load(text)
    config["serving"]["environments"][ENV].pop("canary")
    return yaml.safe_dump(config, sort_keys=False)


def test_a_changed_canary_share_is_followed_without_a_restart(
        slotted: Served, client_of: Any) -> None:
    import os

    with_slots(slotted.project, canary=2, share=0.1)
    app = create_app(slotted.root, follow=False)
    client = client_of(app)
    served = app.state.server.served

    def canary_count(tag: str, n: int = 300) -> int:
        return sum(client.post(INFER, json=v2_named(rows(1)), headers={
            **slotted.as_predictor, "x-request-id": f"{tag}{i}"}).headers[
            "x-rasad-model-version"] == "2" for i in range(n))

    def rewrite(text: str) -> None:
        config = slotted.root / "rasad.yaml"
        before = config.stat().st_mtime_ns
        config.write_text(text, encoding="utf-8")
        os.utime(config, ns=(before + 10**9, before + 10**9))  # a coarse clock still sees it

    low, high = binomial_bounds(300, 0.1)
    assert low <= canary_count("a") <= high
    config = slotted.root / "rasad.yaml"
    rewrite(config.read_text().replace("share: 0.1", "share: 0.9"))
    assert served.refresh() == []  # nothing was deployed; the policy alone changed
    low, high = binomial_bounds(300, 0.9)
    assert low <= canary_count("b") <= high
    # A file that no longer validates keeps the policy in force.
    good = config.read_text()
    rewrite(good.replace("share: 0.9", "share: 7"))
    served.refresh()
    assert low <= canary_count("c") <= high
    rewrite(_without_canary(good))
    served.refresh()
    assert canary_count("d", 50) == 0
