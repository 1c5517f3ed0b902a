"""Masking personal data in the log: a keyed hash (HMAC-SHA256) under a per-project secret.

A column marked ``mask`` in ``serving.log.personal_data`` is logged as the hex HMAC-SHA256
of each value's text form under a secret key: equal values give equal hashes (rows can
still be joined and counted, and the data owner, who holds the key, can find a person's
rows with :func:`mask_value`), but the value cannot be read back, nor guessed by hashing
candidate values without the key.

The key is kept outside the database, like the checkpoint signing key
(:mod:`rasad.ledger.keys`), first found of:

1. ``RASAD_PREDICTION_LOG_KEY``: the key itself (at least 32 characters);
2. ``RASAD_PREDICTION_LOG_KEY_FILE``: a file holding it;
3. ``.rasad/prediction-log.key`` in the project folder, created on first use (64 random
   hex characters, mode 0600).

Every writer of one project's log must use the same key, or the same value hashes
differently per writer: replicas on several machines get it from a shared secret (1 or
2), not from their own ``.rasad/`` folders.

>>> key = b"k" * 32
>>> mask_text(key, "784-1990-1234567")[:16], len(mask_text(key, "x"))
('de4b10fc61f0cd90', 64)
>>> text_form(123) == text_form(123.0) == "123", text_form(True), text_form(0.5)
(True, 'true', '0.5')
"""

from __future__ import annotations

import hmac
import math
import os
import secrets
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from rasad.config import STATE_DIR
from rasad.errors import ConfigError, InputError

KEY_ENV = "RASAD_PREDICTION_LOG_KEY"
KEY_FILE_ENV = "RASAD_PREDICTION_LOG_KEY_FILE"
KEY_FILE = "prediction-log.key"
"""The key's file name in the project's ``.rasad/`` folder."""
MIN_KEY_CHARS = 32


def masking_key(root: Path, environ: Mapping[str, str], *, create: bool = True) -> bytes:
    """The project's masking key: the variable, the key file, or ``.rasad/prediction-log.key``.

    With ``create``, a missing project key file is made (0600; two processes racing both
    end up with the one that was linked into place first).

    Raises
    ------
    ConfigError
        The key given is shorter than 32 characters, or its file cannot be read.
    InputError
        No key exists and ``create`` is False, or the project folder cannot hold one.
    """
    if environ.get(KEY_ENV):
        return _checked(environ[KEY_ENV], KEY_ENV)
    if environ.get(KEY_FILE_ENV):
        return _read(Path(environ[KEY_FILE_ENV]), KEY_FILE_ENV)
    path = root / STATE_DIR / KEY_FILE
    if path.exists():
        return _read(path, str(path))
    if not create:
        raise InputError(f"There is no masking key ({path} does not exist and neither {KEY_ENV} "
                         f"nor {KEY_FILE_ENV} is set): nothing was masked with one yet.")
    return _create(path)


def _checked(text: str, source: str) -> bytes:
    key = text.strip()
    if len(key) < MIN_KEY_CHARS:
        raise ConfigError(f"{source} holds a masking key of {len(key)} characters; it needs at "
                          f"least {MIN_KEY_CHARS} (make one with `openssl rand -hex 32`).")
    return key.encode("utf-8")


def _read(path: Path, source: str) -> bytes:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"The masking key file {path} ({source}) cannot be read "
                          f"({exc.__class__.__name__}); it must hold the key as text.") from None
    return _checked(text, source)


def _create(path: Path) -> bytes:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise InputError(f"Cannot create the masking key {path} ({exc.strerror or exc}): set "
                         f"{KEY_ENV} (or {KEY_FILE_ENV}) to a secret of at least "
                         f"{MIN_KEY_CHARS} characters, shared by every writer.") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(secrets.token_hex(32) + "\n")
        try:
            os.link(tmp, path)  # never over a key another process made meanwhile
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)
    return _read(path, str(path))


def text_form(value: object) -> str:
    """The text a value is hashed as: strings as given, whole numbers as digits (so 123
    and 123.0 hash alike), booleans as ``true``/``false``, other numbers as Python's repr."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        number = float(value)
        if number.is_integer():
            return str(int(number))
        return repr(number)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def mask_text(key: bytes, text: str) -> str:
    """The hex HMAC-SHA256 of ``text`` under ``key``."""
    return hmac.digest(key, text.encode("utf-8"), "sha256").hex()


def mask_values(key: bytes, values: Iterable[object]) -> list[str | None]:
    """Each value masked; a missing value (None, NaN, NaT) stays missing."""
    return [None if is_missing(v) else mask_text(key, text_form(v)) for v in values]


def is_missing(value: object) -> bool:
    """None, NaN, NaT or ``pd.NA``."""
    if value is None:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    try:
        return bool(value != value)  # NaT  # noqa: PLR0124
    except TypeError:
        return True  # pd.NA refuses bool()
    except ValueError:
        return False  # an array held in one cell
