"""What a research client sees of the records it may read (A15), beyond which patients.

A research token reads for one study (its `study` claim): the patients opted in to that
study, if its ethics approval allows record access (`research_study.allows_record_access`;
cohort counts need no more than the approval). The answer never carries a real identifier:
every id is a pseudonym (the keyed HMAC of app/access/pseudonym.py over the study and the
row, the same as the bulk export's), and so is every other identifier (documentId, HSA-ids,
order and referral ids); cursors are sealed (app/access/cursor_seal.py). Times are cut to the
study's precision, and free text and clinicians' names are left out unless the approval
releases them (`research_study.release_*`).
The GraphQL answer is rewritten by schema/research_view.py; identifying lookups (by
personnummer, name, a clinician's HSA-id) are refused before they run (`refuse_lookup`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from app import models
from app.access.facts import table
from app.errors import BadInput
from app.models.consent import TimePrecision

DEFAULT_MIN_CELL_SIZE = 5


@dataclass(frozen=True)
class Release:
    """What the approval of a research token's study lets it see."""

    studies: tuple[uuid.UUID, ...] = ()
    approvals: tuple[str, ...] = ()
    free_text: bool = False
    clinician_identity: bool = False
    time_precision: TimePrecision = TimePrecision.YEAR
    min_cell_size: int = DEFAULT_MIN_CELL_SIZE
    record_access: bool = False

    @property
    def study(self) -> uuid.UUID | None:
        return self.studies[0] if self.studies else None


NOT_APPROVED_REASON = "the study's ethics approval does not allow record access (A15)"

# No approved study: nothing is read anyway; the most careful view.
NO_RELEASE = Release()


async def load_release(
    conn: AsyncConnection, client_id: str, study_id: uuid.UUID | None, today: date
) -> Release:
    """The release of the token's study, if it is one of this client's ethics-approved studies
    (as app/access/facts.py decides which studies count); NO_RELEASE otherwise."""
    rs = table(models.ResearchStudy)
    row = (
        (
            await conn.execute(
                select(rs).where(
                    rs.c.id == study_id,
                    rs.c.client_id == client_id,
                    rs.c.ethics_approval_ref != "",
                    rs.c.approved_on <= today,
                )
            )
        )
        .mappings()
        .first()
    )
    if study_id is None or row is None:
        return NO_RELEASE
    return Release(
        studies=(row["id"],),
        approvals=(row["ethics_approval_ref"],),
        free_text=row["release_free_text"],
        clinician_identity=row["release_clinician_identity"],
        time_precision=TimePrecision(row["time_precision"]),
        min_cell_size=max(row["min_cell_size"], 1),
        record_access=row["allows_record_access"],
    )


def cut_time(value: datetime, precision: TimePrecision) -> datetime:
    """A time cut to the precision (in UTC): the start of its day, month or year."""
    if precision is TimePrecision.EXACT:
        return value
    utc = value.astimezone(UTC)
    day = utc.replace(hour=0, minute=0, second=0, microsecond=0)
    if precision is TimePrecision.DAY:
        return day
    if precision is TimePrecision.MONTH:
        return day.replace(day=1)
    return day.replace(month=1, day=1)


# The precision of the running research request (set by schema/research_view.py), for the
# times a client narrows lists by: an answer cut to the month must not be undone by asking for
# the rows of one day and counting them.
_bounds: ContextVar[TimePrecision | None] = ContextVar("research_time_bounds", default=None)


@contextmanager
def time_bounds(precision: TimePrecision) -> Iterator[None]:
    """Times given in this request must lie on `precision`'s boundaries (a research request)."""
    token = _bounds.set(precision)
    try:
        yield
    finally:
        _bounds.reset(token)


def bound(value: datetime, field: str) -> datetime:
    """A time a list is narrowed by: in a research request, the start of a day, month or year
    (UTC) as the study's precision says, else BAD_USER_INPUT; as given otherwise."""
    precision = _bounds.get()
    if precision is None or cut_time(value, precision) == value:
        return value
    raise BadInput(
        f"{field}: this study knows times to the {precision.value}: give the start of one (UTC)",
        field=field,
        rule="research_precision",
    )


def bound_date(value: date, field: str) -> date:
    """A day a cohort is narrowed by, checked as `bound` checks times."""
    bound(datetime.combine(value, time(), UTC), field)
    return value


def cut_date(value: date, precision: TimePrecision) -> date:
    """A date cut to the precision: the first day of its month or year."""
    if precision in (TimePrecision.EXACT, TimePrecision.DAY):
        return value
    if precision is TimePrecision.MONTH:
        return value.replace(day=1)
    return value.replace(month=1, day=1)


# --- rows for the bulk export (app/fhir/exporter.py) ---------------------------------------

# Columns of patient rows holding free text written about the patient.
FREE_TEXT_COLUMNS = frozenset(
    {
        "reason",
        "title",
        "text",
        "description",
        "agent_text",
        "nullified_reason",
        "goals",
        "goal",
        "when_how",
        "motivation",
        "dosage_text",
        "discontinued_reason",
        "referral_reason",
        "procedure_text",
        "finding_text",
        "value_text",
        "question",
        "status_reason",
        "expected_needs",
    }
)
# Columns naming clinicians and officers.
CLINICIAN_COLUMNS = frozenset(
    {
        "accountable_name",
        "legal_authenticator_name",
        "case_officer_name",
        "performer_name",
        "referral_author",
        "responsible",
        "actor_name",
        "acknowledged_by_name",
    }
)
# Columns identifying someone or something outside the study: pseudonymised.
IDENTIFIER_COLUMNS = frozenset(
    {
        "accountable_hsa_id",
        "legal_authenticator_hsa_id",
        "source_system_hsa_id",
        "document_id",
        "order_id",
        "referral_id",
        "batch",
        "recorded_by_hsa_id",
        "granted_by_hsa_id",
        "revoked_by_hsa_id",
        "actor_hsa_id",
        "acknowledged_by_hsa_id",
    }
)
WITHHELD = "[withheld]"


def released_row(
    row: Mapping[str, Any],
    release: Release,
    text_pseudonym: Callable[[str], str],
    required: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """A patient row as a research export may carry it: identifiers pseudonymised, times cut
    to the study's precision, free text and clinicians' names withheld unless released
    (`required` columns get WITHHELD instead of None). Ids and references are pseudonymised
    later, on the FHIR resource (app/fhir/exporter.pseudonymised)."""
    out: dict[str, Any] = {}
    for column, value in row.items():
        if value is None:
            out[column] = None
        elif column in IDENTIFIER_COLUMNS and not isinstance(value, uuid.UUID):
            # Our own uuids (a referral step's referral) are pseudonymised as references.
            out[column] = text_pseudonym(str(value))
        elif (column in FREE_TEXT_COLUMNS and not release.free_text) or (
            column in CLINICIAN_COLUMNS and not release.clinician_identity
        ):
            out[column] = WITHHELD if column in required else None
        elif isinstance(value, datetime):
            out[column] = cut_time(value, release.time_precision)
        elif isinstance(value, date):
            out[column] = cut_date(value, release.time_precision)
        else:
            out[column] = value
    return out
