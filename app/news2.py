"""NEWS2 (National Early Warning Score 2, Royal College of Physicians 2017): the score of one
set of vital signs. The table is docs/vital-signs.md; each band below is one of its cells.

SpO2 scale 2 is for patients with hypercapnic respiratory failure whose prescribed target
saturation is 88-92 %: there, high saturations on oxygen score too.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class Consciousness(StrEnum):
    """ACVPU: alert, new confusion, responds to voice, to pain, unresponsive."""

    ALERT = "alert"
    NEW_CONFUSION = "new_confusion"
    VOICE = "voice"
    PAIN = "pain"
    UNRESPONSIVE = "unresponsive"


class News2Risk(StrEnum):
    """The clinical risk the score implies (and so the urgency of the response)."""

    LOW = "low"
    # Aggregate 0-4 but one parameter scores 3: an urgent ward-based response.
    LOW_MEDIUM = "low_medium"
    MEDIUM = "medium"
    HIGH = "high"


@dataclass(frozen=True, kw_only=True)
class VitalSigns:
    respiration_rate: int
    spo2: int
    hypercapnic_scale: bool
    supplemental_oxygen: bool
    systolic_bp: int
    pulse: int
    consciousness: Consciousness
    temperature: Decimal


@dataclass(frozen=True)
class News2:
    score: int
    risk: News2Risk
    # Each parameter's points, by name, for showing why the score is what it is.
    parts: dict[str, int]


def _respiration(rate: int) -> int:
    if rate <= 8:
        return 3
    if rate <= 11:
        return 1
    if rate <= 20:
        return 0
    if rate <= 24:
        return 2
    return 3


def _spo2_scale1(spo2: int) -> int:
    if spo2 <= 91:
        return 3
    if spo2 <= 93:
        return 2
    if spo2 <= 95:
        return 1
    return 0


def _spo2_scale2(spo2: int, oxygen: bool) -> int:
    if spo2 <= 83:
        return 3
    if spo2 <= 85:
        return 2
    if spo2 <= 87:
        return 1
    if spo2 <= 92 or not oxygen:
        return 0  # 88-92, or 93 and above on air
    if spo2 <= 94:
        return 1
    if spo2 <= 96:
        return 2
    return 3


def _systolic(bp: int) -> int:
    if bp <= 90:
        return 3
    if bp <= 100:
        return 2
    if bp <= 110:
        return 1
    if bp <= 219:
        return 0
    return 3


def _pulse(pulse: int) -> int:
    if pulse <= 40:
        return 3
    if pulse <= 50:
        return 1
    if pulse <= 90:
        return 0
    if pulse <= 110:
        return 1
    if pulse <= 130:
        return 2
    return 3


def _temperature(celsius: Decimal) -> int:
    if celsius <= Decimal("35.0"):
        return 3
    if celsius <= Decimal("36.0"):
        return 1
    if celsius <= Decimal("38.0"):
        return 0
    if celsius <= Decimal("39.0"):
        return 1
    return 2


def news2(signs: VitalSigns) -> News2:
    """The NEWS2 score and risk of one complete set of observations."""
    spo2 = (
        _spo2_scale2(signs.spo2, signs.supplemental_oxygen)
        if signs.hypercapnic_scale
        else _spo2_scale1(signs.spo2)
    )
    parts = {
        "respirationRate": _respiration(signs.respiration_rate),
        "spo2": spo2,
        "supplementalOxygen": 2 if signs.supplemental_oxygen else 0,
        "systolicBp": _systolic(signs.systolic_bp),
        "pulse": _pulse(signs.pulse),
        "consciousness": 0 if signs.consciousness is Consciousness.ALERT else 3,
        "temperature": _temperature(signs.temperature),
    }
    score = sum(parts.values())
    if score >= 7:
        risk = News2Risk.HIGH
    elif score >= 5:
        risk = News2Risk.MEDIUM
    elif max(parts.values()) == 3:
        risk = News2Risk.LOW_MEDIUM
    else:
        risk = News2Risk.LOW
    return News2(score, risk, parts)
