"""Fixtures of the integration tests beyond tests/conftest.py: the demo database."""

from tests.integration.demo_support import demo, demo_url

__all__ = ["demo", "demo_url"]
