"""Errors with a stable, machine-readable code (`extensions.code`), and their formatting.

Expected failures raise AppError (or a subclass) with a code; anything else is masked as
INTERNAL_SERVER_ERROR so no stack trace or internal detail reaches a client.
"""

from __future__ import annotations

import logging
from typing import Any

from graphql import GraphQLError

log = logging.getLogger("vardkedja.errors")


class AppError(Exception):
    """An error a client may see: `code` is stable, `message` is for people."""

    code = "BAD_REQUEST"

    def __init__(self, message: str, *, code: str | None = None, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.extensions = extensions


class NotAuthenticated(AppError):
    code = "UNAUTHENTICATED"


class Forbidden(AppError):
    code = "FORBIDDEN"


class BadInput(AppError):
    code = "BAD_USER_INPUT"


class NotFound(AppError):
    code = "NOT_FOUND"


class Conflict(AppError):
    code = "CONFLICT"


def format_error(error: GraphQLError) -> dict[str, Any]:
    """The JSON of one error, with `extensions.code` always set and internals masked."""
    original = error.original_error
    formatted = error.formatted
    extensions: dict[str, Any] = dict(formatted.get("extensions") or {})
    if isinstance(original, AppError):
        formatted["message"] = original.message
        extensions.update(original.extensions)
        extensions["code"] = original.code
    elif original is not None and not isinstance(original, GraphQLError):
        log.error("internal error in %s", error.path, exc_info=original)
        formatted["message"] = "Internal server error"
        extensions = {"code": "INTERNAL_SERVER_ERROR"}
    elif error.message.startswith("Syntax Error"):
        extensions.setdefault("code", "GRAPHQL_PARSE_FAILED")
    else:
        extensions.setdefault("code", "GRAPHQL_VALIDATION_FAILED")
    formatted["extensions"] = extensions
    return dict(formatted)
