"""Training, run comparison and batch scoring over the API: the remote verb gives what the
local Project verb gives on the same project (SQLite and PostgreSQL); a viewer cannot
train; a scored file round-trips, under the upload limit and the output rules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from rasad import Project
from rasad.api import PREFIX, create_app
from rasad.api.routes.training import RESULT_HEADER
from rasad.errors import InputError, PermissionDenied
from rasad.registry import ModelVersion
from tests.api.conftest import Tokens
from tests.api.test_remote import SERVER, InProcess, same_error
from tests.api.test_validation_routes import R
from tests.registry._helpers import (
    DATASET,
    ESTIMATOR,
    FEATURES,
    PARAMS,
    TARGET,
    add_loans,
    audit_count,
    portfolio,
    registered,
)

OVERRIDES = {"dataset": DATASET, "target": TARGET, "features": FEATURES,
             "estimator": ESTIMATOR, "params": PARAMS, "seed": 3}


@pytest.fixture
def transport(app: FastAPI) -> Iterator[InProcess]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield InProcess(client)


@pytest.fixture
def remote(transport: InProcess, tokens: Tokens) -> Iterator[R]:
    with R(SERVER, tokens.admin, transport=transport) as remote:
        yield remote


def no_row_id(version: ModelVersion) -> ModelVersion:
    return version.model_copy(update={"id": None})


def test_train_and_compare(project: Project, remote: R) -> None:
    add_loans(project)
    trained = remote.train(name="remote", register_as="credit", **OVERRIDES)
    assert trained.run == project.run(trained.run.id)
    assert (trained.run.name, trained.run.created_by) == ("remote", "ada")
    assert trained.model_version is not None
    assert trained.model_version == no_row_id(project.model_version("credit", 1))

    local = project.train(name="local", **OVERRIDES)
    assert local.model_version is None
    # Same data, estimator and seed: the same model, whichever door trained it.
    assert local.run.metrics == trained.run.metrics
    assert local.run.params == trained.run.params
    ids = (trained.run.id, local.run.id)
    assert remote.compare_runs(*ids).to_dict() == project.compare_runs(*ids).to_dict()
    assert remote.compare_runs(*ids).runs == project.compare_runs(*ids).runs

    same_error(lambda: project.compare_runs(ids[0]), lambda: remote.compare_runs(ids[0]))
    same_error(lambda: project.train(epochs=3, **OVERRIDES),
               lambda: remote.train(epochs=3, **OVERRIDES))
    same_error(lambda: project.train(**{**OVERRIDES, "target": "nope"}),
               lambda: remote.train(**{**OVERRIDES, "target": "nope"}))


def test_a_viewer_cannot_train(project: Project, transport: InProcess,
                               tokens: Tokens) -> None:
    add_loans(project)
    events = len(project.audit_log())
    with R(SERVER, tokens.viewer, transport=transport) as viewer, \
            pytest.raises(PermissionDenied, match="run.write"):
        viewer.train(**OVERRIDES)
    assert project.runs() == [] and len(project.audit_log()) == events


def test_predict_round_trips_a_file(project: Project, remote: R, tmp_path: Path) -> None:
    registered(project, "credit")
    source = tmp_path / "applications.csv"
    portfolio(seed=11).head(50).to_csv(source, index=False)

    scored = remote.predict("credit", source, version=1, output=tmp_path / "remote.csv")
    local = project.predict("credit", source, version=1, output=tmp_path / "local.csv")
    assert (tmp_path / "remote.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()
    assert scored.model_copy(update={"output": None}) == local.model_copy(
        update={"output": None})
    assert scored.output == str(tmp_path / "remote.csv") and scored.rows == 50
    assert scored.frame is not None and local.frame is not None
    pd.testing.assert_frame_equal(scored.frame, local.frame.reset_index(drop=True),
                                  check_dtype=False)
    assert project.audit_log(action="model.predict")[0].actor == "ada"

    # A frame in, Parquet out; no output: the rows are the result's frame.
    frame = portfolio(seed=11).head(50)
    as_parquet = remote.predict("credit", frame, env=None, output=tmp_path / "s.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "s.parquet"),
                                  as_parquet.frame)
    bare = remote.predict("credit", frame)
    assert bare.output is None and bare.frame is not None and len(bare.frame) == 50


def test_predict_refusals(project: Project, remote: R, tmp_path: Path) -> None:
    registered(project, "credit")
    source = tmp_path / "applications.csv"
    portfolio(seed=11).head(20).to_csv(source, index=False)
    before = audit_count(project, "model.predict")
    with pytest.raises(InputError, match="would destroy the input"):
        remote.predict("credit", source, output=source)
    with pytest.raises(InputError, match="must end in"):
        remote.predict("credit", source, output=tmp_path / "scores.txt")
    same_error(lambda: project.predict("credit", source, version=9),
               lambda: remote.predict("credit", source, version=9))
    wrong = tmp_path / "wrong.csv"
    pd.DataFrame({"shoe_size": [40, 41]}).to_csv(wrong, index=False)
    same_error(lambda: project.predict("credit", wrong), lambda: remote.predict("credit", wrong))
    assert audit_count(project, "model.predict") == before
    assert not (tmp_path / "scores.txt").exists()


def test_predict_over_the_upload_limit_is_refused(project: Project, tokens: Tokens,
                                                  tmp_path: Path) -> None:
    registered(project, "credit")
    app = create_app(project.root, environ={"RASAD_MAX_UPLOAD_BYTES": "2000"})
    body = portfolio(seed=11).head(200).to_csv(index=False).encode()
    assert len(body) > 2000
    with TestClient(app) as client:
        refused = client.post(f"{PREFIX}/models/credit/predictions", headers=tokens.as_admin,
                              files={"file": ("in.csv", body, "text/csv")})
        assert refused.status_code == 413
        small = portfolio(seed=11).head(5).to_csv(index=False).encode()
        answered = client.post(f"{PREFIX}/models/credit/predictions",
                               headers=tokens.as_admin, data={"format": "csv"},
                               files={"file": ("in.csv", small, "text/csv")})
        assert answered.status_code == 200, answered.text
        assert answered.headers["content-type"].startswith("text/csv")
        assert '"rows":5' in answered.headers[RESULT_HEADER]
        misspelt = client.post(f"{PREFIX}/runs", json={"tagret": "default"},
                               headers=tokens.as_admin)
        assert misspelt.status_code == 422 and "tagret" in misspelt.text
    assert audit_count(project, "model.predict") == 1
