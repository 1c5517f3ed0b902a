"""Alert channels: one sender per channel kind of ``automation.alerts.channels``.

A :class:`Sender` sends one :class:`AlertMessage` or raises :class:`DeliveryFailed`;
:func:`rasad.automation.alerts.deliver_due` decides what a failure means (retry later,
or give up). The senders, chosen by the channel's ``kind`` in :data:`SENDERS`:

- ``webhook`` (:class:`WebhookSender`): the message as canonical JSON in a POST. With
  ``secret_env``, signed: ``X-Rasad-Timestamp`` is the Unix time of sending and
  ``X-Rasad-Signature`` is ``sha256=`` and the hex HMAC-SHA256, under the secret, of the
  timestamp, a dot and the body (as Stripe and Slack sign theirs), so a receiver can check
  both who sent it and that it is recent.
- ``slack`` (:class:`SlackSender`): a Slack incoming-webhook POST, ``{"text": ...}``.
- ``email`` (:class:`EmailSender`): a plain-text message over SMTP, with STARTTLS (the
  server's certificate checked against the system's trusted authorities, or those
  ``SSL_CERT_FILE`` names) and a login when ``username`` and ``password_env`` are set.
- ``file`` (:class:`FileSender`): one JSON line appended to a file of the project, and
  flushed to disk before the send counts as done.

Secrets (the signing secret, the SMTP password) are read from their environment variables
at the moment of sending and go nowhere else: not into a row, an audit event, a log line or
an error message. Nor does a webhook's URL, whose path often is the secret (a Slack
webhook's is); errors name only its scheme and host.

>>> message = AlertMessage(project="loans", alert_id=3, monitor="income-drift",
...                        severity="warning", title="Income drifted",
...                        body={"psi": 0.31}, created_at="2026-12-06T10:00:00.000000Z")
>>> signature("s3cret", "1796551200", b'{"a":1}')
'sha256=6a84544d0476c8aa061db4df411b92f8ba781a7a1ad70263f18f55f6bfbbef45'
>>> print(slack_text(message))
[rasad WARNING] Income drifted
monitor income-drift · project loans · alert 3
psi: 0.31
"""

from __future__ import annotations

import abc
import hashlib
import hmac
import json
import os
import smtplib
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from rasad.config import (
    ChannelConfig,
    EmailChannel,
    FileChannel,
    SlackChannel,
    WebhookChannel,
)
from rasad.ledger import canonical_json

TIMESTAMP_HEADER: Final = "X-Rasad-Timestamp"
SIGNATURE_HEADER: Final = "X-Rasad-Signature"
MAX_ERROR_CHARS: Final = 500
"""Longer failure texts (a server's whole error page) are cut to this many characters."""
SLACK_BODY_ITEMS: Final = 5
"""How many entries of an alert's body a Slack message shows (the rest: by e-mail, webhook)."""


class DeliveryFailed(ConnectionError):
    """A channel could not take an alert; the message says why, without secrets.

    Not a :class:`rasad.errors.RasadError`: it never leaves the agent (the delivery is
    retried, then recorded as failed), so no door has to answer it."""


@dataclass(frozen=True)
class AlertMessage:
    """What every channel sends about one alert.

    ``alert_id`` stays the same across retries: a receiver that may see an alert twice
    (an agent that stopped after sending, before recording it) drops the repeat by it.
    """

    project: str
    alert_id: int
    monitor: str
    severity: str
    title: str
    body: Mapping[str, Any]
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        """The JSON form a webhook posts and the file channel appends."""
        return {"project": self.project, "alert_id": self.alert_id, "monitor": self.monitor,
                "severity": self.severity, "title": self.title, "body": dict(self.body),
                "created_at": self.created_at}

    @property
    def subject(self) -> str:
        """``[rasad SEVERITY] title`` on one line (a line break in a title cannot add a
        header to an e-mail).

        >>> AlertMessage("p", 1, "m", "critical", "Drift\\r\\nBcc: x@evil", {}, "t").subject
        '[rasad CRITICAL] Drift Bcc: x@evil'
        """
        return f"[rasad {self.severity.upper()}] {' '.join(self.title.split())}"


