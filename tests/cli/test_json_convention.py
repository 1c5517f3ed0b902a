"""One JSON convention: `--json` prints the result and nothing else on stdout, and a failure
under `--json` is one `{"error": ...}` object with the exit code (docs/cli.md)."""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from rasad import Project
from rasad.validation import infer_schema
from rasad.validation.service import save_schema

from ._helpers import (
    Cli,
    Trained,
    add_and_train,
    assert_json_error,
    blob_path,
    only_json,
    portfolio,
    snapshot,
    train_args,
    write_csv,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
EVIL = "evil\x1b[31m\nname"


@pytest.fixture
def rasad(project: Project, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(capsys, project.root)


@pytest.fixture
def trained(rasad: Cli, tmp_path: Path) -> Trained:
    trained = add_and_train(rasad, write_csv(tmp_path / "loans.csv"))
    rasad.ok("promote", "credit", "1", "--to", "dev")
    return trained


# -- every command that lists or shows something has --json -------------------------------


def test_every_list_and_show_command_prints_only_json(rasad: Cli, trained: Trained,
                                                      tmp_path: Path) -> None:
    second = rasad.ok(*train_args("--json", "--seed", "7", register_as=None)).json()["run"]["id"]
    rasad.ok("promote", "credit", "1", "--to", "staging")
    outputs = {" ".join(args): only_json(rasad.ok(*args, "--json")) for args in [
        ("data", "list"), ("data", "show", "loans"), ("data", "show", "loans@1"),
        ("runs", "list"), ("runs", "show", trained.run_id),
        ("runs", "compare", trained.run_id, second), ("models", "list"),
        ("models", "show", "credit"), ("models", "history", "credit"),
        ("models", "history", "credit", "--env", "staging"), ("audit", "log"),
        ("audit", "verify"), ("db", "status"),
    ]}
    assert [d["name"] for d in outputs["data list"]] == ["loans"]
    assert outputs["data show loans"] == outputs["data show loans@1"]
    assert {r["id"] for r in outputs["runs list"]} == {trained.run_id, second}
    assert outputs[f"runs show {trained.run_id}"]["id"] == trained.run_id
    assert [m["name"] for m in outputs["models list"]] == ["credit"]
    assert outputs["models show credit"]["deployed"] == {"dev": 1, "staging": 1}
    assert [(d["environment"], d["version"]) for d in outputs["models history credit"]] == [
        ("dev", 1), ("staging", 1)]
    assert [d["environment"] for d in outputs["models history credit --env staging"]] == [
        "staging"]
    assert outputs["audit verify"]["ok"] is True
    assert outputs["db status"]["revision"] == outputs["db status"]["expected"]
    assert outputs["audit log"][-1]["action"] == "model.promotion"


def test_models_history_as_a_table(rasad: Cli, trained: Trained) -> None:
    rasad.ok("promote", "credit", "1", "--to", "staging")
    out = rasad.ok("models", "history", "credit", "--env", "dev").out
    assert "deployments of credit in dev" in out and "staging" not in out
    assert rasad.ok("models", "history", "credit", "--env", "production").out.strip() == (
        "credit has never been deployed in production.")


def test_commands_that_change_something_print_what_they_did(
        rasad: Cli, project: Project, trained: Trained, tmp_path: Path) -> None:
    added = only_json(rasad.ok("data", "add", trained.csv, "--name", "copy", "--json"))
    assert (added["name"], added["version"], added["created"]) == ("copy", 1, True)
    promoted = only_json(rasad.ok("promote", "credit", "1", "--to", "staging", "--json"))
    assert (promoted["environment"], promoted["version"], promoted["changed"]) == (
        "staging", 1, True)
    assert_json_error(rasad("rollback", "credit", "--env", "staging", "--json"),
                      "ConflictError", 2, "no earlier deployment")
    upgraded = only_json(rasad.ok("db", "upgrade", "--json"))
    assert upgraded["changed"] is False and upgraded["before"] == upgraded["after"]
    collected = only_json(rasad.ok("gc", "--dry-run", "--json"))
    assert (collected["removed"], collected["blobs"]) == (False, [])
    key = only_json(rasad.ok("audit", "keygen", tmp_path / "signing.key", "--json"))
    assert key["public_key_file"] == f"{tmp_path / 'signing.key'}.pub"
    assert key["public_key"] in (tmp_path / "signing.key.pub").read_text()
    assert "PRIVATE" not in json.dumps(key)
    created = only_json(rasad.ok("init", tmp_path / "fresh", "--name", "fresh", "--json"))
    assert created["name"] == "fresh" and Path(created["config"]).is_file()


# -- errors under --json -------------------------------------------------------------------


def test_input_and_lookup_errors_are_one_json_object(rasad: Cli, project: Project,
                                                     trained: Trained) -> None:
    before = snapshot(project)
    cases: list[tuple[list[str], str, str]] = [
        (["data", "show", "nosuch"], "NotFoundError", "No dataset named 'nosuch'"),
        (["data", "show", "loans@x"], "InputError", "positive whole number"),
        (["runs", "show", "ffffffff"], "NotFoundError", "No run 'ffffffff'"),
        (["models", "history", "credit", "--env", "prod"], "NotFoundError",
         "No environment 'prod'"),
        (["promote", "credit", "7", "--to", "staging"], "NotFoundError", "has no version 7"),
        (["runs", "list", "--status", "paused"], "InputError", "Run status 'paused'"),
    ]
    for args, kind, fragment in cases:
        assert_json_error(rasad(*args, "--json"), kind, 2, fragment)
        # The same failure without --json: nothing on stdout.
        plain = rasad(*args)
        assert plain.code == 2 and plain.out == "", str(plain)
    assert snapshot(project) == before


def test_usage_errors_are_one_json_object(rasad: Cli, project: Project, trained: Trained) -> None:
    before = snapshot(project)
    cases: list[tuple[list[str], str]] = [
        (["runs", "list", "--statuss", "done"], "No such option: --statuss"),
        (["data", "add", str(trained.csv)], "Missing option '--name'"),
        (["promote", "credit", "one", "--to", "dev"], "Invalid value for 'version'"),
        (["modles", "list"], "No such command 'modles'. Did you mean 'models'?"),
        (["data", "list", "--limit", "3"], "No such option: --limit"),
    ]
    for args, fragment in cases:
        message = assert_json_error(rasad(*args, "--json"), "UsageError", 2, fragment)
        assert message.endswith("--help`."), message
        plain = rasad(*args)
        assert plain.code == 2 and plain.out == "", str(plain)
        assert plain.err.strip().splitlines() == [f"error: {message}"], str(plain)
    assert snapshot(project) == before


def test_a_check_that_fails_before_a_result_is_an_error_with_exit_1(
        rasad: Cli, project: Project) -> None:
    frame = portfolio(seed=3)
    project.add_dataset(frame, "loans")
    save_schema(project, "loans", infer_schema(project.load_dataset("loans")), "inferred")
    frame.loc[10, "age"] = 500
    project.add_dataset(frame, "loans")
    assert_json_error(rasad(*train_args("--json", register_as=None)), "CheckFailed", 1,
                      "loans@2 fails validation", "Training did not start")
    assert project.runs() == []


def test_a_corrupt_model_is_an_integrity_error_with_exit_1(
        rasad: Cli, project: Project, trained: Trained, tmp_path: Path) -> None:
    version = project.model_version("credit", 1)
    path = blob_path(project, version.blob)
    path.chmod(0o600)
    path.write_bytes(path.read_bytes()[:-10])
    result = rasad("predict", "credit", trained.csv, "--version", "1",
                   "-o", tmp_path / "scores.csv", "--json")
    assert_json_error(result, "IntegrityError", 1)
    assert not (tmp_path / "scores.csv").exists()


def test_a_failed_check_with_a_result_prints_one_document(rasad: Cli, project: Project,
                                                          trained: Trained) -> None:
    with project.db.write_engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_events SET actor = 'mallory' WHERE seq = 2"))
    result = rasad("audit", "verify", "--json")
    assert result.code == 1, str(result)
    report = only_json(result)  # the verification itself, not an error object after it
    assert report["ok"] is False and report["first_bad_seq"] == 2 and "error" not in report


def test_the_message_is_cleaned_and_secrets_masked(rasad: Cli, project: Project,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    result = rasad("data", "show", EVIL, "--json")
    message = assert_json_error(result, "NotFoundError", 2, "evil\\x1b[31m\\nname")
    assert "\x1b" not in result.out + result.err and "\x1b" not in message
    monkeypatch.setenv("RASAD_DATABASE_URL",
                       "postgresql+psycopg://rasad:s3cret@127.0.0.1:1/rasad")
    result = rasad("data", "list", "--json")
    assert_json_error(result, "DatabaseUnavailable", 2, "rasad:***@127.0.0.1:1")
    assert "s3cret" not in result.out + result.err


def test_debug_keeps_stdout_for_the_json(rasad: Cli) -> None:
    result = rasad("--debug", "data", "show", "nosuch", "--json")
    assert result.code == 2
    assert json.loads(result.out)["error"]["type"] == "NotFoundError"
    assert "Traceback (most recent call last)" in result.err
    assert result.err.rstrip().splitlines()[-1].startswith("error: No dataset named 'nosuch'")


# -- docs/cli.md: its examples run as written --------------------------------------------


def _console_blocks() -> list[str]:
    return re.findall(r"```console\n(.*?)```", DOCS.read_text(), flags=re.S)


def _steps(block: str) -> list[tuple[str, str]]:
    """(command, expected output) for each `$ ` line of a console block."""
    steps: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        else:
            steps[-1][1].append(line)
    return [(command, "".join(f"{line}\n" for line in lines)) for command, lines in steps]


def test_docs_console_examples_run(project: Project, capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project.root)
    from rasad.cli import run

    ran, code = 0, 0
    for block in _console_blocks():
        for command, expected in _steps(block):
            if command == "echo $?":
                assert expected == f"{code}\n", f"$ {command}"
                continue
            words = shlex.split(command)
            assert words[0] == "rasad", command
            hide_err = words[-1] == "2>/dev/null"
            capsys.readouterr()
            code = run(words[1:-1] if hide_err else words[1:])
            captured = capsys.readouterr()
            shown = captured.out if hide_err else captured.err + captured.out
            assert shown == expected, f"$ {command}\n--- got\n{shown}--- docs\n{expected}"
            ran += 1
    assert ran == 5


def test_docs_python_example_runs(project: Project, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project.root)
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    (block,) = re.findall(r"```python\n(.*?)```", DOCS.read_text(), flags=re.S)
    exec(compile(block, str(DOCS), "exec"), {})
    expected = [line.removeprefix("# ") for line in block.splitlines() if line.startswith("# ")]
    assert capsys.readouterr().out.splitlines() == expected == ["NotFoundError True"]


def test_docs_list_every_command() -> None:
    from rasad.cli.app import COMMANDS

    documented = re.findall(r"^\| `([a-z]+)` \|", DOCS.read_text(), flags=re.M)
    assert documented == [entry.name for entry in COMMANDS]


def test_demo_json_keeps_the_story_on_stderr(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    result = Cli(capsys).ok("demo", "--dir", tmp_path / "demo", "--json")
    summary = only_json(result)
    assert summary["project_dir"] == str(tmp_path / "demo")
    assert summary["deployed"] and summary["audit_events"] > 0
    steps = summary["next_steps"]
    assert steps and all(step.startswith(("rasad ", "/")) for step in steps)
    assert result.err.strip()  # the narration went to stderr
