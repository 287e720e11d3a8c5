"""A batch of synthetic patients with their whole records, as rows ready for COPY."""

from __future__ import annotations

from datetime import date

from app.seed import medication
from app.seed.administrations import write_home_medication
from app.seed.alerts import write_alerts, write_function
from app.seed.chart import Chart, at
from app.seed.clinical import CHRONIC_BY_KEY, choose_conditions, write_history
from app.seed.dental import write_dental
from app.seed.municipal import write_municipal
from app.seed.people import Person, PersonFactory
from app.seed.rand import Rng
from app.seed.referrals import write_referrals
from app.seed.relations import link_families, write_consents_and_blocks, write_relationships
from app.seed.tables import Row, Rows
from app.seed.vaccinations import write_vaccinations
from app.seed.vitals import write_vital_signs
from app.seed.world import World

REGISTERED = date(2015, 1, 1)  # when the oldest patient rows were created


def write_patient(c: Chart, *, conditions: bool = True) -> None:
    """Everything that happens to one patient, in an order where references exist."""
    if conditions:
        choose_conditions(c)
    write_history(c)
    for key, onset in c.conditions.items():
        medication.chronic(c, CHRONIC_BY_KEY[key], onset)
    write_alerts(c)
    write_vaccinations(c)
    write_dental(c)
    padl = write_municipal(c)
    write_function(c, padl)
    write_consents_and_blocks(c)
    write_relationships(c)
    write_referrals(c)


def patient_row(person: Person) -> Row:
    return person.row(at(max(person.birth_date, REGISTERED)))


def batch(
    world: World, factory: PersonFactory, seed: int, first: int, count: int, as_of: date
) -> Rows:
    """Patients first..first+count-1 of this seed (same seed and range, same rows)."""
    rows = Rows()
    people = [factory.draw(Rng(f"{seed}/{i}"), i) for i in range(first, first + count)]
    link_families(people, Rng(f"{seed}/families/{first}"), rows, as_of)
    patients = rows.by_table["patient"]
    for person in people:
        patients.append(patient_row(person))
        chart = Chart(world, Rng(f"{seed}/{person.index}/record"), person, rows, as_of)
        write_patient(chart)
        # Appended after the whole record, so the rows above stay what they were.
        write_home_medication(chart)
        write_vital_signs(chart)
    return rows
