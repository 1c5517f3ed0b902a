"""Who may score: API tokens with the ``predict`` permission, checked without the database
on the hot path.

A request presents ``Authorization: Bearer rsd_...``; :func:`rasad.identity.authenticate`
turns it into a :class:`~rasad.identity.Principal` (one database read), which must hold
``predict`` (roles ``predictor`` or ``admin``). A successful authentication is kept in
memory for :data:`CACHE_SECONDS`, keyed by the SHA-256 of the token (never the token
itself), so the requests that follow cost a hash and a dictionary lookup. The price is a
window: a token revoked or expired, a role revoked or a principal disabled stops working
on a server within that many seconds, not at once (docs/serving.md).

Failed authentications are not kept: each costs a database read, as on the management API.

>>> cache = TokenCache(seconds=5.0, clock=iter([0.0, 1.0, 9.0]).__next__)
>>> who = Principal(name="app", kind="service", roles=["predictor"], auth="token:t1")
>>> cache.put("rsd_t1_secret", who)
>>> cache.get("rsd_t1_secret") == who
True
>>> cache.get("rsd_t1_secret") is None  # 9 s after it was kept: authenticate again
True
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

import anyio.to_thread

from rasad.identity import InvalidToken, Permission, Principal, authenticate, require

if TYPE_CHECKING:
    from rasad.core import Context

CACHE_SECONDS: Final = 5.0
"""How long a successful authentication is trusted without asking the database again."""
MAX_ENTRIES: Final = 10_000
"""Tokens kept at most; the oldest go first (a server has a handful of clients)."""
SCHEME: Final = "bearer "


class TokenCache:
    """Successful authentications by token hash, each kept ``seconds``.

    Parameters
    ----------
    seconds : float
        How long an entry is trusted.
    clock : callable
        Monotonic seconds (``time.monotonic``); tests pass their own.
    max_entries : int
        The most tokens kept; adding one more evicts the oldest.
    """

    def __init__(self, *, seconds: float = CACHE_SECONDS,
                 clock: Callable[[], float] = time.monotonic,
                 max_entries: int = MAX_ENTRIES) -> None:
        self.seconds = seconds
        self.clock = clock
        self.max_entries = max_entries
        self._entries: dict[bytes, tuple[float, Principal]] = {}

    @staticmethod
    def _key(token: str) -> bytes:
        return hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()

    def get(self, token: str) -> Principal | None:
        """The principal ``token`` authenticated as, if that was less than ``seconds`` ago."""
        key = self._key(token)
        found = self._entries.get(key)
        if found is None:
            return None
        if self.clock() >= found[0]:
            self._entries.pop(key, None)
            return None
        return found[1]

    def put(self, token: str, principal: Principal) -> None:
        """Keep ``principal`` as what ``token`` stands for, for ``seconds`` from now."""
        if len(self._entries) >= self.max_entries:
            self._entries.pop(next(iter(self._entries)), None)
        self._entries[self._key(token)] = (self.clock() + self.seconds, principal)

    def clear(self) -> None:
        self._entries.clear()


def bearer_token(header: str | None) -> str:
    """The token of an ``Authorization: Bearer ...`` header.

    Raises
    ------
    InvalidToken
        No header, or not a bearer token (401).

    >>> bearer_token("Bearer rsd_abc")
    'rsd_abc'
    >>> bearer_token(None)
    Traceback (most recent call last):
    ...
    rasad.identity.tokens.InvalidToken: This request has no API token: send \
`Authorization: Bearer rsd_...` with a token holding the predict permission (role \
predictor). An admin creates one with `rasad tokens create NAME --role predictor`.
    """
    if header is None or not header.strip():
        raise InvalidToken("This request has no API token: send `Authorization: Bearer "
                           "rsd_...` with a token holding the predict permission (role "
                           "predictor). An admin creates one with `rasad tokens create NAME "
                           "--role predictor`.")
    if header[:len(SCHEME)].lower() != SCHEME:
        raise InvalidToken("The Authorization header is not a bearer token: send "
                           "`Authorization: Bearer rsd_...`.")
    return header[len(SCHEME):].strip()


class Authenticator:
    """Bearer tokens to principals through ``cache``, asking the database on a miss only.

    The database read runs in a worker thread, never on the event loop.
    """

    def __init__(self, ctx: Context, cache: TokenCache) -> None:
        self.ctx = ctx
        self.cache = cache

    async def principal(self, header: str | None) -> Principal:
        """Who the ``Authorization`` header stands for.

        Raises
        ------
        InvalidToken
            No token, or one that does not authenticate (401).
        """
        token = bearer_token(header)
        found = self.cache.get(token)
        if found is None:
            found = await anyio.to_thread.run_sync(authenticate, self.ctx, token)
            self.cache.put(token, found)
        return found


def may_predict(principal: Principal, model: str | None) -> None:
    """Refuse (403) a principal without ``predict`` (``model``: what it asked of, if any).

    Raises
    ------
    PermissionDenied
        Naming the principal, its roles and the role that grants ``predict``.
    """
    if Permission.PREDICT not in principal.permissions:
        action = f"score with model {model!r}" if model else "use the prediction server"
        require(principal, Permission.PREDICT, action)


__all__ = ["CACHE_SECONDS", "MAX_ENTRIES", "Authenticator", "TokenCache", "bearer_token",
           "may_predict"]
