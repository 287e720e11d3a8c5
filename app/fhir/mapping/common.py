"""What every mapping shares: systems and URLs, time and extension helpers, references, the
row meta (id, version, timestamps) and the clinical header of DOMAIN.md section 1.

Our own extensions, code systems and identifier systems live under https://vardkedja.se/fhir/
(listed in docs/fhir.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from app.fhir.r4 import FhirJson, MappingError
from app.identifiers import (
    OID_ATC,
    OID_ICD10_SE,
    OID_ICF,
    OID_KVA,
    OID_NPL_ID,
    OID_NPL_PACK_ID,
    OID_PERSONNUMMER,
    OID_SAMORDNINGSNUMMER,
    IdentifierError,
    validate_hsa_id,
)

Row = dict[str, Any]
BASE = "https://vardkedja.se/fhir"
STOCKHOLM = ZoneInfo("Europe/Stockholm")

# Identifier systems as HL7 Sweden's base profiles write them (DOMAIN.md section 6).
PERSONNUMMER = f"urn:oid:{OID_PERSONNUMMER}"
SAMORDNINGSNUMMER = f"urn:oid:{OID_SAMORDNINGSNUMMER}"
HSA_ID = "urn:oid:1.2.752.29.4.19"  # the FHIR OID of HSA-ids (RIV uses 1.2.752.129.2.1.4.1)
HSA_ID_RIV = "urn:oid:1.2.752.129.2.1.4.1"
ICD10_SE = f"urn:oid:{OID_ICD10_SE}"
ICD10_WHO = "http://hl7.org/fhir/sid/icd-10"
KVA = f"urn:oid:{OID_KVA}"
NPL_ID = f"urn:oid:{OID_NPL_ID}"
NPL_PACK_ID = f"urn:oid:{OID_NPL_PACK_ID}"
ATC = "http://www.whocc.no/atc"
ATC_OID = f"urn:oid:{OID_ATC}"
ICF = f"urn:oid:{OID_ICF}"
LOINC = "http://loinc.org"
NPU = "urn:oid:1.2.208.176.2.1"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"


def ext_url(name: str) -> str:
    return f"{BASE}/StructureDefinition/{name}"


def code_system(name: str) -> str:
    return f"{BASE}/CodeSystem/{name}"


def id_system(name: str) -> str:
    return f"{BASE}/sid/{name}"


DOCUMENT_ID = id_system("document-id")


# --------------------------------------------------------------------------- time


def instant(value: datetime) -> str:
    """A FHIR instant/dateTime in UTC; microseconds kept when there are any."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def day(value: date) -> str:
    return value.isoformat()


def to_datetime(value: Any, path: str) -> datetime:
    """A FHIR dateTime as read by fhir.resources (datetime, date, or 'YYYY'/'YYYY-MM' text).

    Partial dates mean the first instant of the day, month or year in Swedish local time.
    """
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=STOCKHOLM)
    if isinstance(value, date):
        return datetime.combine(value, time(), STOCKHOLM)
    if isinstance(value, str) and value[:4].isdigit():
        first = to_date(value, path)
        return datetime.combine(first, time(), STOCKHOLM)
    raise MappingError(path, f"not a date or time: {value!r}")


def to_date(value: Any, path: str) -> date:
    """A FHIR date; partial dates ('1974', '1974-12') mean their first day."""
    if isinstance(value, datetime):
        return value.astimezone(STOCKHOLM).date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value[:4].isdigit():
        parts = [int(p) for p in value.split("-")]
        return date(parts[0], parts[1] if len(parts) > 1 else 1, 1)
    raise MappingError(path, f"not a date: {value!r}")


def opt_datetime(value: Any, path: str) -> datetime | None:
    return None if value is None else to_datetime(value, path)


def opt_date(value: Any, path: str) -> date | None:
    return None if value is None else to_date(value, path)


# --------------------------------------------------------------------------- extensions


def ext(name: str, kind: str, value: Any) -> FhirJson:
    """One extension of ours, e.g. ext("approved-for-patient", "Boolean", True)."""
    return {"url": ext_url(name), f"value{kind}": value}


def complex_ext(name: str, parts: Iterable[FhirJson | None]) -> FhirJson:
    """An extension with nested extensions (their url is a plain name, as FHIR wants)."""
    return {"url": ext_url(name), "extension": [p for p in parts if p is not None]}


def part(name: str, kind: str, value: Any) -> FhirJson | None:
    """A nested extension part; None (left out) when the value is None."""
    return None if value is None else {"url": name, f"value{kind}": value}


def extensions(*items: FhirJson | None) -> list[FhirJson]:
    return [i for i in items if i is not None]


def opt_ext(name: str, kind: str, value: Any) -> FhirJson | None:
    return None if value is None else ext(name, kind, value)


class Ext:
    """Reads the extensions of one element of a validated resource by our short names."""

    def __init__(self, element: Any, *, nested: bool = False) -> None:
        found = getattr(element, "extension", None) or []
        prefix = "" if nested else f"{BASE}/StructureDefinition/"
        self._by_name: dict[str, Any] = {}
        for item in found:
            url = item.url or ""
            if nested or url.startswith(prefix):
                self._by_name[url.removeprefix(prefix)] = item

    def has(self, name: str) -> bool:
        return name in self._by_name

    def value(self, name: str, kind: str) -> Any:
        item = self._by_name.get(name)
        return None if item is None else getattr(item, f"value{kind}", None)

    def nested(self, name: str) -> Ext | None:
        item = self._by_name.get(name)
        return None if item is None else Ext(item, nested=True)


