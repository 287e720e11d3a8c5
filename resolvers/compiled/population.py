"""PopulationList (schema/operations/PopulationList.graphql) as one statement.

Statements: the search's candidate page (under the policy's search scope, as
resolvers/patients.search_patients), the policy's decisions on those patients, then one
statement with the patients the policy lets the caller identify, each with their newest care
contacts and diagnoses (LATERAL per patient, the policy's visibility predicate of the page's
patients in each WHERE), returning the `data` JSON and the rows it disclosed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Select,
    Table,
    Text,
    Uuid,
    any_,
    bindparam,
    case,
    false,
    literal_column,
    select,
)

from app.context import Context
from app.errors import AppError
from app.sqlplan import Plan, compile_plan, text_placeholder, time_placeholder
from resolvers.compiled.base import (
    CompiledOperation,
    Data,
    Disclosed,
    Visibility,
    cached_plan,
    columns_of,
    disclosures,
    fetch_json,
    newest_first,
    plan_for_many,
)
from resolvers.compiled.sqljson import (
    global_id,
    iso_datetime,
    text_enum,
    text_list,
    text_lists,
    text_obj,
    text_or_empty,
    text_plain,
    text_string,
)
from resolvers.pagination import page_size
from resolvers.patients import PATIENT_SORT
from resolvers.tables import CARE_CONTACT, CARE_PROVIDER, CARE_UNIT, DIAGNOSIS, PATIENT
from schema.enums import ContactStatus, ContactType

UNIT = CARE_UNIT.alias("unit")
# The slots of the plan: the page's patients, and the care provider's HSA-id.
ALLOWED = bindparam("allowed", None, type_=ARRAY(Uuid()))
PROVIDER = text_placeholder()
# The time the search scope is evaluated at.
SEARCH_TIME = time_placeholder()


@dataclass(frozen=True)
class Prepared:
    first: int
    items: int
    provider: str


class PopulationList(CompiledOperation):
    name = "PopulationList"

    def prepare(self, variables: dict[str, Any]) -> Prepared | None:
        try:
            first, items = page_size(variables["first"]), page_size(variables["items"])
        except AppError:
            return None
        if first == 0 or items == 0:
            return None  # count-only pages: the GraphQL path
        return Prepared(first, items, variables["provider"])

    async def run(self, ctx: Context, prepared: Any) -> Data:
        assert isinstance(prepared, Prepared)
        # As search_patients: candidates under the search scope, then the decisions.
        search = self._search_plan(ctx, prepared.first + 1, await ctx.data.search_unit())
        ctx.data.record_search(closed=search.tag == "closed")
        candidates = await ctx.data.fetch_plan(search, {"now": ctx.data.now()})
        ids: list[uuid.UUID] = [r["id"] for r in candidates[: prepared.first]]
        decisions = await ctx.data.access(ids)
        allowed = [pid for pid in ids if decisions[pid].may_see_identity]
        if not allowed:
            return {"patients": {"nodes": []}}
        # As the loaders over the page's patients: those of whom nothing may be seen are denied.
        denied = [decisions[pid] for pid in allowed if not decisions[pid].may_see_patient]
        for decision in denied:
            ctx.data.deny(decision)
        plan, values = plan_for_many(
            ("PopulationList", prepared.items),
            [decisions[pid] for pid in allowed],
            lambda visible: self.statement(visible, prepared.items),
            names=("allowed",),
            placeholders={PROVIDER: "provider"},
        )
        values |= {"allowed": allowed, "provider": prepared.provider}
        return fetch_json(ctx, await ctx.data.fetch_plan(plan, values))

    @staticmethod
    def _search_plan(ctx: Context, limit: int, unit_id: uuid.UUID | None) -> Plan:
        """The candidates' statement: the caller's search scope (its values depend on the
        principal and their unit alone, but for the time) in the patients' sort order."""

        def build() -> Plan:
            scope = ctx.data.scope_predicate(PATIENT.c.id, now=SEARCH_TIME, unit_id=unit_id)
            stmt = (
                select(*[PATIENT.c[n] for n in PATIENT_SORT.columns])
                .where(scope)
                .order_by(*PATIENT_SORT.order(PATIENT))
                .limit(limit)
            )
            closed = "closed" if scope.compare(false()) else "open"
            return compile_plan(
                stmt, placeholders={SEARCH_TIME: "now"}, optional=["now"], tag=closed
            )

        return cached_plan(("PopulationList search", ctx.principal, unit_id, limit), build)

    def statement(self, visible: Visibility, items: int) -> Select[Any]:
        """The statement for the patients of the slot `allowed`, each with their `items`
        newest care contacts and diagnoses of the care provider in the slot `provider`.

        Each list's JSON is aggregated once per patient (GROUP BY) and joined to the patients,
        so every row's JSON is built once and no patient scans the other patients' rows.
        """
        patient_columns = [PATIENT.c[n] for n in ("id", "identifier", "given_name", "family_name")]
        patients = select(*patient_columns).where(PATIENT.c.id == any_(ALLOWED)).cte("patients")
        # As RowFilter(care_provider_hsa_ids={provider}), with the provider looked up once
        # (hsa_id is unique: the IN of the filter and this comparison select the same rows).
        provider = select(CARE_PROVIDER.c.id).where(CARE_PROVIDER.c.hsa_id == PROVIDER)
        provider_id = provider.scalar_subquery()

        def newest(table: Table, name: str, columns: tuple[str, ...]) -> Any:
            # As PatientListLoader over the page's patients: policy, filter, nullified, page.
            per_patient = (
                select(*columns_of(table, columns))
                .where(
                    table.c.patient_id == patients.c.id,
                    visible(table),
                    table.c.care_provider_id == provider_id,
                    table.c.nullified.is_(False),
                )
                .order_by(*[table.c[n].desc() for n in ("event_time", "id")])
                .limit(items)
                .lateral(f"{name}_of_patient")
            )
            return (
                select(per_patient)
                .select_from(patients)
                .join(per_patient, per_patient.c.patient_id == patients.c.id)
                .cte(name)
            )

        contacts = newest(CARE_CONTACT, "contacts", ("contact_type", "status", "care_unit_id"))
        diagnoses = newest(DIAGNOSIS, "diagnoses", ("code", "display"))
        p, c, d = patients.c, contacts.c, diagnoses.c
        unit = case(
            (UNIT.c.id.is_(None), literal_column("'null'", Text)),
            else_=text_obj(("name", text_string(UNIT.c.name))),
        )
        contact = text_obj(
            ("id", text_plain(global_id("CareContact", c.id, c.patient_id))),
            ("eventTime", text_plain(iso_datetime(c.event_time))),
            ("contactType", text_enum(c.contact_type, ContactType)),
            ("status", text_enum(c.status, ContactStatus)),
            ("careUnit", unit),
        )
        diagnosis = text_obj(
            ("id", text_plain(global_id("Diagnosis", d.id, d.patient_id))),
            ("eventTime", text_plain(iso_datetime(d.event_time))),
            ("code", text_string(d.code)),
            ("display", text_string(d.display)),
        )
        with_unit = contacts.outerjoin(UNIT, UNIT.c.id == c.care_unit_id)
        contact_lists = text_lists(with_unit, c.patient_id, contact, newest_first(contacts))
        diagnosis_lists = text_lists(diagnoses, d.patient_id, diagnosis, newest_first(diagnoses))
        cl = contact_lists.subquery("contact_lists")
        dl = diagnosis_lists.subquery("diagnosis_lists")
        patient = text_obj(
            ("id", text_plain(global_id("Patient", p.id))),
            ("personnummer", text_string(p.identifier)),
            ("givenName", text_string(p.given_name)),
            ("familyName", text_string(p.family_name)),
            ("careContacts", text_obj(("nodes", text_or_empty(cl.c.nodes)))),
            ("diagnoses", text_obj(("nodes", text_or_empty(dl.c.nodes)))),
        )
        with_lists = patients.outerjoin(cl, cl.c.patient_id == p.id).outerjoin(
            dl, dl.c.patient_id == p.id
        )
        order: list[ColumnElement[Any]] = [p[n].asc() for n in PATIENT_SORT.columns]
        data = text_obj(("patients", text_obj(("nodes", text_list(with_lists, patient, order)))))
        patient_keys = select(p.id.label("patient_id"), p.id).cte("patient_keys")
        disclosed = disclosures(
            [
                Disclosed("Patient", patient_keys),
                Disclosed("CareContact", contacts),
                Disclosed("Diagnosis", diagnoses),
            ]
        )
        return select(data.label("data"), disclosed.label("disclosed"))
