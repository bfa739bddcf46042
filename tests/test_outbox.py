"""The outbox: atomic .eml files by default, SMTP when troth.toml says so."""

from __future__ import annotations

import os
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message

from troth.errors import TrothError
from troth.outbox import (
    Delivery,
    Outbox,
    address_digest,
    backoff_seconds,
    delete_messages_to,
    deliver_spooled,
    list_outbox,
    message_key,
    read_message,
    send,
)
from troth.project import Project, open_project


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return open_project(tmp_path)


def test_send_writes_one_readable_message(project: Project) -> None:
    message_id = send(project, "Bob@Example.com", "Your code", "123456", kind="otp")
    (only,) = list_outbox(project)
    assert only.kind == "otp" and only.to == "Bob@example.com" and only.subject == "Your code"
    message = read_message(only.path)
    assert message["Message-ID"] == message_id
    assert message.get_content().strip() == "123456"
    assert message["From"] == "troth@localhost"
    assert not [p for p in project.outbox_dir.iterdir() if p.name.startswith(".tmp-")]


def test_a_key_makes_sending_idempotent(project: Project) -> None:
    key = message_key("v2", "ann@example.com")
    first = send(project, "ann@example.com", "Policy", "v2", kind="policy.notice", key=key)
    again = send(project, "ann@example.com", "Policy", "v2", kind="policy.notice", key=key)
    assert first == again and len(list_outbox(project)) == 1
    assert "ann" not in key


@pytest.mark.parametrize(
    ("to", "subject", "kind"),
    [
        ("not an address", "Hello", "otp"),
        ("bob@example.com", "Hello\r\nBcc: eve@example.com", "otp"),
        ("bob@example.com", "Hello", "Bad Kind!"),
    ],
)
def test_bad_messages_are_refused_without_echoing_them(
    project: Project, to: str, subject: str, kind: str
) -> None:
    with pytest.raises(TrothError) as caught:
        send(project, to, subject, "body", kind=kind)
    assert "eve@" not in str(caught.value) and "not an address" not in str(caught.value)
    assert list_outbox(project) == []


def test_a_configured_sender_is_checked(tmp_path: Path) -> None:
    (tmp_path / "troth.toml").write_text('[outbox]\nfrom = "privacy@example.org"\n')
    project = open_project(tmp_path)
    send(project, "bob@example.com", "Hi", "body", kind="otp")
    assert read_message(list_outbox(project)[0].path)["From"] == "privacy@example.org"
    (tmp_path / "troth.toml").write_text('[outbox]\nfrom = "nobody"\n')
    with pytest.raises(TrothError, match=r"\[outbox\] from"):
        send(open_project(tmp_path), "bob@example.com", "Hi", "body", kind="otp")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Collect(Message):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[Any] = []

    def handle_message(self, message: Any) -> None:
        self.messages.append(message)


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, Collect]]:
    handler = Collect()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, handler
    finally:
        controller.stop()


def test_smtp_delivery_when_configured(tmp_path: Path, smtp_server: tuple[int, Collect]) -> None:
    port, handler = smtp_server
    (tmp_path / "troth.toml").write_text(
        f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nstarttls = false\n'
        'from = "privacy@example.org"\n'
    )
    project = open_project(tmp_path)
    with Outbox(project) as box:
        box.send("ann@example.com", "One", "first", kind="policy.notice")
        box.send("bob@example.com", "Two", "second", kind="policy.notice")
    assert [m["To"] for m in handler.messages] == ["ann@example.com", "bob@example.com"]
    assert handler.messages[0]["X-Troth-Kind"] == "policy.notice"
    assert not project.outbox_dir.exists()  # nothing written to the folder


def test_smtp_settings_are_checked(tmp_path: Path) -> None:
    (tmp_path / "troth.toml").write_text('[smtp]\nport = 25\nfrom = "a@example.org"\n')
    with pytest.raises(TrothError, match="host"):
        send(open_project(tmp_path), "bob@example.com", "Hi", "body", kind="otp")
    (tmp_path / "troth.toml").write_text(
        '[smtp]\nhost = "127.0.0.1"\nfrom = "a@example.org"\npassword_env = "TROTH_TEST_NOPE"\n'
    )
    os.environ.pop("TROTH_TEST_NOPE", None)
    with pytest.raises(TrothError, match="TROTH_TEST_NOPE is not set"):
        send(open_project(tmp_path), "bob@example.com", "Hi", "body", kind="otp")


