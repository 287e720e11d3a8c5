"""Dental care (tandvård, DOMAIN.md section 5)."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from schema.events import CareEvent


@strawberry.type(
    description="A completed dental treatment as reported to Försäkringskassan; `eventTime` is "
    "its completion."
)
class DentalTreatment(CareEvent):
    condition_code: str = strawberry.field(description="TLV tillståndskod (condition).")
    procedure_code: str = strawberry.field(
        description="TLV åtgärdskod (procedure), e.g. 101 basundersökning."
    )
    procedure_text: str = strawberry.field(description="The procedure in words.")
    tooth: str | None = strawberry.field(description="FDI tooth number, if tooth-specific.")
    surface: str | None = strawberry.field(description="Tooth surfaces (M, O/I, D, B/F, L/P).")
    price_sek: Decimal = strawberry.field(description="Price in SEK.")


@strawberry.type(
    description="A finding on one tooth (FDI numbering) and surface; the newest per tooth "
    "makes up the current tooth chart."
)
class ToothFinding(CareEvent):
    tooth: str = strawberry.field(description="FDI tooth number, e.g. 36.")
    surface: str | None = strawberry.field(description="Tooth surfaces (M, O/I, D, B/F, L/P).")
    finding_code: str = strawberry.field(description="Code of the finding.")
    finding_text: str = strawberry.field(description="The finding in words.")
