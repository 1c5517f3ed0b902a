"""Shared reads: a run by id or prefix, and the datasets many runs used, in one statement."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from sqlalchemy import event, select

from rasad import Project
from rasad.errors import InputError, NotFoundError
from rasad.store._tables import RunRow
from rasad.store.lineage import run_datasets, run_row


def frame(seed: int) -> pd.DataFrame:
    return pd.DataFrame({"x": [seed, seed + 1, seed + 2], "y": [0, 1, 0]})


@pytest.fixture
def runs(project: Project) -> list[str]:
    """Three runs: one used two datasets, one used one, one used none."""
    first = project.add_dataset(frame(1), "loans").version
    second = project.add_dataset(frame(5), "loans").version
    bureau = project.add_dataset(frame(9), "bureau").version
    ids = []
    for used in ([(second, "train"), (bureau, "reference")], [(first, "train")], []):
        with project.start_run() as run:
            for version, role in used:
                run.use_dataset(version, role)
        ids.append(run.id)
    return ids


def test_each_run_gets_its_datasets_ordered_by_role_and_name(project: Project,
                                                             runs: list[str]) -> None:
    both, one, none = runs
    hashes = {(v.name, v.version): v.content_hash for v in project.datasets()}
    with project.read() as session:
        found = run_datasets(session, [none, one, both, one])
    assert found == {
        both: [{"dataset": "bureau@1", "content_hash": hashes["bureau", 1], "role": "reference"},
               {"dataset": "loans@2", "content_hash": hashes["loans", 2], "role": "train"}],
        one: [{"dataset": "loans@1", "content_hash": hashes["loans", 1], "role": "train"}],
        none: [],
    }
    with project.read() as session:
        assert run_datasets(session, []) == {}


def test_a_query_of_run_ids_gives_the_runs_that_used_data(project: Project,
                                                          runs: list[str]) -> None:
    both, one, none = runs
    with project.read() as session:
        by_list = run_datasets(session, runs)
        by_query = run_datasets(session, select(RunRow.id))
        nothing = run_datasets(session, select(RunRow.id).where(RunRow.id == none))
    assert by_query == {both: by_list[both], one: by_list[one]}
    assert nothing == {}


def test_one_statement_however_many_runs(project: Project, runs: list[str]) -> None:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    with project.read() as session:
        session.connection()  # the transaction's own BEGIN is not the lookup's
        event.listen(project.db.read_engine, "before_cursor_execute", count)
        try:
            for ids in (runs[:1], runs, select(RunRow.id)):
                statements.clear()
                run_datasets(session, ids)
                assert len(statements) == 1, statements
        finally:
            event.remove(project.db.read_engine, "before_cursor_execute", count)


def test_a_run_is_found_by_id_or_unique_prefix(project: Project, runs: list[str]) -> None:
    with project.read() as session:
        assert run_row(session, runs[0]).id == runs[0]
        assert run_row(session, runs[1][:12]).id == runs[1]
        with pytest.raises(NotFoundError, match="No run 'zzz'.*rasad runs list"):
            run_row(session, "zzz")
        with pytest.raises(InputError, match="matches 3 runs; give more characters"):
            run_row(session, "")
