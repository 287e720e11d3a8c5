"""Loaders of SIP plans and of their participants, goals and actions (in the order written)."""

from __future__ import annotations

from sqlalchemy import Table

from resolvers.listing import Listing
from resolvers.loaders.base import PatientListLoader, RowByKeyLoader
from resolvers.loaders.common import by_patient
from resolvers.pagination import SortKey
from resolvers.tables import SIP_ACTION, SIP_GOAL, SIP_PARTICIPANT, SIP_PLAN


def _in_order(table: Table, type_name: str, *sort: str) -> Listing:
    return Listing(
        table,
        ("patient_id", "plan_id"),
        SortKey(type_name, (*sort, "id"), descending=False),
        type_name,
    )


class SipPlanByIdLoader(RowByKeyLoader):
    table, disclose = SIP_PLAN, "SipPlan"


class SipParticipantByIdLoader(RowByKeyLoader):
    table, disclose = SIP_PARTICIPANT, "SipParticipant"


class SipGoalByIdLoader(RowByKeyLoader):
    table, disclose = SIP_GOAL, "SipGoal"


class SipActionByIdLoader(RowByKeyLoader):
    table, disclose = SIP_ACTION, "SipAction"


class SipPlansByPatientLoader(PatientListLoader):
    listing = by_patient(SIP_PLAN, "SipPlan")


class SipParticipantsByPlanLoader(PatientListLoader):
    listing = _in_order(SIP_PARTICIPANT, "SipParticipant", "written_at")


class SipGoalsByPlanLoader(PatientListLoader):
    listing = _in_order(SIP_GOAL, "SipGoal", "position")


class SipActionsByPlanLoader(PatientListLoader):
    listing = _in_order(SIP_ACTION, "SipAction", "written_at")