# --------------------------------------------------------------------------- codes


def coding(system: str, code: str, display: str | None = None) -> FhirJson:
    out: FhirJson = {"system": system, "code": code}
    if display is not None:
        out["display"] = display
    return out


def concept(system: str, code: str, display: str | None = None) -> FhirJson:
    return {"coding": [coding(system, code, display)]}


def code_in(element: Any, *systems: str) -> Any:
    """The first Coding of a CodeableConcept (or list of them) in one of `systems`."""
    concepts = element if isinstance(element, list) else [element]
    for c in concepts:
        for cd in (getattr(c, "coding", None) or []) if c is not None else []:
            if cd.system in systems and cd.code:
                return cd
    return None


def own_code(element: Any, name: str) -> str | None:
    """The code of our code system `name` in a CodeableConcept (or list), if present."""
    found = code_in(element, code_system(name))
    return None if found is None else str(found.code)


def text_of(element: Any) -> str | None:
    """A CodeableConcept's text, or the display of its first coding."""
    if element is None:
        return None
    if getattr(element, "text", None):
        return str(element.text)
    for cd in getattr(element, "coding", None) or []:
        if cd.display:
            return str(cd.display)
    return None


# --------------------------------------------------------------------------- references


def ref(resource_type: str, row_id: Any, display: str | None = None) -> FhirJson:
    out: FhirJson = {"reference": f"{resource_type}/{row_id}"}
    if display is not None:
        out["display"] = display
    return out


def opt_ref(resource_type: str, row_id: Any) -> FhirJson | None:
    return None if row_id is None else ref(resource_type, row_id)


def municipality_resource_id(code: str) -> str:
    return f"kommun-{code}"


class Resolver(Protocol):
    """Turns references in a resource into our keys (import side)."""

    def id_of(self, reference: Any, table: str, path: str) -> uuid.UUID:
        """The id of the `table` row a Reference points at; MappingError if unresolvable."""
        ...

    def code_of(self, reference: Any, table: str, path: str) -> str:
        """The code key (municipalities) a Reference points at."""
        ...

    def known_code(self, table: str, code: str, path: str) -> str:
        """`code` if it is a key of the code table `table` (legal bases, insatser)."""
        ...

    def current_id(self) -> uuid.UUID:
        """The id the row being mapped gets (a new prescription chain starts with it)."""
        ...

    def child_id(self, parent_id: uuid.UUID, own_id: str | None, index: int) -> uuid.UUID:
        """A stable id for a nested row (a CarePlan activity)."""
        ...

    def provider_of_unit(self, unit_id: uuid.UUID) -> uuid.UUID | None:
        """The care provider of a care unit, for resources that name only the unit."""
        ...

    @property
    def defaults(self) -> ImportDefaults:
        """What to assume for resources from systems that do not carry our header."""
        ...


class ImportDefaults(Protocol):
    source_system_hsa_id: str | None
    care_unit_id: uuid.UUID | None


def opt_id(resolver: Resolver, reference: Any, table: str, path: str) -> uuid.UUID | None:
    """An optional reference: None when absent."""
    if reference is None or (not reference.reference and not reference.identifier):
        return None
    return resolver.id_of(reference, table, path)


def hsa(value: Any, path: str) -> str:
    try:
        return validate_hsa_id(str(value), field=path)
    except IdentifierError as exc:
        raise MappingError(path, exc.detail) from None


def identifier_value(identifiers: Any, *systems: str) -> str | None:
    for ident in identifiers or []:
        if ident.system in systems and ident.value:
            return str(ident.value)
    return None


def row_uuid(resource: Any) -> uuid.UUID | None:
    """The resource id when it is one of our uuids (the importer assigns ids otherwise)."""
    try:
        return uuid.UUID(str(resource.id)) if resource.id else None
    except ValueError:
        return None


# --------------------------------------------------------------------------- row meta


def meta(row: Mapping[str, Any]) -> FhirJson:
    """meta.versionId = our version, meta.lastUpdated = updated_at."""
    return {"versionId": str(row["version"]), "lastUpdated": instant(row["updated_at"])}


def created_ext(row: Mapping[str, Any]) -> FhirJson:
    return ext("created", "DateTime", instant(row["created_at"]))


def meta_from_fhir(resource: Any) -> Row:
    """version, created_at, updated_at; resources from elsewhere get version 1 and now."""
    now = datetime.now(UTC)
    m = resource.meta
    updated = m.lastUpdated if m is not None and m.lastUpdated is not None else now
    created = Ext(resource).value("created", "DateTime")
    version = 1
    if m is not None and m.versionId is not None:
        try:
            version = int(m.versionId)
        except ValueError:
            version = 1
    return {
        "version": version,
        "updated_at": updated,
        "created_at": to_datetime(created, "extension:created") if created else updated,
    }
