"""The layers hold: contracts kept, no cycles, light imports, the documented example runs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    if not lint.exists():
        pytest.skip("import-linter is not installed in this environment")
    done = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "0 broken" in done.stdout


def test_the_contracts_cover_every_top_level_package() -> None:
    # A new package must be placed in a layer on purpose, not slip past the contracts.
    text = (ROOT / ".importlinter").read_text()
    facade_sources = re.search(r"contract:facade\].*?source_modules =\n(.*?)forbidden",
                               text, flags=re.S)
    assert facade_sources is not None
    listed = set(facade_sources.group(1).split())
    packages = {f"rasad.{p.stem if p.is_file() else p.name}"
                for p in (ROOT / "src" / "rasad").iterdir()
                if (p.suffix == ".py" and p.stem != "__init__")
                or (p.is_dir() and (p / "__init__.py").exists())}
    doors = {"rasad.project", "rasad.api", "rasad.cli", "rasad.demo", "rasad.demo_loop"}
    assert packages - doors - listed == set()


def _loaded(code: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", f"{code}\nimport sys\n"
                           "print('\\n'.join(sorted(sys.modules)))"],
                          capture_output=True, text=True, check=True)
    return set(done.stdout.split())


def test_import_rasad_loads_no_database_or_ledger() -> None:
    loaded = _loaded("import rasad")
    assert not {"sqlalchemy", "alembic", "rasad.ledger", "rasad.store", "rasad.project",
                "pandas"} & loaded


def test_project_still_comes_from_the_package_root() -> None:
    import rasad
    from rasad.project import Project

    assert rasad.Project is Project
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        rasad.Nope  # noqa: B018


def test_the_documented_example_runs() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text()
    (block,) = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    exec(compile(block, "docs/architecture.md", "exec"), {})
