"""Internal errors are logged once, when masked; expected errors are not logged as incidents."""

from __future__ import annotations

import logging

import pytest
from graphql import GraphQLError

from app.errors import BadInput, format_error
from schema import schema


def test_internal_error_is_masked_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    error = GraphQLError("boom", original_error=RuntimeError("secret detail"))
    with caplog.at_level(logging.DEBUG):
        schema.process_errors([error])
        formatted = format_error(error)
    assert formatted["message"] == "Internal server error"
    assert formatted["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    assert "secret detail" not in str(formatted)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].name == "vardkedja.errors"


def test_expected_error_is_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    error = GraphQLError("bad", original_error=BadInput("personnummer: check digit"))
    with caplog.at_level(logging.DEBUG):
        schema.process_errors([error])
        formatted = format_error(error)
    assert formatted["extensions"]["code"] == "BAD_USER_INPUT"
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
