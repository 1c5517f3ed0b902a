"""The output folder, written whole or not at all.

Everything is written into a staging folder beside the target (same filesystem, so the
final step is a rename); only when every file is written and checked does the staging
folder take the target's name. Until then the target is untouched; on any failure the
staging folder, and any parent folder created for it, is removed.

The target must be new or empty. ``force`` also replaces a folder an earlier ``rasad
package`` wrote (it holds :data:`MARKER`), never any other folder: ``-o ~ --force`` must
not delete a home directory. A replaced folder is moved aside, the new one moved in, and
the old one deleted after the audit event is committed (put back if anything fails);
between the two renames the target briefly does not exist.
"""

from __future__ import annotations

import errno
import os
import shutil
import uuid
from pathlib import Path
from types import TracebackType

from rasad.errors import InputError

MARKER = "rasad-package.json"
"""The file every package folder holds: what was packaged (the result's JSON)."""


def _inside(path: Path, folder: Path) -> bool:
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(folder))


def check_target(out: Path, *, force: bool, protected: list[Path]) -> None:
    """Refuse a target that is a file, a non-empty folder (without ``force``), a folder
    ``rasad package`` did not write, or one that is, holds or lies in a ``protected``
    folder (the project's configuration and state). Nothing is written."""
    for folder in protected:
        if _inside(folder, out) or _inside(out, folder):
            raise InputError(f"Output folder {out} would overlap the project's own files "
                             f"({folder}); choose a folder of its own, such as "
                             f"{folder.parent / 'deploy'}.")
    if out.is_symlink() and not out.is_dir():
        raise InputError(f"Output {out} is a broken symbolic link; remove it or choose "
                         "another folder.")
    if out.exists() and not out.is_dir():
        raise InputError(f"Output {out} is a file; give a folder (new or empty), such as "
                         f"{out.parent / 'deploy'}.")
    if not out.is_dir() or not any(out.iterdir()):
        return
    if not force:
        raise InputError(f"Output folder {out} is not empty; choose a new or empty folder, "
                         "or pass --force to replace a folder `rasad package` wrote before.")
    if not (out / MARKER).is_file():
        raise InputError(f"Output folder {out} holds files `rasad package` did not write (it "
                         f"has no {MARKER}); --force replaces only an earlier package. "
                         "Choose another folder, or empty this one yourself.")


class Staging:
    """A staging folder beside ``out`` that becomes ``out`` on :meth:`commit`.

    Use it as a context manager: leaving it with an exception undoes everything (the
    staging folder, a committed ``out`` and the parents created are removed, a replaced
    folder is put back); leaving it normally deletes the replaced folder.
    """

    def __init__(self, out: Path) -> None:
        self.out = out
        self.path = out.parent / f".{out.name}.{uuid.uuid4().hex[:12]}.tmp"
        self._backup: Path | None = None
        self._committed = False
        self._created: list[Path] = []

    def __enter__(self) -> Staging:
        missing = [p for p in (self.out.parent, *self.out.parent.parents) if not p.exists()]
        try:
            for folder in reversed(missing):
                folder.mkdir()
                self._created.append(folder)
            self.path.mkdir()
        except OSError as exc:
            self._remove_created()
            raise InputError(f"Cannot write {self.out}: {exc.strerror or exc}. Choose a "
                             "writable folder.") from exc
        return self

    def commit(self, *, force: bool) -> None:
        """Move the staging folder to ``out``.

        A new or empty ``out`` is replaced in one rename, which the kernel refuses if
        something was put into ``out`` since it was checked. Only with ``force``, and only
        if ``out`` is an earlier package, is it moved aside first.

        Raises
        ------
        InputError
            ``out`` is no longer new or empty (and may not be replaced).
        """
        try:
            os.rename(self.path, self.out)
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST) or not force \
                    or not (self.out / MARKER).is_file():
                raise InputError(f"Cannot put the package at {self.out} ({exc.strerror}): "
                                 "something else was written there meanwhile. Choose a new "
                                 "or empty folder.") from None
            backup = self.out.parent / f".{self.out.name}.{uuid.uuid4().hex[:12]}.old"
            os.rename(self.out, backup)
            self._backup = backup
            os.rename(self.path, self.out)
        self._committed = True

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if kind is None:
            if self._backup is not None:
                _remove(self._backup)
            return
        if self._committed:
            _remove(self.out)
        if self._backup is not None:
            os.rename(self._backup, self.out)
        _remove(self.path)
        self._remove_created()

    def _remove_created(self) -> None:
        for folder in reversed(self._created):
            try:
                folder.rmdir()
            except OSError:  # something else was put there meanwhile: leave it
                break


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path, ignore_errors=True)


__all__ = ["MARKER", "Staging", "check_target"]
