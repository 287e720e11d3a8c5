"""CORS: which browser origins may call the API from another site (VARDKEDJA_CORS_ORIGINS).

Tokens travel in the Authorization header, never in cookies, so credentials mode stays off;
the preflight allows exactly the headers the API reads.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.middleware import Middleware

_ORIGIN = re.compile(
    r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$"
)
ALLOWED_HEADERS = [
    "authorization",
    "content-type",
    "accept",
    "x-purpose-of-use",
    "x-emergency-reason",
    "x-request-id",
    "vardkedja-lsn",  # read-your-writes with read replicas (app/replicas.py)
]
EXPOSED_HEADERS = ["x-request-id", "vardkedja-lsn"]
PREFLIGHT_CACHE_SECONDS = 600


def check_origin(origin: str) -> str:
    """`origin` if it is `*` or scheme://host[:port] (no path, no trailing slash)."""
    if origin == "*" or _ORIGIN.match(origin):
        return origin
    raise ValueError(f"{origin!r} is not an origin like https://app.example.se[:port] or *")


def cors_middleware(origins: list[str]) -> Middleware:
    """Starlette's CORSMiddleware for `origins` (none: every cross-site preflight is refused)."""
    # Imported here: settings validate origins with this module, and `vardkedja token` loads
    # settings without the web stack.
    from starlette.middleware import Middleware
    from starlette.middleware.cors import CORSMiddleware

    options: dict[str, Any] = {
        "allow_origins": origins,
        "allow_methods": ["GET", "POST"],
        "allow_headers": ALLOWED_HEADERS,
        "expose_headers": EXPOSED_HEADERS,
        "allow_credentials": False,
        "max_age": PREFLIGHT_CACHE_SECONDS,
    }
    return Middleware(CORSMiddleware, **options)
