"""Real projects for the data gates (validation, fairness, personal data).

The data are rasad's synthetic credit portfolio (:func:`rasad.examples.generate_portfolio`)
with ``gender`` named ``sex``, as in the issue, and two columns of personal data added:
``mobile`` (Saudi mobile numbers, stored as integers as a CSV reader leaves them) and
``contact_email`` (twenty addresses, so a categorical column a model can read). Every
dataset is added through rasad's services, every model trained by ``project.train`` (a
logistic regression) and registered.

- ``applications`` (3,000 rows): default does not depend on sex (the generator's model);
- ``applications-biased``: the same rows, but a woman's application is labelled a default
  far more often, so a model that reads ``sex`` learns to refuse women;
- ``applications-eval`` (2,000 other rows, unbiased): what the gates evaluate on.

``rasad.yaml`` is changed per test through :func:`configured`, which returns the
project's context with ``data.protected_attributes``,
``governance.fairness.favorable_outcomes``, ``validation.schemas`` and ``promotion:`` set
(the services read nothing else).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from rasad import Project
from rasad.config import PromotionConfig
from rasad.core import Context
from rasad.examples import generate_portfolio
from rasad.registry import ModelVersion
from rasad.release.gates._base import GateInputs

TRAIN = "applications"
BIASED = "applications-biased"
EVAL = "applications-eval"
TARGET = "default"
FAVORABLE = 0
"""A repaid loan: the applicant is approved (1 is a default)."""
MODEL = "credit"
PROTECTED = ["sex", "age"]
FAIR_FEATURES = ["income", "debt_to_income", "credit_history_years", "loan_term_months"]
"""What the fair model reads: no protected attribute, no personal data."""
SEXIST_FEATURES = [*FAIR_FEATURES, "sex"]


def portfolio(rows: int, seed: int) -> pd.DataFrame:
    """``rows`` credit applications with ``sex``, ``mobile`` and ``contact_email``."""
    frame = generate_portfolio(months=2, rows_per_month=(rows + 1) // 2, seed=seed)
    frame = frame.iloc[:rows].rename(columns={"gender": "sex"}).reset_index(drop=True)
    rng = np.random.default_rng(seed)
    frame["mobile"] = 966_500_000_000 + rng.integers(0, 99_999_999, rows)
    addresses = np.array([f"applicant{i}@mail{i % 3}.example.com" for i in range(20)])
    frame["contact_email"] = pd.array(addresses[rng.integers(0, 20, rows)], dtype="string")
    return frame


def biased(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """``frame`` with half of the women's repaid loans relabelled as defaults."""
    rng = np.random.default_rng(seed)
    flipped = (frame["sex"] == "female").to_numpy() & (rng.random(len(frame)) < 0.5)
    return frame.assign(**{TARGET: np.where(flipped, 1, frame[TARGET])})


def add_data(project: Project) -> None:
    """``applications``, ``applications-biased`` and ``applications-eval``, version 1."""
    train = portfolio(3000, seed=21)
    project.add_dataset(train, TRAIN)
    project.add_dataset(biased(train, seed=22), BIASED)
    project.add_dataset(portfolio(2000, seed=23), EVAL)


def train(project: Project, features: list[str], *, dataset: str = TRAIN,
          version: int | None = None, model: str = MODEL) -> ModelVersion:
    """Train a logistic regression on ``dataset`` with ``features``; register it."""
    result = project.train(dataset=dataset, version=version, target=TARGET, features=features,
                           estimator="sklearn.linear_model.LogisticRegression",
                           params={"max_iter": 1000})
    return project.register(result.run.id, model)


def configured(project: Project, *, protected: list[str] | None = None,
               favorable: dict[str, Any] | None = None,
               schemas: dict[str, str] | None = None, **promotion: Any) -> Context:
    """The project's context under a ``rasad.yaml`` with these sections.

    ``protected`` defaults to :data:`PROTECTED`, ``favorable`` to ``{default: 0}``,
    ``promotion`` to ``{evaluation_data: applications-eval}`` plus what is given.
    """
    config = project.config
    fairness = config.governance.fairness.model_copy(update={
        "favorable_outcomes": {TARGET: FAVORABLE} if favorable is None else favorable})
    updated = config.model_copy(update={
        "data": config.data.model_copy(update={
            "protected_attributes": PROTECTED if protected is None else protected}),
        "governance": config.governance.model_copy(update={"fairness": fairness}),
        "validation": config.validation.model_copy(update={"schemas": schemas or {}}),
        "promotion": PromotionConfig.model_validate({"evaluation_data": EVAL, **promotion}),
    })
    return dataclasses.replace(project.context, config=updated)


def gate_inputs(ctx: Context, candidate: ModelVersion, env: str = "production") -> GateInputs:
    """What :func:`rasad.release.gates.evaluate` hands each gate under ``ctx``'s config."""
    config = ctx.config.promotion
    return GateInputs(ctx, candidate, env, config.policy(env, ctx.config.registry.environments),
                      config)
