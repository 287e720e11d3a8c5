"""Years of care: contacts, notes, diagnoses, lab results and referral answers."""

from __future__ import annotations

from bisect import bisect
from datetime import datetime, timedelta
from itertools import accumulate

from app.seed import medication
from app.seed.chart import Chart, Contact, at
from app.seed.conditions import ACUTE, CHRONIC, Acute, Chronic
from app.seed.labs import COVID_PCR, URINE_NITRITE
from app.seed.labs_values import SHIFTS, panel, value_of
from app.seed.world import Staff, Unit

# (up to age, contacts per year)
CONTACT_RATE = ((5, 2.2), (17, 0.9), (44, 1.1), (64, 1.7), (79, 2.6), (200, 4.0))
INFECTIONS = frozenset({"J02.9", "J18.9", "A46", "N39.0", "H66.9"})
CHRONIC_BY_KEY = {c.key: c for c in CHRONIC}
# How a note names the patient: (child, adult) by the sex in the population register.
WHO = {
    "male": ("pojke", "man"),
    "female": ("flicka", "kvinna"),
    "other": ("barn", "person"),
    "unknown": ("barn", "person"),
}


def _acute_table() -> list[tuple[tuple[Acute, ...], list[float]]]:
    table = []
    for age in range(121):
        fits = tuple(a for a in ACUTE if a.ages[0] <= age <= a.ages[1])
        table.append((fits, list(accumulate(a.weight for a in fits))))
    return table


ACUTE_BY_AGE = _acute_table()


def band_probability(
    bands: tuple[tuple[int, int, float, float], ...], age: int, male: bool
) -> float:
    for low, high, female_p, male_p in bands:
        if low <= age <= high:
            return male_p if male else female_p
    return 0.0


def choose_conditions(c: Chart) -> None:
    age, male, rng = c.age(), c.person.sex == "male", c.rng
    for cond in CHRONIC:
        p = band_probability(cond.bands, age, male)
        if p and rng.random() < p:
            earliest = max(cond.bands[0][0], 0)
            years_back = rng.uniform(0, min(max(age - earliest, 0), 15))
            c.conditions[cond.key] = max(
                c.end - timedelta(days=int(years_back * 365)), c.person.birth_date
            )


def write_history(c: Chart) -> None:
    """Contacts over the last five years, each with what it produced."""
    rng, age = c.rng, c.age()
    rate = next(r for limit, r in CONTACT_RATE if age <= limit)
    years = (c.end - c.window_start).days / 365.25
    count = int(rate * years * rng.uniform(0.5, 1.5) + rng.random())
    for key, onset in c.conditions.items():
        if onset >= c.window_start:
            follow_up(c, CHRONIC_BY_KEY[key], c.moment(onset, onset), first=True)
    for _ in range(count):
        when = c.moment(c.window_start, c.end)
        if c.conditions and rng.random() < 0.45:
            key = rng.choice(list(c.conditions))
            if c.conditions[key] <= when.date():
                follow_up(c, CHRONIC_BY_KEY[key], when)
                continue
        acute(c, when)
    if c.person.deceased_on is None and c.conditions and rng.random() < 0.5:
        booked = c.moment(c.as_of + timedelta(days=1), c.as_of + timedelta(days=60))
        contact(
            c, c.home.vc, c.home.doctor, booked, "besok", "Planerad kontroll", status="ej_paborjad"
        )
    if age >= 80 and c.person.deceased_on is None and rng.random() < 0.01:
        start = c.moment(c.as_of - timedelta(days=6), c.as_of - timedelta(days=1))
        problem = next(a for a in ACUTE if a.code == "J18.9" and a.setting == "stay")
        stay(c, problem, start, ongoing=True)


def contact(
    c: Chart,
    unit: Unit,
    staff: Staff,
    start: datetime,
    kind: str,
    reason: str,
    *,
    minutes: int = 30,
    status: str | None = None,
    end: datetime | None = None,
) -> Contact:
    if status is None:
        roll = c.rng.random()
        status = "installd" if roll < 0.03 else "avbruten" if roll < 0.04 else "avslutad"
    if status in ("avslutad", "avbruten") and end is None:
        end = start + timedelta(minutes=minutes)
    if status in ("ej_paborjad", "installd", "pagaende"):
        end = None
    cid, head = c.header(unit, staff, start, author_delay=timedelta(minutes=5))
    c.add("care_contact", (*head, kind, reason, end, status))
    made = Contact(cid, unit, staff, start, end, status)
    c.contacts.append(made)
    if status != "ej_paborjad":
        c.saw(unit, start, staff)
    return made


def note(
    c: Chart, k: Contact, doc_type: str, title: str, text: str, when: datetime | None = None
) -> None:
    recent = (c.end_time - k.start).days < 7
    signed = not (recent and c.rng.random() < 0.5) and c.rng.random() > 0.01
    approved = c.rng.random() > (0.1 if k.unit.specialty == "psykiatri" else 0.02)
    _, head = c.header(
        k.unit, k.staff, when or k.start, contact=k, signed=signed, approved=approved
    )
    c.add("care_document", (*head, doc_type, title, text))


