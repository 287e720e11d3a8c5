"""NEWS2 scoring against the chart of the Royal College of Physicians (docs/vital-signs.md)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from app.news2 import Consciousness, News2Risk, VitalSigns, news2

# All parameters in the 0-point band.
NORMAL = VitalSigns(
    respiration_rate=16,
    spo2=97,
    hypercapnic_scale=False,
    supplemental_oxygen=False,
    systolic_bp=120,
    pulse=70,
    consciousness=Consciousness.ALERT,
    temperature=Decimal("37.0"),
)


def points(**change: object) -> int:
    return news2(replace(NORMAL, **change)).score  # type: ignore[arg-type]


def test_a_normal_set_scores_nothing() -> None:
    result = news2(NORMAL)
    assert (result.score, result.risk) == (0, News2Risk.LOW)
    assert set(result.parts.values()) == {0}


# Every band edge of the chart: (parameter, value, points).
EDGES = [
    ("respiration_rate", 8, 3), ("respiration_rate", 9, 1), ("respiration_rate", 11, 1),
    ("respiration_rate", 12, 0), ("respiration_rate", 20, 0), ("respiration_rate", 21, 2),
    ("respiration_rate", 24, 2), ("respiration_rate", 25, 3),
    ("spo2", 91, 3), ("spo2", 92, 2), ("spo2", 93, 2), ("spo2", 94, 1), ("spo2", 95, 1),
    ("spo2", 96, 0),
    ("systolic_bp", 90, 3), ("systolic_bp", 91, 2), ("systolic_bp", 100, 2),
    ("systolic_bp", 101, 1), ("systolic_bp", 110, 1), ("systolic_bp", 111, 0),
    ("systolic_bp", 219, 0), ("systolic_bp", 220, 3),
    ("pulse", 40, 3), ("pulse", 41, 1), ("pulse", 50, 1), ("pulse", 51, 0), ("pulse", 90, 0),
    ("pulse", 91, 1), ("pulse", 110, 1), ("pulse", 111, 2), ("pulse", 130, 2), ("pulse", 131, 3),
    ("temperature", Decimal("35.0"), 3), ("temperature", Decimal("35.1"), 1),
    ("temperature", Decimal("36.0"), 1), ("temperature", Decimal("36.1"), 0),
    ("temperature", Decimal("38.0"), 0), ("temperature", Decimal("38.1"), 1),
    ("temperature", Decimal("39.0"), 1), ("temperature", Decimal("39.1"), 2),
    ("consciousness", Consciousness.NEW_CONFUSION, 3), ("consciousness", Consciousness.VOICE, 3),
    ("consciousness", Consciousness.PAIN, 3), ("consciousness", Consciousness.UNRESPONSIVE, 3),
    ("supplemental_oxygen", True, 2),
]  # fmt: skip


@pytest.mark.parametrize(("name", "value", "expected"), EDGES)
def test_band_edges(name: str, value: object, expected: int) -> None:
    assert points(**{name: value}) == expected


# Scale 2 (hypercapnic): (spo2, on oxygen, points for SpO2 alone).
SCALE_2 = [
    (83, False, 3), (84, False, 2), (85, False, 2), (86, False, 1), (87, False, 1),
    (88, False, 0), (92, False, 0), (93, False, 0), (99, False, 0),
    (88, True, 0), (92, True, 0), (93, True, 1), (94, True, 1), (95, True, 2), (96, True, 2),
    (97, True, 3), (100, True, 3),
]  # fmt: skip


@pytest.mark.parametrize(("spo2", "oxygen", "expected"), SCALE_2)
def test_scale_2(spo2: int, oxygen: bool, expected: int) -> None:
    result = news2(replace(NORMAL, spo2=spo2, supplemental_oxygen=oxygen, hypercapnic_scale=True))
    assert result.parts["spo2"] == expected
    assert result.score == expected + (2 if oxygen else 0)


def test_risk_bands() -> None:
    # One parameter at 3, aggregate below 5: low-medium (urgent ward-based response).
    assert news2(replace(NORMAL, respiration_rate=26)).risk is News2Risk.LOW_MEDIUM
    # 4 without any 3: low.
    four = replace(NORMAL, respiration_rate=22, supplemental_oxygen=True)
    assert (news2(four).score, news2(four).risk) == (4, News2Risk.LOW)
    five = replace(four, pulse=95)
    assert (news2(five).score, news2(five).risk) == (5, News2Risk.MEDIUM)
    six = replace(five, pulse=115)
    assert (news2(six).score, news2(six).risk) == (6, News2Risk.MEDIUM)
    seven = replace(six, temperature=Decimal("38.5"))
    assert (news2(seven).score, news2(seven).risk) == (7, News2Risk.HIGH)


def test_a_septic_patient() -> None:
    # RR 24 (2), SpO2 92 on oxygen (2 + 2), BP 88 (3), pulse 125 (2), new confusion (3),
    # 39.4 degrees (2): 16, high.
    septic = VitalSigns(
        respiration_rate=24,
        spo2=92,
        hypercapnic_scale=False,
        supplemental_oxygen=True,
        systolic_bp=88,
        pulse=125,
        consciousness=Consciousness.NEW_CONFUSION,
        temperature=Decimal("39.4"),
    )
    result = news2(septic)
    assert (result.score, result.risk) == (16, News2Risk.HIGH)
    assert result.parts == {
        "respirationRate": 2,
        "spo2": 2,
        "supplementalOxygen": 2,
        "systolicBp": 3,
        "pulse": 2,
        "consciousness": 3,
        "temperature": 2,
    }
