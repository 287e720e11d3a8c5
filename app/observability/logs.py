"""Structured logs (VARDKEDJA_LOG_FORMAT=json): one JSON object per line, with the request id,
and an access line per request that names the path without its query string (a GET query's
variables can hold a personnummer; uvicorn's own access log, which prints them, is silenced)."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

ACCESS = logging.getLogger("vardkedja.access")
# Attributes every LogRecord has; anything else passed with `extra=` goes into the JSON object.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "request_id",
    "taskName",
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


_configured: str | None = None


def configure(log_format: str) -> None:
    """JSON lines on stderr for every logger (uvicorn's too), once per process; `text` leaves
    the logging set up by the command line and uvicorn alone."""
    global _configured
    if log_format != "json" or _configured == log_format:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    _configured = log_format


class WithoutQueryString(logging.Filter):
    """uvicorn's text access line without the query string: a GET query's variables can hold a
    personnummer, which has no place in a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        # uvicorn.access: (client_addr, method, full_path, http_version, status_code)
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], args[2].split("?", 1)[0], args[3], args[4])
        return True


def text_log_config() -> dict[str, Any]:
    """uvicorn's own logging configuration, its access lines passed through WithoutQueryString."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["without_query"] = {"()": WithoutQueryString}
    config["handlers"]["access"]["filters"] = ["without_query"]
    return config


def uvicorn_options(log_format: str) -> dict[str, Any]:
    """Keyword arguments for uvicorn.run: with JSON logs, configure them now and keep uvicorn
    from installing its own text handlers (so even its first lines are JSON); with text logs,
    uvicorn's own, its access lines without query strings."""
    if log_format != "json":
        return {"log_config": text_log_config()}
    configure(log_format)
    return {"log_config": None}


def access(
    method: str, path: str, status: int, seconds: float, operation: str | None = None
) -> None:
    """The access line of one request (at INFO, only when JSON logs are on)."""
    if _configured == "json":
        ACCESS.info(
            "%s %s %d",
            method,
            path,
            status,
            extra={
                "method": method,
                "path": path,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "operation": operation,
            },
        )
