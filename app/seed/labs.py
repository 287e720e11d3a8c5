"""Laboratory analyses (NPU codes as used by Swedish labs) with adult reference intervals.

Reference intervals are typical Swedish ones, rounded; sex-specific where it matters.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Analysis:
    code: str
    name: str
    unit: str
    low: float | None  # reference interval, female
    high: float | None
    male_low: float | None  # male interval (same as female when None given below)
    male_high: float | None
    specimen: str
    decimals: int
    spread: float  # how far values typically wander, in units


def _a(
    code: str,
    name: str,
    unit: str,
    low: float | None,
    high: float | None,
    specimen: str,
    decimals: int,
    spread: float,
    male: tuple[float | None, float | None] | None = None,
) -> Analysis:
    m_low, m_high = male if male is not None else (low, high)
    return Analysis(code, name, unit, low, high, m_low, m_high, specimen, decimals, spread)


LABS: dict[str, Analysis] = {
    a.code: a
    for a in (
        _a("NPU28309", "B-Hemoglobin (Hb)", "g/L", 117, 153, "venblod", 0, 12, male=(134, 170)),
        _a("NPU02593", "B-Leukocyter (LPK)", "10*9/L", 3.5, 8.8, "venblod", 1, 2.0),
        _a("NPU03568", "B-Trombocyter (TPK)", "10*9/L", 165, 387, "venblod", 0, 60, (145, 348)),
        _a("NPU03429", "P-Natrium", "mmol/L", 137, 145, "plasma", 0, 2.5),
        _a("NPU03230", "P-Kalium", "mmol/L", 3.5, 4.6, "plasma", 1, 0.35),
        _a("NPU18016", "P-Kreatinin", "µmol/L", 45, 90, "plasma", 0, 14, male=(60, 105)),
        _a("NPU19748", "P-CRP", "mg/L", None, 5, "plasma", 0, 3),
        _a("NPU27300", "B-HbA1c (IFCC)", "mmol/mol", 27, 42, "venblod", 0, 5),
        _a("NPU02192", "P-Glukos", "mmol/L", 4.0, 6.0, "plasma", 1, 0.6),
        _a("NPU01566", "P-Kolesterol", "mmol/L", 3.3, 6.9, "plasma", 1, 0.7),
        _a("NPU01568", "P-LDL-kolesterol", "mmol/L", None, 3.0, "plasma", 1, 0.6),
        _a("NPU01685", "P-PK(INR)", "INR", 0.9, 1.2, "plasma", 1, 0.15),
        _a("NPU03577", "P-TSH", "mIE/L", 0.4, 4.0, "plasma", 2, 0.8),
        _a("NPU19651", "P-ALAT", "µkat/L", 0.15, 0.75, "plasma", 2, 0.15, (0.15, 1.1)),
    )
}

# Panels ordered together (one order id, several analyses).
PANELS: dict[str, tuple[str, ...]] = {
    "blodstatus": ("NPU28309", "NPU02593", "NPU03568"),
    "elstatus": ("NPU03429", "NPU03230", "NPU18016"),
    "infektion": ("NPU19748", "NPU02593"),
    "diabetes": ("NPU27300", "NPU18016", "NPU01568"),
    "lipider": ("NPU01566", "NPU01568"),
    "inr": ("NPU01685",),
    "tyreoidea": ("NPU03577",),
    "lever": ("NPU19651",),
    "akut": ("NPU28309", "NPU02593", "NPU19748", "NPU03429", "NPU03230", "NPU18016"),
}

# Text results: (system, code, name, specimen, normal text, abnormal text).
URINE_NITRITE = ("NPU", "NPU21578", "U-Nitrit (sticka)", "urin", "Negativ", "Positiv")
COVID_PCR = (
    "LOINC",
    "94500-6",
    "SARS-CoV-2 RNA (PCR)",
    "nasofarynxsekret",
    "Ej påvisad",
    "Påvisad",
)
