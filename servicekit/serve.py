"""A service's command line: serve its ASGI app under uvicorn (graceful shutdown on SIGTERM),
or rebuild its read model from its log (servicekit.rebuild)."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from servicekit.logging import configure_logging
from servicekit.rebuild import Rebuildable, rebuild_command
from servicekit.settings import ServiceSettings


def serve(service: str, create_app: Callable[[ServiceSettings], FastAPI]) -> None:
    """Serve until SIGTERM/SIGINT: uvicorn stops accepting, drains requests, then the lifespan
    stops consumers and the relay and closes connections."""
    settings = ServiceSettings()  # from the environment
    configure_logging(service, settings.log_level)
    # uvicorn drains and runs the lifespan shutdown, then re-raises the signal it caught with
    # the previous handler; this one turns that completed graceful stop into exit status 0.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    uvicorn.run(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=20,
        lifespan="on",
    )


def main(
    service: str,
    create_app: Callable[[ServiceSettings], FastAPI],
    read_model: Rebuildable | None = None,
) -> None:
    """`python -m services.<service> [serve|rebuild-read-model]`: serve (the default, no
    arguments) is the container's and the local scripts' command."""
    commands = ["serve"] + (["rebuild-read-model"] if read_model is not None else [])
    command = sys.argv[1] if len(sys.argv) > 1 else "serve"
    if command == "serve":
        serve(service, create_app)
    elif command == "rebuild-read-model" and read_model is not None:
        raise SystemExit(asyncio.run(rebuild_command(service, read_model)))
    else:
        sys.exit(f"unknown command {command!r}; use {' or '.join(commands)}")
