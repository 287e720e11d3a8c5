"""The planner at run time: a query document answered with one SQL statement per patient.

The path of a planned request: find the patient (one statement, as `patient_by_identifier`),
the policy's decision (its own statements, as on the loader path), then one statement that
reads every planned field of the patient and writes the JSON, with the policy's predicate on
every table it reads and the disclosed rows beside the JSON. Fields of the patient the
planner cannot read in SQL are answered by GraphQL execution first, in one sub-document
(`node(id:)` of the patient), and put into the statement's JSON as values.

`Decline` means: answer the whole request through GraphQL execution instead (a document whose
root is not `patient`, an argument the resolver would reject, an error in the GraphQL part):
errors are always GraphQL's own. Plans are cached per (document, operation, the variables
that shape the statement, the shape of the decision); values are bound per run, and so are
cursors and period times given as variables (only their shape keys the plan: Document).
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from graphql import (
    ArgumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLObjectType,
    GraphQLSchema,
    NamedTypeNode,
    NonNullTypeNode,
    ObjectFieldNode,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    parse,
    visit,
)
from graphql.execution.collect_fields import FieldDetailsList, FragmentDetails, collect_fields
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from graphql.language import Visitor
from sqlalchemy import ClauseElement, ColumnElement, Text, bindparam, select

from app.access.grouping import shape
from app.access.rider import DATA, DISCLOSED, Rider, riding, spliced
from app.context import Context
from app.errors import AppError
from app.observability.metrics import PLANNER_FIELDS, PLANNER_RIDES, PLANNING_CPU
from app.outage import is_statement_timeout, unavailable_reason
from app.sqlplan import (
    Placeholder,
    Plan,
    compile_plan,
    placeholder,
    plan_per_decision,
    time_placeholder,
)
from resolvers.patients import PERSON_NUMBER_KINDS, normalized_identifier
from resolvers.planner.build import Builder
from resolvers.planner.fallback import (
    Fallback,
    fallback_document,
    patient_fallback,
    root_fallback,
    slot_name,
)
from resolvers.planner.lists import FILTERING
from resolvers.planner.parts import (
    CursorSlot,
    DecidedSlot,
    Decline,
    Document,
    FilterSlot,
    JsonText,
    Part,
    Request,
    Size,
    Unplannable,
    sizable,
    size_bind,
)
from resolvers.planner.sqljson import text_obj
from resolvers.planner.sqltext import aliased, disclosed_of, disclosure, joined
from resolvers.tables import PATIENT

log = logging.getLogger("vardkedja.planner")
# Root fields the planner reads; any other is answered by GraphQL execution.
PLANNED_ROOTS = frozenset({"patient", "patients", "node", "__typename"})


@dataclass(frozen=True)
class Tag:
    """What a plan needs besides its SQL: its Decided slots and its GraphQL part."""

    decided: tuple[DecidedSlot, ...]
    fallback: Fallback | None
    planned: int
    cursors: tuple[CursorSlot, ...] = ()
    # (slot, variable) of the times the plan binds (Document.times).
    times: tuple[tuple[str, str], ...] = ()
    # The lists' filters whose values the plan binds or writes in (Document.filters).
    filters: tuple[FilterSlot, ...] = ()

    def bound(self, req: Request) -> dict[str, Any]:
        """The values of the plan's cursor, time and filter slots for the request's variables
        (Decline: a cursor not of its list, a filter not of the plan's shape)."""
        coerced = req.variables.coerced
        values: dict[str, Any] = {slot: coerced[name] for slot, name in self.times}
        for cursor in self.cursors:
            values |= cursor.values(coerced)
        for slot in self.filters:
            values |= req.filter_values(slot)[0]
        return values

    @property
    def binds(self) -> bool:
        """Whether the plan binds values of the request's variables (`bound`)."""
        return bool(self.cursors or self.times or self.filters)


class _Documents:
    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._docs: OrderedDict[tuple[str, str | None], Document | None] = OrderedDict()

    def get(self, text: str, operation_name: str | None) -> Document | None:
        key = (text, operation_name)
        if key in self._docs:
            self._docs.move_to_end(key)
            return self._docs[key]
        doc = self._docs[key] = _analyse(text, operation_name)
        if len(self._docs) > self.size:
            self._docs.popitem(last=False)
        return doc


DOCUMENTS = _Documents()


def _analyse(text: str, operation_name: str | None) -> Document | None:
    try:
        parsed = parse(text)
    except Exception:  # GraphQL execution reports it
        return None
    operations = [d for d in parsed.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [
        o
        for o in operations
        if operation_name is None or (o.name and o.name.value == operation_name)
    ]
    if len(chosen) != 1 or chosen[0].operation is not OperationType.QUERY:
        return None
    operation = chosen[0]
    fragments = {
        d.name.value: FragmentDetails(d)
        for d in parsed.definitions
        if isinstance(d, FragmentDefinitionNode)
    }
    # The planned roots' own arguments are read per request (the patient or row to read, the
    # search and its page): they shape no statement, so their variables key no plan.
    root_arguments: set[int] = set()
    for selection in operation.selection_set.selections:
        if isinstance(selection, FieldNode) and selection.name.value in PLANNED_ROOTS:
            root_arguments.update(id(a) for a in selection.arguments or ())
    shaping: set[str] = set()
    # Variables given as a list's `after` or `first` or a period's bound (as their whole
    # value), and those used otherwise.
    as_after: set[str] = set()
    as_first: set[str] = set()
    as_period: set[str] = set()
    in_filter: set[str] = set()  # in a list's filter (or changedSince) but not as a period's
    otherwise: set[str] = set()

    class Variables(Visitor):
        def enter_argument(self, node: ArgumentNode, *_: Any) -> Any:
            if id(node) in root_arguments:
                return Visitor.SKIP
            as_whole = {"after": as_after, "first": as_first}.get(node.name.value)
            if as_whole is not None and isinstance(node.value, VariableNode):
                shaping.add(node.value.name.value)
                as_whole.add(node.value.name.value)
                return Visitor.SKIP
            return None

        def enter_object_field(
            self, node: ObjectFieldNode, _key: Any, _parent: Any, _path: Any, ancestors: Any
        ) -> Any:
            fields = [a for a in ancestors if isinstance(a, ObjectFieldNode)]
            in_period = bool(fields) and fields[-1].name.value == "period"
            arguments = [a for a in ancestors if isinstance(a, ArgumentNode)]
            in_filter = bool(arguments) and arguments[-1].name.value == "filter"
            if (
                node.name.value in ("start", "end")
                and isinstance(node.value, VariableNode)
                and in_period
                and in_filter
            ):
                shaping.add(node.value.name.value)
                as_period.add(node.value.name.value)
                return Visitor.SKIP
            return None

        def enter_variable(
            self, node: VariableNode, _key: Any, parent: Any, _path: Any, ancestors: Any
        ) -> None:
            shaping.add(node.name.value)
            arguments = [a for a in (*ancestors, parent) if isinstance(a, ArgumentNode)]
            if arguments and arguments[-1].name.value in FILTERING:
                in_filter.add(node.name.value)
            else:
                otherwise.add(node.name.value)

    visit(operation.selection_set, Variables())
    for fragment in fragments.values():
        visit(fragment.definition, Variables())
    cursors = frozenset(as_after - otherwise - as_period - as_first - in_filter)
    times = frozenset(
        name
        for name in as_period - otherwise - as_after - as_first - in_filter
        if _declared(operation, name) == "DateTime"
    )
    sizes = frozenset(
        name
        for name in as_first - otherwise - as_after - as_period - in_filter
        if _declared(operation, name) == "Int"
    )
    filters = frozenset(in_filter - otherwise - as_after - as_first - as_period)
    return Document(
        text, operation, fragments, tuple(sorted(shaping)), cursors, times, sizes, filters
    )


def _declared(operation: OperationDefinitionNode, name: str) -> str | None:
    """The named type a variable is declared with (non-null or not), if not a list."""
    for definition in operation.variable_definitions or ():
        if definition.variable.name.value == name:
            kind = definition.type
            if isinstance(kind, NonNullTypeNode):
                kind = kind.type
            return kind.name.value if isinstance(kind, NamedTypeNode) else None
    return None


def may_plan(text: str, operation_name: str | None) -> bool:
    """Whether the planner may answer this document (a query with a `patient`, `patients` or
    `node` root), decided before any SQL so that a declined request costs no transaction."""
    doc = DOCUMENTS.get(text, operation_name)
    if doc is None:
        return False
    return any(
        isinstance(s, FieldNode) and s.name.value in ("patient", "patients", "node")
        for s in doc.operation.selection_set.selections
    )


async def run_planned(
    ctx: Context,
    schema: Any,
    text: str,
    operation_name: str | None,
    raw_variables: Mapping[str, Any] | None,
) -> JsonText:
    """The `data` of a query, planned; `Decline` when GraphQL execution must answer it.

    A failure of the planner itself (a bug, a statement PostgreSQL rejects) is logged and
    declines too: it costs speed, never an answer. Timeouts, outages and coded errors end the
    request as on any other path."""
    try:
        return await _run_planned(ctx, schema, text, operation_name, raw_variables)
    except (Decline, AppError):
        raise
    except Exception as exc:
        if is_statement_timeout(exc) or unavailable_reason(exc) is not None:
            raise
        log.exception("the planner failed; GraphQL execution answers the request")
        raise Decline from exc


async def _run_planned(
    ctx: Context,
    schema: Any,
    text: str,
    operation_name: str | None,
    raw_variables: Mapping[str, Any] | None,
) -> JsonText:
    started = time.thread_time()
    doc = DOCUMENTS.get(text, operation_name)
    if doc is None:
        raise Decline
    gql: GraphQLSchema = schema._schema
    variables = get_variable_values(
        gql, doc.operation.variable_definitions or (), dict(raw_variables or {})
    )
    if isinstance(variables, list):
        raise Decline
    query_type = gql.query_type
    assert query_type is not None
    req = Request(ctx, schema, doc, variables, raw_variables)
    roots = collect_fields(
        gql, doc.fragments, variables, query_type, doc.operation
    ).grouped_field_set
    others = {
        key: details
        for key, details in roots.items()
        if details[0].node.name.value not in PLANNED_ROOTS
    }
    req.planned(started)
    answered = await root_fallback(req, others) if others else {}
    pieces: list[tuple[str, bytes]] = []
    for key, details in roots.items():
        name = details[0].node.name.value
        if key in answered:
            pieces.append((key, answered[key]))
        elif name == "__typename":
            pieces.append((key, b'"Query"'))
        elif name == "patient":
            found = await _patient(req, query_type, details)
            pieces.append((key, found))
        elif name == "node":
            found = await _node(req, query_type, details)
            pieces.append((key, found))
        elif name == "patients":
            from resolvers.planner.population import patients_json

            listed = await patients_json(req, query_type, details)
            pieces.append((key, listed))
        else:
            raise Decline
    PLANNING_CPU.observe(req.planning[0])
    return JsonText(b"{" + b",".join(orjson.dumps(k) + b":" + v for k, v in pieces) + b"}")


async def _patient(req: Request, query_type: GraphQLObjectType, details: FieldDetailsList) -> bytes:
    """One `patient` field: its JSON text."""
    ctx, variables = req.ctx, req.variables
    from schema.inputs import expect_id

    args = get_argument_values(query_type.fields["patient"], details[0].node, variables)
    personnummer, global_id = args.get("personnummer"), args.get("id")
    if (personnummer is None) == (global_id is None):
        raise Decline
    key = _key(req, details)
    try:
        if personnummer is not None:
            identifier = normalized_identifier(personnummer)
            rider = _rider(req, key, identifier)
            with riding(rider):
                found = await ctx.data.find_person(identifier, PERSON_NUMBER_KINDS)
            if found is None:
                return b"null"
            return await _patient_object(req, details, found, key, rider, identifier)
        patient_id = expect_id(str(global_id), "Patient")
    except AppError as exc:
        raise Decline from exc
    return await _patient_object(req, details, patient_id, key)


async def _node(req: Request, query_type: GraphQLObjectType, details: FieldDetailsList) -> bytes:
    """One `node(id:)` field: a patient, or a row of a patient's record; anything else (a
    shared row, a bad id) declines to GraphQL execution."""
    variables = req.variables
    from schema.ids import decode_id
    from schema.registry import PATIENT_ROW_TYPES

    args = get_argument_values(query_type.fields["node"], details[0].node, variables)
    try:
        gid = decode_id(str(args["id"]))
    except AppError as exc:
        raise Decline from exc
    if gid.type_name == "Patient" and gid.patient_id is None:
        return await _patient_object(req, details, gid.id, _key(req, details))
    if gid.type_name in PATIENT_ROW_TYPES and gid.patient_id is not None:
        loader = PATIENT_ROW_TYPES[gid.type_name][1]
        return await _record_row(req, details, loader, gid)
    raise Decline


async def _record_row(req: Request, details: FieldDetailsList, loader: Any, gid: Any) -> bytes:
    """A row of a patient's record by its key, as its RowByKeyLoader reads it: under the
    policy (a patient the caller may not see is denied), nullified rows included, disclosed."""
    ctx, schema, doc = req.ctx, req.schema, req.doc
    from resolvers.loaders.base import RowByKeyLoader

    if loader.load_batch is not RowByKeyLoader.load_batch:
        raise Decline
    patient_id: uuid.UUID = gid.patient_id
    decision = (await ctx.data.access([patient_id]))[patient_id]
    if not decision.may_see_patient:
        ctx.data.deny(decision)
        return b"null"
    gql: GraphQLSchema = schema._schema
    row_type = gql.get_type(gid.type_name)
    assert isinstance(row_type, GraphQLObjectType)

    def make(stand_in: Any, pid: uuid.UUID) -> Plan:
        builder, times = bound_builder(req, stand_in)
        row = aliased(loader.table, "row0")
        rid = placeholder()
        try:
            json = builder.row_object(row_type, row, builder.subfields(row_type, details), "node")
        except Unplannable as exc:
            raise Decline from exc
        if builder.decided:
            raise Decline
        statement = (
            select(
                json.json.label("data"),
                disclosed_of([disclosure(loader.disclose, row), *json.disclosed]).label(
                    "disclosed"
                ),
            )
            .select_from(joined(row, json.laterals))
            .where(row.c.patient_id == pid, row.c.id == rid, builder.visible(row))
        )
        return bound_plan(statement, builder, times, {pid: "pid", rid: "rid"}, Tag((), None, 1))

    started = time.thread_time()
    shaping = req.shaping(bound=True)
    alias = details[0].node.alias
    key = ("planner node", doc.text, gid.type_name, shaping, alias and alias.value)
    plan = req.sized(plan_per_decision(key, decision, make))
    req.planned(started)
    tag = plan.tag
    assert isinstance(tag, Tag)
    values = {"pid": patient_id, "rid": gid.id, **tag.bound(req)}
    rows = await ctx.data.fetch_plan(plan, values)
    if not rows:
        return b"null"
    record(ctx, rows[0]["disclosed"])
    PLANNER_FIELDS.labels("planned").inc()
    data: str = rows[0]["data"]
    return data.encode()


async def _patient_object(
    req: Request,
    details: FieldDetailsList,
    patient_id: uuid.UUID,
    key: tuple[Any, ...],
    rider: Rider | None = None,
    identifier: str | None = None,
) -> bytes:
    """The patient's JSON text (null if the caller may not see them), as PatientByIdLoader
    and the patient's fields would give it. `rider`: the read predicted for the request, if
    it already went with the facts of the patient found by `identifier`; else one is
    predicted here, to go with the facts the decision reads now."""
    ctx = req.ctx
    if rider is None:
        rider = _rider(req, key, patient_id)
    with riding(rider):
        visible = patient_id in await ctx.data.visible_patients([patient_id])
    if not visible:
        _ridden(rider, None, patient_id)
        return b"null"
    decision = (await ctx.data.access([patient_id]))[patient_id]
    started = time.thread_time()
    template = _plan(key, req, decision, details)
    plan = req.sized(template)
    req.planned(started)
    tag = plan.tag
    assert isinstance(tag, Tag)
    bound = tag.bound(req)
    # The JSON text of fields computed in Python (a ridden read holds markers for them).
    values: dict[str, Any] = {}
    PLANNER_FIELDS.labels("planned").inc(tag.planned)
    if tag.fallback is not None:
        PLANNER_FIELDS.labels("fallback").inc(len(tag.fallback.keys))
        values |= await patient_fallback(req, tag.fallback, patient_id)
    for slot in tag.decided:
        value = await slot.declaration.value(ctx, patient_id)
        values[slot.slot] = orjson.dumps(slot.serialize(value)).decode()
    if ctx.predictions is not None and shape(decision) is not None:
        # (A decision without a shape gets a plan of its own each time: nothing to predict.)
        ctx.predictions.keep((ctx.principal, key), (patient_id, identifier), template)
    ridden = _ridden(rider, plan, patient_id, values)
    if ridden is not None:
        data, disclosed = ridden
    else:
        [row] = await ctx.data.fetch_plan(plan, {"pid": patient_id, **values, **bound})
        data, disclosed = row["data"], row["disclosed"]
    ctx.audit.disclose(patient_id, "Patient", patient_id)
    record(ctx, disclosed)
    return str(data).encode()


def _ridden(
    rider: Rider | None,
    plan: Plan | None,
    patient_id: uuid.UUID,
    values: Mapping[str, Any] | None = None,
) -> tuple[str, str | None] | None:
    """The JSON and disclosures of the read that rode on the facts, if it is `plan`'s for
    this patient with `values` put in (None: none rode, or the decision chose another plan
    or nothing); counted."""
    if rider is None or not rider.taken:
        return None
    row = rider.answer(plan, patient_id) if plan is not None else None
    data = spliced(row[DATA], values or {}) if row is not None else None
    PLANNER_RIDES.labels("used" if data is not None else "dropped").inc()
    return (data, row[DISCLOSED]) if data is not None and row is not None else None


def _key(req: Request, details: FieldDetailsList) -> tuple[Any, ...]:
    """The key of a patient's plans (with the decision's shape) and predictions."""
    started = time.thread_time()
    doc, node = req.doc, details[0].node
    key = (
        "planner",
        doc.text,
        doc.operation.name and doc.operation.name.value,
        req.shaping(bound=True),
        node.alias and node.alias.value,
        node.name.value,
    )
    req.planned(started)
    return key


def _rider(req: Request, key: tuple[Any, ...], patient: object) -> Rider | None:
    """The read predicted for this caller, document and patient (a person number or an id)."""
    predictions = req.ctx.predictions
    rider = predictions.rider((req.ctx.principal, key), patient) if predictions else None
    if rider is None:
        return None
    try:  # the bound values are known before the decision: the read rides with them
        plan = req.sized(rider.plan)  # (predictions keep templates: any size rides)
        tag = plan.tag
        assert isinstance(tag, Tag)
        bound = tag.bound(req) if tag.binds else None
    except Decline:
        return None
    return Rider(plan, values=bound) if bound else Rider(plan)


def record(ctx: Context, disclosed: str | None) -> None:
    """Record the statement's disclosures ("patient|Type:id,...") as `fetch` would."""
    if not disclosed:
        return
    by_patient: dict[str, list[str]] = {}
    for item in disclosed.split(","):
        if item:
            patient, _, resource = item.partition("|")
            by_patient.setdefault(patient, []).append(resource)
    for patient, resources in by_patient.items():
        ctx.audit.disclose_all(uuid.UUID(patient), resources)


def _plan(key: tuple[Any, ...], req: Request, decision: Any, details: FieldDetailsList) -> Plan:
    """The plan of the patient's statement, shared by decisions of the same shape."""
    doc = req.doc

    def make(stand_in: Any, marker: uuid.UUID) -> Plan:
        builder, times = bound_builder(req, stand_in)
        statement, fallback, planned = _statement(builder, doc, details, marker)
        names = [s.slot for s in builder.decided]
        if fallback is not None:
            names += [slot_name(k) for k in fallback.keys]
        tag = Tag(tuple(builder.decided), fallback, planned)
        return bound_plan(statement, builder, times, {marker: "pid"}, tag, names)

    return plan_per_decision(key, decision, make)


def bound_builder(req: Request, stand_in: Any) -> tuple[Builder, dict[str, datetime]]:
    """A builder of the request's document under the decision `stand_in`, for a plan that
    binds the variables it can (Document.cursors, .times, .sizes, .filters), so that its key
    holds only their shape (`Request.shaping(bound=True)`): the cursors and filters become
    slots as lists are built, the times placeholders (returned by variable) while the
    statement is built."""
    doc, coerced = req.doc, dict(req.variables.coerced)
    times = {n: time_placeholder() for n in doc.times if coerced.get(n) is not None}
    sizes = {n: Size(coerced[n], n) for n in doc.sizes if sizable(coerced.get(n))}
    variables = VariableValues(req.variables.sources, coerced | times | sizes)
    builder = Builder(
        req.schema._schema, req.schema, doc.fragments, variables, doc.operation, stand_in
    )
    builder.cursors = doc.cursors
    builder.filters = doc.filters
    return builder, times


def bound_plan(
    statement: ClauseElement,
    builder: Builder,
    times: Mapping[str, datetime],
    marks: Mapping[Placeholder, str],
    tag: Tag,
    names: Sequence[str] = (),
) -> Plan:
    """The plan of a statement `bound_builder`'s builder made, with its cursors' and times'
    slots in its tag (Tag.bound gives their values per run): a template when it writes in
    page sizes (`Request.sized` derives the plan to run)."""
    slots = {n: f"time:{n}" for n in times}
    tag = dataclasses.replace(
        tag,
        cursors=tuple(builder.cursor_slots),
        times=tuple((slot, n) for n, slot in slots.items()),
        filters=tuple(f for f, _ in builder.filter_slots),
    )
    cursors = [name for slot in builder.cursor_slots for name in slot.names]
    filtered = [s.bound for _, s in builder.filter_slots]
    sizes = [
        size_bind(v.variable) for v in builder.variables.coerced.values() if isinstance(v, Size)
    ]
    # A time whose field GraphQL execution answers is not in the statement; nor is one in a
    # filter whose values are slots of their own.
    return compile_plan(
        statement,
        names=[*names, *cursors, *(n for bound in filtered for n in bound)],
        placeholders={**marks, **{times[n]: slot for n, slot in slots.items()}},
        optional=slots.values(),
        tag=tag,
        written=[*sizes, *(n for _, s in builder.filter_slots for n in s.written)],
    )


def _statement(
    builder: Builder, doc: Document, details: FieldDetailsList, pid: uuid.UUID
) -> tuple[ClauseElement, Fallback | None, int]:
    patient_type = builder.schema.get_type("Patient")
    assert isinstance(patient_type, GraphQLObjectType)
    row = aliased(PATIENT, "patient0")
    fields = builder.subfields(patient_type, details)
    part = Part(text_obj())
    pairs: list[tuple[str, ColumnElement[Any]]] = []
    fallback: dict[str, FieldDetailsList] = {}
    for key, sub in fields.items():
        attempt = Part(text_obj())
        cursors, filters = len(builder.cursor_slots), len(builder.filter_slots)
        try:
            value = builder.value(patient_type, row, key, sub, "patient", None, attempt)
        except Unplannable:
            # Not in the statement: answered by GraphQL.
            del builder.cursor_slots[cursors:]
            del builder.filter_slots[filters:]
            fallback[key] = sub
            pairs.append((key, bindparam(slot_name(key), None, type_=Text)))
            continue
        part.laterals += attempt.laterals
        part.disclosed += attempt.disclosed
        pairs.append((key, value))
    statement = (
        select(text_obj(*pairs).label("data"), disclosed_of(part.disclosed).label("disclosed"))
        .select_from(joined(row, part.laterals))
        .where(row.c.id == pid)
    )
    planned = len(fields) - len(fallback)
    return statement, fallback_document(doc, fallback) if fallback else None, planned


__all__ = ["Decline", "run_planned"]
