"""The records of the demo people (app.seed.demo): made like everyone else's, plus what each
of them is there to show. A constant random seed keeps them identical in every database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from app.safety import BLOOD_GROUP_CODE_SYSTEM, BLOOD_GROUP_CODES
from app.seed import medication
from app.seed.alerts import alert, write_alerts, write_function
from app.seed.boundary import boundary_story
from app.seed.chart import Chart, Contact, Home, at
from app.seed.clinical import (
    CHRONIC_BY_KEY,
    contact,
    diagnose,
    labs,
    note,
    write_acute,
    write_history,
)
from app.seed.conditions import ACUTE
from app.seed.demo import DEMO_CLINICIANS, DEMO_PATIENTS, DEMO_PROVIDERS, DEMO_UNITS, STOCKHOLM
from app.seed.demo_discharge import tolvan_goes_home
from app.seed.dental import EXTRACT, HEALTHY, finding, treat, write_dental
from app.seed.drugs import DRUGS
from app.seed.municipal import HOME_NOTES, SERVICES, record_decision, record_plan
from app.seed.people import Person
from app.seed.places import MUNICIPALITIES
from app.seed.population import patient_row
from app.seed.rand import Rng
from app.seed.relations import block, consent, write_relationships
from app.seed.tables import Rows
from app.seed.vaccinations import give, write_vaccinations
from app.seed.vitals import weekly_at_home
from app.seed.world import Staff, Unit, World

DEMO_SEED = "vardkedja-demo-1"
HOUR = timedelta(hours=1)
ADDRESSES = {
    "tolvan": ("Tolvansgatan 12", "118 46"),
    "guardian": ("Ringvägen 40", "118 60"),
    "child": ("Ringvägen 40", "118 60"),
    "teen": ("Ringvägen 40", "118 60"),
    "outer_block": ("Hornsgatan 58", "118 49"),
    "inner_block": ("Katarina Bangata 21", "116 39"),
    "protected": ("Folkungagatan 77", "116 22"),
    "research": ("Åsögatan 140", "116 24"),
    "lss": ("Ringvägen 52", "118 63"),
}
CONDITIONS: dict[str, dict[str, date]] = {
    "tolvan": {
        "hypertoni": date(1995, 4, 1),
        "formaksflimmer": date(2019, 5, 14),
        "gonartros": date(2010, 1, 1),
    },
    "guardian": {"hypotyreos": date(2016, 9, 1)},
    "teen": {"astma": date(2017, 3, 1)},
    "outer_block": {"depression": date(2023, 2, 6)},
    "inner_block": {"depression": date(2022, 11, 3), "angest": date(2023, 5, 2)},
    "research": {"hypertoni": date(2014, 6, 1), "blodfetter": date(2018, 2, 1)},
    "lss": {"autism": date(2003, 5, 1)},
}
# Known hypersensitivities (ATC classes, app/safety.py), recorded as alerts below: nothing of
# these classes is ever prescribed to them.
ALLERGY_CLASSES = {"tolvan": ("J01C",)}
# The demo ER visit: (problem code, days before as_of).
ER_VISITS = {
    "tolvan": ("J18.9", 5),
    "guardian": ("S93.4", 40),
    "child": ("S52.5", 25),
    "teen": ("J45.9", 60),
    "outer_block": ("R07.4", 12),
    "inner_block": ("S93.4", 30),
    "protected": ("R10.4", 18),
    "research": ("R07.4", 9),
    "lss": ("R10.4", 50),
}


def demo_rows(world: World, as_of: date) -> Rows:
    rows = Rows()
    place = next(m for m in MUNICIPALITIES if m.code == STOCKHOLM)
    rng = Rng(DEMO_SEED)
    people: dict[str, Person] = {}
    for key, d in DEMO_PATIENTS.items():
        street, postal = ADDRESSES[key]
        people[key] = Person(
            rng.uuid4(),
            -1,
            "personnummer",
            d.personnummer,
            d.given_name,
            d.family_name,
            d.birth_date,
            d.sex,
            d.protected_identity,
            street,
            postal,
            place,
        )
        rows.by_table["patient"].append(patient_row(people[key]))
    _representatives(rows, people, rng)
    charts: dict[str, Chart] = {}
    for key, person in people.items():
        c = charts[key] = Chart(world, Rng(f"{DEMO_SEED}/{key}"), person, rows, as_of)
        c.home = _home(world, c, key)
        c.conditions.update(CONDITIONS.get(key, {}))
        c.allergy_classes.update(ALLERGY_CLASSES.get(key, ()))
        write_history(c)
        SPECIAL.get(key, _standard_medication)(c)
        write_alerts(c)
        write_vaccinations(c)
        write_dental(c)
        write_function(c, 1 if key == "tolvan" else None)
        _er_visit(c, key)
        if c.home.dental in c.seen:
            _attended(c, c.home.dental, _clinician(world, "dentist"))
        write_relationships(c)
    # The boundary story (app/seed/boundary.py) comes after the older story, which it leaves
    # as it was.
    boundary_story(charts)
    # Tolvan goes home from hospital (app/seed/demo_discharge.py), after that story too.
    tolvan_goes_home(charts["tolvan"])
    # Home care's weekly vital signs at Tolvan's (NEWS2, app/seed/vitals.py), after all that.
    tolvan = charts["tolvan"]
    weekly_at_home(
        tolvan,
        world.unit(DEMO_UNITS["home_care"].hsa_id),
        world.clinician(DEMO_CLINICIANS["home_care_nurse"].hsa_id),
    )
    return rows


def _home(world: World, c: Chart, key: str) -> Home:
    vc = world.unit(DEMO_UNITS["private_vc" if key == "outer_block" else "vc"].hsa_id)
    doctor = _clinician(world, "private_gp") if key == "outer_block" else c.staff(vc, "läkare")
    return Home(
        vc=vc,
        doctor=doctor,
        nurse=c.staff(vc, "sjuksköterska"),
        hospital=world.hospital_of[STOCKHOLM],
        dental=world.unit(DEMO_UNITS["dental"].hsa_id),
        pharmacies=[world.unit(DEMO_UNITS["pharmacy"].hsa_id)],
        kommun=world.provider(DEMO_PROVIDERS["kommun"].hsa_id),
        pharmacist=_clinician(world, "pharmacist"),
        dentist=_clinician(world, "dentist"),
    )


def _clinician(world: World, key: str) -> Staff:
    return world.clinician(DEMO_CLINICIANS[key].hsa_id)


def _unit(c: Chart, key: str) -> Unit:
    return c.world.unit(DEMO_UNITS[key].hsa_id)


def _attended(c: Chart, unit: Unit, staff: Staff) -> None:
    """Make `staff` the practitioner of the patient's care relationship at `unit`."""
    c.seen[unit].staff = staff


