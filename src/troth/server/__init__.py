"""troth.server: the HTTP API, Data Rights Protocol, privacy center and admin console."""

from troth.server.app import create_app

__all__ = ["create_app"]
