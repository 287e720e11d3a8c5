"""Signing lists in the generated population (app/seed/administrations.py), without a
database: about as many patients as get municipal home health care, each dose signed once."""

from __future__ import annotations

from collections import Counter

from app.seed.loader import AS_OF
from app.seed.people import NamePools, PersonFactory
from app.seed.population import batch
from app.seed.tables import PATIENT_COLUMNS
from app.seed.world import world

COLUMNS = PATIENT_COLUMNS["medication_administration"]


def test_a_few_per_cent_of_patients_have_signing_lists() -> None:
    factory = PersonFactory(NamePools.build(1), AS_OF, set(), 1)
    rows = batch(world(), factory, 1, 0, 300, AS_OF)
    signed = rows.by_table["medication_administration"]
    patients = {r[COLUMNS.index("patient_id")] for r in signed}
    assert 1 < len(patients) <= 30  # kommunal hemsjukvård: a few per cent, most of them old
    outcomes = Counter(r[COLUMNS.index("outcome")] for r in signed)
    assert outcomes["given"] > outcomes["self_administered"] + outcomes["not_given"] > 0
    due = Counter(
        (r[COLUMNS.index("prescription_id")], r[COLUMNS.index("planned_at")]) for r in signed
    )
    assert max(due.values()) == 1  # one signature per dose


def test_some_of_them_have_a_sip_of_both_sides() -> None:
    factory = PersonFactory(NamePools.build(1), AS_OF, set(), 1)
    rows = batch(world(), factory, 1, 0, 300, AS_OF)
    plans = rows.by_table["sip_plan"]
    assert plans
    actions = PATIENT_COLUMNS["sip_action"]
    by_plan: dict[object, set[object]] = {}
    for a in rows.by_table["sip_action"]:
        by_plan.setdefault(a[actions.index("plan_id")], set()).add(
            a[actions.index("responsible_provider_id")]
        )
    # Every plan has actions of two organisations: the region and the municipality.
    assert len(by_plan) == len(plans) and all(len(p) == 2 for p in by_plan.values())
