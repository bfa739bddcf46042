"""Notices and one-time codes to people: .eml files in `.troth/outbox/`, or SMTP.

troth.toml may configure delivery by e-mail::

    [smtp]
    host = "smtp.example.com"
    port = 587
    starttls = true
    user = "troth"
    password_env = "TROTH_SMTP_PASSWORD"
    from = "privacy@example.com"

Without `[smtp]` every message is written atomically as one file in the outbox folder
(`[outbox] from` sets the sender there). With it, a message the SMTP server defers (a 4xx
answer, or no connection) is not lost: it is written to `.troth/outbox/spool/` and
`deliver_spooled` (the worker's outbox job) sends it again, each message with its own
exponential backoff (1, 2, 4 … minutes, at most 6 hours between tries), until it is
delivered or, after MAX_TRIES, set aside as `failed-…` for staff; a permanent (5xx)
refusal is a MailRefused error. Addresses and bodies are never logged or put into error
messages. The folder is owner-only (0700) and every file in it 0600: a message holds an
address and often a one-time code. An erasure deletes the messages to
the subject's address (`delete_messages_to`).
"""

from __future__ import annotations

import datetime as dt
import email.policy
import hashlib
import os
import re
import secrets
import smtplib
import time
from collections.abc import Collection
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid, parsedate_to_datetime
from pathlib import Path
from typing import Any, Self

from email_validator import EmailNotValidError, validate_email

from troth.errors import TrothError
from troth.files import replacing
from troth.project import Project

KIND = re.compile(r"[a-z][a-z0-9_.-]{0,39}")
KEY = re.compile(r"[A-Za-z0-9_.-]{1,80}")
DEFAULT_FROM = "troth@localhost"
# Every file name ends in `.to-TAG.eml`, TAG the start of its recipient's keyed digest, so
# an erasure finds the subject's messages without reading everyone's.
TAG_CHARS = 16
TAGGED = re.compile(rf"\.to-([0-9a-f]{{{TAG_CHARS}}})\.eml$")
SPOOL = "spool"
# A spooled message's name: when it is next due (Unix seconds), how often it was tried.
SPOOLED = re.compile(r"^(\d{10})-(\d{2})-[0-9a-f]{8}\.to-[0-9a-f]+\.eml$")
FAILED_PREFIX = "failed-"
MAX_TRIES = 12
FIRST_WAIT_SECONDS = 60
MAX_WAIT_SECONDS = 6 * 3600


class MailRefused(TrothError):
    """The SMTP server refused the message for good (a 5xx answer)."""


class MailDeferred(TrothError):
    """The message could not be handed over now; it is spooled and tried again."""


def permanent(exc: Exception) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500


@dataclass(frozen=True)
class OutboxMessage:
    path: Path
    kind: str
    to: str
    subject: str
    date: dt.datetime | None


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    starttls: bool
    user: str | None
    password: str | None


def smtp_settings(project: Project) -> SmtpSettings | None:
    """troth.toml's [smtp] table, checked; None when mail goes to the outbox folder."""
    raw = project.settings.get("smtp")
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("host"), str):
        raise TrothError("troth.toml [smtp]: `host` is required and must be a string")
    port = raw.get("port", 587)
    if not isinstance(port, int) or not 0 < port < 65536:
        raise TrothError("troth.toml [smtp] port: must be a number from 1 to 65535")
    sender = _address(str(raw.get("from", "")), "troth.toml [smtp] from")
    password = None
    if raw.get("password_env"):
        password = os.environ.get(str(raw["password_env"]))
        if password is None:
            raise TrothError(f"troth.toml [smtp] password_env: {raw['password_env']} is not set")
    user = raw.get("user")
    return SmtpSettings(
        raw["host"],
        port,
        sender,
        bool(raw.get("starttls", True)),
        str(user) if user else None,
        password,
    )


def _outbox_sender(project: Project) -> str:
    """troth.toml's `[outbox] from`, checked; troth@localhost when unset."""
    outbox = project.settings.get("outbox", {})
    sender = outbox.get("from") if isinstance(outbox, dict) else None
    return DEFAULT_FROM if sender is None else _address(str(sender), "troth.toml [outbox] from")


def _address(value: str, what: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        raise TrothError(f"{what}: not a valid e-mail address") from None


def compose(sender: str, to: str, subject: str, body: str, kind: str) -> EmailMessage:
    """A checked message; header injection and bad addresses are refused."""
    if not KIND.fullmatch(kind):
        raise TrothError(f"outbox: message kind {kind!r} must be a short lowercase name")
    if not subject or any(ch in subject for ch in "\r\n") or len(subject) > 200:
        raise TrothError("outbox: the subject line must be one line of at most 200 characters")
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = sender
    message["To"] = _address(to, "outbox: recipient")
    message["Subject"] = subject
    message["Date"] = format_datetime(dt.datetime.now(dt.UTC))
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1])
    message["X-Troth-Kind"] = kind
    message.set_content(body)
    return message