def _representatives(rows: Rows, people: dict[str, Person], rng: Rng) -> None:
    karin = people["guardian"]
    out = rows.by_table["representative"]
    for key in ("child", "teen"):
        child = people[key]
        adult_on = child.birth_date.replace(year=child.birth_date.year + 18)
        created = at(child.birth_date)
        out.append(
            (
                child.id,
                rng.uuid4(),
                created,
                created,
                1,
                karin.id,
                "guardian",
                child.birth_date,
                adult_on,
                None,
            )
        )
    since = date(2024, 1, 15)
    out.append(
        (
            people["tolvan"].id,
            rng.uuid4(),
            at(since),
            at(since),
            1,
            karin.id,
            "power_of_attorney",
            since,
            None,
            None,
        )
    )


def _er_visit(c: Chart, key: str) -> None:
    code, days_ago = ER_VISITS[key]
    problem = next(a for a in ACUTE if a.code == code)
    er, doctor = _unit(c, "er"), _clinician(c.world, "er_doctor")
    when = at(c.as_of - timedelta(days=days_ago), 14, 20)
    k = contact(c, er, doctor, when, "besok", problem.reason, minutes=200, status="avslutad")
    write_acute(c, k, problem, "Akutanteckning", prescribe=key != "tolvan")
    _attended(c, er, doctor)
    if key == "tolvan":
        _tolvan_admitted(c, k)


def _standard_medication(c: Chart) -> None:
    for key, onset in c.conditions.items():
        medication.chronic(c, CHRONIC_BY_KEY[key], onset)


def _tolvan(c: Chart) -> None:
    vc, doctor, nurse = c.home.vc, c.home.doctor, c.home.nurse
    medication.chain(c, DRUGS["warfarin"], date(2019, 5, 20), vc, doctor)
    medication.chain(c, DRUGS["enalapril"], date(1995, 4, 1), vc, doctor)
    medication.chain(c, DRUGS["paracetamol"], date(2012, 1, 1), vc, doctor)
    for months_ago in range(1, 12, 2):
        day = c.as_of - timedelta(days=30 * months_ago + 3)
        k = contact(c, vc, nurse, at(day, 9, 15), "besok", "AK-kontroll", status="avslutad")
        labs(c, k, ("inr",), ("warfarin",))
        note(
            c,
            k,
            "Besöksanteckning",
            "AK-mottagningen",
            "PK(INR) taget. Fortsatt Waran enligt doseringsschema, nästa kontroll om två månader.",
        )
    allergy = DRUGS["pcv"]
    alert(
        c,
        vc,
        doctor,
        "hypersensitivity",
        "Urtikaria och ansiktssvullnad efter penicillin 1998",
        agent=(allergy.npl_id, allergy.atc, "Penicillin"),
        severity="severe",
    )
    _tolvan_home_care(c)
    _tolvan_dental(c)
    er = _unit(c, "er")
    since = at(c.as_of - timedelta(days=5), 14)
    consent(c, "svod_access", since, unit=er)
    consent(c, "nll_access", since, unit=er, practitioner=_clinician(c.world, "er_doctor").id)


