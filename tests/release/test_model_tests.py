"""``run_model_tests`` on real projects (SQLite and PostgreSQL): a registered model, dataset
versions, the tests of rasad.yaml; what it reads, what it refuses, and that it writes nothing.

The tests marked ``over_http`` declare the tests in rasad.yaml and call
``Project.test_model``, so they also run through the API (conftest's http backend, the
server restarted to read the file). The one that stays local gives the service four
configurations in memory: its refusals are the service's own, and a refusal's travel
over the API is proven by the others.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from rasad import Project
from rasad.errors import InputError, IntegrityError, NotFoundError
from rasad.release.model_tests import run_model_tests
from tests._http import acting_as, local, reopened
from tests.identity._helpers import snapshot
from tests.registry._helpers import blob_path, flip_one_byte

from ._model_tests_seed import (
    EVAL,
    FAILING,
    MODEL,
    PASSING,
    TARGET,
    declared,
    seed,
    write_promotion,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "promotion.md"


@pytest.mark.over_http
def test_the_declared_tests_run_on_the_registered_model(project: Project) -> None:
    seeded = seed(project)
    write_promotion(local(project).root, evaluation_data=EVAL, tests=[*PASSING, FAILING])
    with reopened(project) as declared_there:
        report = declared_there.test_model(f"{MODEL}@1")
        assert report == declared_there.test_model(MODEL, 1) == run_model_tests(
            local(declared_there).context, MODEL, 1)
    assert (report.model, report.artifact_sha256) == ("credit@1", seeded.model.blob)
    assert (report.data, report.data_sha256) == ("loans-eval@1", seeded.evaluation.content_hash)
    assert (report.target, report.rows) == (TARGET, 600)
    assert [test.passed for test in report.tests] == [True, True, True, True, False]
    assert report.failed == ["region plays no part"]
    gender, debt, _, robust, region = report.tests
    assert gender.evidence["model_input"] is False and gender.evidence["worst_share"] == 0.0
    assert robust.evidence["columns"] == list(seeded.model.signature.names)
    # The figures are the registered pipeline's, on the rows as its signature reads them.
    pipeline = project.load_model(MODEL, 1)
    frame = project.load_dataset(EVAL)
    signature = seeded.model.signature
    before = pipeline.predict_proba(signature.coerce(frame))[:, 1]
    after = pipeline.predict_proba(signature.coerce(
        frame.assign(debt_to_income=frame["debt_to_income"] + 0.2)))[:, 1]
    assert debt.evidence["mean_before"] == pytest.approx(before.mean(), rel=1e-12)
    assert debt.evidence["mean_after"] == pytest.approx(after.mean(), rel=1e-12)
    decisions = pipeline.predict(signature.coerce(frame))
    worst = max(np.mean(pipeline.predict(signature.coerce(frame.assign(region=v))) != decisions)
                for v in frame["region"].unique())
    assert region.evidence["worst_share"] == worst > 0


@contextmanager
def _declaring(project: Project, **promotion: Any) -> Iterator[Project]:
    """``project`` with ``promotion`` as rasad.yaml's ``promotion:`` section (opened again,
    or its server restarted, to read it)."""
    write_promotion(local(project).root, **promotion)
    with reopened(project) as declared_there:
        yield declared_there


@pytest.mark.over_http
def test_the_data_come_from_the_argument_else_from_rasad_yaml(project: Project) -> None:
    seed(project)
    project.add_dataset(project.load_dataset(EVAL).iloc[:100], "recent")
    with _declaring(project, evaluation_data=EVAL, tests=PASSING) as there:
        assert there.test_model(MODEL).data == "loans-eval@1"
        assert there.test_model(MODEL, 1, data="recent").data == "recent@1"
        assert there.test_model(MODEL, data="recent@1").rows == 100
        assert there.test_model("credit@1", 1).data == "loans-eval@1"  # the same version
        with pytest.raises(NotFoundError, match="has no version 9"):
            there.test_model(MODEL, 9)
        with pytest.raises(InputError, match="already names version 1"):
            there.test_model("credit@1", 2)
    with _declaring(project, tests=PASSING) as there, \
            pytest.raises(InputError, match=r"--data NAME@VERSION .* "
                                            r"promotion.evaluation_data"):
        there.test_model(MODEL)
    with _declaring(project, evaluation_data="gone", tests=PASSING) as there, \
            pytest.raises(NotFoundError, match="promotion.evaluation_data in rasad.yaml names "
                                               "'gone'"):
        there.test_model(MODEL)


def test_what_cannot_be_tested_is_refused_with_the_fix(project: Project) -> None:
    seed(project)
    project.add_dataset(project.load_dataset(EVAL).drop(columns="region"), "no-region")
    with pytest.raises(InputError, match="No model tests are declared: list them under "
                                         "promotion.tests"):
        run_model_tests(declared(project, evaluation_data=EVAL), MODEL)
    with pytest.raises(InputError, match="no label column 'outcome'; set promotion.target"):
        run_model_tests(declared(project, evaluation_data=EVAL, target="outcome",
                                 tests=PASSING), MODEL)
    with pytest.raises(InputError, match="does not match model 'credit@1' signature: missing "
                                         "column 'region'"):
        run_model_tests(declared(project, evaluation_data="no-region", tests=PASSING), MODEL)
    with pytest.raises(InputError, match=r"Test 'odd' \(invariance\): .*non-numeric"):
        run_model_tests(declared(project, evaluation_data=EVAL, tests=[
            {"name": "odd", "kind": "invariance", "column": "age", "values": ["old"]}]), MODEL)


@pytest.mark.over_http
def test_it_reads_only_and_a_viewer_may_run_it(project: Project) -> None:
    seed(project)
    with _declaring(project, evaluation_data=EVAL, tests=[*PASSING, FAILING]) as there, \
            acting_as(there, "mallory") as viewer:
        before = snapshot(local(there))
        assert [r.value for r in viewer.principal.roles] == ["viewer"]
        report = viewer.test_model(MODEL, 1)
        assert report.failed == ["region plays no part"]
        assert snapshot(local(there)) == before


@pytest.mark.over_http
def test_model_bytes_that_fail_their_hash_are_not_loaded(project: Project) -> None:
    seeded = seed(project)
    flip_one_byte(blob_path(local(project), seeded.model.blob))
    with _declaring(project, evaluation_data=EVAL, tests=PASSING) as there, \
            pytest.raises(IntegrityError):
        there.test_model(MODEL)


@pytest.mark.over_http
def test_the_example_in_the_docs_runs_from_rasad_yaml(project: Project) -> None:
    seed(project)
    section = DOCS.read_text(encoding="utf-8").split("## Model tests", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", section, flags=re.S)
    assert block is not None
    config = local(project).root / "rasad.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "\n" + block.group(1),
                      encoding="utf-8")
    with reopened(project) as declared_there:
        report = declared_there.test_model(MODEL, 1)
    declared_names = [t["name"] for t in yaml.safe_load(block.group(1))["promotion"]["tests"]]
    assert [test.name for test in report.tests] == declared_names
    assert report.passed, report.failed
    young = report.tests[1].evidence
    assert young["rows"] == 40 and young["slice"] == {"column": "age", "min": 18.0, "max": 25.0}
