"""The per-request context: principal, database connection, data-access gate, loaders, audit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from app.access.data import DataAccess
from app.access.policy import ClosedPolicy, OpenPolicy, Policy
from app.access.principal import Principal
from app.access.rider import Predictions
from app.audit import AuditBuffer
from app.errors import NotAuthenticated
from app.settings import Settings

T = TypeVar("T")


@dataclass
class Context:
    """Built once per request; the loader cache dies with it."""

    principal: Principal
    conn: AsyncConnection
    data: DataAccess
    audit: AuditBuffer
    settings: Settings
    operation_name: str | None = None
    # The endpoint's predictions of planned reads (app/access/rider.py); None: none ride.
    predictions: Predictions | None = None
    _loaders: dict[Any, Any] = field(default_factory=dict)

    def loader(self, factory: Callable[[Context], T]) -> T:
        """The request's instance of a loader, created on first use (Saleor's registry habit)."""
        found = self._loaders.get(factory)
        if found is None:
            found = self._loaders[factory] = factory(self)
        return found


class AnonymousContext:
    """The context of a request without a principal: it has no database connection, and any
    resolver reaching for data (connection, data access, loaders, audit) is refused at once.

    So an anonymous request costs no SQL and writes no audit row, and its answer cannot depend
    on what the database holds (whether a personnummer exists, how long a lookup takes): the
    endpoint answers every refused request with the same 401. Introspection and `__typename`
    need no data and still work.
    """

    REFUSAL = "a token is needed to read or write data"

    def __init__(
        self, principal: Principal, settings: Settings, operation_name: str | None = None
    ) -> None:
        assert principal.is_anonymous
        self.principal, self.settings, self.operation_name = principal, settings, operation_name
        self.refused = False

    # The fields of Context that lead to data; any other unknown name is an AttributeError, as
    # on any object (so that hasattr/getattr probes by libraries do not count as a refusal).
    DATA = frozenset({"conn", "data", "audit", "_loaders"})

    def __getattr__(self, name: str) -> Any:
        # Only called for attributes not set in __init__.
        if name not in self.DATA:
            raise AttributeError(name)
        self.refused = True
        raise NotAuthenticated(self.REFUSAL)

    def loader(self, factory: Callable[[Context], T]) -> T:
        self.refused = True
        raise NotAuthenticated(self.REFUSAL)


def choose_policy(principal: Principal, settings: Settings) -> Policy:
    """The real policy for every verified principal; nothing for anonymous callers."""
    if principal.is_anonymous:
        return ClosedPolicy()
    if not settings.access_policy:
        return OpenPolicy()
    from app.access.care import CarePolicy

    return CarePolicy()


def build_context(
    conn: AsyncConnection,
    principal: Principal,
    settings: Settings,
    *,
    policy: Policy | None = None,
    operation_name: str | None = None,
    predictions: Predictions | None = None,
) -> Context:
    # Benchmarks switch policy and audit off together (settings.access_policy = False).
    audit = AuditBuffer(
        chain_key=(settings.audit_key or "").encode(), enabled=settings.access_policy
    )
    chosen = policy if policy is not None else choose_policy(principal, settings)
    data = DataAccess(
        conn, principal, chosen, audit, pseudonym_key=(settings.pseudonym_key or "").encode()
    )
    return Context(principal, conn, data, audit, settings, operation_name, predictions)
