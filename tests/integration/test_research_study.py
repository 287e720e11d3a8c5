"""The research API (A15): `study(id)` counts the cohort of the caller's own approved study:
opt-in at query time, small cells shown as '<k', counts perturbed by the cell-key method so
that one patient fewer is not revealed, every question audited with the ethics approval."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app import models
from app.access import cohort
from app.db import ConnectionDatabase
from app.settings import Settings
from app.tokens import mint
from schema.ids import encode_id
from tests import factories as f

CLIENT = "research-cohort"
KEY = "cohort-test-key"
COHORT = """query($id: ID!, $by: [CohortDimension!]!, $category: RecordCategory, $prefix: String) {
  study(id: $id) { id name ethicsApprovalRef minCellSize
    cohort(by: $by, category: $category, codePrefix: $prefix) {
      minCellSize total { count display suppressed }
      cells { period region sex ageBand count display suppressed } } } }"""


@pytest.fixture
async def api(conn: AsyncConnection, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    from app.main import create_app

    keyed = settings.model_copy(update={"pseudonym_key": KEY})
    app = create_app(keyed, db=ConnectionDatabase(conn))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as http:
        yield http


def research(settings: Settings, study: str, client: str = CLIENT) -> dict[str, str]:
    """A research token of `client` for `study` (its global id)."""
    minted = mint(settings, kind="research", subject=client, client_id=client, study=study)
    return {"authorization": f"Bearer {minted}"}


async def cohort_world(
    conn: AsyncConnection, women: int = 9, men: int = 3
) -> tuple[models.ResearchStudy, list[models.Patient]]:
    """A study with women + men opted in (diagnosis E11 each), one who withdrew, one who
    never opted in."""
    await f.create_municipality(conn, "0180", "Stockholm", "01")
    study = await f.create_research_study(conn, client_id=CLIENT)
    provider = await f.create_provider(conn)
    unit = await f.create_unit(conn, provider)
    members: list[models.Patient] = []
    for sex, n in (("female", women), ("male", men)):
        for _ in range(n):
            p = await f.create_patient(conn, sex=sex, municipality_code="0180")
            await f.create_consent(conn, p, "research", research_study_id=study.id)
            await f.create_diagnosis(
                conn, p, unit, code="E11.9", event_time=datetime(2024, 5, 2, tzinfo=UTC)
            )
            members.append(p)
    withdrew = await f.create_patient(conn, sex="male")
    await f.create_consent(
        conn, withdrew, "research", research_study_id=study.id,
        revoked_at=datetime(2025, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    await f.create_patient(conn, sex="male")
    return study, members


async def ask(
    api: httpx.AsyncClient,
    settings: Settings,
    study_id: str,
    client: str = CLIENT,
    token_study: str | None = None,
    **variables: Any,
) -> dict[str, Any]:
    """Ask `study_id` with a token for `token_study` (by default the study asked)."""
    response = await api.post(
        "/graphql",
        json={"query": COHORT, "variables": {"id": study_id, "by": []} | variables},
        headers=research(settings, token_study or study_id, client),
    )
    body: dict[str, Any] = response.json()
    return body


async def test_cohort_counts_suppress_small_cells(
    api: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    study, _ = await cohort_world(conn)
    body = await ask(api, settings, encode_id("ResearchStudy", study.id), by=["SEX"])
    assert "errors" not in body, body
    answer = body["data"]["study"]["cohort"]
    assert answer["minCellSize"] == 5
    total = answer["total"]
    # 12 opted in now: the withdrawn and the never-asked patient are not counted.
    assert total["suppressed"] is False and 10 <= total["count"] <= 14
    by_sex = {c["sex"]: c for c in answer["cells"]}
    assert set(by_sex) == {"FEMALE", "MALE"}
    assert by_sex["MALE"] == {
        "period": None, "region": None, "sex": "MALE", "ageBand": None,
        "count": None, "display": "<5", "suppressed": True,
    }  # fmt: skip
    assert 7 <= by_sex["FEMALE"]["count"] <= 11
    assert by_sex["FEMALE"]["display"] == str(by_sex["FEMALE"]["count"])
    # The same question gets the same answer: asking again averages nothing away.
    again = await ask(api, settings, encode_id("ResearchStudy", study.id), by=["SEX"])
    assert again["data"]["study"]["cohort"] == answer


async def test_records_by_category_period_region_and_age_band(
    api: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    study, _ = await cohort_world(conn, women=12, men=0)
    body = await ask(
        api, settings, encode_id("ResearchStudy", study.id),
        by=["PERIOD", "REGION", "AGE_BAND"], category="DIAGNOSIS", prefix="E11",
    )  # fmt: skip
    assert "errors" not in body, body
    cells = body["data"]["study"]["cohort"]["cells"]
    assert [(c["period"], c["region"], c["ageBand"]) for c in cells] == [("2024", "01", "40-49")]
    assert 10 <= cells[0]["count"] <= 14
    other = await ask(
        api, settings, encode_id("ResearchStudy", study.id), by=[], category="DIAGNOSIS",
        prefix="I10",
    )  # fmt: skip
    assert other["data"]["study"]["cohort"]["cells"] == []
    assert other["data"]["study"]["cohort"]["total"]["display"] == "<5"


def expected(study: models.ResearchStudy, members: list[models.Patient]) -> dict[str, Any]:
    """The published total of exactly these patients (the cell-key method, app/access/cohort)."""
    key = KEY.encode()
    keys = [cohort.record_key(key, study.id, p.id) for p in members]
    published = cohort.publish(len(members), cohort.cell_key(keys), key, 5)
    return {
        "count": published.count,
        "display": published.display,
        "suppressed": published.suppressed,
    }


async def test_a_withdrawn_consent_leaves_later_answers(
    api: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    study, members = await cohort_world(conn, women=8, men=0)
    gid = encode_id("ResearchStudy", study.id)
    before = (await ask(api, settings, gid))["data"]["study"]["cohort"]["total"]
    assert before == expected(study, members)
    await conn.execute(
        text("UPDATE consent SET revoked_at = now() WHERE patient_id = :p"),
        {"p": members[0].id},
    )
    after = (await ask(api, settings, gid))["data"]["study"]["cohort"]["total"]
    assert after == expected(study, members[1:])


async def test_the_study_is_found_by_the_id_research_answers_show(
    api: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    study, _ = await cohort_world(conn)
    shown = (await ask(api, settings, encode_id("ResearchStudy", study.id)))["data"]["study"]
    assert shown["id"].startswith("psn_")  # research answers carry pseudonyms
    again = await ask(api, settings, shown["id"], token_study=encode_id("ResearchStudy", study.id))
    assert again["data"]["study"]["ethicsApprovalRef"] == study.ethics_approval_ref


async def test_others_get_no_study(
    api: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    study, _ = await cohort_world(conn)
    gid = encode_id("ResearchStudy", study.id)
    other_client = await ask(api, settings, gid, client="research-other")
    assert other_client["data"]["study"] is None
    # The same client's token for another of its studies does not read this one either.
    sibling = await f.create_research_study(conn, client_id=CLIENT, name="Syskonstudie")
    other_study = await ask(api, settings, gid, token_study=encode_id("ResearchStudy", sibling.id))
    assert other_study["data"]["study"] is None
    system = mint(settings, kind="system", subject="integration")
    response = await api.post(
        "/graphql", json={"query": COHORT, "variables": {"id": gid, "by": []}},
        headers={"authorization": f"Bearer {system}"},
    )  # fmt: skip
    assert response.json()["data"]["study"] is None
    denied = await conn.execute(
        text("SELECT count(*) FROM audit_entry WHERE action = 'deny' AND patient_id IS NULL")
    )
    assert denied.scalar_one() == 3


async def test_every_question_is_audited_with_the_approval(
    api: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    study, _ = await cohort_world(conn)
    await ask(api, settings, encode_id("ResearchStudy", study.id), by=["SEX"])
    logged = await conn.execute(
        text("SELECT principal_id, resources FROM audit_entry WHERE reason LIKE 'research cohort%'")
    )
    rows = logged.all()
    assert len(rows) == 1 and rows[0][0] == CLIENT
    assert f"EthicsApproval:{study.ethics_approval_ref}" in rows[0][1]
    assert f"ResearchStudy:{study.id}" in rows[0][1]


async def test_a_period_needs_a_category(
    api: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    study, _ = await cohort_world(conn)
    body = await ask(api, settings, encode_id("ResearchStudy", study.id), by=["PERIOD"])
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_one_patient_fewer_is_not_revealed_by_the_difference() -> None:
    """Over many cohorts, removing one patient changes the published count by anything from
    -4 to +2 (not always by -1), and sometimes not at all: a difference names nobody."""
    import uuid

    key = KEY.encode()
    study = uuid.uuid4()
    differences = set()
    for _ in range(400):
        members = [uuid.uuid4() for _ in range(20)]
        keys = [cohort.record_key(key, study, m) for m in members]
        full = cohort.publish(20, cohort.cell_key(keys), key, 5)
        fewer = cohort.publish(19, cohort.cell_key(keys[1:]), key, 5)
        assert full.count is not None and fewer.count is not None
        differences.add(full.count - fewer.count)
    assert 0 in differences and any(d < 0 for d in differences)
    assert differences <= set(range(-3, 6))


def test_small_counts_never_show() -> None:
    key = KEY.encode()
    for true in range(5):
        for cell in range(256):
            assert cohort.publish(true, cell, key, 5).display == "<5"
    assert cohort.age_band(date(1930, 1, 1), date(2026, 1, 1)) == "90+"
    assert cohort.age_band(date(1980, 5, 17), date(2026, 1, 1)) == "40-49"
