"""A SIP as a FHIR R4 CarePlan (app/fhir/mapping/sip.py): a plan with its participants, goals
and actions survives the round trip, and a SIP written by another system (no extensions of
ours) is imported."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from app.fhir.mapping.registry import SIP, kind_of
from app.fhir.mapping.sip import sip_parts_from_fhir, sip_to_fhir
from app.fhir.r4 import dumps, loads, validate
from tests.fixtures.fhir.rows import PATIENT, PROVIDER, SAMPLES, UNIT, DictResolver

KOMMUN_UNIT = uuid.UUID("00000000-0000-4000-8000-0000000005c1")
AT = datetime(2024, 3, 4, 10, 0, tzinfo=UTC)
PLAN = SAMPLES["sip_plan"]


def _part(n: int, **own: Any) -> dict[str, Any]:
    return {
        "patient_id": PATIENT,
        "id": uuid.UUID(f"00000000-0000-4000-8000-00000000060{n}"),
        "plan_id": PLAN["id"],
        "written_by_unit_id": UNIT,
        "written_by_hsa_id": "SE2321000016-DOC1",
        "written_at": AT,
        **own,
    }


GOAL = _part(1, position=1, goal="Bo kvar hemma tryggt")
PARTS: dict[str, list[dict[str, Any]]] = {
    "sip_participant": [
        _part(2, care_unit_id=KOMMUN_UNIT, care_provider_id=PROVIDER, name="Eva", role="dsk"),
        _part(3, care_unit_id=None, care_provider_id=None, name="Tolvan", role="patient"),
    ],
    "sip_goal": [GOAL],
    "sip_action": [
        _part(
            4,
            written_by_unit_id=KOMMUN_UNIT,
            goal_id=GOAL["id"],
            description="Läkemedelsöverlämning morgon och kväll",
            responsible_provider_id=PROVIDER,
            responsible_unit_id=KOMMUN_UNIT,
            follow_up_on=date(2024, 4, 1),
            status="planned",
            status_note=None,
            status_set_at=None,
            status_set_by_hsa_id=None,
        ),
        # Marked done by the responsible side (updateSipAction), with its follow-up note.
        _part(
            5,
            written_by_unit_id=KOMMUN_UNIT,
            goal_id=None,
            description="Trygghetslarm installeras",
            responsible_provider_id=PROVIDER,
            responsible_unit_id=KOMMUN_UNIT,
            follow_up_on=None,
            status="done",
            status_note="Larmet installerat och provat med patienten",
            status_set_at=datetime(2024, 3, 20, 9, 30, tzinfo=UTC),
            status_set_by_hsa_id="SE2321000016-DSK1",
        ),
    ],
}


def test_a_sip_with_its_parts_survives_the_round_trip() -> None:
    data = loads(dumps(sip_to_fhir(PLAN, None, PARTS)))
    assert data["resourceType"] == "CarePlan" and kind_of(data) is SIP
    assert "basedOn" not in data  # R4: CarePlan.basedOn points at CarePlans only
    resource = validate(data)
    resolver = DictResolver(current=PLAN["id"])
    assert SIP.from_fhir(resource, resolver) == PLAN
    parts = sip_parts_from_fhir(resource, resolver, PLAN)
    participants = parts["sip_participant"]
    assert participants[0]["care_provider_id"] == PROVIDER  # from the unit (resolver)
    assert participants == PARTS["sip_participant"]
    assert parts["sip_goal"] == PARTS["sip_goal"]
    assert parts["sip_action"] == PARTS["sip_action"]
    done = data["activity"][1]
    assert done["detail"]["status"] == "completed"
    assert done["progress"] == [{"text": "Larmet installerat och provat med patienten"}]


def test_a_sip_from_another_system_is_imported() -> None:
    data = {
        "resourceType": "CarePlan",
        "status": "active",
        "intent": "plan",
        "category": [
            {"coding": [{"system": "https://vardkedja.se/fhir/CodeSystem/care-plan-kind",
                         "code": "sip"}]}
        ],
        "identifier": [{"system": "urn:example:sip", "value": "SIP-77"}],
        "title": "SIP efter utskrivning",
        "description": "Behöver stöd i hemmet.",
        "subject": {"reference": f"Patient/{PATIENT}"},
        "created": "2024-03-04T10:00:00+01:00",
        "contained": [
            {"resourceType": "CareTeam", "id": "t",
             "participant": [{"role": [{"text": "sjuksköterska"}],
                              "member": {"reference": f"Organization/{KOMMUN_UNIT}",
                                         "display": "Eva"}}]},
            {"resourceType": "Goal", "id": "g", "lifecycleStatus": "active",
             "description": {"text": "Trygg hemma"},
             "subject": {"reference": f"Patient/{PATIENT}"}},
        ],
        "careTeam": [{"reference": "#t"}],
        "goal": [{"reference": "#g"}],
        "activity": [{"detail": {"status": "completed", "description": "Trygghetslarm",
                                 "performer": [{"reference": f"Organization/{KOMMUN_UNIT}"}],
                                 "goal": [{"reference": "#g"}]}}],
    }  # fmt: skip
    resource = validate(loads(dumps(data)))
    assert kind_of(data) is SIP
    resolver = _Resolver()
    # The import names the source system and the unit that holds what another system sent.
    resolver.defaults.source_system_hsa_id = "SE2120000142-SRC9"
    resolver.defaults.care_unit_id = UNIT
    plan = SIP.from_fhir(resource, resolver) | {"id": uuid.uuid4()}
    assert (plan["title"], plan["status"]) == ("SIP efter utskrivning", "active")
    parts = sip_parts_from_fhir(resource, resolver, plan)
    assert [p["name"] for p in parts["sip_participant"]] == ["Eva"]
    assert parts["sip_goal"][0]["goal"] == "Trygg hemma"
    action = parts["sip_action"][0]
    assert (action["status"], action["responsible_provider_id"]) == ("done", PROVIDER)
    assert action["goal_id"] == parts["sip_goal"][0]["id"]


class _Resolver(DictResolver):
    """Another system's parts carry no ids of ours: each gets a fresh one."""

    def child_id(self, parent_id: uuid.UUID, own_id: str | None, index: int) -> uuid.UUID:
        return uuid.uuid5(parent_id, str(index)) if own_id is None else uuid.UUID(own_id)
