"""docs/packaging.md: its Python example runs and prints what it says, and its table of
options is the command's options."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import typer

from rasad.cli.package_cmd import package

DOCS = Path(__file__).resolve().parents[2] / "docs" / "packaging.md"


def test_the_python_example_prints_what_the_page_says() -> None:
    (block,) = re.findall(r"```python\n(.*?)```", DOCS.read_text(), flags=re.S)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(block, str(DOCS), "exec"), {})  # noqa: S102
    expected = [line.removeprefix("# ") for line in block.splitlines() if line.startswith("# ")]
    assert printed.getvalue().splitlines() == expected


def test_the_options_table_lists_every_option() -> None:
    command = typer.main.get_command(_host())
    text = DOCS.read_text()
    documented = set(re.findall(r"^\| `(--[\w-]+)", text, flags=re.M))
    documented |= set(re.findall(r"^\| `-\w`, `(--[\w-]+)", text, flags=re.M))
    options = {opt for param in command.params for opt in param.opts if opt.startswith("--")}
    assert options == documented


def _host() -> typer.Typer:
    host = typer.Typer(add_completion=False)
    host.command()(package)
    return host
