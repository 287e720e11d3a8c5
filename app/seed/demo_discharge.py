"""Tolvan goes home: the demo story of a coordinated discharge (lag 2017:612).

Admitted from the emergency unit to the medicine ward with pneumonia five days before the
demo's "today" (app/seed/demo_records.py), he is declared utskrivningsklar two days before
it and leaves on it, to municipal health care (Kommunal hälso- och sjukvård Södermalm), which
acknowledged the plan; his vårdcentral was told too. The ward's doctor also sent a referral
to the municipal health care for INR checks and wound care, which its nurse accepted.
Written after the rest of his record, from a random stream of its own.
"""

from __future__ import annotations

from datetime import timedelta

from app.seed.chart import Chart, at
from app.seed.demo import DEMO_UNITS
from app.seed.rand import Rng
from app.seed.referrals import discharge, refer

NEEDS = (
    "Hemsjukvård: Waran med INR-kontroll om en vecka, omläggning av trycksår vänster häl; "
    "hemtjänsten utökas morgon och kväll under två veckor"
)


def tolvan_goes_home(c: Chart) -> None:
    c.rng = Rng("vardkedja-demo-1/tolvan/discharge")
    ward = c.home.hospital.wards["medicin"]
    stay = next(k for k in reversed(c.contacts) if k.unit == ward)
    health = c.world.unit(DEMO_UNITS["municipal_health"].hsa_id)
    vc = c.world.unit(DEMO_UNITS["vc"].hsa_id)
    ready = at(c.as_of - timedelta(days=2), 10, 0)
    left = at(c.as_of, 11, 0)
    discharge(c, ward, health, vc, stay.start, ready, left, NEEDS, stay)
    refer(
        c,
        ward,
        stay.staff,
        health,
        ready + timedelta(hours=1),
        "Hemsjukvård efter utskrivning",
        "Waranbehandlad 113-åring, pneumoni behandlad med doxycyklin. INR-kontroll om en "
        "vecka, omläggning av trycksår vänster häl varannan dag.",
        "accepted",
    )
