"""After an erasure (SQLite and PostgreSQL): ``rasad gc`` removes the blobs of the versions
that held the subject only when the retention rule allows; the inventory, ``agent status``
and the datasheets show the erasure and its flags; a retrained model closes its flag."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rasad import Project
from rasad.automation.status import status
from rasad.errors import IntegrityError
from rasad.governance import subjects
from rasad.maintenance import gc, released_versions
from tests.governance._subjects_world import SUBJECT, build
from tests.identity._helpers import at
from tests.registry._helpers import train


@pytest.fixture
def erased(backend: str, tmp_path: Path) -> Iterator[Project]:
    project = build(tmp_path / "proj")
    project.promote("credit", 1, "staging")  # credit@1 (trained on loans@1) serves
    result = project.subject_erase(SUBJECT, reason="GDPR Art. 17")
    assert [v.dataset for v in result.versions] == ["loans@1", "loans@3"]
    yield project
    project.close()


def blob(project: Project, ref: str) -> str:
    name, _, version = ref.partition("@")
    return project.dataset(name, int(version)).content_hash


def test_gc_keeps_what_a_serving_model_was_trained_on(erased: Project) -> None:
    loans1, loans3 = blob(erased, "loans@1"), blob(erased, "loans@3")
    report = erased.gc(dry_run=False, min_age_s=0)
    assert loans3 in report.erased and loans1 not in report.erased
    assert not erased.artifacts.exists(loans3) and erased.artifacts.exists(loans1)
    assert erased.artifacts.exists(blob(erased, "loans@4"))
    with pytest.raises(IntegrityError):
        erased.load_dataset("loans", 3)
    found = erased.subject_find(SUBJECT)
    assert [(v.dataset, v.blob_removed) for v in found.versions] == \
        [("loans@1", False), ("loans@3", True)]
    # credit@2 replaces credit@1 in staging: nothing needs loans@1 any more.
    erased.promote("credit", 2, "staging")
    second = erased.gc(dry_run=False, min_age_s=0)
    assert loans1 in second.erased and not erased.artifacts.exists(loans1)
    (event,) = [e for e in erased.audit_log(action="artifacts.gc")
                if loans1 in e.details.get("erased", [])]
    assert event.details["erased"] == sorted(second.erased)
    assert erased.verify_audit().ok


def test_gc_waits_for_keep_days_and_for_open_requests(erased: Project) -> None:
    ctx = erased.context
    with ctx.read() as session:
        now = ctx.clock()
        assert released_versions(session, now, keep_days=0) == \
            {erased.dataset("loans", 3).id}
        assert released_versions(session, now, keep_days=1) == set()
        later = "2999-01-01T00:00:00.000000Z"
        assert released_versions(session, later, keep_days=1) == \
            {erased.dataset("loans", 3).id}
    # scorecard@1 (trained on loans@3) waits for approval in production: loans@3 is needed.
    erased.promote("scorecard", 1, "staging")
    erased.promote("credit", 2, "staging")
    requested = erased.promote("scorecard", 1, "production")
    assert getattr(requested, "status", None) == "open"
    with ctx.read() as session:
        assert released_versions(session, ctx.clock(), keep_days=0) == \
            {erased.dataset("loans", 1).id}


def test_a_dry_run_removes_nothing(erased: Project) -> None:
    loans3 = blob(erased, "loans@3")
    report = gc(erased.context, dry_run=True, min_age_s=0)
    assert loans3 in report.erased and erased.artifacts.exists(loans3)


def test_inventory_and_agent_status_show_the_flags(erased: Project) -> None:
    found = erased.inventory()
    flags = {e.model: [(r.version, r.erasure_id, r.overdue) for r in e.retrain_required]
             for e in found.models}
    assert flags == {"credit": [(1, 1, False)], "scorecard": [(1, 1, False)]}
    assert found.not_tracked == []
    shown = status(erased.context)
    assert [(f.ref, f.erasure_id) for f in shown.retrain_required] == \
        [("credit@1", 1), ("scorecard@1", 1)]
    due = shown.retrain_required[0].due_at
    overdue = status(at(erased.context, "2999-01-01T00:00:00.000000Z"))
    assert [f.overdue for f in overdue.retrain_required] == [True, True]
    assert due == erased.subject_find(SUBJECT).models[0].retrain_due_at


def test_a_model_retrained_without_the_subject_closes_its_flag(erased: Project) -> None:
    erased.register(train(erased, version=4).id, "scorecard")  # loans@4: without them
    assert [f.ref for f in subjects.retrain_flags(erased.context)] == ["credit@1"]
    erased.register(train(erased, version=1).id, "credit")  # loans@1 still holds them
    assert [f.ref for f in subjects.retrain_flags(erased.context)] == ["credit@1"]


def test_the_datasheets_show_the_erasure(erased: Project) -> None:
    held = erased.datasheet("loans", 3).lineage
    wrote = erased.datasheet("loans", 4).lineage
    untouched = erased.datasheet("loans", 2).lineage
    assert [(e.role, e.erasure_id, e.other, e.rows, e.reason) for e in held.erasure_records] \
        == [("held", 1, "loans@4", 1, "GDPR Art. 17")]
    assert [(e.role, e.other) for e in wrote.erasure_records] == [("wrote", "loans@3")]
    assert "erasure #1" in held.erasures and "erasure #1" in wrote.erasures
    assert untouched.erasure_records == () and "No data-subject erasure" in untouched.erasures
    assert SUBJECT not in erased.datasheet("loans", 4).to_markdown()
