"""tests/patient_joins.py on statements whose answer is known: it finds joins of
patient-scoped tables without equal patient ids, and passes those that have them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.patient_joins import violations

KEYS = {
    "patient": "id",
    "care_contact": "patient_id",
    "diagnosis": "patient_id",
    "consent": "patient_id",
    "sip_plan": "patient_id",
    "sip_goal": "patient_id",
}
COLUMNS = {
    "patient": ["id", "identifier"],
    "care_contact": ["id", "patient_id", "reason"],
    "diagnosis": ["id", "patient_id", "care_contact_id", "code"],
    "consent": ["id", "patient_id", "kind"],
    "sip_plan": ["id", "patient_id"],
    "sip_goal": ["id", "patient_id", "plan_id"],
    "care_unit": ["id", "hsa_id"],
}
SAME, OTHER = ["p1", "p1"], ["p1", "p2"]

PASSING: list[tuple[str, Any]] = [
    ("SELECT * FROM diagnosis d JOIN care_contact c"
     " ON c.id = d.care_contact_id AND c.patient_id = d.patient_id", None),
    ("SELECT * FROM diagnosis d, care_contact c WHERE c.id = d.care_contact_id"
     " AND c.patient_id = $1 AND d.patient_id = $2", SAME),
    ("SELECT * FROM patient p WHERE EXISTS"
     " (SELECT 1 FROM consent c WHERE c.patient_id = p.id AND c.kind = 'x')", None),
    ("SELECT * FROM sip_goal WHERE sip_goal.patient_id = $1 AND sip_goal.plan_id IN"
     " (SELECT sip_plan.id FROM sip_plan WHERE sip_plan.patient_id = $2)", SAME),
    ("SELECT * FROM sip_goal WHERE sip_goal.patient_id IN (SELECT patient_id FROM sip_plan)", None),
    ("SELECT * FROM diagnosis WHERE patient_id = (SELECT id FROM patient WHERE identifier = $1)",
     ["x"]),
    ("SELECT * FROM (SELECT patient_id, care_contact_id FROM diagnosis) d JOIN care_contact c"
     " ON c.id = d.care_contact_id AND c.patient_id = d.patient_id", None),
    ("WITH d AS (SELECT patient_id, care_contact_id FROM diagnosis)"
     " SELECT * FROM d JOIN care_contact c USING (patient_id)", None),
    ("SELECT p.id, (SELECT count(*) FROM diagnosis WHERE diagnosis.patient_id = p.id)"
     " FROM patient p WHERE p.id = ANY($1)", [["p1"]]),
    ("SELECT * FROM diagnosis d JOIN care_unit u ON u.id = d.care_contact_id", None),
    ("SELECT * FROM diagnosis d JOIN care_contact c ON (c.patient_id, c.id)"
     " = (d.patient_id, d.care_contact_id)", None),
    ("SELECT * FROM diagnosis d, unnest($1::uuid[]) AS u(id) WHERE d.id = u.id", [["x"]]),
    # An aggregate gives no patient_id, but its rows are the outer patient's.
    ("SELECT p.id, l.n FROM patient p LEFT JOIN LATERAL (SELECT count(*) AS n FROM"
     " (SELECT * FROM diagnosis WHERE diagnosis.patient_id = p.id) d) l ON true", None),
]  # fmt: skip

FAILING: list[tuple[str, Any]] = [
    ("SELECT * FROM diagnosis d JOIN care_contact c ON c.id = d.care_contact_id", None),
    ("SELECT * FROM diagnosis d, care_contact c WHERE c.id = d.care_contact_id"
     " AND c.patient_id = $1 AND d.patient_id = $2", OTHER),
    ("SELECT * FROM patient p WHERE EXISTS (SELECT 1 FROM consent c WHERE c.id = p.id)", None),
    ("SELECT * FROM patient p WHERE EXISTS"
     " (SELECT 1 FROM consent c WHERE c.patient_id = p.id OR c.kind = 'x')", None),
    ("SELECT * FROM sip_goal WHERE sip_goal.patient_id = $1 AND sip_goal.plan_id IN"
     " (SELECT sip_plan.id FROM sip_plan)", ["p1"]),
    ("SELECT * FROM diagnosis WHERE care_contact_id = (SELECT id FROM care_contact WHERE"
     " reason = $1)", ["x"]),
    ("SELECT * FROM (SELECT care_contact_id FROM diagnosis) d JOIN care_contact c"
     " ON c.id = d.care_contact_id", None),
    ("SELECT * FROM diagnosis d JOIN LATERAL (SELECT * FROM care_contact c"
     " WHERE c.id = d.care_contact_id) x ON true", None),
    ("UPDATE diagnosis SET code = 'x' FROM care_contact c"
     " WHERE c.id = diagnosis.care_contact_id", None),
    ("DELETE FROM diagnosis WHERE care_contact_id IN (SELECT id FROM care_contact"
     " WHERE reason = 'x')", None),
    ("SELECT p.id, l.n FROM patient p LEFT JOIN LATERAL (SELECT count(*) AS n FROM"
     " (SELECT * FROM diagnosis WHERE diagnosis.code = p.identifier) d) l ON true", None),
]  # fmt: skip


@pytest.mark.parametrize(("sql", "args"), PASSING)
def test_joins_on_the_patient_pass(sql: str, args: Any) -> None:
    assert violations(sql, args, KEYS, COLUMNS) == []


@pytest.mark.parametrize(("sql", "args"), FAILING)
def test_joins_without_the_patient_are_found(sql: str, args: Any) -> None:
    assert violations(sql, args, KEYS, COLUMNS) != []
