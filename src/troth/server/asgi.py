"""The ASGI entry point uvicorn workers import: `troth.server.asgi:app_from_env`.

Each worker process opens the project named by $TROTH_PROJECT (set by `troth serve`).
"""

from __future__ import annotations

from fastapi import FastAPI

from troth.project import open_project
from troth.server.app import create_app


def app_from_env() -> FastAPI:
    return create_app(open_project())
