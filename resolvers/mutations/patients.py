"""registerPatient: a new person in care, by personnummer, samordningsnummer or reservnummer."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import update

from app import models
from app.context import Context
from app.identifiers import (
    IdentifierError,
    birth_date_of,
    detect_person_identifier_kind,
    normalize_person_identifier,
    validate_municipality_code,
    validate_reservnummer,
)
from resolvers.mutations.checks import Checks, max_length, now
from resolvers.mutations.outcome import Code, Outcome, RowRef
from resolvers.mutations.policy import ensure_may_write
from resolvers.mutations.references import one
from resolvers.mutations.runner import Writer, run_mutation
from resolvers.tables import MUNICIPALITY, PATIENT, REPRESENTATIVE

_POSTAL_CODE = re.compile(r"[1-9][0-9]{2} ?[0-9]{2}")


@dataclass(frozen=True, kw_only=True)
class RegisterPatient:
    personnummer: str | None = None
    reservnummer: str | None = None
    reserve_issuer: str | None = None
    given_name: str
    family_name: str
    birth_date: date | None = None
    sex: str
    protected_identity: bool = False
    street_address: str | None = None
    postal_code: str | None = None
    city: str | None = None
    municipality_code: str | None = None
    idempotency_key: str | None = None


def _person_number(checks: Checks, raw: str) -> tuple[str, str, date] | None:
    """(kind, 12 digits, birth date) of a personnummer or samordningsnummer."""
    field = "input.personnummer"
    try:
        kind = detect_person_identifier_kind(raw, field=field)
        digits = normalize_person_identifier(kind, raw, field=field)
    except IdentifierError as exc:
        checks.add(field, Code.INVALID_IDENTIFIER, f"{field}: {exc.detail} ({exc.rule})")
        return None
    return kind, digits, birth_date_of(digits)


def _identity(checks: Checks, cmd: RegisterPatient) -> tuple[str, str, date | None] | None:
    """Exactly one of personnummer / reservnummer; the birth date follows from a person number."""
    if (cmd.personnummer is None) == (cmd.reservnummer is None):
        checks.add(
            "input.personnummer",
            Code.INVALID_VALUE,
            "give exactly one of input.personnummer and input.reservnummer",
        )
        return None
    if cmd.personnummer is not None:
        found = _person_number(checks, cmd.personnummer)
        if found is None:
            return None
        kind, digits, born = found
        if cmd.birth_date is not None and cmd.birth_date != born:
            checks.add(
                "input.birthDate",
                Code.INVALID_VALUE,
                f"input.birthDate does not match the {kind} (born {born.isoformat()})",
            )
        return kind, digits, born
    reserve = checks.identifier("input.reservnummer", validate_reservnummer, cmd.reservnummer)
    checks.text(
        "input.reserveIssuer",
        cmd.reserve_issuer,
        limit=max_length(models.Patient, "reserve_issuer"),
    )
    reserve_born = checks.day("input.birthDate", cmd.birth_date)
    return ("reservnummer", reserve, reserve_born) if reserve else None


def _address(checks: Checks, cmd: RegisterPatient) -> dict[str, str | None]:
    postal = cmd.postal_code.strip() if cmd.postal_code else None
    if postal is not None and not _POSTAL_CODE.fullmatch(postal):
        checks.add("input.postalCode", Code.INVALID_VALUE, "input.postalCode must be like 123 45")
        postal = None
    return {
        "street_address": checks.text(
            "input.streetAddress",
            cmd.street_address,
            limit=max_length(models.Patient, "street_address"),
            required=False,
        ),
        "postal_code": postal.replace(" ", "") if postal else None,
        "city": checks.text(
            "input.city", cmd.city, limit=max_length(models.Patient, "city"), required=False
        ),
    }


DUPLICATE_HIDDEN = (
    "registration of a patient registered already: answered as registered, nothing written"
)


async def _may_know(ctx: Context, patient_id: uuid.UUID) -> bool:
    """Whether the policy lets the caller see that this patient exists (A12)."""
    return (await ctx.data.access([patient_id]))[patient_id].may_see_identity


def _reconciled(ctx: Context, patient_id: uuid.UUID) -> dict[str, RowRef]:
    """A12: a caller who may not see the registered patient learns nothing of them. The answer
    is that of a registration the caller may not read back (`patient: null`, no user errors:
    what a clinician gets for every new patient, who has no care relationship yet); nothing is
    written, and the attempt is audited on the registered patient for reconciliation."""
    ctx.audit.deny(patient_id, DUPLICATE_HIDDEN)
    return {}


async def _complete_pending_representations(
    write: Writer, person_id: uuid.UUID, identifier: str
) -> None:
    """Powers of attorney granted to this person before they were registered take effect now
    (resolvers/privacy_mutations.add_representative); each completed row is audited."""
    done = await write.ctx.conn.execute(
        update(REPRESENTATIVE)
        .where(
            REPRESENTATIVE.c.representative_patient_id.is_(None),
            REPRESENTATIVE.c.representative_identifier == identifier,
        )
        .values(
            representative_patient_id=person_id,
            representative_identifier=None,
            version=REPRESENTATIVE.c.version + 1,
            updated_at=now(),
        )
        .returning(REPRESENTATIVE.c.patient_id, REPRESENTATIVE.c.id)
    )
    write.written.extend(RowRef("Representative", r.patient_id, r.id) for r in done)


async def register_patient(ctx: Context, cmd: RegisterPatient) -> Outcome:
    async def body(write: Writer) -> dict[str, RowRef]:
        checks = Checks()
        identity = _identity(checks, cmd)
        given = checks.text(
            "input.givenName", cmd.given_name, limit=max_length(models.Patient, "given_name")
        )
        family = checks.text(
            "input.familyName", cmd.family_name, limit=max_length(models.Patient, "family_name")
        )
        address = _address(checks, cmd)
        municipality = checks.code(
            "input.municipalityCode",
            validate_municipality_code,
            cmd.municipality_code,
            required=False,
        )
        checks.done()
        assert identity is not None
        kind, identifier, born = identity
        await ensure_may_write(ctx, None, None)
        if municipality is not None and await one(ctx, MUNICIPALITY, code=municipality) is None:
            checks.add(
                "input.municipalityCode",
                Code.INVALID_CODE,
                f"input.municipalityCode: no municipality has code {municipality}",
            )
        field = "input.personnummer" if kind != "reservnummer" else "input.reservnummer"
        existing = await one(ctx, PATIENT, identifier_kind=kind, identifier=identifier)
        if existing is not None:
            if await _may_know(ctx, existing["id"]):
                checks.add(field, Code.DUPLICATE, f"a patient with this {kind} is registered")
            else:
                checks.done()
                return _reconciled(ctx, existing["id"])
        checks.done()
        ref = await write.insert(
            models.Patient,
            {
                "identifier_kind": kind,
                "identifier": identifier,
                "reserve_issuer": cmd.reserve_issuer.strip() if cmd.reserve_issuer else None,
                "given_name": given,
                "family_name": family,
                "birth_date": born,
                "sex": cmd.sex,
                "protected_identity": cmd.protected_identity,
                "municipality_code": municipality,
                **address,
            },
        )
        await _complete_pending_representations(write, ref.id, identifier)
        return {"patient": ref}

    return await run_mutation(
        ctx, "registerPatient", cmd, body, idempotency_key=cmd.idempotency_key
    )
