"""Batch scoring with reason codes: the columns, the typical values from the training
profile, the method in the result and the audit event; locally and through the API."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from rasad import Project
from rasad.errors import InputError
from rasad.serving import BatchResult
from tests._http import local, reopened, served_by
from tests.registry._helpers import FEATURES, TARGET, portfolio, registered, train

pytestmark = pytest.mark.over_http

REASONS = [f"reason_{k}" for k in range(1, 5)]


def test_explain_adds_reason_columns_after_the_scores(project: Project, tmp_path: Path) -> None:
    registered(project)
    data = portfolio(seed=3).head(80)
    data.to_parquet(source := tmp_path / "in.parquet", index=False)
    out = tmp_path / "out.parquet"
    result = project.predict("credit", source, output=out, explain=True)
    assert result.explained_with == "substitution"  # a logistic regression: no trees
    assert result.to_dict()["explained_with"] == "substitution"
    scored = pd.read_parquet(out)
    assert list(scored.columns) == ["prediction", "proba_0", "proba_1", "model_name",
                                    "model_version", *REASONS, "reasons"]
    assert result.frame is not None
    pd.testing.assert_frame_equal(result.frame.reset_index(drop=True), scored)
    profile = local(project).dataset("loans", 1).profile
    median = profile.column("income").quantiles["0.5"]
    explained = 0
    for _, row in scored.iterrows():
        listed = json.loads(row["reasons"])
        assert [r["text"] for r in listed] == [row[c] for c in REASONS[:len(listed)]]
        for reason in listed:
            assert reason["feature"] in FEATURES and reason["effect"] > 0
            assert f"raised the probability of {TARGET} = {row['prediction']} by" \
                in reason["text"]
            if reason["feature"] == "income":
                assert reason["reference"] == median
        explained += bool(listed)
    assert explained > 70  # nearly every row has at least one reason
    (event,) = project.audit_log(action="model.predict")
    assert event.details["explained_with"] == "substitution"
    if served_by(project) is not None:  # the caller's names, marked as the client's
        assert (event.details["input"], event.details["input_from"]) == (
            str(source.resolve()), "client")
        assert event.details["output"] == str(out.resolve())


def test_without_explain_nothing_changes(project: Project) -> None:
    registered(project)
    result = project.predict("credit", portfolio(seed=3).head(10))
    assert result.explained_with is None and "explained_with" not in result.to_dict()
    assert result.frame is not None and "reasons" not in result.frame.columns
    assert "explained_with" not in project.audit_log(action="model.predict")[0].details
    assert BatchResult.from_json(result.to_json()) == result


def test_a_tree_model_is_explained_with_shap_as_configured(project: Project) -> None:
    project.register(train(project, estimator="sklearn.ensemble.GradientBoostingClassifier",
                           params={"n_estimators": 30, "random_state": 0}).id, "credit")
    data = portfolio(seed=5).head(30)
    assert project.predict("credit", data, explain=True).explained_with == "shap"
    config = local(project).root / "rasad.yaml"
    settings = yaml.safe_load(config.read_text(encoding="utf-8"))
    settings.setdefault("governance", {})["explanations"] = {"method": "substitution",
                                                             "reasons": 2}
    config.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    with reopened(project) as again:
        result = again.predict("credit", data, explain=True)
        assert result.explained_with == "substitution"
        assert result.frame is not None
        assert [c for c in result.frame.columns if c.startswith("reason")] == [
            "reason_1", "reason_2", "reasons"]


@pytest.mark.local_only(reason="logs a model by hand, which the API does not serve")
def test_a_model_without_training_data_scores_but_cannot_explain(project: Project) -> None:
    model = project.load_model("credit", registered(project)[0].version)
    with project.start_run() as run:
        run.log_model(model, portfolio()[FEATURES], target=TARGET)
    project.register(run.id, "by-hand")
    data = portfolio(seed=3).head(5)
    assert project.predict("by-hand", data).rows == 5
    with pytest.raises(InputError, match=r"by-hand@1 records no training dataset.*"
                                         r"Run.use_dataset"):
        project.predict("by-hand", data, explain=True)
    assert len(project.audit_log(action="model.predict")) == 1  # the refusal wrote nothing


@pytest.mark.local_only(reason="runs the documented example in a folder of its own")
def test_the_documented_python_example_runs(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    import re

    docs = (Path(__file__).parents[2] / "docs" / "explanations.md").read_text()
    (block,) = re.findall(r"```python\n(.*?)```", docs, flags=re.S)
    monkeypatch.chdir(tmp_path)
    exec(compile(block, "docs/explanations.md", "exec"), {})
    method, reason = capsys.readouterr().out.splitlines()
    assert method == "substitution"
    assert re.fullmatch(r"\w+ = .+ \(typical: .+\) raised the probability of default = \d "
                        r"by [0-9.e-]+", reason)
