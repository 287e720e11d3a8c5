"""Laboratory values: mostly normal, shifted by the patient's conditions and the problem."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from app.seed.labs import LABS, PANELS, Analysis

# Condition or situation -> analysis code -> (mean, standard deviation).
SHIFTS: dict[str, dict[str, tuple[float, float]]] = {
    "diabetes2": {"NPU27300": (56, 9), "NPU02192": (8.4, 2.0)},
    "diabetes1": {"NPU27300": (62, 10), "NPU02192": (9.5, 3.0)},
    "warfarin": {"NPU01685": (2.5, 0.4)},
    "infection": {"NPU19748": (70, 45), "NPU02593": (12.5, 3.0)},
    "hypotyreos": {"NPU03577": (3.2, 1.8)},
    "blodfetter": {"NPU01568": (2.7, 0.6), "NPU01566": (5.2, 0.8)},
    "hjartsvikt": {"NPU18016": (118, 28), "NPU03429": (136, 3)},
    "schizofreni": {"NPU19651": (0.7, 0.3)},
}
CRITICAL = {
    "NPU03230": (2.8, 6.0),
    "NPU03429": (125, 155),
    "NPU28309": (80, 200),
    "NPU01685": (0, 4.5),
}


@lru_cache(maxsize=256)
def _reference(code: str, male: bool) -> tuple[Decimal | None, Decimal | None, float, float]:
    a = LABS[code]
    low, high = (a.male_low, a.male_high) if male else (a.low, a.high)
    mean = (low + high) / 2 if low is not None and high is not None else (high or 1) * 0.4
    return _dec(low, a.decimals), _dec(high, a.decimals), mean, a.spread


def _dec(value: float | None, decimals: int) -> Decimal | None:
    return None if value is None else Decimal(f"{value:.{decimals}f}")


def value_of(
    a: Analysis, male: bool, shifts: list[dict[str, tuple[float, float]]], gauss: float
) -> tuple[Decimal, str, Decimal | None, Decimal | None]:
    """(value, interpretation, reference low, reference high); `gauss` is a N(0,1) draw."""
    low, high, mean, sd = _reference(a.code, male)
    for shift in shifts:
        if a.code in shift:
            mean, sd = shift[a.code]
    value = max(mean + gauss * sd * 0.6, 0.0 if a.low is None else a.low * 0.3)
    rounded = Decimal(f"{value:.{a.decimals}f}")
    interpretation = "normal"
    if low is not None and rounded < low:
        interpretation = "low"
    elif high is not None and rounded > high:
        interpretation = "high"
    bounds = CRITICAL.get(a.code)
    if bounds and not bounds[0] <= value <= bounds[1]:
        interpretation = "critical"
    return rounded, interpretation, low, high


def panel(name: str) -> tuple[Analysis, ...]:
    return tuple(LABS[code] for code in PANELS[name])
