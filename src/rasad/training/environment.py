"""The reproducibility record of a run: Python, platform, package versions, git state."""

from __future__ import annotations

import functools
import os
import platform
import socket
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

CORE_PACKAGES = ("rasad", "numpy", "pandas", "pyarrow", "scikit-learn", "scipy", "skops")


def package_versions(extra: tuple[str, ...] = ()) -> dict[str, str]:
    """Installed versions of rasad's core packages and ``extra`` distributions."""
    versions = {}
    for name in (*CORE_PACKAGES, *extra):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def capture_environment(extra: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "executable": sys.executable,
        "packages": package_versions(extra),
    }


def git_state(folder: Path) -> dict[str, Any]:
    """The git commit and dirty flag of the checkout holding ``folder``; {} outside git."""
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True,
                                  text=True, timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if not commit:
        return {}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"git_commit": commit, "git_dirty": bool(status), "git_branch":
            git("rev-parse", "--abbrev-ref", "HEAD")}


@dataclass(frozen=True)
class RunOrigin:
    """Where a run executes: its reproducibility record and its process.

    ``environment`` is :func:`capture_environment`'s record and ``code_version``
    :func:`git_state`'s; ``host`` and ``pid`` name the process, which
    :func:`rasad.training.run.reconcile` checks to find runs whose process died.
    A local run executes here; a run tracked through the management API executes
    on the client, which sends its own origin.
    """

    environment: dict[str, Any]
    code_version: dict[str, Any]
    host: str
    pid: int

    @classmethod
    def here(cls, folder: Path, extra: tuple[str, ...] = ()) -> RunOrigin:
        """This process, with the git state of the checkout holding ``folder``."""
        return cls(capture_environment(extra), git_state(folder), socket.gethostname(),
                   os.getpid())


def distribution_of(obj: object) -> str | None:
    """The installed distribution that provides ``obj``'s class (e.g. 'lightgbm')."""
    top = type(obj).__module__.split(".")[0]
    names = _distributions().get(top)
    return names[0] if names else None


@functools.cache
def _distributions() -> dict[str, list[str]]:
    # Scanning every installed distribution takes a few hundred milliseconds: do it once.
    return dict(metadata.packages_distributions())
