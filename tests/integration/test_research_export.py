"""A15: the research bulk export (NDJSON) carries no free text, no clinicians' names or
HSA-ids, no source document ids, and times cut to the study's precision, unless the study's
approval releases them; and its pseudonyms are those of the GraphQL research answers."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel

from app import migrate
from app.access.pseudonym import pseudonym
from app.cli import FAILURE_EXIT, main
from app.db import create_engine
from app.errors import AppError
from app.fhir.jobs import export_bulk
from app.settings import Settings, get_settings
from tests.fixtures.fhir.rows import CONTACT, PATIENT, STUDY, T0, coherent_record

TABLES = SQLModel.metadata.tables
CLIENT = "research-ki"  # the fixture study's client
KEY = "test-pseudonym-key"
FREE_TEXT = ("Ont i magen", "Åt gröt", "Penicillinallergi", "Nedsatt uppmärksamhet",
             "Inga fynd", "Bröstsmärta", "1 tablett till kvällen", "Hyperlipidemi",
             "Rotbehandling", "Karies ocklusalt", "Behov av stöd", "Klara morgonrutiner",
             "Aktivitet 1", "Varje morgon")  # fmt: skip
CLINICIANS = ("Doktor Dok", "Signe Signerare", "Dr Remiss", "Sköterska Sara",
              "Handläggare Hanna", "Kontaktman Kim", "Läkarsson",
              "SE2321000016-DOC1", "SE2321000016-DOC2", "SE2321000016-SRC1")  # fmt: skip


async def export(
    conn: AsyncConnection, settings: Settings, tmp_path: Path, **release: Any
) -> dict[str, list[dict[str, Any]]]:
    record = coherent_record()
    record["research_study"] = [
        record["research_study"][0]
        | {
            "release_free_text": False,
            "release_clinician_identity": False,
            "time_precision": "month",
        }
        | release
    ]
    for table, rows in record.items():
        await conn.execute(insert(TABLES[table]).values(rows))
    consent = record["consent"][0] | {
        "id": STUDY, "kind": "research", "block_id": None, "valid_from": T0, "valid_to": None,
        "revoked_at": None, "research_study_id": STUDY,
    }  # fmt: skip
    await conn.execute(insert(TABLES["consent"]).values(consent))
    keyed = settings.model_copy(update={"pseudonym_key": KEY})
    counts = await export_bulk(conn, keyed, tmp_path, research_client=CLIENT, study=STUDY)
    assert counts["Patient"] == 1
    return read_files(tmp_path)


def read_files(directory: Path) -> dict[str, list[dict[str, Any]]]:
    return {
        p.stem: [orjson.loads(line) for line in p.read_bytes().splitlines()]
        for p in directory.glob("*.ndjson")
    }


def raw(files: dict[str, list[dict[str, Any]]]) -> str:
    return orjson.dumps(files).decode()


async def test_export_withholds_free_text_clinicians_and_exact_times(
    conn: AsyncConnection, settings: Settings, tmp_path: Path
) -> None:
    files = await export(conn, settings, tmp_path)
    text = raw(files)
    assert [t for t in FREE_TEXT if t in text] == []
    assert [c for c in CLINICIANS if c in text] == []
    assert "Practitioner" not in files
    assert "doc-" not in text  # source systems' document ids
    # T0 is 2024-03-01 09:30:12.345678 and T1 2024-03-02 14:00: both cut to 2024-03-01.
    for stamp in ("09:30", "14:00", "2024-03-02"):
        assert stamp not in text, stamp
    encounter = next(e for e in files["Encounter"] if e["id"] == pseudo(CONTACT))
    assert encounter["period"]["start"].startswith("2024-03-01T00:00:00")
    assert encounter["subject"]["reference"] == f"Patient/{pseudo(PATIENT)}"


async def test_an_approval_releases_text_names_and_times(
    conn: AsyncConnection, settings: Settings, tmp_path: Path
) -> None:
    files = await export(
        conn,
        settings,
        tmp_path,
        release_free_text=True,
        release_clinician_identity=True,
        time_precision="exact",
    )
    text = raw(files)
    assert "Ont i magen" in text and "Doktor Dok" in text and "09:30:12" in text
    assert "Practitioner" in files
    # Other identifiers stay pseudonyms whatever the approval says.
    assert "SE2321000016-SRC1" not in text and "doc-" not in text


def pseudo(row_id: Any) -> str:
    """The export's FHIR id of a row: the same HMAC as a research GraphQL id, '_' as '-'."""
    return pseudonym(KEY.encode(), f"study:{STUDY}", row_id).replace("_", "-")


