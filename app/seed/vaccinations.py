"""Vaccinations: the childhood programme, covid-19, influenza, TBE and pneumococcal."""

from __future__ import annotations

import string
from datetime import date, timedelta

from app.seed.chart import Chart, at
from app.seed.drugs import CHILD_PROGRAMME, VACCINES
from app.seed.world import Staff, Unit

TBE_COUNTIES = frozenset({"01", "03", "04"})
BATCH_PREFIXES = tuple(a + b for a in string.ascii_uppercase for b in string.ascii_uppercase)


def give(
    c: Chart, key: str, dose: int, day: date, unit: Unit | None = None, nurse: Staff | None = None
) -> None:
    if day > c.end or day < c.person.birth_date:
        return
    v = VACCINES[key]
    unit = unit or c.home.vc
    nurse = nurse or c.home.nurse
    when = at(day, c.rng.randrange(8, 16), c.rng.randrange(60))
    _, head = c.header(unit, nurse, when)
    batch = f"{BATCH_PREFIXES[c.rng.randrange(len(BATCH_PREFIXES))]}{c.rng.randrange(1000, 9999)}"
    c.add("vaccination", (*head, v.name, v.npl_id, v.atc, v.target, dose, batch, nurse.name))
    c.saw(unit, when, nurse)


def write_vaccinations(c: Chart) -> None:
    rng, born, age = c.rng, c.person.birth_date, c.age()
    if age <= 20:
        skip = {key for key in VACCINES if rng.random() < 0.04}
        for key, dose, days in CHILD_PROGRAMME:
            if key not in skip:
                give(c, key, dose, born + timedelta(days=days + rng.randrange(0, 25)))
    if age >= 23 and rng.random() < 0.85:
        first = date(2021, 7 if age < 60 else 3, 1) + timedelta(days=rng.randrange(0, 60))
        give(c, "covid", 1, first)
        give(c, "covid", 2, first + timedelta(days=rng.randrange(25, 50)))
        if rng.random() < 0.7:
            give(c, "covid", 3, date(2022, 1, 10) + timedelta(days=rng.randrange(0, 90)))
        if age >= 65:
            for dose, year in enumerate((2023, 2024, 2025), start=4):
                if rng.random() < 0.65:
                    give(c, "covid", dose, date(year, 10, 1) + timedelta(days=rng.randrange(0, 60)))
    if age >= 65:
        for year in range(max(c.window_start.year, 2021), c.end.year + 1):
            if rng.random() < 0.6:
                give(c, "influensa", 1, date(year, 10, 15) + timedelta(days=rng.randrange(0, 45)))
        if rng.random() < 0.3:
            give(c, "pneumokock", 1, c.moment(c.window_start, c.end).date())
    if c.person.place.county in TBE_COUNTIES and age >= 3 and rng.random() < 0.2:
        start = c.moment(c.window_start, c.end).date()
        kind = "tbe" if c.age(start) >= 16 else "tbe_junior"
        for dose, gap in enumerate((0, 30, 330), start=1):
            give(c, kind, dose, start + timedelta(days=gap + rng.randrange(0, 20)))
