"""Vital signs (a complete set of NEWS2 observations, app/news2.py) in the seed: one set at each
emergency visit, one a day during a hospital stay, and a weekly set by the district nurse for
patients in municipal home health care over the record's last four weeks.

Written after everything else of a chart, so the rows of the older seed stay what they were.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from app.news2 import Consciousness, VitalSigns, news2
from app.seed.administrations import in_home_health_care
from app.seed.chart import Chart, Contact, at
from app.seed.world import Staff, Unit

STAY_DAYS = 5  # daily sets recorded during a stay, at most
HOME_WEEKS = 4
DONE = ("installd", "avbruten")  # cancelled or abandoned contacts measure nothing


def _signs(c: Chart, *, ill: bool) -> VitalSigns:
    """Plausible values: an ill patient's drift towards the limits that NEWS2 scores."""
    r = c.rng.randrange
    if not ill:
        return VitalSigns(
            respiration_rate=r(12, 21),
            spo2=r(94, 100),
            hypercapnic_scale=False,
            supplemental_oxygen=False,
            systolic_bp=r(110, 160),
            pulse=r(55, 96),
            consciousness=Consciousness.ALERT,
            temperature=Decimal(r(360, 378)) / 10,
        )
    confused = c.age() >= 80 and c.rng.random() < 0.15
    return VitalSigns(
        respiration_rate=r(16, 28),
        spo2=r(88, 97),
        hypercapnic_scale=False,
        supplemental_oxygen=c.rng.random() < 0.3,
        systolic_bp=r(88, 150),
        pulse=r(80, 125),
        consciousness=Consciousness.NEW_CONFUSION if confused else Consciousness.ALERT,
        temperature=Decimal(r(365, 396)) / 10,
    )


def record_vital_signs(
    c: Chart, unit: Unit, staff: Staff, when: datetime, contact: Contact | None, *, ill: bool
) -> None:
    signs = _signs(c, ill=ill)
    score = news2(signs)
    diastolic = max(40, signs.systolic_bp - c.rng.randrange(35, 70))
    _, head = c.header(unit, staff, when, contact=contact)
    c.add(
        "vital_signs",
        (
            *head,
            signs.respiration_rate,
            signs.spo2,
            signs.hypercapnic_scale,
            signs.supplemental_oxygen,
            signs.systolic_bp,
            diastolic,
            signs.pulse,
            signs.consciousness.value,
            signs.temperature,
            score.score,
            score.risk.value,
        ),
    )


def write_vital_signs(c: Chart) -> None:
    """Vital signs where the chart's care measured them."""
    hospital = c.home.hospital
    wards = set(hospital.wards.values())
    for k in list(c.contacts):
        if k.status in DONE:
            continue
        if k.unit is hospital.emergency:
            record_vital_signs(c, k.unit, k.staff, k.start + timedelta(minutes=20), k, ill=True)
        elif k.unit in wards:
            last = min(k.end or c.end_time, c.end_time)
            days = min(STAY_DAYS, max(1, (last - k.start).days))
            for day in range(days):
                when = at((k.start + timedelta(days=day)).date(), 8, c.rng.randrange(60))
                if k.start <= when <= last:
                    record_vital_signs(c, k.unit, k.staff, when, k, ill=day == 0)
    if c.person.deceased_on is not None:
        return
    found = in_home_health_care(c)
    if found is not None:
        weekly_at_home(c, *found)


def weekly_at_home(c: Chart, unit: Unit, nurse: Staff) -> None:
    """The district nurse's weekly set over the record's last weeks."""
    for week in range(HOME_WEEKS, 0, -1):
        day = c.end - timedelta(days=7 * week - c.rng.randrange(0, 3))
        record_vital_signs(c, unit, nurse, at(day, 10, c.rng.randrange(60)), None, ill=False)
