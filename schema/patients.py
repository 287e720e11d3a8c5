"""Patient types."""

from __future__ import annotations

from datetime import date

import strawberry


@strawberry.type(description="A person in care.")
class Patient:
    id: strawberry.ID = strawberry.field(description="Opaque global id.")
    personnummer: str = strawberry.field(
        description="Personnummer or samordningsnummer, 12 digits (YYYYMMDDNNNC)."
    )
    given_name: str = strawberry.field(description="Given name(s).")
    family_name: str = strawberry.field(description="Family name.")
    birth_date: date = strawberry.field(description="Date of birth.")
