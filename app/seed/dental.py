"""Dental care: examinations, treatments with TLV codes and prices, and per-tooth findings.

Åtgärdskoder and their texts follow TLV's list; prices are rounded 2024 reference prices.
Tillståndskoder here are illustrative four-digit codes in TLV's format, not looked up.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from app.seed.chart import Chart, Contact
from app.seed.clinical import contact
from app.seed.world import Staff, Unit

PROCEDURES: dict[str, tuple[str, Decimal]] = {
    code: (text, Decimal(price))
    for code, text, price in (
        ("101", "Basundersökning och diagnostik, utförd av tandläkare", 1115),
        ("103", "Kompletterande eller akut undersökning, utförd av tandläkare", 545),
        ("111", "Basundersökning och diagnostik, utförd av tandhygienist", 815),
        ("301", "Sjukdomsbehandlande åtgärd, kortare behandling", 480),
        ("401", "Tanduttagning, en tand", 1170),
        ("501", "Rotbehandling, en rotkanal", 3650),
        ("502", "Rotbehandling, två rotkanaler", 4590),
        ("701", "Fyllning av en yta på framtand eller hörntand", 1030),
        ("704", "Fyllning av en yta på molar eller premolar", 1080),
        ("705", "Fyllning av två ytor på molar eller premolar", 1495),
    )
}
HEALTHY, CARIES, SECONDARY, PULPITIS, GINGIVITIS, EXTRACT = (
    "1011",
    "3041",
    "3043",
    "3051",
    "4011",
    "5021",
)

FINDINGS = {
    "KARIES": "Kariesskada i dentinet",
    "FYLLNING": "Fyllning, komposit",
    "ROTFYLLD": "Rotfylld tand",
    "KRONA": "Krona, helkeramisk",
    "SAKNAS": "Tanden saknas",
    "TANDSTEN": "Tandsten och gingivit",
}
PERMANENT = tuple(f"{q}{n}" for q in "1234" for n in range(1, 8))  # wisdom teeth left out
PRIMARY = tuple(f"{q}{n}" for q in "5678" for n in range(1, 6))
BACK_SURFACES = ("O", "MO", "DO", "B", "MOD")
FRONT_SURFACES = ("M", "D", "F", "I")


def _surface(c: Chart, tooth: str) -> str:
    back = tooth[1] in "45678" and tooth[0] in "1234"
    return c.rng.choice(BACK_SURFACES if back else FRONT_SURFACES)


def _dentist(c: Chart, unit: Unit, profession: str = "tandläkare") -> Staff:
    if profession == "tandläkare" and c.home.dentist is not None:
        return c.home.dentist
    return c.staff(unit, profession)


def treat(
    c: Chart, k: Contact, condition: str, code: str, tooth: str | None, surface: str | None
) -> None:
    text, price = PROCEDURES[code]
    profession = "tandhygienist" if code in ("111", "301") else "tandläkare"
    staff = k.staff if k.staff.profession == profession else _dentist(c, k.unit, profession)
    _, head = c.header(k.unit, staff, k.start + timedelta(minutes=40), contact=k)
    c.add("dental_treatment", (*head, condition, code, text, tooth, surface, price))


def finding(
    c: Chart, k: Contact, tooth: str, code: str, surface: str | None, when: datetime
) -> None:
    _, head = c.header(k.unit, k.staff, when, contact=k)
    c.add("tooth_finding", (*head, tooth, surface, code, FINDINGS[code]))


def write_dental(c: Chart) -> None:
    rng, age = c.rng, c.age()
    if age < 3 or rng.random() > (0.85 if age < 80 else 0.6):
        return
    unit = c.home.dental
    interval = (300, 500) if age < 20 else (365, 760)
    when = c.moment(c.window_start, c.window_start + timedelta(days=interval[1]))
    charted = False
    while when.date() <= c.end:
        by_hygienist = (age >= 20 and rng.random() < 0.4) or (age < 20 and rng.random() < 0.5)
        staff = _dentist(c, unit, "tandhygienist" if by_hygienist else "tandläkare")
        k = contact(
            c, unit, staff, when, "besok", "Regelbunden undersökning", minutes=45, status="avslutad"
        )
        young = c.age(when.date()) < 12
        teeth = PRIMARY if young else PERMANENT
        treat(c, k, HEALTHY, "111" if by_hygienist else "101", None, None)
        if not charted:
            charted = True
            fillings = rng.randrange(0, max(1, age // 8))
            missing = max(0, (age - 45) // 8 + rng.randrange(-1, 2))
            for tooth in rng.sample(teeth, min(len(teeth), fillings + missing)):
                code = (
                    "SAKNAS"
                    if missing and rng.random() < missing / (fillings + missing)
                    else "FYLLNING"
                )
                finding(
                    c, k, tooth, code, None if code == "SAKNAS" else _surface(c, tooth), k.start
                )
        if age >= 25 and rng.random() < 0.3:
            treat(c, k, GINGIVITIS, "301", None, None)
        if rng.random() < 0.3:
            tooth = rng.choice(teeth)
            surface = _surface(c, tooth)
            finding(c, k, tooth, "KARIES", surface, k.start)
            fix = k.start + timedelta(days=rng.randrange(7, 40))
            if fix.date() <= c.end:
                later = contact(
                    c,
                    unit,
                    _dentist(c, unit),
                    fix,
                    "besok",
                    "Lagning av hål",
                    minutes=60,
                    status="avslutad",
                )
                code = "701" if tooth[1] in "123" else "705" if len(surface) > 1 else "704"
                treat(c, later, CARIES if rng.random() < 0.8 else SECONDARY, code, tooth, surface)
                finding(c, later, tooth, "FYLLNING", surface, later.start)
        if not young and rng.random() < 0.03:
            tooth = rng.choice(teeth)
            treat(c, k, PULPITIS, "501" if tooth[1] in "123" else "502", tooth, None)
            finding(c, k, tooth, "ROTFYLLD", None, k.start)
        if not young and rng.random() < (0.08 if age > 50 else 0.02):
            tooth = rng.choice(teeth)
            treat(c, k, EXTRACT, "401", tooth, None)
            finding(c, k, tooth, "SAKNAS", None, k.start)
        if rng.random() < 0.05:
            ache = k.start + timedelta(days=rng.randrange(60, 200))
            if ache.date() <= c.end:
                acute = contact(
                    c,
                    unit,
                    _dentist(c, unit),
                    ache,
                    "besok",
                    "Tandvärk",
                    minutes=30,
                    status="avslutad",
                )
                treat(c, acute, PULPITIS, "103", None, None)
        when += timedelta(days=rng.randrange(*interval))
