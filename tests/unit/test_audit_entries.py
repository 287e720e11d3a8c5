"""The entries a flush writes: each is `entry_content` of its fields, and the JSON it is chained
with is `canonical` of it (what `vardkedja audit verify` recomputes from the stored row)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from app.access.principal import Principal, PrincipalKind, Purpose
from app.audit import AuditBuffer, AuditEvent, _entries, canonical, entry_content

NOW = datetime(2026, 11, 22, 8, 30, 1, 250, tzinfo=UTC)


def principal(reason: str | None = None) -> Principal:
    return Principal(
        kind=PrincipalKind.CLINICIAN,
        subject="SE2321000016-DR01",
        name="Doktor " + "Långt Namn " * 30,  # longer than the column: cut
        purpose=Purpose.ETREAT if reason else Purpose.TREAT,
        care_unit_hsa_id="SE2321000016-SOAK",
        care_provider_hsa_id="SE2321000016-RSTH",
        emergency_reason=reason,
    )


def buffer() -> AuditBuffer:
    b = AuditBuffer()
    first, second, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    b.disclose(first, "Alert", uuid.uuid4())
    b.disclose_all(second, ["CareContact:x", "Diagnosis:y"])
    b.write(third, "CareContact", uuid.uuid4())
    b.event(AuditEvent(None, "search", "nothing", ()))
    b.event(AuditEvent(first, "emergency_step1", "disclosed", ("CareProvider:z",), "why", True))
    b.deny(uuid.uuid4(), "no access " * 80)  # longer than the column: cut
    b.deny(first, "ignored: this patient was disclosed")
    return b


def test_each_entry_is_its_content_and_its_json_is_canonical() -> None:
    for who in (principal(), principal("Medvetslös patient")):
        made = _entries(buffer(), who, "PopulationList", NOW)
        assert len(made) == 6
        for content, text in made:
            assert text == canonical(content)
            expected = entry_content(
                who,
                occurred_at=NOW,
                patient_id=content["patient_id"],
                action=content["action"],
                outcome=content["outcome"],
                resources=content["resources"],
                operation="PopulationList",
                reason=content["reason"],
                review_required=content["review_required"],
            )
            assert content == expected
        reasons = [c["reason"] for c, _ in made if c["action"] == "deny"]
        assert reasons and all(len(r) == 500 for r in reasons)
        assert all(len(c["principal_name"]) == 200 for c, _ in made)


def test_disclosures_come_in_patient_id_order() -> None:
    b = AuditBuffer()
    ids = [uuid.uuid4() for _ in range(20)]
    for pid in ids:
        b.disclose(pid, "Patient", pid)
    made = _entries(b, principal(), None, NOW)
    assert [c["patient_id"] for c, _ in made] == sorted(ids, key=lambda u: u.bytes)
