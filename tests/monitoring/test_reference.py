"""Stored reference profiles: built once per dataset version, reused, hash-checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from rasad import Project
from rasad.cli import run
from rasad.drift import compare
from rasad.errors import IntegrityError
from rasad.examples import generate_portfolio
from rasad.monitoring.reference import reference_profile
from tests._http import cli_on, local

COLUMNS = ["income", "age", "employment_type", "debt_to_income", "region"]


@pytest.fixture
def versions(project: Project) -> Project:
    portfolio = generate_portfolio(months=12, rows_per_month=400, seed=4)
    project.add_dataset(portfolio[portfolio["month"] <= "2025-03"], "loans")
    project.add_dataset(portfolio[portfolio["month"] >= "2025-10"], "later")
    return project


def test_built_once_then_reused(versions: Project) -> None:
    version = versions.dataset("loans")
    first, built = reference_profile(versions, version)
    events = len(versions.audit_log())
    again, built_again = reference_profile(versions, version)
    assert (built, built_again) == (True, False)
    assert again.to_dict() == first.to_dict()
    assert len(versions.audit_log()) == events  # reuse records nothing
    (event,) = versions.audit_log(action="dataset.reference_profile")
    assert event.subject == "dataset:loans@1"


def test_profile_verdicts_match_the_exact_comparison(versions: Project) -> None:
    profile, _ = reference_profile(versions, versions.dataset("loans"))
    current = versions.load_dataset("later")
    exact = compare(versions.load_dataset("loans"), current, columns=COLUMNS)
    from_profile = compare(profile, current, columns=COLUMNS)
    assert from_profile.from_profile and not exact.from_profile
    assert from_profile.drifted_columns == exact.drifted_columns
    assert "income" in exact.drifted_columns  # the income shift of the later months


@pytest.mark.over_http  # the check run by the server refuses the corrupt profile too
def test_a_corrupt_stored_profile_is_refused(versions: Project) -> None:
    reference, current = versions.dataset("loans"), versions.dataset("later")
    versions.check_drift(reference, current, columns=COLUMNS, use_profile=True)
    (event,) = versions.audit_log(action="dataset.reference_profile")
    digest = event.details["profile_sha256"]
    blob = Path(local(versions).artifacts.root) / "blobs" / digest[:2] / digest
    blob.write_bytes(blob.read_bytes().replace(b'"bins"', b'"binz"', 1))
    with pytest.raises(IntegrityError, match="corrupt"):
        versions.check_drift(reference, current, columns=COLUMNS, use_profile=True)
    with pytest.raises(IntegrityError, match="corrupt"):
        reference_profile(local(versions), local(versions).dataset("loans"))


@pytest.mark.over_http  # the same output with RASAD_URL set, the check run by the server
def test_cli_use_profile(versions: Project, capsys: pytest.CaptureFixture[str],
                         monkeypatch: pytest.MonkeyPatch) -> None:
    with cli_on(versions, monkeypatch) as where:
        base = [*where, "drift", "loans@1", "later@1", "--columns", ",".join(COLUMNS)]
        assert run([*base, "--use-profile"]) == 0
        assert "Built and stored reference profile of loans@1." in capsys.readouterr().out
        assert run([*base, "--use-profile"]) == 0
        assert "Using the stored reference profile" in capsys.readouterr().out
        assert run([*base, "--use-profile", "--multivariate"]) == 2
        assert "needs the reference rows" in capsys.readouterr().err
    (event,) = versions.audit_log(action="dataset.reference_profile")
    assert event.subject == "dataset:loans@1"


def test_cli_use_profile_needs_a_dataset_version(versions: Project, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "ref.csv"
    versions.load_dataset("loans").to_csv(csv, index=False)
    assert run(["--project", str(versions.root), "drift", str(csv), "later@1",
                "--use-profile"]) == 2
    assert "not a file" in capsys.readouterr().err


def test_a_profile_leaves_out_period_labels_as_the_exact_comparison_does(
        versions: Project) -> None:
    """`month` ("2025-01") is a time column for drift, from rows or from a stored profile."""
    profile, _ = reference_profile(versions, versions.dataset("loans"))
    current = versions.load_dataset("later")
    exact = compare(versions.load_dataset("loans"), current)
    from_profile = compare(profile, current)
    assert "month" not in exact.drifted_columns
    assert "month" not in from_profile.drifted_columns
    assert from_profile.drifted_columns == exact.drifted_columns
