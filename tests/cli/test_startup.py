"""A fast start: `rasad --help` and `import rasad.cli` load no command and no heavy library.

The CLI lists its commands from the static table in ``rasad.cli.app.COMMANDS`` and imports
a command's module only when that command runs. What each start loads is checked in a
fresh process; timings are left to ``benchmarks/startup.py`` (a busy machine makes any
time limit flaky).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rasad.cli import run
from rasad.cli.app import COMMANDS, Entry, LazyGroup

HEAVY = {"pandas", "numpy", "sqlalchemy", "sklearn", "scipy", "pyarrow", "alembic",
         "rasad.project", "rasad.store", "rasad.ledger"}
"""Nothing here may load before a command that needs it runs."""
COMMAND_MODULES = {entry.module for entry in COMMANDS}


def loaded_by(*argv: str) -> tuple[set[str], str]:
    """The modules a fresh process has loaded after ``rasad ARGV`` (run in-process there),
    and what it printed on stdout."""
    code = ("import json, sys\nfrom rasad.cli import run\n"
            f"code = run({list(argv)!r})\n"
            "sys.stderr.write('\\nMODULES ' + json.dumps(sorted(sys.modules)) + '\\n')\n"
            "sys.exit(code)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"}, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    modules = json.loads(done.stderr.rsplit("MODULES ", 1)[1])
    return set(modules), done.stdout


def heavy(modules: set[str]) -> set[str]:
    return {m for m in modules if m.split(".")[0] in HEAVY or m in HEAVY
            or any(m.startswith(h + ".") for h in HEAVY)}


def test_import_rasad_cli_loads_no_command_and_nothing_heavy() -> None:
    done = subprocess.run([sys.executable, "-c", "import json, sys, rasad.cli\n"
                           "print(json.dumps(sorted(sys.modules)))"],
                          capture_output=True, text=True, timeout=120, check=True)
    modules = set(json.loads(done.stdout))
    assert "rasad.cli.app" in modules  # the probe sees what it should
    assert heavy(modules) == set()
    assert modules & COMMAND_MODULES == set()


def test_rasad_help_lists_every_command_without_loading_one() -> None:
    modules, out = loaded_by("--help")
    assert heavy(modules) == set()
    assert modules & COMMAND_MODULES == set()
    listed = re.findall(r"^│ (\S+) +(.+?) +│$", out, flags=re.M)
    names = [name for name, _ in listed if not name.startswith("-")]
    assert names == [entry.name for entry in COMMANDS]
    for entry in COMMANDS:  # at 200 columns every one-line help fits on its line
        assert f"│ {entry.name:<11}  {entry.help}" in out, entry.name


@pytest.mark.parametrize(("argv", "module"), [
    (("data", "--help"), "rasad.cli.data"),
    (("runs", "list", "--help"), "rasad.cli.runs"),
    (("models", "history", "--help"), "rasad.cli.models"),
    (("promote", "--help"), "rasad.cli.models"),
    (("audit", "--help"), "rasad.cli.audit"),
    (("db", "status", "--help"), "rasad.cli.project_cmds"),
    (("demo", "--help"), "rasad.cli.demo_cmd"),
])
def test_a_commands_help_loads_that_command_only(argv: tuple[str, ...], module: str) -> None:
    modules, out = loaded_by(*argv)
    assert f"Usage: rasad {' '.join(a for a in argv if a != '--help')}" in out
    assert modules & COMMAND_MODULES == {module}
    # These commands import their services when they run, not to show their help.
    assert heavy(modules) == set()


def _first_paragraph(text: str | None) -> str:
    return " ".join((text or "").split("\n\n")[0].split())


@pytest.mark.parametrize("entry", COMMANDS, ids=[e.name for e in COMMANDS])
def test_the_table_matches_each_commands_own_help(entry: Entry) -> None:
    command = entry.load()
    assert command.name == entry.name
    # `rasad --help` shows the table's line; `rasad NAME --help` the command's docstring.
    assert _first_paragraph(command.help) == entry.help, (
        f"Update the help of {entry.name!r} in rasad.cli.app.COMMANDS to the first "
        f"paragraph of {entry.module}.{entry.attribute}'s help.")


def test_command_names_are_unique() -> None:
    names = [entry.name for entry in COMMANDS]
    assert len(names) == len(set(names))


def test_a_resolved_command_replaces_its_placeholder(capsys: pytest.CaptureFixture[str]) -> None:
    group = LazyGroup(name="rasad")
    before = group.commands["runs"]
    assert type(before).__name__ == "_Placeholder"
    ctx = group.make_context("rasad", ["runs", "list"], resilient_parsing=True)
    name, command, rest = group.resolve_command(ctx, ["runs", "list"])
    assert (name, rest) == ("runs", ["list"])
    assert group.commands["runs"] is command is not before
    assert sorted(command.commands) == ["compare", "list", "show"]  # type: ignore[attr-defined]


def test_an_unknown_command_suggests_the_nearest(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["modles", "list"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: No such command 'modles'. Did you mean 'models'?")
    assert "See `rasad --help`." in err


def test_the_console_script_starts(tmp_path: Path) -> None:
    rasad = Path(sys.executable).parent / "rasad"
    done = subprocess.run([str(rasad), "--help"], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert "MLOps automation with governance built in." in done.stdout


def test_rasad_alone_shows_the_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run([]) == 2
    assert "Usage: rasad [OPTIONS] COMMAND [ARGS]..." in capsys.readouterr().out
    assert run(["--help"]) == 0
