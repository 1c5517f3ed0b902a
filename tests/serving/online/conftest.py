"""A real project for the prediction server, and the requests its tests send.

``credit`` has two versions trained for real (different bytes: the second is a weaker
logistic regression), credit@1 serving production; ``fraud@1`` (the first run again)
serves production too; three principals have tokens: a predictor, a viewer and an admin.
Nothing of rasad is mocked: the app loads the models from the registry and logs to the
project's own prediction log.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient

from rasad import Project
from rasad.identity import Role, add_principal, create_token, local_principal
from rasad.registry import promotion
from tests.registry._helpers import FEATURES, portfolio, train

MODEL = "credit"
OTHER = "fraud"
ENV = "production"


@dataclass(frozen=True)
class Tokens:
    """Bearer tokens of a predictor ('pam'), a viewer ('vic') and an admin ('ada')."""

    predictor: str
    viewer: str
    admin: str

    @staticmethod
    def header(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


@dataclass(frozen=True)
class Served:
    project: Project
    tokens: Tokens

    @property
    def root(self) -> Path:
        return self.project.root

    @property
    def as_predictor(self) -> dict[str, str]:
        return Tokens.header(self.tokens.predictor)


def seed(project: Project) -> Tokens:
    """credit@1 and credit@2 (distinct bytes), credit@1 and fraud@1 serving production;
    the tokens."""
    first = train(project)
    project.register(first.id, MODEL)
    second = train(project, params={"max_iter": 200, "C": 0.01})
    project.register(second.id, MODEL)
    project.register(first.id, OTHER)
    promotion.promote(project.context, MODEL, 1, ENV)
    promotion.promote(project.context, OTHER, 1, ENV)
    ctx = project.context
    me = local_principal(ctx)
    for name, role in (("pam", Role.PREDICTOR), ("vic", Role.VIEWER), ("ada", Role.ADMIN)):
        add_principal(ctx, name, roles=[role], by=me)
    return Tokens(predictor=create_token(ctx, "pam", by=me).token,
                  viewer=create_token(ctx, "vic", by=me).token,
                  admin=create_token(ctx, "ada", by=me).token)


@pytest.fixture
def served(project: Project) -> Served:
    """The seeded project, on the backend under test (SQLite and PostgreSQL)."""
    return Served(project, seed(project))


@pytest.fixture(scope="session")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One seeded SQLite project for the tests that change nothing in its deployments (a
    test that changes rasad.yaml puts it back)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RASAD_USER", "tester")
        for name in ("RASAD_DATABASE_URL", "RASAD_ARTIFACTS_URL"):
            patch.delenv(name, raising=False)
        with Project.init(tmp_path_factory.mktemp("served") / "proj", name="served") as project:
            yield Served(project, seed(project))


def configure(root: Path, **serving: Any) -> None:
    """Set keys of the ``serving`` section of the project's rasad.yaml."""
    path = root / "rasad.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config.setdefault("serving", {}).update(serving)
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


@pytest.fixture
def client_of() -> Iterator[Any]:
    """``client_of(app)``: a TestClient running the app's lifespan, closed after the test."""
    clients: list[TestClient] = []

    def make(app: FastAPI) -> TestClient:
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in reversed(clients):
        client.__exit__(None, None, None)


def rows(n: int = 3, start: int = 0) -> pd.DataFrame:
    """``n`` loan applications in the model's columns."""
    return portfolio()[FEATURES].iloc[start:start + n].reset_index(drop=True)


def v2_named(frame: pd.DataFrame, **extra: Any) -> dict[str, Any]:
    """An Open Inference Protocol request: one tensor per column."""
    inputs = []
    for column in frame.columns:
        values = frame[column].tolist()
        numeric = all(isinstance(v, int | float) for v in values)
        inputs.append({"name": column, "shape": [len(frame)],
                       "datatype": "FP64" if numeric else "BYTES",
                       "data": [float(v) if numeric and not math.isnan(v) else v
                                for v in values]})
    return {"inputs": inputs, **extra}


def mlflow_split(frame: pd.DataFrame) -> dict[str, Any]:
    return {"dataframe_split": {"columns": list(frame.columns),
                                "data": frame.astype(object).values.tolist()}}


def expected(project: Project, frame: pd.DataFrame, version: int = 1) -> list[Any]:
    """What the registered pipeline itself predicts for ``frame``."""
    pipeline = project.load_model(MODEL, version)
    return [int(v) for v in pipeline.predict(frame)]
