"""What a compiled operation is, and the pieces every one of them shares.

A compiled operation answers one shipped document (by its exact sha256) with one SQL statement
that builds the whole `data` JSON, plus the statements the policy needs to decide on the patient.
It must return exactly what the GraphQL path returns and record exactly the same audit entries;
tests/integration/test_compiled_*.py compare both paths.
"""

from __future__ import annotations

import dataclasses
import typing
import uuid
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson
from graphql import GraphQLSchema, OperationDefinitionNode, get_variable_values, parse
from sqlalchemy import (
    CTE,
    ClauseElement,
    ColumnElement,
    RowMapping,
    Table,
    Text,
    cast,
    false,
    func,
    literal_column,
    or_,
    select,
    union_all,
)

from app.access.data import visibility_of
from app.access.grouping import for_group, shape
from app.access.policy import PatientAccess
from app.context import Context
from app.sqlplan import PLANS, Placeholder, Plan, PlanError, compile_plan, placeholder

NEWEST_FIRST = ("event_time", "id")


@dataclass(frozen=True)
class Disclosed:
    """One kind of disclosed rows in the statement: the page CTE and its GraphQL type name."""

    type_name: str
    page: CTE


class CompiledOperation:
    """One persisted operation run as one statement. Subclasses set `name` and implement
    `prepare` (checks on the coerced variables, no I/O) and `run`."""

    name: ClassVar[str]

    def __init__(self, document: str) -> None:
        parsed = parse(document)
        operations = [d for d in parsed.definitions if isinstance(d, OperationDefinitionNode)]
        assert len(operations) == 1 and operations[0].name is not None
        assert operations[0].name.value == self.name
        self.operation = operations[0]

    def coerce(
        self, schema: GraphQLSchema, variables: Mapping[str, Any] | None
    ) -> dict[str, Any] | None:
        """The variables coerced as graphql-core would; None if they do not validate (the
        GraphQL path then runs and reports the errors)."""
        coerced = get_variable_values(
            schema, self.operation.variable_definitions or (), dict(variables or {})
        )
        return None if isinstance(coerced, list) else dict(coerced.coerced)

    def prepare(self, variables: dict[str, Any]) -> Any | None:
        """Whatever `run` needs from the variables; None: the GraphQL path must run (e.g. an
        argument a resolver would reject, so that the error comes out exactly the same)."""
        raise NotImplementedError

    async def run(self, ctx: Context, prepared: Any) -> Data:
        """The `data` of the operation; records disclosures and denials in ctx.audit."""
        raise NotImplementedError


KEY_COLUMNS = ("id", "patient_id", "event_time")


def columns_of(table: Table, names: Sequence[str]) -> list[ColumnElement[Any]]:
    """The key columns and `names`: only what the JSON needs (SQLAlchemy builds a proxy per
    column of every CTE and LATERAL, which dominates building the statement for wide tables)."""
    return [table.c[n] for n in dict.fromkeys((*KEY_COLUMNS, *names))]


def newest_first(page: Any) -> list[ColumnElement[Any]]:
    return [page.c[n].desc() for n in NEWEST_FIRST]


def disclosures(kinds: Sequence[Disclosed]) -> ColumnElement[Any]:
    """Every row the statement put in `data`, as a JSON object of patient id -> resources
    ("Type:id", as AuditBuffer.disclose writes them)."""
    parts = [
        select(
            k.page.c.patient_id,
            literal_column(f"'{k.type_name}:'", Text).concat(cast(k.page.c.id, Text)).label("r"),
        )
        for k in kinds
    ]
    rows = union_all(*parts).subquery("disclosed")
    per_patient = (
        select(rows.c.patient_id, func.json_agg(rows.c.r).label("resources"))
        .group_by(rows.c.patient_id)
        .subquery("per_patient")
    )
    agg = func.json_object_agg(per_patient.c.patient_id, per_patient.c.resources)
    whole = func.coalesce(agg, literal_column("'{}'::json"))
    return cast(select(whole).select_from(per_patient).scalar_subquery(), Text)


