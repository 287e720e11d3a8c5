"""No field goes around the policy: walk the whole schema, as introspection describes it, and
ask every field that can reach patient data as a principal without rights to the patient.

The walk is generic, so new fields are covered without touching this test:
- every root field of Query is called with every argument that can name something of the
  patient's world (the patient's global id and personnummer, every row's global id, the
  unit, provider and practitioner by id and HSA-id);
- every object that comes back is expanded one field at a time (a path per query, so the
  limits never bite), down to MAX_DEPTH: a unit's contacts, a practitioner's notes, a
  provider's units' contacts, and so on;
- every response is searched for the patient: an object of a patient-data type, one of the
  patient's ids, their personnummer or name, a text written only in their record, a count of
  their rows, or a non-null answer about them;
- every request that could have reached patient data must have written a denial (or, for a
  search, a search entry) to the audit trail.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    Undefined,
    build_client_schema,
    get_introspection_query,
    get_named_type,
    is_leaf_type,
)
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app import models
from app.settings import Settings
from app.tokens import mint
from schema.ids import encode_id
from tests import factories as f

MAX_DEPTH = 6
MARKER = "HEMLIGT-7f3a"  # written only into the patient's record
AUDITED_ACTIONS = ("deny", "search")


@dataclass
class Record:
    """The patient's world: what must never come back, and what arguments can name."""

    patient: models.Patient
    unit: models.CareUnit
    provider: models.CareProvider
    practitioner: models.Practitioner
    patient_gids: set[str] = field(default_factory=set)
    gids_by_type: dict[str, list[str]] = field(default_factory=dict)

    def add(self, type_name: str, row: Any, *, patient_row: bool = True) -> None:
        gid = encode_id(type_name, row.id, row.patient_id if patient_row else None)
        self.gids_by_type.setdefault(type_name, []).append(gid)
        if patient_row:
            self.patient_gids.add(gid)

    @property
    def secrets(self) -> set[str]:
        p = self.patient
        return {p.identifier, p.given_name, p.family_name, str(p.id), *self.patient_gids}


async def build_record(conn: AsyncConnection) -> Record:
    provider = await f.create_provider(conn, name="Region Walk")
    unit = await f.create_unit(conn, provider, name="VC Walk")
    pharmacy = await f.create_unit(conn, provider, name="Apotek Walk", kind="pharmacy")
    practitioner = await f.create_practitioner(conn)
    patient = await f.create_patient(conn, given_name="Walter", family_name="Hemligsson")
    guardian = await f.create_patient(conn, given_name="Vera", family_name="Hemligsson")
    relationship = await f.create_care_relationship(conn, patient, unit)
    rec = Record(patient, unit, provider, practitioner)
    rec.add("CareRelationship", relationship)
    rec.add("Patient", patient, patient_row=False)
    rec.patient_gids.add(encode_id("Patient", patient.id))
    mine = {
        "accountable_practitioner_id": practitioner.id,
        "accountable_hsa_id": practitioner.hsa_id,
    }
    contact = await f.create_care_contact(conn, patient, unit, reason=MARKER, **mine)
    rec.add("CareContact", contact)
    for type_name, make in (
        ("CareDocument", f.create_care_document),
        ("Diagnosis", f.create_diagnosis),
        ("Alert", f.create_alert),
        ("FunctionalStatus", f.create_functional_status),
        ("LabResult", f.create_lab_result),
        ("ReferralOutcome", f.create_referral_outcome),
        ("Vaccination", f.create_vaccination),
        ("VitalSigns", f.create_vital_signs),
        ("DentalTreatment", f.create_dental_treatment),
        ("ToothFinding", f.create_tooth_finding),
    ):
        rec.add(type_name, await make(conn, patient, unit, care_contact_id=contact.id, **mine))
    rx = await f.create_prescription(conn, patient, unit, **mine)
    rec.add("Prescription", rx)
    rec.add("Dispensation", await f.create_dispensation(conn, rx, pharmacy))
    rec.add(
        "MedicationAdministration",
        await f.create_medication_administration(conn, rx, unit, **mine),
    )
    decision = await f.create_municipal_decision(conn, patient, unit)
    rec.add("MunicipalDecision", decision)
    plan = await f.create_implementation_plan(conn, decision, unit)
    rec.add("ImplementationPlan", plan)
    rec.add("PlanActivity", await f.create_plan_activity(conn, plan))
    referral = await f.create_referral(conn, patient, unit, pharmacy, **mine)
    rec.add("Referral", referral)
    rec.add("ReferralEvent", await f.create_referral_event(conn, referral))
    sip = await f.create_sip_plan(conn, patient, unit, **mine)
    rec.add("SipPlan", sip)
    for type_name, part in zip(
        ("SipParticipant", "SipGoal", "SipAction"),
        await f.create_sip_parts(conn, sip, unit),
        strict=True,
    ):
        rec.add(type_name, part)
    rec.add("DischargePlan", await f.create_discharge_plan(conn, patient, unit, pharmacy, **mine))
    rec.add("Consent", await f.create_consent(conn, patient, "svod_access", care_unit_id=unit.id))
    rec.add("Block", await f.create_block(conn, patient, "outer", provider))
    rec.add("PortalException", await f.create_portal_exception(conn, patient, "guardian", unit))
    rec.add("Representative", await f.create_representative(conn, patient, guardian))
    rec.add("CareUnit", unit, patient_row=False)
    rec.add("CareUnit", pharmacy, patient_row=False)
    rec.add("CareProvider", provider, patient_row=False)
    rec.add("Practitioner", practitioner, patient_row=False)
    await conn.execute(
        text("UPDATE care_document SET text = :m WHERE patient_id = :p"),
        {"m": MARKER, "p": patient.id},
    )
    return rec


