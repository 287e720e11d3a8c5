"""Filter inputs of the list fields, and their translation to hashable loader arguments."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime

import strawberry

from app.access.research import bound
from app.errors import BadInput
from resolvers.filters import RowFilter
from resolvers.patients import PatientSearch, normalized_identifier
from schema.enums import ContactStatus, ContactType, PrescriptionKind, PrescriptionStatus, Sex
from schema.ids import decode_id


def expect_id(value: str, type_name: str, *, field: str = "id") -> uuid.UUID:
    """The row id inside a global id of `type_name`; BAD_USER_INPUT otherwise."""
    gid = decode_id(value, field=field)
    if gid.type_name != type_name:
        raise BadInput(f"{field}: not the id of a {type_name}", field=field, rule="global_id")
    return gid.id


@strawberry.input(description="A period of time: from `start` (inclusive) to `end` (exclusive).")
class PeriodInput:
    start: datetime | None = strawberry.field(
        default=None, description="Start of the period, inclusive; open if null."
    )
    end: datetime | None = strawberry.field(
        default=None, description="End of the period, exclusive; open if null."
    )


@strawberry.input(description="Narrows a list of care events; all given conditions must hold.")
class CareEventFilter:
    period: PeriodInput | None = strawberry.field(
        default=None, description="Only events whose time (`eventTime`) falls in this period."
    )
    care_provider_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Only events of these care providers (global ids)."
    )
    care_unit_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Only events of these care units (global ids)."
    )
    care_provider_hsa_ids: list[str] | None = strawberry.field(
        default=None, description="Only events of the care providers with these HSA-ids."
    )
    care_unit_hsa_ids: list[str] | None = strawberry.field(
        default=None, description="Only events of the care units with these HSA-ids."
    )


@strawberry.input(description="Narrows a list of care contacts; all given conditions must hold.")
class CareContactFilter(CareEventFilter):
    period: PeriodInput | None = strawberry.field(
        default=None,
        description="Only contacts whose own period (start to end; ongoing if no end) overlaps "
        "this period.",
    )
    types: list[ContactType] | None = strawberry.field(
        default=None, description="Only contacts of these types."
    )
    statuses: list[ContactStatus] | None = strawberry.field(
        default=None, description="Only contacts with these statuses."
    )


@strawberry.input(description="Narrows a list of prescriptions; all given conditions must hold.")
class PrescriptionFilter(CareEventFilter):
    statuses: list[PrescriptionStatus] | None = strawberry.field(
        default=None, description="Only prescriptions with these statuses (e.g. [AKTIV])."
    )
    kinds: list[PrescriptionKind] | None = strawberry.field(
        default=None, description="Only prescriptions of these kinds."
    )
    atc_prefixes: list[str] | None = strawberry.field(
        default=None,
        description="Only drugs whose ATC code starts with one of these ATC groups, e.g. "
        '["B01A", "M05BA"] for anticoagulants and bisphosphonates.',
    )


# An ATC group at any level: A, A10, A10B, A10BA, A10BA02.
_ATC_PREFIX = re.compile(r"[A-Z](\d{2}([A-Z]([A-Z](\d{2})?)?)?)?")


def atc_prefixes(values: list[str]) -> frozenset[str]:
    """Upper-cased ATC groups; anything that is not an ATC group is a BAD_USER_INPUT."""
    out = set()
    for raw in values:
        value = raw.strip().upper()
        if not _ATC_PREFIX.fullmatch(value):
            raise BadInput(
                f"filter.atcPrefixes: {raw!r} is not an ATC group (e.g. B01A or N02BE01)",
                field="filter.atcPrefixes",
                rule="atc_prefix",
            )
        out.add(value)
    return frozenset(out)


@strawberry.input(description="Narrows a patient search; all given conditions must hold.")
class PatientFilter:
    family_name: str | None = strawberry.field(
        default=None, description="Family name starts with this (case-insensitive)."
    )
    given_name: str | None = strawberry.field(
        default=None, description="Given name starts with this (case-insensitive)."
    )
    born_from: date | None = strawberry.field(
        default=None, description="Born on or after this date."
    )
    born_to: date | None = strawberry.field(
        default=None, description="Born on or before this date."
    )
    sexes: list[Sex] | None = strawberry.field(default=None, description="Only these sexes.")
    municipality_codes: list[str] | None = strawberry.field(
        default=None, description="Only residents of these municipalities (kommunkod)."
    )
    personnummer: list[str] | None = strawberry.field(
        default=None,
        description="Only these personnummer/samordningsnummer (any accepted spelling).",
    )


def row_filter(value: CareEventFilter | None) -> RowFilter:
    """The hashable form of a filter input (global ids decoded and checked)."""
    if value is None:
        return RowFilter()
    period = value.period or PeriodInput()
    extra: list[tuple[str, frozenset[str]]] = []
    prefixes: list[tuple[str, frozenset[str]]] = []
    if isinstance(value, CareContactFilter):
        if value.types:
            extra.append(("contact_type", frozenset(str(t.value) for t in value.types)))
        if value.statuses:
            extra.append(("status", frozenset(str(s.value) for s in value.statuses)))
    if isinstance(value, PrescriptionFilter):
        if value.statuses:
            extra.append(("status", frozenset(str(s.value) for s in value.statuses)))
        if value.kinds:
            extra.append(("kind", frozenset(str(k.value) for k in value.kinds)))
        if value.atc_prefixes:
            prefixes.append(("atc_code", atc_prefixes(value.atc_prefixes)))
    return RowFilter(
        start=period.start and bound(period.start, "filter.period.start"),
        end=period.end and bound(period.end, "filter.period.end"),
        care_provider_ids=frozenset(
            expect_id(i, "CareProvider", field="careProviderIds")
            for i in value.care_provider_ids or ()
        ),
        care_unit_ids=frozenset(
            expect_id(i, "CareUnit", field="careUnitIds") for i in value.care_unit_ids or ()
        ),
        care_provider_hsa_ids=frozenset(value.care_provider_hsa_ids or ()),
        care_unit_hsa_ids=frozenset(value.care_unit_hsa_ids or ()),
        values=tuple(extra),
        prefixes=tuple(prefixes),
        period_overlaps=isinstance(value, CareContactFilter),
    )


def patient_search(value: PatientFilter | None) -> PatientSearch:
    if value is None:
        return PatientSearch()
    return PatientSearch(
        family_name=value.family_name,
        given_name=value.given_name,
        born_from=value.born_from,
        born_to=value.born_to,
        sexes=frozenset(str(s.value) for s in value.sexes or ()),
        municipality_codes=frozenset(value.municipality_codes or ()),
        identifiers=frozenset(
            normalized_identifier(p, field="personnummer") for p in value.personnummer or ()
        ),
    )
