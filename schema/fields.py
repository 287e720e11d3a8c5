"""`@field(description=...)`: strawberry's field decorator, typed for mypy's strict mode
(strawberry types the decorator-with-arguments form as Any). `plan` declares how the query
planner reads the field in SQL (resolvers/planner/declare.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import strawberry

from resolvers.planner.declare import Declaration, planned

F = TypeVar("F", bound=Callable[..., Any])


def field(*, description: str, plan: Declaration | None = None) -> Callable[[F], F]:
    metadata = planned(plan) if plan is not None else None
    return cast(Callable[[F], F], strawberry.field(description=description, metadata=metadata))
