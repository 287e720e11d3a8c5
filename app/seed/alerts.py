"""Uppmärksamhetsinformation and functional status."""

from __future__ import annotations

from datetime import timedelta

from app.safety import drug_class
from app.seed.chart import Chart, at
from app.seed.conditions import (
    ALLERGIES,
    COMMUNICABLE,
    LSS_CONDITIONS,
    RESTRICTIONS,
    SERIOUS_DISEASES,
    UNSTRUCTURED,
)
from app.seed.drugs import ANTICOAGULANTS, DRUGS
from app.seed.world import Staff, Unit

SEVERITIES = ("mild", "moderate", "severe", "life_threatening")
SEVERITY_WEIGHTS = (30, 45, 20, 5)
ALLERGY_WEIGHTS = (50, 15, 10, 15, 10)
# The allergy of a patient whose drawn drug allergy would contradict their prescriptions.
NON_DRUG_ALLERGY = next(a for a in ALLERGIES if a[0] is None)

PADL = (
    "Självständig i alla personliga aktiviteter.",
    "Behöver hjälp med dusch och påklädning. Äter och förflyttar sig själv med rollator.",
    "Behöver hjälp med de flesta personliga aktiviteter, förflyttning med stöd av en person.",
    "Beroende av hjälp i alla personliga aktiviteter, förflyttning med taklyft.",
)
DISABILITIES = {
    "autism": ("b122", "Nedsatta psykosociala funktioner, behöver förutsägbarhet och bildstöd."),
    "utvecklingsstorning": ("b117", "Nedsatta intellektuella funktioner, behöver stöd i vardagen."),
    "cp": ("b735", "Ökad muskeltonus i benen, går med rollator kortare sträckor."),
    "down": ("b117", "Lindrigt nedsatta intellektuella funktioner."),
    "demens": ("b144", "Nedsatt närminne, behöver påminnelser om mat och mediciner."),
    "alzheimer": ("b144", "Nedsatt minnesfunktion och orienteringsförmåga."),
}
SENSES = (("b230", "Nedsatt hörsel, använder hörapparat."), ("b210", "Nedsatt syn, grå starr."))


def alert(
    c: Chart,
    unit: Unit,
    staff: Staff,
    kind: str,
    description: str,
    *,
    agent: tuple[str | None, str | None, str | None] = (None, None, None),
    severity: str | None = None,
    condition: str | None = None,
) -> None:
    when = c.moment(c.window_start, c.end)
    _, head = c.header(unit, staff, when)
    c.add("alert", (*head, kind, description, when.date(), None, *agent, severity, condition, None))


def write_alerts(c: Chart) -> None:
    rng, vc, doctor = c.rng, c.home.vc, c.home.doctor
    if rng.random() < 0.06:
        key, text, atc, description = rng.choices(ALLERGIES, ALLERGY_WEIGHTS)[0]
        if _prescribed_class(c, atc):
            # Nobody was prescribed a drug of a class they are known to react to: this
            # patient's allergy is to something else.
            key, text, atc, description = NON_DRUG_ALLERGY
        npl = DRUGS[key].npl_id if key else None
        severity = rng.choices(SEVERITIES, SEVERITY_WEIGHTS)[0]
        alert(
            c,
            vc,
            doctor,
            "hypersensitivity",
            description,
            agent=(npl, atc, text),
            severity=severity,
        )
    used = c.drugs.intersection(ANTICOAGULANTS)
    if used:
        names = ", ".join(sorted(DRUGS[k].name for k in used))
        alert(
            c, vc, doctor, "treatment", f"Behandling med antikoagulantia ({names}): blödningsrisk"
        )
    if "diabetes1" in c.conditions:
        alert(
            c, vc, doctor, "serious_disease", "Insulinbehandlad diabetes typ 1", condition="E10.9"
        )
    if rng.random() < 0.004:
        code, text = rng.choice(SERIOUS_DISEASES)
        alert(c, vc, doctor, "serious_disease", text, condition=code)
    if rng.random() < 0.003:
        code, text = rng.choice(COMMUNICABLE)
        alert(c, vc, doctor, "communicable_disease", text, condition=code)
    if (c.age() >= 90 and rng.random() < 0.2) or rng.random() < 0.002:
        text = RESTRICTIONS[1] if c.age() >= 90 else rng.choice(RESTRICTIONS)
        alert(c, vc, doctor, "restriction_of_care", text)
    if rng.random() < 0.005:
        alert(c, vc, doctor, "unstructured", rng.choice(UNSTRUCTURED))


def _prescribed_class(c: Chart, atc: str | None) -> bool:
    found = drug_class(atc)
    return found is not None and any(drug_class(DRUGS[k].atc) == found for k in c.drugs)


def write_function(c: Chart, padl_level: int | None = None) -> None:
    """Disabilities (ICF) for those who have one; PADL for old people in municipal care."""
    rng = c.rng
    health = c.world.local[(c.person.place.code, "municipal_health")][0]
    for key in c.conditions:
        if key in DISABILITIES and (key in LSS_CONDITIONS or rng.random() < 0.5):
            icf, text = DISABILITIES[key]
            unit, staff = (
                (health, c.staff(health, "arbetsterapeut"))
                if c.age() >= 65
                else (c.home.vc, c.home.doctor)
            )
            when = c.moment(max(c.window_start, c.conditions[key]), c.end)
            _, head = c.header(unit, staff, when)
            c.add("functional_status", (*head, "funktionsnedsattning", icf, text))
    if c.age() >= 80 and rng.random() < 0.1:
        icf, text = rng.choice(SENSES)
        _, head = c.header(c.home.vc, c.home.nurse, c.moment(c.window_start, c.end))
        c.add("functional_status", (*head, "funktionsnedsattning", icf, text))
    if padl_level is not None:
        therapist = c.staff(health, "arbetsterapeut")
        when = at(c.end - timedelta(days=rng.randrange(20, 300)), 10)
        _, head = c.header(health, therapist, when)
        c.add("functional_status", (*head, "padl", None, PADL[min(padl_level, 3)]))
