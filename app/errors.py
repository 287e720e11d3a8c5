"""Errors with a stable, machine-readable code (`extensions.code`), and their formatting.

Expected failures raise AppError (or a subclass) with a code; anything else is masked as
INTERNAL_SERVER_ERROR so no stack trace or internal detail reaches a client. ERROR_CODES lists
every code a client can see (docs/care-situations.md prints the same table; a test keeps them
in step).
"""

from __future__ import annotations

import logging
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError

log = logging.getLogger("vardkedja.errors")

# code -> what it means. Request-level codes come with a 4xx status (see docs); field-level
# codes come inside a 200 response with `data`.
ERROR_CODES: dict[str, str] = {
    "BAD_REQUEST": "The HTTP request is malformed: body not JSON, a parameter of the wrong type,"
    " no query.",
    "METHOD_NOT_ALLOWED": "A mutation sent with GET; use POST.",
    "NOT_ACCEPTABLE": "The Accept header allows neither application/graphql-response+json nor"
    " application/json.",
    "UNSUPPORTED_MEDIA_TYPE": "A POST body that is not application/json (UTF-8).",
    "PAYLOAD_TOO_LARGE": "The request body is larger than the server accepts.",
    "UNAUTHENTICATED": "No valid token, or a write without a principal.",
    "FORBIDDEN": "The principal may not do this (the refusal is logged).",
    "EMERGENCY_REASON_REQUIRED": "Purpose ETREAT (emergency access) without the"
    " X-Emergency-Reason header.",
    "GRAPHQL_PARSE_FAILED": "The document is not valid GraphQL syntax.",
    "GRAPHQL_VALIDATION_FAILED": "The document does not fit the schema.",
    "OPERATION_RESOLUTION_FAILURE": "operationName names no operation of the document, or it is"
    " missing where the document has several operations.",
    "BAD_USER_INPUT": "A variable or argument has the wrong type or an invalid value.",
    "QUERY_TOO_DEEP": "Fields are nested deeper than the limit (introspection too).",
    "TOO_MANY_ALIASES": "More aliases than the limit.",
    "QUERY_TOO_LARGE": "More tokens than the limit, or more fields than the limit once fragments"
    " are expanded.",
    "QUERY_TOO_COSTLY": "The estimated result (page sizes multiplied along each path) is larger"
    " than the caller's ceiling; `cost` and `limit` in extensions.",
    "INVALID_VALUE": "A string argument or variable that cannot be stored (a NUL character or an"
    " invalid code point); `argument` names it.",
    "PAGE_SIZE_EXCEEDED": "A page larger than the limit was asked for.",
    "PERSISTED_QUERY_NOT_FOUND": "No shipped operation has this name, hash or documentId.",
    "PERSISTED_QUERY_REQUIRED": "The server accepts only shipped (persisted) operations.",
    "PERSISTED_QUERY_HASH_MISMATCH": "The sha256Hash sent does not match the query sent.",
    "NOT_FOUND": "A referenced object does not exist or is not visible.",
    "NOT_APPROVED": "A research token asked for records, but its study's ethics approval allows"
    " cohort counts only (the refusal is logged).",
    "BAD_CURSOR": "A research token gave a cursor that is not a sealed cursor of its answers"
    " (altered, written by hand, or from a non-research answer).",
    "FOREIGN_CURSOR": "A research token gave a cursor sealed for another study.",
    "CONFLICT": "The object changed since it was read.",
    "CURSOR_EXPIRED": "A change-feed cursor older than the change log keeps: sync again from"
    " the lists, then continue from a fresh cursor (docs/changes.md).",
    "SUBSCRIPTIONS_UNAVAILABLE": "This server process runs no change listener (it was started"
    " without a database URL).",
    "SUBSCRIPTION_FELL_BEHIND": "A subscription's client did not keep up; catch up with"
    " changes(after:) and subscribe again.",
    "INTERNAL_SERVER_ERROR": "Something failed on the server; details are in its log only.",
    "SERVICE_UNAVAILABLE": "The database cannot be reached or has no free connection (HTTP 503);"
    " retry after the seconds in Retry-After.",
    "RATE_LIMITED": "Too many requests from this principal or address (HTTP 429); retry after"
    " the seconds in Retry-After.",
    "PURPOSE_NOT_ALLOWED": "The purpose of use does not fit the principal's kind (HTTP 403):"
    " patients and proxies PATRQT, research RESEARCH, clinicians TREAT, ETREAT or ADMIN,"
    " systems ADMIN.",
    "REQUEST_TIMEOUT": "The request took longer than the server allows (HTTP 504); nothing was"
    " written.",
    "RESPONSE_TOO_LARGE": "The answer would be larger than the server sends (HTTP 422); ask for"
    " fewer or smaller pages. Nothing was disclosed.",
}

