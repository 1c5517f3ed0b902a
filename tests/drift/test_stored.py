"""Results stored by rasad before they were pydantic models read back unchanged.

The JSON files in ``tests/drift/data/`` were written by rasad at commit f90d29b (drift
results as frozen dataclasses with hand-written ``to_dict``), by running this module:
``PYTHONPATH=<that checkout>/src python tests/drift/test_stored.py tests/drift/data``.
The builders below use only calls both versions have, so the tests also check that
today's code writes the same JSON, key for key and figure for figure.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from rasad.drift import (
    Chunker,
    DomainClassifierResult,
    DriftPolicy,
    DriftReport,
    MethodSpec,
    OnlineDriftResult,
    PCAReconstructionResult,
    ReferenceProfile,
    Rule,
    compare,
    detect,
    domain_classifier,
    pca_reconstruction,
)

DATA = Path(__file__).parent / "data"


def _frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two small sides with a column of every status, so every part of a report appears."""
    rng = np.random.default_rng(11)
    n = 120
    reference = pd.DataFrame({
        "income": rng.normal(50, 10, n), "region": rng.choice(["n", "s", "e"], n),
        "flag": rng.choice([True, False], n), "steady": np.full(n, 3.0),
        "empty": [None] * n, "lost": rng.normal(size=n), "amount": rng.normal(size=n),
        "customer_id": np.arange(n), "only_ref": 1.0,
        "few": [1.0, 2.0, 3.0] + [None] * (n - 3)})
    current = pd.DataFrame({
        "income": rng.normal(58, 10, n), "region": rng.choice(["n", "s", "e", "w"], n),
        "flag": rng.choice([True, False], n, p=[0.8, 0.2]),
        "steady": np.where(np.arange(n) < 30, 4.0, 3.0), "empty": [None] * n,
        "lost": np.full(n, np.nan), "amount": ["12.5 SAR"] * n,
        "customer_id": np.arange(n) + n, "only_cur": "z",
        "few": [1.0, 5.0] + [None] * (n - 2)})
    return reference, current


def drift_report() -> dict[str, Any]:
    reference, current = _frames()
    return compare(reference, current, chunker=Chunker(size=60)).to_dict()


def drift_policy() -> dict[str, Any]:
    return DriftPolicy(
        numeric=(Rule(["ks"], why="small"), Rule([MethodSpec("wasserstein", 0.2)],
                                                 min_values=500)),
        overrides={"x": MethodSpec("psi", 0.3)}, correction="bonferroni", drift_share=0.25,
        missing_min_change=0.05, bins=20).to_dict()


def reference_profile() -> dict[str, Any]:
    reference, _ = _frames()
    return ReferenceProfile.from_frame(reference, sketch_size=5).to_dict()


def _correlated() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(5)
    x, z = rng.normal(size=(2, 600))
    reference = pd.DataFrame({"x": x, "y": 0.8 * x + 0.6 * z,
                              "g": rng.choice(["a", "b"], 600), "id": np.arange(600)})
    current = pd.DataFrame({"x": rng.normal(size=600), "y": rng.normal(size=600),
                            "g": rng.choice(["a", "b"], 600), "id": np.arange(600) + 600})
    return reference, current


def domain_classifier_result() -> dict[str, Any]:
    return domain_classifier(*_correlated(), folds=3).to_dict()


def pca_reconstruction_result() -> dict[str, Any]:
    return pca_reconstruction(*_correlated(), chunker=Chunker(number=3)).to_dict()


def online_result() -> dict[str, Any]:
    rng = np.random.default_rng(0)
    errors = np.r_[rng.random(500) < 0.1, rng.random(500) < 0.5].astype(int)
    return detect(errors, "ddm", times=pd.date_range("2025-01-01", periods=1000,
                                                     freq="h")).to_dict()


BUILDERS: dict[str, tuple[Callable[[], dict[str, Any]], type[Any]]] = {
    "drift_report": (drift_report, DriftReport),
    "drift_policy": (drift_policy, DriftPolicy),
    "reference_profile": (reference_profile, ReferenceProfile),
    "domain_classifier": (domain_classifier_result, DomainClassifierResult),
    "pca_reconstruction": (pca_reconstruction_result, PCAReconstructionResult),
    "online": (online_result, OnlineDriftResult),
}


