"""`patients(filter:, first:, after:)` planned: the search as the loader path runs it, then one
statement for the fields of every patient on the page.

The search (`search_candidates`: candidates under the search scope, the policy's decisions)
is the loader path's own code, so it finds, audits and pages exactly alike; the connection's
counts and cursors come from its Page. The patients it allows are disclosed as
`search_patients` discloses them, and their fields read by one statement under every
patient's decision: decisions that differ only in the patient share one predicate over their
ids (`plan_for_many`). A patient field that cannot be planned declines the whole document to
GraphQL execution.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson
from graphql import GraphQLObjectType
from graphql.execution.collect_fields import FieldDetailsList
from sqlalchemy import ARRAY, ColumnElement, FromClause, Uuid, any_, bindparam, select

from app.access.policy import PatientAccess
from app.errors import AppError
from app.observability.metrics import PLANNER_FIELDS
from app.sqlplan import Placeholder, Plan
from resolvers.pagination import Page
from resolvers.planner.build import Builder
from resolvers.planner.many import Visibility, plan_for_many
from resolvers.planner.parts import Decline, Part, Request, Unplannable, list_item, object_type
from resolvers.planner.sqljson import text_obj
from resolvers.planner.sqltext import aliased, disclosed_of, joined
from resolvers.tables import PATIENT


class Many:
    """The decisions on a page of patients as the builder sees one decision: its predicate
    is theirs together; what differs between them (the address) cannot be planned."""

    def __init__(
        self, visible: Callable[[FromClause], ColumnElement[bool]], decisions: Sequence[Any]
    ) -> None:
        self._visible = visible
        self._decisions = decisions

    def row_filter(self, table: FromClause) -> ColumnElement[bool]:
        return self._visible(table)

    @property
    def may_see_address(self) -> bool:
        seen = {bool(d.may_see_address) for d in self._decisions}
        if len(seen) != 1:
            raise Unplannable("patients whose addresses the caller may and may not see")
        return seen.pop()


async def patients_json(
    req: Request, query_type: GraphQLObjectType, details: FieldDetailsList
) -> bytes:
    """One `patients` field: its JSON text; `Decline` when GraphQL execution must answer."""
    ctx, schema, doc, variables = req.ctx, req.schema, req.doc, req.variables
    from resolvers.patients import PATIENT_SORT, search_candidates
    from schema.inputs import patient_search

    gfield = query_type.fields["patients"]
    probe = Builder(schema._schema, schema, doc.fragments, variables, doc.operation, _NOBODY)
    try:
        kwargs = probe.arguments(gfield, details)
        search = patient_search(kwargs.get("filter"))
        page = await search_candidates(
            ctx, search, first=kwargs.get("first"), after=kwargs.get("after")
        )
    except AppError as exc:
        raise Decline from exc
    # As search_patients, which reads these patients' rows to show them: disclosed.
    for row in page.rows:
        ctx.audit.disclose(row["id"], "Patient", row["id"])
    conn_type = object_type(gfield.type, "patients")
    selected = probe.subfields(conn_type, details)
    node_details = _node_selections(probe, conn_type, selected)
    nodes: dict[uuid.UUID, bytes] = {}
    if node_details is not None and page.rows:
        nodes = await _nodes(req, page, node_details)
    pieces: list[bytes] = []
    for key, sub in selected.items():
        name = sub[0].node.name.value
        value: bytes
        if name == "totalCount":
            value = orjson.dumps(await page.total_count())
        elif name == "nodes":
            value = b"[" + b",".join(nodes[r["id"]] for r in page.rows) + b"]"
        elif name == "edges":
            edge_type = object_type(list_item(conn_type, sub), "edges")
            edges = [_edge(probe, edge_type, sub, row, nodes) for row in page.rows]
            value = b"[" + b",".join(edges) + b"]"
        elif name == "pageInfo":
            value = orjson.dumps(_page_info(page, PATIENT_SORT.encode, probe, conn_type, sub))
        elif name == "__typename":
            value = orjson.dumps(conn_type.name)
        else:
            raise Decline
        pieces.append(orjson.dumps(key) + b":" + value)
    return b"{" + b",".join(pieces) + b"}"


def _edge(
    probe: Builder,
    edge_type: GraphQLObjectType,
    details: FieldDetailsList,
    row: Any,
    nodes: Mapping[uuid.UUID, bytes],
) -> bytes:
    from resolvers.patients import PATIENT_SORT

    parts = []
    for key, sub in probe.subfields(edge_type, details).items():
        name = sub[0].node.name.value
        if name == "cursor":
            value = orjson.dumps(PATIENT_SORT.encode(row))
        elif name == "node":
            value = nodes[row["id"]]
        elif name == "__typename":
            value = orjson.dumps(edge_type.name)
        else:
            raise Decline
        parts.append(orjson.dumps(key) + b":" + value)
    return b"{" + b",".join(parts) + b"}"


def _node_selections(
    probe: Builder, conn_type: GraphQLObjectType, selected: Mapping[str, FieldDetailsList]
) -> FieldDetailsList | None:
    """The field nodes that select a patient: `nodes` and `edges { node }` must ask for the
    same (one statement answers both)."""

    found: list[FieldDetailsList] = []
    for sub in selected.values():
        name = sub[0].node.name.value
        if name == "nodes":
            found.append(sub)
        elif name == "edges":
            edge_type = object_type(list_item(conn_type, sub), "edges")
            for edge_sub in probe.subfields(edge_type, sub).values():
                if edge_sub[0].node.name.value == "node":
                    found.append(edge_sub)
    if not found:
        return None
    if len(found) > 1:  # printed only then: not on every request's path
        printed = {tuple(str(d.node.selection_set) for d in f) for f in found}
        if len(printed) > 1:
            raise Decline
    return found[0]


def _page_info(
    page: Page,
    encode: Callable[[Any], str],
    probe: Builder,
    conn_type: GraphQLObjectType,
    details: FieldDetailsList,
) -> dict[str, Any]:
    rows = page.rows
    last = page.last if page.last is not None else (rows[-1] if rows else None)
    values = {
        "hasNextPage": page.has_next,
        "hasPreviousPage": page.has_previous,
        "startCursor": encode(rows[0]) if rows else None,
        "endCursor": encode(last) if last is not None else None,
    }
    info_type = object_type(conn_type.fields["pageInfo"].type, "pageInfo")
    return {
        key: info_type.name
        if sub[0].node.name.value == "__typename"
        else values[sub[0].node.name.value]
        for key, sub in probe.subfields(info_type, details).items()
    }


async def _nodes(req: Request, page: Page, details: FieldDetailsList) -> dict[uuid.UUID, bytes]:
    """Every patient's JSON, by one statement under their decisions."""
    ctx, schema, doc = req.ctx, req.schema, req.doc
    from resolvers.planner.run import Tag, bound_builder, bound_plan, record

    ids = [r["id"] for r in page.rows]
    decisions = await ctx.data.access(ids)
    # As a patient's plan: the cursors and times of its lists bound per run.
    shaping = req.shaping(bound=True)
    key = ("planner patients", doc.text, doc.operation.name and doc.operation.name.value, shaping)

    def make(visible: Visibility, marks: Mapping[Placeholder, str]) -> Plan:
        many = Many(visible, list(decisions.values()))
        builder, times = bound_builder(req, many)
        patient_type = schema._schema.get_type("Patient")
        row = aliased(PATIENT, "patient0")
        part = Part(text_obj())
        pairs = []
        for field_key, sub in builder.subfields(patient_type, details).items():
            pairs.append(
                (
                    field_key,
                    builder.value(patient_type, row, field_key, sub, "patients", None, part),
                )
            )
        if builder.decided:
            raise Unplannable("a field computed per patient in Python")
        statement = (
            select(
                row.c.id,
                text_obj(*pairs).label("data"),
                disclosed_of(part.disclosed).label("disclosed"),
            )
            .select_from(joined(row, part.laterals))
            # The page's ids on their own too: the policy's predicate is an OR of groups,
            # which the patients' primary key cannot serve.
            .where(row.c.id == any_(bindparam("ids", None, ARRAY(Uuid()))), visible(row))
        )
        return bound_plan(statement, builder, times, marks, Tag((), None, len(pairs)), ["ids"])

    started = time.thread_time()
    try:
        template, values = plan_for_many(key, list(decisions.values()), make)
    except Unplannable as exc:
        raise Decline from exc
    plan = req.sized(template)
    tag = plan.tag
    assert isinstance(tag, Tag)
    values |= tag.bound(req)
    values["ids"] = ids
    req.planned(started)
    rows = await ctx.data.fetch_plan(plan, values)
    selection = details[0].node.selection_set
    PLANNER_FIELDS.labels("planned").inc(len(selection.selections) if selection else 0)
    found: dict[uuid.UUID, bytes] = {}
    for r in rows:
        found[r["id"]] = r["data"].encode()
        record(ctx, r["disclosed"])
    if any(pid not in found for pid in ids):
        raise Decline  # a patient whose identity, not record, the caller may see
    return found


_NOBODY: PatientAccess = None  # type: ignore[assignment]
