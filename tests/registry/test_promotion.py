"""Promotions and rollbacks: one version serves per environment, history is kept, all audited."""

from __future__ import annotations

import pytest

from rasad import Project
from rasad.config import CONFIG_FILE
from rasad.errors import ConflictError, NotFoundError

from ._helpers import NO_APPROVAL_FOR, audit_count, current_rows, registered, without_approval

pytestmark = pytest.mark.over_http  # the project-level tests run through the API too


def _deploy_events(project: Project) -> int:
    return audit_count(project, "model.promotion") + audit_count(project, "model.rollback")


@pytest.mark.local_only(reason="reads the current deployments in the database")
def test_promote_to_dev_then_staging(project: Project) -> None:
    (mv,) = registered(project)
    to_dev = project.promote("credit", 1, "dev", reason="first candidate")
    to_staging = project.promote("credit", 1, "staging")
    for deployment, env in ((to_dev, "dev"), (to_staging, "staging")):
        assert (deployment.model_name, deployment.environment, deployment.version) == (
            "credit", env, 1)
        assert deployment.previous_version is None and deployment.changed
        assert deployment.kind == "promotion" and deployment.deployed_by == "tester"
    assert to_dev.reason == "first candidate"
    detail = project.model("credit")
    assert detail.deployed == {"dev": 1, "staging": 1}
    assert list(detail.deployed) == ["dev", "staging"]  # in promotion order
    assert [(d.environment, d.version) for d in detail.history] == [("dev", 1), ("staging", 1)]
    assert [env for env, _ in current_rows(project, "credit")] == ["dev", "staging"]

    events = project.audit_log(action="model.promotion")
    assert [(e.subject, e.details["environment"], e.details["version"]) for e in events] == [
        ("model:credit", "dev", 1), ("model:credit", "staging", 1)]
    assert events[0].details["reason"] == "first candidate"
    assert events[0].details["previous_version"] is None
    assert all(e.details["artifact_sha256"] == mv.blob for e in events)
    assert project.verify_audit().ok


@pytest.mark.local_only(reason="reads the current deployments in the database")
def test_a_second_version_replaces_the_first_and_history_is_kept(project: Project) -> None:
    registered(project, versions=2)
    first = project.promote("credit", 1, "staging")
    second = project.promote("credit", 2, "staging")
    assert second.changed and second.version == 2 and second.previous_version == 1
    assert second.id != first.id
    detail = project.model("credit")
    assert detail.deployed == {"staging": 2}
    assert detail.environments_of(1) == []
    assert [(d.id, d.version, d.previous_version) for d in detail.history] == [
        (first.id, 1, None), (second.id, 2, 1)]
    assert current_rows(project, "credit") == [("staging", second.id)]
    assert project.model_version("credit", env="staging").version == 2
    last = project.audit_log(action="model.promotion")[-1]
    assert (last.details["version"], last.details["previous_version"]) == (2, 1)
    assert project.verify_audit().ok


@pytest.mark.local_only(reason="reads the current deployments in the database")
def test_promoting_the_serving_version_again_changes_nothing(project: Project) -> None:
    registered(project, versions=2)
    first = project.promote("credit", 1, "staging")
    events_before = len(project.audit_log())
    again = project.promote("credit", 1, "staging", reason="retry")
    assert not again.changed
    assert (again.id, again.version, again.environment) == (first.id, 1, "staging")
    assert len(project.audit_log()) == events_before
    assert len(project.model("credit").history) == 1
    assert current_rows(project, "credit") == [("staging", first.id)]
    # The same version elsewhere, or another version here, is a change again.
    assert project.promote("credit", 1, "dev").changed
    assert project.promote("credit", 2, "staging").changed
    assert project.promote("credit", 1, "staging").changed
    assert _deploy_events(project) == 4


