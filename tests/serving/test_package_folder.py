"""``rasad package`` on the command line: the output folder appears whole or not at all,
is never written over without ``--force``, and ``--force`` never deletes a folder it did
not write; bad options are exit 2 with one line naming the fix."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rasad import Project
from tests.cli._helpers import Cli, assert_user_error, only_json
from tests.serving._package_helpers import deployed, files_of, with_package_command


@pytest.fixture
def proj(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    with_package_command(monkeypatch)
    with Project.init(tmp_path / "proj", name="credit") as project:
        yield project


@pytest.fixture
def cli(proj: Project, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(capsys, proj.root)


def _siblings(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_an_environment_with_nothing_deployed_leaves_nothing(cli: Cli, proj: Project,
                                                             tmp_path: Path) -> None:
    deployed(proj, "dev")
    out = tmp_path / "new" / "deploy"
    result = cli("package", "--env", "staging", "-o", out)
    assert_user_error(result, "Nothing is deployed to 'staging'",
                      "rasad promote NAME VERSION --to staging")
    assert _siblings(tmp_path) == ["proj"]  # no folder, no parent, no staging folder
    assert proj.audit_log(action="model.package") == []
    assert_user_error(cli("package", "--env", "qa", "-o", out), "No environment 'qa'",
                      "dev, staging, production")
    assert _siblings(tmp_path) == ["proj"]


def test_a_non_empty_folder_is_refused_and_left_as_it_was(cli: Cli, proj: Project,
                                                          tmp_path: Path) -> None:
    deployed(proj)
    out = tmp_path / "deploy"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert_user_error(cli("package", "--env", "dev", "-o", out), "is not empty", "--force")
    # --force replaces only what `rasad package` wrote: this folder is someone's.
    assert_user_error(cli("package", "--env", "dev", "-o", out, "--force"),
                      "did not write", "rasad-package.json")
    assert files_of(out) == {"notes.txt": b"mine"}
    assert _siblings(tmp_path) == ["deploy", "proj"]
    assert proj.audit_log(action="model.package") == []


def test_an_empty_folder_is_used_and_force_replaces_an_earlier_package(
        cli: Cli, proj: Project, tmp_path: Path) -> None:
    deployed(proj)
    out = tmp_path / "deploy"
    out.mkdir()
    first = only_json(cli.ok("package", "--env", "dev", "-o", out, "--json"))
    assert (out / "Dockerfile").is_file()
    assert_user_error(cli("package", "--env", "dev", "-o", out), "is not empty")
    second = only_json(cli.ok("package", "--env", "dev", "-o", out, "--force", "--port",
                              "9090", "--json"))
    assert second["port"] == 9090 and first["port"] == 8080
    assert '"--port", "9090"' in (out / "Dockerfile").read_text()
    assert _siblings(tmp_path) == ["deploy", "proj"]  # the old folder is gone, not aside
    assert len(proj.audit_log(action="model.package")) == 2


def test_a_failed_forced_package_keeps_the_earlier_one(cli: Cli, proj: Project,
                                                       tmp_path: Path) -> None:
    deployed(proj)
    out = tmp_path / "deploy"
    cli.ok("package", "--env", "dev", "-o", out)
    before = files_of(out)
    assert_user_error(cli("package", "--env", "staging", "-o", out, "--force"),
                      "Nothing is deployed")
    assert files_of(out) == before
    assert _siblings(tmp_path) == ["deploy", "proj"]


@pytest.mark.parametrize("where", ["root", "parent", "state", "file"])
def test_the_project_s_own_folders_and_files_are_never_the_output(
        cli: Cli, proj: Project, tmp_path: Path, where: str) -> None:
    deployed(proj)
    target = {"root": proj.root, "parent": tmp_path, "state": proj.root / ".rasad" / "out",
              "file": proj.root / "rasad.yaml"}[where]
    before = files_of(proj.root)
    result = cli("package", "--env", "dev", "-o", target, "--force")
    assert_user_error(result, "would overlap the project's own files")
    after = files_of(proj.root)
    assert set(after) == set(before)  # (the SQLite files change as the database is read)
    assert {p: d for p, d in after.items() if "rasad.db" not in p} == {
        p: d for p, d in before.items() if "rasad.db" not in p}


@pytest.mark.parametrize(("args", "fragments"), [
    (["--image", "credit"], ["has no tag", "credit:1.0"]),
    (["--image", "credit:latest"], ["is tagged latest"]),
    (["--image", "Credit Serve:1"], ["is not an image reference"]),
    (["--image", "credit:1@sha256:" + "a" * 64], ["is not an image reference"]),
    (["--base-image", "python"], ["--base-image 'python' has no tag"]),
    (["--replicas", "0"], ["--replicas"]),
    (["--port", "70000"], ["--port"]),
])
def test_bad_options_are_refused_before_anything_is_written(
        cli: Cli, proj: Project, tmp_path: Path, args: list[str], fragments: list[str]) -> None:
    deployed(proj)
    result = cli("package", "--env", "dev", "-o", tmp_path / "out", *args)
    assert_user_error(result, *fragments)
    assert _siblings(tmp_path) == ["proj"]


def test_a_digest_pinned_base_image_is_used_as_given(cli: Cli, proj: Project,
                                                     tmp_path: Path) -> None:
    import platform

    deployed(proj)
    minor = ".".join(platform.python_version_tuple()[:2])
    base = f"python:{minor}.1-slim-bookworm@sha256:{'0f' * 32}"
    shown = cli.ok("package", "--env", "dev", "-o", tmp_path / "out", "--base-image", base)
    assert f"FROM {base}\n" in (tmp_path / "out" / "Dockerfile").read_text()
    assert "base image" not in shown.err
    other = cli.ok("package", "--env", "dev", "-o", tmp_path / "other", "--base-image",
                   "python:2.7.18-slim-buster")
    assert "warning: The base image python:2.7.18-slim-buster runs Python 2.7" in other.err


def test_the_table_names_the_next_steps(cli: Cli, proj: Project, tmp_path: Path) -> None:
    deployed(proj)
    shown = cli.ok("package", "--env", "dev", "-o", tmp_path / "out")
    assert "credit@1" in shown.out and "primary" in shown.out
    assert "The image was not built" in shown.out
    assert "docker build -t credit-dev:" in shown.out
    assert "kubectl apply -k k8s/" in shown.out
    # The SQLite database and the local artifact folder cannot be reached from pods.
    assert "warning: The project's database is a SQLite file" in shown.err
    assert "warning: The artifact store is the folder" in shown.err


def test_over_a_server_it_says_to_run_it_locally(cli: Cli, proj: Project, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("RASAD_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("RASAD_TOKEN", "rsd_x")
    result = Cli(capsys)("package", "--env", "dev", "-o", tmp_path / "out")
    assert_user_error(result, "runs where the project is", "Unset RASAD_URL")
    assert _siblings(tmp_path) == ["proj"]


def test_a_folder_filled_while_packaging_is_never_replaced(tmp_path: Path) -> None:
    from rasad.errors import InputError
    from rasad.serving.packaging._folder import MARKER, Staging

    out = tmp_path / "deploy"
    for force in (False, True):
        with pytest.raises(InputError, match="something else was written there meanwhile"):
            with Staging(out) as staging:
                (staging.path / "Dockerfile").write_text("FROM python:3.11.7-slim-bookworm\n")
                out.mkdir(exist_ok=True)  # someone else's files land after the check
                (out / "notes.txt").write_text("mine")
                staging.commit(force=force)
        assert files_of(out) == {"notes.txt": b"mine"}
        assert _siblings(tmp_path) == ["deploy"]

    # An earlier package is replaced under force; if anything fails after the swap (the
    # audit event's commit), the earlier package comes back.
    (out / "notes.txt").unlink()
    (out / MARKER).write_text("{}")
    with pytest.raises(RuntimeError, match="commit failed"):
        with Staging(out) as staging:
            (staging.path / MARKER).write_text('{"new": true}')
            staging.commit(force=True)
            assert (out / MARKER).read_text() == '{"new": true}'
            raise RuntimeError("commit failed")
    assert files_of(out) == {MARKER: b"{}"} and _siblings(tmp_path) == ["deploy"]
    with Staging(out) as staging:
        (staging.path / MARKER).write_text('{"new": true}')
        staging.commit(force=True)
    assert files_of(out) == {MARKER: b'{"new": true}'} and _siblings(tmp_path) == ["deploy"]
