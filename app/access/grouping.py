"""One predicate for many patients with the same decision.

`DataAccess.visibility` ORs one row filter per patient. Patients whose decisions differ only in
the patient id (the common case: a page of patients seen by one clinician, none with blocks)
get the same filter with another id. For such a group the filter of one member is rewritten so
that every `column = <that patient's id>` becomes `column = ANY(<the group's ids>)`: a statement
whose size and SQL text do not depend on how many patients are in the group.

That is the same set of rows: each condition on a patient id is about the row's own patient
(`patient_id`, the patient table's `id`) or about a row it references within the same patient
(a plan, prescription or decision: the foreign keys include patient_id), so "some member p with
all conditions at p" equals "all conditions within the group". The rewrite is refused (and the
caller falls back to one filter per patient) when the id occurs anywhere but in an equality.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ARRAY, BinaryExpression, BindParameter, ColumnElement, Uuid, any_, literal
from sqlalchemy.sql import operators, visitors


def uuid_array(ids: Sequence[uuid.UUID]) -> ColumnElement[Any]:
    """One bind parameter holding all ids (constant SQL text, unlike an expanding IN)."""
    return literal(list(ids), ARRAY(Uuid()))


def shape(decision: object) -> object | None:
    """The decision but for its patient id, as a hashable key (patients with equal shapes may
    be grouped): its class and its other compared fields, as the dataclass's own `==` compares
    them. None when the decision cannot be compared (not a dataclass, or unhashable facts)."""
    cls = type(decision)
    names = _COMPARED.get(cls)
    if names is None:
        if not dataclasses.is_dataclass(decision) or isinstance(decision, type):
            return None
        fields = dataclasses.fields(decision)
        if not any(f.name == "patient_id" for f in fields):
            return None
        names = _COMPARED[cls] = tuple(
            f.name for f in fields if f.compare and f.name != "patient_id"
        )
    key = (cls, *[getattr(decision, name) for name in names])
    try:
        hash(key)
    except TypeError:
        return None
    return key


# Per decision class: the fields its `==` compares, but the patient id. (A tuple of them is a
# third of the cost of `dataclasses.replace` and hashing the copy, per patient of a page.)
_COMPARED: dict[type, tuple[str, ...]] = {}


def for_group(
    predicate: ColumnElement[bool], patient_id: uuid.UUID, group: Sequence[uuid.UUID]
) -> ColumnElement[bool] | None:
    """`predicate` (the row filter of `patient_id`) for every patient of `group`, or None if
    the patient id appears in it other than as `column = id`."""
    ids = uuid_array(group)

    def replace(element: Any, **kw: Any) -> Any:
        if (
            isinstance(element, BinaryExpression)
            and element.operator is operators.eq
            and isinstance(element.right, BindParameter)
            and element.right.value == patient_id
        ):
            return element.left == any_(ids)
        return None

    rewritten: ColumnElement[bool] = visitors.replacement_traverse(predicate, {}, replace)
    leftover = [
        b
        for b in visitors.iterate(rewritten)
        if isinstance(b, BindParameter) and b is not ids and _mentions(b.value, patient_id)
    ]
    return None if leftover else rewritten


def _mentions(value: Any, patient_id: uuid.UUID) -> bool:
    if isinstance(value, list | tuple | set | frozenset):
        return patient_id in value
    return bool(value == patient_id)
