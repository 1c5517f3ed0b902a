"""Dataset versions stored through a project, on both backends."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rasad import Project
from rasad.errors import InputError, NotFoundError
from rasad.names import parse_ref
from rasad.tables import ColumnKind

pytestmark = pytest.mark.over_http  # the project-level tests run through the API too


def _frame(n: int = 50, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "customer_id": [f"C{i:05d}" for i in range(n)],
        "income": rng.normal(8000, 2000, n),
        "region": rng.choice(["Riyadh", "Makkah", "Asir"], n),
        "default": rng.integers(0, 2, n),
    })


def _blobs(project: Project) -> set[str]:
    return {b.digest for b in project.artifacts.list_blobs()}


@pytest.mark.local_only(reason="reads the artifact store")
def test_add_csv_and_frame(project: Project, tmp_path: Path) -> None:
    frame = _frame()
    csv = tmp_path / "loans.csv"
    frame.to_csv(csv, index=False)
    added = project.add_dataset(csv, "loans")
    assert added.created and added.version.version == 1
    v = added.version
    assert (v.rows, v.columns) == (50, 4)
    assert v.kinds["income"] is ColumnKind.NUMERIC
    assert v.kinds["region"] is ColumnKind.CATEGORICAL
    assert v.kinds["customer_id"] is ColumnKind.IDENTIFIER
    assert v.profile.column("customer_id").top is None  # no raw identifiers in metadata
    assert v.profile.column("region").top is not None
    assert v.profile.column("income").mean == pytest.approx(frame["income"].mean())
    assert v.content_hash in _blobs(project)
    events = project.audit_log(action="dataset.add")
    assert [e.subject for e in events] == ["dataset:loans@1"]
    assert events[0].details["content_hash"] == v.content_hash
    loaded = project.load_dataset("loans")
    pd.testing.assert_series_equal(loaded["income"], frame["income"])

    second = project.add_dataset(_frame(seed=1), "loans", description="next month")
    assert second.created and second.version.version == 2
    assert [d.version for d in project.datasets("loans")] == [1, 2]
    assert project.dataset("loans").version == 2
    assert project.dataset("loans", 1).content_hash == v.content_hash


def test_identical_content_is_one_version(project: Project, tmp_path: Path) -> None:
    frame = _frame()
    first = project.add_dataset(frame, "loans")
    events = len(project.audit_log())
    again = project.add_dataset(frame.copy(), "loans")
    assert not again.created
    assert again.version.id == first.version.id
    assert "already stored as loans@1" in again.message
    assert len(project.datasets("loans")) == 1
    assert len(project.audit_log()) == events  # nothing changed, nothing recorded
    # The same content under another name is a separate dataset.
    assert project.add_dataset(frame, "loans-copy").version.version == 1


@pytest.mark.parametrize(("content", "fragment"), [
    ("", "empty"),
    ("a,b\n", "no data rows"),
    ("a,a\n1,2\n", "duplicate"),
    ("a,b\n1,2\n3,4,5\n", "row"),
])
@pytest.mark.local_only(reason="reads the artifact store and the project folder")
def test_malformed_files_store_nothing(project: Project, tmp_path: Path, content: str,
                                       fragment: str) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(content)
    blobs, events = _blobs(project), len(project.audit_log())
    with pytest.raises(InputError, match=fragment):
        project.add_dataset(bad, "loans")
    assert _blobs(project) == blobs
    assert len(project.audit_log()) == events
    assert project.datasets() == []
    tmp = project.root / ".rasad" / "tmp"
    assert not tmp.exists() or not any(tmp.iterdir())


def test_bad_names_and_lookups(project: Project) -> None:
    with pytest.raises(InputError, match="not allowed"):
        project.add_dataset(_frame(), "../etc")
    with pytest.raises(NotFoundError, match="no datasets yet"):
        project.dataset("loans")
    project.add_dataset(_frame(), "loans")
    with pytest.raises(NotFoundError, match="versions are 1"):
        project.dataset("loans", 7)
    with pytest.raises(NotFoundError, match="Known datasets: loans"):
        project.dataset("lones")


def test_declared_id_and_time_columns(tmp_path: Path, backend: str) -> None:
    config = ("name: t\ndata:\n  id_columns: [account]\n  time_columns: [opened]\n")
    with Project.init(tmp_path / "p", config_text=config) as project:
        frame = pd.DataFrame({"account": [1, 1, 2], "opened": ["2025-01-01", "2025-01-02",
                                                               "2025-02-01"],
                              "x": [1.0, 2.0, 3.0]})
        kinds = project.add_dataset(frame, "acc").version.kinds
    assert kinds["account"] is ColumnKind.IDENTIFIER
    assert kinds["opened"] is ColumnKind.DATETIME


@pytest.mark.local_only(reason="damages a blob in the artifact store")
def test_corrupt_dataset_blob_is_refused(project: Project) -> None:
    from rasad.errors import IntegrityError

    v = project.add_dataset(_frame(), "loans").version
    path = Path(project.artifacts.root) / "blobs" / v.blob[:2] / v.blob
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="corrupt"):
        project.load_dataset("loans")


def test_parse_ref_rejects_bad_versions() -> None:
    assert parse_ref("loans@12") == ("loans", 12)
    for bad in ("loans@", "loans@x", "loans@0"):
        if bad.endswith("@"):
            assert parse_ref(bad) == ("loans", None)
            continue
        with pytest.raises(InputError, match="positive whole number"):
            parse_ref(bad)
