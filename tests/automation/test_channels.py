"""Alert channels against real receivers: an HTTP server in a thread (webhook, Slack), a
real SMTP server (aiosmtpd, STARTTLS with a certificate made here, AUTH LOGIN and PLAIN),
and the file sink. No rasad part is mocked; the project database is not involved.

``Receiver`` is shared with ``test_alerts.py``.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import hashlib
import hmac
import ipaddress
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from rasad.automation.channels import (
    SENDERS,
    AlertMessage,
    DeliveryFailed,
    EmailSender,
    FileSender,
    Sender,
    SlackSender,
    WebhookSender,
    sender_for,
    signature,
)
from rasad.config import (
    AlertsConfig,
    EmailChannel,
    FileChannel,
    SlackChannel,
    WebhookChannel,
)

NOW = "2026-12-06T10:00:00.000000Z"
NOW_UNIX = "1796551200"
SECRET = "whsec-7f3a9c2e-do-not-leak"
PASSWORD = "pw-Zq8!smtp-do-not-leak"


def message(**changes: Any) -> AlertMessage:
    values: dict[str, Any] = {
        "project": "loans", "alert_id": 7, "monitor": "income-drift", "severity": "warning",
        "title": "Income drifted in month 7",
        "body": {"psi": 0.31, "feature": "income", "window": "2026-07"},
        "created_at": "2026-12-06T09:59:00.000000Z"}
    values.update(changes)
    return AlertMessage(**values)


# --- a local HTTP receiver ---------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """An HTTP server in a thread that records every POST and answers with the next status
    of ``statuses`` (then ``default``); ``hang`` makes it never answer."""

    statuses: list[int] = field(default_factory=list)
    default: int = 200
    hang: bool = False
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    got_one: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.received.append(Received(self.path, dict(self.headers), body))
                    status = receiver.statuses.pop(0) if receiver.statuses \
                        else receiver.default
                receiver.got_one.set()
                if receiver.hang:
                    receiver.release.wait(30)
                    return
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"receiver says no")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/T0/B0/path-secret"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def verify(received: Received, secret: str) -> dict[str, Any]:
    """What a receiver does: check the signature over timestamp, dot, body; parse."""
    timestamp = received.headers["X-Rasad-Timestamp"]
    expected = "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + received.body,
                                    hashlib.sha256).hexdigest()
    assert hmac.compare_digest(received.headers["X-Rasad-Signature"], expected)
    parsed: dict[str, Any] = json.loads(received.body)
    return parsed


# --- webhook -------------------------------------------------------------------------------


def test_webhook_posts_signed_json_the_receiver_verifies(
        receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    sender = WebhookSender("ops", WebhookChannel(kind="webhook", url=receiver.url,
                                                 secret_env="HOOK_SECRET"))
    sender.send(message(), now=NOW)

    [got] = receiver.received
    assert got.path == "/hooks/T0/B0/path-secret"
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["X-Rasad-Timestamp"] == NOW_UNIX
    assert verify(got, SECRET) == message().to_dict()
    # Signed with the secret of the moment of sending, not a wrong or empty one.
    with pytest.raises(AssertionError):
        verify(got, "another-secret")
    assert got.headers["X-Rasad-Signature"] == signature(SECRET, NOW_UNIX, got.body)


def test_a_tampered_body_or_replayed_timestamp_fails_verification(
        receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    WebhookSender("ops", WebhookChannel(kind="webhook", url=receiver.url,
                                        secret_env="HOOK_SECRET")).send(message(), now=NOW)
    [got] = receiver.received
    tampered = Received(got.path, got.headers, got.body.replace(b"0.31", b"0.01"))
    with pytest.raises(AssertionError):
        verify(tampered, SECRET)
    moved = Received(got.path, {**got.headers, "X-Rasad-Timestamp": str(int(NOW_UNIX) + 1)},
                     got.body)
    with pytest.raises(AssertionError):
        verify(moved, SECRET)


def test_webhook_without_secret_env_is_unsigned(receiver: Receiver) -> None:
    WebhookSender("ops", WebhookChannel(kind="webhook", url=receiver.url)).send(
        message(), now=NOW)
    [got] = receiver.received
    assert "X-Rasad-Signature" not in got.headers
    assert "X-Rasad-Timestamp" not in got.headers
    assert json.loads(got.body)["alert_id"] == 7


def test_secret_is_read_at_send_time_and_an_unset_one_fails_without_posting(
        receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    sender = WebhookSender("ops", WebhookChannel(kind="webhook", url=receiver.url,
                                                 secret_env="HOOK_SECRET"))
    monkeypatch.delenv("HOOK_SECRET", raising=False)
    with pytest.raises(DeliveryFailed, match="HOOK_SECRET"):
        sender.send(message(), now=NOW)
    assert receiver.received == []
    monkeypatch.setenv("HOOK_SECRET", "rotated")  # the same sender, the new secret
    sender.send(message(), now=NOW)
    verify(receiver.received[0], "rotated")


def test_http_errors_name_the_status_but_never_the_url_path_or_secret(
        receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    receiver.default = 503
    sender = WebhookSender("ops", WebhookChannel(kind="webhook", url=receiver.url,
                                                 secret_env="HOOK_SECRET"))
    with pytest.raises(DeliveryFailed) as caught:
        sender.send(message(), now=NOW)
    text = str(caught.value)
    assert "HTTP 503" in text and "receiver says no" in text
    assert "webhook channel 'ops'" in text
    assert "path-secret" not in text and SECRET not in text


def test_a_redirect_is_not_a_delivery(monkeypatch: pytest.MonkeyPatch,
                                      receiver: Receiver) -> None:
    receiver.default = 307
    with pytest.raises(DeliveryFailed, match="HTTP 307"):
        SlackSender("chat", SlackChannel(kind="slack", url=receiver.url)).send(
            message(), now=NOW)


def test_a_dead_url_times_out_fast() -> None:
    # A socket that accepts connections (the backlog) but never answers.
    with socket.socket() as dead:
        dead.bind(("127.0.0.1", 0))
        dead.listen(8)
        url = f"http://127.0.0.1:{dead.getsockname()[1]}/hook"
        sender = WebhookSender("ops", WebhookChannel(kind="webhook", url=url,
                                                     timeout_seconds=0.3))
        started = time.monotonic()
        with pytest.raises(DeliveryFailed, match="(?i)timeout|timed out"):
            sender.send(message(), now=NOW)
        assert time.monotonic() - started < 2.0


def test_connection_refused_is_a_delivery_failure() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    sender = SlackSender("chat", SlackChannel(kind="slack",
                                              url=f"http://127.0.0.1:{port}/x/secret-part"))
    with pytest.raises(DeliveryFailed, match="slack channel 'chat'") as caught:
        sender.send(message(), now=NOW)
    assert "secret-part" not in str(caught.value)


# --- Slack ---------------------------------------------------------------------------------


def test_slack_gets_a_short_readable_text(receiver: Receiver) -> None:
    SlackSender("chat", SlackChannel(kind="slack", url=receiver.url)).send(
        message(title="Income <b>drift</b> & more",
                body={f"k{i}": i for i in range(8)}), now=NOW)
    [got] = receiver.received
    payload = json.loads(got.body)
    assert list(payload) == ["text"]
    assert payload["text"] == (
        "[rasad WARNING] Income &lt;b&gt;drift&lt;/b&gt; &amp; more\n"
        "monitor income-drift · project loans · alert 7\n"
        "k0: 0\nk1: 1\nk2: 2\nk3: 3\nk4: 4\n(and 3 more)")


# --- e-mail over a real SMTP server --------------------------------------------------------


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rasad test SMTP")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp / "smtp.crt", tmp / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@dataclass
class Mailbox:
    envelopes: list[Envelope] = field(default_factory=list)
    logins: list[tuple[str, str, str]] = field(default_factory=list)  # mechanism, user, pw
    tls: list[bool] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session,  # noqa: N802 - aiosmtpd's
                          envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        self.tls.append(session.ssl is not None)
        return "250 OK"

    def authenticate(self, server: SMTP, session: Session, envelope: Envelope,
                     mechanism: str, auth_data: Any) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        user, password = auth_data.login.decode(), auth_data.password.decode()
        self.logins.append((mechanism, user, password))
        return AuthResult(success=(user, password) == ("alerts", PASSWORD), handled=False)


@dataclass
class Smtp:
    port: int
    mailbox: Mailbox
    cert: Path
    excluded: str


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def smtp(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Smtp]:
    """aiosmtpd on a free port with STARTTLS required (a certificate made here) and an
    authenticator; ``request.param`` may exclude an AUTH mechanism."""
    import ssl

    cert, key = _self_signed(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    mailbox = Mailbox()
    excluded = getattr(request, "param", None)
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port(),
                            tls_context=tls, require_starttls=True,
                            authenticator=mailbox.authenticate, auth_require_tls=True,
                            auth_exclude_mechanism=[excluded] if excluded else None)
    controller.start()
    try:
        yield Smtp(controller.port, mailbox, cert, excluded or "")
    finally:
        controller.stop()


def email_channel(server: Smtp, **changes: Any) -> EmailChannel:
    values: dict[str, Any] = {
        "kind": "email", "host": "127.0.0.1", "port": server.port, "username": "alerts",
        "password_env": "SMTP_PASSWORD", "sender": "rasad@bank.example",
        "to": ["risk@bank.example", "ops@bank.example"], "timeout_seconds": 5.0}
    values.update(changes)
    return EmailChannel(**values)


def parsed(envelope: Envelope) -> EmailMessage:
    assert isinstance(envelope.content, bytes)
    mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert isinstance(mail, EmailMessage)
    return mail


@pytest.mark.parametrize("smtp", ["PLAIN", "LOGIN"], indirect=True,
                         ids=["auth-login", "auth-plain"])
def test_email_over_starttls_with_login_arrives_exactly(
        smtp: Smtp, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(smtp.cert))  # trust the test's own certificate
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    EmailSender("mail", email_channel(smtp)).send(message(), now=NOW)

    [envelope] = smtp.mailbox.envelopes
    assert smtp.mailbox.tls == [True]
    # The mechanism the server offers (the other one is excluded) is the one used.
    assert smtp.mailbox.logins == [({"PLAIN": "LOGIN", "LOGIN": "PLAIN"}[smtp.excluded],
                                     "alerts", PASSWORD)]
    assert envelope.mail_from == "rasad@bank.example"
    assert envelope.rcpt_tos == ["risk@bank.example", "ops@bank.example"]
    mail = parsed(envelope)
    assert mail["Subject"] == "[rasad WARNING] Income drifted in month 7"
    assert mail["From"] == "rasad@bank.example"
    assert mail["To"] == "risk@bank.example, ops@bank.example"
    assert mail["X-Rasad-Alert"] == "7"
    assert mail["Date"] == "Sun, 06 Dec 2026 10:00:00 +0000"
    assert mail.get_content_type() == "text/plain"
    assert mail.get_content().replace("\r\n", "\n") == (
        "Income drifted in month 7\n\n"
        "Severity: warning\n"
        "Monitor:  income-drift\n"
        "Project:  loans\n"
        "Raised:   2026-12-06T09:59:00.000000Z\n"
        "Alert:    7\n\n"
        "Details:\n"
        '{\n  "feature": "income",\n  "psi": 0.31,\n  "window": "2026-07"\n}\n')


def test_a_wrong_password_fails_and_the_error_does_not_hold_it(
        smtp: Smtp, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(smtp.cert))
    monkeypatch.setenv("SMTP_PASSWORD", "wrong-" + PASSWORD)
    with pytest.raises(DeliveryFailed, match="(?i)authentication") as caught:
        EmailSender("mail", email_channel(smtp)).send(message(), now=NOW)
    assert PASSWORD not in str(caught.value)
    assert smtp.mailbox.envelopes == []


def test_an_untrusted_certificate_is_refused(smtp: Smtp,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    with pytest.raises(DeliveryFailed, match="(?i)certificate"):
        EmailSender("mail", email_channel(smtp)).send(message(), now=NOW)
    assert smtp.mailbox.logins == [] and smtp.mailbox.envelopes == []


def test_no_starttls_against_a_server_requiring_it_sends_nothing(
        smtp: Smtp, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(DeliveryFailed, match="SMTP 127.0.0.1"):
        EmailSender("mail", email_channel(smtp, starttls=False, username=None,
                                          password_env=None)).send(message(), now=NOW)
    assert smtp.mailbox.envelopes == []


def test_a_password_is_never_sent_without_starttls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    # No server at all: the refusal comes before connecting.
    channel = EmailChannel(kind="email", host="127.0.0.1", port=_free_port(), starttls=False,
                           username="alerts", password_env="SMTP_PASSWORD",
                           sender="rasad@bank.example", to=["risk@bank.example"])
    with pytest.raises(DeliveryFailed, match="unencrypted; set starttls: true"):
        EmailSender("mail", channel).send(message(), now=NOW)


def test_half_a_login_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    channel = EmailChannel(kind="email", host="127.0.0.1", username="alerts",
                           sender="rasad@bank.example", to=["risk@bank.example"])
    with pytest.raises(DeliveryFailed, match="both username and password_env"):
        EmailSender("mail", channel).send(message(), now=NOW)


def test_an_unset_password_variable_is_named(smtp: Smtp,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SMTP_PASSWORD", raising=False)
    with pytest.raises(DeliveryFailed, match="SMTP_PASSWORD"):
        EmailSender("mail", email_channel(smtp)).send(message(), now=NOW)
    assert smtp.mailbox.logins == []


def test_a_line_break_in_a_title_cannot_add_a_header_or_recipient(
        smtp: Smtp, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(smtp.cert))
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    EmailSender("mail", email_channel(smtp, to=["risk@bank.example"])).send(
        message(title="Drift\r\nBcc: thief@evil.example\r\n\r\nforged"), now=NOW)
    [envelope] = smtp.mailbox.envelopes
    assert envelope.rcpt_tos == ["risk@bank.example"]
    mail = parsed(envelope)
    assert mail["Bcc"] is None
    assert mail["Subject"] == "[rasad WARNING] Drift Bcc: thief@evil.example forged"


# --- the file sink -------------------------------------------------------------------------


def test_file_channel_appends_json_lines_under_the_project(tmp_path: Path) -> None:
    sender = sender_for("file", FileChannel(kind="file", path="alerts/out.jsonl"),
                        root=tmp_path)
    assert isinstance(sender, FileSender)
    sender.send(message(), now=NOW)
    sender.send(message(alert_id=8), now="2026-12-06T11:00:00.000000Z")
    lines = (tmp_path / "alerts" / "out.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [
        {**message().to_dict(), "sent_at": NOW},
        {**message(alert_id=8).to_dict(), "sent_at": "2026-12-06T11:00:00.000000Z"}]


def test_concurrent_appends_never_interleave(tmp_path: Path) -> None:
    sender = FileSender("file", FileChannel(kind="file"), root=tmp_path)
    big = {"rows": "x" * 20_000}  # lines far longer than a pipe buffer

    def write(start: int) -> None:
        for i in range(start, start + 25):
            sender.send(message(alert_id=i, body=big), now=NOW)

    threads = [threading.Thread(target=write, args=(n * 100,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = (tmp_path / ".rasad" / "alerts.jsonl").read_text().splitlines()
    ids = sorted(json.loads(line)["alert_id"] for line in lines)
    assert ids == sorted(n * 100 + i for n in range(4) for i in range(25))


def test_an_unwritable_file_path_is_a_delivery_failure(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("a file where a folder should be")
    sender = FileSender("file", FileChannel(kind="file", path="blocker/alerts.jsonl"),
                        root=tmp_path)
    with pytest.raises(DeliveryFailed, match="file channel 'file': blocker/alerts.jsonl"):
        sender.send(message(), now=NOW)


# --- the extension point -------------------------------------------------------------------


def test_every_channel_kind_has_a_sender() -> None:
    kinds = {config.model_fields["kind"].annotation.__args__[0]  # type: ignore[union-attr]
             for config in (WebhookChannel, SlackChannel, EmailChannel, FileChannel)}
    assert set(SENDERS) == kinds
    configured = AlertsConfig.model_validate({"channels": {
        "a": {"kind": "webhook", "url": "http://h"}, "b": {"kind": "slack", "url": "http://h"},
        "c": {"kind": "email", "host": "h", "sender": "a@b", "to": ["c@d"]},
        "d": {"kind": "file"}}}).channels
    built = {name: type(sender_for(name, config, root=Path("/p")))
             for name, config in configured.items()}
    assert built == {"a": WebhookSender, "b": SlackSender, "c": EmailSender, "d": FileSender}


def test_an_incomplete_sender_cannot_be_built() -> None:
    class Half(Sender):
        pass

    with pytest.raises(TypeError, match="abstract"):
        Half()  # type: ignore[abstract]
