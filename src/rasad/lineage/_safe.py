"""What a message may say about where events go: never a credential or a token."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit, urlunsplit

if TYPE_CHECKING:
    from rasad.config import LineageConfig


def where(config: LineageConfig) -> str:
    """Where ``config`` sends events, for a message: the URL the client posts to (``url``
    joined with ``endpoint``) without credentials, query or fragment, or the file.

    >>> from rasad.config import LineageConfig
    >>> where(LineageConfig(transport="http", url="https://ol:s3cret@marquez:5000/?k=v"))
    'https://marquez:5000/api/v1/lineage'
    >>> where(LineageConfig(transport="file", path="lineage.jsonl"))
    'lineage.jsonl'
    """
    if config.transport == "http" and config.url:
        return safe_url(urljoin(config.url, config.endpoint))
    if config.transport == "file" and config.path:
        return safe_url(config.path) if "://" in config.path else config.path
    return str(config.transport)


def safe_url(url: str) -> str:
    """``url`` without user, password, query or fragment (any of which may hold a secret).

    >>> safe_url("s3://key:secret@bucket/data/loans.csv?X-Amz-Signature=abc#top")
    's3://bucket/data/loans.csv'
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port
    except ValueError:  # a port that is not a number: the host alone
        port = None
    netloc = f"{host}:{port}" if port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def scrub(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every secret in ``secrets`` masked, cut to 300 characters.

    >>> scrub("401 for key abc123", ("abc123", ""))
    '401 for key ***'
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text if len(text) <= 300 else text[:297] + "..."
