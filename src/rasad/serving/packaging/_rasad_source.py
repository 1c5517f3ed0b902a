"""Where the image gets rasad itself: the release installed here, or a wheel of its source.

The installed distribution's ``direct_url.json`` (PEP 610) says how it was installed:

- from a folder (``pip install -e .`` or ``pip install .``): its wheel is built with
  ``pip wheel --no-deps`` from a copy of the source files (so nothing is written into the
  checkout) and shipped in ``wheels/``; the copy is the files git tracks or would track
  (``.gitignore`` respected), else the folder without caches, builds and virtual
  environments. Wheels are cached by the digest of those files under
  ``$XDG_CACHE_HOME/rasad/wheels`` (``~/.cache``; the five newest are kept), so packaging
  the same source twice builds once;
- from a local wheel file: that wheel is shipped;
- from a version control URL: that URL at the installed commit;
- from an index (no ``direct_url.json``): ``rasad==VERSION``.
"""

from __future__ import annotations

import email.parser
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from rasad.errors import InputError

_SKIPPED_DIRS = frozenset({"__pycache__", "build", "dist", "node_modules"})
BUILD_TIMEOUT_S = 600.0
CACHE_KEEP = 5
"""Wheels of this many source states are kept (each edit of the checkout is a new one)."""


@dataclass(frozen=True)
class RasadSource:
    """The ``requirements.txt`` line that installs rasad, and what that rasad requires.

    ``wheel`` is the wheel file shipped in ``wheels/`` (the line then names it); ``requires``
    the ``Requires-Dist`` lines of what that line installs.
    """

    line: str
    version: str
    requires: list[str]
    wheel: Path | None = None
    how: str = "index"
    """``index``, ``source`` (a wheel built from a folder), ``wheel`` or ``vcs``."""


def locate(wheels: Path) -> RasadSource:
    """How the rasad running here was installed, as a line the image can install.

    A wheel the line names is copied into the folder ``wheels``.

    Raises
    ------
    InputError
        rasad is not installed as a distribution (run from a bare checkout), or its wheel
        cannot be built.
    """
    dist = running_distribution()
    version = dist.version
    requires = list(dist.requires or [])
    direct = _direct_url(dist)
    if direct is None:
        return RasadSource(line=f"rasad=={version}", version=version, requires=requires)
    url = str(direct.get("url", ""))
    if "dir_info" in direct:
        wheel = build_wheel(_local_path(url), wheels)
        return RasadSource(line=f"./wheels/{wheel.name}", version=version,
                           requires=wheel_requires(wheel), wheel=wheel, how="source")
    if "vcs_info" in direct:
        vcs = direct["vcs_info"]
        line = f"rasad @ {vcs['vcs']}+{url}@{vcs['commit_id']}"
        if direct.get("subdirectory"):
            line += f"#subdirectory={direct['subdirectory']}"
        return RasadSource(line=line, version=version, requires=requires, how="vcs")
    path = _local_path(url) if url.startswith("file:") else None
    if path is not None and path.suffix == ".whl" and path.is_file():
        wheel = _copy_into(path, wheels)
        return RasadSource(line=f"./wheels/{wheel.name}", version=version,
                           requires=wheel_requires(wheel), wheel=wheel, how="wheel")
    return RasadSource(line=f"rasad @ {url}", version=version, requires=requires,
                       how="wheel")


def running_distribution() -> metadata.Distribution:
    """The installed distribution that provides the rasad running here.

    ``sys.path`` may find more than one: a checkout's ``src/`` put first on it (by pytest
    or ``PYTHONPATH``) holds a ``rasad.egg-info`` left by the editable install, without the
    record of how rasad was installed. So the one chosen is, in order: the one whose
    installed files include the running ``rasad/__init__.py``; the one installed from a
    folder (PEP 610) holding it; else the first found.

    Raises
    ------
    InputError
        No rasad distribution is installed.
    """
    # rasad/__init__.py, found from this file (importing `rasad` would load the facade).
    running = Path(__file__).resolve().parents[2] / "__init__.py"
    found = list(metadata.distributions(name="rasad"))
    if not found:
        raise InputError("rasad is not installed as a package here (run from a source "
                         "folder?); install it (pip install -e . in its checkout) so its "
                         "version and dependencies can be pinned for the image.")
    for dist in found:
        if any(Path(str(dist.locate_file(f))).resolve() == running
               for f in dist.files or [] if f.name == "__init__.py"):
            return dist
    for dist in found:
        direct = _direct_url(dist)
        if direct and "dir_info" in direct and running.is_relative_to(
                _local_path(str(direct.get("url", ""))).resolve()):
            return dist
    return found[0]


def _direct_url(dist: metadata.Distribution) -> dict[str, Any] | None:
    text = dist.read_text("direct_url.json")
    if not text:
        return None
    try:
        loaded = json.loads(text)
    except ValueError:
        return None
    return loaded if isinstance(loaded, dict) else None


def _local_path(url: str) -> Path:
    return Path(unquote(urlparse(url).path))


