"""The round trip: export a population as NDJSON, import it into an empty database, export again:
the two exports are identical, byte for byte (after sorting lines). Runs the real commands
(`vardkedja export-fhir`, `vardkedja import-fhir`) against two fresh databases."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import insert, text
from sqlmodel import SQLModel

from app import migrate
from app.cli import main
from app.db import create_engine
from app.settings import get_settings
from tests.fixtures.fhir.rows import coherent_record

TABLES = SQLModel.metadata.tables


async def populate(url: str) -> None:
    """The seed module's population when it is there; else the complete sample record."""
    from app.seed import seed_population

    try:
        await seed_population(url, patients=6, seed=7)
        return
    except NotImplementedError:
        pass
    engine = create_engine(url, pool_size=1)
    async with engine.begin() as conn:
        for table, rows in coherent_record().items():
            await conn.execute(insert(TABLES[table]).values(rows))
    await engine.dispose()


@pytest.fixture
def use_database(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Callable[[str], None]]:
    """Point the CLI at a database URL (settings are cached: clear them each time)."""

    def use(url: str) -> None:
        monkeypatch.setenv("VARDKEDJA_DATABASE_URL", url)
        monkeypatch.setenv("VARDKEDJA_DATA_DIR", str(tmp_path / "data"))
        get_settings.cache_clear()

    yield use
    get_settings.cache_clear()


async def count(url: str, sql: str) -> int:
    engine = create_engine(url, pool_size=1)
    async with engine.connect() as conn:
        found = int((await conn.execute(text(sql))).scalar_one())
    await engine.dispose()
    return found


def units_with_municipality(directory: Path) -> int:
    """Care units in the export that carry their municipality."""
    found = 0
    for line in (directory / "Organization.ndjson").read_bytes().splitlines():
        org = orjson.loads(line)
        levels = [c["code"] for t in org.get("type", []) for c in t.get("coding", [])]
        urls = [e["url"] for e in org.get("extension", [])]
        if "care-unit" in levels and any(u.endswith("/municipality") for u in urls):
            found += 1
    return found


def sorted_lines(directory: Path) -> dict[str, list[bytes]]:
    return {p.name: sorted(p.read_bytes().splitlines()) for p in directory.glob("*.ndjson")}


def test_export_import_export_is_identical(
    fresh_database: Any, use_database: Callable[[str], None], tmp_path: Path
) -> None:
    source, target = fresh_database(), fresh_database()
    for url in (source, target):
        migrate.upgrade(url)
    asyncio.run(populate(source))

    use_database(source)
    assert main(["export-fhir", "--ndjson", str(tmp_path / "first"), "--batch-size", "2"]) == 0
    use_database(target)
    assert main(["import-fhir", str(tmp_path / "first"), "--chunk-size", "7"]) == 0
    assert main(["export-fhir", "--ndjson", str(tmp_path / "second")]) == 0

    first, second = sorted_lines(tmp_path / "first"), sorted_lines(tmp_path / "second")
    assert set(first) >= {"Patient.ndjson", "Organization.ndjson", "MedicationRequest.ndjson"}
    assert first == second
    # Care units keep their municipality (only a protected patient's address is blanked).
    sql = "SELECT count(*) FROM care_unit WHERE municipality_code IS NOT NULL"
    with_municipality = asyncio.run(count(source, sql))
    assert with_municipality > 0
    assert units_with_municipality(tmp_path / "first") == with_municipality
    assert asyncio.run(count(target, sql)) == with_municipality
    # Our own export fits our rows entirely: nothing had to be preserved beside them.
    assert asyncio.run(count(target, "SELECT count(*) FROM fhir_preserved")) == 0
