"""No silent change: what an imported resource holds that our rows do not, found by exporting the
mapped row again and comparing it with the original.

`compare(original, exported)` walks the original and returns
- the *remainder*: a sparse copy of the original with only what the export lacks or shows
  differently (array items carry the index of the exported item they correspond to), and
- the *losses*: the FHIRPath-like path of each such element and whether it is missing from
  the export or changed in it.

The importer reports every loss as UNSUPPORTED_ELEMENT and, for patient data, stores the
remainder (fhir_preserved); the exporter merges it back (`merge`), so what vardkedja cannot hold
still leaves as it came in. Our ids, references, meta.versionId and meta.lastUpdated are ours.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from app.fhir.r4 import FhirJson

APPEND = "@append"  # an original array item with no counterpart in the export
AT = "@at"  # the index of the exported array item an original item corresponds to
VALUE = "@value"
MISSING = "missing"
CHANGED = "changed"
OURS = ("id",)  # top-level elements the export always decides
OUR_META = ("versionId", "lastUpdated")
_PLAIN = (str, bool, int)


@dataclass(frozen=True)
class Loss:
    path: str
    kind: str  # MISSING or CHANGED
    exported: Any = None  # what the export shows instead (CHANGED)
    kept: bool = True  # False: the export keeps ours (a reference to another resource)


Resolve = Callable[[str], str | None]


def compare(
    original: FhirJson, exported: FhirJson, resolve: Resolve | None = None
) -> tuple[FhirJson | None, list[Loss]]:
    """(remainder, losses) of `original` against our export of the row it became. `resolve`
    turns a reference of the original into ours ("Patient/<uuid>"); a reference that the export
    replaced by another target is a loss (the export keeps ours). Without it references are
    taken as resolved."""
    name = str(original.get("resourceType", "Resource"))
    remainder: FhirJson = {}
    losses: list[Loss] = []
    for key, value in original.items():
        if key in OURS or key == "resourceType":
            continue
        theirs = exported.get(key)
        if key == "meta" and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k not in OUR_META}
            if not value:
                continue
        rest, lost = _compare(value, theirs, f"{name}.{key}", resolve)
        if rest is not None:
            remainder[key] = rest
        losses += lost
    return (remainder or None), losses


def _compare(
    original: Any, exported: Any, path: str, resolve: Resolve | None
) -> tuple[Any, list[Loss]]:
    if isinstance(original, dict):
        if not isinstance(exported, dict):
            return original, [_lost(path, exported)]
        remainder: FhirJson = {}
        losses: list[Loss] = []
        for key, value in original.items():
            theirs = exported.get(key)
            if key == "reference" and isinstance(theirs, str):
                ours = resolve(value) if resolve is not None and isinstance(value, str) else None
                if resolve is not None and ours != theirs:
                    losses.append(Loss(f"{path}.{key}", CHANGED, theirs, kept=False))
                continue  # resolved to our id
            if type(value) is type(theirs) and type(value) in _PLAIN and value == theirs:
                continue  # the same text, boolean or integer (what `_same` says first)
            rest, lost = _compare(value, theirs, f"{path}.{key}", resolve)
            if rest is not None:
                remainder[key] = rest
            losses += lost
        return (remainder or None), losses
    if isinstance(original, list):
        theirs_list = exported if isinstance(exported, list) else []
        return _compare_list(original, theirs_list, path, resolve)
    if exported is None:
        return original, [Loss(path, MISSING)]
    if _same(original, exported):
        return None, []
    if _same_number(original, exported):
        return original, []  # the written precision is kept, nothing to report
    return original, [Loss(path, CHANGED, exported)]


def _compare_list(
    original: list[Any], exported: list[Any], path: str, resolve: Resolve | None
) -> tuple[Any, list[Loss]]:
    remainder: list[Any] = []
    losses: list[Loss] = []
    for item in original:
        if isinstance(item, dict | list):
            break
    else:
        # Primitives (given names, lines of an address) correspond by position.
        for i, item in enumerate(original):
            theirs = exported[i] if i < len(exported) else None
            rest, lost = _compare(item, theirs, f"{path}[{i}]", resolve)
            if rest is not None:
                remainder.append({AT: i, VALUE: rest} if theirs is not None else {APPEND: rest})
                losses += lost
        return (remainder or None), losses
    used: set[int] = set()
    for i, item in enumerate(original):
        best: tuple[int, Any, list[Loss]] | None = None
        for j, candidate in enumerate(exported):
            if j in used:
                continue
            rest, lost = _compare(item, candidate, f"{path}[{i}]", resolve)
            if rest is None:
                best = (j, None, [])
                break
            # A counterpart holds some of the item (a number written with other digits
            # counts as held): the fewest losses win.
            if len(lost) < _leaves(item) and (best is None or len(lost) < len(best[2])):
                best = (j, rest, lost)
        if best is None:
            remainder.append({APPEND: item})
            losses.append(Loss(f"{path}[{i}]", MISSING))
            continue
        j, rest, lost = best
        used.add(j)
        if rest is not None:
            remainder.append({AT: j, VALUE: rest})
            losses += lost
    return (remainder or None), losses


def closest_losses(original: FhirJson, exported: list[FhirJson]) -> list[Loss] | None:
    """The losses of `original` against the exported resource that corresponds best to it (of
    its type; with identifiers, one sharing an identifier (system and value, else the value,
    as a document id under our system): the same record); None when none can be it."""
    candidates = [r for r in exported if r.get("resourceType") == original.get("resourceType")]
    if original.get("identifier"):
        # The same (system, value) first: two systems may use the same value (MRN 12345).
        for part in (lambda i: (i.get("system"), i.get("value")), lambda i: i.get("value")):
            ours = {part(i) for i in original["identifier"] if i.get("value")}
            same = [r for r in candidates if ours & {part(i) for i in r.get("identifier", [])}]
            if same:
                break
        candidates = same
    if not candidates:
        return None
    return min((compare(original, r)[1] for r in candidates), key=len)


def leaf_paths(original: FhirJson) -> list[str]:
    """The path of every primitive value in a resource, in the form of `Loss.path`, leaving
    out what our export always decides (id, meta.versionId, meta.lastUpdated)."""
    name = str(original.get("resourceType", "Resource"))
    paths: list[str] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}.{key}")
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, f"{path}[{i}]")
        else:
            paths.append(path)

    for key, value in original.items():
        if key in OURS or key == "resourceType":
            continue
        if key == "meta" and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k not in OUR_META}
        walk(value, f"{name}.{key}")
    return paths


def within(path: str, ancestors: set[str]) -> bool:
    """Whether `path` is one of `ancestors` or inside one of them."""
    return any(path == a or path.startswith((f"{a}.", f"{a}[")) for a in ancestors)


def _leaves(value: Any) -> int:
    if isinstance(value, dict):
        return sum(_leaves(v) for v in value.values())
    if isinstance(value, list):
        return sum(_leaves(v) for v in value)
    return 1


def _lost(path: str, exported: Any) -> Loss:
    return Loss(path, MISSING) if exported is None else Loss(path, CHANGED, exported)


def _same(a: Any, b: Any) -> bool:
    if type(a) is type(b) and a == b and not isinstance(a, Decimal):
        return True
    if isinstance(a, Decimal) and isinstance(b, Decimal):
        return str(a) == str(b)
    if isinstance(a, float) and isinstance(b, Decimal):
        return Decimal(str(a)) == b  # no written precision to keep from a float
    if isinstance(a, str) and isinstance(b, str):
        return _same_instant(a, b)
    return False


def _same_number(a: Any, b: Any) -> bool:
    """Numbers of equal value (6.3, 6.30, a float read by another JSON parser)."""
    numbers = (int, float, Decimal)
    if isinstance(a, bool) or isinstance(b, bool):
        return False
    if not (isinstance(a, numbers) and isinstance(b, numbers)):
        return False
    return Decimal(str(a)) == Decimal(str(b))


def _same_instant(a: str, b: str) -> bool:
    """Two dateTimes with a time and a zone naming the same instant."""
    if "T" not in a or "T" not in b:
        return False
    try:
        first = datetime.fromisoformat(a.replace("Z", "+00:00"))
        second = datetime.fromisoformat(b.replace("Z", "+00:00"))
    except ValueError:
        return False
    if first.tzinfo is None or second.tzinfo is None:
        return False
    return first == second


def merge(exported: FhirJson, remainder: FhirJson, *, current: bool) -> FhirJson:
    """The export with the stored remainder merged back. Missing elements are added; changed
    values are restored only while the row is `current` (not changed here since its import):
    afterwards our row is the truth."""
    out = _merge(exported, remainder, current)
    return out if isinstance(out, dict) else exported


def _merge(exported: Any, remainder: Any, current: bool) -> Any:
    if isinstance(remainder, dict) and isinstance(exported, dict):
        out = dict(exported)
        for key, value in remainder.items():
            if key in exported:
                out[key] = _merge(exported[key], value, current)
                continue
            rival = _rival_choice(key, out)
            if rival is not None:
                # effectivePeriod in the original, effectiveDateTime in the export: one value[x].
                if not current:
                    continue
                del out[rival]
            out[key] = _restore(value)
        return out
    if isinstance(remainder, list) and isinstance(exported, list):
        out_list = list(exported)
        for item in remainder:
            if not isinstance(item, dict):
                continue
            if APPEND in item:
                out_list.append(_restore(item[APPEND]))
            elif AT in item and isinstance(item[AT], int) and item[AT] < len(out_list):
                out_list[item[AT]] = _merge(out_list[item[AT]], item[VALUE], current)
        return out_list
    if exported is None or current:
        return _restore(remainder)
    return exported


# Pairs of elements that look like one choice but are two (Encounter.reasonCode and
# reasonReference may both be there).
NOT_CHOICES = frozenset({"reason"})
_CHOICE = re.compile(
    r"([a-z][A-Za-z]*?)(Boolean|DateTime|Date|Instant|Time|String|Integer|PositiveInt|"
    r"UnsignedInt|Decimal|Uri|Url|Canonical|Code|Id|Oid|Uuid|Markdown|Base64Binary|Quantity|"
    r"CodeableConcept|Coding|Reference|Period|Range|Ratio|Age|Duration|Count|Distance|Money|"
    r"SampledData|Timing|Attachment|Identifier|Annotation|HumanName|Address|ContactPoint|"
    r"Signature|Dosage|Expression|Meta)"
)


def _rival_choice(key: str, element: FhirJson) -> str | None:
    """The key of another type of the same choice element (value[x], effective[x], ...)."""
    found = _CHOICE.fullmatch(key)
    if found is None or found.group(1) in NOT_CHOICES:
        return None
    for other in element:
        theirs = _CHOICE.fullmatch(other)
        if other != key and theirs is not None and theirs.group(1) == found.group(1):
            return other
    return None


def _restore(remainder: Any) -> Any:
    """A remainder without an export counterpart: the original itself (array markers off)."""
    if isinstance(remainder, list):
        out = []
        for item in remainder:
            if isinstance(item, dict) and APPEND in item:
                out.append(_restore(item[APPEND]))
            elif isinstance(item, dict) and VALUE in item:
                out.append(_restore(item[VALUE]))
            else:
                out.append(_restore(item))
        return out
    if isinstance(remainder, dict):
        return {k: _restore(v) for k, v in remainder.items()}
    return remainder


def reason(loss: Loss, *, kept: bool) -> str:
    """The report's words for one loss."""
    kept = kept and loss.kept
    where = "it is kept only for FHIR export" if kept else "it is not kept"
    if loss.kind == MISSING:
        return f"vardkedja's record has no place for this element; {where}"
    return f"vardkedja's record holds {_shown(loss.exported)} instead; {where}"


def _shown(value: Any) -> str:
    text = repr(value) if not isinstance(value, Decimal) else str(value)
    return text if len(text) <= 80 else text[:77] + "..."
