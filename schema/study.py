"""The research API (A15): `study(id)` with counts of its cohort, small cells suppressed and
perturbed against differencing (app/access/cohort.py). Mixed into the root Query."""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Annotated

import strawberry
from sqlalchemy import RowMapping

from app.access.research import bound_date
from resolvers import study as studies
from schema.connections import Info
from schema.enums import Sex
from schema.fields import field
from schema.ids import encode_id

V = strawberry.enum_value


@strawberry.enum(description="What a cohort count is broken down by.")
class CohortDimension(Enum):
    PERIOD = V("period", description="Year (or month) of the records counted; needs a category.")
    REGION = V("region", description="County (län) code of the patient's municipality.")
    SEX = V("sex", description="The patient's sex.")
    AGE_BAND = V("age_band", description="The patient's age today, in ten-year bands.")


@strawberry.enum(description="A category of records: count the patients who have such records.")
class RecordCategory(Enum):
    CARE_CONTACT = V("care_contact", description="Care contacts.")
    CARE_DOCUMENT = V("care_document", description="Care documentation (notes).")
    DIAGNOSIS = V("diagnosis", description="Diagnoses (codePrefix: ICD-10-SE).")
    ALERT = V("alert", description="Alert information.")
    FUNCTIONAL_STATUS = V("functional_status", description="Functional status (ICF).")
    LAB_RESULT = V("lab_result", description="Laboratory results (codePrefix: NPU/LOINC).")
    REFERRAL_OUTCOME = V("referral_outcome", description="Referral outcomes.")
    VACCINATION = V("vaccination", description="Vaccinations (codePrefix: ATC).")
    PRESCRIPTION = V("prescription", description="Prescriptions (codePrefix: ATC).")
    DISPENSATION = V("dispensation", description="Dispensations.")
    DENTAL_TREATMENT = V("dental_treatment", description="Dental treatments (procedure code).")
    TOOTH_FINDING = V("tooth_finding", description="Tooth findings (finding code).")
    MUNICIPAL_DECISION = V("municipal_decision", description="Municipal decisions (insats).")


@strawberry.enum(description="How long a period of a cohort count is.")
class PeriodUnit(Enum):
    YEAR = V("year", description="Calendar years (UTC).")
    MONTH = V("month", description="Calendar months (UTC); years for a study cut to the year.")


@strawberry.type(
    description="One cell of a cohort count: the patients with the dimensions asked for. The "
    "count is perturbed (by -2 to +2, the same for the same patients: it cannot be averaged "
    "away) and shown as '<k' under the study's smallest cell size."
)
class CohortCell:
    period: str | None = strawberry.field(description="YYYY or YYYY-MM, when asked for.")
    region: str | None = strawberry.field(description="County (län) code, when asked for.")
    sex: Sex | None = strawberry.field(description="Sex, when asked for.")
    age_band: str | None = strawberry.field(description="Age band (e.g. 40-49), when asked for.")
    count: int | None = strawberry.field(description="The published count; null if suppressed.")
    display: str = strawberry.field(description="The count as shown: a number, or '<k'.")
    suppressed: bool = strawberry.field(description="Whether the cell is under k.")

    @staticmethod
    def of(cell: studies.Cell) -> CohortCell:
        p = cell.published
        return CohortCell(
            period=cell.period,
            region=cell.region,
            sex=Sex(cell.sex) if cell.sex else None,
            age_band=cell.age_band,
            count=p.count,
            display=p.display,
            suppressed=p.suppressed,
        )


@strawberry.type(description="Counts of a study's cohort (patients with a valid consent now).")
class Cohort:
    category: RecordCategory | None = strawberry.field(
        description="The records counted; null: the cohort's patients."
    )
    min_cell_size: int = strawberry.field(description="k: counts under it are shown as '<k'.")
    total: CohortCell = strawberry.field(description="All of them (perturbed the same way).")
    cells: list[CohortCell] = strawberry.field(
        description="One per combination of the dimensions asked for that has patients."
    )


@strawberry.type(description="One of your research studies, with its ethics approval.")
class Study:
    row: strawberry.Private[RowMapping]
    id: strawberry.ID = strawberry.field(description="Global id of the study.")
    name: str = strawberry.field(description="Name of the study.")
    ethics_approval_ref: str = strawberry.field(description="Diarienummer of the approval.")
    approved_on: date = strawberry.field(description="When it was approved.")
    min_cell_size: int = strawberry.field(description="k of small-cell suppression.")

    @field(
        description="Counts of the study's cohort (patients whose research consent for it is "
        "valid now), broken down as asked; every question is audited with the study and its "
        "ethics approval."
    )
    async def cohort(
        self,
        info: Info,
        by: Annotated[
            list[CohortDimension], strawberry.argument(description="Break the count down by.")
        ],
        category: Annotated[
            RecordCategory | None,
            strawberry.argument(description="Count patients with records of this category."),
        ] = None,
        code_prefix: Annotated[
            str | None,
            strawberry.argument(description="Only records whose code starts with this."),
        ] = None,
        from_: Annotated[
            date | None,
            strawberry.argument(name="from", description="Only records from this day (UTC)."),
        ] = None,
        to: Annotated[
            date | None, strawberry.argument(description="Only records before this day (UTC).")
        ] = None,
        period_unit: Annotated[
            PeriodUnit, strawberry.argument(description="Years or months (PERIOD).")
        ] = PeriodUnit.YEAR,
    ) -> Cohort:
        question = studies.CohortQuestion(
            by=tuple(dict.fromkeys(_value(d) for d in by)),
            category=_value(category) if category else None,
            code_prefix=code_prefix.strip() if code_prefix else None,
            start=from_ and bound_date(from_, "from"),
            end=to and bound_date(to, "to"),
            period_unit=_value(period_unit),
        )
        answer = await studies.count_cohort(info.context, self.row, question)
        return Cohort(
            category=RecordCategory(answer.category) if answer.category else None,
            min_cell_size=answer.min_cell_size,
            total=CohortCell.of(answer.total),
            cells=[CohortCell.of(c) for c in answer.cells],
        )


def _value(member: Enum) -> str:
    """The stored value of an enum member (strawberry.enum_value holds it as a plain str)."""
    return str(member.value)


async def _study(
    info: Info,
    id: Annotated[
        strawberry.ID,
        strawberry.argument(description="The study's global id, or the id research answers show."),
    ],
) -> Study | None:
    row = await studies.own_study(info.context, str(id))
    if row is None:
        return None
    return Study(
        row=row,
        id=strawberry.ID(encode_id("ResearchStudy", row["id"])),
        name=row["name"],
        ethics_approval_ref=row["ethics_approval_ref"],
        approved_on=row["approved_on"],
        min_cell_size=row["min_cell_size"],
    )


@strawberry.type(description="The research API (mixed into Query).")
class StudyQuery:
    study: Study | None = strawberry.field(
        resolver=_study,
        description="One of your ethics-approved studies (research clients only; null for "
        "anything else), with counts of its cohort.",
    )
