"""Saved monitor results: the row, the JSON blob and the audit event, on both backends."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rasad import Project
from rasad.errors import InputError, IntegrityError, NotFoundError
from rasad.ledger import canonical_json
from rasad.ledger.transaction import Tx
from rasad.monitoring.results import (
    MonitorKind,
    MonitorResult,
    get_result,
    list_results,
    load_payload,
    save_result,
)
from rasad.results import Result
from tests._http import local


def _save(project: Project, monitor: str = "credit", **changes: Any) -> MonitorResult:
    values: dict[str, Any] = {
        "kind": "drift", "reference": "loans@1", "current": "loans@2", "alert": True,
        "summary": {"drifted": True, "drifted_columns": ["income"]},
        "payload": {"drift": {"drifted": True, "columns": [{"name": "income", "p": 1e-9}]}},
    }
    values.update(changes)
    return save_result(project, monitor=monitor, **values)


def _blob_path(project: Project, digest: str) -> Path:
    return Path(project.artifacts.root) / "blobs" / digest[:2] / digest


def _blobs(project: Project) -> set[str]:
    return {blob.digest for blob in project.artifacts.list_blobs()}


def test_save_list_and_load(project: Project) -> None:
    payload = {"drift": {"drifted": True, "share": np.float64(0.25), "n": np.int64(3),
                         "missing": float("nan"), "names": ("income", "région")}}
    saved = _save(project, payload=payload)
    assert (saved.monitor, saved.kind, saved.reference, saved.current, saved.alert) == (
        "credit", "drift", "loans@1", "loans@2", True)
    assert saved.summary == {"drifted": True, "drifted_columns": ["income"]}
    assert saved.created_by == "tester" and saved.created_at.endswith("Z")

    # The blob is the canonical JSON of the payload, named by its sha256.
    text = canonical_json(payload)
    assert saved.blob == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert _blob_path(project, saved.blob).read_bytes() == text.encode("utf-8")
    assert load_payload(project, saved) == {"drift": {
        "drifted": True, "share": 0.25, "n": 3, "missing": None, "names": ["income", "région"]}}

    [event] = project.audit_log(action="monitor.result")
    assert (event.subject, event.actor) == ("monitor:credit", "tester")
    assert event.details == {"kind": "drift", "reference": "loans@1", "current": "loans@2",
                             "alert": True, "summary": saved.summary,
                             "result_sha256": saved.blob, "auth": "os-user"}
    assert project.verify_audit().ok

    assert list_results(project) == [saved]
    assert project.monitor_results() == [saved]
    assert json.loads(json.dumps(saved.to_dict())) == saved.to_dict()


@pytest.mark.over_http
def test_results_in_order_and_by_monitor(project: Project) -> None:
    here = local(project)
    first = _save(here, "credit")
    other = here.save_monitor_result(monitor="fraud", kind="drift", reference="tx@1",
                                     current="tx@2", alert=False, summary={"drifted": False},
                                     payload={"drift": {"drifted": False}})
    second = _save(here, "credit", current="loans@3", alert=False)
    assert project.monitor_results() == [first, other, second]
    assert [r.id for r in project.monitor_results()] == sorted({first.id, other.id, second.id})
    assert project.monitor_results("credit") == [first, second]
    assert project.monitor_results("fraud") == [other]
    assert project.monitor_results("none") == []
    # The same payload twice is one blob, two results.
    assert first.blob == second.blob
    assert [e.details["result_sha256"] for e in project.audit_log(action="monitor.result")] == [
        first.blob, other.blob, second.blob]


def test_row_and_event_are_one_transaction(project: Project,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    real = Tx.record

    def failing(self: Tx, action: str, *args: Any, **kwargs: Any) -> Any:
        if action == "monitor.result":
            raise RuntimeError("ledger unavailable")
        return real(self, action, *args, **kwargs)

    events = len(project.audit_log())
    monkeypatch.setattr(Tx, "record", failing)
    with pytest.raises(RuntimeError, match="ledger unavailable"):
        _save(project)
    assert project.monitor_results() == []
    assert len(project.audit_log()) == events
    monkeypatch.undo()
    saved = _save(project)  # the failed attempt left nothing in the way
    assert project.monitor_results() == [saved]
    assert project.verify_audit().ok


@pytest.mark.parametrize("how", ["changed", "truncated"])
def test_a_corrupt_result_blob_is_refused(project: Project, how: str) -> None:
    saved = _save(project)
    path = _blob_path(project, saved.blob)
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    data = path.read_bytes()
    path.write_bytes(data.replace(b"income", b"incone") if how == "changed" else data[:-5])
    with pytest.raises(IntegrityError, match=f"Blob {saved.blob[:12]} .* is corrupt"):
        load_payload(project, saved)


def test_a_missing_result_blob_is_refused(project: Project) -> None:
    saved = _save(project)
    _blob_path(project, saved.blob).unlink()
    with pytest.raises(IntegrityError, match="missing from the artifact store"):
        load_payload(project, saved)


@pytest.mark.parametrize("name", ["", "has space", "../escape", "-lead", "x" * 201, "a/b"])
def test_a_bad_monitor_name_stores_nothing(project: Project, name: str) -> None:
    events, blobs = len(project.audit_log()), _blobs(project)
    with pytest.raises(InputError, match="Monitor name .* is not allowed"):
        _save(project, name, payload={"unique": name})
    assert project.monitor_results() == []
    assert len(project.audit_log()) == events
    assert _blobs(project) == blobs


# The three tests below, like test_results_in_order_and_by_monitor, read through the Project
# verbs, so they also run through the API (conftest's http backend); the results are saved
# on the project behind it, as raw saves are not served. The others reach the artifact
# store or the ledger's transaction.


@pytest.mark.over_http
def test_results_by_kind_and_by_id(project: Project) -> None:
    here = local(project)
    drift = _save(here, "credit")
    fairness = _save(here, "credit", kind="fairness", alert=False,
                     summary={"verdict": "fair"}, payload={"fairness": {"groups": 2}})
    performance = _save(here, "fraud", kind=MonitorKind.PERFORMANCE,
                        payload={"performance": {"chunks": []}})
    assert fairness.kind is MonitorKind.FAIRNESS and performance.kind is MonitorKind.PERFORMANCE
    assert project.monitor_results(kind="fairness") == [fairness]
    assert project.monitor_results(kind=MonitorKind.DRIFT) == [drift]
    assert project.monitor_results("credit", kind="performance") == []
    assert project.monitor_results("fraud", kind="performance") == [performance]
    assert project.monitor_results(kind="estimation") == []
    assert project.monitor_result(fairness.id) == get_result(here, fairness.id) == fairness
    assert project.monitor_report(performance.id) == load_payload(
        here, get_result(here, performance.id)) == {"performance": {"chunks": []}}


@pytest.mark.over_http
def test_an_unknown_kind_is_refused(project: Project) -> None:
    with pytest.raises(InputError, match="kind 'accuracy' is not one of drift, performance, "
                                         "estimation, fairness"):
        project.monitor_results(kind="accuracy")
    with pytest.raises(InputError, match="kind 'accuracy' is not one of"):
        list_results(local(project), kind="accuracy")
    with pytest.raises(InputError, match="kind 'accuracy' is not one of"):
        _save(local(project), kind="accuracy")
    assert project.monitor_results() == []


@pytest.mark.over_http
def test_an_unknown_id_names_the_ids_there_are(project: Project) -> None:
    with pytest.raises(NotFoundError, match="No monitor result with id 1; the project has no "
                                            "saved results yet. Run `rasad monitor results`"):
        project.monitor_result(1)
    first, second = _save(local(project)), _save(local(project))
    with pytest.raises(NotFoundError, match=f"id 99; ids run up to {second.id} \\(2 saved\\)"):
        project.monitor_result(99)
    assert project.monitor_result(first.id) == first


def test_a_result_is_a_typed_result_with_the_old_json() -> None:
    """The JSON keys of the dataclass it replaced, so results stored or sent before load."""
    old = {"id": 3, "monitor": "credit", "kind": "drift", "reference": "loans@1",
           "current": "loans@2", "alert": True, "summary": {"drifted": True, "share": None},
           "blob": "ab" * 32, "created_by": "ana", "created_at": "2025-01-06T10:00:00Z"}
    loaded = MonitorResult.from_dict(old)
    assert isinstance(loaded, Result) and loaded.kind is MonitorKind.DRIFT
    assert loaded.to_dict() == old
    assert MonitorResult.from_json(loaded.to_json()) == loaded
    assert MonitorResult.from_dict({**old, "added_later": 1}) == loaded
    with pytest.raises(ValueError, match="kind"):
        MonitorResult.from_dict({**old, "kind": "accuracy"})