# --- the schema as introspection tells it -------------------------------------------------


def patient_types(schema: GraphQLSchema) -> set[str]:
    """Types that are patient data: the patient, every patient-scoped row, the log about them,
    and interfaces such rows implement."""
    from schema.registry import PATIENT_ROW_TYPES

    found = {"Patient", "AccessLogEntry", "EmergencyAccess", *PATIENT_ROW_TYPES}
    for name, named in schema.type_map.items():
        if isinstance(named, GraphQLInterfaceType) and any(
            t.name in found for t in schema.get_possible_types(named)
        ):
            found.add(name)
    return found - {"Node"}


def reaching_types(schema: GraphQLSchema, personal: set[str]) -> set[str]:
    """Patient-data types and the connections and edges that list them."""
    found = set(personal)
    for name, named in schema.type_map.items():
        if isinstance(named, GraphQLObjectType):
            for inner in ("node", "nodes"):
                if (
                    inner in named.fields
                    and get_named_type(named.fields[inner].type).name in personal
                ):
                    found.add(name)
    return found


def literal(value: Any, type_: GraphQLInputType) -> str:
    named = get_named_type(type_)
    if isinstance(named, GraphQLEnumType):
        return str(value)
    if isinstance(value, dict) and isinstance(named, GraphQLInputObjectType):
        inner = ", ".join(f"{k}: {literal(v, named.fields[k].type)}" for k, v in value.items())
        return "{" + inner + "}"
    return json.dumps(value)


def filler(type_: GraphQLInputType) -> Any:
    """Some valid value for a required argument the walk has no meaning for."""
    named = get_named_type(type_)
    if isinstance(named, GraphQLEnumType):
        return next(iter(named.values))
    if isinstance(named, GraphQLInputObjectType):
        return {
            name: filler(f_.type)
            for name, f_ in named.fields.items()
            if isinstance(f_.type, GraphQLNonNull) and f_.default_value is None
        }
    return {"Int": 1, "Float": 1.0, "Boolean": True, "DateTime": datetime.now(UTC).isoformat(),
            "Date": "2024-01-01"}.get(named.name, "x")  # fmt: skip


def optional_args(gql_field: GraphQLField) -> dict[str, Any]:
    """Optional arguments that widen what a list returns."""
    return {"includeNullified": True} if "includeNullified" in gql_field.args else {}


def required_args(gql_field: GraphQLField, given: dict[str, Any]) -> dict[str, Any]:
    return {
        name: filler(arg.type)
        for name, arg in gql_field.args.items()
        if isinstance(arg.type, GraphQLNonNull)
        and name not in given
        and (arg.default_value is None or arg.default_value is Undefined)
    }


