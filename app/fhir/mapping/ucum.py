"""UCUM codes for the units our rows hold as text (lab results are written as Swedish labs write
units: µmol/L, mIE/L). A unit is given a UCUM code only when, after the usual spellings are
rewritten, every part of it is a UCUM unit we know; otherwise the Quantity keeps its text alone
rather than claim a code it does not have."""

from __future__ import annotations

import re

UCUM = "http://unitsofmeasure.org"

_SPELLINGS = (("µ", "u"), ("μ", "u"), ("IE", "[IU]"), ("x10^", "10*"), ("10^", "10*"))
_PREFIX = "[YZEPTGMkhdcmunpfazy]?"
_ATOMS = r"(g|L|l|mol|kat|\[IU\]|U|Pa|s|min|h|d|wk|mo|a|m|eq|osm|bar|Cel|\[mm_Hg\])"
_PART = re.compile(rf"(10\*[0-9]+|{_PREFIX}{_ATOMS}([0-9]+)?|%|1)")


def ucum_code(unit: str | None) -> str | None:
    """The UCUM code of a unit text (mmol/L, 10*9/L, µmol/L -> umol/L, mIE/L -> m[IU]/L), or
    None when it is not one we can vouch for (INR, tablett)."""
    if not unit:
        return None
    code = unit.strip()
    for written, ucum in _SPELLINGS:
        code = code.replace(written, ucum)
    parts = re.split(r"[/.]", code)
    if not all(_PART.fullmatch(part) for part in parts):
        return None
    return code


def quantity(value: object, unit: str | None) -> dict[str, object]:
    """A Quantity: the value, the unit as written, and its UCUM code where it has one."""
    out: dict[str, object] = {"value": value}
    if unit is not None:
        out["unit"] = unit
        code = ucum_code(unit)
        if code is not None:
            out["system"] = UCUM
            out["code"] = code
    return out