def wheel_requires(wheel: Path) -> list[str]:
    """The ``Requires-Dist`` lines of a wheel's metadata."""
    with zipfile.ZipFile(wheel) as archive:
        name = next((n for n in archive.namelist()
                     if n.endswith(".dist-info/METADATA") and n.count("/") == 1), None)
        if name is None:
            raise InputError(f"{wheel} holds no package metadata; it is not a wheel pip "
                             "can install. Rebuild it.")
        message = email.parser.Parser().parsestr(archive.read(name).decode("utf-8"))
    return list(message.get_all("Requires-Dist") or [])


def source_files(source: Path) -> list[str]:
    """The files of a source folder a wheel is built from, relative and sorted.

    Those git tracks or would track when ``source`` is a git checkout (ignored files left
    out), else every file outside caches, build output and virtual environments.
    """
    if (source / ".git").exists() and shutil.which("git"):
        done = subprocess.run(
            ["git", "-C", str(source), "ls-files", "-z", "--cached", "--others",
             "--exclude-standard"], capture_output=True, check=False, timeout=60)
        if done.returncode == 0:
            names = {n for n in done.stdout.decode("utf-8", "surrogateescape").split("\0") if n}
            return sorted(n for n in names if (source / n).is_file())
    found: list[str] = []
    for folder, dirs, files in os.walk(source):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if not _skipped(here / d))
        found += [str((here / f).relative_to(source)) for f in files]
    return sorted(found)


def _skipped(folder: Path) -> bool:
    name = folder.name
    return (name.startswith(".") or name in _SKIPPED_DIRS or name.endswith(".egg-info")
            or (folder / "pyvenv.cfg").exists())


def _snapshot(source: Path, names: list[str]) -> tuple[str, dict[str, bytes]]:
    """The files' bytes, read once, and their digest: the copy built from is exactly what
    was hashed, even while someone edits the checkout (a file deleted since it was listed
    is left out)."""
    total = hashlib.sha256()
    files: dict[str, bytes] = {}
    for name in names:
        try:
            data = (source / name).read_bytes()
        except FileNotFoundError:
            continue
        files[name] = data
        total.update(name.encode("utf-8", "surrogateescape") + b"\0")
        total.update(hashlib.sha256(data).digest())
    return total.hexdigest(), files


def cache_dir() -> Path:
    """Where built wheels are kept: ``$XDG_CACHE_HOME/rasad/wheels`` (``~/.cache`` default)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rasad" / "wheels"


def build_wheel(source: Path, into: Path) -> Path:
    """A wheel of the rasad source in ``source``, copied into ``into``; built once per
    content of the source files (see the module).

    Raises
    ------
    InputError
        ``source`` is gone, or ``pip wheel`` fails (its last lines are in the message).
    """
    if not (source / "pyproject.toml").is_file() and not (source / "setup.py").is_file():
        raise InputError(f"rasad is installed from {source}, which holds no pyproject.toml "
                         "any more; reinstall rasad (pip install -e SOURCE, or from a wheel).")
    digest, files = _snapshot(source, source_files(source))
    cached = cache_dir() / digest
    found = sorted(cached.glob("rasad-*.whl")) if cached.is_dir() else []
    if not found:
        with tempfile.TemporaryDirectory(prefix="rasad-wheel-") as tmp:
            copy = Path(tmp) / "src"
            for name, data in files.items():
                target = copy / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            built = Path(tmp) / "wheels"
            _pip_wheel(copy, built, source)
            wheels = sorted(built.glob("rasad-*.whl"))
            if len(wheels) != 1:
                raise InputError(f"Building rasad from {source} gave no rasad wheel; check "
                                 "its pyproject.toml.")
            _cache(wheels[0], cached)
            return _copy_into(wheels[0], into)
    return _copy_into(found[0], into)


def _copy_into(wheel: Path, into: Path) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy2(wheel, into / wheel.name))


def _pip_wheel(copy: Path, out: Path, source: Path) -> None:
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
               "--wheel-dir", str(out), str(copy)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False,
                              timeout=BUILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise InputError(f"Building rasad's wheel from {source} took more than "
                         f"{BUILD_TIMEOUT_S:.0f} s; build it yourself (pip wheel --no-deps "
                         f"{source}), install that wheel, and package again.") from None
    if done.returncode != 0:
        tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        raise InputError(f"Building rasad's wheel from {source} failed ({tail}); fix the "
                         "build, or install rasad from a wheel, and package again.")


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # removed by a concurrent prune
        return 0.0


def _cache(wheel: Path, cached: Path) -> None:
    """Keep a fresh wheel for the next build of the same source, and only the
    :data:`CACHE_KEEP` newest; no usable cache is no error."""
    staging = cached.with_name(f".{cached.name}.{uuid.uuid4().hex}.tmp")
    try:
        staging.mkdir(parents=True)
        shutil.copy2(wheel, staging / wheel.name)
        os.rename(staging, cached)  # whole or not at all; a concurrent build may win
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        return
    entries = [p for p in cached.parent.iterdir() if not p.name.startswith(".")]
    entries.sort(key=_mtime, reverse=True)
    for old in entries[CACHE_KEEP:]:
        shutil.rmtree(old, ignore_errors=True)


__all__ = ["RasadSource", "build_wheel", "cache_dir", "locate", "running_distribution",
           "source_files",
           "wheel_requires"]