def naming_values(
    schema: GraphQLSchema, rec: Record, gql_field: GraphQLField, arg: str
) -> list[Any]:
    """Values of argument `arg` that name something of the patient's world."""
    target = get_named_type(gql_field.type)
    possible = (
        {t.name for t in schema.get_possible_types(target)}
        if isinstance(target, (GraphQLInterfaceType, GraphQLUnionType))
        else {target.name}
    )
    if arg == "personnummer":
        return [rec.patient.identifier]
    if arg == "patientId":
        return rec.gids_by_type["Patient"]
    if arg == "id":
        return [g for t, gids in rec.gids_by_type.items() if t in possible for g in gids]
    if arg == "hsaId":
        by_type = {"CareUnit": rec.unit.hsa_id, "CareProvider": rec.provider.hsa_id,
                   "Practitioner": rec.practitioner.hsa_id}  # fmt: skip
        return [hsa for t, hsa in by_type.items() if t in possible]
    return []


@dataclass(frozen=True)
class Step:
    field: str
    args: tuple[tuple[str, str], ...]  # rendered literals
    on: str | None  # inline fragment type when the parent is abstract


def root_steps(schema: GraphQLSchema, rec: Record) -> Iterator[tuple[Step, bool]]:
    """(step, names the patient) for every root field and every naming argument value."""
    query = schema.query_type
    assert query is not None
    for name, gql_field in query.fields.items():
        variants: list[tuple[dict[str, Any], bool]] = []
        for arg in gql_field.args:
            for value in naming_values(schema, rec, gql_field, arg):
                variants.append(({arg: value}, value in rec.secrets))
        if not variants:
            variants = [({}, False)]
        for given, personal in variants:
            args = given | required_args(gql_field, given) | optional_args(gql_field)
            rendered = tuple(
                (k, literal(v, gql_field.args[k].type)) for k, v in sorted(args.items())
            )
            yield Step(name, rendered, None), personal


def leaf_selection(schema: GraphQLSchema, named: GraphQLNamedType) -> str:
    """What to ask of the objects at the end of a path: every plain field of a concrete type;
    the type name and global id of an abstract one (all its types' fields would exceed the
    token limit; a patient-data type name is a leak on its own)."""
    if isinstance(named, GraphQLObjectType):
        plain = [
            n
            for n, fl in named.fields.items()
            if is_leaf_type(get_named_type(fl.type))
            and not any(isinstance(a.type, GraphQLNonNull) for a in fl.args.values())
        ]
        return " ".join(["__typename", *plain])
    if isinstance(named, (GraphQLInterfaceType, GraphQLUnionType)):
        return "__typename ... on Node { id }" if "Node" in schema.type_map else "__typename"
    return ""


def render(steps: list[Step], leaf: str) -> str:
    body = leaf
    for step in reversed(steps):
        args = f"({', '.join(f'{k}: {v}' for k, v in step.args)})" if step.args else ""
        inner = f"{step.field}{args}" + (f" {{ {body} }}" if body else "")
        body = f"... on {step.on} {{ {inner} }}" if step.on else inner
        body = f"__typename {body}" if step is not steps[0] else body
    return "{ " + body + " }"


def field_type(schema: GraphQLSchema, steps: list[Step]) -> GraphQLNamedType:
    current: Any = schema.query_type
    for step in steps:
        owner: Any = schema.type_map[step.on] if step.on else current
        current = get_named_type(owner.fields[step.field].type)
    named: GraphQLNamedType = current
    return named


def objects_at(data: Any, steps: list[Step]) -> list[dict[str, Any]]:
    """The objects the last step returned, lists flattened."""
    level: list[Any] = [data]
    for step in steps:
        nxt: list[Any] = []
        for obj in level:
            if isinstance(obj, dict) and obj.get(step.field) is not None:
                value = obj[step.field]
                nxt.extend(
                    v for v in (value if isinstance(value, list) else [value]) if v is not None
                )
        level = nxt
    return [o for o in level if isinstance(o, dict)]


def leaks(data: Any, rec: Record, personal: set[str]) -> list[str]:
    """Every trace of the patient in a response."""
    found: list[str] = []
    secrets = rec.secrets

    def visit(value: Any) -> None:
        if isinstance(value, dict):
            if value.get("__typename") in personal:
                found.append(f"a {value['__typename']} object")
            for v in value.values():
                visit(v)
        elif isinstance(value, list):
            for v in value:
                visit(v)
        elif isinstance(value, str) and (value in secrets or MARKER in value):
            found.append(f"the value {value!r}")

    visit(data)
    return found


