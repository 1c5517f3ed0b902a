"""The request size limit, enforced while the body streams in.

A body larger than the limit is refused with 413 before it is read when the client
declares its ``Content-Length``, and otherwise as soon as the bytes received pass the
limit: the server never reads (or spools to disk) more than the limit plus one chunk,
and the request handler never runs, so nothing is stored.

The limit is ``RASAD_MAX_UPLOAD_BYTES`` (default 1 GiB):

>>> import os
>>> max_upload_bytes({})
1073741824
>>> max_upload_bytes({"RASAD_MAX_UPLOAD_BYTES": "10MB"})
Traceback (most recent call last):
...
rasad.errors.ConfigError: RASAD_MAX_UPLOAD_BYTES='10MB' is not a whole number of bytes; \
use e.g. 10485760 for 10 MiB.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rasad.api.problems import http_problem, render
from rasad.errors import ConfigError

MAX_UPLOAD_ENV: Final = "RASAD_MAX_UPLOAD_BYTES"
DEFAULT_MAX_UPLOAD: Final = 1 << 30


def max_upload_bytes(environ: Mapping[str, str]) -> int:
    """The request size limit from ``environ`` (``RASAD_MAX_UPLOAD_BYTES``), else 1 GiB."""
    text = environ.get(MAX_UPLOAD_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_UPLOAD
    if not text.isdigit() or int(text) < 1:
        raise ConfigError(f"{MAX_UPLOAD_ENV}={text!r} is not a whole number of bytes; use "
                          "e.g. 10485760 for 10 MiB.")
    return int(text)


def _too_large(limit: int) -> str:
    return (f"The request body is larger than this server's limit of {limit:,} bytes; "
            f"nothing was stored. Send a smaller file, or ask the operator to raise "
            f"{MAX_UPLOAD_ENV}.")


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when the streamed body passes the limit.

    An HTTPException, because FastAPI turns any other error raised while it parses a
    body into a generic 400; this one it lets through to the problem handler (413).
    """

    def __init__(self, limit: int) -> None:
        super().__init__(413, _too_large(limit))


class BodySizeLimit:
    """ASGI middleware refusing request bodies larger than ``limit`` bytes."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            response = render(http_problem(413, _too_large(self.limit)),
                              {"Connection": "close"})
            await response(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        await self.app(scope, counted, send)


__all__ = ["DEFAULT_MAX_UPLOAD", "MAX_UPLOAD_ENV", "BodySizeLimit", "BodyTooLarge",
           "max_upload_bytes"]
