"""The clinician page at /app: static HTML and JavaScript in app/static/clinician/, no build
step and nothing from the internet. It signs in with a development token, searches patients,
shows the emergency overview (a shipped operation) with withheld items marked, opens emergency
access in two steps with a reason, and shows a patient their access log. Every read goes
through /graphql, so the access policy and the audit trail apply as to any client."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from app.graphiql import CONTENT_SECURITY_POLICY

STATIC_DIR = Path(__file__).resolve().parent / "static" / "clinician"
PAGE_PATH = "/app"
STATIC_PATH = "/app/static"


@lru_cache(maxsize=4)
def _page(root_path: str) -> str:
    template = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    return template.replace("__STATIC__", root_path + STATIC_PATH)


async def page(request: Request) -> HTMLResponse:
    return HTMLResponse(
        _page(request.scope.get("root_path", "")),
        headers={
            "content-security-policy": CONTENT_SECURITY_POLICY,
            "cache-control": "no-cache",
            "x-content-type-options": "nosniff",
        },
    )


def clinician_routes() -> list[BaseRoute]:
    return [
        Route(PAGE_PATH, page, methods=["GET"]),
        Route(PAGE_PATH + "/", page, methods=["GET"]),
        Mount(STATIC_PATH, app=StaticFiles(directory=STATIC_DIR), name="clinician-static"),
    ]
