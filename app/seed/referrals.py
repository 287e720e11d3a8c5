"""Referrals and coordinated discharges (app/models/referrals.py) in the synthetic records.

Written last for each patient and drawn from a random stream of their own, so every row the
rest of the seed makes (its ids, its document numbers' order aside) stays as it was. Rates
are rough, for realistic volumes, not statistics: about one patient in fifteen has a referral
from their vårdcentral to a hospital clinic, and one in twenty-five of those over 75 a
discharge from a hospital ward to municipal home care in the last year.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from app.seed.chart import Chart, Contact
from app.seed.rand import Rng
from app.seed.world import Staff, Unit

REFERRAL_RATE = 0.065
DISCHARGE_AGE, DISCHARGE_RATE = 75, 0.04
# How long a referral or a discharge notice lets the addressee read (as the mutations do).
PURPOSE = timedelta(days=90)
QUESTIONS = (
    ("Bröstsmärta vid ansträngning", "Arbets-EKG önskas. Tryck över bröstet i trappor."),
    ("Hjärtsvikt?", "Tilltagande dyspné och bensvullnad. Ekokardiografi önskas."),
    ("Knäartros, op-bedömning", "Svåra besvär trots fysioterapi och analgetika."),
    ("Förmaksflimmer", "Nyupptäckt, ställningstagande till elkonvertering."),
    ("Hudförändring", "Pigmenterad förändring rygg, växt senaste halvåret."),
)
ANSWERS = (
    "Undersökt. Inga tecken på ischemi. Åter till vårdcentralen.",
    "Bedömd på mottagningen; behandling insatt, uppföljning hos oss om tre månader.",
    "Accepteras för operation; kallelse skickas.",
)
NEEDS = (
    "Hemsjukvård: läkemedelsadministration, sårvård",
    "Hemtjänst morgon och kväll, trygghetslarm",
    "Korttidsboende i väntan på bedömning",
)


def write_referrals(c: Chart) -> None:
    """Referrals and discharges of one patient (after the rest of the record)."""
    c.rng = Rng(f"boundary/{c.pid}")
    if c.home.hospital.clinics and c.rng.random() < REFERRAL_RATE:
        clinic = c.rng.choice(list(c.home.hospital.clinics.values()))
        sent = c.moment(c.end - timedelta(days=700), c.end)
        reason, question = c.rng.choice(QUESTIONS)
        days = (c.end_time - sent).days
        status = "rejected" if c.rng.random() < 0.05 else "answered" if days > 45 else "accepted"
        if days < 5:
            status = "sent"
        refer(c, c.home.vc, c.home.doctor, clinic, sent, reason, question, status)
    if c.age() >= DISCHARGE_AGE and c.rng.random() < DISCHARGE_RATE:
        ward = c.home.hospital.wards.get("medicin")
        home_care = c.world.local.get((c.person.place.code, "home_care"))
        if ward is not None and home_care:
            admitted = c.moment(c.end - timedelta(days=365), c.end - timedelta(days=14))
            ready = admitted + timedelta(days=c.rng.randrange(2, 10), hours=2)
            left = ready + timedelta(days=c.rng.randrange(0, 7), hours=3)
            discharge(
                c, ward, home_care[0], c.home.vc, admitted, ready, left, c.rng.choice(NEEDS), None
            )


def refer(
    c: Chart,
    sender: Unit,
    doctor: Staff,
    recipient: Unit,
    sent: datetime,
    reason: str,
    question: str,
    status: str,
) -> uuid.UUID:
    """A referral with its history, its answer when answered, and the recipient's care
    relationship for it."""
    rid, head = c.header(sender, doctor, sent)
    answerer = _clinician_at(c, recipient)
    steps: list[tuple[str, datetime, Unit, Staff, str | None]] = [
        ("sent", sent, sender, doctor, None)
    ]
    accepted = sent + timedelta(hours=c.rng.randrange(2, 72))
    ended: datetime | None = None
    if status in ("accepted", "answered"):
        steps.append(("accepted", accepted, recipient, answerer, None))
    outcome = None
    if status == "answered":
        answered = accepted + timedelta(days=c.rng.randrange(7, 40))
        outcome, answer = c.header(recipient, answerer, answered)
        document_id = head[5]
        c.add(
            "referral_outcome",
            (*answer, "slutsvar", c.rng.choice(ANSWERS), document_id, reason, doctor.name),
        )
        steps.append(("answered", answered, recipient, answerer, None))
    why = None
    if status == "rejected":
        why = "Handläggs i primärvården"
        ended = accepted
        steps.append(("rejected", accepted, recipient, answerer, why))
    c.add(
        "referral",
        (
            *head,
            recipient.id,
            recipient.provider.id,
            "routine",
            reason,
            question,
            status,
            why,
            outcome,
        ),
    )
    for step, when, unit, who, text in steps:
        event = (c.pid, c.new_id(), when, when, 1, rid, step, when, unit.id)
        c.add("referral_event", (*event, who.hsa_id, who.name, text))
    _purpose(c, recipient, "referral", rid, sent, ended)
    return rid


def discharge(
    c: Chart,
    ward: Unit,
    municipal: Unit,
    primary: Unit | None,
    admitted: datetime,
    ready: datetime,
    left: datetime | None,
    needs: str,
    stay: Contact | None,
) -> uuid.UUID:
    """A discharge plan from notice to discharge, acknowledged by the municipal nurse, with the
    addressees' care relationships for it."""
    doctor = _clinician_at(c, ward)
    pid, head = c.header(ward, doctor, admitted, contact=stay)
    nurse = c.staff(municipal, "sjuksköterska")
    acknowledged = ready + timedelta(hours=c.rng.randrange(1, 20))
    c.add(
        "discharge_plan",
        (
            *head,
            municipal.id,
            municipal.provider.id,
            primary.id if primary else None,
            primary.provider.id if primary else None,
            "discharged" if left is not None else "ready",
            needs,
            ready,
            (left or ready + timedelta(days=2)).date(),
            acknowledged,
            nurse.hsa_id,
            nurse.name,
            left,
        ),
    )
    for unit in (municipal, primary):
        if unit is not None:
            _purpose(c, unit, "discharge_plan", pid, admitted, None)
    return pid


def _clinician_at(c: Chart, unit: Unit) -> Staff:
    """A doctor of the unit, or a nurse where there is none (municipal health care)."""
    profession = "läkare" if c.world.staff_at(unit, "läkare") else "sjuksköterska"
    return c.staff(unit, profession)


def _purpose(
    c: Chart, unit: Unit, origin: str, origin_id: uuid.UUID, start: datetime, ended: datetime | None
) -> None:
    end = ended or start + PURPOSE
    row = (c.pid, c.new_id(), start, start, 1, unit.id, unit.provider.id, None, start, end)
    c.add("care_relationship", (*row, origin, origin_id))