# --- the walk -------------------------------------------------------------------------------


async def last_audit_id(conn: AsyncConnection) -> int:
    return int(
        (await conn.execute(text("SELECT coalesce(max(id), 0) FROM audit_entry"))).scalar_one()
    )


@dataclass
class Walk:
    """What one walk saw: problems, requests, and the queries that returned patient data."""

    problems: list[str] = field(default_factory=list)
    requests: int = 0
    exposing: set[str] = field(default_factory=set)
    exposed_types: set[str] = field(default_factory=set)


async def walk(
    client: httpx.AsyncClient,
    conn: AsyncConnection,
    schema: GraphQLSchema,
    rec: Record,
    headers: dict[str, str],
    *,
    must_deny: set[str] | None = None,
) -> Walk:
    """Ask every path. With `must_deny` (the queries that showed the patient's data to a
    privileged caller), each of those must write a denial (or search entry) to the log."""
    personal = patient_types(schema)
    reaching = reaching_types(schema, personal)
    seen_result = Walk()
    queue: list[tuple[list[Step], bool]] = [([s], p) for s, p in root_steps(schema, rec)]
    seen: set[tuple[str, str, str]] = set()
    while queue:
        steps, names_patient = queue.pop(0)
        target = field_type(schema, steps)
        query = render(steps, leaf_selection(schema, target))
        before = await last_audit_id(conn)
        response = await client.post("/graphql", json={"query": query}, headers=headers)
        seen_result.requests += 1
        problems = seen_result.problems
        body = response.json() if response.status_code < 500 else {}
        if "data" not in body:
            problems.append(f"{query}: not executed (HTTP {response.status_code}): {body}")
            continue
        data = body["data"]
        found = leaks(data, rec, personal)
        if found:
            seen_result.exposing.add(query)
            seen_result.exposed_types.update(_typenames(data) & personal)
        leaf = objects_at(data, steps)
        if must_deny is None:
            pass  # a privileged walk: it is meant to see the patient
        else:
            problems.extend(f"{query}: {leak}" for leak in found)
            answered = (data or {}).get(steps[0].field) not in (None, [])
            if names_patient and len(steps) == 1 and answered:
                problems.append(f"{query}: answered about the patient: {data}")
            for obj in leaf:
                if target.name in reaching and obj.get("totalCount"):
                    problems.append(f"{query}: counted {obj['totalCount']} of the patient's rows")
            if query in must_deny and not await _audited_since(conn, before):
                problems.append(f"{query}: reached for patient data, no denial was audited")
        if len(steps) >= MAX_DEPTH:
            continue
        # Below the patient's own objects lies only more of the patient (checked by type
        # already); what matters is where shared objects (units, practitioners) lead.
        shared = [o for o in leaf if o.get("__typename") not in personal]
        queue.extend(_expansions(schema, steps, target, shared, seen))
    return seen_result


