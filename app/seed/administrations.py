"""Signing lists (signeringslistor) of municipal home health care: the doses of a patient's
active prescriptions given, not given or self-administered over the last days of the record.

Written after everything else of a chart, so the rows of the older seed stay what they were.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from app.seed.chart import Chart, at
from app.seed.sip import Side, write_sip
from app.seed.tables import PATIENT_COLUMNS
from app.seed.world import Staff, Unit

DAYS = 14  # the signing list's history kept in the record
_RX = PATIENT_COLUMNS["prescription"]
_ID, _PATIENT, _NULLIFIED = _RX.index("id"), _RX.index("patient_id"), _RX.index("nullified")
_STATUS, _DRUG, _PER_DAY = _RX.index("status"), _RX.index("drug_name"), _RX.index("doses_per_day")
_DOSE, _UNIT = _RX.index("dose_quantity"), _RX.index("dose_unit")
# Hours (UTC) of the doses of a day, by doses per day; warfarin in the evening.
TIMES = {1: (7,), 2: (7, 19), 3: (7, 13, 19), 4: (7, 11, 16, 20)}
EVENING = (16,)
SITUATION = "Behöver insatser från både vårdcentral och kommunal hälso- och sjukvård."
NOT_GIVEN_REASONS = (
    "Patienten sov, väcktes inte enligt ordination",
    "Patienten avböjde, sjuksköterska informerad",
    "Patienten inte hemma vid besöket",
    "Illamående, kräktes, läkare kontaktad",
)


@dataclass(frozen=True, slots=True)
class Dose:
    """One line of the signing list: a prescription and the hours its doses are due."""

    prescription_id: uuid.UUID
    hours: tuple[int, ...]
    dose_text: str | None


def active_doses(c: Chart) -> list[Dose]:
    """The patient's active, scheduled prescriptions (as needed ones are not on the list)."""
    doses = []
    for row in c.rows.by_table["prescription"]:
        if row[_PATIENT] != c.pid or row[_STATUS] != "aktiv" or row[_NULLIFIED]:
            continue
        if row[_DRUG] == "Waran":
            doses.append(Dose(row[_ID], EVENING, None))
            continue
        per_day = row[_PER_DAY]
        if per_day is None or int(per_day) not in TIMES or per_day != int(per_day):
            continue
        text = _dose_text(row[_DOSE], row[_UNIT])
        doses.append(Dose(row[_ID], TIMES[int(per_day)], text))
    return doses


def _dose_text(quantity: Decimal | None, unit: str | None) -> str | None:
    if quantity is None:
        return None
    amount = f"{quantity.normalize():f}".replace(".", ",")
    return f"{amount} {unit}" if unit else amount


# Warfarin doses by weekday (Monday first), as the anticoagulation clinic's schedule says.
WARFARIN_WEEK = (
    "2 tabletter",
    "1,5 tablett",
    "2 tabletter",
    "1,5 tablett",
    "2 tabletter",
    "2 tabletter",
    "1,5 tablett",
)


def sign(
    c: Chart,
    unit: Unit,
    nurse: Staff,
    dose: Dose,
    due: datetime,
    *,
    outcome: str = "given",
    reason: str | None = None,
) -> None:
    """One signature, a few minutes after the dose was due (unless it was not given)."""
    late = timedelta(minutes=c.rng.randrange(0, 40)) if outcome != "not_given" else timedelta()
    text = dose.dose_text or WARFARIN_WEEK[due.weekday()]
    _, head = c.header(unit, nurse, due + late, author_delay=timedelta(minutes=2))
    c.add(
        "medication_administration",
        (*head, dose.prescription_id, outcome, due, text, reason),
    )


def write_signing_lists(c: Chart, unit: Unit, nurse: Staff, days: int = DAYS) -> int:
    """The last `days` days of the signing list; returns how many signatures."""
    rng, doses, written = c.rng, active_doses(c), 0
    # Some patients take one of their medicines themselves (egenvård), signed as such.
    own = doses[0].prescription_id if doses and rng.random() < 0.2 else None
    for back in range(days, 0, -1):
        day = c.end - timedelta(days=back - 1)
        for dose in doses:
            for hour in dose.hours:
                due = at(day, hour)
                if due > c.end_time:
                    continue
                roll = rng.random()
                if dose.prescription_id == own:
                    sign(c, unit, nurse, dose, due, outcome="self_administered")
                elif roll < 0.03:
                    reason = rng.choice(NOT_GIVEN_REASONS)
                    sign(c, unit, nurse, dose, due, outcome="not_given", reason=reason)
                else:
                    sign(c, unit, nurse, dose, due)
                written += 1
    return written


def in_home_health_care(c: Chart) -> tuple[Unit, Staff] | None:
    """The municipal health-care unit and its nurse, if they visited in the last 120 days."""
    health = c.world.local[(c.person.place.code, "municipal_health")][0]
    seen = c.seen.get(health)
    if seen is None or seen.last < c.end_time - timedelta(days=120) or seen.staff is None:
        return None
    return health, seen.staff


def write_home_medication(c: Chart) -> None:
    """Signing lists for a living patient in municipal home health care."""
    if c.person.deceased_on is not None:
        return
    found = in_home_health_care(c)
    if found is not None:
        write_signing_lists(c, *found)
        if c.rng.random() < 0.5:  # needing both region and municipality: a SIP
            day = c.end - timedelta(days=c.rng.randrange(20, 400))
            sides = (Side(c.home.vc, c.home.doctor), Side(*found))
            write_sip(c, sides, day, title="Samordnad plan för vård i hemmet", situation=SITUATION)