class Outbox:
    """One delivery session: reuses the SMTP connection across messages.

    `key` makes a send idempotent in the folder outbox: a message whose key was
    already written is not written again (a resumed batch of notices)."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.smtp = smtp_settings(project)
        self.sender = self.smtp.sender if self.smtp else _outbox_sender(project)
        self._client: smtplib.SMTP | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.quit()
            except (OSError, smtplib.SMTPException):
                self._client.close()
            self._client = None

    def send(self, to: str, subject: str, body: str, *, kind: str, key: str | None = None) -> str:
        """Deliver one message; returns its Message-ID (or the existing file's, for a key
        already sent)."""
        message = compose(self.sender, to, subject, body, kind)
        if self.smtp is None:
            return self._write(message, kind, key)
        try:
            self.deliver(message)
        except MailDeferred:
            spool(self.project, message, tries=1)
        return str(message["Message-ID"])

    def deliver(self, message: EmailMessage) -> None:
        """Hand one message to the SMTP server; a TrothError naming only the server if
        it fails (smtplib's errors may quote the recipient)."""
        client = self._connection()
        try:
            client.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise self._failed(exc) from None

    def _failed(self, exc: Exception) -> TrothError:
        """MailRefused for a permanent (5xx) answer, MailDeferred for anything that may
        pass later: a 4xx answer, a dropped or refused connection."""
        host = self.smtp.host if self.smtp else "?"
        kind = MailRefused if permanent(exc) else MailDeferred
        return kind(f"SMTP server {host}: {type(exc).__name__}")

    def _connection(self) -> smtplib.SMTP:
        assert self.smtp is not None
        if self._client is None:
            try:
                client = smtplib.SMTP(self.smtp.host, self.smtp.port, timeout=30)
                if self.smtp.starttls:
                    client.starttls()
                if self.smtp.user and self.smtp.password is not None:
                    client.login(self.smtp.user, self.smtp.password)
            except (OSError, smtplib.SMTPException) as exc:
                raise self._failed(exc) from None
            self._client = client
        return self._client

    def _write(self, message: EmailMessage, kind: str, key: str | None) -> str:
        folder = self.project.private_dir(self.project.outbox_dir)
        suffix = f".to-{_tag(address_digest(self.project, str(message['To'])))}.eml"
        if key is not None:
            if not KEY.fullmatch(key):
                raise TrothError("outbox: a message key must be letters, digits or ._-")
            name = f"{kind}-{key}{suffix}"
            existing = folder / name
            if existing.exists():
                return str(_read(existing)["Message-ID"])
        else:
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
            name = f"{stamp}-{kind}-{secrets.token_hex(4)}{suffix}"
        _write_atomically(folder / name, message.as_bytes())
        return str(message["Message-ID"])


def spool(project: Project, message: EmailMessage, *, tries: int, now: float | None = None) -> Path:
    """Keep a message SMTP did not take, due again after its backoff (atomically)."""
    folder = project.private_dir(project.outbox_dir / SPOOL)
    due = int(time.time() if now is None else now) + backoff_seconds(tries)
    tag = _tag(address_digest(project, str(message["To"])))
    path = folder / f"{due:010d}-{tries:02d}-{secrets.token_hex(4)}.to-{tag}.eml"
    _write_atomically(path, message.as_bytes())
    return path


def backoff_seconds(tries: int) -> int:
    """Wait after the `tries`-th failed try: 1, 2, 4 … minutes, at most MAX_WAIT_SECONDS."""
    return int(min(FIRST_WAIT_SECONDS * 2 ** (tries - 1), MAX_WAIT_SECONDS))


@dataclass(frozen=True)
class Delivery:
    """What one pass over the spool did."""

    sent: int = 0
    retry_later: int = 0
    gave_up: int = 0
    waiting: int = 0


def deliver_spooled(project: Project, *, now: float | None = None) -> Delivery:
    """Send the spooled messages that are due; a failure moves a message to its next
    try (or, after MAX_TRIES, aside as `failed-…`). Without `[smtp]` there is nothing
    to do. A message is deleted from the spool only once the server took it."""
    folder = project.outbox_dir / SPOOL
    if smtp_settings(project) is None or not folder.is_dir():
        return Delivery()
    moment = time.time() if now is None else now
    due, waiting = spooled_due(folder, moment)
    sent = retry = gave_up = 0
    with Outbox(project) as box:
        for path, tries in due:
            message = _read(path)
            try:
                box.deliver(message)
            except TrothError as exc:
                if isinstance(exc, MailRefused) or tries >= MAX_TRIES:
                    os.replace(path, path.with_name(FAILED_PREFIX + path.name))
                    gave_up += 1
                else:
                    spool(project, message, tries=tries + 1, now=moment)
                    path.unlink()
                    retry += 1
                continue
            path.unlink()
            sent += 1
    return Delivery(sent, retry, gave_up, waiting)


def spooled_due(folder: Path, moment: float) -> tuple[list[tuple[Path, int]], int]:
    """The spooled messages due at `moment` (oldest due first, with their tries so far)
    and how many wait for later."""
    due, waiting = [], 0
    for name in sorted(os.listdir(folder)):
        match = SPOOLED.match(name)
        if match is None:
            continue
        if int(match.group(1)) <= moment:
            due.append((folder / name, int(match.group(2))))
        else:
            waiting += 1
    return due, waiting


def _write_atomically(target: Path, data: bytes) -> None:
    # 0600, and named like its target so that an erasure finds a half-written one too
    suffix = target.name[target.name.rindex(".to-") :]
    with replacing(target, prefix=".tmp-", suffix=suffix) as out:
        out.write(data)


def send(
    project: Project, to: str, subject: str, body: str, *, kind: str, key: str | None = None
) -> str:
    """Send one message (see `Outbox.send`)."""
    with Outbox(project) as box:
        return box.send(to, subject, body, kind=kind, key=key)


def message_key(*parts: str) -> str:
    """A stable file key from values that may be personal data (only a digest is kept)."""
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:24]


