"""Shared helpers for the CLI tests: run `rasad` in-process, small data, project snapshots."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from rasad import Project
from rasad.cli import run
from rasad.examples import generate_portfolio

ESTIMATOR = "sklearn.linear_model.LogisticRegression"
FEATURES = ("income", "age", "employment_type", "loan_amount", "debt_to_income")


@dataclass(frozen=True)
class Result:
    """One CLI invocation: exit code and captured streams."""

    args: tuple[str, ...]
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def __str__(self) -> str:  # shown by pytest when an assertion about a result fails
        return (f"rasad {' '.join(self.args)} -> {self.code}\n--- stdout\n{self.out}"
                f"--- stderr\n{self.err}")


class Cli:
    """Runs ``rasad`` in-process through :func:`rasad.cli.run`, optionally on one project."""

    def __init__(self, capsys: pytest.CaptureFixture[str], root: Path | None = None) -> None:
        self.capsys = capsys
        self.root = root

    def __call__(self, *args: str | Path) -> Result:
        argv = [str(a) for a in args]
        if self.root is not None:
            argv = ["--project", str(self.root), *argv]
        self.capsys.readouterr()  # drop anything printed before
        code = run(argv)
        captured = self.capsys.readouterr()
        return Result(tuple(argv), code, captured.out, captured.err)

    def ok(self, *args: str | Path) -> Result:
        result = self(*args)
        assert result.code == 0, str(result)
        assert "Traceback" not in result.out + result.err, str(result)
        return result


def assert_user_error(result: Result, *fragments: str, code: int = 2) -> None:
    """Exit ``code`` with exactly one line on stderr naming the problem, and no traceback."""
    assert result.code == code, str(result)
    assert "Traceback" not in result.out + result.err, str(result)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr\n{result}"
    assert lines[0].startswith("error: "), str(result)
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in the message\n{result}"
    assert result.out.strip() == "", f"nothing belongs on stdout\n{result}"


def only_json(result: Result) -> Any:
    """stdout is exactly one JSON document (json.loads refuses trailing text)."""
    assert "Traceback" not in result.out + result.err, str(result)
    return json.loads(result.out)


def assert_json_error(result: Result, kind: str, code: int, *fragments: str) -> str:
    """One error object on stdout, the same message on stderr's one line, exit ``code``."""
    assert result.code == code, str(result)
    answer = only_json(result)
    assert list(answer) == ["error"], str(result)
    error = answer["error"]
    assert error == {"type": kind, "message": error["message"], "exit_code": code}, str(result)
    message: str = error["message"]
    for fragment in fragments:
        assert fragment in message, str(result)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), str(result)
    # The line is the same text, with rich markup escaped for the terminal.
    assert lines[0].removeprefix("error: ").replace("\\[", "[") == message, str(result)
    return message


@functools.cache
def _portfolio(months: int, rows_per_month: int, seed: int) -> pd.DataFrame:
    return generate_portfolio(months=months, rows_per_month=rows_per_month, seed=seed)


def portfolio(months: int = 2, rows_per_month: int = 300, seed: int = 0) -> pd.DataFrame:
    """A small seeded credit portfolio (cached per process; a copy each call)."""
    return _portfolio(months, rows_per_month, seed).copy()


def write_csv(path: Path, frame: pd.DataFrame | None = None) -> Path:
    frame = portfolio() if frame is None else frame
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


def train_args(*extra: str, register_as: str | None = "credit") -> list[str]:
    """`rasad train` with every option the tests rely on."""
    args = ["train", "--dataset", "loans", "--target", "default",
            "--features", ",".join(FEATURES), "--estimator", ESTIMATOR,
            "--param", "max_iter=200", *extra]
    if register_as:
        args += ["--register-as", register_as]
    return args


@dataclass(frozen=True)
class Trained:
    """A project with loans@1, a finished run and credit@1 registered from it."""

    root: Path
    csv: Path
    run_id: str


def add_and_train(rasad: Cli, csv: Path) -> Trained:
    rasad.ok("data", "add", csv, "--name", "loans")
    result = rasad.ok(*train_args("--json"))
    run_id = result.json()["run"]["id"]
    assert rasad.root is not None
    return Trained(rasad.root, csv, run_id)


@dataclass(frozen=True)
class Snapshot:
    """Everything a rejected command must leave as it was."""

    audit_events: int
    datasets: tuple[tuple[Any, ...], ...]
    runs: tuple[tuple[Any, ...], ...]
    models: tuple[tuple[Any, ...], ...]
    deployments: tuple[tuple[Any, ...], ...]
    files: frozenset[str]


def snapshot(project: Project) -> Snapshot:
    """Row counts and keys of every aggregate, plus every file under the project folder.

    The SQLite database files are left out of the file set (WAL traffic changes them
    on reads); the rows are compared instead.
    """
    def rows(sql: str) -> tuple[tuple[Any, ...], ...]:
        return tuple(tuple(r) for r in conn.execute(sa.text(sql)).all())

    with project.db.read_engine.connect() as conn:
        audit = conn.execute(sa.text("SELECT count(*) FROM audit_events")).scalar_one()
        datasets = rows("SELECT name, version, content_hash FROM dataset_versions "
                        "ORDER BY name, version")
        runs = rows("SELECT id, status FROM runs ORDER BY id")
        models = rows("SELECT name, version, blob FROM model_versions ORDER BY name, version")
        deployments = rows("SELECT model_name, environment, deployment_id "
                           "FROM current_deployments ORDER BY model_name, environment")
        deployments += rows("SELECT id, model_name, environment, model_version_id "
                            "FROM deployments ORDER BY id")
    files = frozenset(
        str(p.relative_to(project.root)) for p in project.root.rglob("*")
        if p.is_file() and not p.name.startswith("rasad.db"))
    return Snapshot(int(audit), datasets, runs, models, deployments, files)


def blob_path(project: Project, digest: str) -> Path:
    return Path(project.artifacts.root) / "blobs" / digest[:2] / digest
