"""What uvicorn workers import: the app factory and the HTTP protocol.

`app_from_env` opens the project named by $TROTH_PROJECT (set by `troth serve`).
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from fastapi import FastAPI
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from troth.project import open_project
from troth.server.app import create_app

PROTOCOL = "troth.server.asgi:NoDelayProtocol"


def app_from_env() -> FastAPI:
    return create_app(open_project(), run_jobs=True)


class NoDelayProtocol(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
    """uvicorn's HTTP protocol with TCP_NODELAY on every connection.

    With --workers, uvicorn binds the listening socket itself (protocol number 0), so
    asyncio does not turn Nagle's algorithm off on accepted connections, and every small
    response waits ~40 ms for the client's delayed ACK.
    """

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        sock: Any = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
