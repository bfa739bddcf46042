"""`troth serve`, `troth demo`, and `troth server ...` (staff logins and API keys)."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Annotated, Any

import typer

from troth.cli.common import ProjectOption, console, opened, project_from
from troth.errors import TrothError
from troth.project import PROJECT_ENV

group = typer.Typer(help="Staff logins and API keys for the server.", no_args_is_help=True)

Host = Annotated[str, typer.Option("--host", help="Address to listen on.")]
Port = Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")]


def uvicorn_options() -> dict[str, Any]:
    """How `troth serve` runs uvicorn. uvicorn's own forwarded-header handling is off (by
    default it believes X-Forwarded-For from 127.0.0.1, so any local client or pass-through
    proxy could name its own address and reset every per-IP limit): the app trusts only the
    proxies in `[server] trusted_proxies`, whatever server runs it."""
    from troth.server.asgi import PROTOCOL

    return {"http": PROTOCOL, "proxy_headers": False, "log_level": "warning", "access_log": False}


def require_free_port(host: str, port: int) -> None:
    """Refuse a port another program listens on, before any banner says we serve there
    (uvicorn would print its bind error after it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise TrothError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}; "
                "stop what uses it or choose another --port"
            ) from None


def serve_project(root: Path, host: str, port: int, workers: int) -> None:
    """Run uvicorn on the project in `root` until Ctrl-C."""
    import uvicorn

    os.environ[PROJECT_ENV] = str(root)
    uvicorn.run(
        "troth.server.asgi:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        **uvicorn_options(),
    )


def serve(
    project: ProjectOption = None,
    host: Host = "127.0.0.1",
    port: Port = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Worker processes.")] = 1,
) -> None:
    """Serve the project's API, privacy center and admin console."""
    from troth.server import create_app

    found = project_from(project)
    require_free_port(host, port)
    ctx = create_app(found).state.ctx  # migrates the engine store once, before the workers
    try:
        ctx.policy(), ctx.datamap()  # a bad troth.yaml or datamap.yaml stops here, not later
    finally:
        ctx.store.dispose()
    console.print(f"troth serving {found.root} on http://{host}:{port}/ (Ctrl-C stops)")
    serve_project(found.root, host, port, workers)


def demo(
    folder: Annotated[
        Path, typer.Option("--dir", file_okay=False, help="Demo project folder (reused).")
    ] = Path("demo-project"),
    users: Annotated[int, typer.Option("--users", min=1, max=100_000)] = 1000,
    host: Host = "127.0.0.1",
    port: Port = 8000,
) -> None:
    """Create a demo project on a generated reference app and serve it."""
    from troth.server.demo import prepare_demo

    require_free_port(host, port)
    with console.status("preparing the demo project (reference app, policy, staff login)"):
        info = prepare_demo(folder, users)
    base = f"http://{host}:{port}"
    console.print(
        f"""
[bold]troth demo[/] in {info.project.root}

  Privacy center   {base}/
  Admin console    {base}/admin
                   login [bold]{info.staff_login}[/]  password [bold]{info.staff_password}[/]
  API docs         {base}/docs
  DRP discovery    {base}/.well-known/data-rights.json

  Sign in to the privacy center as a demo user: [bold]{info.subject_email or "(none found)"}[/]
  One-time codes are not e-mailed: they appear as .eml files in
  {info.project.outbox_dir}

Ctrl-C stops the server.""",
        highlight=False,
    )
    serve_project(info.project.root, host, port, 1)


def create_staff_command(
    login: Annotated[str, typer.Argument(help="Staff login (an e-mail address works well).")],
    role: Annotated[str, typer.Option("--role", help="admin, privacy_officer or support.")],
    project: ProjectOption = None,
) -> None:
    """Add a staff login; the password is read from $TROTH_STAFF_PASSWORD or prompted."""
    from troth.server.auth import create_staff

    password = os.environ.get("TROTH_STAFF_PASSWORD") or typer.prompt(
        "Password", hide_input=True, confirmation_prompt=True
    )
    with opened(project) as (_proj, store):
        create_staff(store, login, password, role)
    console.print(f"staff login created with role {role}")


def create_api_key_command(
    name: Annotated[str, typer.Argument(help="What the key is for, e.g. the app's name.")],
    scopes: Annotated[
        list[str],
        typer.Option(
            "--scope", help="requests:write, consent:read, consent:write, sharing or admin."
        ),
    ],
    project: ProjectOption = None,
) -> None:
    """Create an API key for an app backend; it is shown once, only its hash is kept."""
    from troth.server.auth import create_api_key

    with opened(project) as (_proj, store):
        key = create_api_key(store, name, scopes)
    console.print(key, highlight=False, soft_wrap=True)


def revoke_api_key_command(
    key_id: Annotated[str, typer.Argument(help="The id part of the key (troth_<id>_...).")],
    project: ProjectOption = None,
) -> None:
    """Revoke an API key (takes effect within seconds in running servers)."""
    from troth.server.auth import revoke_api_key

    with opened(project) as (_proj, store):
        if not revoke_api_key(store, key_id):
            raise TrothError("no active API key has that id")
    console.print("API key revoked")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("demo")(demo)
    group.command("create-staff")(create_staff_command)
    group.command("create-api-key")(create_api_key_command)
    group.command("revoke-api-key")(revoke_api_key_command)
    app.add_typer(group, name="server")
