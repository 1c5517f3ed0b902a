"""Where the image gets rasad from: the way the running rasad was installed (PEP 610's
``direct_url.json``), read from real distribution metadata placed first on ``sys.path``."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest

import rasad
from rasad import Project
from rasad.serving.packaging import _rasad_source
from tests.serving._package_helpers import deployed, requirement_lines

METADATA = ("Metadata-Version: 2.1\nName: rasad\nVersion: 9.9.0\n"
            "Requires-Dist: numpy>=1.0\n"
            "Requires-Dist: fastapi>=0.100; extra == \"serve\"\n"
            "Requires-Dist: pytest>=8; extra == \"test\"\n")


def _installed(folder: Path, monkeypatch: pytest.MonkeyPatch,
               direct_url: dict[str, object] | None) -> None:
    """A rasad 9.9.0 installed in ``folder``, found before the real one, whose record holds
    the running ``rasad/__init__.py`` (as an install from that source would)."""
    info = folder / "rasad-9.9.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(METADATA)
    running = os.path.relpath(Path(rasad.__file__).resolve(), folder)
    (info / "RECORD").write_text(f"{running},,\nrasad-9.9.0.dist-info/METADATA,,\n")
    if direct_url is not None:
        (info / "direct_url.json").write_text(json.dumps(direct_url))
    monkeypatch.syspath_prepend(str(folder))


def test_from_an_index_rasad_is_pinned_and_no_wheel_ships(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    with Project.init(tmp_path / "proj", name="credit") as project:
        deployed(project)
        _installed(tmp_path / "site", monkeypatch, None)
        result = project.package("dev", tmp_path / "out")
    assert result.rasad == "rasad==9.9.0"
    lines = requirement_lines(tmp_path / "out")
    assert lines[0] == "rasad==9.9.0"
    # Its requirements are the installed metadata's, with the serve extra, not the test one.
    names = {line.split("==")[0].lower() for line in lines[1:]}
    assert {"numpy", "fastapi", "starlette"} <= names and "pytest" not in names
    assert not (tmp_path / "out" / "wheels").exists()
    dockerfile = (tmp_path / "out" / "Dockerfile").read_text()
    assert "wheels" not in dockerfile and "wheels" not in (tmp_path / "out" / ".dockerignore"
                                                           ).read_text()


def test_from_version_control_the_url_at_the_installed_commit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _installed(tmp_path / "site", monkeypatch, {
        "url": "https://git.example/ml/rasad.git", "subdirectory": "python",
        "vcs_info": {"vcs": "git", "commit_id": "4f1c2d", "requested_revision": "main"}})
    source = _rasad_source.locate(tmp_path / "wheels")
    assert source.line == "rasad @ git+https://git.example/ml/rasad.git@4f1c2d#subdirectory=python"
    assert source.wheel is None and source.how == "vcs"
    assert "numpy>=1.0" in source.requires


def test_from_a_wheel_file_that_wheel_ships(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    wheel = tmp_path / "dist" / "rasad-9.9.0-py3-none-any.whl"
    wheel.parent.mkdir()
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("rasad-9.9.0.dist-info/METADATA", METADATA + "Requires-Dist: scipy\n")
    _installed(tmp_path / "site", monkeypatch, {"url": wheel.as_uri(), "archive_info": {}})
    source = _rasad_source.locate(tmp_path / "wheels")
    assert source.line == "./wheels/rasad-9.9.0-py3-none-any.whl"
    assert source.wheel == tmp_path / "wheels" / wheel.name and source.wheel.is_file()
    assert source.requires[-1] == "scipy"  # read from the wheel, not from the install


def test_a_source_folder_is_copied_without_caches_builds_or_environments(
        tmp_path: Path) -> None:
    source = tmp_path / "checkout"
    for name in ("pyproject.toml", "src/pkg/__init__.py", "src/pkg/data/table.csv",
                 "src/pkg/__pycache__/x.pyc", "build/lib/pkg/__init__.py", "dist/pkg.whl",
                 ".tox/x", "src/pkg.egg-info/PKG-INFO", "venv/pyvenv.cfg", "venv/lib/x.py",
                 "node_modules/y.js"):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text("x")
    assert _rasad_source.source_files(source) == [
        "pyproject.toml", "src/pkg/__init__.py", "src/pkg/data/table.csv"]


def test_the_distribution_is_the_one_that_provides_the_running_rasad(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A checkout's src/ first on sys.path (pytest does it for doctests under src/) holds
    # the editable install's egg-info, which does not say how rasad was installed; the
    # record that does is found anyway, and so is the source folder.
    root = Path(rasad.__file__).resolve().parents[2]
    monkeypatch.syspath_prepend(str(root / "src"))
    assert _rasad_source.running_distribution().read_text("direct_url.json")
    # An unrelated rasad first on sys.path (its files are elsewhere) is passed over too.
    info = tmp_path / "rasad-0.0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: rasad\nVersion: 0.0.1\n")
    (info / "RECORD").write_text("rasad/__init__.py,,\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _rasad_source.running_distribution().version != "0.0.1"


def test_the_checkout_s_files_are_what_git_would_commit() -> None:
    root = Path(__file__).resolve().parents[2]
    files = _rasad_source.source_files(root)
    assert "pyproject.toml" in files and "src/rasad/serving/packaging/service.py" in files
    assert not [f for f in files if f.startswith((".venv/", ".git/")) or "__pycache__" in f]


def test_a_built_wheel_is_reused_for_the_same_source(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    source = tmp_path / "checkout"
    (source / "src" / "rasad").mkdir(parents=True)
    (source / "src" / "rasad" / "__init__.py").write_text("VERSION = 1\n")
    (source / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=69"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "rasad"\nversion = "9.9.1"\ndependencies = ["numpy>=1.0"]\n'
        '[tool.setuptools.packages.find]\nwhere = ["src"]\n')
    first = _rasad_source.build_wheel(source, tmp_path / "a")
    assert first.name == "rasad-9.9.1-py3-none-any.whl"
    assert _rasad_source.wheel_requires(first) == ["numpy>=1.0"]
    with zipfile.ZipFile(first) as archive:
        assert archive.read("rasad/__init__.py") == b"VERSION = 1\n"
    assert not [p for p in source.rglob("*") if "egg-info" in p.name or p.name == "build"]
    cached = list((tmp_path / "cache" / "rasad" / "wheels").glob("*/rasad-*.whl"))
    assert len(cached) == 1
    second = _rasad_source.build_wheel(source, tmp_path / "b")  # no build: the same bytes
    assert second.read_bytes() == first.read_bytes() == cached[0].read_bytes()
    # Another content is another key (so it would be built again).
    before, _ = _rasad_source._snapshot(source, _rasad_source.source_files(source))
    (source / "src" / "rasad" / "__init__.py").write_text("VERSION = 2\n")
    after, files = _rasad_source._snapshot(source, _rasad_source.source_files(source))
    assert before != after and cached[0].parent.name == before
    assert files["src/rasad/__init__.py"] == b"VERSION = 2\n"


def test_a_failing_build_is_an_input_error_with_pip_s_words(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rasad.errors import InputError

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    source = tmp_path / "checkout"
    source.mkdir()
    (source / "pyproject.toml").write_text("[project\nname = \n")
    with pytest.raises(InputError, match="Building rasad's wheel from .* failed"):
        _rasad_source.build_wheel(source, tmp_path / "wheels")
    assert not (tmp_path / "wheels").exists()
    assert not list((tmp_path / "cache").rglob("*.whl"))


def test_the_cache_keeps_the_newest_wheels_only(tmp_path: Path) -> None:
    import os

    cache = tmp_path / "cache" / "rasad" / "wheels"
    for i in range(_rasad_source.CACHE_KEEP + 2):
        (cache / f"old{i}").mkdir(parents=True)
        os.utime(cache / f"old{i}", (1000 + i, 1000 + i))
    wheel = tmp_path / "rasad-1.0-py3-none-any.whl"
    wheel.write_bytes(b"wheel")
    _rasad_source._cache(wheel, cache / "new")
    kept = sorted(p.name for p in cache.iterdir())
    assert kept == sorted(["new", *(f"old{i}" for i in range(3, _rasad_source.CACHE_KEEP + 2))])
    assert (cache / "new" / wheel.name).read_bytes() == b"wheel"
