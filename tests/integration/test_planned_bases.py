"""The planned EmergencyOverview and the GraphQL path agree under every legal basis: each demo
clinician (care relationship, municipal units, NLL expedition at the pharmacy) on each demo
patient, with the same data, `withheld` and audit buffer (bases included)."""

from __future__ import annotations

from app.access.principal import Principal, PrincipalKind, Purpose
from app.seed import DEMO_CLINICIANS
from app.seed.demo import DEMO_PATIENTS
from tests.integration import test_planned_emergency as emergency
from tests.integration.demo_support import Demo


def principal(key: str, unit: str | None = None) -> Principal:
    c = DEMO_CLINICIANS[key]
    return Principal(
        kind=PrincipalKind.CLINICIAN,
        subject=c.hsa_id,
        name=f"{c.given_name} {c.family_name}",
        purpose=Purpose.TREAT,
        role=c.role,
        care_unit_hsa_id=unit or c.unit_hsa_id,
        care_provider_hsa_id=c.provider_hsa_id,
    )


async def test_every_demo_clinician_on_every_demo_patient(demo: Demo) -> None:
    who = [principal(key) for key in DEMO_CLINICIANS]
    who.append(principal("home_care_nurse", unit="SE2120000142-HSSO"))
    seen: dict[str, int] = {}
    for p in who:
        for person in DEMO_PATIENTS.values():
            variables = {"personnummer": person.personnummer}
            slow, fast, _, _ = await emergency.both(demo.conn, p, variables)
            assert fast == slow, (p.subject, p.care_unit_hsa_id, person.key)
            if slow["patient"] is not None:
                seen[p.subject] = seen.get(p.subject, 0) + 1
    # The pharmacist reads every demo patient by NLL expedition; the others where care is.
    assert seen[DEMO_CLINICIANS["pharmacist"].hsa_id] == len(DEMO_PATIENTS)
    assert len(seen) == len(DEMO_CLINICIANS)
