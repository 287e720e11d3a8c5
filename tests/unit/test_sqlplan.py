"""Plans: statements compiled once, with slots bound per run (app/sqlplan.py)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import ARRAY, Integer, Uuid, any_, bindparam, column, literal, select, table

from app.sqlplan import PlanCache, PlanError, compile_plan, placeholder

T = table("t", column("id", Uuid()), column("patient_id", Uuid()), column("n", Integer()))


def test_named_binds_and_placeholders_become_slots_constants_stay() -> None:
    marker = placeholder()
    stmt = select(T.c.id).where(
        T.c.patient_id == marker,
        T.c.n > bindparam("least", None, type_=Integer),
        T.c.n < 7,
    )
    plan = compile_plan(stmt, names=["least"], placeholders={marker: "pid"})
    assert "$1" in plan.sql and "$3" in plan.sql and "7" not in plan.sql
    pid = uuid.uuid4()
    params = plan.parameters({"pid": pid, "least": 2})
    assert sorted(map(str, params)) == sorted(map(str, [pid, 2, 7]))
    assert marker not in params


def test_a_placeholder_in_a_one_element_list_binds_the_whole_list() -> None:
    marker = placeholder()
    ids = literal([marker], ARRAY(Uuid()))
    plan = compile_plan(
        select(T.c.id).where(T.c.patient_id == any_(ids)), placeholders={marker: "ids"}
    )
    group = [uuid.uuid4(), uuid.uuid4()]
    assert group in list(plan.parameters({"ids": group}))


def test_a_placeholder_mixed_with_other_values_is_refused() -> None:
    marker = placeholder()
    ids = literal([marker, uuid.uuid4()], ARRAY(Uuid()))
    stmt = select(T.c.id).where(T.c.patient_id == any_(ids))
    with pytest.raises(PlanError, match="inside a list"):
        compile_plan(stmt, placeholders={marker: "pid"})


def test_a_slot_missing_from_the_statement_is_refused() -> None:
    with pytest.raises(PlanError, match="not found"):
        compile_plan(select(T.c.id), names=["pid"])
    with pytest.raises(PlanError, match="not found"):
        compile_plan(select(T.c.id), placeholders={placeholder(): "pid"})


def test_the_cache_builds_once_per_key_and_drops_the_least_recently_used() -> None:
    cache = PlanCache(size=2)
    built: list[str] = []

    def build(name: str):  # type: ignore[no-untyped-def]
        def make():  # type: ignore[no-untyped-def]
            built.append(name)
            return compile_plan(select(T.c.id))

        return make

    first = cache.get("a", build("a"))
    assert cache.get("a", build("a")) is first
    cache.get("b", build("b"))
    cache.get("a", build("a"))  # a is now the most recently used
    cache.get("c", build("c"))  # drops b
    cache.get("a", build("a"))
    cache.get("b", build("b"))
    assert built == ["a", "b", "c", "b"]
    assert len(cache) == 2


def test_time_placeholders_optional_slots_and_tags() -> None:
    from datetime import UTC, datetime

    from sqlalchemy import DateTime

    from app.sqlplan import time_placeholder

    when = time_placeholder()
    assert when.year == 1 and when != time_placeholder()
    stamped = table("s", column("id", Uuid()), column("at", DateTime(timezone=True)))
    plan = compile_plan(
        select(stamped.c.id).where(stamped.c.at <= when),
        placeholders={when: "now"},
        tag="open",
    )
    now = datetime.now(UTC)
    assert plan.parameters({"now": now}) == (now,) and plan.tag == "open"
    # A slot the statement may or may not use (a scope without a time, say).
    plain = compile_plan(select(stamped.c.id), placeholders={when: "now"}, optional=["now"])
    assert plain.parameters({"now": now}) == ()
