"""`CareEvent`: the interface of every dated clinical item, carrying the header of DOMAIN.md
section 1 (RIV-TA PatientSummaryHeader), and the patient's timeline of them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

import strawberry

from resolvers.filters import PageArgs
from resolvers.loaders.base import PatientListLoader
from resolvers.loaders.care import CareContactByIdLoader
from resolvers.loaders.events import ALL_KINDS, TIMELINE_SORT, TimelineArgs, TimelineByPatientLoader
from resolvers.loaders.organizations import (
    CareProviderByIdLoader,
    CareUnitByIdLoader,
    PractitionerByIdLoader,
)
from resolvers.loaders.patients import PatientByIdLoader
from resolvers.pagination import page_size
from resolvers.planner.declare import Computed, Embedded, Listed, Referenced, planned
from resolvers.tables import CARE_PROVIDER, CARE_UNIT, PRACTITIONER
from schema.connections import (
    After,
    ChangedSince,
    Connection,
    First,
    IncludeNullified,
    Info,
    mixed_connection,
    page_of,
    since_filter,
)
from schema.enums import CareEventKind
from schema.fields import field
from schema.inputs import CareEventFilter, row_filter
from schema.node import Node
from schema.refs import CareContactRef, CareProviderRef, CareUnitRef, PatientRef, PractitionerRef


@strawberry.type(description="The professional accountable for a record (ansvarig).")
class Accountable:
    hsa_id: str | None = strawberry.field(description="HSA-id of the professional.")
    name: str | None = strawberry.field(description="Name as recorded in the source system.")
    role_code: str | None = strawberry.field(description="Role (befattning) code, e.g. läkare.")
    practitioner_id: strawberry.Private[uuid.UUID | None]

    @field(
        description="The practitioner, when known to this service.",
        plan=Referenced(PRACTITIONER, "practitioner_id"),
    )
    async def practitioner(self, info: Info) -> PractitionerRef | None:
        from schema.organizations import Practitioner

        if self.practitioner_id is None:
            return None
        row = await info.context.loader(PractitionerByIdLoader).load(self.practitioner_id)
        return Practitioner.from_optional(row)


@strawberry.type(description="Who signed (vidimerade) a record, and when.")
class LegalAuthenticator:
    time: datetime | None = strawberry.field(description="When it was signed.")
    hsa_id: str | None = strawberry.field(description="HSA-id of the signer.")
    name: str | None = strawberry.field(description="Name of the signer.")


@strawberry.interface(
    description="A dated clinical item. Every one carries the record header (DOMAIN.md §1): "
    "source, author time, accountable professional, care unit and provider, signature, "
    "visibility to the patient, care contact, nullification and version."
)
class CareEvent(Node):
    patient_id: strawberry.Private[uuid.UUID]
    care_unit_id: strawberry.Private[uuid.UUID]
    care_provider_id: strawberry.Private[uuid.UUID]
    care_contact_id: strawberry.Private[uuid.UUID | None]
    accountable_practitioner_id: strawberry.Private[uuid.UUID | None]
    accountable_hsa_id: strawberry.Private[str | None]
    accountable_name: strawberry.Private[str | None]
    accountable_role_code: strawberry.Private[str | None]
    legal_authenticator_time: strawberry.Private[datetime | None]
    legal_authenticator_hsa_id: strawberry.Private[str | None]
    legal_authenticator_name: strawberry.Private[str | None]

    event_time: datetime = strawberry.field(
        description="When the care event happened (a contact's start, an issue or decision "
        "time); orders the timeline. Stored in UTC."
    )
    document_id: str = strawberry.field(description="Id of the record in its source system.")
    source_system_hsa_id: str = strawberry.field(description="HSA-id of the source system.")
    author_time: datetime = strawberry.field(description="When the record was written.")
    approved_for_patient: bool = strawberry.field(
        description="Whether the patient may see it in the patient app (1177)."
    )
    nullified: bool = strawberry.field(
        description="Makulerad: recorded in error. Never deleted; lists hide it unless "
        "`includeNullified: true`."
    )
    nullified_reason: str | None = strawberry.field(description="Why it was nullified.")
    version: int = strawberry.field(description="Version, +1 per change (optimistic locking).")

    PATIENT_SCOPED = True

    @field(description="The patient the record is about.")
    async def patient(self, info: Info) -> PatientRef | None:
        from schema.patients import Patient

        return Patient.from_optional(
            await info.context.loader(PatientByIdLoader).load(self.patient_id)
        )

    @field(
        description="The care unit (vårdenhet) responsible for the record.",
        plan=Referenced(CARE_UNIT, "care_unit_id"),
    )
    async def care_unit(self, info: Info) -> CareUnitRef:
        from schema.organizations import CareUnit

        row = await info.context.loader(CareUnitByIdLoader).load(self.care_unit_id)
        assert row is not None  # a foreign key
        return CareUnit.from_row(row)

    @field(
        description="The care provider (vårdgivare) responsible for the record.",
        plan=Referenced(CARE_PROVIDER, "care_provider_id"),
    )
    async def care_provider(self, info: Info) -> CareProviderRef:
        from schema.organizations import CareProvider

        row = await info.context.loader(CareProviderByIdLoader).load(self.care_provider_id)
        assert row is not None  # a foreign key
        return CareProvider.from_row(row)

    @field(description="The care contact the record belongs to, if any.")
    async def care_contact(self, info: Info) -> CareContactRef | None:
        from schema.care import CareContact

        if self.care_contact_id is None:
            return None
        key = (self.patient_id, self.care_contact_id)
        return CareContact.from_optional(await info.context.loader(CareContactByIdLoader).load(key))

    @field(
        description="The accountable professional, if recorded.",
        plan=Embedded(
            {
                "hsa_id": "accountable_hsa_id",
                "name": "accountable_name",
                "role_code": "accountable_role_code",
                "practitioner_id": "accountable_practitioner_id",
            },
            lambda row, _: (
                row.c.accountable_hsa_id.isnot(None) | row.c.accountable_practitioner_id.isnot(None)
            ),
        ),
    )
    def accountable(self) -> Accountable | None:
        if self.accountable_hsa_id is None and self.accountable_practitioner_id is None:
            return None
        return Accountable(
            hsa_id=self.accountable_hsa_id,
            name=self.accountable_name,
            role_code=self.accountable_role_code,
            practitioner_id=self.accountable_practitioner_id,
        )

    @field(
        description="Who signed the record; null while unsigned.",
        plan=Embedded(
            {
                "time": "legal_authenticator_time",
                "hsa_id": "legal_authenticator_hsa_id",
                "name": "legal_authenticator_name",
            },
            lambda row, _: (
                row.c.legal_authenticator_time.isnot(None)
                | row.c.legal_authenticator_hsa_id.isnot(None)
            ),
        ),
    )
    def legal_authenticator(self) -> LegalAuthenticator | None:
        if self.legal_authenticator_time is None and self.legal_authenticator_hsa_id is None:
            return None
        return LegalAuthenticator(
            time=self.legal_authenticator_time,
            hsa_id=self.legal_authenticator_hsa_id,
            name=self.legal_authenticator_name,
        )

    @field(
        description="Whether the record is signed (has a legal authenticator).",
        plan=Computed(lambda row, _: row.c.legal_authenticator_time.isnot(None)),
    )
    def signed(self) -> bool:
        return self.legal_authenticator_time is not None


def event_page(loader: type[PatientListLoader]) -> Callable[..., PageArgs]:
    """The page arguments of a list of the record (filter, paging, nullified, delta sync), as
    its resolver and the planner both read them."""

    def args(
        filter: CareEventFilter | None = None,
        first: int | None = 20,
        after: str | None = None,
        include_nullified: bool = False,
        changed_since: datetime | None = None,
    ) -> PageArgs:
        return loader.listing.args(
            first=first,
            after=after,
            include_nullified=include_nullified,
            filter=since_filter(row_filter(filter), changed_since),
        )

    return args


def clinical_list(loader: type[PatientListLoader], node: Any, description: str) -> Any:
    """A field listing one category of the patient's record, filterable, newest first."""
    page_args = event_page(loader)

    async def resolve(
        self: Node,
        info: Info,
        filter: EventFilter = None,
        first: First = 20,
        after: After = None,
        include_nullified: IncludeNullified = False,
        changed_since: ChangedSince = None,
    ) -> Connection[Any]:
        from schema.registry import TYPES

        args = page_args(filter, first, after, include_nullified, changed_since)
        convert = TYPES[loader.listing.disclose or ""].from_row
        page: Connection[Any] = await page_of(info, loader, (self.pk,), convert, args)
        return page

    resolve.__annotations__["return"] = Connection[node]
    plan = Listed(loader, ("id",), page_args)
    return strawberry.field(resolver=resolve, description=description, metadata=planned(plan))