def _tolvan_home_care(c: Chart) -> None:
    home_care, health = _unit(c, "home_care"), _unit(c, "municipal_health")
    officer, nurse = _clinician(c.world, "case_officer"), _clinician(c.world, "home_care_nurse")
    periods = (
        (date(2023, 3, 1), date(2024, 3, 3), 8),
        (date(2024, 3, 4), date(2025, 3, 9), 12),
        (date(2025, 3, 10), date(2025, 9, 14), 14),
        (date(2025, 9, 15), None, 16),
    )
    for start, end, hours in periods:
        decision = record_decision(
            c, "SOL-HEMTJANST", home_care, officer, start, end, hours, "beviljad"
        )
        record_plan(c, SERVICES["SOL-HEMTJANST"], home_care, start, decision)
    record_decision(
        c, "SOL-TRYGGHETSLARM", home_care, officer, date(2023, 3, 1), None, None, "beviljad"
    )
    c.saw(home_care, at(date(2023, 3, 1), 10), nurse)
    # She visits every week: the home-care unit's care relationship is current, and Tolvan
    # consented to her unit reading the region's records and his whole medication list, which
    # she gives him (docs/care-situations.md).
    c.saw(home_care, at(c.as_of - timedelta(days=3), 10), nurse)
    _attended(c, home_care, nurse)
    since = at(date(2023, 3, 1), 11)
    consent(c, "svod_access", since, unit=home_care)
    consent(c, "nll_access", since, unit=home_care)
    day = c.as_of - timedelta(days=360)
    for i in range(12):
        when = at(day + timedelta(days=30 * i), 10, 30)
        k = contact(
            c, health, nurse, when, "besok", "Hembesök, hälso- och sjukvård", status="avslutad"
        )
        note(
            c,
            k,
            "Omvårdnadsanteckning",
            "Omvårdnad, kommunal hälso- och sjukvård",
            HOME_NOTES[i % len(HOME_NOTES)],
        )
    give(c, "influensa", 1, date(2025, 10, 20), health, nurse)


def _tolvan_dental(c: Chart) -> None:
    dental, dentist = _unit(c, "dental"), _clinician(c.world, "dentist")
    k = contact(
        c,
        dental,
        dentist,
        at(c.as_of - timedelta(days=50), 9),
        "besok",
        "Ont i en tand i underkäken",
        minutes=60,
        status="avslutad",
    )
    treat(c, k, HEALTHY, "101", None, None)
    treat(c, k, EXTRACT, "401", "36", None)
    finding(c, k, "36", "SAKNAS", None, k.start)
    note(
        c,
        k,
        "Tandvårdsanteckning",
        "Extraktion 36",
        "Patienten behandlas med Waran, PK(INR) 2,4 samma dag. Extraktion 36 under lokalbedövning, "
        "lokal hemostas med tranexamsyra. Muntliga och skriftliga instruktioner.",
    )
    _attended(c, dental, dentist)
    # Before the extraction Tolvan told the dentist she may read his medication list (NLL);
    # the dentist recorded the spoken consent for the clinic.
    consent(c, "nll_access", k.start - timedelta(minutes=5), unit=dental)


def _blood_group(c: Chart, k: Contact, group: str) -> None:
    """Blood grouping (AB0 and RhD) as a laboratory observation (app/safety.py)."""
    sampled = k.start + timedelta(minutes=25)
    _, head = c.header(k.unit, k.staff, sampled, contact=k, signed=False, author_delay=HOUR)
    order = f"LAB{sampled:%y%m%d}-{c.seq:05d}"
    code = next(iter(BLOOD_GROUP_CODES))
    row = (order, BLOOD_GROUP_CODE_SYSTEM, code, "AB0- och RhD-grupp", None, group)
    c.add("lab_result", (*head, *row, None, None, None, None, "venblod"))


