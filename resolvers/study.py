"""The research API (A15): a research client's own studies and counts of their cohorts.

The cohort of a study is the patients whose research consent for it is valid now, so a
withdrawn consent removes the patient from every later answer. Counts are published as
app/access/cohort.py says (small cells "<k", cell-key perturbation against differencing).
Every question is audited with the study and its ethics approval.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import ColumnElement, RowMapping, Table, and_, func, literal, or_, select
from sqlmodel import SQLModel

from app.access import cohort as cells
from app.access.cohort import Published
from app.access.principal import PrincipalKind
from app.access.research import Release
from app.audit import AuditEvent
from app.context import Context
from app.errors import BadInput
from app.models.consent import TimePrecision
from resolvers.tables import CONSENT, MUNICIPALITY, PATIENT, RESEARCH_STUDY
from schema.ids import encode_id

# Record categories a cohort may be counted by, with the column a code prefix narrows.
CATEGORIES: Mapping[str, tuple[str, str | None]] = {
    "care_contact": ("care_contact", None),
    "care_document": ("care_document", None),
    "diagnosis": ("diagnosis", "code"),
    "alert": ("alert", None),
    "functional_status": ("functional_status", "icf_code"),
    "lab_result": ("lab_result", "code"),
    "referral_outcome": ("referral_outcome", None),
    "vaccination": ("vaccination", "atc_code"),
    "prescription": ("prescription", "atc_code"),
    "dispensation": ("dispensation", None),
    "dental_treatment": ("dental_treatment", "procedure_code"),
    "tooth_finding": ("tooth_finding", "finding_code"),
    "municipal_decision": ("municipal_decision", "insats_code"),
}
DIMENSIONS = ("period", "region", "sex", "age_band")


@dataclass(frozen=True)
class CohortQuestion:
    by: tuple[str, ...] = ()
    category: str | None = None
    code_prefix: str | None = None
    start: date | None = None
    end: date | None = None
    period_unit: str = "year"


@dataclass(frozen=True)
class Cell:
    period: str | None
    region: str | None
    sex: str | None
    age_band: str | None
    published: Published


@dataclass(frozen=True)
class CohortAnswer:
    category: str | None
    min_cell_size: int
    total: Cell
    cells: list[Cell]


async def own_study(ctx: Context, study_id: str) -> RowMapping | None:
    """One of the caller's ethics-approved studies, by its global id or the pseudonym a
    research answer showed for it; None (and a logged denial) for anything else."""
    release = await ctx.data.research_release()
    if ctx.principal.kind is not PrincipalKind.RESEARCH or not release.studies:
        ctx.audit.deny(None, "the research API is for research clients with an approved study")
        return None
    wanted = study_id.strip()
    for sid in release.studies:
        if wanted in (encode_id("ResearchStudy", sid), ctx.data.pseudonym(sid)):
            rows = await ctx.data.fetch(select(RESEARCH_STUDY).where(RESEARCH_STUDY.c.id == sid))
            return rows[0] if rows else None
    ctx.audit.deny(None, "not one of the research client's approved studies")
    return None


def _cohort_patients(study_id: uuid.UUID, now: datetime) -> ColumnElement[bool]:
    """A15 at query time: a valid research consent for this study now."""
    c = CONSENT
    return PATIENT.c.id.in_(
        select(c.c.patient_id).where(
            c.c.kind == "research",
            c.c.research_study_id == study_id,
            c.c.revoked_at.is_(None),
            c.c.valid_from <= now,
            or_(c.c.valid_to.is_(None), c.c.valid_to > now),
        )
    )


def _check(question: CohortQuestion, release: Release) -> str:
    """The period unit the study allows; BadInput for a question that does not fit."""
    for dimension in question.by:
        if dimension not in DIMENSIONS:
            raise BadInput(f"by: unknown dimension {dimension}", field="by", rule="dimension")
    if question.category is not None and question.category not in CATEGORIES:
        raise BadInput("category: unknown", field="category", rule="category")
    if question.category is None and (
        "period" in question.by or question.code_prefix or question.start or question.end
    ):
        raise BadInput(
            "period, codePrefix, from and to count records: give a category",
            field="category",
            rule="needs_category",
        )
    if question.code_prefix and CATEGORIES[str(question.category)][1] is None:
        raise BadInput("codePrefix: this category has no code", field="codePrefix", rule="code")
    # A study whose times are cut to the year is not told months.
    if release.time_precision is TimePrecision.YEAR:
        return "year"
    return question.period_unit


async def count_cohort(ctx: Context, study: RowMapping, question: CohortQuestion) -> CohortAnswer:
    release = await ctx.data.research_release()
    unit = _check(question, release)
    now = ctx.data.now()
    patient, municipality = PATIENT, MUNICIPALITY
    columns: list[Any] = [
        patient.c.id,
        patient.c.sex,
        patient.c.birth_date,
        municipality.c.county_code,
    ]
    source: Any = patient.outerjoin(
        municipality, municipality.c.code == patient.c.municipality_code
    )
    where: list[ColumnElement[bool]] = [_cohort_patients(study["id"], now)]
    if question.category is not None:
        name, code_column = CATEGORIES[question.category]
        records: Table = SQLModel.metadata.tables[name]
        source = source.join(records, records.c.patient_id == patient.c.id)
        where.append(records.c.nullified.is_(False))
        if question.start is not None:
            where.append(records.c.event_time >= datetime.combine(question.start, time(), UTC))
        if question.end is not None:
            where.append(records.c.event_time < datetime.combine(question.end, time(), UTC))
        if question.code_prefix and code_column is not None:
            where.append(records.c[code_column].startswith(question.code_prefix, autoescape=True))
        period = func.to_char(
            func.timezone("UTC", records.c.event_time), "YYYY" if unit == "year" else "YYYY-MM"
        )
        columns.append(period.label("period"))
    else:
        columns.append(literal(None).label("period"))
    rows = await ctx.data.fetch(select(*columns).select_from(source).where(and_(*where)).distinct())
    answer = _published(ctx, study, question, rows, release)
    ctx.audit.event(
        AuditEvent(
            None,
            "read",
            "disclosed",
            (
                f"ResearchStudy:{study['id']}",
                f"EthicsApproval:{study['ethics_approval_ref']}",
                f"Cohort:{question.category or 'patient'}:{','.join(question.by) or 'total'}",
            ),
            reason="research cohort counts (A15)",
        )
    )
    return answer


def _published(
    ctx: Context,
    study: RowMapping,
    question: CohortQuestion,
    rows: Sequence[RowMapping],
    release: Release,
) -> CohortAnswer:
    key = ctx.data.pseudonym_key
    if not key:
        raise BadInput("the research API needs VARDKEDJA_PSEUDONYM_KEY", rule="no_key")
    today = now_date(ctx)
    groups: dict[tuple[str | None, ...], set[uuid.UUID]] = defaultdict(set)
    everyone: set[uuid.UUID] = set()
    for row in rows:
        values = {
            "period": row["period"],
            "region": row["county_code"],
            "sex": row["sex"],
            "age_band": cells.age_band(row["birth_date"], today),
        }
        groups[tuple(values[d] if d in question.by else None for d in DIMENSIONS)].add(row["id"])
        everyone.add(row["id"])
    k = max(release.min_cell_size, int(study["min_cell_size"]))

    def cell(dims: tuple[str | None, ...], members: set[uuid.UUID]) -> Cell:
        keys = (cells.record_key(key, study["id"], pid) for pid in members)
        published = cells.publish(len(members), cells.cell_key(keys), key, k)
        period, region, sex, band = dims
        return Cell(period, region, sex, band, published)

    listed = [cell(dims, members) for dims, members in sorted(groups.items(), key=_order)]
    total = cell((None, None, None, None), everyone)
    return CohortAnswer(question.category, k, total, listed)


def _order(item: tuple[tuple[str | None, ...], set[uuid.UUID]]) -> tuple[str, ...]:
    return tuple(v or "" for v in item[0])


def now_date(ctx: Context) -> date:
    return ctx.data.now().date()
