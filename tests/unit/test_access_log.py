"""uvicorn's text access lines never carry a query string (GET variables may hold a
personnummer)."""

from __future__ import annotations

import logging

from app.observability.logs import WithoutQueryString, text_log_config, uvicorn_options


def test_the_query_string_is_cut_from_access_lines() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", '/graphql?variables={"p":"191212121212"}', "1.1", 200),
        None,
    )
    assert WithoutQueryString().filter(record)
    assert record.getMessage() == '127.0.0.1:5 - "GET /graphql HTTP/1.1" 200'
    assert "191212121212" not in record.getMessage()


def test_serve_uses_the_filter_in_text_mode() -> None:
    config = uvicorn_options("text")["log_config"]
    assert config == text_log_config()
    assert config["handlers"]["access"]["filters"] == ["without_query"]
    assert config["filters"]["without_query"]["()"] is WithoutQueryString
