"""What every command shares: the project location and the debug flag."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import typer

from rasad.project import Project


@dataclass
class State:
    project_dir: Path | None = None
    debug: bool = False

    def project(self, *, check: bool = True) -> Project:
        return Project.open(self.project_dir, check=check)


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    if not isinstance(obj, State):
        obj = State()
        ctx.find_root().obj = obj
    return obj
