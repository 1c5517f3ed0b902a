"""The drift check service: exact reports, saved results, stored profiles, refused options.

The tests marked ``over_http`` call the Project verb (``check_drift``), so they also run
through the API (conftest's http backend; identifiers declared in rasad.yaml, which the
restarted server reads). The others stay local: frames and files as sides are not what a
server is sent (a remote check runs on the server's dataset versions), and the
old-payload test is pure.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from rasad import Project
from rasad.config import CONFIG_FILE
from rasad.drift import Chunker, compare, domain_classifier, pca_reconstruction
from rasad.errors import InputError
from rasad.monitoring.drift_check import DriftCheck, check, check_options, evaluate
from rasad.monitoring.results import MonitorKind, load_payload
from rasad.tables import ColumnKind
from tests._http import local, reopened

from ..cli._helpers import snapshot


def _side(seed: int, rows: int, *, drift: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "income": rng.lognormal(3.6 if drift else 3.0, 0.5, rows),
        "age": rng.normal(40, 10, rows),
        "region": rng.choice(["north", "south", "east"], rows,
                             p=[0.1, 0.3, 0.6] if drift else [0.6, 0.3, 0.1]),
        "customer": np.arange(rows) + (10_000 if drift else 0),
    })


@pytest.fixture
def loans(project: Project) -> Project:
    """loans@1 (reference) and loans@2 (income and region drifted)."""
    project.add_dataset(_side(1, 400, drift=False), "loans")
    project.add_dataset(_side(2, 300, drift=True), "loans")
    return project


@pytest.mark.over_http
def test_versions_give_the_exact_report_of_their_rows(loans: Project) -> None:
    reference, current = loans.dataset("loans", 1), loans.dataset("loans", 2)
    result = loans.check_drift(reference, current, chunker=Chunker(size=100))
    expected = compare(loans.load_dataset("loans", 1), loans.load_dataset("loans", 2),
                       chunker=Chunker(size=100))
    assert result.drift == expected
    assert (result.reference, result.current) == ("loans@1", "loans@2")
    assert result.drifted and set(result.drift.drifted_columns) >= {"income", "region"}
    assert result.saved is None and result.profile_built is None and result.multivariate == ()
    assert loans.monitor_results() == []  # nothing is stored without save


@pytest.mark.over_http
def test_save_stores_the_json_it_returns(loans: Project) -> None:
    result = loans.check_drift(loans.dataset("loans", 1), loans.dataset("loans", 2),
                               save=True, monitor="credit")
    assert result.saved is not None
    assert loans.monitor_results() == [result.saved]
    saved = result.saved
    assert (saved.monitor, saved.kind, saved.reference, saved.current, saved.alert) == (
        "credit", MonitorKind.DRIFT, "loans@1", "loans@2", True)
    assert saved.summary == {"drifted": True, "reason": result.drift.reason,
                             "drifted_columns": list(result.drift.drifted_columns),
                             "multivariate": {}}
    assert loans.monitor_result(saved.id) == saved
    payload = loans.monitor_report(saved.id)
    assert payload == load_payload(local(loans), saved) == result.to_dict()
    assert set(payload) == {"reference", "current", "drift", "multivariate"}
    assert DriftCheck.from_dict(payload) == result.model_copy(update={"saved": None})
    (event,) = loans.audit_log(action="monitor.result")
    assert event.details["result_sha256"] == saved.blob
    assert loans.verify_audit().ok


def test_an_old_payload_loads(loans: Project) -> None:
    """A blob saved by the previous `rasad drift --save` (a dict built by hand) reads back."""
    reference, current = loans.load_dataset("loans", 1), loans.load_dataset("loans", 2)
    report = compare(reference, current)
    kinds = {c.name: c.kind for c in report.columns if c.kind is not None}
    extra = [domain_classifier(reference, current, kinds=kinds).to_dict(),
             pca_reconstruction(reference, current, kinds=kinds).to_dict()]
    old = {"reference": "loans@1", "current": "loans@2", "drift": report.to_dict(),
           "multivariate": extra}
    loaded = DriftCheck.from_dict(old)
    assert loaded.drift == report and [m.method for m in loaded.multivariate] == [
        "domain_classifier", "pca_reconstruction"]
    assert loaded.to_dict() == old


@pytest.mark.over_http
def test_multivariate_and_declared_identifiers(loans: Project) -> None:
    """`customer` is a number column: only rasad.yaml can say it is an identifier."""
    plain = loans.check_drift(loans.dataset("loans", 1), loans.dataset("loans", 2),
                              multivariate=True)
    assert plain.drift.column("customer").kind is ColumnKind.NUMERIC
    path = local(loans).root / CONFIG_FILE
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config.setdefault("data", {})["id_columns"] = ["customer"]
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    with reopened(loans) as there:
        declared = there.check_drift(there.dataset("loans", 1), there.dataset("loans", 2),
                                     multivariate=True, save=True)
    assert declared.drift.column("customer").kind is ColumnKind.IDENTIFIER
    assert "customer" not in declared.drift.drifted_columns
    assert [m.method for m in declared.multivariate] == ["domain_classifier",
                                                         "pca_reconstruction"]
    for method in declared.multivariate:
        assert "customer" not in method.columns
        assert [e.column for e in method.excluded] == ["customer"]
    assert declared.saved is not None
    assert declared.saved.summary["multivariate"] == {
        m.method: m.drifted for m in declared.multivariate}
    assert declared.saved.alert is declared.drifted


@pytest.mark.over_http
def test_a_stored_profile_is_built_once(loans: Project) -> None:
    reference, current = loans.dataset("loans", 1), loans.dataset("loans", 2)
    first = loans.check_drift(reference, current, use_profile=True)
    again = loans.check_drift(reference, current, use_profile=True)
    assert (first.profile_built, again.profile_built) == (True, False)
    assert first.drift.from_profile and again.drift == first.drift
    assert "profile_built" not in first.to_dict()
    exact = loans.check_drift(reference, current)
    assert first.drift.drifted_columns == exact.drift.drifted_columns
    (event,) = loans.audit_log(action="dataset.reference_profile")
    assert event.subject == "dataset:loans@1"


@pytest.mark.over_http
def test_sides_named_as_text_are_dataset_versions(loans: Project, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """``"loans@1"`` is the dataset version locally as it is over the server; a file of
    that name in the working folder is still read as the file."""
    monkeypatch.chdir(tmp_path)
    by_text = loans.check_drift("loans@1", "loans", chunker=Chunker(size=100))
    by_version = loans.check_drift(loans.dataset("loans", 1), loans.dataset("loans", 2),
                                   chunker=Chunker(size=100))
    assert (by_text.reference, by_text.current) == ("loans@1", "loans@2")
    assert by_text.drift == by_version.drift
    with pytest.raises(InputError, match="the version after '@' must be a positive"):
        loans.check_drift("loans@x", "loans@2")


def test_files_and_frames_as_sides(loans: Project, tmp_path: Path) -> None:
    frame = _side(2, 300, drift=True)
    frame.to_parquet(tmp_path / "current.parquet")
    by_path = check(loans, loans.dataset("loans", 1), tmp_path / "current.parquet")
    by_frame = check(loans, loans.dataset("loans", 1), frame)
    assert by_path.current == str(tmp_path / "current.parquet")
    assert by_frame.current == "DataFrame"
    assert by_path.drift == by_frame.drift


@pytest.mark.parametrize(("options", "message"), [
    ({"save": True}, "--save keeps results of a project's datasets"),
    ({"save": True, "monitor": "no good"}, "Monitor name 'no good' is not allowed"),
    ({"use_profile": True}, "--use-profile works with a project dataset as the reference"),
    ({"use_profile": True, "multivariate": True}, "--multivariate needs the reference rows"),
])
def test_options_that_do_not_fit_store_nothing(loans: Project, options: dict[str, object],
                                               message: str) -> None:
    before = snapshot(loans)
    frame = loans.load_dataset("loans", 1)
    with pytest.raises(InputError, match=message):
        check(loans, frame, loans.dataset("loans", 2), **options)  # type: ignore[arg-type]
    with pytest.raises(InputError, match=message):
        check_options(frame, loans.dataset("loans", 2), **options)  # type: ignore[arg-type]
    assert snapshot(loans) == before


def test_nothing_comparable_is_bad_input() -> None:
    reference = pd.DataFrame({"income": [1.0, 2.0, 3.0] * 20})
    current = pd.DataFrame({"income": ["low", "high", "mid"] * 20})
    with pytest.raises(InputError, match="No column could be compared .*income"):
        evaluate(reference, current, reference_label="a", current_label="b")
