"""Writing output files whole or not at all, and never over the command's own inputs.

An output is written to a temporary sibling, which is then renamed over the target, so
a reader sees the old file or the new one, never a part. A file being replaced keeps its
permission bits (the temporary file is created with them, so a private file is never
readable by others even while it is written). An output that is the same file as one of
the inputs (the same path, or reached through a symbolic or hard link), or that lies
inside an input folder, is refused before anything is written.
"""

from __future__ import annotations

import os
import stat
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

from rasad.errors import InputError


def check_outputs(outputs: Iterable[Path | None], inputs: Iterable[object] = ()) -> None:
    """Refuse outputs that would overwrite an input, or two outputs naming one file.

    ``inputs`` may hold anything a command was given; only paths that exist are
    considered (a dataset reference such as ``loans@2`` or a DataFrame is skipped).
    Call it before the work starts, so a mistake costs nothing.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> data = folder / "data.csv"
    >>> _ = data.write_text("a\\n1\\n")
    >>> check_outputs([folder / "scores.csv"], inputs=[data, "loans@2"])  # fine
    >>> (folder / "link.csv").symlink_to(data)
    >>> try:
    ...     check_outputs([folder / "link.csv"], inputs=[data])
    ... except InputError as exc:
    ...     print(str(exc).split(": ", 1)[1])
    writing it would destroy the input. Choose another output path.
    """
    existing = [Path(os.fspath(i)) for i in inputs
                if isinstance(i, str | os.PathLike) and _exists(Path(os.fspath(i)))]
    seen: list[Path] = []
    for output in outputs:
        if output is None:
            continue
        for source in existing:
            if _same_file(output, source):
                raise InputError(f"Output {output} is the input {source}: writing it would "
                                 "destroy the input. Choose another output path.")
            if source.is_dir() and _inside(output, source):
                raise InputError(f"Output {output} is inside the input folder {source}; "
                                 "writing it would change the input. Choose a path outside it.")
        for other in seen:
            if _same_file(output, other):
                raise InputError(f"Outputs {other} and {output} are the same file; give each "
                                 "report its own path.")
        seen.append(output)


def write_atomic(path: Path, write: Callable[[Path], object], *,
                 inputs: Iterable[object] = ()) -> None:
    """Call ``write(tmp)`` on a temporary sibling of ``path``, then move it into place.

    A path that cannot be written (a missing or read-only folder, a file where a
    folder should be) is an :class:`InputError` naming it, and so is a path that is
    one of ``inputs`` (see :func:`check_outputs`); no partial file is left. An
    existing file keeps its permission bits.

    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "out" / "report.txt"
    >>> write_atomic(target, lambda tmp: tmp.write_text("ok"))
    >>> target.chmod(0o600)
    >>> write_atomic(target, lambda tmp: tmp.write_text("again"))
    >>> target.read_text(), oct(target.stat().st_mode & 0o777)
    ('again', '0o600')
    >>> sorted(p.name for p in target.parent.iterdir())
    ['report.txt']
    """
    check_outputs([path], inputs)
    mode = _mode(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                         0o666 if mode is None else mode))
    except OSError as exc:
        raise InputError(f"Cannot write {path}: {exc.strerror or exc}. Choose a writable "
                         "file path.") from exc
    try:
        write(tmp)
        if mode is not None:
            os.chmod(tmp, mode)  # exactly the old bits, whatever the umask took away
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str, *, inputs: Iterable[object] = ()) -> None:
    """:func:`write_atomic` for UTF-8 text."""
    write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), inputs=inputs)


def _mode(path: Path) -> int | None:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise InputError(f"Cannot write {path}: {exc.strerror or exc}. Choose a writable "
                         "file path.") from exc


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:
        return False


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)  # one inode: the same path, a symbolic or a hard link
    except OSError:  # one of them does not exist (yet)
        return os.path.realpath(a) == os.path.realpath(b)


def _inside(path: Path, folder: Path) -> bool:
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(folder))
