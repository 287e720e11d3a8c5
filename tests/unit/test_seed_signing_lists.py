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
