"""`@field(description=...)`: strawberry's field decorator, typed for mypy's strict mode
(strawberry types the decorator-with-arguments form as Any)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import strawberry

F = TypeVar("F", bound=Callable[..., Any])


def field(*, description: str) -> Callable[[F], F]:
    return cast(Callable[[F], F], strawberry.field(description=description))