INTERNAL = "INTERNAL_SERVER_ERROR"


class AppError(Exception):
    """An error a client may see: `code` is stable, `message` is for people.

    `status` is the HTTP status used when the error ends a request before execution.
    """

    code = "BAD_REQUEST"
    status = 400

    def __init__(
        self, message: str, *, code: str | None = None, status: int | None = None, **extensions: Any
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.extensions = extensions


class NotAuthenticated(AppError):
    code = "UNAUTHENTICATED"
    status = 401


class Forbidden(AppError):
    code = "FORBIDDEN"
    status = 403


class BadInput(AppError):
    code = "BAD_USER_INPUT"


class ServiceUnavailable(AppError):
    """The database is unavailable; `retry_after` seconds go into the Retry-After header."""

    code = "SERVICE_UNAVAILABLE"
    status = 503

    def __init__(self, reason: str, *, retry_after: int = 5) -> None:
        super().__init__("the service is temporarily unavailable; retry later")
        self.reason, self.retry_after = reason, retry_after


class RateLimited(AppError):
    code = "RATE_LIMITED"
    status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RequestTimeout(AppError):
    code = "REQUEST_TIMEOUT"
    status = 504


class ResponseTooLarge(AppError):
    code = "RESPONSE_TOO_LARGE"
    status = 422


class NotFound(AppError):
    code = "NOT_FOUND"
    status = 404


class Conflict(AppError):
    code = "CONFLICT"
    status = 409


def _syntax_code(message: str) -> str:
    """The parser's own limits are syntax errors; give them the limit codes."""
    if "tokens" in message:
        return "QUERY_TOO_LARGE"
    if "nested too deeply" in message:
        return "QUERY_TOO_DEEP"
    return "GRAPHQL_PARSE_FAILED"


# graphql-core's own limit on introspection (MaxIntrospectionDepthRule).
INTROSPECTION_TOO_DEEP = "Maximum introspection depth exceeded"
# graphql-core stops validating when a rule recurses too deep (e.g. ~1,000 sibling fields).
VALIDATION_ABORTED = "Validation aborted."


def _is_variable_error(error: GraphQLError) -> bool:
    """graphql-core's variable coercion errors: no path, message about a `$variable`."""
    return error.path is None and error.message.startswith("Variable '$")


def error_code(error: GraphQLError) -> str:
    """The stable code of one GraphQL error (before masking)."""
    original = error.original_error
    if isinstance(original, AppError):
        return original.code
    if isinstance(error, GraphQLSyntaxError) or isinstance(original, GraphQLSyntaxError):
        return _syntax_code(error.message)
    if _is_variable_error(error):
        return "BAD_USER_INPUT"
    if error.path is None and error.message == INTROSPECTION_TOO_DEEP:
        return "QUERY_TOO_DEEP"
    if error.path is None and error.message == VALIDATION_ABORTED:
        return "QUERY_TOO_LARGE"
    if original is not None and not isinstance(original, GraphQLError):
        return INTERNAL
    code = (error.extensions or {}).get("code")
    if isinstance(code, str):
        return code
    if error.path is not None:
        # A field error graphql-core raised itself (e.g. null in a non-null field): our bug.
        return INTERNAL
    return "GRAPHQL_VALIDATION_FAILED"


def format_error(error: GraphQLError) -> dict[str, Any]:
    """The JSON of one error, with `extensions.code` always set and internals masked."""
    original = error.original_error
    formatted: dict[str, Any] = dict(error.formatted)
    extensions: dict[str, Any] = dict(formatted.get("extensions") or {})
    code = error_code(error)
    if isinstance(original, AppError):
        formatted["message"] = original.message
        extensions.update(original.extensions)
    elif code == INTERNAL:
        log.error("internal error at %s: %s", error.path, error.message, exc_info=original)
        formatted["message"] = "Internal server error"
        extensions = {}
    elif error.message == VALIDATION_ABORTED:
        formatted["message"] = "The document is too large to validate; send a smaller one."
    extensions["code"] = code
    formatted["extensions"] = extensions
    return formatted


def request_error(message: str, code: str) -> dict[str, Any]:
    """A response body for an error that ends a request before execution (no `data`)."""
    return {"errors": [{"message": message, "extensions": {"code": code}}]}
