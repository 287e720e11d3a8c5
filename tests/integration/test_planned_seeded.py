"""Differential check on the seeded synthetic population (app/seed): for every seeded patient
and each demo clinician, EmergencyOverview planned and through GraphQL give the same data and
audit buffer; and so does each clinician's PopulationList. The factory tests pin the edge
cases; this one covers the variety the generator produces (all record kinds, blocks, consents,
dates)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from sqlalchemy import select

from app import migrate
from app.access.principal import Principal, PrincipalKind, Purpose
from app.db import create_engine
from app.seed import DEMO_CLINICIANS, seed_population
from resolvers.tables import PATIENT
from tests.integration import test_planned_emergency as emergency
from tests.integration import test_planned_population as population

PATIENTS = 25


@pytest.fixture(scope="module")
def seeded_url(fresh_database: Callable[[], str]) -> str:
    url = fresh_database()
    migrate.upgrade(url)
    asyncio.run(seed_population(url, patients=PATIENTS, seed=5))
    return url


def clinicians() -> list[Principal]:
    return [
        Principal(
            kind=PrincipalKind.CLINICIAN,
            subject=c.hsa_id,
            name=f"{c.given_name} {c.family_name}",
            purpose=Purpose.TREAT,
            role=c.role,
            care_unit_hsa_id=c.unit_hsa_id,
            care_provider_hsa_id=c.provider_hsa_id,
        )
        for c in DEMO_CLINICIANS.values()
    ][:3]


async def test_seeded_population_answers_the_same(seeded_url: str) -> None:
    engine = create_engine(seeded_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            identifiers = (await conn.execute(select(PATIENT.c.identifier))).scalars().all()
            assert len(identifiers) >= PATIENTS
            seen_contacts = listed = 0
            for principal in clinicians():
                for identifier in identifiers:
                    variables = {"personnummer": identifier}
                    slow, fast, _, _ = await emergency.both(conn, principal, variables)
                    assert fast == slow, (principal.subject, identifier)
                    if slow["patient"]:
                        seen_contacts += len(slow["patient"]["careContacts"]["nodes"])
                assert principal.care_provider_hsa_id is not None
                variables = {"first": 50, "items": 5, "provider": principal.care_provider_hsa_id}
                slow, fast, _, _ = await population.both(conn, principal, variables)
                assert fast == slow, principal.subject
                listed += len(slow["patients"]["nodes"])
            assert seen_contacts > 0 and listed > 0
            await conn.rollback()
    finally:
        await engine.dispose()
