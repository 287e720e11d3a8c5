"""Patients with the same decision share one `= ANY(ids)` filter (app/access/grouping.py):
the SQL text no longer depends on how many patients are in a batch."""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, select
from sqlalchemy.dialects import postgresql

from app import models
from app.access.facts import ClinicianFacts, ReferenceFacts, table
from app.access.grants import ClinicianAccess
from app.access.grouping import for_group, shape

CLINICIAN = ClinicianFacts("SE2321000016-DR01", uuid.uuid4(), uuid.uuid4(), uuid.uuid4())
DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]
REFERENCE = ReferenceFacts(unshareable_units=frozenset({uuid.uuid4()}))


def decision(patient_id: uuid.UUID, *, share: bool = True) -> ClinicianAccess:
    return ClinicianAccess(
        patient_id=patient_id,
        clinician=CLINICIAN,
        share=share,
        all_medication=False,
        emergency_open=False,
        blocks=(),
        reference=REFERENCE,
        may_see_address=True,
    )


def sql(predicate: ColumnElement[bool] | None) -> str:
    assert predicate is not None
    t = table(models.Dispensation)
    return str(select(t.c.id).where(predicate).compile(dialect=DIALECT))


def test_decisions_that_differ_only_in_the_patient_share_a_shape() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    assert shape(decision(a)) == shape(decision(b))
    assert shape(decision(a)) != shape(decision(b, share=False))


def test_group_filter_replaces_every_patient_condition_with_any() -> None:
    t = table(models.Dispensation)  # own prescriptions: a subquery on the patient too
    ids = [uuid.uuid4() for _ in range(3)]
    grouped = for_group(decision(ids[0]).row_filter(t), ids[0], ids)
    assert grouped is not None
    text = sql(grouped)
    assert text.count("= ANY (") == 2, text  # the row's patient and the prescription's
    params = grouped.compile(dialect=DIALECT).params
    assert [v for v in params.values() if v == ids] and ids[0] not in params.values()


def test_sql_text_is_the_same_for_any_group_size() -> None:
    t = table(models.CareContact)
    texts = set()
    for size in (2, 5, 50):
        ids = [uuid.uuid4() for _ in range(size)]
        grouped = for_group(decision(ids[0]).row_filter(t), ids[0], ids)
        texts.add(sql(grouped))
    assert len(texts) == 1


def test_patient_id_outside_an_equality_refuses_the_rewrite() -> None:
    t = table(models.CareContact)
    a, b = uuid.uuid4(), uuid.uuid4()
    assert for_group(t.c.patient_id != a, a, [a, b]) is None
    assert for_group(t.c.patient_id.in_([a, uuid.uuid4()]), a, [a, b]) is None
