"""registerPatient, and what every mutation shares: principals, idempotency, audit."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.settings import Settings
from tests.factories import create_municipality, create_patient, personnummer
from tests.integration.mutation_support import (
    call,
    count,
    errors_of,
    patient_token,
    system_token,
    written,
)

REGISTER = """
mutation Register($input: RegisterPatientInput!) {
  registerPatient(input: $input) {
    patient { id personnummer identifierKind givenName familyName birthDate sex }
    userErrors { field code message }
    replayed
  }
}
"""


def new_patient(**overrides: object) -> dict[str, object]:
    return {
        "personnummer": personnummer(date(1990, 4, 1)),
        "givenName": "Tolvan",
        "familyName": "Tolvansson",
        "sex": "FEMALE",
    } | overrides


async def test_register_patient(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    before = await count(conn, "patient")
    pnr = personnummer(date(1990, 4, 1))
    display = f"{pnr[2:8]}-{pnr[8:]}"
    body = await call(
        client, REGISTER, {"input": new_patient(personnummer=display)}, token=system_token(settings)
    )
    payload = body["data"]["registerPatient"]
    assert payload["userErrors"] == []
    assert payload["replayed"] is False
    patient = payload["patient"]
    assert patient["personnummer"] == pnr
    assert patient["identifierKind"] == "PERSONNUMMER"
    assert patient["birthDate"] == "1990-04-01"
    assert await count(conn, "patient") == before + 1
    row = (
        await conn.execute(text("SELECT id FROM patient WHERE identifier = :i"), {"i": pnr})
    ).one()
    assert await written(conn, row.id) == [f"Patient:{row.id}"]


async def test_invalid_input_names_fields_and_writes_nothing(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    before = await count(conn, "patient")
    body = await call(
        client,
        REGISTER,
        {"input": new_patient(personnummer="191212121213", givenName="  ", postalCode="1234")},
        token=system_token(settings),
    )
    payload = body["data"]["registerPatient"]
    assert payload["patient"] is None
    assert errors_of(payload) == [
        ("input.personnummer", "INVALID_IDENTIFIER"),
        ("input.givenName", "INVALID_VALUE"),
        ("input.postalCode", "INVALID_VALUE"),
    ]
    assert "(luhn)" in payload["userErrors"][0]["message"]
    assert await count(conn, "patient") == before


async def test_reservnummer_needs_issuer_and_a_past_birth_date(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    future = (date.today() + timedelta(days=3)).isoformat()
    body = await call(
        client,
        REGISTER,
        {"input": new_patient(personnummer=None, reservnummer="R-123", birthDate=future)},
        token=system_token(settings),
    )
    assert errors_of(body["data"]["registerPatient"]) == [
        ("input.reserveIssuer", "INVALID_VALUE"),
        ("input.birthDate", "INVALID_DATE_ORDER"),
    ]
    ok = await call(
        client,
        REGISTER,
        {
            "input": new_patient(
                personnummer=None,
                reservnummer="r-123",
                reserveIssuer="Region Test",
                birthDate="1950-01-01",
            )
        },
        token=system_token(settings),
    )
    patient = ok["data"]["registerPatient"]["patient"]
    assert (patient["personnummer"], patient["identifierKind"]) == ("R-123", "RESERVNUMMER")


async def test_birth_date_must_match_the_personnummer(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    body = await call(
        client,
        REGISTER,
        {"input": new_patient(birthDate="1990-04-02")},
        token=system_token(settings),
    )
    assert errors_of(body["data"]["registerPatient"]) == [("input.birthDate", "INVALID_VALUE")]


async def test_unknown_municipality_is_invalid_code(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    await create_municipality(conn, "0180")
    bad = await call(
        client,
        REGISTER,
        {"input": new_patient(municipalityCode="9999")},
        token=system_token(settings),
    )
    assert errors_of(bad["data"]["registerPatient"]) == [("input.municipalityCode", "INVALID_CODE")]
    ok = await call(
        client,
        REGISTER,
        {"input": new_patient(municipalityCode="0180", postalCode="111 22")},
        token=system_token(settings),
    )
    assert ok["data"]["registerPatient"]["userErrors"] == []


async def test_duplicate_identifier(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    existing = await create_patient(conn)
    before = await count(conn, "patient")
    body = await call(
        client,
        REGISTER,
        {"input": new_patient(personnummer=existing.identifier, birthDate=None)},
        token=system_token(settings),
    )
    assert errors_of(body["data"]["registerPatient"]) == [("input.personnummer", "DUPLICATE")]
    assert await count(conn, "patient") == before


async def test_idempotent_retry_returns_the_first_result(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    token = system_token(settings)
    variables = {"input": new_patient(idempotencyKey="register-1")}
    before = await count(conn, "patient")
    first = (await call(client, REGISTER, variables, token=token))["data"]["registerPatient"]
    again = (await call(client, REGISTER, variables, token=token))["data"]["registerPatient"]
    assert again["patient"] == first["patient"]
    assert (first["replayed"], again["replayed"]) == (False, True)
    assert await count(conn, "patient") == before + 1
    assert await count(conn, "idempotency_key") >= 1

    other_input = {"input": new_patient(idempotencyKey="register-1", givenName="Annan")}
    refused = (await call(client, REGISTER, other_input, token=token))["data"]["registerPatient"]
    assert errors_of(refused) == [("input.idempotencyKey", "CONFLICT")]

    # Keys belong to their principal: another caller's same key is a new request.
    other = system_token(settings, subject="another-integration")
    clash = (await call(client, REGISTER, variables, token=other))["data"]["registerPatient"]
    assert errors_of(clash) == [("input.personnummer", "DUPLICATE")]


async def test_failed_attempt_does_not_use_up_the_key(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    token = system_token(settings)
    bad = {"input": new_patient(givenName="", idempotencyKey="k-2")}
    assert (await call(client, REGISTER, bad, token=token))["data"]["registerPatient"]["userErrors"]
    good = {"input": new_patient(idempotencyKey="k-2")}
    payload = (await call(client, REGISTER, good, token=token))["data"]["registerPatient"]
    assert payload["userErrors"] == [] and payload["replayed"] is False


async def test_anonymous_may_not_write(client: httpx.AsyncClient, conn: AsyncConnection) -> None:
    before = await count(conn, "patient")
    body = await call(client, REGISTER, {"input": new_patient(personnummer="nonsense")})
    assert body["data"]["registerPatient"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await count(conn, "patient") == before


async def test_a_patient_may_not_write_and_the_refusal_is_logged(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    me = await create_patient(conn)
    before = await count(conn, "patient")
    body = await call(
        client, REGISTER, {"input": new_patient()}, token=patient_token(settings, me.identifier)
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await count(conn, "patient") == before
    denied = await conn.execute(
        text(
            "SELECT count(*) FROM audit_entry WHERE action = 'deny' AND principal_kind = 'patient'"
        )
    )
    assert denied.scalar_one() >= 1
