"""The FHIR R4 model (fhir.resources' R4B package: its default modules are R5), validation, and
the exact JSON form we read and write.

Resources travel as plain JSON dicts. `validate` turns one into a fhir.resources model, which is
what `from_fhir` reads. We serialise our own dicts rather than the models because the models
write decimals as floats (123456789012.123456 loses digits) and we promise a lossless round trip.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from app.fhir import fastpath

FhirJson = dict[str, Any]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one resource: where (a FHIRPath-like path) and why."""

    path: str
    reason: str


class MappingError(Exception):
    """A resource that is valid FHIR but cannot become one of our rows (bad identifier, missing
    element, unresolved reference). It makes the import fail, like invalid FHIR does."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.problem = Problem(path, reason)


class Unsupported(Exception):
    """A resource we do not store (a type, or content such as a SNOMED-only Condition). It is
    reported in the import result and skipped; it does not make the import fail."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def model_class(resource_type: str) -> Any:
    """The fhir.resources R4 class of a resource type; ValueError if there is none."""
    return get_fhir_model_class(resource_type)


def validate(data: FhirJson) -> Any:
    """The validated fhir.resources model of `data`; raises InvalidResource listing problems."""
    resource_type = data.get("resourceType")
    if not isinstance(resource_type, str):
        raise InvalidResource([Problem("resourceType", "missing or not a string")])
    try:
        cls = model_class(resource_type)
    except ValueError:
        problem = Problem("resourceType", f"{resource_type!r} is not FHIR R4")
        raise InvalidResource([problem]) from None
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise InvalidResource(
            [Problem(_path(resource_type, e["loc"]), e["msg"]) for e in exc.errors()]
        ) from None


class Validator:
    """`validate` for an import: the fast path first, and every distinct extension validated
    once when it declines.

    `fastpath.build` gives the same model as fhir.resources for a plainly valid resource of a
    class it takes, looking only at the elements that are there; anything else is left to
    fhir.resources, so problems are always fhir.resources' own.

    Our own exports (and other systems' profiles) repeat the same extensions on thousands of
    resources (the care unit, the source system, the accountable clinician), and fhir.resources
    spends most of a resource's validation on its extensions. Each distinct extension (by its
    exact JSON: numbers keep their written digits, so equal keys are equal values) is validated
    once with fhir.resources' Extension model; the resource is then validated with those
    instances in place, which pydantic takes as already valid. An extension that is not valid
    on its own leaves the resource to plain `validate`, which reports it at its path."""

    def __init__(self, limit: int = 200_000, *, fast: bool = True) -> None:
        self.limit = limit
        self.fast = fast
        self._extensions: dict[bytes, Any] = {}
        self._classes: dict[str, Any] = {}

    def __call__(self, data: FhirJson) -> Any:
        resource_type = data.get("resourceType")
        if self.fast and isinstance(resource_type, str):
            cls = self._classes.get(resource_type)
            if cls is None and resource_type not in self._classes:
                try:
                    cls = model_class(resource_type)
                except ValueError:
                    cls = None
                self._classes[resource_type] = cls
            if cls is not None:
                built = fastpath.build(cls, data)
                if built is not None:
                    return built
        extensions = data.get("extension")
        if isinstance(extensions, list) and extensions:
            with contextlib.suppress(ValidationError, TypeError):
                data = data | {"extension": [self._extension(e) for e in extensions]}
        return validate(data)

    def _extension(self, data: Any) -> Any:
        if not isinstance(data, dict):
            raise TypeError("not an extension")
        key = dumps(data)
        found = self._extensions.get(key)
        if found is None:
            found = _extension_class().model_validate(data)
            if len(self._extensions) < self.limit:
                self._extensions[key] = found
        return found


def _extension_class() -> Any:
    return model_class("Extension")


class InvalidResource(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.path}: {p.reason}" for p in problems))
        self.problems = problems


def _path(resource_type: str, loc: tuple[Any, ...]) -> str:
    """('name', 0, 'given') -> Patient.name[0].given"""
    out = resource_type
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not str(part).startswith("function-"):
            out += f".{str(part).removesuffix('__ext')}"
    return out


_DECODER = json.JSONDecoder(parse_float=Decimal)


def loads(raw: str | bytes) -> Any:
    """Parse FHIR JSON keeping decimals exact (orjson would read them as floats). As
    `json.loads(raw, parse_float=Decimal)`, with one decoder rather than one per call."""
    if isinstance(raw, bytes | bytearray):
        raw = raw.decode(json.detect_encoding(raw), "surrogatepass")
    elif raw.startswith("\ufeff"):
        return json.loads(raw, parse_float=Decimal)  # its error: "Unexpected UTF-8 BOM"
    return _DECODER.decode(raw)


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        # A JSON number with exactly these digits: FHIR decimals keep their precision.
        return orjson.Fragment(format(value, "f").encode())
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps(data: Any) -> bytes:
    """Compact FHIR JSON, keys in the order the mapping wrote them."""
    return orjson.dumps(data, default=_default)
