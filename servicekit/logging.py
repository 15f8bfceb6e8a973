"""structlog, configured once per process: JSON lines unless on a terminal.

Standard-library loggers (uvicorn, aiokafka, FastStream) go through the same renderer, so an
operator's log pipeline sees one JSON object per line from every source.
"""

from __future__ import annotations

import logging
import re
import sys
import time

import structlog

# Client libraries that log every failed reconnect: during an outage, once per kind is enough.
CHATTY_LOGGERS = ("aiokafka", "kafka", "asyncpg")
REPEAT_SECONDS = 60.0
_VARYING = re.compile(r"\d+|'[^']*'|\([^)]*\)")


class OncePerOutage(logging.Filter):
    """Drop a record whose text (numbers, addresses and quoted parts aside) was logged in the
    last `window` seconds: a broker outage is then a handful of lines a minute, not thousands."""

    def __init__(self, window: float = REPEAT_SECONDS) -> None:
        super().__init__()
        self.window = window
        self._last: dict[tuple[str, str], float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.partition(".")[0] not in CHATTY_LOGGERS:
            return True
        key = (record.name, _VARYING.sub("…", record.getMessage()))
        now = time.monotonic()
        if now - self._last.get(key, -self.window) < self.window:
            return False
        self._last[key] = now
        if len(self._last) > 1000:  # bounded: forget the oldest kinds
            for old in sorted(self._last, key=self._last.__getitem__)[:500]:
                del self._last[old]
        return True


def configure_logging(service: str, level: str = "INFO") -> structlog.stdlib.BoundLogger:
    """Configure structlog and stdlib logging; returns a logger bound to the service name."""
    renderer: structlog.types.Processor = (
        structlog.dev.ConsoleRenderer()
        if sys.stderr.isatty()
        else structlog.processors.JSONRenderer(ensure_ascii=False)
    )
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # On the handler, so that it sees the records of the libraries' child loggers too.
    handler.addFilter(OncePerOutage())
    structlog.contextvars.bind_contextvars(service=service)
    logger: structlog.stdlib.BoundLogger = structlog.get_logger()
    return logger
