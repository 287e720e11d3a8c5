"""What every data route (/graphql, FHIR) checks around its work: rate limits, anonymous
callers, failures that end a request with a coded answer, and clients that go away."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

from graphql import GraphQLError
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request

from app.access.principal import Principal
from app.context import AnonymousContext
from app.db import cancel_running
from app.errors import AppError, NotAuthenticated, RateLimited, RequestTimeout, ServiceUnavailable
from app.outage import is_statement_timeout, unavailable_reason
from app.ratelimit import TokenBuckets
from app.settings import Settings

log = logging.getLogger("vardkedja.http")
T = TypeVar("T")
# Seconds to wait for the server to take a departed client's cancel request.
CANCEL_WAIT = 2.0


class RateLimits:
    """A bucket per client address (before authentication) and one per principal."""

    def __init__(self, settings: Settings) -> None:
        self.by_address = TokenBuckets(
            settings.rate_limit_address_per_second, settings.rate_limit_address_burst
        )
        self.by_principal = TokenBuckets(settings.rate_limit_per_second, settings.rate_limit_burst)

    def check_address(self, request: Request) -> None:
        address = request.client.host if request.client else "unknown"
        wait = self.by_address.take(address)
        if wait is not None:
            raise RateLimited(
                f"too many requests from this address; retry in {wait} s", retry_after=wait
            )

    def check_principal(self, principal: Principal) -> None:
        if principal.is_anonymous:
            return  # counted by address only
        wait = self.by_principal.take(f"{principal.kind.value}:{principal.subject}")
        if wait is not None:
            raise RateLimited(
                f"too many requests for this principal; retry in {wait} s", retry_after=wait
            )


def refuse_anonymous() -> NotAuthenticated:
    """The one answer to every anonymous request that reaches for data, whatever it names."""
    return NotAuthenticated(AnonymousContext.REFUSAL)


def ending_error(exc: BaseException, settings: Settings) -> AppError | None:
    """The coded answer for a failure that ends the whole request, if `exc` is one: the
    database unavailable (503) or the request's statement timeout (504)."""
    if isinstance(exc, AppError):
        return exc
    reason = unavailable_reason(exc)
    if reason is not None:
        return ServiceUnavailable(reason, retry_after=settings.retry_after)
    if is_statement_timeout(exc):
        return RequestTimeout(
            f"the request ran longer than {settings.statement_timeout:g} s; nothing was written"
        )
    return None


def first_ending_error(
    errors: Iterable[GraphQLError] | None, settings: Settings
) -> AppError | None:
    """The first field error that ends the whole request (see `ending_error`)."""
    for error in errors or ():
        original = error.original_error
        if original is not None and not isinstance(original, (AppError, GraphQLError)):
            found = ending_error(original, settings)
            if found is not None:
                return found
    return None


def error_headers(exc: AppError) -> dict[str, str]:
    """Headers a coded answer carries: when to retry, how to authenticate."""
    if isinstance(exc, (ServiceUnavailable, RateLimited)):
        return {"retry-after": str(exc.retry_after)}
    if exc.status == 401:
        return {"www-authenticate": "Bearer"}
    return {}


class RunningRequest:
    """The connection a request is using, so that its client's disconnect can cancel the
    statement running on the server."""

    def __init__(self) -> None:
        self.conn: AsyncConnection | None = None

    async def cancel(self) -> None:
        if self.conn is not None:
            try:
                await cancel_running(self.conn)
            except Exception as exc:  # the rollback that follows cleans up all the same
                log.warning("could not cancel the statement of a departed client: %r", exc)


class ClientGone(Exception):
    """The client disconnected before its answer was ready; nobody is left to answer."""


async def until_disconnect(
    request: Request, work: Awaitable[T], on_disconnect: Callable[[], Awaitable[None]]
) -> T:
    """`work`, cancelled if the client disconnects first (then `on_disconnect` runs, e.g. to
    cancel the statement on the server, and ClientGone is raised)."""
    task = asyncio.ensure_future(work)
    gone = asyncio.Event()

    async def watch() -> None:
        while True:
            message = await request.receive()
            if message["type"] == "http.disconnect":
                gone.set()
                # Bounded: a server that does not answer the cancel request must not keep the
                # request alive (the statement timeout ends the statement all the same).
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(on_disconnect(), CANCEL_WAIT)
                task.cancel()
                return

    watcher = asyncio.ensure_future(watch())
    try:
        return await task
    except asyncio.CancelledError:
        if gone.is_set():
            raise ClientGone from None
        raise
    finally:
        watcher.cancel()
