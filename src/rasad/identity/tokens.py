"""API token strings: how they are made, parsed and checked. Pure; no database.

A token is ``rsd_<id>_<secret>``: a public id (16 hex characters) that finds the stored
row, and a secret of 32 random bytes from :mod:`secrets` (43 URL-safe characters) that
only its holder knows. The database keeps the SHA-256 of the secret, never the secret.

>>> token = new_token()
>>> parsed = parse_token(token.text)
>>> parsed.id == token.id, secret_matches(parsed.secret, token.secret_sha256)
(True, True)
>>> parse_token("rsd_nothex_abc")
Traceback (most recent call last):
...
rasad.identity.tokens.InvalidToken: That is not a rasad API token: tokens look like \
rsd_<16 hex characters>_<43 characters>. Copy the whole token `rasad tokens create` printed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

from rasad.errors import InputError, PermissionDenied

PREFIX: Final = "rsd"
ID_BYTES: Final = 8
SECRET_BYTES: Final = 32
TOKEN_PATTERN: Final = re.compile(r"^rsd_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
DEFAULT_LIFETIME: Final = timedelta(days=90)
"""How long a token lives unless its creator says otherwise."""
TIME_FORMAT: Final = "%Y-%m-%dT%H:%M:%S.%fZ"  # the store's time text (rasad.ledger.utc_now)

_UNITS: Final = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1),
                 "w": timedelta(weeks=1)}


class InvalidToken(PermissionDenied):
    """A token that does not authenticate: malformed, unknown, wrong secret, expired,
    revoked, or its principal disabled (401 over HTTP, exit 2 on the CLI)."""


@dataclass(frozen=True)
class NewToken:
    """A freshly made token: its full text (shown once) and what is stored of it."""

    id: str
    text: str = field(repr=False)
    secret_sha256: str


@dataclass(frozen=True)
class ParsedToken:
    """A token string split into its public id and its secret."""

    id: str
    secret: str = field(repr=False)


def hash_secret(secret: str) -> str:
    """The SHA-256 of a token secret, as stored.

    A fast hash is right here, unlike for passwords: the secret is 256 random bits, so
    no guessing attack is possible however fast each guess is, while a deliberately slow
    hash (bcrypt, scrypt, Argon2) would add its cost to every authenticated API request.
    """
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def new_token() -> NewToken:
    """Make a token from the operating system's secure random source."""
    token_id = secrets.token_hex(ID_BYTES)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    return NewToken(id=token_id, text=f"{PREFIX}_{token_id}_{secret}",
                    secret_sha256=hash_secret(secret))


def parse_token(text: str) -> ParsedToken:
    """Split ``rsd_<id>_<secret>``; refuse anything else before the database is asked."""
    match = TOKEN_PATTERN.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise InvalidToken(
            "That is not a rasad API token: tokens look like rsd_<16 hex characters>_<43 "
            "characters>. Copy the whole token `rasad tokens create` printed.")
    return ParsedToken(id=match.group(1), secret=match.group(2))


def secret_matches(secret: str, stored_sha256: str) -> bool:
    """Whether ``secret`` hashes to ``stored_sha256``, compared in constant time."""
    return hmac.compare_digest(hash_secret(secret), stored_sha256)


def parse_lifetime(text: str) -> timedelta | None:
    """A token lifetime from ``90d``, ``12h``, ``30m`` or ``2w``; ``never`` gives None.

    >>> parse_lifetime("90d"), parse_lifetime("never")
    (datetime.timedelta(days=90), None)
    >>> parse_lifetime("soon")
    Traceback (most recent call last):
    ...
    rasad.errors.InputError: Token lifetime 'soon' is not understood: use a whole number \
followed by m, h, d or w (30m, 12h, 90d, 2w), or 'never'.
    """
    value = text.strip().lower()
    if value == "never":
        return None
    match = re.fullmatch(r"([1-9][0-9]{0,5})([mhdw])", value)
    if match is None:
        raise InputError(f"Token lifetime {text!r} is not understood: use a whole number "
                         "followed by m, h, d or w (30m, 12h, 90d, 2w), or 'never'.")
    return int(match.group(1)) * _UNITS[match.group(2)]


def later(now: str, lifetime: timedelta) -> str:
    """The stored time text ``lifetime`` after ``now`` (both in the store's format).

    >>> later("2026-01-31T12:00:00.000000Z", timedelta(days=1))
    '2026-02-01T12:00:00.000000Z'
    """
    start = datetime.strptime(now, TIME_FORMAT).replace(tzinfo=UTC)
    return (start + lifetime).strftime(TIME_FORMAT)


__all__ = ["DEFAULT_LIFETIME", "InvalidToken", "NewToken", "ParsedToken", "hash_secret",
           "later", "new_token", "parse_lifetime", "parse_token", "secret_matches"]