def _stored(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))
    return loaded


def _same(new: Any, old: Any, where: str = "") -> None:
    """Equal JSON, floats to the last few bits (a sum may be ordered differently)."""
    if isinstance(old, dict):
        assert isinstance(new, dict) and set(new) == set(old), (
            f"{where}: keys differ: {sorted(set(new) ^ set(old))}")
        for key in old:
            _same(new[key], old[key], f"{where}.{key}")
    elif isinstance(old, list):
        assert isinstance(new, list) and len(new) == len(old), f"{where}: lengths differ"
        for i, (a, b) in enumerate(zip(new, old, strict=True)):
            _same(a, b, f"{where}[{i}]")
    elif isinstance(old, float) and isinstance(new, float):
        assert math.isclose(new, old, rel_tol=1e-12, abs_tol=1e-15), f"{where}: {new} != {old}"
    else:
        assert new == old and type(new) is type(old), f"{where}: {new!r} != {old!r}"


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_a_stored_result_reads_back_and_writes_the_same_json(name: str) -> None:
    old = _stored(name)
    model = BUILDERS[name][1]
    loaded = model.from_dict(old)
    assert loaded.to_dict() == old
    assert model.from_json(loaded.to_json()) == loaded


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_todays_code_writes_the_stored_json_key_for_key(name: str) -> None:
    _same(BUILDERS[name][0](), _stored(name), name)


def test_a_stored_report_reads_back_as_typed_results() -> None:
    report = DriftReport.from_dict(_stored("drift_report"))
    assert report.drifted_columns == ("income", "region", "flag", "steady", "lost")
    steady = report.column("steady")
    assert steady.status.value == "constant" and steady.reference is not None
    assert steady.reference.minimum == steady.reference.maximum == 3.0  # "min", "max"
    assert report.column("region").new_categories[0].category == "w"
    ks = report.column("income").result("ks")
    assert ks.direction.value == "below" and ks.adjusted_p_value is not None
    assert [chunk.key for chunk in report.chunks] == ["[0:60]", "[60:120]"]
    assert report.policy == DriftPolicy()


def test_figures_that_do_not_exist_are_null_and_read_back_as_nan() -> None:
    """The old ``to_dict`` wrote an infinite PSI or a NaN statistic as null."""
    data = _stored("drift_report")
    income = data["columns"][0]
    psi = next(result for result in income["results"] if result["method"] == "psi")
    psi["statistic"] = None
    report = DriftReport.from_dict(data)
    assert math.isnan(report.column("income").result("psi").statistic)
    region = report.column("region").current
    assert region is not None and region.mean is None  # categories have no mean
    assert report.to_dict() == data
    assert json.loads(json.dumps(report.to_dict(), allow_nan=False)) == data


def test_unknown_keys_in_a_stored_result_are_ignored() -> None:
    data = _stored("drift_report")
    data["written_by"] = "a later rasad"
    data["policy"]["numeric"][0]["new_setting"] = 1
    data["columns"][0]["results"][0]["confidence"] = 0.9
    assert DriftReport.from_dict(data).to_dict() == _stored("drift_report")


def test_the_report_has_a_json_schema_of_its_serialised_form() -> None:
    schema = DriftReport.model_json_schema(mode="serialization", by_alias=True)
    assert {"drifted_columns", "policy", "columns", "chunks"} <= set(schema["properties"])
    side = schema["$defs"]["SideSummary"]["properties"]
    assert {"min", "max"} <= set(side) and "minimum" not in side
    statistic = schema["$defs"]["MethodResult"]["properties"]["statistic"]
    assert {"type": "null"} in statistic["anyOf"]
    for model in (ReferenceProfile, DomainClassifierResult, PCAReconstructionResult,
                  OnlineDriftResult, DriftPolicy):
        assert model.model_json_schema(mode="serialization")["type"] == "object"


if __name__ == "__main__":  # writes the fixtures; see the module docstring
    target = Path(sys.argv[1])
    target.mkdir(parents=True, exist_ok=True)
    for fixture, (build, _) in BUILDERS.items():
        (target / f"{fixture}.json").write_text(json.dumps(build(), indent=1) + "\n",
                                                encoding="utf-8")
