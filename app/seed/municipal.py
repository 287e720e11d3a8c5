"""Municipal care: SoL and LSS decisions, implementation plans, municipal health care."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

from app.seed.chart import Chart, at
from app.seed.clinical import contact, note
from app.seed.conditions import LSS_CONDITIONS
from app.seed.vaccinations import give
from app.seed.world import Staff, Unit

NEW_SOL = date(2025, 7, 1)  # socialtjänstlagen (2025:400) replaced SoL (2001:453)


@dataclass(frozen=True, slots=True)
class Service:
    code: str
    unit_kind: str
    extent_unit: str | None
    extent: tuple[int, int]
    goal: str
    activities: tuple[tuple[str, str, str], ...]  # goal, description, when/how
    reviewed: bool = True  # decided again about once a year (else until further notice)
    temporary: bool = False  # granted for `extent` days only


_SELF = ("Klara personlig hygien", "Stöd vid dusch och påklädning", "Måndag, onsdag, fredag kl 8-9")
_FOOD = ("Äta regelbundet", "Hjälp att värma och servera lunch och middag", "Dagligen kl 12 och 17")
_SOCIAL = ("Bryta ensamhet", "Promenad eller samtal", "Tisdagar eftermiddag")
SERVICES: dict[str, Service] = {
    s.code: s
    for s in (
        Service(
            "SOL-HEMTJANST",
            "home_care",
            "hours_per_week",
            (2, 28),
            "Kunna bo kvar tryggt i sin lägenhet",
            (_SELF, _FOOD, _SOCIAL),
        ),
        Service(
            "SOL-SARSKILT-BOENDE",
            "special_housing",
            None,
            (0, 0),
            "Känna sig trygg och delaktig i vardagen på boendet",
            (
                _SELF,
                ("Behålla rörligheten", "Promenad i korridoren med rollator", "Dagligen"),
                ("Delta i gemenskap", "Erbjuds sittgympa och sångstund", "Två gånger i veckan"),
            ),
        ),
        Service(
            "SOL-KORTTIDSBOENDE",
            "special_housing",
            "days",
            (7, 28),
            "Återhämtning efter sjukhusvistelse",
            (_SELF,),
            reviewed=False,
            temporary=True,
        ),
        Service(
            "SOL-DAGVERKSAMHET",
            "home_care",
            "days_per_week",
            (1, 3),
            "Meningsfull dag och avlastning för anhörig",
            (_SOCIAL,),
        ),
        Service(
            "SOL-TRYGGHETSLARM",
            "home_care",
            None,
            (0, 0),
            "Kunna larma vid behov",
            (),
            reviewed=False,
        ),
        Service("SOL-MATDISTRIBUTION", "home_care", "meals_per_week", (5, 7), "Få lagad mat", ()),
        Service(
            "SOL-BOENDESTOD",
            "home_care",
            "hours_per_week",
            (2, 8),
            "Klara sitt eget boende",
            (("Struktur i vardagen", "Planera veckan tillsammans", "Måndagar kl 10"),),
        ),
        Service(
            "LSS9-2",
            "lss",
            "hours_per_week",
            (8, 20),
            "Leva ett självständigt liv",
            (("Delta i fritidsaktiviteter", "Assistans vid simträning", "Torsdagar"),),
        ),
        Service(
            "LSS9-3",
            "lss",
            "hours_per_month",
            (4, 16),
            "Delta i samhällslivet",
            (("Besöka vänner och kultur", "Ledsagning", "Efter önskemål, två gånger i månaden"),),
        ),
        Service(
            "LSS9-4",
            "lss",
            "hours_per_month",
            (4, 8),
            "Ha en vän utanför familjen",
            (("Social gemenskap", "Träff med kontaktperson", "Varannan vecka"),),
        ),
        Service(
            "LSS9-5",
            "lss",
            "hours_per_month",
            (8, 20),
            "Avlastning för föräldrarna",
            (("Trygg tid hemma", "Avlösare i hemmet", "Varannan lördag"),),
        ),
        Service(
            "LSS9-6",
            "lss",
            "days_per_month",
            (4, 10),
            "Miljöombyte och avlastning",
            (("Trivas på korttids", "Vistelse på korttidshem", "En helg i månaden"),),
        ),
        Service(
            "LSS9-7",
            "lss",
            "hours_per_week",
            (5, 15),
            "Trygg tillsyn efter skolan",
            (("Meningsfull eftermiddag", "Korttidstillsyn efter skoldagens slut", "Vardagar"),),
        ),
        Service(
            "LSS9-9",
            "lss",
            None,
            (0, 0),
            "Ett eget hem med stöd dygnet runt",
            (_FOOD, ("Sköta sin lägenhet", "Stöd med städning och tvätt", "Onsdagar")),
        ),
        Service(
            "LSS9-10",
            "lss",
            "days_per_week",
            (3, 5),
            "Ha en meningsfull sysselsättning",
            (("Arbeta i caféet", "Daglig verksamhet i café", "Måndag-fredag kl 9-15"),),
        ),
    )
}
# LSS insatser are granted until further notice, except personal assistance (reviewed yearly).
SERVICES.update(
    {
        k: replace(v, reviewed=False)
        for k, v in SERVICES.items()
        if k.startswith("LSS9-") and k != "LSS9-2"
    }
)


def legal_basis(code: str, decided: date) -> str:
    if code.startswith("LSS"):
        return "LSS-9"
    return "SOL2001-4-1" if decided < NEW_SOL else "SOL2025-BISTAND"


def decide(c: Chart, code: str, start: date, stop: date | None = None) -> date | None:
    """Decisions for one insats from `start` (reviewed yearly), with plans; returns the end."""
    rng, service = c.rng, SERVICES[code]
    kommun_code = c.person.place.code
    unit = c.world.local[(kommun_code, service.unit_kind)][0]
    officers = c.world.staff_at(c.world.local[(kommun_code, "home_care")][0], "biståndshandläggare")
    stop = min(stop, c.end) if stop else None
    low, high = service.extent
    extent = rng.randint(low, high) if high else None
    day, first = start, True
    while day <= c.end and (stop is None or day < stop):
        officer = officers[rng.randrange(len(officers))]
        outcome = "beviljad"
        if first and rng.random() < 0.05:
            outcome = "avslag"
        elif rng.random() < 0.1:
            outcome = "delvis_beviljad"
        following = day + timedelta(days=rng.randrange(330, 400)) if service.reviewed else None
        if service.temporary and extent:
            valid_to: date | None = day + timedelta(days=extent)
        elif following and following <= c.end and (stop is None or following < stop):
            valid_to = following - timedelta(days=1)
        else:
            valid_to = stop
        decision_id = record_decision(c, code, unit, officer, day, valid_to, extent, outcome)
        if outcome == "avslag":
            day = day + timedelta(days=rng.randrange(60, 120))
            first = False
            continue
        if service.activities:
            record_plan(c, service, unit, day, decision_id)
        c.saw(unit, at(day, 10), None)
        if following is None:
            return valid_to
        if extent and high and rng.random() < 0.4:
            extent = min(high, extent + rng.randint(1, 4))
        day, first = following, False
    return stop


def record_decision(
    c: Chart,
    code: str,
    unit: Unit,
    officer: Staff,
    day: date,
    valid_to: date | None,
    extent: int | None,
    outcome: str,
) -> uuid.UUID:
    applied = day - timedelta(days=c.rng.randrange(10, 45))
    decision_id, head = c.header(unit, officer, at(day, 10))
    motivation = {
        "beviljad": "Behovet kan inte tillgodoses på annat sätt. Insatsen beviljas.",
        "delvis_beviljad": "Behovet bedöms delvis kunna tillgodoses på annat sätt.",
        "avslag": "Behovet bedöms kunna tillgodoses på annat sätt. Ansökan avslås.",
    }[outcome]
    service = SERVICES[code]
    c.add(
        "municipal_decision",
        (
            *head,
            legal_basis(code, day),
            code,
            c.person.place.code,
            applied,
            day,
            None if outcome == "avslag" else day,
            None if outcome == "avslag" else valid_to,
            None if extent is None or outcome == "avslag" else Decimal(extent),
            service.extent_unit if extent else None,
            outcome,
            officer.name,
            motivation,
        ),
    )
    return decision_id


def record_plan(c: Chart, service: Service, unit: Unit, day: date, decision_id: uuid.UUID) -> None:
    rng = c.rng
    profession = "undersköterska" if c.world.staff_at(unit, "undersköterska") else "sjuksköterska"
    staff = c.staff(unit, profession)
    written = day + timedelta(days=rng.randrange(10, 30))
    if written > c.end:
        return
    follow = written + timedelta(days=180)
    plan_id, head = c.header(unit, staff, at(written, 13))
    c.add("implementation_plan", (*head, decision_id, service.goal, follow))
    created = head[2]
    for position, (goal, what, when_how) in enumerate(service.activities, start=1):
        c.add(
            "plan_activity",
            (
                c.pid,
                c.new_id(),
                created,
                created,
                1,
                plan_id,
                position,
                goal,
                what,
                f"Kontaktman {staff.name}",
                when_how,
                follow,
            ),
        )


def write_municipal(c: Chart) -> int | None:
    """Insatser for those who need them; returns a PADL level for the functional status."""
    rng, age = c.rng, c.age()
    if c.conditions.keys() & LSS_CONDITIONS and age >= 3 and rng.random() < 0.85:
        _lss(c, age)
    if "schizofreni" in c.conditions and rng.random() < 0.5:
        decide(c, "SOL-BOENDESTOD", c.moment(c.window_start, c.end).date())
    if age < 65:
        return None
    dementia = bool(c.conditions.keys() & {"demens", "alzheimer"})
    if age >= 80:
        p_housing = (0.4 if dementia else 0.08) * (1.8 if age >= 90 else 1)
        p_home = 0.55 if dementia else (0.45 if age >= 90 else 0.25)
    else:
        p_housing, p_home = 0.01, 0.05
    roll = rng.random()
    if roll < p_housing:
        moved = c.end - timedelta(days=rng.randrange(30, 1500))
        home_from = moved - timedelta(days=rng.randrange(200, 900))
        decide(c, "SOL-HEMTJANST", home_from, stop=moved)
        decide(c, "SOL-TRYGGHETSLARM", home_from)
        decide(c, "SOL-SARSKILT-BOENDE", moved)
        _home_health(c, moved, every=(25, 45), unit_kind="special_housing")
        return 2 + (rng.random() < 0.5)
    if roll < p_housing + p_home:
        since = c.end - timedelta(days=rng.randrange(20, 1800))
        decide(c, "SOL-HEMTJANST", since)
        if rng.random() < 0.7:
            decide(c, "SOL-TRYGGHETSLARM", since + timedelta(days=rng.randrange(0, 200)))
        if rng.random() < 0.15:
            decide(c, "SOL-MATDISTRIBUTION", since + timedelta(days=rng.randrange(0, 300)))
        if dementia and rng.random() < 0.2:
            decide(c, "SOL-DAGVERKSAMHET", since + timedelta(days=rng.randrange(0, 300)))
        if rng.random() < 0.08:
            decide(c, "SOL-KORTTIDSBOENDE", since + timedelta(days=rng.randrange(0, 500)))
        if dementia or rng.random() < 0.3:
            _home_health(c, since, every=(40, 90), unit_kind="home_care")
        return 1 + (rng.random() < 0.4)
    if age >= 80 and rng.random() < 0.1:
        decide(c, "SOL-TRYGGHETSLARM", c.moment(c.window_start, c.end).date())
    return None


def _lss(c: Chart, age: int) -> None:
    rng = c.rng
    start = c.moment(
        max(c.window_start, c.person.birth_date + timedelta(days=3 * 365)), c.end
    ).date()
    if age < 18:
        options = ["LSS9-6", "LSS9-5", "LSS9-4"] + (["LSS9-7"] if age >= 13 else [])
    else:
        options = ["LSS9-10", "LSS9-9", "LSS9-3", "LSS9-4"] + (
            ["LSS9-2"] if "cp" in c.conditions else []
        )
    for code in options:
        if rng.random() < 0.5:
            decide(c, code, start + timedelta(days=rng.randrange(0, 200)))


def _home_health(c: Chart, since: date, *, every: tuple[int, int], unit_kind: str) -> None:
    """Kommunal hälso- och sjukvård: nurse visits with notes, the last two years at most."""
    rng = c.rng
    health = c.world.local[(c.person.place.code, "municipal_health")][0]
    nurse = c.staff(health, "sjuksköterska")
    day = max(since, c.end - timedelta(days=730)) + timedelta(days=rng.randrange(0, 30))
    while day <= c.end:
        when = at(day, rng.randrange(8, 16), rng.randrange(60))
        k = contact(
            c, health, nurse, when, "besok", "Hembesök, hälso- och sjukvård", status="avslutad"
        )
        text = rng.choice(HOME_NOTES)
        note(c, k, "Omvårdnadsanteckning", "Omvårdnad, kommunal hälso- och sjukvård", text)
        day += timedelta(days=rng.randrange(*every))
    if unit_kind == "special_housing":
        for year in range(max(since.year, c.end.year - 2), c.end.year + 1):
            give(
                c,
                "influensa",
                1,
                date(year, 10, 20) + timedelta(days=rng.randrange(0, 30)),
                health,
                nurse,
            )


HOME_NOTES = (
    "Läkemedelsgenomgång med dosettask, inga avvikelser. Blodtryck 134/78.",
    "Omläggning av bensår vänster underben, sårkanter lugna, ingen infektion.",
    "Patienten mår bra enligt egen uppgift. Aptit god, vikt stabil.",
    "Lätt förvirrad i dag, urinsticka negativ. Kontakt med läkare på vårdcentralen.",
    "Bedömning av trycksårsrisk enligt RAF, låg risk. Fortsatt lägesändring nattetid.",
)
