"""GraphiQL served from the package: no CDN, so it works on a network without internet.

The page and its assets live in app/static/graphiql/ (vendored from npm, pinned; see LICENSES
there). A browser that navigates to /graphql, with or without `?query=`/`?q=` in the address,
gets the page; every other request reaches the GraphQL endpoint unchanged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import lru_cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent / "static" / "graphiql"
STATIC_PATH = "/static/graphiql"
# The page may load and call only this server; GraphiQL sets inline styles and fonts are data:.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"
)
Handler = Callable[[Request], Awaitable[Response]]


def wants_ide(request: Request) -> bool:
    """True for a browser navigation: a GET whose Accept lists text/html and names no JSON type.

    API clients ask for application/json or application/graphql-response+json (or send no
    Accept at all) and keep getting GraphQL answers, with or without a query string.
    """
    if request.method != "GET":
        return False
    accept = request.headers.get("accept", "").lower()
    return "text/html" in accept and "json" not in accept


@lru_cache(maxsize=4)
def _page(root_path: str) -> str:
    template = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    return template.replace("__STATIC__", root_path + STATIC_PATH)


def ide_page(request: Request) -> HTMLResponse:
    """The GraphiQL page; it reads the query from the address itself."""
    return HTMLResponse(
        _page(request.scope.get("root_path", "")),
        headers={
            "content-security-policy": CONTENT_SECURITY_POLICY,
            "cache-control": "no-cache",
            "x-content-type-options": "nosniff",
        },
    )


def with_ide(handler: Handler) -> Handler:
    """`handler`, except that browser navigations get the GraphiQL page."""

    async def handle(request: Request) -> Response:
        if wants_ide(request):
            return ide_page(request)
        return await handler(request)

    return handle


def static_mount() -> Mount:
    """The vendored assets, under STATIC_PATH."""
    return Mount(STATIC_PATH, app=StaticFiles(directory=STATIC_DIR), name="graphiql-static")
