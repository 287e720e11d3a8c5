"""The anonymous context refuses what leads to data, and nothing else."""

from __future__ import annotations

import pytest

from app.access.principal import ANONYMOUS
from app.context import AnonymousContext
from app.errors import NotAuthenticated
from app.settings import Settings


def test_data_is_refused_and_remembered() -> None:
    for name in ("conn", "data", "audit"):
        ctx = AnonymousContext(ANONYMOUS, Settings(database_url=None), "Q")
        with pytest.raises(NotAuthenticated, match="a token is needed"):
            getattr(ctx, name)
        assert ctx.refused
    ctx = AnonymousContext(ANONYMOUS, Settings(database_url=None))
    with pytest.raises(NotAuthenticated):
        ctx.loader(lambda c: c)
    assert ctx.refused


def test_other_names_are_plain_attributes() -> None:
    ctx = AnonymousContext(ANONYMOUS, Settings(database_url=None), "Q")
    assert ctx.principal is ANONYMOUS and ctx.operation_name == "Q"
    assert not hasattr(ctx, "request") and getattr(ctx, "cost", None) is None
    assert not ctx.refused
