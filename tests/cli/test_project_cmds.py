"""`rasad init`, finding the project (current folder up, or --project) and `rasad gc`."""

from __future__ import annotations

from pathlib import Path

import pytest

from rasad import Project

from ._helpers import Cli, add_and_train, assert_user_error, blob_path, write_csv


def test_init_writes_a_commented_config_and_state_folder(
        backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rasad = Cli(capsys)
    root = tmp_path / "loans-project"
    result = rasad.ok("init", root)
    assert "Created project loans-project" in result.out
    text = (root / "rasad.yaml").read_text(encoding="utf-8")
    assert "name: loans-project" in text
    assert sum(line.lstrip().startswith("#") for line in text.splitlines()) > 5
    assert (root / ".rasad").is_dir()
    assert (root / ".rasad" / ".gitignore").read_text() == "*\n"
    if backend == "sqlite":
        assert (root / ".rasad" / "rasad.db").is_file()

    events = Cli(capsys, root).ok("audit", "log", "--json").json()
    assert [(e["action"], e["subject"]) for e in events] == [
        ("project.init", "project:loans-project")]
    assert Cli(capsys, root).ok("audit", "verify").out.startswith("Audit chain intact: 1 ")


def test_init_takes_a_name(backend: str, tmp_path: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    Cli(capsys).ok("init", tmp_path / "p", "--name", "credit risk: 2025")
    with Project.open(tmp_path / "p") as project:
        assert project.config.name == "credit risk: 2025"


def test_init_refuses_an_existing_project(backend: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    rasad = Cli(capsys)
    root = tmp_path / "p"
    rasad.ok("init", root)
    before = (root / "rasad.yaml").read_bytes()
    assert_user_error(rasad("init", root), "already exists", "--project")
    assert (root / "rasad.yaml").read_bytes() == before
    events = Cli(capsys, root).ok("audit", "log", "--json").json()
    assert len(events) == 1


def test_project_is_found_from_a_subfolder(project: Project, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    csv = write_csv(tmp_path / "in" / "loans.csv")
    Cli(capsys, project.root).ok("data", "add", csv, "--name", "loans")
    deep = project.root / "notebooks" / "2025"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    listed = Cli(capsys).ok("data", "list", "--json").json()
    assert [d["name"] for d in listed] == ["loans"]


def test_project_option_works_from_anywhere(project: Project, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    rasad = Cli(capsys)
    assert rasad.ok("-p", project.root, "audit", "verify").code == 0
    assert rasad.ok("--project", project.root, "data", "list", "--json").json() == []


def test_no_project_exits_2_with_a_hint(tmp_path_factory: pytest.TempPathFactory,
                                        capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path_factory.mktemp("no-project")
    monkeypatch.chdir(empty)
    rasad = Cli(capsys)
    for args in (["data", "list"], ["audit", "verify"], ["runs", "list"],
                 ["--project", str(empty), "models", "list"]):
        assert_user_error(rasad(*args), "No rasad project in", "`rasad init`")


# -- gc --------------------------------------------------------------------------------------


def test_gc_removes_only_unreferenced_blobs(project: Project, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    rasad = Cli(capsys, project.root)
    trained = add_and_train(rasad, write_csv(tmp_path / "loans.csv"))
    dataset_blob = project.dataset("loans").blob
    model_blob = project.model_version("credit", 1).blob
    orphan = project.artifacts.put_bytes(b"written, never referenced")

    young = rasad.ok("gc", "--dry-run")  # the default minimum age keeps a fresh blob
    assert orphan not in young.out
    assert "kept 1 younger than 3600s" in young.out

    dry = rasad.ok("gc", "--dry-run", "--min-age", "0")
    assert orphan in dry.out
    assert "Would remove 1 unreferenced blob(s)" in dry.out
    assert dataset_blob not in dry.out and model_blob not in dry.out
    assert project.artifacts.exists(orphan)
    as_json = rasad.ok("gc", "--dry-run", "--min-age", "0", "--json").json()
    assert as_json["removed"] is False
    assert [b["sha256"] for b in as_json["blobs"]] == [orphan]
    assert as_json["bytes"] == len(b"written, never referenced")

    removed = rasad.ok("gc", "--min-age", "0")
    assert "Removed 1 unreferenced blob(s)" in removed.out
    assert not blob_path(project, orphan).exists()
    assert blob_path(project, dataset_blob).is_file() and blob_path(project, model_blob).is_file()
    assert "Would remove 0" in rasad.ok("gc", "--dry-run", "--min-age", "0").out

    # The project still works: its data loads, its model scores, the chain verifies.
    assert len(project.load_dataset("loans")) == 600
    out = project.root / "scores.csv"
    rasad.ok("predict", "credit", trained.csv, "--version", "1", "-o", out)
    assert out.is_file()
    gc_events = rasad.ok("audit", "log", "--json", "--action", "artifacts.gc").json()
    assert [e["details"]["removed"] for e in gc_events] == [[orphan]]
    rasad.ok("audit", "verify")


def test_db_status_and_upgrade(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    rasad = Cli(capsys, project.root)
    status = rasad.ok("db", "status", "--json").json()
    assert status["revision"] == status["expected"] is not None
    assert "already at revision" in rasad.ok("db", "upgrade").out
