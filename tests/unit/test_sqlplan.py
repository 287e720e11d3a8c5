"""Plans: statements compiled once, with slots bound per run (app/sqlplan.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import (
    ARRAY,
    DateTime,
    Integer,
    String,
    Uuid,
    any_,
    bindparam,
    column,
    insert,
    literal,
    select,
    table,
)

from app.sqlplan import (
    DERIVED,
    PlanCache,
    PlanError,
    compile_plan,
    personal,
    placeholder,
    text_placeholder,
)

T = table(
    "t",
    column("id", Uuid()),
    column("patient_id", Uuid()),
    column("n", Integer()),
    column("kind", String()),
    column("at", DateTime(timezone=True)),
)


def test_named_binds_and_placeholders_become_slots_plain_constants_are_written_in() -> None:
    marker = placeholder()
    stmt = select(T.c.id).where(
        T.c.patient_id == marker,
        T.c.n > bindparam("least", None, type_=Integer),
        T.c.n < 7,
    )
    plan = compile_plan(stmt, names=["least"], placeholders={marker: "pid"})
    assert "$1" in plan.sql and "$2" in plan.sql and "$3" not in plan.sql
    assert "< 7" in plan.sql  # in the text, so that PostgreSQL can plan with it
    pid = uuid.uuid4()
    params = plan.parameters({"pid": pid, "least": 2})
    assert sorted(map(str, params)) == sorted(map(str, [pid, 2]))
    assert marker not in params


def test_only_plain_constants_are_written_in() -> None:
    """Strings (quoted), numbers and lists of them go into the text; ids, times and text
    placeholders stay parameters."""
    other = uuid.uuid4()
    slot = text_placeholder()
    stmt = select(T.c.id).where(
        T.c.kind.in_(["personnummer", "it's"]),
        T.c.id == other,
        T.c.at < datetime(2020, 1, 1, tzinfo=UTC),
        T.c.kind != slot,
    )
    plan = compile_plan(stmt, placeholders={slot: "kind"})
    assert "IN ('personnummer', 'it''s')" in plan.sql
    assert "2020" not in plan.sql and str(other) not in plan.sql and "slot:" not in plan.sql
    params = plan.parameters({"kind": "x"})
    assert other in params and "x" in params and len(params) == 3


def test_a_personal_string_stays_bound() -> None:
    """A personnummer or a name (`personal`) is never written into the SQL text, which error
    reports and the server's logs show; the plain constant beside it is."""
    stmt = select(T.c.id).where(
        T.c.kind == personal("191212121212"),
        T.c.kind.in_([personal("tolvan"), personal("o'brien")]),
        T.c.kind != "external",
    )
    plan = compile_plan(stmt)
    assert "191212121212" not in plan.sql and "tolvan" not in plan.sql and "brien" not in plan.sql
    assert "!= 'external'" in plan.sql
    assert plan.parameters({}) == ("191212121212", "tolvan", "o'brien")


def test_a_patient_search_keeps_names_and_person_numbers_bound() -> None:
    from resolvers.patients import PatientSearch
    from resolvers.tables import PATIENT

    search = PatientSearch(
        family_name="Tolvansson", given_name="Tolvan", identifiers=frozenset({"191212121212"})
    )
    plan = compile_plan(select(PATIENT.c.id).where(*search.conditions()))
    assert "tolvan" not in plan.sql.lower() and "191212121212" not in plan.sql
    assert "'personnummer'" in plan.sql  # the kinds are plain constants, written in


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


def test_an_insert_returning_a_constant_comparison_keeps_it_bound() -> None:
    """SQLAlchemy leaves a written-in constant of RETURNING unrendered: such a statement keeps
    its constants as parameters (and still compiles)."""
    stmt = (
        insert(T)
        .values(id=bindparam("id", None, type_=Uuid()))
        .returning(T.c.id, (T.c.kind == "personnummer").label("known"))
    )
    plan = compile_plan(stmt, names=["id"])
    assert "POSTCOMPILE" not in plan.sql and "'personnummer'" not in plan.sql
    assert "personnummer" in plan.parameters({"id": uuid.uuid4()})


def test_a_written_bind_marks_a_template_that_each_value_is_derived_from() -> None:
    pid = placeholder()
    statement = (
        select(T.c.id)
        .where(T.c.patient_id == pid, T.c.n > bindparam("size k", 7, type_=Integer))
        .limit(bindparam("size k", 7, type_=Integer))
    )
    template = compile_plan(statement, placeholders={pid: "pid"}, written=["size k", "size unused"])
    # Only the names found in the statement; the template itself never runs.
    assert template.written == ("size k",)
    assert "7" not in template.sql
    with pytest.raises(PlanError):
        template.parameters({"pid": uuid.uuid4()})
    twelve = template.written_in({"size k": 12})
    assert twelve.sql.count("12") == 2 and twelve.written == ()
    assert twelve.parameters({"pid": pid}) == (pid,)
    # A derived plan stays one object while kept: a rider recognises it by identity.
    assert template.written_in({"size k": 12}) is twelve
    assert template.written_in({"size k": 3}) is not twelve
    # Only integers and strings are ever written into SQL text, strings quoted as literals.
    for bad in ("a\x00b", 2.5, True, None, (), ("a", 1), ["a"]):
        with pytest.raises(PlanError):
            template.written_in({"size k": bad})


def test_strings_are_written_in_as_quoted_literals() -> None:
    template = compile_plan(
        select(T.c.id).where(
            T.c.kind.in_(bindparam("kinds", [], expanding=True)),
            T.c.kind.like(bindparam("prefix", "")),
        ),
        written=["kinds", "prefix"],
    )
    plan = template.written_in({"kinds": ("a", "it's; DROP TABLE t"), "prefix": "B0%"})
    assert "IN ('a', 'it''s; DROP TABLE t')" in plan.sql
    assert "LIKE 'B0%'" in plan.sql
    assert plan.parameters({}) == ()


def test_derived_plans_are_kept_for_the_latest_values_only() -> None:
    template = compile_plan(
        select(T.c.id).limit(bindparam("size k", 2, type_=Integer)), written=["size k"]
    )
    first = template.written_in({"size k": 2})
    assert template.written_in({"size k": 2}) is first
    for value in range(3, 3 + DERIVED):
        template.written_in({"size k": value})
    again = template.written_in({"size k": 2})
    assert again is not first and again.sql == first.sql
    # Another template's values are its own, whatever its SQL.
    other = compile_plan(
        select(T.c.id).limit(bindparam("size k", 2, type_=Integer)), written=["size k"]
    )
    assert other.written_in({"size k": 2}) is not again