def spooled(project: Project) -> list[Path]:
    folder = project.outbox_dir / "spool"
    return sorted(p for p in folder.iterdir() if p.suffix == ".eml") if folder.is_dir() else []


def test_unreachable_smtp_server_spools_the_message(tmp_path: Path) -> None:
    (tmp_path / "troth.toml").write_text(
        f'[smtp]\nhost = "127.0.0.1"\nport = {free_port()}\nfrom = "a@example.org"\n'
    )
    project = open_project(tmp_path)
    send(project, "bob@example.com", "Hi", "body", kind="otp")  # no error: kept for later
    (kept,) = spooled(project)
    assert "bob" not in kept.name and stat.S_IMODE(kept.stat().st_mode) & 0o077 == 0
    assert deliver_spooled(project) == Delivery(waiting=1)  # not due before its backoff
    later = deliver_spooled(project, now=time.time() + backoff_seconds(1))
    assert later == Delivery(retry_later=1)
    assert [p.name.split("-")[1] for p in spooled(project)] == ["02"]  # its second try failed


class RefuseForAWhile(Collect):
    """An SMTP server that answers 451 (try again later) to the first `refusals` senders."""

    def __init__(self, refusals: int) -> None:
        super().__init__()
        self.refusals = refusals

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.refusals > 0:
            self.refusals -= 1
            return "451 4.3.0 try again later"
        envelope.mail_from = address
        return "250 OK"


def test_a_refusing_smtp_server_is_retried_with_backoff_then_delivers(tmp_path: Path) -> None:
    handler = RefuseForAWhile(refusals=2)
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        (tmp_path / "troth.toml").write_text(
            f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nstarttls = false\nfrom = "a@example.org"\n'
        )
        project = open_project(tmp_path)
        send(project, "carol@example.com", "Your code", "123456", kind="otp")  # refused: 1st
        assert handler.messages == [] and len(spooled(project)) == 1
        start = time.time()
        assert deliver_spooled(project, now=start + 59) == Delivery(waiting=1)
        assert deliver_spooled(project, now=start + 61) == Delivery(retry_later=1)  # 2nd
        assert deliver_spooled(project, now=start + 61 + 119) == Delivery(waiting=1)
        assert deliver_spooled(project, now=start + 61 + 121) == Delivery(sent=1)
    finally:
        controller.stop()
    assert [m["To"] for m in handler.messages] == ["carol@example.com"]
    assert spooled(project) == []
    assert deliver_spooled(project, now=start + 10_000) == Delivery()


def test_backoff_doubles_up_to_six_hours() -> None:
    assert [backoff_seconds(n) for n in (1, 2, 3)] == [60, 120, 240]
    assert backoff_seconds(40) == 6 * 3600


def test_erasure_deletes_spooled_messages_of_the_subject(tmp_path: Path) -> None:
    (tmp_path / "troth.toml").write_text(
        f'[smtp]\nhost = "127.0.0.1"\nport = {free_port()}\nfrom = "a@example.org"\n'
    )
    project = open_project(tmp_path)
    send(project, "dan@example.com", "Hi", "body", kind="otp")
    send(project, "eve@example.com", "Hi", "body", kind="otp")
    assert delete_messages_to(project, [address_digest(project, "dan@example.com")]) == 1
    (left,) = spooled(project)
    assert read_message(left)["To"] == "eve@example.com"


def test_outbox_files_are_private(project: Project) -> None:
    send(project, "bob@example.com", "Hi", "body", kind="otp")
    mode = stat.S_IMODE(list_outbox(project)[0].path.stat().st_mode)
    assert mode & 0o077 == 0


class Refuse(Collect):
    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        return "550 no such user here"


def test_a_refused_recipient_is_not_named_in_the_error(tmp_path: Path) -> None:
    port = free_port()
    controller = Controller(Refuse(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        (tmp_path / "troth.toml").write_text(
            f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nstarttls = false\nfrom = "a@example.org"\n'
        )
        with pytest.raises(TrothError) as caught:
            send(open_project(tmp_path), "secret.person@example.com", "Hi", "b", kind="otp")
    finally:
        controller.stop()
    assert "SMTPRecipientsRefused" in str(caught.value)
    assert "secret.person" not in str(caught.value)


def test_kind_with_a_newline_is_refused(project: Project) -> None:
    with pytest.raises(TrothError, match="kind"):
        send(project, "bob@example.com", "Hi", "body", kind="otp\n")
