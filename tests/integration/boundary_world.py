"""A patient cared for on both sides of the region-municipality boundary, with the tokens of
the real roles: the GP who prescribes at the region's vårdcentral and the district nurse in
the municipality's home care (never a `system` token)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from app import models
from app.settings import Settings
from tests.factories import (
    create_care_relationship,
    create_consent,
    create_patient,
    create_prescription,
    create_provider,
    create_unit,
)
from tests.integration.mutation_support import row_gid
from tests.integration.test_legal_bases import clinician_token, staff


@dataclass
class Boundary:
    patient: models.Patient
    region: models.CareProvider
    vc: models.CareUnit
    kommun: models.CareProvider
    home_care: models.CareUnit
    gp: models.Practitioner
    nurse: models.Practitioner
    gp_token: str
    nurse_token: str
    colleague_token: str  # another doctor at the vårdcentral, who did not prescribe
    warfarin: models.Prescription

    @property
    def warfarin_gid(self) -> str:
        return row_gid("Prescription", self.warfarin)


async def boundary(
    conn: AsyncConnection, settings: Settings, *, nll_consent: bool = True
) -> Boundary:
    region = await create_provider(conn)
    vc = await create_unit(conn, region, name="Vårdcentralen Test", kind="primary_care")
    kommun = await create_provider(
        conn, name="Test kommun", kind="kommun", organisation_number="2120000142"
    )
    home_care = await create_unit(conn, kommun, name="Hemtjänst Test", kind="home_care")
    patient = await create_patient(conn)
    await create_care_relationship(conn, patient, vc)
    await create_care_relationship(conn, patient, home_care)
    if nll_consent:  # the patient lets home care read his medication list (A11)
        await create_consent(conn, patient, "nll_access", care_unit_id=home_care.id)
    gp = await staff(conn, vc)
    colleague = await staff(conn, vc)
    nurse = await staff(conn, home_care, profession="sjuksköterska")
    warfarin = await create_prescription(
        conn,
        patient,
        vc,
        drug_name="Waran",
        atc_code="B01AA03",
        accountable_practitioner_id=gp.id,
        accountable_hsa_id=gp.hsa_id,
    )
    return Boundary(
        patient=patient,
        region=region,
        vc=vc,
        kommun=kommun,
        home_care=home_care,
        gp=gp,
        nurse=nurse,
        gp_token=clinician_token(settings, gp, vc, region),
        nurse_token=clinician_token(settings, nurse, home_care, kommun, "sjuksköterska"),
        colleague_token=clinician_token(settings, colleague, vc, region),
        warfarin=warfarin,
    )