async def test_two_studies_export_unlinkable_pseudonyms(
    conn: AsyncConnection, settings: Settings, tmp_path: Path
) -> None:
    """The same client, the same patient opted in to two studies: no id of one study's export
    is in the other's, so the two data sets cannot be joined."""
    first = await export(conn, settings, tmp_path / "first")
    second_study = uuid.uuid4()
    await conn.execute(
        insert(TABLES["research_study"]).values(
            coherent_record()["research_study"][0] | {"id": second_study, "name": "Andra"}
        )
    )
    consent = coherent_record()["consent"][0] | {
        "id": uuid.uuid4(), "kind": "research", "block_id": None, "valid_from": T0,
        "valid_to": None, "revoked_at": None, "research_study_id": second_study,
    }  # fmt: skip
    await conn.execute(insert(TABLES["consent"]).values(consent))
    keyed = settings.model_copy(update={"pseudonym_key": KEY})
    counts = await export_bulk(
        conn, keyed, tmp_path / "second", research_client=CLIENT, study=second_study
    )
    assert counts["Patient"] == 1
    second = read_files(tmp_path / "second")
    ids = {name: {r["id"] for r in rows} for name, rows in first.items()}
    for name, rows in second.items():
        if name in ("Patient", "Encounter", "Condition", "Observation"):
            assert rows and not ids[name] & {r["id"] for r in rows}, name
    assert first["Patient"][0]["id"] == pseudo(PATIENT)
    assert second["Patient"][0]["id"] != pseudo(PATIENT)


async def test_a_study_with_counts_only_exports_nothing(
    conn: AsyncConnection, settings: Settings, tmp_path: Path
) -> None:
    with pytest.raises(AppError) as refused:
        await export(conn, settings, tmp_path, allows_record_access=False)
    assert refused.value.code == "NOT_APPROVED"
    assert read_files(tmp_path) == {}


def test_the_command_refuses_a_counts_only_study_and_audits_it(
    fresh_database: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`vardkedja export-fhir --research-client ... --study ...` for a study without record
    access: NOT_APPROVED, nothing written, and the denial committed to the audit trail (the
    export's own transaction would roll it back)."""
    url = fresh_database()
    migrate.upgrade(url)
    record = coherent_record()
    record["research_study"] = [record["research_study"][0] | {"allows_record_access": False}]
    asyncio.run(_insert(url, record))
    monkeypatch.setenv("VARDKEDJA_DATABASE_URL", url)
    monkeypatch.setenv("VARDKEDJA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VARDKEDJA_PSEUDONYM_KEY", KEY)
    get_settings.cache_clear()
    try:
        folder = tmp_path / "out"
        argv = ["export-fhir", "--ndjson", str(folder), "--research-client", CLIENT]
        assert main([*argv, "--study", str(STUDY)]) == FAILURE_EXIT
    finally:
        get_settings.cache_clear()
    assert not folder.exists() or read_files(folder) == {}
    sql = "SELECT principal_kind, action, operation, reason FROM audit_entry WHERE client_id = :c"
    ((kind, action, operation, reason),) = asyncio.run(_rows(url, sql, {"c": CLIENT}))
    assert (kind, action, operation) == ("research", "deny", "export-fhir")
    assert reason.startswith("NOT_APPROVED") and f"ResearchStudy:{STUDY}" in reason


async def _insert(url: str, record: dict[str, list[dict[str, Any]]]) -> None:
    engine = create_engine(url, pool_size=1)
    async with engine.begin() as conn:
        for table, rows in record.items():
            await conn.execute(insert(TABLES[table]).values(rows))
    await engine.dispose()


async def _rows(url: str, sql: str, params: dict[str, Any]) -> list[Any]:
    engine = create_engine(url, pool_size=1)
    async with engine.connect() as conn:
        found = (await conn.execute(text(sql), params)).all()
    await engine.dispose()
    return list(found)
