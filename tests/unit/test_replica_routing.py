"""Which requests a standby may answer (queries only), and the read-your-writes header."""

from __future__ import annotations

import pytest

from app.graphql_http import _is_query
from app.replicas import parse_lsn

TWO = "query Read { __typename } mutation Write { __typename }"


def test_only_queries_go_to_a_standby() -> None:
    assert _is_query("{ __typename }", None)
    assert _is_query(TWO, "Read")
    assert not _is_query(TWO, "Write")
    assert not _is_query(TWO, None)  # ambiguous: execution says so, on the primary
    assert not _is_query("mutation { __typename }", None)
    assert not _is_query("subscription { __typename }", None)
    assert not _is_query("{ unclosed", None)  # does not parse: the primary reports it


def test_the_position_header() -> None:
    assert parse_lsn(None) is None
    assert parse_lsn("  ") is None
    assert parse_lsn(" 0/16B3748 ") == "0/16B3748"
    assert parse_lsn("FFFFFFFF/FFFFFFFF") == "FFFFFFFF/FFFFFFFF"
    for bad in ("16B3748", "0/16B3748; DROP", "0/", "x/1", "0/123456789"):
        with pytest.raises(ValueError, match="WAL position"):
            parse_lsn(bad)