def address_digest(project: Project, address: str) -> str:
    """What an erasure keeps, until it runs, of an address whose messages it will delete:
    a keyed digest, never the address."""
    return project.keyed_hash("outbox.to", address.strip().lower())


def delete_messages_to(project: Project, digests: Collection[str]) -> int:
    """Delete the messages in the outbox folder (half-written ones too) addressed to one of
    `digests` (see `address_digest`); how many were deleted. Deleting again finds none.

    A file's name ends with a tag of its recipient's digest, so only the files whose tag
    matches are read (to confirm the address); files from before the tags are all read."""
    wanted = set(digests)
    tags = {_tag(d) for d in wanted}
    folders = [project.outbox_dir, project.outbox_dir / SPOOL]
    deleted = 0
    for path in (p for f in folders if wanted and f.is_dir() for p in _addressed_to(f, tags)):
        try:
            if _recipient_digests(project, path) & wanted:
                path.unlink()
                deleted += 1
        except FileNotFoundError:  # delivered or deleted by another process meanwhile
            continue
    return deleted


def _addressed_to(folder: Path, tags: set[str]) -> list[Path]:
    """The .eml files tagged with one of `tags`, and the untagged ones (names only are
    read: scandir is several times faster than glob on a full outbox)."""
    with os.scandir(folder) as entries:
        names = [e.name for e in entries if e.name.endswith(".eml")]
    found = []
    for name in names:
        tagged = TAGGED.search(name)
        if tagged is None or tagged.group(1) in tags:
            found.append(folder / name)
    return found


def _tag(digest: str) -> str:
    return digest[:TAG_CHARS]


def _recipient_digests(project: Project, path: Path) -> set[str]:
    with path.open("rb") as raw:
        headers = BytesParser(policy=email.policy.default).parse(raw, headersonly=True)
    to = headers["To"]
    addresses = to.addresses if to is not None else ()
    return {address_digest(project, a.addr_spec) for a in addresses}


def _read(path: Path) -> Any:
    return message_from_bytes(path.read_bytes(), policy=email.policy.default)


def list_outbox(project: Project, *, kind: str | None = None) -> list[OutboxMessage]:
    """The messages waiting in the outbox folder, oldest first."""
    folder = project.outbox_dir
    if not folder.is_dir():
        return []
    found = []
    for path in folder.glob("*.eml"):
        if path.name.startswith(".tmp-"):
            continue
        message = _read(path)
        if kind is not None and message["X-Troth-Kind"] != kind:
            continue
        date = parsedate_to_datetime(message["Date"]) if message["Date"] else None
        found.append(
            OutboxMessage(
                path,
                str(message["X-Troth-Kind"]),
                str(message["To"]),
                str(message["Subject"]),
                date,
            )
        )
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    return sorted(found, key=lambda m: (m.date or epoch, m.path.name))


def read_message(path: Path) -> EmailMessage:
    """One outbox file as a message (for tests and the demo)."""
    message = _read(path)
    assert isinstance(message, EmailMessage)
    return message
