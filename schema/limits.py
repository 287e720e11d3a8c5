"""Query limits (depth, aliases, tokens) as schema extensions. Owned by the HTTP/limits work."""

from __future__ import annotations

from collections.abc import Callable

from strawberry.extensions import SchemaExtension

LIMIT_EXTENSIONS: list[Callable[[], SchemaExtension]] = []
