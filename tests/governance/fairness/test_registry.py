"""A mitigated model is logged on a run, registered, promoted and scored like any other."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from rasad import Project
from rasad.examples import generate_portfolio
from rasad.governance.fairness import mitigate

pytestmark = pytest.mark.over_http  # the project-level tests run through the API too

NUMERIC = ["income", "debt_to_income", "age"]


def test_mitigated_model_through_the_registry(project: Project) -> None:
    data = generate_portfolio(months=2, rows_per_month=600, seed=3)
    x = data[[*NUMERIC, "employment_type", "nationality"]]
    base = make_pipeline(
        make_column_transformer((StandardScaler(), NUMERIC),
                                (OneHotEncoder(handle_unknown="ignore"), ["employment_type"])),
        LogisticRegression(max_iter=300, class_weight="balanced"))
    result = mitigate(base, x, data["default"], "nationality", seed=1, n_boot=100)
    with project.start_run("mitigated") as run:
        run.log_model(result.estimator, x, target="default")
    version = project.register(run.id, "fair-credit")
    assert version.classes == [0, 1]
    assert [c.name for c in version.signature.columns] == list(x.columns)
    project.promote("fair-credit", version.version, "staging")
    scored = project.predict("fair-credit", x.head(100), env="staging")
    assert scored.frame is not None
    expected = result.estimator.predict(x.head(100), random_state=None)
    assert set(np.unique(scored.frame["prediction"])) <= {0, 1}
    assert len(scored.frame) == len(expected) == 100
    loaded = project.load_model("fair-credit", version=version.version)
    assert type(loaded).__name__ == type(result.estimator).__name__