class Sender(abc.ABC):
    """Sends alerts to one configured channel. Constructors do no I/O."""

    name: str

    @abc.abstractmethod
    def send(self, message: AlertMessage, *, now: str) -> None:
        """Deliver ``message``; ``now`` is the time of sending (the context's clock).

        Raises
        ------
        DeliveryFailed
            The channel did not take the message (the text holds no secret).
        """


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Rasad-Signature`` value: ``sha256=`` and the hex HMAC-SHA256 of
    ``timestamp + "." + body`` under ``secret``.

    >>> signature("k", "1", b"{}")
    'sha256=3dd49b2593d0f9a349e9e71c4bde3e2b862c2be4003fe9b4ba81332029310158'
    """
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body,
                   hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def unix_time(now: str) -> str:
    """Whole seconds since 1970 of a stored time (``X-Rasad-Timestamp``).

    >>> unix_time("2026-12-06T10:00:00.000000Z")
    '1796551200'
    """
    return str(int(_moment(now).timestamp()))


def _moment(now: str) -> datetime:
    moment = datetime.fromisoformat(now.replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def slack_text(message: AlertMessage) -> str:
    """A short message: the subject, where it comes from, and the first few body entries.

    Slack reads ``&``, ``<`` and ``>`` as markup, so they are escaped as its docs ask.
    """
    lines = [message.subject,
             f"monitor {message.monitor} · project {message.project} · alert {message.alert_id}"]
    items = list(message.body.items())
    for key, value in items[:SLACK_BODY_ITEMS]:
        shown = value if isinstance(value, str) else json.dumps(value, sort_keys=True,
                                                                default=str)
        lines.append(f"{key}: {_shorten(shown, 120)}")
    if len(items) > SLACK_BODY_ITEMS:
        lines.append(f"(and {len(items) - SLACK_BODY_ITEMS} more)")
    text = "\n".join(lines)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def email_text(message: AlertMessage) -> str:
    """The plain-text body of an alert e-mail."""
    return "\n".join([
        message.title, "",
        f"Severity: {message.severity}",
        f"Monitor:  {message.monitor}",
        f"Project:  {message.project}",
        f"Raised:   {message.created_at}",
        f"Alert:    {message.alert_id}", "",
        "Details:",
        json.dumps(dict(message.body), indent=2, sort_keys=True, default=str), ""])


class WebhookSender(Sender):
    """POSTs the message as JSON, HMAC-signed when ``secret_env`` is set."""

    def __init__(self, name: str, config: WebhookChannel) -> None:
        self.name = name
        self.config = config

    def send(self, message: AlertMessage, *, now: str) -> None:
        body = canonical_json(message.to_dict()).encode("utf-8")
        headers = {"Content-Type": "application/json", "User-Agent": "rasad-alerts"}
        secrets: list[str] = []
        if self.config.secret_env is not None:
            secret = _environment(self.name, "secret_env", self.config.secret_env)
            secrets.append(secret)
            timestamp = unix_time(now)
            headers[TIMESTAMP_HEADER] = timestamp
            headers[SIGNATURE_HEADER] = signature(secret, timestamp, body)
        _post(self.name, "webhook", self.config.url, body, headers,
              self.config.timeout_seconds, secrets)


class SlackSender(Sender):
    """POSTs ``{"text": ...}`` to a Slack (or compatible) incoming webhook."""

    def __init__(self, name: str, config: SlackChannel) -> None:
        self.name = name
        self.config = config

    def send(self, message: AlertMessage, *, now: str) -> None:
        body = json.dumps({"text": slack_text(message)}).encode("utf-8")
        _post(self.name, "slack", self.config.url, body,
              {"Content-Type": "application/json", "User-Agent": "rasad-alerts"},
              self.config.timeout_seconds, [])


class EmailSender(Sender):
    """Sends a plain-text e-mail over SMTP (STARTTLS and a login when configured).

    A password is only ever sent over STARTTLS: with ``starttls: false`` and a login
    configured the send fails instead of sending the password in the clear.
    """

    def __init__(self, name: str, config: EmailChannel) -> None:
        self.name = name
        self.config = config

    def send(self, message: AlertMessage, *, now: str) -> None:
        config = self.config
        where = f"email channel {self.name!r}"
        login: tuple[str, str] | None = None
        if config.username is not None and config.password_env is not None:
            if not config.starttls:
                raise DeliveryFailed(
                    f"{where}: refusing to send the password unencrypted; set starttls: "
                    f"true in automation.alerts.channels.{self.name}.")
            login = (config.username,
                     _environment(self.name, "password_env", config.password_env))
        elif config.username is not None or config.password_env is not None:
            raise DeliveryFailed(
                f"{where}: a login needs both username and password_env; set both in "
                f"automation.alerts.channels.{self.name}, or neither.")
        email = EmailMessage()
        email["Subject"] = message.subject
        email["From"] = config.sender
        email["To"] = ", ".join(config.to)
        email["Date"] = format_datetime(_moment(now))
        email["X-Rasad-Alert"] = str(message.alert_id)
        email.set_content(email_text(message))
        try:
            with smtplib.SMTP(config.host, config.port,
                              timeout=config.timeout_seconds) as smtp:
                if config.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if login is not None:
                    smtp.login(*login)
                refused = smtp.send_message(email, from_addr=config.sender,
                                            to_addrs=list(config.to))
        except (OSError, smtplib.SMTPException, ValueError) as exc:
            raise DeliveryFailed(f"{where}: SMTP {config.host}:{config.port}: "
                                 f"{_error_text(exc, [login[1]] if login else [])}") from None
        if refused:
            raise DeliveryFailed(f"{where}: the server refused {', '.join(sorted(refused))}")


class FileSender(Sender):
    """Appends the message as one JSON line to ``path`` (relative to the project folder),
    flushed to disk (fsync) before the send counts as done."""

    def __init__(self, name: str, config: FileChannel, *, root: Path) -> None:
        self.name = name
        self.config = config
        self.path = Path(config.path) if Path(config.path).is_absolute() \
            else root / config.path

    def send(self, message: AlertMessage, *, now: str) -> None:
        line = (canonical_json({**message.to_dict(), "sent_at": now}) + "\n").encode("utf-8")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # One write() of the whole line on an O_APPEND file: two agents appending at
            # once do not interleave their lines.
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise DeliveryFailed(f"file channel {self.name!r}: {self.config.path}: "
                                 f"{exc.strerror or type(exc).__name__}") from None


SENDERS: Final[dict[str, Callable[[str, Any, Path], Sender]]] = {
    "webhook": lambda name, config, root: WebhookSender(name, config),
    "slack": lambda name, config, root: SlackSender(name, config),
    "email": lambda name, config, root: EmailSender(name, config),
    "file": lambda name, config, root: FileSender(name, config, root=root),
}
"""The sender of each channel ``kind``: a new kind in ``rasad.config`` needs a row here."""


def sender_for(name: str, config: ChannelConfig, *, root: Path) -> Sender:
    """The sender of channel ``name`` configured as ``config``; ``root`` is the project
    folder (where a file channel's relative path starts).

    >>> from rasad.config import FileChannel
    >>> sender_for("file", FileChannel(kind="file"), root=Path("/p")).path.as_posix()
    '/p/.rasad/alerts.jsonl'
    """
    return SENDERS[config.kind](name, config, root)


def _environment(channel: str, key: str, variable: str) -> str:
    value = os.environ.get(variable, "")
    if not value:
        raise DeliveryFailed(f"channel {channel!r}: the environment variable {variable} "
                             f"({key}) is not set; set it for the agent.")
    return value


def _post(name: str, kind: str, url: str, body: bytes, headers: dict[str, str],
          timeout: float, secrets: list[str]) -> None:
    import httpx

    where = f"{kind} channel {name!r}: POST {_origin(url)}"
    try:
        response = httpx.post(url, content=body, headers=headers, timeout=timeout,
                              follow_redirects=False)
    except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError) as exc:
        raise DeliveryFailed(f"{where}: {_error_text(exc, [url, *secrets])}") from None
    if not 200 <= response.status_code < 300:
        raise DeliveryFailed(f"{where}: HTTP {response.status_code} "
                             f"{_error_text(response.text.strip(), [url, *secrets])}".rstrip())


def _origin(url: str) -> str:
    """Only the scheme, host and port of a URL: its path and query may be the secret.

    >>> _origin("https://hooks.slack.com/services/T0/B0/XXXX?x=1")
    'https://hooks.slack.com'
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(an invalid URL)"
    return f"{parts.scheme or '?'}://{host}{port}"


def _error_text(error: BaseException | str, secrets: list[str]) -> str:
    text = error if isinstance(error, str) else (str(error) or type(error).__name__)
    if not isinstance(error, str) and type(error).__name__ not in text:
        text = f"{type(error).__name__}: {text}"
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return _shorten(" ".join(text.split()), MAX_ERROR_CHARS)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


__all__ = ["MAX_ERROR_CHARS", "SENDERS", "SIGNATURE_HEADER", "TIMESTAMP_HEADER",
           "AlertMessage", "DeliveryFailed", "EmailSender", "FileSender", "Sender",
           "SlackSender", "WebhookSender", "email_text", "sender_for", "signature",
           "slack_text", "unix_time"]