def _typenames(value: Any) -> set[str]:
    if isinstance(value, dict):
        own = {value["__typename"]} if "__typename" in value else set()
        return own.union(*(_typenames(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_typenames(v) for v in value))
    return set()


async def _audited_since(conn: AsyncConnection, before: int) -> bool:
    audited = await conn.execute(
        text("SELECT count(*) FROM audit_entry WHERE id > :i AND action = ANY(:a)"),
        {"i": before, "a": list(AUDITED_ACTIONS)},
    )
    return bool(audited.scalar_one())


def _expansions(
    schema: GraphQLSchema,
    steps: list[Step],
    target: GraphQLNamedType,
    leaf: list[dict[str, Any]],
    seen: set[tuple[str, str, str]],
) -> Iterator[tuple[list[Step], bool]]:
    """One more field below every object that came back (each object and field once)."""
    for obj in leaf:
        concrete = schema.type_map.get(str(obj.get("__typename")))
        if not isinstance(concrete, GraphQLObjectType):
            continue
        parent_abstract = not isinstance(target, GraphQLObjectType)
        ident = str(obj.get("id") or "/".join(s.field for s in steps))
        for name, gql_field in concrete.fields.items():
            key = (concrete.name, name, ident)
            if is_leaf_type(get_named_type(gql_field.type)) or key in seen:
                continue
            seen.add(key)
            args = required_args(gql_field, {}) | optional_args(gql_field)
            rendered = tuple(
                (k, literal(v, gql_field.args[k].type)) for k, v in sorted(args.items())
            )
            yield [*steps, Step(name, rendered, concrete.name if parent_abstract else None)], False


async def introspected(client: httpx.AsyncClient) -> GraphQLSchema:
    response = await client.post("/graphql", json={"query": get_introspection_query()})
    result = response.json()
    assert "errors" not in result, result
    return build_client_schema(result["data"])


@pytest.fixture
async def world(conn: AsyncConnection) -> tuple[Record, models.CareUnit, models.Practitioner]:
    rec = await build_record(conn)
    # A clinician of the same provider, at another unit, with no care relationship.
    other_unit = await f.create_unit(conn, rec.provider, name="Annan enhet")
    snoop = await f.create_practitioner(conn)
    await f.create_assignment(conn, snoop, other_unit)
    return rec, other_unit, snoop


@pytest.fixture
async def exposing(
    client: httpx.AsyncClient,
    conn: AsyncConnection,
    settings: Settings,
    world: tuple[Record, models.CareUnit, models.Practitioner],
) -> tuple[GraphQLSchema, set[str]]:
    """The same walk as a system integration (which sees everything): the queries that show
    the patient's data. It must reach every patient-data type, or the walk is too shallow."""
    from schema.registry import PATIENT_ROW_TYPES

    rec = world[0]
    schema = await introspected(client)
    system = mint(settings, kind="system", subject="no-bypass-reference")
    seen = await walk(client, conn, schema, rec, {"authorization": f"Bearer {system}"})
    assert seen.problems == []
    assert {"Patient", *PATIENT_ROW_TYPES} <= seen.exposed_types
    return schema, seen.exposing


async def test_a_clinician_without_care_relationship_gets_nothing(
    client: httpx.AsyncClient,
    conn: AsyncConnection,
    settings: Settings,
    world: tuple[Record, models.CareUnit, models.Practitioner],
    exposing: tuple[GraphQLSchema, set[str]],
) -> None:
    rec, unit, snoop = world
    schema, must_deny = exposing
    token = mint(
        settings, kind="clinician", subject=snoop.hsa_id, care_unit=unit.hsa_id,
        care_provider=rec.provider.hsa_id,
    )  # fmt: skip
    headers = {"authorization": f"Bearer {token}"}
    seen = await walk(client, conn, schema, rec, headers, must_deny=must_deny)
    assert not seen.problems, "\n".join(seen.problems)
    assert seen.requests > len(rec.patient_gids) + 20


async def test_an_anonymous_caller_gets_nothing(
    client: httpx.AsyncClient,
    conn: AsyncConnection,
    world: tuple[Record, models.CareUnit, models.Practitioner],
    exposing: tuple[GraphQLSchema, set[str]],
) -> None:
    """Without a token every root field, naming the patient or not, gets the same 401 before
    any lookup: nothing to compare, nothing audited (no audit row grows without a token)."""
    rec = world[0]
    schema, _ = exposing
    before = await last_audit_id(conn)
    answers = set()
    for step, _names_patient in root_steps(schema, rec):
        target = field_type(schema, [step])
        query = render([step], leaf_selection(schema, target))
        response = await client.post("/graphql", json={"query": query})
        assert response.status_code == 401, (query, response.text)
        answers.add(response.text)
    assert len(answers) == 1, answers
    assert await last_audit_id(conn) == before


def test_the_walk_detects_a_leak() -> None:
    """The detector itself: a response carrying the patient is caught."""
    patient = models.Patient(
        id=uuid.uuid4(), identifier_kind="personnummer", identifier="191212121212",
        given_name="Tolvan", family_name="Tolvansson", birth_date=datetime(1912, 12, 12).date(),
        sex="male",
    )  # fmt: skip
    rec = Record(patient, None, None, None)  # type: ignore[arg-type]
    personal = {"Patient", "Diagnosis"}
    assert leaks({"careUnit": {"x": [{"__typename": "Diagnosis"}]}}, rec, personal)
    assert leaks({"a": {"b": "191212121212"}}, rec, personal)
    assert leaks({"a": f"text {MARKER}"}, rec, personal)
    assert not leaks({"careUnit": {"__typename": "CareUnit", "name": "VC"}}, rec, personal)
