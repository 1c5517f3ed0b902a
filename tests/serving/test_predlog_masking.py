"""Personal data in the prediction log: masked columns hold keyed hashes, dropped ones
nothing, and the raw values are nowhere in the files the log writes."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from rasad import Project
from rasad.errors import ConfigError, InputError
from rasad.serving.predlog import PredictionLog, mask_value, read_log
from rasad.serving.predlog._masking import KEY_ENV, KEY_FILE_ENV, mask_text

from .test_predlog import config, scored

NATIONAL_IDS = ["784-1990-1234567", "784-1985-7654321", "784-1990-1234567"]
NAMES = ["Alice Qasim-Example", "Bader Rare-Surname", "Alice Qasim-Example"]
PHONES = [971501234567, 971509876543, 971501234567]


def _people() -> pd.DataFrame:
    return pd.DataFrame({"national_id": NATIONAL_IDS, "name": NAMES, "phone": PHONES,
                         "income": [5000.0, 7000.0, 5000.0]})


def _write(project: Project, **personal: str) -> PredictionLog:
    log = PredictionLog.open(project.context, "production", config(personal_data=personal))
    log.submit(scored(0, rows=3, inputs=_people()))
    log.close()
    return log


def _all_bytes(root: Path) -> bytes:
    """Every file's bytes, and every segment's decoded cells, metadata and statistics (so
    compression cannot hide a value from the search)."""
    parts = [p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()]
    for path in sorted(root.rglob("*.parquet")):
        parquet = pq.ParquetFile(path)
        parts.append(repr(parquet.read().to_pylist()).encode())
        parts.append(repr(parquet.schema_arrow.metadata).encode())
        meta = parquet.metadata
        parts += [repr(meta.row_group(g).column(c).statistics).encode()
                  for g in range(meta.num_row_groups) for c in range(meta.num_columns)]
    return b"\n".join(parts)


def test_masked_and_dropped_values_never_reach_the_store(project: Project) -> None:
    _write(project, national_id="mask", phone="mask", name="drop")
    store = Path(project.artifacts.root)
    written = _all_bytes(store)
    assert written  # the segment is there...
    for raw in [*NATIONAL_IDS, *NAMES, *(str(p) for p in PHONES)]:
        assert raw.encode() not in written, raw  # ...without any raw value
    for phone in PHONES:  # nor a number's binary form
        assert np.int64(phone).tobytes() not in written
    assert b"name" not in written.replace(b"national_id", b"")  # the dropped column is absent
    frame = read_log(project.context, "credit", with_feedback=False)
    assert "input.name" not in frame.columns
    assert frame.attrs["masked_columns"] == ["national_id", "phone"]
    ids = frame["input.national_id"].tolist()
    assert all(len(v) == 64 and set(v) <= set("0123456789abcdef") for v in ids)
    assert ids[0] == ids[2] != ids[1]  # joinable: equal values, equal hashes
    assert frame["input.income"].tolist() == [5000.0, 7000.0, 5000.0]  # the rest as sent
    # The data owner finds a person's rows with the key.
    assert mask_value(project.context, "784-1990-1234567") == ids[0]
    assert mask_value(project.context, 971509876543) == frame["input.phone"].iloc[1]


def test_the_key_is_a_private_file_outside_the_database_and_the_store(project: Project) -> None:
    _write(project, national_id="mask")
    key_file = project.root / ".rasad" / "prediction-log.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    assert len(key) == 64
    assert key.encode() not in _all_bytes(Path(project.artifacts.root))
    with project.db.read_engine.connect() as conn:
        dump = repr([tuple(r) for r in conn.exec_driver_sql(
            "SELECT details FROM audit_events").all()])
    assert key not in dump
    # Without the key, a guess of the value does not give the hash.
    frame = read_log(project.context, "credit", with_feedback=False)
    assert mask_text(b"x" * 32, NATIONAL_IDS[0]) != frame["input.national_id"].iloc[0]
    # The key is made once: a second writer of the project uses the same one.
    _write(project, national_id="mask")
    assert key_file.read_text().strip() == key
    hashes = read_log(project.context, "credit", with_feedback=False)["input.national_id"]
    assert hashes.nunique() == 2


def test_a_shared_key_from_the_environment(local: Project, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "s" * 40
    monkeypatch.setenv(KEY_ENV, secret)
    _write(local, national_id="mask")
    assert not (local.root / ".rasad" / "prediction-log.key").exists()
    frame = read_log(local.context, "credit", with_feedback=False)
    assert frame["input.national_id"].iloc[0] == mask_text(secret.encode(), NATIONAL_IDS[0])
    monkeypatch.delenv(KEY_ENV)
    key_file = tmp_path / "k"
    key_file.write_text(secret + "\n")
    monkeypatch.setenv(KEY_FILE_ENV, str(key_file))
    assert mask_value(local.context, NATIONAL_IDS[0]) == frame["input.national_id"].iloc[0]


def test_a_weak_or_missing_key_is_refused_before_anything_is_logged(
        local: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "short")
    with pytest.raises(ConfigError, match="5 characters; it needs at least 32"):
        PredictionLog.open(local.context, "dev", config(personal_data={"name": "mask"}))
    monkeypatch.delenv(KEY_ENV)
    monkeypatch.setenv(KEY_FILE_ENV, str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="cannot be read"):
        PredictionLog.open(local.context, "dev", config(personal_data={"name": "mask"}))
    monkeypatch.delenv(KEY_FILE_ENV)
    with pytest.raises(InputError, match="no masking key"):
        mask_value(local.context, "x")  # nothing was masked yet: no key to look up with
    # Without a masked column no key is needed (nor made).
    PredictionLog.open(local.context, "dev", config(personal_data={"name": "drop"})).close()
    assert not (local.root / ".rasad" / "prediction-log.key").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_project_folder_that_cannot_hold_a_key_names_the_variable(local: Project) -> None:
    state = local.root / ".rasad"
    state.chmod(0o500)
    try:
        with pytest.raises(InputError, match=KEY_ENV):
            PredictionLog.open(local.context, "dev", config(personal_data={"n": "mask"}))
    finally:
        state.chmod(0o700)


def test_whole_numbers_hash_alike_and_missing_values_stay_missing(local: Project) -> None:
    log = PredictionLog.open(local.context, "dev", config(personal_data={"account": "mask"}))
    log.submit(scored(0, inputs=pd.DataFrame({"account": [123]})))
    log.submit(scored(1, rows=2, inputs=pd.DataFrame({"account": [123.0, np.nan]})))
    log.close()
    values = read_log(local.context, "credit", with_feedback=False)["input.account"].tolist()
    assert values[0] == values[1] == mask_value(local.context, "123")
    assert pd.isna(values[2])


@pytest.fixture
def local(tmp_path: Path) -> Iterator[Project]:
    with Project.init(tmp_path / "proj", name="test") as proj:
        yield proj
