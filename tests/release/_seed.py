"""Real projects for the gate tests: training and evaluation data, a champion, candidates.

Everything goes through rasad's own services: the data are added as dataset versions,
every model is trained by ``project.train`` (a logistic regression on loan
applications) and registered, and the champion is deployed by the registry's promotion
(the step that gates guard, called directly here so that setting up a champion runs no
gate). The candidates differ from the champion only in their features, chosen so that on
the 1,500 evaluation rows (seed 11):

- ``strong`` (adds debt-to-income, credit history and employment years) is better,
  significantly so, on ROC AUC, Brier score and log loss;
- ``marginal`` (adds the loan term, which barely matters) is better on average on ROC AUC
  (+0.004) but not significantly: its 95% lower bound is about -0.009;
- ``weak`` (age alone) is clearly worse.

``tests/release/gates/test_champion.py`` asserts these figures rather than trusting this
docstring.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rasad import Project
from rasad.config import PromotionConfig
from rasad.datasets import DatasetVersion
from rasad.examples import generate_portfolio
from rasad.registry import ModelVersion
from rasad.registry import promotion as registry_promotion
from rasad.release.gates._base import GateInputs

TRAIN = "loans"
EVAL = "loans-eval"
TARGET = "default"
MODEL = "credit"
BASE = ["income", "age"]
CANDIDATES = {
    "strong": [*BASE, "debt_to_income", "credit_history_years", "employment_years"],
    "marginal": [*BASE, "loan_term_months"],
    "weak": ["age"],
}


@dataclass(frozen=True)
class Seeded:
    """What :func:`seed_models` built."""

    evaluation: DatasetVersion
    champion: ModelVersion
    candidates: dict[str, ModelVersion]


def add_data(project: Project) -> DatasetVersion:
    """2,500 training rows as ``loans`` and 1,500 evaluation rows as ``loans-eval``."""
    data = generate_portfolio(months=2, rows_per_month=2000, seed=11)
    project.add_dataset(data.iloc[:2500].reset_index(drop=True), TRAIN)
    return project.add_dataset(data.iloc[2500:].reset_index(drop=True), EVAL).version


def train(project: Project, features: list[str], *, model: str = MODEL,
          estimator: str = "sklearn.linear_model.LogisticRegression",
          params: dict[str, Any] | None = None) -> ModelVersion:
    """Train on ``loans`` with ``features`` and register the run as ``model``."""
    result = project.train(dataset=TRAIN, target=TARGET, features=features,
                           estimator=estimator,
                           params={"max_iter": 500} if params is None else params)
    return project.register(result.run.id, model)


def deploy(project: Project, version: ModelVersion, env: str) -> None:
    """Make ``version`` serve in ``env`` without running gates (test set-up only)."""
    registry_promotion.promote(project.context, version.name, version.version, env)


def seed_models(project: Project, *, champion_env: str | None = "production",
                candidates: tuple[str, ...] = tuple(CANDIDATES)) -> Seeded:
    """Data, a champion on :data:`BASE` (serving in ``champion_env``) and candidates."""
    evaluation = add_data(project)
    champion = train(project, BASE)
    if champion_env is not None:
        deploy(project, champion, champion_env)
    made = {name: train(project, CANDIDATES[name]) for name in candidates}
    return Seeded(evaluation=evaluation, champion=champion, candidates=made)


def gate_inputs(project: Project, candidate: ModelVersion, env: str = "production",
                **promotion: Any) -> GateInputs:
    """What :func:`rasad.release.gates.evaluate` hands each gate, with ``promotion`` as the
    ``promotion:`` section of ``rasad.yaml`` (``evaluation_data`` defaults to ``loans-eval``).
    """
    config = PromotionConfig.model_validate({"evaluation_data": EVAL, **promotion})
    policy = config.policy(env, project.config.registry.environments)
    return GateInputs(project.context, candidate, env, policy, config)
