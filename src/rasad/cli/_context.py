"""What every command shares: the project location and the debug flag."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from rasad.project import Project


@dataclass
class State:
    project_dir: Path | None = None
    debug: bool = False
    opened: list[Project] = field(default_factory=list, repr=False)

    def project(self, *, check: bool = True) -> Project:
        # Imported here, not above: `rasad --help` must not load the database layer.
        from rasad.identity import current_actor
        from rasad.project import Project

        # An actor name that cannot be recorded is refused before any command does work.
        current_actor()
        project = Project.open(self.project_dir, check=check)
        self.opened.append(project)
        return project

    def close(self) -> None:
        """Dispose the engines of every project a command opened."""
        while self.opened:
            self.opened.pop().close()


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    if not isinstance(obj, State):
        obj = State()
        ctx.find_root().obj = obj
    return obj
