"""Query limits: depth, aliases, tokens, and introspection depth, each with a stable code.

Built on strawberry's shipped limiters. Their validation rules are created once here (not per
request) so that ValidationCache, which keys on the rule classes, keeps hitting; each rule's
errors are re-issued with a clear message and `extensions.code`. The token limit is enforced
by the parser (MaxTokensLimiter) and coded by app/errors.py.

Introspection: QueryDepthLimiter ignores `__schema`/`__type`, so GraphiQL's introspection query
passes; graphql-core's MaxIntrospectionDepthRule (one of its specified rules) bounds
introspection instead: it stops the `fields { type { fields ...` cycles that would otherwise
grow the response exponentially; app/errors.py codes its error QUERY_TOO_DEEP.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from graphql import GraphQLError, ValidationContext, ValidationRule
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.extensions.max_aliases import create_validator as create_alias_validator
from strawberry.extensions.query_depth_limiter import create_validator as create_depth_validator

MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 4000


class _CodedContext:
    """A ValidationContext whose reported errors get a new message and a code."""

    def __init__(self, context: ValidationContext, code: str, message: str) -> None:
        self._context, self._code, self._message = context, code, message

    def report_error(self, error: GraphQLError) -> None:
        self._context.report_error(
            GraphQLError(self._message, error.nodes, extensions={"code": self._code})
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


def coded(rule: type[ValidationRule], code: str, message: str) -> type[ValidationRule]:
    """Wrap a rule that does its checking when constructed (strawberry's limiters do)."""

    class CodedRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            # KeyError: an undefined fragment, which KnownFragmentNamesRule reports properly.
            with contextlib.suppress(KeyError):
                rule(_CodedContext(context, code, message))  # type: ignore[arg-type]

    CodedRule.__name__ = f"Coded{rule.__name__}"
    return CodedRule


DEPTH_RULE = coded(
    create_depth_validator(MAX_DEPTH, None),
    "QUERY_TOO_DEEP",
    f"The operation nests fields deeper than {MAX_DEPTH} levels; ask for less in one request.",
)
ALIAS_RULE = coded(
    create_alias_validator(MAX_ALIASES),
    "TOO_MANY_ALIASES",
    f"The operation uses more than {MAX_ALIASES} aliases.",
)


class DepthLimit(QueryDepthLimiter):
    """QueryDepthLimiter with the shared, coded rule (introspection fields are not counted)."""

    def __init__(self) -> None:
        AddValidationRules.__init__(self, [DEPTH_RULE])


class AliasLimit(MaxAliasesLimiter):
    """MaxAliasesLimiter with the shared, coded rule."""

    def __init__(self) -> None:
        AddValidationRules.__init__(self, [ALIAS_RULE])


class TokenLimit(MaxTokensLimiter):
    """MaxTokensLimiter at MAX_TOKENS; the parser's error is coded QUERY_TOO_LARGE."""

    def __init__(self) -> None:
        super().__init__(max_token_count=MAX_TOKENS)


# Factories: the schema creates a fresh extension per request.
LIMIT_EXTENSIONS: list[Callable[[], SchemaExtension]] = [DepthLimit, AliasLimit, TokenLimit]
