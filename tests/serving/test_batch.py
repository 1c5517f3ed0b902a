"""Batch scoring: files in, predictions with the version that made them out, all audited."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from rasad import Project
from rasad.errors import InputError, NotFoundError
from rasad.results import Result
from rasad.serving import BatchResult
from tests.registry._helpers import (
    FEATURES,
    audit_count,
    portfolio,
    registered,
    train,
    without_approval,
)

pytestmark = pytest.mark.over_http  # the project-level tests run through the API too

OUTPUT_COLUMNS = {"prediction", "proba_0", "proba_1", "model_name", "model_version"}


def _write(frame: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path) if path.suffix.lower() == ".csv" else pd.read_parquet(path)


def _assert_scored(scored: pd.DataFrame, pipeline: object, inputs: pd.DataFrame,
                   version: int) -> None:
    assert set(scored.columns) == OUTPUT_COLUMNS
    assert len(scored) == len(inputs)
    proba = scored[["proba_0", "proba_1"]].to_numpy()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-9)
    expected = pipeline.predict_proba(inputs[FEATURES])  # type: ignore[attr-defined]
    np.testing.assert_allclose(proba, expected, rtol=1e-9)  # row for row, in input order
    np.testing.assert_array_equal(scored["prediction"].to_numpy(),
                                  pipeline.predict(inputs[FEATURES]))  # type: ignore[attr-defined]
    assert set(scored["model_name"]) == {"credit"}
    assert set(scored["model_version"]) == {version}


def test_csv_and_parquet_in_and_out(project: Project, tmp_path: Path) -> None:
    registered(project)
    pipeline = project.load_model("credit", 1)
    data = portfolio(seed=3).sample(frac=0.5, random_state=1)  # shuffled, with a gappy index
    cases = [("in.csv", "out.csv"), ("in.parquet", "out.parquet"),
             ("in.csv", "nested/out.pq"), ("in.parquet", "OUT.CSV")]
    for source, target in cases:
        inputs = _write(data, tmp_path / source)
        out = tmp_path / target
        result = project.predict("credit", inputs, output=out)
        assert (result.model, result.version, result.rows) == ("credit", 1, len(data))
        assert result.output == str(out) and out.is_file()
        scored = _read(out)
        _assert_scored(scored, pipeline, data, 1)
        assert result.frame is not None
        np.testing.assert_allclose(result.frame["proba_1"], scored["proba_1"], rtol=1e-12)
        assert not [p for p in out.parent.iterdir() if p.name.endswith(".tmp")]

    events = project.audit_log(action="model.predict")
    assert len(events) == len(cases)
    for event, (source, target) in zip(events, cases, strict=True):
        assert event.subject == "model:credit@1" and event.actor == "tester"
        assert event.details["rows"] == len(data)
        assert event.details["input"] == str((tmp_path / source).resolve())
        assert event.details["output"] == str((tmp_path / target).resolve())
        assert event.details["environment"] is None
    assert project.verify_audit().ok


def test_a_frame_scores_in_memory_without_writing(project: Project) -> None:
    registered(project)
    data = portfolio(seed=4).head(40)
    result = project.predict("credit", data)
    assert result.output is None and result.frame is not None
    _assert_scored(result.frame, project.load_model("credit"), data, 1)
    (event,) = project.audit_log(action="model.predict")
    assert event.details["input"] == "pandas.DataFrame" and event.details["output"] is None


@pytest.mark.local_only(reason="edits rasad.yaml and reopens the project folder")
def test_env_scoring_uses_the_version_deployed_there(project: Project, tmp_path: Path) -> None:
    first = train(project)
    second = train(project, features=["income", "debt_to_income"], params={"C": 0.01})
    project.register(first.id, "credit")
    project.register(second.id, "credit")
    with without_approval(project, "production") as project:
        project.promote("credit", 1, "production")
        data = portfolio(seed=5).head(80)
        inputs = _write(data, tmp_path / "in.parquet")

        in_production = project.predict("credit", inputs, env="production",
                                        output=tmp_path / "prod.csv")
        latest = project.predict("credit", inputs, output=tmp_path / "latest.csv")
        assert (in_production.version, latest.version) == (1, 2)
        v1, v2 = project.load_model("credit", 1), project.load_model("credit", 2)
        _assert_scored(pd.read_csv(tmp_path / "prod.csv"), v1, data, 1)
        assert not np.allclose(pd.read_csv(tmp_path / "prod.csv")["proba_1"],
                               v2.predict_proba(data[["income", "debt_to_income"]])[:, 1])
        assert set(pd.read_csv(tmp_path / "latest.csv")["model_version"]) == {2}

        project.promote("credit", 2, "production")
        assert project.predict("credit", data, env="production").version == 2
        prod_events = [e for e in project.audit_log(action="model.predict")
                       if e.details["environment"] == "production"]
        assert [e.subject for e in prod_events] == ["model:credit@1", "model:credit@2"]

        out = tmp_path / "dev.csv"
        with pytest.raises(NotFoundError, match="no version in 'dev'"):
            project.predict("credit", inputs, env="dev", output=out)
        assert not out.exists()


def test_missing_mistyped_or_empty_input_is_refused_and_nothing_is_written(
        project: Project, tmp_path: Path) -> None:
    registered(project)
    data = portfolio(seed=6).head(30)
    mistyped = data.assign(income=data["income"].astype(str))  # text, as a file may hold it
    mistyped.loc[mistyped.index[4], "income"] = "unknown"
    bad_inputs = [
        (_write(data.drop(columns=["debt_to_income"]), tmp_path / "missing.csv"),
         r"missing column 'debt_to_income'"),
        (_write(mistyped, tmp_path / "mistyped.csv"),
         r"column 'income' has 1 non-numeric value \(e\.g\. 'unknown'\)"),
        (_write(mistyped.drop(columns=["age"]), tmp_path / "both.parquet"),
         r"missing column 'age'.*column 'income' has 1 non-numeric"),
        (data.drop(columns=["employment_type"]), r"missing column 'employment_type'"),
        (_write(data.head(0), tmp_path / "empty.csv"), r"no data rows"),
        (data.head(0), r"no rows"),
    ]
    out_dir = tmp_path / "scores"
    for source, message in bad_inputs:
        for out in (out_dir / "scored.csv", out_dir / "scored.parquet"):
            with pytest.raises(InputError, match=message):
                project.predict("credit", source, output=out)
    assert not out_dir.exists()
    assert audit_count(project, "model.predict") == 0


def test_unseen_categories_warn_by_default_and_fail_when_strict(project: Project,
                                                              tmp_path: Path) -> None:
    registered(project)
    data = portfolio(seed=7).head(50).reset_index(drop=True)
    data.loc[[1, 2, 3], "employment_type"] = "gig_economy"
    inputs = _write(data, tmp_path / "in.csv")

    result = project.predict("credit", inputs, output=tmp_path / "scored.csv")
    unseen = [w for w in result.warnings if "employment_type" in w]
    assert len(unseen) == 1 and "'gig_economy' (3 rows)" in unseen[0]
    scored = pd.read_csv(tmp_path / "scored.csv")
    assert len(scored) == len(data)
    np.testing.assert_allclose(scored[["proba_0", "proba_1"]].sum(axis=1), 1.0, rtol=1e-9)

    strict_out = tmp_path / "strict.csv"
    with pytest.raises(InputError, match=r"column 'employment_type' has unseen categories "
                                         r"'gig_economy' \(3 rows\)"):
        project.predict("credit", inputs, output=strict_out, strict_categories=True)
    assert not strict_out.exists()
    assert audit_count(project, "model.predict") == 1


@pytest.mark.parametrize("name", ["scores.json", "scores", "scores.csv.gz"])
def test_an_unknown_output_suffix_is_refused_before_anything_else(
        project: Project, tmp_path: Path, name: str) -> None:
    out = tmp_path / name
    # Neither the model nor the input exists: the output is checked first, so those
    # errors never come up and nothing is read, scored or recorded.
    with pytest.raises(InputError, match=r"must end in \.csv, \.parquet, \.pq"):
        project.predict("no-such-model", tmp_path / "no-such-input.csv", output=out)
    assert not out.exists()
    assert audit_count(project, "model.predict") == 0


def test_scoring_refuses_to_write_over_its_own_input(project: Project, tmp_path: Path) -> None:
    registered(project)
    data = _write(portfolio(seed=3).drop(columns=["default"]), tmp_path / "new.csv")
    before = data.read_bytes()
    events = audit_count(project, "model.predict")
    with pytest.raises(InputError, match="destroy the input"):
        project.predict("credit", data, output=data)
    link = tmp_path / "alias.csv"
    link.symlink_to(data)
    with pytest.raises(InputError, match="destroy the input"):
        project.predict("credit", data, output=link)
    assert data.read_bytes() == before and audit_count(project, "model.predict") == events


def test_the_result_is_json_without_the_frame(project: Project) -> None:
    registered(project)
    result = project.predict("credit", portfolio(seed=3).head(20))
    assert isinstance(result, Result) and "to_dict" not in vars(BatchResult)
    # The keys BatchResult.to_dict() wrote before it was a Result, and no frame.
    old = {"model": "credit", "version": 1, "rows": 20, "output": None,
           "warnings": result.warnings}
    assert result.to_dict() == old and list(result.to_dict()) == list(old)
    assert result.frame is not None and len(result.frame) == 20
    loaded = BatchResult.from_json(result.to_json())
    assert loaded.to_dict() == old and loaded.frame is None
    assert loaded == result  # the value is what is reported; the frame is not compared
    assert loaded != BatchResult.from_dict({**old, "rows": 21}) and result != old
    stored = BatchResult.from_dict({"model": "credit", "version": 3, "rows": 5,
                                    "output": "scores.csv", "warnings": ["a warning"]})
    assert (stored.version, stored.output, stored.warnings) == (3, "scores.csv", ["a warning"])
    with pytest.raises(ValidationError, match="rows"):
        BatchResult.from_dict({"model": "credit", "version": 1, "output": None})
