"""Every statement the application runs joins patient-scoped tables on patient_id (issue 16):
what citus/distribute.sql needs, so that a join of two tables distributed by patient stays on
one node. The statements are those of a representative workload, the other tests of this
suite rerun here with every statement collected (through SQLAlchemy and app.db.driver_fetch,
with its parameters): each shipped operation as the roles it serves on the demo data
(test_situation_matrix), the planned emergency and population paths, the FHIR
Patient/$everything, $summary, search and bulk export, every mutation (test_mutations_all and
the SIP, discharge and medication-administration flows), the changes feed, the research export
and the policy's queries. tests/patient_joins.py says what a join is and when it passes.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import DRIVER_LISTENERS
from tests.integration import (
    test_changes_feed,
    test_discharge,
    test_fhir_export,
    test_fhir_rest,
    test_fhir_summary,
    test_medication_administration,
    test_mutations_all,
    test_planned_emergency,
    test_planned_population,
    test_privacy_queries,
    test_research_export,
    test_sip,
    test_situation_matrix,
)
from tests.integration.demo_support import Demo
from tests.integration.test_citus_plan import plan
from tests.patient_joins import Violation, patient_keys, unique, violations

MODULES = (
    test_situation_matrix,
    test_planned_emergency,
    test_planned_population,
    test_fhir_export,
    test_fhir_rest,
    test_fhir_summary,
    test_mutations_all,
    test_sip,
    test_discharge,
    test_medication_administration,
    test_changes_feed,
    test_research_export,
    test_privacy_queries,
)
FIXTURES = {"client", "conn", "settings", "tmp_path"}

# Joins that may stay as they are, each with its reason (none so far).
EXCEPTIONS: dict[tuple[str, str], str] = {}
# Tests of the modules above that are refused before any statement: nothing to check.
WITHOUT_SQL = {
    "test_fhir_export.test_bad_token_is_unauthorized",
    "test_fhir_rest.test_metadata_is_a_capability_statement",
    "test_fhir_rest.test_xml_is_refused_with_406",
}


@dataclass(frozen=True)
class Workload:
    name: str
    run: Callable[..., Awaitable[None]]
    given: tuple[tuple[str, Any], ...]  # values of its parametrize marks

    def needs(self) -> set[str]:
        return set(inspect.signature(self.run).parameters) - {n for n, _ in self.given}


def workloads() -> list[Workload]:
    found = []
    for module in MODULES:
        for name, run in vars(module).items():
            if not (name.startswith("test_") and inspect.iscoroutinefunction(run)):
                continue
            label = f"{module.__name__.rsplit('.', 1)[1]}.{name}"
            if label in WITHOUT_SQL:
                continue
            marks = [m for m in getattr(run, "pytestmark", []) if m.name == "parametrize"]
            if not marks:
                found.append(Workload(label, run, ()))
            elif len(marks) == 1 and "," not in marks[0].args[0]:
                argument, values = marks[0].args[0], marks[0].args[1]
                for value in values:
                    tag = getattr(value, "mutation", None) or str(value)
                    found.append(Workload(f"{label}[{tag}]", run, ((argument, value),)))
    return found


WORKLOADS = workloads()
ON_DEMO = [w for w in WORKLOADS if w.needs() == {"demo"}]
ON_FACTORIES = [w for w in WORKLOADS if w.needs() <= FIXTURES]


@contextmanager
def collecting() -> Iterator[list[tuple[str, Any]]]:
    """Every statement sent inside the block, with its parameters."""
    statements: list[tuple[str, Any]] = []

    def through_sqlalchemy(conn: Any, cursor: Any, sql: str, parameters: Any, *rest: Any) -> None:
        many = rest[-1]
        statements.append((sql, None if many else parameters))

    def through_driver(on: Any, sql: str, args: Any) -> None:
        statements.append((sql, args))

    event.listen(Engine, "before_cursor_execute", through_sqlalchemy)
    DRIVER_LISTENERS.append(through_driver)
    try:
        yield statements
    finally:
        event.remove(Engine, "before_cursor_execute", through_sqlalchemy)
        DRIVER_LISTENERS.remove(through_driver)


async def _columns(conn: AsyncConnection) -> dict[str, list[str]]:
    rows = await conn.execute(
        text(
            "SELECT table_name, array_agg(column_name::text) FROM information_schema.columns"
            " WHERE table_schema = 'public' GROUP BY table_name"
        )
    )
    return {table: list(columns) for table, columns in rows}


async def _check(workload: Workload, fixtures: dict[str, Any], conn: AsyncConnection) -> None:
    the_plan = plan()
    keys = patient_keys(the_plan.distributed, the_plan.colocated_with)
    columns = await _columns(conn)
    arguments = dict(workload.given) | {n: fixtures[n] for n in workload.needs()}
    with collecting() as statements:
        await workload.run(**arguments)
    assert statements, "the workload ran no SQL"
    found: list[Violation] = []
    for sql, parameters in statements:
        args = list(parameters) if isinstance(parameters, (list, tuple)) else None
        found.extend(violations(sql, args, keys, columns))
    wrong = [v for v in unique(found) if (v.left, v.right) not in EXCEPTIONS]
    assert wrong == [], "\n".join(map(str, wrong))


def test_the_workload_is_representative() -> None:
    """Each module gives workloads, and every mutation and shipped operation is among them."""
    for module in MODULES:
        name = module.__name__.rsplit(".", 1)[1]
        assert any(w.name.startswith(name + ".") for w in ON_DEMO + ON_FACTORIES), name
    mutations = {w.name for w in ON_FACTORIES if "test_success_writes" in w.name}
    assert len(mutations) == len(test_mutations_all.CASES)
    shipped = inspect.getsource(test_situation_matrix)
    for operation in ("EmergencyOverview", "DentalVisit", "HomeCareVisit", "PharmacyDispensing"):
        assert f'"{operation}"' in shipped
    for operation in ("MyRecord", "DischargeHandover"):
        assert f'"{operation}"' in shipped


@pytest.mark.parametrize("workload", ON_DEMO, ids=lambda w: w.name)
async def test_demo_workload_joins_on_patient_id(workload: Workload, demo: Demo) -> None:
    await _check(workload, {"demo": demo}, demo.conn)


@pytest.mark.parametrize("workload", ON_FACTORIES, ids=lambda w: w.name)
async def test_workload_joins_on_patient_id(
    workload: Workload, client: Any, conn: AsyncConnection, settings: Any, tmp_path: Any
) -> None:
    fixtures = {"client": client, "conn": conn, "settings": settings, "tmp_path": tmp_path}
    await _check(workload, fixtures, conn)