def diagnose(c: Chart, k: Contact, code: str, display: str, main: bool = True) -> None:
    _, head = c.header(k.unit, k.staff, k.start + timedelta(minutes=20), contact=k)
    c.add("diagnosis", (*head, code, display, "huvuddiagnos" if main else "bidiagnos"))


def journal_text(
    c: Chart, k: Contact, reason: str, history: str, status: str, assessment: str, plan: str
) -> str:
    age = c.age(k.start.date())
    words = WHO[c.person.sex]
    who = words[0] if age < 18 else words[1]
    return (
        f"Kontaktorsak: {reason}.\nAktuellt: {age}-årig {who}. {history}\nStatus: {status}\n"
        f"Bedömning: {assessment}\nÅtgärd: {plan}"
    )


def labs(c: Chart, k: Contact, panels: tuple[str, ...], extra: tuple[str, ...] = ()) -> None:
    rng, male = c.rng, c.person.sex == "male"
    shifts = [SHIFTS[key] for key in (*c.conditions, *extra) if key in SHIFTS]
    sampled = k.start + timedelta(minutes=rng.randrange(10, 90))
    order = f"LAB{sampled:%y%m%d}-{c.seq:05d}"
    answered = timedelta(hours=rng.randrange(2, 20))
    for name in panels:
        for a in panel(name):
            value, interpretation, low, high = value_of(a, male, shifts, rng.gauss(0, 1))
            _, head = c.header(
                k.unit, k.staff, sampled, contact=k, signed=False, author_delay=answered
            )
            c.add(
                "lab_result",
                (
                    *head,
                    order,
                    "NPU",
                    a.code,
                    a.name,
                    value,
                    None,
                    a.unit,
                    interpretation,
                    low,
                    high,
                    a.specimen,
                ),
            )


def text_lab(
    c: Chart, k: Contact, which: tuple[str, str, str, str, str, str], positive: bool
) -> None:
    system, code, name, specimen, normal, abnormal = which
    _, head = c.header(
        k.unit,
        k.staff,
        k.start,
        contact=k,
        signed=False,
        author_delay=timedelta(hours=c.rng.randrange(3, 30)),
    )
    text, interpretation = (abnormal, "abnormal") if positive else (normal, "normal")
    c.add(
        "lab_result",
        (
            *head,
            f"MIK{k.start:%y%m%d}-{c.seq:05d}",
            system,
            code,
            name,
            None,
            text,
            None,
            interpretation,
            None,
            None,
            specimen,
        ),
    )


def follow_up(c: Chart, cond: Chronic, when: datetime, *, first: bool = False) -> None:
    rng, h = c.rng, c.home
    if cond.clinic == "primary" or (not first and rng.random() < 0.5):
        unit, staff = h.vc, (h.doctor if rng.random() < 0.8 else h.nurse)
    else:
        unit = h.hospital.clinics[cond.clinic]
        staff = c.staff(unit, "läkare")
    kind = "besok"
    roll = rng.random()
    if roll < 0.15:
        kind = "telefon"
    elif roll < 0.2:
        kind = "annan"
    elif unit.kind == "specialist" and roll < 0.3:
        kind = "dagsjukvard"
    reason = cond.follow_up if not first else f"Nybesök: {cond.display.lower()}"
    k = contact(c, unit, staff, when, kind, reason, minutes=30 if kind != "dagsjukvard" else 240)
    if k.status == "installd":
        return
    doc_type = {"telefon": "Telefonanteckning", "annan": "Videobesök"}.get(kind, "Besöksanteckning")
    text = journal_text(
        c,
        k,
        reason,
        "Känd sedan tidigare." if not first else "Nydebuterade besvär.",
        "Allmäntillstånd gott.",
        cond.assessment,
        "Fortsatt behandling, ny kontroll om ett år.",
    )
    note(c, k, doc_type, f"{doc_type}, {cond.display}", text)
    if staff.profession == "läkare":
        diagnose(c, k, cond.code, cond.display)
        others = [key for key in c.conditions if key != cond.key]
        if others and rng.random() < 0.3:
            other = CHRONIC_BY_KEY[rng.choice(others)]
            diagnose(c, k, other.code, other.display, main=False)
    if cond.panels and rng.random() < 0.7:
        labs(c, k, cond.panels)
    if unit.kind == "specialist" and first:
        referral_answer(c, k, cond.display, cond.assessment)


