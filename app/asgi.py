"""The ASGI factory for running the API under uvicorn (or another ASGI server) directly:

    uvicorn --factory app.asgi:create --host 0.0.0.0 --port 8000

It serves the external database of VARDKEDJA_DATABASE_URL, already migrated (`vardkedja
migrate`; the embedded server and the demo data are `vardkedja serve`'s). It asks the same
questions of the keys as `serve` (app/audit_key_guard.py): a refusal is one line on stderr and
exit code 1, never a traceback.
"""

from __future__ import annotations

import asyncio
import sys
from concurrent.futures import ThreadPoolExecutor

from starlette.applications import Starlette

from app.settings import Settings, SettingsError


def create() -> Starlette:
    from app.db import DatabaseUnavailable

    try:
        settings, url = _checked_settings()
    except (SettingsError, DatabaseUnavailable) as exc:
        sys.stderr.write(f"error: {exc}\n")
        raise SystemExit(1) from None
    from app.main import create_app

    return create_app(settings, url=url)


def _checked_settings() -> tuple[Settings, str]:
    from app import migrate
    from app.audit_key_guard import (
        require_recorded_key,
        require_serving_keys,
        require_shared_audit_key,
    )
    from app.db import check_reachable
    from app.settings import load_settings
    from app.tokens import with_dev_keys

    configured = load_settings()
    if not configured.database_url:
        raise SettingsError(
            "the ASGI factory needs VARDKEDJA_DATABASE_URL (the embedded server is started by "
            "`vardkedja serve`)"
        )
    require_serving_keys(configured)
    settings = with_dev_keys(configured)
    url = configured.database_url

    def check_database() -> None:
        asyncio.run(check_reachable(url))
        migrate.require_known_schema(url)  # an older version never serves a newer schema
        require_shared_audit_key(settings, url, configured.audit_key)
        require_recorded_key(settings, url)

    # uvicorn calls the factory inside its event loop: the checks' own loops run in a thread.
    with ThreadPoolExecutor(1) as thread:
        thread.submit(check_database).result()
    return settings, url
