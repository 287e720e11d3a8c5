"""One patient's chart while it is being written: ids, the clinical header, time helpers.

Rows are plain tuples in the column order of app.seed.tables (no ORM objects: this is the hot
loop of seeding).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from app.seed.people import Person
from app.seed.rand import Rng
from app.seed.tables import Row, Rows
from app.seed.world import Hospital, Provider, Staff, Unit, World

NOT_SIGNED = (None, None, None)
NOBODY = (None, None, None, None)
HALF_HOUR = timedelta(minutes=30)
SIGNING_DELAYS = tuple(timedelta(hours=h) for h in range(1, 30))
NOT_NULLIFIED = (False, None, None)
NULLIFY_REASONS = (
    "Felaktig patient",
    "Dokumenterat i fel journal",
    "Dubbelregistrering",
)


@dataclass(slots=True)
class Contact:
    """A care contact, for the rows that refer to it."""

    id: uuid.UUID
    unit: Unit
    staff: Staff
    start: datetime
    end: datetime | None
    status: str


@dataclass(slots=True)
class Seen:
    """Where the patient has been: the basis of care relationships."""

    unit: Unit
    first: datetime
    last: datetime
    staff: Staff | None


@dataclass(slots=True)
class Home:
    """The units a patient normally uses."""

    vc: Unit
    doctor: Staff
    nurse: Staff
    hospital: Hospital
    dental: Unit
    pharmacies: list[Unit]
    kommun: Provider
    pharmacist: Staff | None = None  # the demo people always meet the same ones
    dentist: Staff | None = None


@dataclass(slots=True)
class Chart:
    world: World
    rng: Rng
    person: Person
    rows: Rows
    as_of: date
    home: Home = field(init=False)
    end: date = field(init=False)  # as_of, or the day the patient died
    end_time: datetime = field(init=False)
    window_start: date = field(init=False)
    conditions: dict[str, date] = field(default_factory=dict)  # chronic key -> onset
    seen: dict[Unit, Seen] = field(default_factory=dict)
    contacts: list[Contact] = field(default_factory=list)
    drugs: set[str] = field(default_factory=set)  # drugs ever prescribed (keys of DRUGS)
    # ATC classes the patient is known to be hypersensitive to (app/safety.py): never
    # prescribed (app/seed/medication.py substitutes another drug).
    allergy_classes: set[str] = field(default_factory=set)
    seq: int = 0

    def __post_init__(self) -> None:
        self.end = self.person.deceased_on or self.as_of
        self.end_time = at(self.end, 12)
        start = self.as_of.replace(year=self.as_of.year - 5)
        self.window_start = max(start, self.person.birth_date)
        self.home = self._home()

    @property
    def pid(self) -> uuid.UUID:
        return self.person.id

    def age(self, on: date | None = None) -> int:
        return self.person.age(on or self.end)

    def new_id(self) -> uuid.UUID:
        return self.rng.uuid4()

    def add(self, table: str, row: Row) -> None:
        self.rows.by_table[table].append(row)

    def staff(self, unit: Unit, profession: str) -> Staff:
        team = self.world.staff_at(unit, profession)
        return team[int(self.rng.random() * len(team))]

    def header(
        self,
        unit: Unit,
        staff: Staff | None,
        when: datetime,
        *,
        contact: Contact | None = None,
        signed: bool = True,
        approved: bool = True,
        author_delay: timedelta = HALF_HOUR,
    ) -> tuple[uuid.UUID, Row]:
        """A fresh id and the 23 header columns for a row of this patient at `unit`."""
        rid = self.rng.uuid4()
        self.seq += 1
        authored = when + author_delay
        random = self.rng.random
        la: tuple[Any, ...] = NOT_SIGNED
        if signed and staff is not None:
            la = (authored + SIGNING_DELAYS[int(random() * 29)], staff.hsa_id, staff.name)
        nullified: tuple[Any, ...] = NOT_NULLIFIED
        if random() < 0.004:
            nullified = (True, self.rng.choice(NULLIFY_REASONS), authored + timedelta(days=2))
        system = unit.provider.system_hsa_id
        row: tuple[Any, ...] = (
            self.pid,
            rid,
            authored,
            authored,
            1,
            f"{system[-4:]}-{self.seq:06d}",
            system,
            when,
            authored,
            *unit.where,
            *(staff.who if staff else NOBODY),
            *la,
            approved,
            contact.id if contact else None,
            *nullified,
        )
        return rid, row

    def saw(self, unit: Unit, when: datetime, staff: Staff | None) -> None:
        known = self.seen.get(unit)
        if known is None:
            self.seen[unit] = Seen(unit, when, when, staff)
        elif when > known.last:
            known.last, known.staff = when, staff or known.staff
        elif when < known.first:
            known.first = when

    def moment(self, start: date, end: date, hours: tuple[int, int] = (8, 17)) -> datetime:
        """A random time between two dates, during the given hours (UTC)."""
        random = self.rng.random
        day = start + timedelta(days=int(random() * (max(0, (end - start).days) + 1)))
        minute = hours[0] * 60 + int(random() * (hours[1] - hours[0]) * 60)
        return datetime.combine(day, time(minute // 60, minute % 60), UTC)

    def _home(self) -> Home:
        w, rng, code = self.world, self.rng, self.person.place.code
        vc = rng.choice(w.local[(code, "primary_care")])
        dental = w.local[(code, "dental")]
        return Home(
            vc=vc,
            doctor=self.staff(vc, "läkare"),
            nurse=self.staff(vc, "sjuksköterska"),
            hospital=w.hospital_of[code],
            dental=dental[0] if self.age() < 20 or rng.random() < 0.55 else rng.choice(dental),
            pharmacies=w.local[(code, "pharmacy")],
            kommun=w.kommun_of[code],
        )


def at(day: date, hour: int = 12, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), UTC)
