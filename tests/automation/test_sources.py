"""Files sources: new files listed, ingested once as dataset versions or rejected with
nothing ingested; the same bytes never twice; no half state after a crash.

The helpers here (``CONFIG``, ``make``, ``write_csv``, ``versions``) serve the other
``test_sources_*`` files too.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select

from rasad import Project
from rasad.automation import claims
from rasad.automation.sources import (
    ArrivedFile,
    FileStatus,
    IngestOutcome,
    file_key,
    files_source,
    ingest,
    list_new,
    log_source,
    recorded_file,
)
from rasad.core import Context
from rasad.datasets.service import add, load_frame
from rasad.errors import ConfigError, InputError, NotFoundError, PermissionDenied
from rasad.store._tables import AuditEventRow, DatasetVersionRow, SourceFileRow

CONFIG = """\
name: test
automation:
  sources:
    incoming:
      kind: files
      dataset: loans
      path: incoming/*.csv
    monthly:
      kind: files
      dataset: book
      path: monthly/*
      combine: append
    served:
      kind: prediction_log
      model: credit
"""
PAST = "2001-01-01T00:00:00.000000Z"


def make(root: Path, config: str = CONFIG) -> Project:
    return Project.init(root, config_text=config)


@pytest.fixture
def proj(backend: str, tmp_path: Path) -> Iterator[Project]:
    """A project with the sources of ``CONFIG`` on the backend under test."""
    with make(tmp_path / "proj") as project:
        yield project


def write_csv(folder: Path, name: str, rows: list[tuple[int, float, str]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    lines = ["id,amount,region", *(f"{i},{a},{r}" for i, a, r in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def versions(project: Project, name: str | None = None) -> list[DatasetVersionRow]:
    with project.read() as session:
        query = select(DatasetVersionRow).order_by(DatasetVersionRow.id)
        if name is not None:
            query = query.where(DatasetVersionRow.name == name)
        return list(session.execute(query).scalars())


def recorded(project: Project) -> list[SourceFileRow]:
    with project.read() as session:
        return list(session.execute(select(SourceFileRow).order_by(SourceFileRow.id)).scalars())


def ingest_all(ctx: Context, source: str, owner: str = "agent") -> list[IngestOutcome]:
    outcomes = []
    for file in list_new(ctx, source):
        outcome = ingest(ctx, source, file, owner=owner)
        assert outcome is not None
        outcomes.append(outcome)
    return outcomes


def incoming(project: Project) -> Path:
    return project.root / "incoming"


# -- listing and ingesting ------------------------------------------------------------------


def test_a_new_file_is_ingested_once_with_its_path_as_source(proj: Project) -> None:
    ctx = proj.context
    path = write_csv(incoming(proj), "jan.csv", [(1, 10.0, "north"), (2, 20.5, "south")])
    (arrived,) = list_new(ctx, "incoming")
    assert arrived.path == str(path) and arrived.size == path.stat().st_size
    outcome = ingest(ctx, "incoming", arrived, owner="agent")
    assert outcome is not None
    assert (outcome.status, outcome.dataset, outcome.version, outcome.problems) == (
        FileStatus.INGESTED, "loans", 1, [])
    assert outcome.source_file == arrived
    (version,) = versions(proj)
    assert version.source == str(path) and version.rows == 2
    assert list_new(ctx, "incoming") == []
    assert ingest(ctx, "incoming", arrived, owner="agent") is None  # finished work
    assert ingest(ctx, "incoming", arrived, owner="other") is None
    assert len(versions(proj)) == 1
    assert claims.is_finished(ctx, file_key("incoming", arrived.fingerprint))
    assert recorded_file(ctx, "incoming", arrived.fingerprint) == outcome
    assert json.loads(outcome.to_json())["status"] == "ingested"
    with proj.read() as session:
        event = session.execute(select(AuditEventRow).where(
            AuditEventRow.action == "source.file")).scalar_one()
    details = json.loads(event.details)
    assert (event.subject, details["status"], details["version"], details["sha256"]) == (
        "source:incoming", "ingested", "loans@1", arrived.fingerprint)


def test_files_are_listed_by_path_and_hidden_or_other_files_are_not(proj: Project) -> None:
    folder = incoming(proj)
    write_csv(folder, "b.csv", [(2, 2.0, "x")])
    write_csv(folder, "a.csv", [(1, 1.0, "x")])
    write_csv(folder, ".c.csv", [(3, 3.0, "x")])  # being written
    write_csv(folder, "d.tsv", [(4, 4.0, "x")])  # not matched by the glob
    (folder / "sub.csv").mkdir()  # a folder, not a file
    assert [Path(f.path).name for f in list_new(proj.context, "incoming")] == ["a.csv", "b.csv"]


def test_an_empty_or_missing_folder_lists_nothing(proj: Project) -> None:
    assert list_new(proj.context, "incoming") == []
    assert list_new(proj.context, "monthly") == []


def test_the_same_bytes_under_a_second_name_are_not_ingested_twice(proj: Project) -> None:
    ctx = proj.context
    rows = [(1, 10.0, "north")]
    write_csv(incoming(proj), "a.csv", rows)
    write_csv(incoming(proj), "copy.csv", rows)
    listed = list_new(ctx, "incoming")
    assert [Path(f.path).name for f in listed] == ["a.csv"]  # one per content
    ingest_all(ctx, "incoming")
    write_csv(incoming(proj), "later-copy.csv", rows)
    assert list_new(ctx, "incoming") == []
    assert len(versions(proj)) == 1 and len(recorded(proj)) == 1


def test_a_file_rewritten_in_place_is_a_new_file(proj: Project) -> None:
    ctx = proj.context
    write_csv(incoming(proj), "feed.csv", [(1, 10.0, "north")])
    ingest_all(ctx, "incoming")
    write_csv(incoming(proj), "feed.csv", [(1, 10.0, "north"), (2, 5.0, "east")])
    (outcome,) = ingest_all(ctx, "incoming")
    assert outcome.version == 2
    assert [v.rows for v in versions(proj)] == [1, 2]


def test_a_file_that_changed_since_listing_is_left_for_the_next_listing(proj: Project) -> None:
    ctx = proj.context
    path = write_csv(incoming(proj), "partial.csv", [(1, 10.0, "north")])
    (listed,) = list_new(ctx, "incoming")
    write_csv(incoming(proj), "partial.csv", [(1, 10.0, "north"), (2, 3.0, "west")])
    assert ingest(ctx, "incoming", listed, owner="agent") is None
    assert versions(proj) == [] and recorded(proj) == []
    held = claims.get_claim(ctx, file_key("incoming", listed.fingerprint))
    assert held is not None and not held.finished and held.lease_until == claims.RELEASED
    path.unlink()  # gone between listing and ingesting: nothing either
    write_csv(incoming(proj), "other.csv", [(5, 1.0, "x")])
    (gone,) = list_new(ctx, "incoming")
    Path(gone.path).unlink()
    assert ingest(ctx, "incoming", gone, owner="agent") is None
    assert versions(proj) == []


# -- rejections -----------------------------------------------------------------------------


def _rejected(proj: Project, name: str, content: bytes) -> IngestOutcome:
    ctx = proj.context
    before = len(versions(proj))
    folder = incoming(proj)
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(content)
    (listed,) = list_new(ctx, "incoming")
    outcome = ingest(ctx, "incoming", listed, owner="agent")
    assert outcome is not None and outcome.status is FileStatus.REJECTED
    assert outcome.version is None and outcome.problems
    assert len(versions(proj)) == before  # nothing ingested
    assert list_new(ctx, "incoming") == []  # and never tried again
    assert claims.is_finished(ctx, file_key("incoming", listed.fingerprint))
    return outcome


def test_garbage_bytes_are_rejected(proj: Project) -> None:
    outcome = _rejected(proj, "garbage.csv", os.urandom(256) + b"\xff\xfe")
    (row,) = recorded(proj)
    assert row.status == "rejected" and row.dataset_version_id is None
    assert json.loads(row.detail or "[]") == outcome.problems
    assert str(incoming(proj) / "garbage.csv") in outcome.problems[0]
    assert "staged" not in outcome.problems[0]  # the scratch copy is not named


@pytest.mark.parametrize(("content", "problem"), [
    (b"id,amount\n", "no data rows"),
    (b"id,amount\n1,2\n3\n", "fields"),
    (b"", "empty"),
])
def test_unreadable_files_are_rejected(proj: Project, content: bytes, problem: str) -> None:
    outcome = _rejected(proj, "bad.csv", content)
    assert problem in outcome.problems[0]


def test_a_file_failing_the_stored_schema_is_rejected(proj: Project) -> None:
    from rasad.validation.service import infer_dataset_schema

    ctx = proj.context
    write_csv(incoming(proj), "a.csv", [(i, 10.0 + i, "north") for i in range(20)])
    (first,) = ingest_all(ctx, "incoming")
    infer_dataset_schema(ctx, _version(proj, "loans", 1))
    wrong = _rejected(proj, "b.csv", b"customer,score\n1,2\n")
    assert "names none of the file's columns" in wrong.problems[0]
    missing = _rejected(proj, "c.csv", b"id,amount\n100,11.0\n")
    assert any("region" in p for p in missing.problems)
    assert first.version == 1 and len(versions(proj)) == 1
    # a good file still goes in
    write_csv(incoming(proj), "d.csv", [(50, 12.0, "north")])
    (good,) = ingest_all(ctx, "incoming")
    assert good.status is FileStatus.INGESTED and good.version == 2


def test_without_a_schema_the_columns_must_be_the_latest_versions(proj: Project) -> None:
    ctx = proj.context
    write_csv(incoming(proj), "a.csv", [(1, 10.0, "north")])
    ingest_all(ctx, "incoming")
    outcome = _rejected(proj, "b.csv", b"id,amount,region,extra\n2,3.0,x,1\n")
    assert "unexpected: extra" in outcome.problems[0] and "loans@1" in outcome.problems[0]


# -- no half state --------------------------------------------------------------------------


def test_a_version_added_by_a_dead_agent_is_recognised(proj: Project) -> None:
    ctx = proj.context
    path = write_csv(incoming(proj), "a.csv", [(1, 10.0, "north")])
    (listed,) = list_new(ctx, "incoming")
    # The dead agent claimed the file and added its version, then died before recording it.
    dead = dataclasses.replace(ctx, clock=lambda: PAST)
    assert claims.claim(dead, file_key("incoming", listed.fingerprint), owner="dead",
                        lease_seconds=60)
    add(ctx, path, "loans", client_source=str(path))
    assert list_new(ctx, "incoming") == [listed]  # not recorded: still new
    outcome = ingest(ctx, "incoming", listed, owner="agent")
    assert outcome is not None and (outcome.status, outcome.version) == (FileStatus.INGESTED, 1)
    assert len(versions(proj)) == 1 and len(recorded(proj)) == 1


def test_a_file_recorded_by_a_dead_agent_is_finished_not_ingested_again(proj: Project) -> None:
    ctx = proj.context
    write_csv(incoming(proj), "a.csv", [(1, 10.0, "north")])
    (listed,) = list_new(ctx, "incoming")
    first = ingest(ctx, "incoming", listed, owner="dead")
    assert first is not None
    # As if it died between recording the file and finishing the claim:
    key = file_key("incoming", listed.fingerprint)
    with proj.transaction() as tx:
        from rasad.store._tables import WorkClaimRow

        row = tx.session.get(WorkClaimRow, key)
        assert row is not None
        row.finished_at, row.outcome, row.lease_until = None, None, PAST
    outcome = ingest(ctx, "incoming", listed, owner="agent")
    assert outcome == first
    assert len(versions(proj)) == 1 and claims.is_finished(ctx, key)


def test_a_held_file_is_left_to_its_holder(proj: Project) -> None:
    ctx = proj.context
    write_csv(incoming(proj), "a.csv", [(1, 10.0, "north")])
    (listed,) = list_new(ctx, "incoming")
    assert claims.claim(ctx, file_key("incoming", listed.fingerprint), owner="busy",
                        lease_seconds=600)
    assert ingest(ctx, "incoming", listed, owner="agent") is None
    assert versions(proj) == [] and recorded(proj) == []


# -- combine: append ------------------------------------------------------------------------


def test_append_adds_each_files_rows_to_the_previous_version(proj: Project) -> None:
    ctx = proj.context
    folder = proj.root / "monthly"
    write_csv(folder, "2026-01.csv", [(1, 10.0, "north"), (2, 20.0, "south")])
    write_csv(folder, "2026-02.csv", [(3, 30.5, "east")])
    pd.DataFrame({"id": [4], "amount": [40], "region": ["west"]}).to_parquet(
        folder / "2026-03.parquet")  # whole numbers in Parquet: widened to the book's floats
    outcomes = ingest_all(ctx, "monthly")
    assert [o.version for o in outcomes] == [1, 2, 3]
    latest = versions(proj, "book")[-1]
    frame = load_frame(ctx, _version(proj, "book", 3))
    assert frame["id"].tolist() == [1, 2, 3, 4]
    assert frame["amount"].tolist() == [10.0, 20.0, 30.5, 40.0]
    assert latest.source == str(folder / "2026-03.parquet")
    assert not claims.get_claim(ctx, "append:book").finished  # type: ignore[union-attr]
    # Lineage: each appended version derives from the one before; the event says who read.
    book = {v.version: v for v in versions(proj, "book")}
    assert (book[1].parent_id, book[2].parent_id, book[3].parent_id) == (
        None, book[1].id, book[2].id)
    [event] = [e for e in proj.audit_log(subject="dataset:book@3")
               if e.action == "dataset.add"]
    assert event.details["parent"] == "book@2"
    assert event.details["source_from"] == "automation"


def _version(proj: Project, name: str, number: int):  # type: ignore[no-untyped-def]
    from rasad.datasets.service import get

    return get(proj.context, name, number)


def test_append_rejects_a_file_that_does_not_fit(proj: Project) -> None:
    ctx = proj.context
    folder = proj.root / "monthly"
    write_csv(folder, "2026-01.csv", [(1, 10.0, "north")])
    ingest_all(ctx, "monthly")
    (folder / "2026-02.csv").write_text("id,amount,region\nseven,1.0,x\n", encoding="utf-8")
    (bad,) = ingest_all(ctx, "monthly")
    assert bad.status is FileStatus.REJECTED and "book@1" in bad.problems[0]
    (folder / "2026-03.csv").write_text("id,region\n2,x\n", encoding="utf-8")
    (narrow,) = ingest_all(ctx, "monthly")
    assert narrow.status is FileStatus.REJECTED
    assert len(versions(proj, "book")) == 1
    # the dataset is free again for the next good file
    write_csv(folder, "2026-04.csv", [(2, 5.0, "south")])
    (good,) = ingest_all(ctx, "monthly")
    assert good.version == 2


def test_an_append_added_by_a_dead_agent_is_recognised(proj: Project) -> None:
    from rasad.tables import read_table, write_parquet

    ctx = proj.context
    folder = proj.root / "monthly"
    write_csv(folder, "2026-01.csv", [(1, 10.0, "north")])
    ingest_all(ctx, "monthly")
    path = write_csv(folder, "2026-02.csv", [(2, 20.0, "south")])
    (listed,) = list_new(ctx, "monthly")
    # The dead agent appended the file (book@2 = book@1 + its rows), then died.
    base = load_frame(ctx, _version(proj, "book", 1))
    combined = pd.concat([base, read_table(path).to_pandas()], ignore_index=True)
    staged = proj.root / "combined.parquet"
    write_parquet(read_table(combined), staged)
    add(ctx, staged, "book", client_source=str(path))
    outcome = ingest(ctx, "monthly", listed, owner="agent")
    assert outcome is not None and outcome.version == 2
    assert len(versions(proj, "book")) == 2  # not appended a second time


def test_an_append_waits_while_another_agent_appends(proj: Project) -> None:
    ctx = proj.context
    write_csv(proj.root / "monthly", "2026-01.csv", [(1, 10.0, "north")])
    (listed,) = list_new(ctx, "monthly")
    assert claims.claim(ctx, "append:book", owner="other", lease_seconds=600)
    assert ingest(ctx, "monthly", listed, owner="agent") is None
    assert versions(proj) == []
    claims.release(ctx, "append:book", owner="other")
    assert ingest(ctx, "monthly", listed, owner="agent") is not None  # its claim was released


# -- object stores --------------------------------------------------------------------------


def test_a_url_glob_is_read_through_fsspec(tmp_path: Path) -> None:
    import fsspec

    fs = fsspec.filesystem("memory")
    root = f"/drop-{os.getpid()}-{id(tmp_path)}"
    fs.pipe(f"{root}/a.csv", b"id,amount,region\n1,2.5,x\n")
    fs.pipe(f"{root}/b.txt", b"not matched")
    config = CONFIG.replace("path: incoming/*.csv", f"path: memory://{root}/*.csv")
    with make(tmp_path / "proj", config) as project:
        (listed,) = list_new(project.context, "incoming")
        assert listed.path == f"memory://{root}/a.csv"
        outcome = ingest(project.context, "incoming", listed, owner="agent")
        assert outcome is not None and outcome.version == 1
        assert versions(project)[0].source == f"memory://{root}/a.csv"


# -- errors ---------------------------------------------------------------------------------


def test_sources_are_looked_up_by_name_and_kind(proj: Project) -> None:
    ctx = proj.context
    with pytest.raises(NotFoundError, match="No automation source named 'nope'; sources: "
                                            "incoming, monthly, served"):
        list_new(ctx, "nope")
    with pytest.raises(ConfigError, match="prediction_log source, not files"):
        list_new(ctx, "served")
    with pytest.raises(ConfigError, match="files source, not prediction_log"):
        log_source(ctx, "incoming")
    assert files_source(ctx, "monthly").combine == "append"
    other = ArrivedFile("monthly", "/x.csv", "0" * 64, 1)
    with pytest.raises(InputError, match="listed for source 'monthly', not 'incoming'"):
        ingest(ctx, "incoming", other, owner="agent")


def test_ingesting_needs_dataset_write_and_a_refusal_claims_nothing(proj: Project) -> None:
    write_csv(incoming(proj), "a.csv", [(1, 10.0, "north")])
    viewer = Context.build(proj.root, proj.config, actor="mallory")  # reads only
    try:
        (listed,) = list_new(viewer, "incoming")
        with pytest.raises(PermissionDenied):
            ingest(viewer, "incoming", listed, owner="agent")
    finally:
        viewer.close()
    assert claims.get_claim(proj.context, file_key("incoming", listed.fingerprint)) is None
    assert versions(proj) == []


def test_a_pass_records_every_file_good_or_bad(proj: Project) -> None:
    ctx = proj.context
    write_csv(incoming(proj), "a.csv", [(1, 10.0, "north")])
    write_csv(incoming(proj), "b.csv", [(2, 1.0, "south")])
    (incoming(proj) / "c.csv").write_bytes(b"\x00\x01")
    statuses = sorted(o.status.value for o in ingest_all(ctx, "incoming"))
    assert statuses == ["ingested", "ingested", "rejected"]
    with proj.read() as session:
        count = session.execute(select(func.count()).select_from(SourceFileRow)).scalar()
    assert count == 3


def test_a_file_of_an_unknown_type_is_rejected_by_name(proj: Project) -> None:
    import hashlib

    folder = proj.root / "monthly"
    folder.mkdir()
    (folder / "notes.txt").write_bytes(b"id,amount\n1,2\n")
    (listed,) = list_new(proj.context, "monthly")
    assert listed.fingerprint == hashlib.sha256(b"id,amount\n1,2\n").hexdigest()
    outcome = ingest(proj.context, "monthly", listed, owner="agent")
    assert outcome is not None and outcome.status is FileStatus.REJECTED
    assert outcome.problems == [f"Cannot read '{folder / 'notes.txt'}': unknown file type; "
                                "use one of .csv, .csv.gz, .tsv, .tsv.gz, .parquet, .pq."]
    assert versions(proj) == []
