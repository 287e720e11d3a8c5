"""vardkedja as the benchmark serves it: `uvicorn --factory bench.ours_app:create`.

The same app `vardkedja serve` runs (create_app with a connection pool), configured from
VARDKEDJA_* variables, on a database the runner has already migrated and seeded.
"""

from __future__ import annotations

from starlette.applications import Starlette

from app.main import create_app
from app.settings import Settings


def create() -> Starlette:
    settings = Settings()
    if not settings.database_url:
        raise SystemExit("bench.ours_app needs VARDKEDJA_DATABASE_URL")
    return create_app(settings, url=settings.database_url)
