"""Names, reasons, actors and column names cannot drive the terminal or forge output lines."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pandas as pd
import pytest

from rasad import Project
from rasad.cli._output import ConsoleLog, clean, emit_json, escape_controls, table

from ._helpers import ESTIMATOR, Cli, assert_user_error, portfolio

EVIL = "evil\x1b[31m\n[red]forged\x9b2J\u202eend"
SHOWN = "evil\\x1b[31m\\n[red]forged\\x9b2J\\u202eend"
RAW = ("\x1b", "\x9b", "\u202e")


def assert_inert(text: str) -> None:
    """No control character reaches the terminal (a table's own line breaks aside)."""
    for char in RAW:
        assert char not in text, repr(text)
    assert "evil\n" not in text and "\nforged" not in text


@pytest.mark.parametrize(("raw", "shown"), [
    ("\x1b[31mred", "\\x1b[31mred"), ("a\nb\rc\td", "a\\nb\\rc\\td"), ("\x00\x7f", "\\x00\\x7f"),
    ("\x85\x9b", "\\x85\\x9b"), ("\u2028\u202e\u2066", "\\u2028\\u202e\\u2066"),
    ("plain é ü 中", "plain é ü 中"),
])
def test_escape_controls(raw: str, shown: str) -> None:
    assert escape_controls(raw) == shown


def test_table_cells_titles_and_headers_are_shown_literally(
        capsys: pytest.CaptureFixture[str]) -> None:
    table(EVIL, [EVIL, "b"], [[EVIL, "[bold]x[/]"]])
    out = capsys.readouterr().out
    assert_inert(out)
    assert out.count("[red]forged") == 3 and "[bold]x[/]" in out
    assert clean("[red]x") == "\\[red]x"


def test_json_escapes_what_a_terminal_would_interpret(capsys: pytest.CaptureFixture[str]) -> None:
    emit_json({"name": EVIL})
    out = capsys.readouterr().out
    assert_inert(out)
    assert "\\u001b[31m" in out and "\\u009b" in out and "\\u202e" in out


def test_log_records_are_one_cleaned_line(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    record = logging.LogRecord("rasad.store", logging.WARNING, __file__, 1, "waiting on %s",
                               (EVIL,), None)
    ConsoleLog().emit(record)
    assert stream.getvalue() == f"warning: waiting on {SHOWN}\n"


def _admin_named(project: Project, name: str) -> None:
    """Make ``name`` an admin although `rasad users add` refuses such a name: only a first
    admin keeps the name the system gives it, so that is how such an actor acts."""
    from rasad.identity import PrincipalKind, Role
    from rasad.store._tables import PrincipalRow, RoleGrantRow

    now = project.clock()
    with project.transaction() as tx:
        row = PrincipalRow(name=name, kind=PrincipalKind.PERSON.value, created_by="tester",
                           created_at=now)
        tx.session.add(row)
        tx.session.flush()
        tx.session.add(RoleGrantRow(principal_id=row.id, role=Role.ADMIN.value,
                                    granted_by="tester", granted_at=now))
        tx.record("principal.add", f"principal:{name}", {"kind": "person", "roles": ["admin"]})


def test_every_renderer_escapes_user_text(project: Project, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _admin_named(project, EVIL)
    monkeypatch.setenv("RASAD_USER", EVIL)
    rasad = Cli(capsys, project.root)
    frame = portfolio(rows_per_month=100).rename(columns={"region": EVIL})
    data = tmp_path / "loans.parquet"
    frame.to_parquet(data)
    rasad.ok("data", "add", data, "--name", "loans")
    rasad.ok("train", "--dataset", "loans", "--target", "default", "--features",
             "income,age", "--estimator", ESTIMATOR, "--param", "max_iter=200",
             "--name", EVIL, "--register-as", "credit")
    rasad.ok("promote", "credit", "1", "--to", "dev", "--reason", EVIL)
    run_id = project.runs()[0].id
    for args in (["data", "list"], ["data", "show", "loans"], ["runs", "list"],
                 ["runs", "show", run_id], ["models", "show", "credit"], ["audit", "log"]):
        result = rasad.ok(*args)
        assert_inert(result.out + result.err)
        assert "[red]forged" in result.out, str(result)
        assert "evil\\x1b[31m\\n" in result.out, str(result)
    # What was stored is the user's text, unchanged: only its display is escaped.
    assert project.run(run_id).name == EVIL
    assert project.audit_log(action="run.start")[-1].actor == EVIL


def test_an_error_naming_user_text_stays_one_line(
        project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    result = Cli(capsys, project.root)("data", "add", f"{EVIL}.csv", "--name", "loans")
    assert_user_error(result, f"Cannot read '{SHOWN}.csv'")
    assert_inert(result.err)


def test_a_data_frame_column_name_is_escaped_in_data_show(
        project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    project.add_dataset(pd.DataFrame({EVIL: [1, 2, 3], "y": [0, 1, 0]}), "odd")
    result = Cli(capsys, project.root).ok("data", "show", "odd")
    assert_inert(result.out)
    assert "[red]forged" in result.out
