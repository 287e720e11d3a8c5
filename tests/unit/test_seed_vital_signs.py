"""Vital signs in the generated population (app/seed/vitals.py), without a database: a set at
emergency visits and hospital stays and weekly at home, each scored as app/news2 scores it."""

from __future__ import annotations

from collections import Counter

from app.news2 import Consciousness, News2Risk, VitalSigns, news2
from app.seed.loader import AS_OF
from app.seed.people import NamePools, PersonFactory
from app.seed.population import batch
from app.seed.tables import PATIENT_COLUMNS
from app.seed.world import world

COLUMNS = PATIENT_COLUMNS["vital_signs"]
CONTACTS = PATIENT_COLUMNS["care_contact"]


def test_vital_signs_are_recorded_where_care_measures_them_and_scored() -> None:
    factory = PersonFactory(NamePools.build(1), AS_OF, set(), 1)
    rows = batch(world(), factory, 1, 0, 300, AS_OF)
    signs = [dict(zip(COLUMNS, row, strict=True)) for row in rows.by_table["vital_signs"]]
    assert len({s["patient_id"] for s in signs}) > 30
    for s in signs:
        scored = news2(
            VitalSigns(
                respiration_rate=s["respiration_rate"],
                spo2=s["spo2"],
                hypercapnic_scale=s["hypercapnic_scale"],
                supplemental_oxygen=s["supplemental_oxygen"],
                systolic_bp=s["systolic_bp"],
                pulse=s["pulse"],
                consciousness=Consciousness(s["consciousness"]),
                temperature=s["temperature"],
            )
        )
        assert (s["news2_score"], s["news2_risk"]) == (scored.score, scored.risk.value)
        assert s["diastolic_bp"] < s["systolic_bp"]
    # Measured during care contacts (emergency, ward) and at home without one.
    contacts = {row[CONTACTS.index("id")] for row in rows.by_table["care_contact"]}
    linked = [s for s in signs if s["care_contact_id"] is not None]
    assert linked and all(s["care_contact_id"] in contacts for s in linked)
    assert len(linked) < len(signs)
    # Most sets are unremarkable; the ill come in through the emergency department.
    risks = Counter(s["news2_risk"] for s in signs)
    assert risks[News2Risk.LOW.value] > len(signs) / 2
    assert risks[News2Risk.MEDIUM.value] + risks[News2Risk.HIGH.value] > 0
