"""Prescriptions in chains (renewed, switched, discontinued) and their dispensations (NLL)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING

from app.safety import drug_class
from app.seed.chart import Chart, Contact, at
from app.seed.drugs import DRUGS, Drug
from app.seed.world import Staff, Unit

if TYPE_CHECKING:
    from app.seed.conditions import Chronic

VALIDITY = timedelta(days=366)
ONE = Decimal(1)
ONE_MINUTE, TWO_MINUTES, NO_TIME = timedelta(minutes=1), timedelta(minutes=2), timedelta(0)
SUPPLY_GAPS = tuple(timedelta(days=d) for d in range(80, 100))  # three-month packs
STOP_REASONS = ("Biverkningar", "Utebliven effekt", "Behandlingen avslutad enligt plan")
SWITCHES = {"warfarin": "apixaban", "simvastatin": "atorvastatin", "sertralin": "escitalopram"}


@lru_cache(maxsize=64)
def _numbers(key: str) -> tuple[Decimal | None, Decimal | None]:
    d = DRUGS[key]
    dose = None if d.dose is None else Decimal(str(d.dose))
    per_day = None if d.per_day is None else Decimal(str(d.per_day))
    return dose, per_day


def _prescription(
    c: Chart,
    drug: Drug,
    unit: Unit,
    staff: Staff,
    issued: datetime,
    chain: uuid.UUID,
    replaces: uuid.UUID | None,
    status: str,
    *,
    allowed: int,
    stop_reason: str | None = None,
    dosage: str | None = None,
    contact: Contact | None = None,
) -> uuid.UUID:
    rid, head = c.header(unit, staff, issued, contact=contact, author_delay=TWO_MINUTES)
    dose, per_day = _numbers(drug.key)
    c.add(
        "prescription",
        (
            *head,
            "recept",
            chain,
            replaces,
            drug.npl_id,
            drug.pack_id,
            drug.atc,
            drug.name,
            drug.strength,
            drug.form,
            dosage or drug.dosage,
            dose,
            drug.dose_unit,
            per_day,
            ONE,
            allowed,
            80 if allowed > 1 else None,
            drug.key == "warfarin",
            (issued + VALIDITY).date(),
            drug.reason,
            status,
            stop_reason,
        ),
    )
    c.drugs.add(drug.key)
    return rid


def _dispense(
    c: Chart, drug: Drug, prescription: uuid.UUID, first: datetime, until: date, allowed: int
) -> None:
    rng = c.rng
    pharmacy = c.home.pharmacies[0] if rng.random() < 0.7 else rng.choice(c.home.pharmacies)
    when = first + timedelta(days=rng.randrange(0, 6), hours=rng.randrange(1, 6))
    last = at(until, 0)
    article = drug.article
    for _ in range(allowed):
        if when >= last:
            return
        staff = c.home.pharmacist or c.staff(pharmacy, "farmaceut")
        did, head = c.header(pharmacy, staff, when, author_delay=ONE_MINUTE)
        c.add("dispensation", (*head, prescription, ONE, drug.pack_id, article, None))
        if rng.random() < 0.005:
            _, undo = c.header(pharmacy, staff, when + timedelta(minutes=12), author_delay=NO_TIME)
            c.add("dispensation", (*undo, prescription, -ONE, drug.pack_id, article, did))
        when += SUPPLY_GAPS[rng.randrange(len(SUPPLY_GAPS))]


def chronic(c: Chart, cond: Chronic, onset: date) -> None:
    """A chain per medicine the condition is treated with, renewed about once a year."""
    rng = c.rng
    for position, alternatives in enumerate(cond.drugs):
        if position > 0 and rng.random() < 0.5:
            continue
        drug = DRUGS[rng.choice(alternatives)]
        start = onset + timedelta(days=rng.randrange(0, 40) + position * rng.randrange(0, 400))
        if cond.clinic != "primary" and rng.random() < 0.5:
            unit = c.home.hospital.clinics[cond.clinic]
            staff = c.staff(unit, "läkare")
        else:
            unit, staff = c.home.vc, c.home.doctor
        chain(c, drug, start, unit, staff)


# What is prescribed instead of a drug of a class the patient is hypersensitive to.
SUBSTITUTES = {"J01C": "doxycyklin", "J01D": "doxycyklin", "M01A": "paracetamol"}


def safe(c: Chart, drug: Drug) -> Drug:
    """`drug`, or a substitute when the patient is hypersensitive to its class: the demo and
    generated data never prescribe against a recorded allergy."""
    found = drug_class(drug.atc)
    if found is None or found.atc_prefix not in c.allergy_classes:
        return drug
    return DRUGS[SUBSTITUTES.get(found.atc_prefix, "paracetamol")]


def chain(c: Chart, drug: Drug, start: date, unit: Unit, staff: Staff) -> None:
    drug = safe(c, drug)
    rng, end = c.rng, c.end
    # NLL keeps five years: an older chain shows from its first renewal inside the window.
    issue = (
        start if start >= c.window_start else c.window_start + timedelta(days=rng.randrange(0, 330))
    )
    if issue > end:
        return
    chain_id, replaces = c.new_id(), None
    roll = rng.random()
    stop_at = issue + timedelta(days=rng.randrange(30, 1500)) if roll < 0.2 else None
    switch_to = SWITCHES.get(drug.key) if roll < 0.08 else None
    while True:
        issued = at(issue, rng.randrange(8, 17), rng.randrange(60))
        valid_until = issue + VALIDITY
        renew = issue + timedelta(days=rng.randrange(300, 366))
        if rng.random() < 0.01:
            wrong = _prescription(
                c,
                drug,
                unit,
                staff,
                issued,
                chain_id,
                replaces,
                "makulerad",
                allowed=4,
                stop_reason="Fel dos, makulerad och ny förskriven",
                dosage="Felaktig dosering",
            )
            replaces, issued = wrong, issued + timedelta(minutes=15)
        if stop_at is not None and stop_at <= valid_until and stop_at <= end:
            reason = "Byte till annat preparat" if switch_to else rng.choice(STOP_REASONS)
            rid = _prescription(
                c,
                drug,
                unit,
                staff,
                issued,
                chain_id,
                replaces,
                "utsatt",
                allowed=4,
                stop_reason=reason,
            )
            _dispense(c, drug, rid, issued, min(stop_at, end), 4)
            if switch_to is None:
                return
            drug, replaces, issue = safe(c, DRUGS[switch_to]), rid, stop_at
            switch_to = stop_at = None
            continue
        if renew <= end:
            status, until = "ersatt", renew
        elif valid_until >= end:
            status, until = "aktiv", end
        else:
            status, until = "utgangen", valid_until
        stop_reason = None
        if status == "aktiv" and c.person.deceased_on is not None:
            status, stop_reason = "utsatt", "Patienten avliden"
        rid = _prescription(
            c,
            drug,
            unit,
            staff,
            issued,
            chain_id,
            replaces,
            status,
            allowed=4,
            stop_reason=stop_reason,
        )
        _dispense(c, drug, rid, issued, until, 4)
        if status != "ersatt":
            return
        replaces, issue = rid, renew


def acute(c: Chart, key: str, k: Contact) -> None:
    """A single prescription written at a contact, dispensed once."""
    drug = safe(c, DRUGS[key])
    issued = k.start + timedelta(minutes=20)
    valid_until = (issued + VALIDITY).date()
    status = "aktiv" if valid_until >= c.end and c.person.deceased_on is None else "utgangen"
    rid = _prescription(
        c, drug, k.unit, k.staff, issued, c.new_id(), None, status, allowed=1, contact=k
    )
    if c.rng.random() < 0.95:
        _dispense(c, drug, rid, issued, min(valid_until, c.end), 1)
