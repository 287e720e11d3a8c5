"""A real server process for the subscription tests: `python -m tests.integration.live_server
URL PORT` serves the app on 127.0.0.1:PORT against the database URL (the tests stop it)."""

from __future__ import annotations

import sys

import uvicorn

from app.main import create_app
from app.settings import Settings
from tests.conftest import TEST_SECRET


def main() -> None:
    url, port = sys.argv[1], int(sys.argv[2])
    settings = Settings(jwt_secret=TEST_SECRET, database_url=url, audit_key="live-test-key")
    uvicorn.run(create_app(settings, url=url), host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
