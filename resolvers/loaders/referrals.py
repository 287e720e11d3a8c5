"""Loaders of referrals with their status history, and of discharge plans."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Date, Table, cast, func

from app.discharge import AGREED_DAYS, SWEDEN
from resolvers.listing import Listing
from resolvers.loaders.base import PatientListLoader, RowByKeyLoader
from resolvers.loaders.common import across_patients, by_patient
from resolvers.loaders.reverse import ReverseListLoader
from resolvers.pagination import SortKey
from resolvers.tables import DISCHARGE_PLAN, REFERRAL, REFERRAL_EVENT


class ReferralByIdLoader(RowByKeyLoader):
    table, disclose = REFERRAL, "Referral"


class ReferralEventByIdLoader(RowByKeyLoader):
    table, disclose = REFERRAL_EVENT, "ReferralEvent"


class DischargePlanByIdLoader(RowByKeyLoader):
    table, disclose = DISCHARGE_PLAN, "DischargePlan"


class ReferralsByPatientLoader(PatientListLoader):
    listing = by_patient(REFERRAL, "Referral")


class DischargePlansByPatientLoader(PatientListLoader):
    listing = by_patient(DISCHARGE_PLAN, "DischargePlan")


class ReferralEventsByReferralLoader(PatientListLoader):
    listing = Listing(
        REFERRAL_EVENT,
        ("patient_id", "referral_id"),
        SortKey("ReferralEvent", ("occurred_at", "id"), descending=False),
        "ReferralEvent",
    )


class ReferralsToUnitLoader(ReverseListLoader):
    listing = across_patients(REFERRAL, "Referral", "recipient_unit_id")


def _in_hospital(t: Table) -> list[ColumnElement[bool]]:
    return [t.c.status.in_(("enrolled", "ready"))]


def _overdue(t: Table) -> list[ColumnElement[bool]]:
    """Utskrivningsklar more than AGREED_DAYS calendar days ago (Swedish days), not discharged:
    the SQL form of app.discharge.is_overdue."""

    def day(moment: ColumnElement[Any]) -> ColumnElement[Any]:
        return cast(func.timezone(SWEDEN.key, moment), Date)

    return [t.c.status == "ready", day(t.c.ready_at) < day(func.now()) - AGREED_DAYS]


class DischargesToUnitLoader(ReverseListLoader):
    listing = across_patients(DISCHARGE_PLAN, "DischargePlan", "municipal_unit_id", _in_hospital)


class OverdueDischargesToUnitLoader(ReverseListLoader):
    listing = across_patients(DISCHARGE_PLAN, "DischargePlan", "municipal_unit_id", _overdue)