@pytest.mark.local_only(reason="reads the current deployments in the database")
def test_unknown_environment_version_or_model_is_not_found(project: Project) -> None:
    registered(project)
    events_before = len(project.audit_log())
    for call in (lambda: project.promote("credit", 1, "prod"),
                 lambda: project.rollback("credit", "prod")):
        with pytest.raises(NotFoundError,
                           match=r"No environment 'prod'; environments are dev, staging, "
                                 r"production"):
            call()
    with pytest.raises(NotFoundError, match=r"no version 4; versions are 1\."):
        project.promote("credit", 4, "dev")
    with pytest.raises(NotFoundError, match=r"No model named 'credt'.*credit"):
        project.promote("credt", 1, "dev")
    with pytest.raises(NotFoundError, match=r"No model named 'credt'.*credit"):
        project.rollback("credt", "dev")
    assert len(project.audit_log()) == events_before
    assert current_rows(project, "credit") == []


@pytest.mark.local_only(reason="edits rasad.yaml and reopens the project folder")
def test_environments_come_from_the_project_configuration(project: Project) -> None:
    config = project.root / CONFIG_FILE
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("environments: [dev, staging, production]",
                                   "environments: [qa, live]")
                      .replace(NO_APPROVAL_FOR[0], NO_APPROVAL_FOR[1].format(env="live")),
                      encoding="utf-8")
    with Project.open(project.root) as custom:
        registered(custom)
        with pytest.raises(NotFoundError, match=r"environments are qa, live"):
            custom.promote("credit", 1, "staging")
        assert custom.promote("credit", 1, "live").changed
        assert custom.model("credit").deployed == {"live": 1}


def test_rollback_steps_back_one_deployment_at_a_time(project: Project) -> None:
    versions = registered(project, versions=3)
    project.promote("credit", 3, "dev")
    for v in (1, 2, 3):
        project.promote("credit", v, "staging")
    assert _deploy_events(project) == 4

    back = project.rollback("credit", "staging", reason="latency regression")
    assert (back.kind, back.version, back.previous_version, back.changed) == (
        "rollback", 2, 3, True)
    assert back.reason == "latency regression"
    assert project.model("credit").deployed == {"dev": 3, "staging": 2}
    assert _deploy_events(project) == 5

    again = project.rollback("credit", "staging")
    assert (again.kind, again.version, again.previous_version) == ("rollback", 1, 2)
    assert project.model("credit").deployed == {"dev": 3, "staging": 1}
    assert _deploy_events(project) == 6

    with pytest.raises(ConflictError, match="no earlier deployment"):
        project.rollback("credit", "staging")
    with pytest.raises(ConflictError, match="no earlier deployment"):
        project.rollback("credit", "dev")
    assert _deploy_events(project) == 6
    assert project.model("credit").deployed == {"dev": 3, "staging": 1}

    history = [(d.environment, d.kind, d.version, d.previous_version)
               for d in project.model("credit").history]
    assert history == [("dev", "promotion", 3, None),
                       ("staging", "promotion", 1, None),
                       ("staging", "promotion", 2, 1),
                       ("staging", "promotion", 3, 2),
                       ("staging", "rollback", 2, 3),
                       ("staging", "rollback", 1, 2)]
    rollbacks = project.audit_log(action="model.rollback")
    assert [(e.details["version"], e.details["previous_version"]) for e in rollbacks] == [
        (2, 3), (1, 2)]
    assert rollbacks[0].details["artifact_sha256"] == versions[1].blob
    assert rollbacks[0].details["reason"] == "latency regression"
    assert project.verify_audit().ok


@pytest.mark.local_only(reason="edits rasad.yaml and reopens the project folder")
def test_promoting_after_a_rollback_keeps_the_chain(project: Project) -> None:
    with without_approval(project, "production") as project:
        registered(project, versions=3)
        for v in (1, 2):
            project.promote("credit", v, "production")
        assert project.rollback("credit", "production").version == 1
        assert project.promote("credit", 3, "production").previous_version == 1
        # Rolling back the new promotion returns to what it replaced: the rolled-back-to v1.
        assert project.rollback("credit", "production").version == 1
        with pytest.raises(ConflictError, match="no earlier deployment"):
            project.rollback("credit", "production")
        assert project.verify_audit().ok


@pytest.mark.local_only(reason="reads the current deployments in the database")
def test_rollback_with_nothing_deployed_is_a_conflict(project: Project) -> None:
    registered(project)
    events_before = len(project.audit_log())
    with pytest.raises(ConflictError, match=r"nothing deployed in 'production'"):
        project.rollback("credit", "production")
    assert len(project.audit_log()) == events_before
    assert current_rows(project, "credit") == []