def cached_plan(key: Hashable, build: Callable[[], Plan]) -> Plan:
    """A plan that depends on nothing but `key` (app/sqlplan.py)."""
    return PLANS.get(key, build)


Visibility = Callable[[Table], ColumnElement[bool]]


def plan_for_many(
    key: Hashable,
    decisions: Sequence[PatientAccess],
    build: Callable[[Visibility], ClauseElement],
    names: Sequence[str] = (),
    placeholders: Mapping[Placeholder, str] | None = None,
) -> tuple[Plan, dict[str, Any]]:
    """The plan of a many-patient statement under the policy's `decisions`, and the values of
    its patient slots.

    `build(visible)` makes the statement, with `visible(table)` as the policy's predicate on
    each table (as `visibility_of`). Patients with the same decision but for the id form a
    group whose filter is the decision's, with `patient_id = ANY(<the group's ids>)`
    (app/access/grouping.py); the plan depends only on the groups' decisions, each group's ids
    are one slot. Decisions that cannot be grouped so are compiled for this run alone.
    """
    groups: dict[object, list[PatientAccess]] = {}
    for decision in decisions:
        if decision.may_see_patient:
            blank = shape(decision)
            if blank is None:
                return _plan_now(decisions, build, names, placeholders), {}
            groups.setdefault(blank, []).append(decision)
    values = {f"group{n}": [d.patient_id for d in g] for n, g in enumerate(groups.values())}

    def make() -> Plan:
        ids = [placeholder() for _ in groups]
        stand_ins: list[PatientAccess] = [
            dataclasses.replace(typing.cast(Any, group[0]), patient_id=marker)
            for marker, group in zip(ids, groups.values(), strict=True)
        ]

        def visible(table: Table) -> ColumnElement[bool]:
            filters = []
            for marker, stand_in in zip(ids, stand_ins, strict=True):
                grouped = for_group(stand_in.row_filter(table), marker, [marker])
                if grouped is None:
                    raise PlanError("a decision whose patient id is not only compared")
                filters.append(grouped)
            return or_(*filters) if filters else false()

        marks: dict[Placeholder, str] = {m: f"group{n}" for n, m in enumerate(ids)}
        marks |= placeholders or {}
        return compile_plan(build(visible), names=names, placeholders=marks)

    try:
        return PLANS.get((key, tuple(groups)), make), values
    except PlanError:
        return _plan_now(decisions, build, names, placeholders), {}


def _plan_now(
    decisions: Sequence[PatientAccess],
    build: Callable[[Visibility], ClauseElement],
    names: Sequence[str],
    placeholders: Mapping[Placeholder, str] | None,
) -> Plan:
    statement = build(lambda table: visibility_of(table, decisions))
    return compile_plan(statement, names=names, placeholders=placeholders)


class JsonText(bytes):
    """The JSON text of `data` as PostgreSQL built it: the response carries it as it is,
    without parsing and serialising it again (the differential tests parse it strictly)."""


Data = dict[str, Any] | JsonText


def as_value(data: Data) -> dict[str, Any]:
    """`data` as a Python value, whichever form a compiled operation returned."""
    if isinstance(data, JsonText):
        parsed: dict[str, Any] = orjson.loads(memoryview(data))  # orjson takes no subclass
        return parsed
    return data


def fetch_json(ctx: Context, rows: Sequence[RowMapping]) -> JsonText:
    """The `data` of a statement of columns `data` and `disclosed`; records the disclosures
    with the same AuditBuffer call `DataAccess.fetch(disclose=...)` makes."""
    row = rows[0]
    for patient_id, resources in orjson.loads(row["disclosed"]).items():
        ctx.audit.disclose_all(uuid.UUID(patient_id), resources)
    return JsonText(row["data"].encode())


__all__ = [
    "CompiledOperation",
    "Data",
    "Disclosed",
    "JsonText",
    "as_value",
    "columns_of",
    "fetch_json",
]
