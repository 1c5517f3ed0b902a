"""Registry reads ask the database a fixed number of times, whatever the registry's size.

Every SQL statement sent on the project's engines is counted (a ``before_cursor_execute``
listener), first for a registry of 1 model x 2 versions, then for the same project grown
to 20 models x 50 versions with deployments: the counts must be equal, on SQLite and on
PostgreSQL. Before this, listing models asked 4-5 statements per model.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rasad import Project
from rasad.core import Context
from rasad.errors import NotFoundError
from rasad.registry import DeploymentKind, models

from ._helpers import counted, train
from ._seed import model_name, seed_registry

READS: dict[str, Callable[[Context], object]] = {
    "list_models": models.list_models,
    "detail": lambda ctx: models.detail(ctx, model_name(0)),
    "resolve latest": lambda ctx: models.resolve(ctx, model_name(0)),
    "resolve version": lambda ctx: models.resolve(ctx, model_name(0), version=2),
    "resolve env": lambda ctx: models.resolve(ctx, model_name(0), env="staging"),
    "history": lambda ctx: models.history(ctx, model_name(0)),
}

# Statements each read sends at most: its queries, plus SQLite's explicit BEGIN.
CEILINGS = {"list_models": 5, "detail": 5, "resolve latest": 3, "resolve version": 3,
            "resolve env": 3, "history": 2}


def statement_counts(ctx: Context) -> dict[str, int]:
    counts = {}
    for label, read in READS.items():
        with counted(ctx) as statements:
            read(ctx)
        counts[label] = len(statements)
    return counts


@pytest.fixture
def seeded(project: Project) -> tuple[Project, str]:
    run = train(project)
    return project, run.id


def test_reads_take_the_same_statements_for_2_versions_and_for_1000(
        seeded: tuple[Project, str]) -> None:
    project, base = seeded
    ctx = project.context
    seed_registry(ctx, base, models=1, versions=2)
    small = statement_counts(ctx)
    seed_registry(ctx, base, models=20, versions=50)
    large = statement_counts(ctx)
    assert small == large
    assert all(large[label] <= ceiling for label, ceiling in CEILINGS.items()), large

    # The reads still say the right things about the large registry.
    listed = models.list_models(ctx)
    assert [m.name for m in listed] == [model_name(i) for i in range(20)]
    assert all([v.version for v in m.versions] == list(range(1, 51)) for m in listed)
    assert all(m.deployed == {"dev": 50, "staging": 50} for m in listed)
    assert all(v.datasets and v.datasets[0]["dataset"] == "loans@1"
               for m in listed for v in m.versions)
    last = listed[-1]
    assert [(d.environment, d.version, d.previous_version) for d in last.history] == [
        ("dev", 1, None), ("dev", 50, 1), ("staging", 1, None), ("staging", 50, 1)]
    assert models.detail(ctx, last.name) == last
    assert models.history(ctx, last.name) == last.history
    assert models.resolve(ctx, last.name) == last.versions[-1]
    assert models.resolve(ctx, last.name, version=7) == last.versions[6]
    assert models.resolve(ctx, last.name, env="staging") == last.versions[-1]
    assert {d.kind for d in last.history} == {DeploymentKind.PROMOTION}
    # The seeded rows were written with their audit events: the ledger replays to them.
    assert project.verify_audit().ok


def test_an_environment_resolves_to_the_version_its_deployment_serves(
        seeded: tuple[Project, str]) -> None:
    project, base = seeded
    ctx = project.context
    seed_registry(ctx, base, models=2, versions=3, environments=("dev",))
    project.promote(model_name(1), 2, "staging")
    assert models.resolve(ctx, model_name(1), env="staging").version == 2
    assert models.resolve(ctx, model_name(1), env="dev").version == 3
    with pytest.raises(NotFoundError, match=r"no version in 'staging'"):
        models.resolve(ctx, model_name(0), env="staging")
    project.rollback(model_name(1), "dev")  # dev goes back to version 1
    assert models.resolve(ctx, model_name(1), env="dev").version == 1
    assert models.detail(ctx, model_name(1)).deployed == {"dev": 1, "staging": 2}
    assert models.detail(ctx, model_name(0)).deployed == {"dev": 3}


def _slots_everywhere(ctx: Context, env: str) -> None:
    """Each model's versions 1 and 2 become ``env``'s canary and shadow (beside the newest,
    its primary), through the registry's own deploy step, in one transaction."""
    from rasad.registry.promotion import _start
    from rasad.registry.slots import target

    with ctx.transaction() as tx:
        for name in {m.name for m in models.list_models(ctx)}:
            for number, slot in ((1, "canary"), (2, "shadow")):
                _start(tx, models.resolve(ctx, name, version=number), target(env, slot),
                       kind=DeploymentKind.PROMOTION, reason="seeded")


def test_serving_versions_takes_the_same_statements_for_1_model_and_for_20(
        seeded: tuple[Project, str]) -> None:
    project, base = seeded
    ctx = project.context
    seed_registry(ctx, base, models=1, versions=3, environments=("staging",))
    _slots_everywhere(ctx, "staging")
    with counted(ctx) as small:
        one = models.serving_versions(ctx, "staging")
    seed_registry(ctx, base, models=20, versions=3, environments=("staging",))
    _slots_everywhere(ctx, "staging")
    with counted(ctx) as large:
        twenty = models.serving_versions(ctx, "staging")
    # The versions and their runs' datasets, plus SQLite's explicit BEGIN.
    assert len(small) == len(large) <= 3, large
    assert list(one) == [model_name(0)]
    assert list(twenty) == [model_name(i) for i in range(20)]
    assert all((s.primary.version, s.canary and s.canary.version,
                s.shadow and s.shadow.version) == (3, 1, 2) for s in twenty.values())
    assert all(s.primary.datasets and s.primary.datasets[0]["dataset"] == "loans@1"
               for s in twenty.values())
    assert project.verify_audit().ok


def test_history_of_an_unknown_model_lists_the_models(seeded: tuple[Project, str]) -> None:
    project, base = seeded
    seed_registry(project.context, base, models=2, versions=1, environments=())
    assert models.history(project.context, model_name(1)) == []
    with pytest.raises(NotFoundError, match=r"No model named 'nope'.*model-000, model-001"):
        models.history(project.context, "nope")