Kinds = Annotated[
    list[CareEventKind] | None,
    strawberry.argument(description="Only events of these kinds; null or empty: all kinds."),
]
EventFilter = Annotated[
    CareEventFilter | None,
    strawberry.argument(description="Only events matching this filter (period, provider, unit)."),
]


def timeline_args(
    kinds: list[CareEventKind] | None = None,
    filter: CareEventFilter | None = None,
    first: int | None = 20,
    after: str | None = None,
    include_nullified: bool = False,
) -> TimelineArgs:
    """The timeline's arguments, as its resolver and the planner both read them."""
    from resolvers.tables import CARE_CONTACT

    page_args = PageArgs(
        first=page_size(first),
        after=TIMELINE_SORT.decode(after, CARE_CONTACT) if after else None,
        include_nullified=include_nullified,
        filter=row_filter(filter),
    )
    wanted = frozenset(str(k.value) for k in kinds) if kinds else ALL_KINDS
    return TimelineArgs(page_args, wanted)


async def timeline(
    info: Info,
    patient_id: uuid.UUID,
    *,
    kinds: list[CareEventKind] | None,
    filter: CareEventFilter | None,
    first: int | None,
    after: str | None,
    include_nullified: bool,
) -> Connection[CareEvent]:
    """One page of the patient's care events of all (or the given) kinds, newest first."""
    from schema.registry import EVENT_TYPES

    args = timeline_args(kinds, filter, first, after, include_nullified)
    page = await info.context.loader(TimelineByPatientLoader).load((patient_id, args))
    by_kind: dict[str, list[int]] = {}
    for i, row in enumerate(page.rows):
        by_kind.setdefault(row["kind"], []).append(i)
    kinds_on_page = sorted(by_kind)
    # All kinds at once, so the loads of every timeline in the request share their batches.
    loaded = await asyncio.gather(
        *[
            info.context.loader(EVENT_TYPES[kind][1]).load_many(
                [(page.rows[i]["patient_id"], page.rows[i]["id"]) for i in by_kind[kind]]
            )
            for kind in kinds_on_page
        ]
    )
    nodes: list[CareEvent | None] = [None] * len(page.rows)
    for kind, found in zip(kinds_on_page, loaded, strict=True):
        cls = EVENT_TYPES[kind][0]
        for i, event_row in zip(by_kind[kind], found, strict=True):
            nodes[i] = cls.from_optional(event_row)
    return mixed_connection(page, TIMELINE_SORT, nodes)


__all__ = [
    "After",
    "CareEvent",
    "First",
    "IncludeNullified",
    "Kinds",
    "clinical_list",
    "timeline",
    "timeline_args",
]
