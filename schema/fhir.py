"""FHIR R4 in the GraphQL schema: `fhirEverything` (Query) and `importFhirBundle` (Mutation),
mixed into the root types. docs/fhir.md says what maps where."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from app.fhir.results import ImportResult
from resolvers import fhir
from schema.connections import Info
from schema.inputs import expect_id


@strawberry.type(description="Rows written for one FHIR resource type.")
class FhirImportCount:
    resource_type: str = strawberry.field(description="The FHIR resource type, e.g. Patient.")
    created: int = strawberry.field(description="Rows that did not exist before.")
    updated: int = strawberry.field(description="Existing rows (same natural key) overwritten.")


@strawberry.type(description="Why one entry of the bundle cannot be imported.")
class FhirImportError:
    index: int = strawberry.field(description="Position of the entry in Bundle.entry, from 0.")
    resource_type: str | None = strawberry.field(description="The entry's resource type.")
    path: str = strawberry.field(description="Where in the resource, e.g. Patient.birthDate.")
    reason: str = strawberry.field(description="What is wrong.")


@strawberry.type(
    description="Something vardkedja does not store, not an error: an entry that is skipped "
    "(UNSUPPORTED_RESOURCE) or an element of an imported entry that its row cannot hold "
    "(UNSUPPORTED_ELEMENT; for patient data it is kept for FHIR export)."
)
class FhirUnsupportedEntry:
    index: int = strawberry.field(description="Position of the entry in Bundle.entry, from 0.")
    resource_type: str | None = strawberry.field(description="The entry's resource type.")
    reason: str = strawberry.field(description="Why it is not stored.")
    code: str = strawberry.field(description="UNSUPPORTED_RESOURCE or UNSUPPORTED_ELEMENT.")
    path: str | None = strawberry.field(
        description="The element, e.g. AllergyIntolerance.criticality (UNSUPPORTED_ELEMENT)."
    )


@strawberry.type(
    description="The outcome of a FHIR import: all entries written, or (on any error) none."
)
class FhirImportResult:
    ok: bool = strawberry.field(description="True when the bundle was written.")
    entries: int = strawberry.field(description="Entries in the bundle.")
    imported: list[FhirImportCount] = strawberry.field(
        description="Rows written per resource type; empty when nothing was written."
    )
    errors: list[FhirImportError] = strawberry.field(
        description="Per-entry errors; any error means nothing was written."
    )
    errors_not_listed: int = strawberry.field(
        description="Further errors beyond the first thousand, only counted."
    )
    unsupported: list[FhirUnsupportedEntry] = strawberry.field(
        description="Entries not stored because vardkedja has no place for them."
    )

    @classmethod
    def of(cls, result: ImportResult) -> FhirImportResult:
        return cls(
            ok=result.ok,
            entries=result.entries,
            imported=[
                FhirImportCount(
                    resource_type=name,
                    created=result.created[name],
                    updated=result.updated[name],
                )
                for name in result.imported
            ],
            errors=[
                FhirImportError(
                    index=e.index, resource_type=e.resource_type, path=e.path, reason=e.reason
                )
                for e in result.errors
            ],
            errors_not_listed=result.errors_not_listed,
            unsupported=[
                FhirUnsupportedEntry(
                    index=u.index,
                    resource_type=u.resource_type,
                    reason=u.reason,
                    code=u.code,
                    path=u.path,
                )
                for u in result.unsupported
            ],
        )


async def fhir_everything(
    info: Info,
    patient_id: Annotated[
        strawberry.ID, strawberry.argument(description="Global id of the patient.")
    ],
) -> JSON | None:
    pid = expect_id(patient_id, "Patient", field="patientId")
    bundle = await fhir.fhir_everything(info.context, pid)
    return None if bundle is None else JSON(bundle)


async def import_fhir_bundle(
    info: Info,
    bundle: Annotated[
        JSON, strawberry.argument(description="A FHIR R4 Bundle (any type) or one resource.")
    ],
    source_system_hsa_id: Annotated[
        str | None,
        strawberry.argument(
            description="HSA-id of the source system, for resources without our document "
            "identifier."
        ),
    ] = None,
    care_unit_hsa_id: Annotated[
        str | None,
        strawberry.argument(description="HSA-id of the care unit, for resources naming none."),
    ] = None,
) -> FhirImportResult:
    result = await fhir.import_bundle(
        info.context,
        bundle,
        source_system_hsa_id=source_system_hsa_id,
        care_unit_hsa_id=care_unit_hsa_id,
    )
    return FhirImportResult.of(result)


@strawberry.type(description="FHIR fields of the root Query (mixed into Query).")
class FhirQuery:
    fhir_everything: JSON | None = strawberry.field(
        resolver=fhir_everything,
        description="The patient's whole record as a FHIR R4 Bundle (Patient/$everything): "
        "what the caller may see, audited; null if the patient is not visible.",
    )


@strawberry.type(description="FHIR mutations (mixed into Mutation).")
class FhirMutation:
    import_fhir_bundle: FhirImportResult = strawberry.mutation(
        resolver=import_fhir_bundle,
        description="Import a FHIR R4 Bundle, all or nothing, re-import safe (upserts on "
        "natural keys); system integrations only. Unsupported entries are reported.",
    )
