"""The demo story across the region-municipality boundary: Tolvan's signing list in home care
(his warfarin, signed by the district nurse) and the SIP his vårdcentral and home care share.
Written after the rest of the demo story, which it leaves as it was
(docs/sip-and-medication-administration.md)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from app.seed.administrations import DAYS, active_doses, sign
from app.seed.chart import Chart, at
from app.seed.demo import DEMO_CLINICIANS, DEMO_UNITS
from app.seed.sip import PlannedAction, Side, write_sip
from app.seed.tables import PATIENT_COLUMNS

_RX_DRUG = "drug_name"
# Tolvan takes his morning Enalapril himself (egenvård); the nurse signs it as such.
SELF_ADMINISTERED = frozenset({"Enalapril"})
# The one evening he said no to his Waran (two weeks before the demo's today).
REFUSED_DAYS_BACK = 9


def boundary_story(charts: dict[str, Chart]) -> None:
    tolvan_signing_list(charts["tolvan"])
    tolvan_sip(charts["tolvan"])


def tolvan_sip(c: Chart) -> None:
    """The SIP his vårdcentral convened with home care after his stay for pneumonia."""
    nurse = c.world.clinician(DEMO_CLINICIANS["home_care_nurse"].hsa_id)
    home_care = c.world.unit(DEMO_UNITS["home_care"].hsa_id)
    sides = (Side(c.home.vc, c.home.doctor), Side(home_care, nurse))
    write_sip(
        c,
        sides,
        c.end - timedelta(days=20),
        title="Hemgång efter vårdtillfälle för pneumoni",
        situation="Tolvan, 113 år, bor ensam med hemtjänst. Efter vårdtillfälle för pneumoni "
        "behöver han hjälp med läkemedel (Waran) och tillsyn morgon och kväll.",
        goals=("Bo kvar hemma tryggt", "Stabilt PK(INR) utan blödningar"),
        actions=(
            PlannedAction(0, "PK(INR) varannan vecka, dosering meddelas hemsjukvården", 2, 14),
            PlannedAction(1, "Waran överlämnas kvällstid och signeras", 2, 14),
            PlannedAction(1, "Hemtjänst morgon och kväll, trygghetslarm", 1, 60),
        ),
        people=(("Tolvan Tolvansson", "patient"), ("Karin Lindberg", "ombud (fullmakt)")),
    )


def tolvan_signing_list(c: Chart) -> None:
    unit = c.world.unit(DEMO_UNITS["home_care"].hsa_id)
    nurse = c.world.clinician(DEMO_CLINICIANS["home_care_nurse"].hsa_id)
    names = _drug_names(c)
    for back in range(DAYS, 0, -1):
        day = c.end - timedelta(days=back)
        for dose in active_doses(c):
            drug = names[dose.prescription_id]
            for hour in dose.hours:
                due = at(day, hour)
                if drug in SELF_ADMINISTERED:
                    sign(c, unit, nurse, dose, due, outcome="self_administered")
                elif drug == "Waran" and back == REFUSED_DAYS_BACK:
                    reason = "Patienten avböjde kvällsdosen, sjuksköterska informerad"
                    sign(c, unit, nurse, dose, due, outcome="not_given", reason=reason)
                else:
                    sign(c, unit, nurse, dose, due)


def _drug_names(c: Chart) -> dict[uuid.UUID, str]:
    columns = PATIENT_COLUMNS["prescription"]
    rid, name, patient = columns.index("id"), columns.index(_RX_DRUG), columns.index("patient_id")
    return {r[rid]: r[name] for r in c.rows.by_table["prescription"] if r[patient] == c.pid}
