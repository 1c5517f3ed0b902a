"""A real project for the model-test tests: loan data, a trained model, declared tests.

Everything goes through rasad's own services: the data are added as dataset versions
(``loans`` to train on, ``loans-eval`` to test on), the model is trained by
``project.train`` (a logistic regression, in rasad's own pipeline that imputes missing
values and ignores unseen categories) and registered as ``credit``. The model reads
income, age, debt-to-income, region and employment type; it never sees gender.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rasad import Project
from rasad.config import CONFIG_FILE, PromotionConfig
from rasad.core import Context
from rasad.datasets import DatasetVersion
from rasad.examples import generate_portfolio
from rasad.registry import ModelVersion

TRAIN = "loans"
EVAL = "loans-eval"
TARGET = "default"
MODEL = "credit"
FEATURES = ["income", "age", "debt_to_income", "region", "employment_type"]

PASSING: list[dict[str, Any]] = [
    {"name": "gender plays no part", "kind": "invariance", "column": "gender"},
    {"name": "more debt, more risk", "kind": "directional", "column": "debt_to_income",
     "change": 0.2, "direction": "increase"},
    {"name": "accurate enough in Riyadh", "kind": "slice_performance",
     "metric": "accuracy", "min": 0.6, "slice": {"column": "region", "values": ["Riyadh"]}},
    {"name": "robust", "kind": "robustness"},
]
"""Tests the seeded model passes (the service tests assert why)."""

FAILING: dict[str, Any] = {"name": "region plays no part", "kind": "invariance",
                           "column": "region"}
"""A test the seeded model fails: it reads region, so some decisions follow it."""


@dataclass(frozen=True)
class Seeded:
    """What :func:`seed` built."""

    model: ModelVersion
    evaluation: DatasetVersion


def seed(project: Project) -> Seeded:
    """1,400 training rows, 600 evaluation rows, and ``credit@1`` trained on the first."""
    data = generate_portfolio(months=2, rows_per_month=1000, seed=5)
    project.add_dataset(data.iloc[:1400].reset_index(drop=True), TRAIN)
    evaluation = project.add_dataset(data.iloc[1400:].reset_index(drop=True), EVAL).version
    result = project.train(dataset=TRAIN, target=TARGET, features=FEATURES,
                           estimator="sklearn.linear_model.LogisticRegression",
                           params={"max_iter": 500})
    return Seeded(model=project.register(result.run.id, MODEL), evaluation=evaluation)


def write_promotion(root: Path, **promotion: Any) -> None:
    """Set ``promotion`` as the ``promotion:`` section of the project's rasad.yaml (open
    the project again, or restart its server, to read it)."""
    path = root / CONFIG_FILE
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["promotion"] = promotion
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


def declared(project: Project, **promotion: Any) -> Context:
    """The project's context with ``promotion`` as the ``promotion:`` section of rasad.yaml."""
    config = project.config.model_copy(
        update={"promotion": PromotionConfig.model_validate(promotion)})
    return dataclasses.replace(project.context, config=config)
