"""Records sent to another provider: what its staff read without a sharing consent.

A referral is written by the sending unit and sent to the recipient; an inskrivningsmeddelande
is sent to the municipality and to primary care (lag 2017:612). Sending discloses them to the
addressee, so its staff see them as they see their own provider's records (still only after
A1: an assignment and the care relationship the sending gave the unit). The answer to a
referral (remissvar) is sent back the same way: the referring provider reads it. A SIP
(samordnad individuell plan) is shared with every provider taking part in it: the patient
consented to the plan, and so to its participants reading and writing it.
"""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, FromClause, Select, or_, select

from app import models
from app.access.categories import base_table_name
from app.access.facts import table

# table -> the columns naming the providers it is addressed to.
ADDRESSED = {
    "referral": ("recipient_provider_id",),
    "discharge_plan": ("municipal_provider_id", "primary_care_provider_id"),
}


def addressed_to(
    t: FromClause, patient_id: uuid.UUID, provider_id: uuid.UUID | None
) -> ColumnElement[bool] | None:
    """Rows of `t` sent to `provider_id`; None when `t` holds nothing that is sent."""
    if provider_id is None:
        return None
    name = base_table_name(t)
    columns = ADDRESSED.get(name)
    if columns:
        return or_(*(t.c[c] == provider_id for c in columns))
    if name == "sip_plan":
        return t.c.id.in_(sip_plans_of(patient_id, provider_id))
    if name == "referral_outcome":
        r = table(models.Referral)
        answers = select(r.c.outcome_id).where(
            r.c.patient_id == patient_id,
            r.c.care_provider_id == provider_id,
            r.c.outcome_id.is_not(None),
        )
        return t.c.id.in_(answers)
    return None


def sip_plans_of(patient_id: uuid.UUID, provider_id: uuid.UUID) -> Select[tuple[uuid.UUID]]:
    """Ids of the patient's SIPs in which the provider takes part (one of its units does)."""
    p = table(models.SipParticipant)
    return select(p.c.plan_id).where(
        p.c.patient_id == patient_id, p.c.care_provider_id == provider_id
    )
