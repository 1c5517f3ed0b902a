"""What every command shares: the project location and the debug flag.

With ``RASAD_URL`` set, commands run against that server (``RASAD_TOKEN`` holds the API
token) instead of a local project: see docs/api.md, "Remote mode".
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final, cast

import typer

if TYPE_CHECKING:
    from rasad.project import Project
    from rasad.remote import RemoteProject

URL_ENV: Final = "RASAD_URL"
TOKEN_ENV: Final = "RASAD_TOKEN"


@dataclass
class State:
    project_dir: Path | None = None
    debug: bool = False
    opened: list[Project | RemoteProject] = field(default_factory=list, repr=False)

    def project(self, *, check: bool = True) -> Project:
        url = os.environ.get(URL_ENV, "").strip()
        if url:
            # A RemoteProject has the Project verbs the API serves, with the same
            # signatures and results; any other verb raises InputError saying it is not
            # available over the server, so a command that needs one fails cleanly (exit 2).
            return cast("Project", self.remote(url))
        # Imported here, not above: `rasad --help` must not load the database layer.
        from rasad.identity import current_actor
        from rasad.project import Project

        # An actor name that cannot be recorded is refused before any command does work.
        current_actor()
        project = Project.open(self.project_dir, check=check)
        self.opened.append(project)
        return project

    def remote(self, url: str) -> RemoteProject:
        """The project the server at ``url`` serves, as ``RASAD_TOKEN``'s principal."""
        from rasad.errors import InputError
        from rasad.remote import RemoteProject

        if self.project_dir is not None:
            raise InputError(f"Both --project ({self.project_dir}) and {URL_ENV} ({url}) name "
                             f"a project: drop --project to use the server, or unset "
                             f"{URL_ENV} to use the folder.")
        token = os.environ.get(TOKEN_ENV, "").strip()
        if not token:
            raise InputError(f"{URL_ENV} is set ({url}) but {TOKEN_ENV} is not: set "
                             f"{TOKEN_ENV} to an API token for that server (an admin creates "
                             f"one with `rasad tokens create NAME`), or unset {URL_ENV} to "
                             "use a local project.")
        remote = RemoteProject(url, token)
        self.opened.append(remote)
        return remote

    def close(self) -> None:
        """Dispose the engines (or connections) of every project a command opened."""
        while self.opened:
            self.opened.pop().close()


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    if not isinstance(obj, State):
        obj = State()
        ctx.find_root().obj = obj
    return obj
