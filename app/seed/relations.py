"""Care relationships, consents, blocks (spärrar) and representatives."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from app.seed.chart import Chart, Seen, at
from app.seed.people import Person
from app.seed.rand import Rng
from app.seed.tables import Rows
from app.seed.world import Unit

RECENT = timedelta(days=540)


def write_relationships(c: Chart) -> None:
    """One relationship per unit the patient has been at; still current when recent."""
    died = at(c.person.deceased_on) if c.person.deceased_on else None
    for s in c.seen.values():
        if died:
            ends: datetime | None = died
        else:
            ends = None if c.end_time - s.last < RECENT else s.last + timedelta(days=180)
        staff_id = s.staff.id if s.staff else None
        c.add(
            "care_relationship",
            (
                c.pid,
                c.new_id(),
                s.first,
                s.first,
                1,
                s.unit.id,
                s.unit.provider.id,
                staff_id,
                s.first,
                ends,
                None,  # care the unit gave itself, not a referral's or discharge's purpose
                None,
            ),
        )


def consent(
    c: Chart,
    kind: str,
    since: datetime,
    *,
    unit: Unit | None = None,
    practitioner: uuid.UUID | None = None,
    study: uuid.UUID | None = None,
    block: uuid.UUID | None = None,
    until: datetime | None = None,
    revoked: datetime | None = None,
) -> None:
    by = "representative" if c.age(since.date()) < 16 else "patient"
    provider = unit.provider.id if unit else None
    c.add(
        "consent",
        (
            c.pid,
            c.new_id(),
            since,
            since,
            1,
            kind,
            provider,
            unit.id if unit else None,
            practitioner,
            study,
            block,
            by,
            since,
            until,
            revoked,
            None,
        ),
    )


def block(
    c: Chart,
    kind: str,
    unit: Unit,
    placed: datetime,
    *,
    period: tuple[datetime | None, datetime | None] | None = None,
    lifted: datetime | None = None,
    except_medication: bool = False,
    except_alerts: bool = False,
) -> uuid.UUID:
    bid = c.new_id()
    records_from, records_to = period or (None, None)
    c.add(
        "block",
        (
            c.pid,
            bid,
            placed,
            placed,
            1,
            kind,
            unit.provider.id,
            unit.id if kind == "inner" else None,
            records_from,
            records_to,
            except_medication,
            except_alerts,
            placed,
            lifted,
        ),
    )
    return bid


def write_consents_and_blocks(c: Chart) -> None:
    rng = c.rng
    visits = sorted(c.seen.values(), key=lambda s: s.first)
    providers = {s.unit.provider.id for s in visits}
    if len(providers) > 1 and rng.random() < 0.3:
        s = rng.choice(visits)
        until = None if rng.random() < 0.5 else s.first + timedelta(days=365)
        revoked = s.first + timedelta(days=rng.randrange(10, 300)) if rng.random() < 0.1 else None
        # Given to the unit, or to one practitioner there.
        who = s.staff.id if s.staff is not None and rng.random() < 0.3 else None
        consent(
            c, "svod_access", s.first, unit=s.unit, practitioner=who, until=until, revoked=revoked
        )
    if c.drugs and rng.random() < 0.35:
        since = c.moment(c.window_start, c.end)
        doctor = c.home.doctor.id if rng.random() < 0.3 else None
        revoked = since + timedelta(days=rng.randrange(5, 200)) if rng.random() < 0.05 else None
        consent(
            c,
            "nll_access",
            since,
            unit=c.home.vc,
            practitioner=doctor,
            until=since + timedelta(days=365),
            revoked=revoked,
        )
    if rng.random() < 0.015 and c.age() >= 18:
        study = rng.choice(c.world.study_ids)
        consent(c, "research", c.moment(date(2024, 10, 1), c.end), study=study)
    if visits and rng.random() < 0.01:
        _random_block(c, visits)


def _random_block(c: Chart, visits: list[Seen]) -> None:
    rng = c.rng
    s = rng.choice(visits)
    placed = s.last + timedelta(days=rng.randrange(1, 60))
    if placed > c.end_time:
        placed = c.end_time - timedelta(days=1)
    kind = "inner" if rng.random() < 0.6 else "outer"
    period = None
    if rng.random() < 0.3:
        period = (s.first - timedelta(days=30), s.last + timedelta(days=1))
    lifted = placed + timedelta(days=rng.randrange(30, 400)) if rng.random() < 0.15 else None
    bid = block(
        c,
        kind,
        s.unit,
        placed,
        period=period,
        lifted=lifted,
        except_medication=rng.random() < 0.2,
        except_alerts=rng.random() < 0.2,
    )
    if rng.random() < 0.25:
        since = placed + timedelta(days=rng.randrange(1, 90))
        consent(
            c,
            "block_lift",
            since,
            unit=c.home.hospital.emergency,
            block=bid,
            until=since + timedelta(days=14),
        )


def link_families(people: list[Person], rng: Rng, rows: Rows, as_of: date) -> None:
    """Guardians for children (from the adults of the same batch) and some powers of attorney."""
    adults = [
        p
        for p in people
        if p.identifier_kind == "personnummer"
        and p.deceased_on is None
        and 20 <= p.age(as_of) <= 65
    ]
    if not adults:
        return
    out = rows.by_table["representative"]
    ages = [(a, a.age(as_of)) for a in adults]
    for child in people:
        age = child.age(as_of)
        if age >= 18 or child.identifier_kind != "personnummer":
            continue
        fits = [a for a, adult_age in ages if 20 <= adult_age - age <= 45]
        if not fits:
            continue
        first = rng.choice(fits)
        guardians = [first]
        partners = [a for a in fits if a.sex != first.sex and a is not first]
        if partners and rng.random() < 0.7:
            guardians.append(rng.choice(partners))
        child.family_name = first.family_name
        child.street, child.postal_code, child.place = first.street, first.postal_code, first.place
        adult_on = child.birth_date.replace(
            year=child.birth_date.year + 18, day=min(child.birth_date.day, 28)
        )
        created = at(child.birth_date)
        for g in guardians:
            g.street, g.postal_code, g.place = first.street, first.postal_code, first.place
            out.append(
                (
                    child.id,
                    _uuid(rng),
                    created,
                    created,
                    1,
                    g.id,
                    "guardian",
                    child.birth_date,
                    adult_on,
                    None,
                )
            )
    for old in people:
        if old.age(as_of) >= 85 and rng.random() < 0.1:
            holder = rng.choice(adults)
            since = as_of - timedelta(days=rng.randrange(30, 1500))
            out.append(
                (
                    old.id,
                    _uuid(rng),
                    at(since),
                    at(since),
                    1,
                    holder.id,
                    "power_of_attorney",
                    since,
                    None,
                    None,
                )
            )


def _uuid(rng: Rng) -> uuid.UUID:
    return rng.uuid4()