def acute(c: Chart, when: datetime) -> None:
    fits, cum = ACUTE_BY_AGE[min(c.age(when.date()), 120)]
    problem = fits[bisect(cum, c.rng.random() * cum[-1])]
    h = c.home
    if problem.setting == "stay":
        stay(c, problem, when)
        return
    if problem.setting == "er":
        hour_start = c.rng.randrange(0, 24)
        when = at(when.date(), hour_start, c.rng.randrange(60))
        unit = h.hospital.emergency
        staff = c.staff(unit, "läkare")
        k = contact(c, unit, staff, when, "besok", problem.reason, minutes=c.rng.randrange(90, 400))
        doc_type = "Akutanteckning"
    elif problem.setting == "phone":
        k = contact(c, h.vc, h.nurse, when, "telefon", problem.reason, minutes=10)
        doc_type = "Telefonanteckning"
    else:
        staff = h.doctor if c.rng.random() < 0.85 else c.staff(h.vc, "läkare")
        k = contact(c, h.vc, staff, when, "besok", problem.reason)
        doc_type = "Besöksanteckning"
    write_acute(c, k, problem, doc_type)


def write_acute(
    c: Chart, k: Contact, problem: Acute, doc_type: str, *, prescribe: bool = True
) -> None:
    if k.status == "installd":
        return
    if k.status == "avbruten":
        note(
            c,
            k,
            doc_type,
            f"{doc_type}, avbruten",
            f"Kontaktorsak: {problem.reason}.\nPatienten avvek innan bedömning var klar.",
        )
        return
    text = journal_text(
        c,
        k,
        problem.reason,
        problem.history,
        problem.status,
        f"{problem.display} ({problem.code}).",
        problem.plan,
    )
    note(c, k, doc_type, f"{doc_type}, {problem.display}", text)
    if k.staff.profession == "läkare":
        diagnose(c, k, problem.code, problem.display)
    extra = ("infection",) if problem.code in INFECTIONS else ()
    if problem.panel:
        labs(c, k, (problem.panel,), extra)
    if problem.text_result == "nitrit":
        text_lab(c, k, URINE_NITRITE, positive=True)
    elif problem.text_result == "covid":
        text_lab(c, k, COVID_PCR, positive=True)
    if prescribe and problem.drugs:
        medication.acute(c, problem.drugs[0], k)


def stay(c: Chart, problem: Acute, start: datetime, *, ongoing: bool = False) -> None:
    """An emergency visit followed by a hospital stay (vårdtillfälle)."""
    rng, hospital = c.rng, c.home.hospital
    er_doctor = c.staff(hospital.emergency, "läkare")
    er = contact(
        c,
        hospital.emergency,
        er_doctor,
        start,
        "besok",
        problem.reason,
        minutes=rng.randrange(120, 360),
        status="avslutad",
    )
    write_acute(c, er, problem, "Akutanteckning", prescribe=False)
    ward = hospital.wards["ortopedi" if problem.code.startswith("S") else "medicin"]
    doctor = c.staff(ward, "läkare")
    admitted = er.end or start
    leaves = admitted + timedelta(days=rng.randrange(2, 10), hours=rng.randrange(0, 6))
    ongoing = ongoing or leaves > c.end_time
    k = contact(
        c,
        ward,
        doctor,
        admitted,
        "vardtillfalle",
        problem.reason,
        end=None if ongoing else leaves,
        status="pagaende" if ongoing else "avslutad",
    )
    note(
        c,
        k,
        "Inskrivningsanteckning",
        f"Inskrivning, {ward.name}",
        journal_text(
            c,
            k,
            problem.reason,
            problem.history,
            problem.status,
            f"{problem.display} ({problem.code}).",
            "Inläggning för observation och behandling.",
        ),
    )
    if ongoing:
        diagnose(c, k, problem.code, problem.display)
        return
    note(
        c,
        k,
        "Epikris",
        f"Epikris, {ward.name}",
        f"Vårdtid {admitted:%Y-%m-%d} till {leaves:%Y-%m-%d}.\nDiagnos: {problem.display} "
        f"({problem.code}).\nFörlopp: {problem.plan}\nUppföljning: återbesök på vårdcentralen.",
        when=leaves,
    )
    diagnose(c, k, problem.code, problem.display)
    for key in list(c.conditions)[:2]:
        cond = CHRONIC_BY_KEY[key]
        diagnose(c, k, cond.code, cond.display, main=False)
    for key in problem.drugs[:1]:
        medication.acute(c, key, k)


def referral_answer(c: Chart, k: Contact, about: str, assessment: str) -> None:
    sent_by = c.home.doctor
    final = c.rng.random() < 0.85
    _, head = c.header(
        k.unit, k.staff, k.start, contact=k, author_delay=timedelta(days=c.rng.randrange(1, 5))
    )
    text = (
        f"Tack för remissen angående {about.lower()}. Patienten undersökt på mottagningen. "
        f"{assessment} "
        + (
            "Återremitteras till vårdcentralen för fortsatt uppföljning."
            if final
            else "Preliminärt svar, kompletterande utredning pågår."
        )
    )
    c.add(
        "referral_outcome",
        (
            *head,
            "slutsvar" if final else "svar",
            text,
            f"REM{k.start - timedelta(days=30):%Y%m%d}-{c.seq:05d}",
            f"Bedömning av {about.lower()}",
            sent_by.name,
        ),
    )
