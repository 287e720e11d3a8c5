"""When a policy's predicate already says whose rows a table's are (resolvers/planner/build.py,
`pins_patient`): only a top-level `patient_id = <the patient>` counts."""

from __future__ import annotations

import uuid

from sqlalchemy import Integer, Uuid, and_, column, literal_column, or_, table

from resolvers.planner.build import pins_patient

T = table("t", column("patient_id", Uuid()), column("care_unit_id", Uuid()), column("n", Integer()))
OTHER = table("o", column("patient_id", Uuid()))
PID = uuid.uuid4()


def test_only_a_top_level_equality_to_the_patient_pins() -> None:
    unit = T.c.care_unit_id == uuid.uuid4()
    assert pins_patient(T.c.patient_id == PID, T, PID)
    assert pins_patient(and_(T.c.patient_id == PID, unit), T, PID)
    assert pins_patient(and_(unit, T.c.n > 1, T.c.patient_id == PID), T, PID)
    # Not pinned: under OR, another patient, another table's column, none at all.
    assert not pins_patient(or_(T.c.patient_id == PID, unit), T, PID)
    assert not pins_patient(and_(T.c.patient_id == uuid.uuid4(), unit), T, PID)
    assert not pins_patient(OTHER.c.patient_id == PID, T, PID)
    assert not pins_patient(T.c.patient_id != PID, T, PID)
    assert not pins_patient(literal_column("false"), T, PID)
    assert not pins_patient(T.c.patient_id == PID, T, None)
