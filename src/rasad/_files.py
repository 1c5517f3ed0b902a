"""Writing output files whole or not at all: a temporary sibling, then a rename."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path

from rasad.errors import InputError


def write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """Call ``write(tmp)`` on a temporary sibling of ``path``, then move it into place.

    A path that cannot be written (a missing or read-only folder, a file where a
    folder should be) is an :class:`InputError` naming it; no partial file is left.

    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "out" / "report.txt"
    >>> write_atomic(target, lambda tmp: tmp.write_text("ok"))
    >>> target.read_text(), sorted(p.name for p in target.parent.iterdir())
    ('ok', ['report.txt'])
    """
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.touch()
    except OSError as exc:
        raise InputError(f"Cannot write {path}: {exc.strerror or exc}. Choose a writable "
                         "file path.") from exc
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str) -> None:
    """:func:`write_atomic` for UTF-8 text."""
    write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
