"""Who the synthetic patients are: age, sex, personnummer, name, address, family ties."""

from __future__ import annotations

import random
import uuid
from bisect import bisect
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import accumulate

from faker import Faker

from app.identifiers import luhn_check_digit
from app.seed.places import MUNICIPALITIES, Place
from app.seed.rand import Rng, uuid4_of
from app.seed.tables import Row

# Swedish population by five-year age band (thousands, 2024, rounded). The oldest bands are
# inflated a little so that even a small sample has people over 90 and over 100.
AGE_BANDS = (
    560,
    620,
    640,
    620,
    600,
    680,
    720,
    690,
    650,
    660,
    680,
    670,
    600,
    560,
    540,
    520,
    360,
    190,
    85,
    25,
    8,
    1.5,
)
_AGE_CUM = list(accumulate(AGE_BANDS))
_MUNI_CUM = list(accumulate(m.population for m in MUNICIPALITIES))


@dataclass(frozen=True, slots=True)
class NamePools:
    """Names and streets drawn once per run from a seeded Faker (Faker is slow per call)."""

    female: tuple[str, ...]
    male: tuple[str, ...]
    family: tuple[str, ...]
    streets: tuple[str, ...]

    @classmethod
    def build(cls, seed: int, size: int = 4000) -> NamePools:
        fake = Faker("sv_SE")
        fake.seed_instance(seed)
        return cls(
            tuple(fake.first_name_female() for _ in range(size)),
            tuple(fake.first_name_male() for _ in range(size)),
            tuple(fake.last_name() for _ in range(size)),
            tuple(fake.street_name() for _ in range(size // 4)),
        )


@dataclass(slots=True)
class Person:
    id: uuid.UUID
    index: int  # position in this run, -1 for demo people
    identifier_kind: str
    identifier: str
    given_name: str
    family_name: str
    birth_date: date
    sex: str
    protected_identity: bool
    street: str
    postal_code: str
    place: Place
    deceased_on: date | None = None
    reserve_issuer: str | None = None

    def age(self, on: date) -> int:
        b = self.birth_date
        return on.year - b.year - ((on.month, on.day) < (b.month, b.day))

    def row(self, created: datetime) -> Row:
        return (
            self.id,
            self.identifier_kind,
            self.identifier,
            self.reserve_issuer,
            self.given_name,
            self.family_name,
            self.birth_date,
            self.sex,
            self.protected_identity,
            self.street,
            self.postal_code,
            self.place.name if self.place.code != "0980" else "Visby",
            self.place.code,
            self.deceased_on,
            created,
            created,
            1,
        )


def personnummer(born: date, serial: int, *, samordning: bool = False) -> str:
    """Twelve digits YYYYMMDDNNNC; a samordningsnummer has day + 60 (check digit on that form)."""
    day = born.day + (60 if samordning else 0)
    nine = f"{born.year % 100:02d}{born.month:02d}{day:02d}{serial:03d}"
    return f"{born.year:04d}{nine[2:]}{luhn_check_digit(nine)}"


class PersonFactory:
    """Draws people; keeps identifiers unique within the run and against the database."""

    def __init__(self, pools: NamePools, as_of: date, taken: set[str], seed: int) -> None:
        self.pools, self.as_of, self.taken, self.seed = pools, as_of, taken, seed
        self.prefix = random.Random(f"{seed}/ids").getrandbits(32)

    def patient_id(self, index: int, rng: Rng) -> uuid.UUID:
        """A seed prefix and the patient's number first, random bits last.

        Ids of one run sort in load order, so the (patient_id, ...) indexes grow at their right
        edge instead of splitting pages all over: that halves the load time of big runs.
        """
        high = (self.prefix << 96) | ((index >> 12) << 80) | ((index & 0xFFF) << 64)
        return uuid4_of(high | rng.getrandbits(64))

    def draw(self, rng: Rng, index: int) -> Person:
        patient_id = self.patient_id(index, rng)
        band = bisect(_AGE_CUM, rng.random() * _AGE_CUM[-1])
        age = band * 5 + rng.randrange(5)
        born = self.as_of - timedelta(days=age * 365 + rng.randrange(365) + age // 4)
        male = rng.random() < (0.5 if age < 70 else 0.44 if age < 85 else 0.33)
        place = MUNICIPALITIES[bisect(_MUNI_CUM, rng.random() * _MUNI_CUM[-1])]
        kind, issuer = "personnummer", None
        roll = rng.random()
        if roll < 0.033 and 18 <= age <= 65:  # about 2 % of everyone
            kind = "samordningsnummer"
        elif roll > 0.999:
            kind = "reservnummer"
        identifier = self._identifier(rng, born, male, kind, index)
        if kind == "reservnummer":
            issuer = "Region " + place.name
        pool = self.pools.male if male else self.pools.female
        given = rng.choice(pool)
        if rng.random() < 0.3:
            second = rng.choice(pool)
            if second != given:
                given = f"{given} {second}"
        street = f"{rng.choice(self.pools.streets)} {rng.randint(1, 120)}"
        if rng.random() < 0.15:
            street += rng.choice("ABC")
        digits = f"{place.postal_prefix}{rng.randrange(100, 1000)}"
        deceased = None
        if age >= 80 and rng.random() < 0.02:
            deceased = self.as_of - timedelta(days=rng.randrange(10, 700))
        sex = "male" if male else "female"
        if kind == "reservnummer" and rng.random() < 0.5:
            sex = "unknown"
        return Person(
            id=patient_id,
            index=index,
            identifier_kind=kind,
            identifier=identifier,
            given_name=given,
            family_name=rng.choice(self.pools.family),
            birth_date=born,
            sex=sex,
            protected_identity=rng.random() < 0.005,
            street=street,
            postal_code=f"{digits[:3]} {digits[3:]}",
            place=place,
            deceased_on=deceased,
            reserve_issuer=issuer,
        )

    def _identifier(self, rng: Rng, born: date, male: bool, kind: str, index: int) -> str:
        if kind == "reservnummer":
            # Unique per run and seed; regional formats differ, this one is ours.
            return f"R{self.seed % 10000:04d}-{index:08d}"
        samordning = kind == "samordningsnummer"
        # A taken number is drawn again from a side generator, so that the rest of this
        # patient's data does not depend on what else is in the database.
        draws = rng
        while True:
            # The third serial digit tells the sex: odd for men, even for women.
            serial = draws.randrange(100) * 10 + draws.randrange(5) * 2 + (1 if male else 0)
            number = personnummer(born, serial, samordning=samordning)
            if number not in self.taken:
                self.taken.add(number)
                return number
            if draws is rng:
                draws = Rng(f"{self.seed}/{index}/serial")
