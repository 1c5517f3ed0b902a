"""A client of the management HTTP API: requests in, JSON or the same rasad error out.

:class:`Client` speaks to ``rasad server`` with an API token (``Authorization: Bearer``).
A refusal comes back as an RFC 9457 problem carrying ``error`` (the rasad error class)
and ``exit_code``; the client raises that same class with the server's message
(:data:`ERRORS` is the one table from name to class), so a command run against a server
prints the same one-line error and exits with the same code as it does locally.
A blocking promotion gate (:class:`~rasad.errors.GatesFailed`) also brings back its
``request``, read from the problem's extension member of that name.

The token is a password: it goes in the ``Authorization`` header and nowhere else, never
into a message, a log line or the ``repr`` (which shows only the token's public id).

>>> Client("http://127.0.0.1:8000", "rsd_3f9c0a1b2c3d4e5f_" + "x" * 43)
Client('http://127.0.0.1:8000/api/v1', token='rsd_3f9c0a1b2c3d4e5f_***')
>>> error_for({"detail": "No dataset named 'loans'.", "error": "NotFoundError",
...            "exit_code": 2}, status=404)
NotFoundError("No dataset named 'loans'.")
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final
from urllib.parse import quote

import httpx

from rasad.errors import (
    CheckFailed,
    ConfigError,
    ConflictError,
    GatesFailed,
    InputError,
    IntegrityError,
    NotFoundError,
    PermissionDenied,
    RasadError,
    SchemaVersionError,
    UntrustedArtifactError,
)
from rasad.identity import InvalidToken
from rasad.ledger import LedgerDamaged
from rasad.ledger.checkpoint import CheckpointFileError
from rasad.release.requests import PromotionRequest
from rasad.store import DatabaseBusy, DatabaseUnavailable

API_PREFIX: Final = "/api/v1"
"""Where the management API lives on a server (``rasad.api.PREFIX``)."""

DEFAULT_TIMEOUT: Final = httpx.Timeout(30.0, connect=10.0, read=300.0, write=300.0)
"""Ten seconds to connect; five minutes to send an upload or read an answer (a full
``audit verify`` of a long ledger, a large dataset profiled on the server)."""

_CLASSES: Final[tuple[type[RasadError], ...]] = (
    RasadError, InputError, ConfigError, NotFoundError, ConflictError, SchemaVersionError,
    IntegrityError, UntrustedArtifactError, PermissionDenied, CheckFailed, GatesFailed,
    InvalidToken, LedgerDamaged, CheckpointFileError, DatabaseUnavailable, DatabaseBusy,
)
ERRORS: Mapping[str, type[RasadError]] = MappingProxyType({c.__name__: c for c in _CLASSES})
"""Every rasad error class a server can send, by the name its problems carry in ``error``."""

_TOKEN_ID = re.compile(r"^(rsd_[0-9a-f]{16})_")
_PROBLEM_TYPES: Final = ("application/problem+json", "application/json")


class ServerUnreachable(RasadError, ConnectionError):
    """The server at the configured URL did not answer (refused, timed out, no such host)."""


def error_for(problem: Mapping[str, Any], *, status: int) -> RasadError:
    """The rasad error a problem response stands for.

    The class is the one the problem names in ``error``; a name this rasad does not know
    (a newer server) becomes a :class:`~rasad.errors.RasadError` that keeps the problem's
    ``exit_code``, so the CLI still exits as the server said.
    """
    detail = problem.get("detail")
    title = problem.get("title")
    message = detail if isinstance(detail, str) and detail else (
        f"The server refused the request: {status} {title or 'with no detail'}.")
    cls = ERRORS.get(str(problem.get("error")))
    if cls is GatesFailed:
        # The problem's `request` member: the failed request, as the local error holds it.
        request = problem.get("request")
        return GatesFailed(message, None if not isinstance(request, dict)
                           else PromotionRequest.from_dict(request))
    if cls is not None:
        return cls(message)
    error = RasadError(message)
    exit_code = problem.get("exit_code")
    if isinstance(exit_code, int) and not isinstance(exit_code, bool):
        error.exit_code = exit_code
    return error


def base_url(url: str) -> str:
    """The API root of a server URL, with or without its ``/api/v1`` suffix.

    >>> base_url("https://rasad.bank.example/"), base_url("http://h:8000/api/v1")
    ('https://rasad.bank.example/api/v1', 'http://h:8000/api/v1')

    Raises
    ------
    InputError
        If ``url`` is not an ``http`` or ``https`` URL with a host.
    """
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError) as exc:
        raise InputError(f"The server URL {url!r} is not a URL ({exc}); give it as "
                         "http://HOST:PORT or https://HOST.") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise InputError(f"The server URL {url!r} is not an http(s) URL with a host; give "
                         "it as http://HOST:PORT or https://HOST.")
    if parsed.query or parsed.fragment:
        raise InputError(f"The server URL {url!r} has a query or fragment; give only "
                         "scheme, host, port and path.")
    root = str(parsed).rstrip("/")
    return root if root.endswith(API_PREFIX) else root + API_PREFIX


def segment(value: str | int) -> str:
    """``value`` quoted as one path segment (a name never reaches another route).

    >>> segment("a/b c")
    'a%2Fb%20c'
    """
    return quote(str(value), safe="")


class Client:
    """Calls to one server's management API, acting as one token's principal.

    Parameters
    ----------
    url : str
        The server, ``http://HOST:PORT`` (``/api/v1`` may be included).
    token : str
        An API token (``rasad tokens create NAME``), sent as ``Authorization: Bearer``.
    transport : httpx.BaseTransport, optional
        How requests travel (default: the network). Tests pass one that calls the app
        in-process.
    timeout : httpx.Timeout, optional
        Connect, read and write limits (:data:`DEFAULT_TIMEOUT`).

    Raises
    ------
    InputError
        If the URL is not an http(s) URL or the token is empty.
    """

    def __init__(self, url: str, token: str, *, transport: httpx.BaseTransport | None = None,
                 timeout: httpx.Timeout = DEFAULT_TIMEOUT) -> None:
        self.url = base_url(url)
        token = token.strip()
        if not token:
            raise InputError("The API token is empty; create one with `rasad tokens create "
                             "NAME` on the server and pass the whole rsd_... text.")
        if any(c in token for c in "\r\n\x00"):
            raise InputError("The API token holds a line break or NUL character; pass the "
                             "whole rsd_... text on one line.")
        self._token_label = _label(token)
        # httpx keeps the header on the client; event hooks and logs never see it here.
        self._http = httpx.Client(base_url=self.url, transport=transport, timeout=timeout,
                                  headers={"Authorization": f"Bearer {token}",
                                           "Accept": "application/json"},
                                  follow_redirects=False)

    def __repr__(self) -> str:
        return f"Client({self.url!r}, token={self._token_label!r})"

    # -- requests ------------------------------------------------------------------------

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """The JSON answer to ``GET path`` (``None`` values in ``params`` are left out)."""
        return self._send("GET", path, params=_params(params))

    def post(self, path: str, body: Mapping[str, Any] | None = None) -> Any:
        """The JSON answer to ``POST path`` with a JSON body."""
        return self._send("POST", path, json=dict(body) if body is not None else None)

    def upload(self, path: str, file: str | os.PathLike[str], *, field: str = "file",
               form: Mapping[str, str | None] | None = None) -> Any:
        """The JSON answer to a multipart ``POST`` of ``file``, streamed from disk.

        Raises
        ------
        InputError
            If ``file`` is not a readable file.
        """
        source = Path(file)
        if not source.is_file():
            raise InputError(f"{source} is not a file; give the path of a CSV, TSV or "
                             "Parquet file.")
        data = {k: v for k, v in (form or {}).items() if v is not None}
        with source.open("rb") as handle:
            # httpx reads the file in chunks as it sends: nothing is loaded whole.
            return self._send("POST", path, files={field: (source.name, handle,
                                                           "application/octet-stream")},
                              data=data)

    def upload_files(self, path: str, files: Mapping[str, str | os.PathLike[str]], *,
                     form: Mapping[str, str | None] | None = None) -> Any:
        """The JSON answer to a multipart ``POST`` of several files (by field), streamed
        from disk.

        Raises
        ------
        InputError
            If a file is not a readable file.
        """
        sources = {field: Path(file) for field, file in files.items()}
        for source in sources.values():
            if not source.is_file():
                raise InputError(f"{source} is not a file; give the path of a file to send.")
        data = {k: v for k, v in (form or {}).items() if v is not None}
        with ExitStack() as stack:
            parts = {field: (source.name, stack.enter_context(source.open("rb")),
                             "application/octet-stream") for field, source in sources.items()}
            return self._send("POST", path, files=parts, data=data)

    def download(self, path: str, target: str | os.PathLike[str]) -> str:
        """Write the body of ``GET path`` to ``target`` as it streams in; returns its sha256.

        Nothing is kept of a refused request: the problem is raised as its rasad error.
        """
        digest = hashlib.sha256()
        try:
            with self._http.stream("GET", path, headers={"Accept": "*/*"}) as response:
                if not response.is_success:
                    response.read()
                    raise self._refusal(response)
                with open(target, "wb") as out:
                    for chunk in response.iter_bytes(1 << 20):
                        digest.update(chunk)
                        out.write(chunk)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from None
        return digest.hexdigest()

    def _send(self, method: str, path: str, **options: Any) -> Any:
        try:
            response = self._http.request(method, path, **options)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from None
        if response.is_success:
            try:
                return response.json()
            except ValueError:
                raise RasadError(f"The server at {self.url} answered {method} {path} with "
                                 "something that is not JSON; is RASAD_URL a rasad "
                                 "server?") from None
        raise self._refusal(response)

    def _unreachable(self, exc: httpx.TransportError) -> ServerUnreachable:
        if isinstance(exc, httpx.TimeoutException):
            return ServerUnreachable(f"The server at {self.url} did not answer in time "
                                     f"({type(exc).__name__}). Try again, or check that "
                                     "`rasad server` runs there.")
        return ServerUnreachable(f"Cannot reach the server at {self.url}: {exc}. Check "
                                 "RASAD_URL and that `rasad server` runs there.")

    def _refusal(self, response: httpx.Response) -> RasadError:
        kind = response.headers.get("content-type", "").split(";")[0].strip()
        if kind in _PROBLEM_TYPES:
            try:
                problem = response.json()
            except ValueError:
                problem = None
            if isinstance(problem, dict) and ("error" in problem or "detail" in problem):
                return error_for(problem, status=response.status_code)
        # Not a rasad problem: a proxy's error page, or not a rasad server at all.
        return RasadError(f"The server at {self.url} answered {response.status_code} "
                          f"{response.reason_phrase} without a rasad problem report; check "
                          "RASAD_URL and the proxy in front of the server.")

    # -- lifetime ------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _label(token: str) -> str:
    """What may be shown of a token: its public id, never its secret."""
    match = _TOKEN_ID.match(token)
    return f"{match.group(1)}_***" if match else "***"


def _params(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if params is None:
        return None
    return {k: v for k, v in params.items() if v is not None}


__all__ = ["API_PREFIX", "DEFAULT_TIMEOUT", "ERRORS", "Client", "ServerUnreachable",
           "base_url", "error_for", "segment"]
