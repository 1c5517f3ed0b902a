"""Builders shared by the ``rasad package`` tests: real projects with deployed models, and
the checks a package folder must pass (run the CLI in-process, read what was written).

Nothing of rasad is mocked: models are trained, registered and promoted through the
public API, and ``rasad package`` runs as a user runs it.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from rasad import Project
from tests.registry._helpers import registered, train

cli_app = importlib.import_module("rasad.cli.app")  # the module; rasad.cli.app is the Typer app
PACKAGE_ENTRY = cli_app.Entry(
    "package", "rasad.cli.package_cmd", "package",
    "Write a Dockerfile and Kubernetes manifests that run `rasad serve` for an environment.")
"""The COMMANDS row of `rasad package` (src/rasad/cli/app.py)."""

LIGHTGBM = "lightgbm.LGBMClassifier"
LIGHTGBM_PARAMS: dict[str, Any] = {"n_estimators": 5, "verbose": -1}
HADOLINT = Path(sys.executable).with_name("hadolint")


def with_package_command(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make sure `rasad package` is among the CLI's commands (its COMMANDS row is added to
    app.py by the maintainers; until then the tests add it the same way)."""
    if not any(entry.name == "package" for entry in cli_app.COMMANDS):
        monkeypatch.setattr(cli_app, "COMMANDS", (*cli_app.COMMANDS, PACKAGE_ENTRY))


def deployed(project: Project, env: str = "dev") -> Project:
    """``project`` with ``credit@1`` (a logistic regression) serving ``env``."""
    registered(project)
    project.promote("credit", 1, env)
    return project


def lightgbm_version(project: Project, name: str) -> int:
    """Register a LightGBM run as the next version of ``name``; its number."""
    run = train(project, estimator=LIGHTGBM, params=LIGHTGBM_PARAMS)
    return project.register(run.id, name).version


def files_of(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative, ``/``-separated) with its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifests(folder: Path) -> dict[str, dict[str, Any]]:
    """The YAML documents under ``folder/k8s`` by file name (one document per file)."""
    out = {}
    for path in sorted((folder / "k8s").glob("*.yaml")):
        documents = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
        assert len(documents) == 1, f"{path.name} holds {len(documents)} documents"
        out[path.name] = documents[0]
    return out


def requirement_lines(folder: Path) -> list[str]:
    """The requirement lines of ``requirements.txt`` (comments and blank lines left out)."""
    text = (folder / "requirements.txt").read_text(encoding="utf-8")
    return [line.split("  #")[0].strip() for line in text.splitlines()
            if line.strip() and not line.startswith("#")]


def pinned(folder: Path) -> dict[str, str]:
    """``name -> version`` of the ``==`` lines, names lowercased."""
    pins = {}
    for line in requirement_lines(folder):
        if "==" in line:
            name, version = line.split("==")
            pins[name.lower()] = version
    return pins


def hadolint(dockerfile: Path) -> list[dict[str, Any]]:
    """hadolint's findings on ``dockerfile``, every level down to style, no pragma obeyed,
    no configuration file read (an empty one is given)."""
    empty = dockerfile.parent.parent / "hadolint-empty.yaml"
    empty.write_text("{}\n", encoding="utf-8")
    done = subprocess.run(
        [str(HADOLINT), "--config", str(empty), "--format", "json", "--no-fail",
         "--disable-ignore-pragma", "--failure-threshold", "style", str(dockerfile)],
        capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    findings: list[dict[str, Any]] = json.loads(done.stdout or "[]")
    return findings


__all__ = ["HADOLINT", "LIGHTGBM", "LIGHTGBM_PARAMS", "PACKAGE_ENTRY", "deployed", "files_of",
           "hadolint", "lightgbm_version", "manifests", "pinned", "requirement_lines", "sha256",
           "with_package_command"]
