"""The `[server]` table of troth.toml: every key optional, each checked when the app starts.

[server]
secure_cookies = true                # Secure cookies even when no proxy says "https"
trusted_proxies = ["10.0.0.5"]       # who may set X-Forwarded-For / -Proto (none)
max_body_bytes = 65536               # largest JSON or form body accepted (64 kB)
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from troth.errors import TrothError
from troth.project import Project

MAX_BODY_BYTES = 64 * 1024


@dataclass(frozen=True)
class ServerSettings:
    secure_cookies: bool = False
    trusted_proxies: tuple[str, ...] = ()
    max_body_bytes: int = MAX_BODY_BYTES


def server_settings(project: Project) -> ServerSettings:
    """The project's `[server]` settings; a wrong value is a TrothError naming its key."""
    table: dict[str, Any] = project.settings.get("server", {})
    secure = table.get("secure_cookies", False)
    if not isinstance(secure, bool):
        raise TrothError("troth.toml [server] secure_cookies: must be true or false")
    size = table.get("max_body_bytes", MAX_BODY_BYTES)
    if isinstance(size, bool) or not isinstance(size, int) or size < 1024:
        raise TrothError("troth.toml [server] max_body_bytes: must be a number of bytes >= 1024")
    return ServerSettings(secure, trusted_proxies(table.get("trusted_proxies", [])), size)


def trusted_proxies(value: Any) -> tuple[str, ...]:
    """Addresses or networks (10.0.0.5, 10.0.0.0/24). No wildcard: trusting every peer would
    let any client name its own address and step around every per-IP limit."""
    key = "troth.toml [server] trusted_proxies"
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TrothError(f'{key}: must be a list of addresses, e.g. ["10.0.0.5"]')
    for item in value:
        try:
            ipaddress.ip_network(item)  # strict, as uvicorn's middleware reads it
        except ValueError:
            raise TrothError(
                f"{key}: {item!r} is not an address or a network like 10.0.0.0/24"
            ) from None
    return tuple(value)