def _tolvan_admitted(c: Chart, er_visit: Contact) -> None:
    _blood_group(c, er_visit, "A RhD positiv")
    ward = c.home.hospital.wards["medicin"]
    doctor = c.staff(ward, "läkare")
    start = (er_visit.end or er_visit.start) + timedelta(minutes=30)
    k = contact(c, ward, doctor, start, "vardtillfalle", "Lunginflammation", status="pagaende")
    note(
        c,
        k,
        "Inskrivningsanteckning",
        f"Inskrivning, {ward.name}",
        "Inläggs för pneumoni. Waranbehandlad, penicillinallergi: doxycyklin i stället.",
    )
    diagnose(c, k, "J18.9", "Pneumoni, ospecificerad")
    medication.acute(c, "doxycyklin", k)


def _children(c: Chart) -> None:
    _standard_medication(c)
    dental, dentist = _unit(c, "dental"), _clinician(c.world, "dentist")
    when = at(c.as_of - timedelta(days=120), 9, 30)
    k = contact(c, dental, dentist, when, "besok", "Regelbunden undersökning", status="avslutad")
    treat(c, k, HEALTHY, "101", None, None)
    if c.person.identifier == DEMO_PATIENTS["child"].personnummer:
        otitis = next(a for a in ACUTE if a.code == "H66.9")
        k = contact(
            c,
            c.home.vc,
            c.home.doctor,
            at(date(2025, 2, 11), 10),
            "besok",
            otitis.reason,
            status="avslutad",
        )
        write_acute(c, k, otitis, "Besöksanteckning")


def _outer_block(c: Chart) -> None:
    gp, vc = _clinician(c.world, "private_gp"), c.home.vc
    medication.chain(c, DRUGS["sertralin"], date(2023, 2, 6), vc, gp)
    for day in (date(2023, 2, 6), date(2023, 5, 8), date(2024, 1, 15)):
        k = contact(c, vc, gp, at(day, 9, 40), "besok", "Nedstämd och orkeslös", status="avslutad")
        note(
            c,
            k,
            "Besöksanteckning",
            "Besöksanteckning, depression",
            "Nedstämdhet sedan skilsmässan, sömnstörning. PHQ-9 16. Sertralin insatt, "
            "samtalskontakt via kurator. Ingen suicidrisk.",
        )
        diagnose(c, k, "F32.9", "Depressiv episod, ospecificerad")
    _attended(c, vc, gp)
    block(c, "outer", vc, at(date(2024, 5, 2), 11))
    consent(c, "svod_access", at(c.as_of - timedelta(days=12), 14), unit=_unit(c, "er"))


def _inner_block(c: Chart) -> None:
    psych, doctor = _unit(c, "psych"), _clinician(c.world, "psych_doctor")
    medication.chain(c, DRUGS["sertralin"], date(2022, 11, 3), psych, doctor)
    for day in (date(2022, 11, 3), date(2023, 5, 2), date(2024, 2, 19), date(2025, 6, 9)):
        k = contact(
            c, psych, doctor, at(day, 13, 10), "besok", "Återbesök psykiatri", status="avslutad"
        )
        note(
            c,
            k,
            "Besöksanteckning",
            "Psykiatrisk mottagning",
            "Återkommande depressiva episoder och ångest. Mående förbättrat, fortsatt sertralin "
            "och KBT.",
        )
        diagnose(c, k, "F32.9", "Depressiv episod, ospecificerad")
        diagnose(c, k, "F41.1", "Generaliserat ångestsyndrom", main=False)
    _attended(c, psych, doctor)
    bid = block(
        c,
        "inner",
        psych,
        at(date(2024, 2, 20), 9),
        period=(at(date(2022, 1, 1)), None),
        except_medication=True,
    )
    consent(
        c,
        "block_lift",
        at(date(2025, 2, 1), 9),
        unit=c.home.vc,
        block=bid,
        until=at(date(2025, 2, 15), 9),
    )


def _research(c: Chart) -> None:
    _standard_medication(c)
    consent(c, "research", at(date(2024, 11, 5), 10), study=c.world.study_ids[0])


def _lss(c: Chart) -> None:
    lss, officer = _unit(c, "lss"), _clinician(c.world, "case_officer")
    for code, start, extent in (
        ("LSS9-10", date(2022, 8, 15), 5),
        ("LSS9-9", date(2023, 1, 10), None),
    ):
        decision = record_decision(c, code, lss, officer, start, None, extent, "beviljad")
        record_plan(c, SERVICES[code], lss, start, decision)
    record_decision(c, "LSS9-3", lss, officer, date(2024, 4, 2), None, None, "avslag")
    c.saw(lss, at(date(2022, 8, 15), 10), None)


SPECIAL: dict[str, Callable[[Chart], None]] = {
    "tolvan": _tolvan,
    "child": _children,
    "teen": _children,
    "outer_block": _outer_block,
    "inner_block": _inner_block,
    "research": _research,
    "lss": _lss,
}
