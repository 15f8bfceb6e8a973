"""Run a service's ASGI app under uvicorn with graceful shutdown on SIGTERM."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from servicekit.logging import configure_logging
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
