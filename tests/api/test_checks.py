"""``/checks``: drift, fairness and performance over the server (SQLite and PostgreSQL).

Each remote check, run through the real app in-process, gives what the local Project verb
gives on the same dataset versions; a viewer may run unsaved checks but not save one
(403, nothing stored); bad requests are 422 problems and unknown datasets 404; and no
request generated from the schema makes the routes fail.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings

from rasad import Project
from rasad.api import PREFIX
from rasad.drift import Chunker
from rasad.errors import InputError, NotFoundError, PermissionDenied
from rasad.governance.fairness import FairnessPolicy
from rasad.governance.fairness.service import assess_model
from rasad.monitoring.results import MonitorResult
from rasad.monitoring.thresholds import FixedThreshold, StdThreshold
from rasad.remote._checks import CheckVerbs, dataset_ref
from rasad.remote.project import RemoteProject
from tests.api.conftest import Tokens
from tests.api.test_fuzz import CHECKS
from tests.api.test_remote import SERVER, InProcess
from tests.registry._helpers import registered


class Remote(RemoteProject):
    """RemoteProject with the check verbs (what the lead's RemoteProject will be)."""


@pytest.fixture
def api(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def remote(api: TestClient, tokens: Tokens) -> Iterator[Remote]:
    with Remote(SERVER, tokens.admin, transport=InProcess(api)) as remote:
        yield remote


@pytest.fixture
def viewer(api: TestClient, tokens: Tokens) -> Iterator[Remote]:
    with Remote(SERVER, tokens.viewer, transport=InProcess(api)) as remote:
        yield remote


def scored(n: int = 600, seed: int = 0, shift: float = 0.0) -> pd.DataFrame:
    """A binary classifier's scores, predictions and labels, with two features."""
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1.0, n)
    score = 1 / (1 + np.exp(-x))
    return pd.DataFrame({"x": x, "z": rng.normal(0, 1, n),
                         "score": score, "pred": (score > 0.5).astype(int),
                         "y": (rng.random(n) < score).astype(int),
                         "group": rng.choice(["a", "b"], n)})


@pytest.fixture
def sides(project: Project) -> tuple[str, str]:
    project.add_dataset(scored(seed=0), "ref")
    project.add_dataset(scored(seed=1, shift=0.8), "cur")
    return "ref@1", "cur@1"


def monitor_rows(project: Project) -> tuple[list[MonitorResult], int]:
    return (project.monitor_results(),
            len(project.audit_log(action="monitor.result")))


# ---- the remote check is the local check ----------------------------------------------


def test_drift_remote_equals_local(project: Project, remote: Remote,
                                   sides: tuple[str, str]) -> None:
    ref, cur = sides
    chunker = Chunker(size=200)
    local = project.check_drift(project.dataset("ref", 1), project.dataset("cur", 1),
                                columns=["x", "z"], chunker=chunker, multivariate=True)
    far = remote.check_drift(ref, remote.dataset("cur", 1), columns=["x", "z"],
                             chunker=chunker, multivariate=True)
    assert far.to_dict() == local.to_dict()
    assert far.drifted and far.saved is None and far.profile_built is None

    saved = remote.check_drift(ref, cur, save=True, monitor="nightly")
    assert saved.saved is not None and saved.saved == project.monitor_result(saved.saved.id)
    assert (saved.saved.monitor, saved.saved.created_by) == ("nightly", "ada")
    assert remote.monitor_report(saved.saved.id) == saved.to_dict()

    # The stored profile: built by the first call, reused by the next, on either door.
    built = remote.check_drift(ref, cur, use_profile=True)
    assert built.profile_built is True
    reused = project.check_drift(project.dataset("ref", 1), project.dataset("cur", 1),
                                 use_profile=True)
    assert reused.profile_built is False
    assert remote.check_drift(ref, cur, use_profile=True).to_dict() == reused.to_dict()


def test_performance_and_estimation_remote_equal_local(project: Project, remote: Remote,
                                                       sides: tuple[str, str]) -> None:
    ref, cur = sides
    options = {"target": "y", "prediction": "pred", "score": "score",
               "chunker": Chunker(number=3)}
    local = project.track_performance(ref, cur, metrics=["accuracy", "roc_auc"],
                                      threshold=FixedThreshold(lower=0.6), **options)
    far = remote.track_performance(ref, cur, metrics=["accuracy", "roc_auc"],
                                   threshold=FixedThreshold(lower=0.6), **options)
    assert (far.reference, far.current, far.saved) == ("ref@1", "cur@1", None)
    assert far.report.to_dict() == local.report.to_dict()

    estimated = project.estimate_performance(ref, cur, threshold=StdThreshold(2.0),
                                             **options)
    far_estimated = remote.estimate_performance(ref, cur, threshold=StdThreshold(2.0),
                                                **options)
    assert far_estimated.report.to_dict() == estimated.report.to_dict()

    kept = remote.track_performance(ref, cur, save=True, **options)
    assert kept.saved is not None and kept.saved == project.monitor_result(kept.saved.id)
    assert remote.performance_report(kept.saved).to_dict() == kept.report.to_dict()
    guessed = remote.estimate_performance(ref, cur, save=True, monitor="guess", **options)
    assert guessed.saved is not None and guessed.saved.monitor == "guess"
    assert remote.performance_report(guessed.saved) == \
        project.performance_report(guessed.saved)
    drift = remote.check_drift(ref, cur, save=True)
    assert drift.saved is not None
    with pytest.raises(InputError, match="is a drift result, not a performance"):
        remote.performance_report(drift.saved)


def test_fairness_remote_equals_local(project: Project, remote: Remote) -> None:
    registered(project, "credit")
    options = {"protected": ["gender"], "n_boot": 100, "seed": 3}
    local = project.assess_fairness("credit@1", "loans@1", save=False, **options)
    far = remote.assess_fairness("credit@1", "loans@1", save=False, **options)
    assert far.to_dict() == local.to_dict() and far.result_id is None

    policy = FairnessPolicy(thresholds={"demographic_parity_difference": 0.01},
                            min_group_size=50)
    # Project.assess_fairness takes no bins yet: the service it calls does.
    strict = assess_model(project.context, "credit@1", "loans@1", save=False, policy=policy,
                          protected=["gender", "age"], bins={"age": [18, 40, 90]},
                          n_boot=100, seed=3)
    assert remote.assess_fairness("credit@1", "loans@1", save=False, policy=policy,
                                  protected=["gender", "age"], bins={"age": [18, 40, 90]},
                                  n_boot=100, seed=3).to_dict() == strict.to_dict()
    assert [a.name for a in strict.report.attributes] == ["gender", "age"]

    kept = remote.assess_fairness("credit", "loans", favorable=0, **options)
    assert kept.result_id is not None
    assert remote.fairness_assessments() == project.fairness_assessments()
    assert [r.id for r in remote.fairness_assessments()] == [kept.result_id]
    assert project.monitor_result(kept.result_id).created_by == "ada"


# ---- permissions: the services decide -------------------------------------------------


def test_a_viewer_checks_but_cannot_save(project: Project, viewer: Remote, api: TestClient,
                                         tokens: Tokens, sides: tuple[str, str]) -> None:
    ref, cur = sides
    registered(project, "credit")
    before = monitor_rows(project)
    assert viewer.check_drift(ref, cur).drifted
    assert viewer.track_performance(ref, cur, target="y", prediction="pred").saved is None
    assert viewer.assess_fairness("credit@1", "loans@1", protected=["gender"], n_boot=100,
                                  save=False).result_id is None
    performance = {"target": "y", "prediction": "pred", "score": "score", "save": True}
    for refused in (lambda: viewer.check_drift(ref, cur, save=True),
                    lambda: viewer.track_performance(ref, cur, **performance),
                    lambda: viewer.estimate_performance(ref, cur, **performance),
                    lambda: viewer.assess_fairness("credit@1", "loans@1",
                                                   protected=["gender"], n_boot=100)):
        with pytest.raises(PermissionDenied, match="monitor.write"):
            refused()
    answer = api.post(f"{PREFIX}/checks/drift", headers=tokens.as_viewer,
                      json={"reference": ref, "current": cur, "save": True})
    assert answer.status_code == 403
    assert answer.json()["error"] == "PermissionDenied"
    assert monitor_rows(project) == before


# ---- refusals -------------------------------------------------------------------------


def test_files_and_frames_are_refused_remotely(remote: Remote, tmp_path: Path,
                                               sides: tuple[str, str]) -> None:
    with pytest.raises(InputError, match=r"The reference '.*ref\.csv' is a file: over the "
                                         r"server.*rasad data add"):
        remote.check_drift(str(tmp_path / "ref.csv"), sides[1])
    with pytest.raises(InputError, match=r"The current \(a DataFrame\) is not a dataset "
                                         r"version: .*RemoteProject.add_dataset"):
        remote.check_drift(sides[0], scored())
    with pytest.raises(InputError, match=r"The current '.*cur\.parquet' is a file"):
        remote.track_performance(sides[0], tmp_path / "cur.parquet",  # type: ignore[arg-type]
                                 target="y", prediction="pred")
    assert dataset_ref("loans", "reference") == "loans"


def test_bad_requests_are_problems(project: Project, api: TestClient, tokens: Tokens,
                                   remote: Remote, sides: tuple[str, str]) -> None:
    ref, cur = sides

    def post(route: str, body: dict[str, object]) -> tuple[int, str, str]:
        answer = api.post(f"{PREFIX}/checks/{route}", headers=tokens.as_admin, json=body)
        problem = answer.json()
        return answer.status_code, problem["error"], problem["detail"]

    status, error, _ = post("drift", {"reference": "../etc/passwd", "current": cur})
    assert (status, error) == (422, "InputError")
    status, error, detail = post("drift", {"reference": ref, "current": cur,
                                           "chunking": {"size": 10, "number": 2}})
    assert (status, error, detail) == (422, "InputError",
                                       "Chunk by one of size, number or period, not size "
                                       "and number.")
    status, _, detail = post("performance", {"reference": ref, "current": cur, "target": "y",
                                             "prediction": "pred",
                                             "threshold": {"method": "fixed"}})
    assert (status, detail) == (422, "FixedThreshold needs a lower or an upper bound (or "
                                     "both).")
    status, error, _ = post("drift", {"reference": "nope@1", "current": cur})
    assert (status, error) == (404, "NotFoundError")
    status, error, detail = post("drift", {"reference": ref, "current": cur, "save": True,
                                           "monitor": "bad name"})
    assert (status, error) == (422, "InputError") and "Monitor" in detail
    with pytest.raises(NotFoundError):
        remote.estimate_performance(ref, "cur@9", target="y", prediction="pred",
                                    score="score")
    assert project.monitor_results() == []


def test_no_generated_check_request_makes_the_server_fail(project: Project, app: FastAPI,
                                                          tokens: Tokens,
                                                          sides: tuple[str, str]) -> None:
    schema = schemathesis.openapi.from_asgi(f"{PREFIX}/openapi.json", app)
    tried: list[str] = []
    with TestClient(app):
        for found in schema.get_all_operations():
            operation = found.ok()  # type: ignore[union-attr]
            if "/checks/" not in operation.path:
                continue
            tried.append(operation.label)

            @given(case=operation.as_strategy())
            @settings(max_examples=25, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck))
            def no_server_error(case: schemathesis.Case) -> None:
                response = case.call(headers=tokens.as_admin)
                case.validate_response(response, checks=CHECKS)

            no_server_error()
    assert len(tried) == 4


def test_the_check_verbs_have_the_local_signatures() -> None:
    verbs = [name for name, value in vars(CheckVerbs).items()
             if not name.startswith("_") and callable(value)]
    assert sorted(verbs) == ["assess_fairness", "check_drift", "estimate_performance",
                             "fairness_assessments", "performance_report",
                             "track_performance"]
    for name in verbs:
        local = inspect.signature(getattr(Project, name))
        remote = inspect.signature(getattr(CheckVerbs, name))
        if name == "assess_fairness":
            # The CLI's bins and favourable-outcome source come after Project's parameters.
            assert list(remote.parameters)[:len(local.parameters)] == list(local.parameters)
            assert [str(p) for p in remote.parameters.values()][:len(local.parameters)] == \
                [str(p) for p in local.parameters.values()]
        else:
            assert str(remote) == str(local), name
