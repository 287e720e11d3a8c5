"""Resolvers of the root Query fields."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import strawberry

from app.errors import BadInput
from resolvers import patients as patient_reads
from resolvers import research
from resolvers.loaders.organizations import (
    CareProviderByHsaIdLoader,
    CareProviderByIdLoader,
    CareUnitByHsaIdLoader,
    CareUnitByIdLoader,
    PractitionerByHsaIdLoader,
    PractitionerByIdLoader,
)
from resolvers.loaders.patients import PatientByIdLoader
from schema.connections import After, Connection, First, Info, connection
from schema.ids import decode_id
from schema.inputs import PatientFilter, expect_id, patient_search
from schema.node import Node
from schema.organizations import CareProvider, CareUnit, Practitioner
from schema.patients import Patient

HsaIdArg = Annotated[str | None, strawberry.argument(description="HSA-id, e.g. SE2321000016-1234.")]
IdArg = Annotated[strawberry.ID | None, strawberry.argument(description="Global id.")]


def _one_of(**given: Any) -> str:
    """The name of the one argument given; BAD_USER_INPUT unless exactly one is."""
    named = [k for k, v in given.items() if v is not None]
    if len(named) != 1:
        names = " or ".join(given)
        raise BadInput(f"give exactly one of {names}", field=names, rule="exactly_one")
    return named[0]


async def patient(
    info: Info,
    personnummer: Annotated[
        str | None,
        strawberry.argument(
            description="Personnummer or samordningsnummer, 10 or 12 digits, with or without "
            "separator (YYMMDD-NNNC, YYYYMMDDNNNC)."
        ),
    ] = None,
    id: IdArg = None,
) -> Patient | None:
    if _one_of(personnummer=personnummer, id=id) == "personnummer":
        assert personnummer is not None
        research.refuse_person_lookup(info.context, "personnummer")
        row = await patient_reads.patient_by_identifier(info.context, personnummer)
    else:
        assert id is not None
        row = await info.context.loader(PatientByIdLoader).load(expect_id(id, "Patient"))
    return Patient.from_optional(row)


async def patients(
    info: Info,
    filter: Annotated[
        PatientFilter | None, strawberry.argument(description="Only patients matching this.")
    ] = None,
    first: First = 20,
    after: After = None,
) -> Connection[Patient]:
    search = patient_search(filter)
    if search.conditions():
        # Any person filter with totalCount would count single people (A15).
        research.refuse_person_lookup(info.context, "a filter (use study cohort counts)")
    page = await patient_reads.search_patients(info.context, search, first=first, after=after)
    return connection(page, patient_reads.PATIENT_SORT, Patient.from_row)


async def node(
    info: Info,
    id: Annotated[strawberry.ID, strawberry.argument(description="A global id.")],
) -> Node | None:
    from schema.registry import PATIENT_ROW_TYPES, REFERENCE_TYPES

    gid = decode_id(id)
    if gid.type_name in PATIENT_ROW_TYPES and gid.patient_id is not None:
        cls, row_loader = PATIENT_ROW_TYPES[gid.type_name]
        return cls.from_optional(
            await info.context.loader(row_loader).load((gid.patient_id, gid.id))
        )
    if gid.type_name in REFERENCE_TYPES and gid.patient_id is None:
        ref_cls, ref_loader = REFERENCE_TYPES[gid.type_name]
        return ref_cls.from_optional(await info.context.loader(ref_loader).load(gid.id))
    raise BadInput("id: not a valid global id", field="id", rule="global_id")


async def _by_hsa_or_id(
    info: Info,
    type_name: str,
    by_hsa: Any,
    by_id: Any,
    hsa_id: str | None,
    id: strawberry.ID | None,
) -> Any:
    if _one_of(hsaId=hsa_id, id=id) == "hsaId":
        return await info.context.loader(by_hsa).load(hsa_id)
    assert id is not None
    key: uuid.UUID = expect_id(id, type_name)
    return await info.context.loader(by_id).load(key)


async def care_provider(
    info: Info, hsa_id: HsaIdArg = None, id: IdArg = None
) -> CareProvider | None:
    row = await _by_hsa_or_id(
        info, "CareProvider", CareProviderByHsaIdLoader, CareProviderByIdLoader, hsa_id, id
    )
    return CareProvider.from_optional(row)


async def care_unit(info: Info, hsa_id: HsaIdArg = None, id: IdArg = None) -> CareUnit | None:
    row = await _by_hsa_or_id(
        info, "CareUnit", CareUnitByHsaIdLoader, CareUnitByIdLoader, hsa_id, id
    )
    return CareUnit.from_optional(row)


async def practitioner(
    info: Info, hsa_id: HsaIdArg = None, id: IdArg = None
) -> Practitioner | None:
    if hsa_id is not None:
        await research.refuse_clinician_lookup(info.context)
    row = await _by_hsa_or_id(
        info, "Practitioner", PractitionerByHsaIdLoader, PractitionerByIdLoader, hsa_id, id
    )
    return Practitioner.from_optional(row)
