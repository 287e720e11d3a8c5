"""Loading the generated rows into PostgreSQL with COPY, in batches, with progress reports."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

import asyncpg

from app.seed.codecs import use_fast_codecs
from app.seed.demo import DEMO_PROVIDERS
from app.seed.demo_records import demo_rows
from app.seed.people import NamePools, PersonFactory
from app.seed.population import batch
from app.seed.tables import PATIENT_COLUMNS, REFERENCE_COLUMNS, Rows
from app.seed.world import World, world

AS_OF = date(2026, 11, 1)  # the synthetic world's "today": fixed, so a seed gives the same data
BATCH = 500  # patients generated and copied together
BULK = 5000  # from this many patients, foreign keys are checked once at the end, not per row
Progress = Callable[[int, int], None]  # (patients done, patients in all)


class SeedAlreadyLoaded(RuntimeError):
    """The population of this seed is already in the database."""


@dataclass
class SeedStats:
    """What a seeding run wrote: rows per table and how long it took."""

    patients: int
    seconds: float
    rows: dict[str, int] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)  # seconds per step of the load

    @property
    def total(self) -> int:
        return sum(self.rows.values())

    def __str__(self) -> str:
        tables = ", ".join(f"{name} {count:,}" for name, count in self.rows.items() if count)
        return f"{self.patients:,} patients, {self.total:,} rows in {self.seconds:.1f} s ({tables})"


async def seed_population(
    url: str,
    *,
    patients: int,
    seed: int,
    as_of: date = AS_OF,
    progress: Progress | None = None,
    defer_foreign_keys: bool | None = None,
) -> SeedStats:
    """Load `patients` synthetic patients (plus, once, the reference world and demo people).

    Everything happens in one transaction. With `defer_foreign_keys` (default: from BULK
    patients on) the patient tables' foreign keys are dropped during the load and added back,
    and so validated, before commit; meanwhile those tables are locked for other sessions.
    Loads under BULK patients end with ANALYZE; bigger ones leave that to autovacuum.
    """
    if defer_foreign_keys is None:
        defer_foreign_keys = patients >= BULK
    if progress is not None:
        progress(0, patients)
    started = time.perf_counter()
    stats = SeedStats(patients=patients, seconds=0.0, rows=dict.fromkeys(_tables(), 0))
    phase = _Phases(stats)
    conn = await _connect(url)
    try:
        with _no_cyclic_gc():
            await use_fast_codecs(conn)
            async with conn.transaction():
                await conn.execute("SET LOCAL synchronous_commit = off")
                # Room for the hash joins that validate the foreign keys added back.
                await conn.execute("SET LOCAL work_mem = '256MB'")
                the_world = world()
                if not await _has_world(conn):
                    await _copy_reference(conn, the_world, stats)
                    await _copy(conn, demo_rows(the_world, as_of), stats)
                phase("reference")
                dropped = await _drop_foreign_keys(conn) if defer_foreign_keys else []
                await _copy_population(conn, the_world, patients, seed, as_of, stats, progress)
                phase("population")
                await _restore_foreign_keys(conn, dropped)
                phase("foreign_keys")
                if patients < BULK:
                    # Planner statistics now, for `serve` right after seeding; a big load
                    # leaves them to autovacuum, which analyses the tables within minutes.
                    await conn.execute(f"ANALYZE {', '.join(_tables())}")
                    phase("analyze")
            phase("commit")
    finally:
        await conn.close()
    stats.seconds = time.perf_counter() - started
    return stats


async def _connect(url: str) -> asyncpg.Connection:
    # app.db pulls in SQLAlchemy; importing it here keeps `import app.seed` light for
    # the callers that only want DEMO_PEOPLE (e.g. `vardkedja token`).
    from app.db import to_plain_url

    return await asyncpg.connect(to_plain_url(url))


class _Phases:
    """Records the seconds since the previous phase in `stats.phases`."""

    def __init__(self, stats: SeedStats) -> None:
        self.stats, self.last = stats, time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.stats.phases[name] = round(now - self.last, 2)
        self.last = now


async def seed_if_empty(
    url: str, *, patients: int, seed: int, progress: Progress | None = None
) -> SeedStats | None:
    """Seed only a database without patients (what `vardkedja serve` does on first start)."""
    conn = await _connect(url)
    try:
        if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM patient)"):
            return None
    finally:
        await conn.close()
    return await seed_population(url, patients=patients, seed=seed, progress=progress)


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Switch the cyclic garbage collector off while rows are made: the rows hold no cycles
    (reference counting frees them), and collections scanning millions of fresh tuples took
    a quarter of the generation time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _tables() -> list[str]:
    return [*REFERENCE_COLUMNS, *PATIENT_COLUMNS]


async def _has_world(conn: asyncpg.Connection) -> bool:
    marker = DEMO_PROVIDERS["region"].hsa_id
    return bool(
        await conn.fetchval("SELECT EXISTS (SELECT 1 FROM care_provider WHERE hsa_id = $1)", marker)
    )


async def _copy_reference(conn: asyncpg.Connection, the_world: World, stats: SeedStats) -> None:
    rows = the_world.reference_rows()
    municipalities = rows.pop("municipality")
    # Municipalities may already be there (they are plain reference data): insert the missing.
    await conn.executemany(
        "INSERT INTO municipality (code, name, county_code) VALUES ($1, $2, $3)"
        " ON CONFLICT DO NOTHING",
        municipalities,
    )
    stats.rows["municipality"] += len(municipalities)
    for table, records in rows.items():
        await conn.copy_records_to_table(table, records=records, columns=REFERENCE_COLUMNS[table])
        stats.rows[table] += len(records)


async def _copy(conn: asyncpg.Connection, rows: Rows, stats: SeedStats) -> None:
    for table, records in rows.items():
        if records:
            await conn.copy_records_to_table(table, records=records, columns=PATIENT_COLUMNS[table])
            stats.rows[table] += len(records)


async def _copy_population(
    conn: asyncpg.Connection,
    the_world: World,
    patients: int,
    seed: int,
    as_of: date,
    stats: SeedStats,
    progress: Progress | None,
) -> None:
    if patients <= 0:
        return
    taken = {r[0] for r in await conn.fetch("SELECT identifier FROM patient")}
    factory = PersonFactory(NamePools.build(seed), as_of, taken, seed)
    starts = list(range(0, patients, BATCH))
    loop = asyncio.get_running_loop()
    # Generate the next batch in a thread while the server digests the current one.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="seed") as pool:

        def make(first: int) -> asyncio.Future[Rows]:
            count = min(BATCH, patients - first)
            return loop.run_in_executor(pool, batch, the_world, factory, seed, first, count, as_of)

        pending = make(starts[0])
        for position, first in enumerate(starts):
            rows = await pending
            if position == 0:
                await _refuse_reload(conn, rows)
            if position + 1 < len(starts):
                pending = make(starts[position + 1])
            await _copy(conn, rows, stats)
            if progress is not None:
                progress(min(first + BATCH, patients), patients)


async def _refuse_reload(conn: asyncpg.Connection, rows: Rows) -> None:
    first_id = rows.by_table["patient"][0][0]
    if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM patient WHERE id = $1)", first_id):
        raise SeedAlreadyLoaded("this seed is already loaded in the database: use another --seed")


async def _drop_foreign_keys(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Drop the foreign keys of the patient tables for the load; _restore_foreign_keys re-adds
    (and so validates) them in the same transaction: one join per key instead of a trigger
    call per row, which is most of PostgreSQL's work in a big load."""
    keys = await conn.fetch(
        """SELECT c.conrelid::regclass::text AS tbl, c.conname AS name,
                  pg_get_constraintdef(c.oid) AS definition
           FROM pg_constraint c
           WHERE c.contype = 'f' AND c.conrelid = ANY($1::regclass[])
           ORDER BY c.conrelid::regclass::text, c.conname""",
        list(PATIENT_COLUMNS),
    )
    for key in keys:
        await conn.execute(f'ALTER TABLE {key["tbl"]} DROP CONSTRAINT "{key["name"]}"')
    return list(keys)


async def _restore_foreign_keys(conn: asyncpg.Connection, keys: list[asyncpg.Record]) -> None:
    for key in keys:
        await conn.execute(
            f'ALTER TABLE {key["tbl"]} ADD CONSTRAINT "{key["name"]}" {key["definition"]}'
        )
