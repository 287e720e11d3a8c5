"""Validation and normalisation of Swedish identifiers and code formats.

This module is the one place where identifier formats are checked. Every validator
strips surrounding whitespace, returns the normalised value and raises
:class:`IdentifierError` (a ``ValueError``) carrying the offending ``field`` and a short,
stable machine-readable ``rule``:

``empty``     the value is missing or blank
``format``    wrong characters or layout
``length``    right characters, wrong number of them
``date``      the embedded date does not exist, is in the future, or has the wrong day range
``century``   a personnummer century outside 18, 19, 20
``luhn``      the check digit does not match
``duplicate`` a letter repeated where repeats are not allowed (tooth surfaces)
``kind``      unknown identifier kind or code system

Pure Python, no I/O.
"""

from __future__ import annotations

import re
from datetime import date

__all__ = [
    "OID_ATC",
    "OID_HSA_ID",
    "OID_ICD10_SE",
    "OID_ICF",
    "OID_KVA",
    "OID_NPL_ID",
    "OID_NPL_PACK_ID",
    "OID_PERSONNUMMER",
    "OID_RESERVNUMMER",
    "OID_SAMORDNINGSNUMMER",
    "PERSON_IDENTIFIER_KINDS",
    "IdentifierError",
    "birth_date_of",
    "canonical_patient_system",
    "detect_person_identifier_kind",
    "format_personnummer",
    "luhn_check_digit",
    "normalize_icd10_se",
    "normalize_organisationsnummer",
    "normalize_person_identifier",
    "normalize_personnummer",
    "normalize_samordningsnummer",
    "validate_atc",
    "validate_fdi_tooth",
    "validate_hsa_id",
    "validate_kva",
    "validate_lab_code",
    "validate_municipality_code",
    "validate_npl_id",
    "validate_npl_pack_id",
    "validate_reservnummer",
    "validate_tlv_condition_code",
    "validate_tlv_procedure_code",
    "validate_tooth_surface",
]

# Code system OIDs (used by the FHIR mapping).
OID_PERSONNUMMER = "1.2.752.129.2.1.3.1"
OID_SAMORDNINGSNUMMER = "1.2.752.129.2.1.3.3"
OID_RESERVNUMMER = "1.2.752.129.2.1.3.2"  # nationellt reservnummer
OID_HSA_ID = "1.2.752.129.2.1.4.1"
OID_ICD10_SE = "1.2.752.116.1.1.1.1.3"
OID_KVA = "1.2.752.116.1.3.2.1.4"
OID_NPL_ID = "1.2.752.129.2.1.5.1"
OID_NPL_PACK_ID = "1.2.752.129.2.1.5.2"
OID_ATC = "2.16.840.1.113883.6.73"
OID_ICF = "1.2.752.116.1.1.3"

PERSONNUMMER = "personnummer"
SAMORDNINGSNUMMER = "samordningsnummer"
RESERVNUMMER = "reservnummer"
PERSON_IDENTIFIER_KINDS = (PERSONNUMMER, SAMORDNINGSNUMMER, RESERVNUMMER)

_SAMORDNING_DAY_OFFSET = 60
_VALID_CENTURIES = (18, 19, 20)

# Personnummer / samordningsnummer input: optional century, YYMMDD, optional - or +, NNNC.
_PERSON_RE = re.compile(
    r"(?P<century>[0-9]{2})?(?P<yymmdd>[0-9]{6})(?P<sep>[-+]?)(?P<tail>[0-9]{4})"
)
_HSA_ID_RE = re.compile(r"SE[0-9]{10}-[A-Za-z0-9]+")
_HSA_ID_MAX_LENGTH = 31
# ATC level 5; first letter restricted to the 14 anatomical main groups.
_ATC_RE = re.compile(r"[ABCDGHJLMNPRSV][0-9]{2}[A-Z]{2}[0-9]{2}")
_ICD10_RE = re.compile(r"(?P<category>[A-Z][0-9]{2})(?:\.?(?P<extension>[A-Z0-9]{1,2}))?")
_KVA_RE = re.compile(r"[A-Z]{2}[A-Z0-9][0-9]{2}")
_FDI_TOOTH_RE = re.compile(r"[1-4][1-8]|[5-8][1-5]")
_TOOTH_SURFACES = frozenset("MOIDBFLP")
_RESERVNUMMER_RE = re.compile(r"[A-Z0-9-]{1,20}")
_NPU_RE = re.compile(r"NPU[0-9]{5}")
_LOINC_RE = re.compile(r"[0-9]{1,7}-[0-9]")


class IdentifierError(ValueError):
    """An identifier or code failed validation.

    ``field`` names the input field, ``rule`` is a short stable machine code (see the
    module docstring) and ``detail`` is the human explanation. ``str(error)`` reads e.g.
    ``"personnummer: check digit does not match (luhn)"``.
    """

    def __init__(self, field: str, rule: str, detail: str) -> None:
        self.field = field
        self.rule = rule
        self.detail = detail
        super().__init__(f"{field}: {detail} ({rule})")

    def __reduce__(self) -> tuple[type[IdentifierError], tuple[str, str, str]]:
        return (type(self), (self.field, self.rule, self.detail))


# --------------------------------------------------------------------------- helpers


def _clean(value: str, field: str) -> str:
    """Strip surrounding whitespace; reject non-strings and blank values."""
    if not isinstance(value, str):
        raise IdentifierError(field, "format", f"expected a string, got {type(value).__name__}")
    cleaned = value.strip()
    if not cleaned:
        raise IdentifierError(field, "empty", "value is empty")
    return cleaned


def _digits(value: str, field: str, min_len: int, max_len: int | None = None) -> str:
    """Clean ``value`` and require ``min_len``..``max_len`` ASCII digits."""
    cleaned = _clean(value, field)
    if not (cleaned.isascii() and cleaned.isdigit()):
        raise IdentifierError(field, "format", "must contain only digits")
    max_len = min_len if max_len is None else max_len
    if not min_len <= len(cleaned) <= max_len:
        expected = str(min_len) if min_len == max_len else f"{min_len}-{max_len}"
        raise IdentifierError(field, "length", f"must be {expected} digits, got {len(cleaned)}")
    return cleaned


def _match(pattern: re.Pattern[str], value: str, field: str, description: str) -> str:
    """Require ``value`` (already cleaned) to match ``pattern`` completely."""
    if pattern.fullmatch(value) is None:
        raise IdentifierError(field, "format", f"must be {description}")
    return value


def _luhn_ok(ten_digits: str) -> bool:
    return luhn_check_digit(ten_digits[:9]) == int(ten_digits[9])


# --------------------------------------------------------------------------- Luhn


def luhn_check_digit(nine_digits: str) -> int:
    """Luhn (mod 10) check digit over nine digits.

    Weights 2,1,2,1,... from the left; the digits of each product are summed and the
    check digit is ``(10 - sum % 10) % 10``. Used by personnummer, samordningsnummer and
    organisationsnummer.
    """
    if len(nine_digits) != 9 or not (nine_digits.isascii() and nine_digits.isdigit()):
        raise IdentifierError("luhn_input", "format", "must be exactly nine digits")
    total = 0
    for index, char in enumerate(nine_digits):
        product = int(char) * (2 if index % 2 == 0 else 1)
        total += product // 10 + product % 10
    return (10 - total % 10) % 10


# --------------------------------------------------------------------------- persons


def _parse_person_number(value: str, *, field: str, kind: str, today: date | None) -> str:
    """Shared parser for personnummer and samordningsnummer; returns 12 digits."""
    cleaned = _clean(value, field)
    match = _PERSON_RE.fullmatch(cleaned)
    if match is None:
        digits_only = cleaned.replace("-", "").replace("+", "")
        if digits_only.isascii() and digits_only.isdigit() and len(digits_only) not in (10, 12):
            raise IdentifierError(field, "length", "must have 10 or 12 digits")
        raise IdentifierError(
            field, "format", "must be YYYYMMDDNNNC, YYMMDDNNNC, YYMMDD-NNNC or YYMMDD+NNNC"
        )
    century, yymmdd, sep, tail = match.group("century", "yymmdd", "sep", "tail")
    if century is not None and sep == "+":
        raise IdentifierError(field, "format", "'+' is only used with the 10-digit form")

    yy, month, day = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:6])
    real_day = day - _SAMORDNING_DAY_OFFSET if kind == SAMORDNINGSNUMMER else day
    ref = today or date.today()
    if century is not None:
        year = int(century) * 100 + yy
    else:
        # '-' (or none): born in one of the last 100 calendar years, i.e. turns 0..99 this
        # year; '+': turns 100 or more this year (matches format_personnummer).
        year = ref.year - (ref.year - yy) % 100
        if sep == "+":
            year -= 100
    if year // 100 not in _VALID_CENTURIES:
        raise IdentifierError(field, "century", f"century {year // 100} is not 18, 19 or 20")

    if kind == PERSONNUMMER and day > _SAMORDNING_DAY_OFFSET:
        raise IdentifierError(field, "date", f"day {day} is not 01-31 (61-91 is samordningsnummer)")
    if kind == SAMORDNINGSNUMMER and not 61 <= day <= 91:
        raise IdentifierError(field, "date", "samordningsnummer day must be 61-91 (day + 60)")
    try:
        born = date(year, month, real_day)
    except ValueError:
        raise IdentifierError(
            field, "date", f"{year:04d}-{month:02d}-{real_day:02d} is not a date"
        ) from None
    if born > ref:
        raise IdentifierError(field, "date", f"birth date {born.isoformat()} is in the future")

    ten = yymmdd + tail
    if not _luhn_ok(ten):
        raise IdentifierError(field, "luhn", "check digit does not match")
    return f"{year:04d}{ten[2:]}"


def normalize_personnummer(
    value: str, *, field: str = PERSONNUMMER, today: date | None = None
) -> str:
    """Validate a personnummer and return it as 12 digits ``YYYYMMDDNNNC``.

    Accepts ``YYYYMMDDNNNC``, ``YYYYMMDD-NNNC``, ``YYMMDDNNNC``, ``YYMMDD-NNNC`` and
    ``YYMMDD+NNNC``. For 10-digit input the century is inferred relative to ``today``
    (default: ``date.today()``): the birth year is one of the last 100 calendar years, or,
    with ``+``, 100-199 years back. The century must be 18, 19 or 20, the date must
    exist and not be in the future, the day must be 01-31 (not a samordningsnummer), and
    the Luhn check digit over the 10-digit form must match.
    """
    return _parse_person_number(value, field=field, kind=PERSONNUMMER, today=today)


def normalize_samordningsnummer(
    value: str, *, field: str = SAMORDNINGSNUMMER, today: date | None = None
) -> str:
    """Validate a samordningsnummer and return it as 12 digits ``YYYYMMDDNNNC``.

    Same rules and input forms as :func:`normalize_personnummer`, except that the day is
    the birth day + 60 (61-91). The Luhn check digit is computed on that (+60) form.
    """
    return _parse_person_number(value, field=field, kind=SAMORDNINGSNUMMER, today=today)


def validate_reservnummer(value: str, *, field: str = RESERVNUMMER) -> str:
    """Validate a reservnummer loosely: 1-20 of ASCII letters, digits and '-'; uppercased.

    Reservnummer formats differ between regions, so no structure is checked.
    """
    cleaned = _clean(value, field).upper()
    if len(cleaned) > 20:
        raise IdentifierError(field, "length", "must be at most 20 characters")
    return _match(_RESERVNUMMER_RE, cleaned, field, "letters, digits and '-'")


def detect_person_identifier_kind(value: str, *, field: str = "person_identifier") -> str:
    """Return ``"personnummer"`` or ``"samordningsnummer"`` from the day part (61-91).

    Only the layout is checked here; call :func:`normalize_person_identifier` with the
    result to validate fully. Reservnummer are never detected.
    """
    cleaned = _clean(value, field)
    match = _PERSON_RE.fullmatch(cleaned)
    if match is None:
        raise IdentifierError(field, "format", "not a personnummer or samordningsnummer")
    day = int(match.group("yymmdd")[4:6])
    return SAMORDNINGSNUMMER if day > _SAMORDNING_DAY_OFFSET else PERSONNUMMER


def normalize_person_identifier(
    kind: str, value: str, *, field: str | None = None, today: date | None = None
) -> str:
    """Dispatch on ``kind``: "personnummer" | "samordningsnummer" | "reservnummer".

    ``field`` defaults to the kind. An unknown kind raises with rule ``kind``.
    """
    name = field or kind
    if kind == PERSONNUMMER:
        return normalize_personnummer(value, field=name, today=today)
    if kind == SAMORDNINGSNUMMER:
        return normalize_samordningsnummer(value, field=name, today=today)
    if kind == RESERVNUMMER:
        return validate_reservnummer(value, field=name)
    raise IdentifierError(
        field or "kind",
        "kind",
        f"unknown person identifier kind {kind!r}; expected one of "
        f"{', '.join(PERSON_IDENTIFIER_KINDS)}",
    )


def _normalize_detected(value: str, today: date | None) -> str:
    kind = detect_person_identifier_kind(value, field=PERSONNUMMER)
    return normalize_person_identifier(kind, value, today=today)


def format_personnummer(twelve_digits: str, *, today: date | None = None) -> str:
    """Display form ``YYMMDD-NNNC`` of a personnummer or samordningsnummer.

    The separator is ``+`` from the calendar year the person turns 100 (relative to
    ``today``). The input is validated first (any accepted form).
    """
    normalized = _normalize_detected(twelve_digits, today)
    ref = today or date.today()
    sep = "+" if ref.year - int(normalized[:4]) >= 100 else "-"
    return f"{normalized[2:8]}{sep}{normalized[8:]}"


def birth_date_of(twelve_digits: str) -> date:
    """Birth date of a personnummer or samordningsnummer (day - 60 for the latter).

    The input is validated first (any accepted form, relative to today's date).
    """
    normalized = _normalize_detected(twelve_digits, None)
    day = int(normalized[6:8])
    if day > _SAMORDNING_DAY_OFFSET:
        day -= _SAMORDNING_DAY_OFFSET
    return date(int(normalized[:4]), int(normalized[4:6]), day)


# Patient identifier systems: the OIDs of DOMAIN.md section 6 (as urn:oid:) and HL7 Sweden's
# URIs (SEBasePatient's identifier slices) name the same identifiers. The OID form is canonical.
_PATIENT_SYSTEMS = {
    PERSONNUMMER: (
        f"urn:oid:{OID_PERSONNUMMER}",
        "http://electronichealth.se/identifier/personnummer",
    ),
    SAMORDNINGSNUMMER: (
        f"urn:oid:{OID_SAMORDNINGSNUMMER}",
        "http://electronichealth.se/identifier/samordningsnummer",
    ),
    RESERVNUMMER: (
        f"urn:oid:{OID_RESERVNUMMER}",
        "http://electronichealth.se/identifier/nationelltReservnummer",
        # The spelling of early drafts of the base profiles.
        "http://electronichealth.se/identifier/nationelltReservnumer",
    ),
}
_KIND_OF_PATIENT_SYSTEM = {
    system: (kind, systems[0]) for kind, systems in _PATIENT_SYSTEMS.items() for system in systems
}


def canonical_patient_system(system: str) -> tuple[str | None, str]:
    """(kind, canonical system) of a patient identifier system.

    The kind is "personnummer", "samordningsnummer" or "reservnummer" (the national one) for
    their OIDs (``urn:oid:`` or bare) and HL7 Sweden's ``http://electronichealth.se/identifier/``
    URIs, with the ``urn:oid:`` form as canonical system; any other system has kind None and
    stays as it is (an external identifier, never a reservnummer).
    """
    cleaned = system.strip()
    found = _KIND_OF_PATIENT_SYSTEM.get(cleaned) or _KIND_OF_PATIENT_SYSTEM.get(
        f"urn:oid:{cleaned}"
    )
    return found if found is not None else (None, cleaned)


# --------------------------------------------------------------------------- organisations


def validate_hsa_id(value: str, *, field: str = "hsa_id") -> str:
    """HSA-id: ``SE`` + 10 digits + ``-`` + letters/digits, at most 31 characters."""
    cleaned = _clean(value, field)
    if len(cleaned) > _HSA_ID_MAX_LENGTH:
        raise IdentifierError(field, "length", f"must be at most {_HSA_ID_MAX_LENGTH} characters")
    return _match(_HSA_ID_RE, cleaned, field, "SE + 10 digits + '-' + letters/digits")


def normalize_organisationsnummer(value: str, *, field: str = "organisationsnummer") -> str:
    """Organisationsnummer: 10 digits (``NNNNNN-NNNN`` accepted), third digit >= 2, Luhn.

    Returns the 10 digits without hyphen.
    """
    cleaned = _clean(value, field)
    if len(cleaned) == 11 and cleaned[6] == "-":
        cleaned = cleaned[:6] + cleaned[7:]
    digits = _digits(cleaned, field, 10)
    if int(digits[2]) < 2:
        raise IdentifierError(field, "format", "third digit must be 2 or higher")
    if not _luhn_ok(digits):
        raise IdentifierError(field, "luhn", "check digit does not match")
    return digits


def validate_municipality_code(value: str, *, field: str = "municipality_code") -> str:
    """Kommunkod: exactly 4 digits (e.g. ``0180`` Stockholm)."""
    return _digits(value, field, 4)


# --------------------------------------------------------------------------- code systems


def validate_atc(value: str, *, field: str = "atc") -> str:
    """ATC level-5 code ``A99AA99`` (e.g. ``B01AA03``); uppercased.

    The first letter must be one of the 14 anatomical main groups (A B C D G H J L M N
    P R S V). Shorter ATC levels are rejected.
    """
    cleaned = _clean(value, field).upper()
    if len(cleaned) != 7:
        raise IdentifierError(field, "length", "must be 7 characters (ATC level 5)")
    return _match(_ATC_RE, cleaned, field, "an ATC level-5 code like B01AA03")


def normalize_icd10_se(value: str, *, field: str = "icd10_se") -> str:
    """ICD-10-SE: letter + 2 digits, optionally 1-2 letters/digits after an optional dot.

    Uppercased and returned in dotted form (``I219`` -> ``I21.9``; ``I21`` stays).
    """
    cleaned = _clean(value, field).upper()
    match = _ICD10_RE.fullmatch(cleaned)
    if match is None:
        raise IdentifierError(field, "format", "must be like I21, I21.9 or S72.00")
    category, extension = match.group("category", "extension")
    return f"{category}.{extension}" if extension else category


def validate_kva(value: str, *, field: str = "kva") -> str:
    """KVÅ code: 2 letters + letter or digit + 2 digits (e.g. ``AF021``, ``QX003``)."""
    cleaned = _clean(value, field).upper()
    if len(cleaned) != 5:
        raise IdentifierError(field, "length", "must be 5 characters")
    return _match(_KVA_RE, cleaned, field, "2 letters, a letter or digit, and 2 digits")


def validate_npl_id(value: str, *, field: str = "npl_id") -> str:
    """NPL-id (läkemedel): exactly 14 digits."""
    return _digits(value, field, 14)


def validate_npl_pack_id(value: str, *, field: str = "npl_pack_id") -> str:
    """NPL pack-id (förpackning): exactly 14 digits."""
    return _digits(value, field, 14)


def validate_lab_code(system: str, code: str, *, field: str = "lab_code") -> str:
    """Laboratory analysis code for ``system`` "NPU" (``NPU12345``) or "LOINC" (``2345-7``).

    ``system`` is case-insensitive. NPU codes are uppercased; for LOINC only the format
    is checked, not the check digit. An unknown system raises with rule ``kind``.
    """
    system_name = system.strip().upper()
    cleaned = _clean(code, field)
    if system_name == "NPU":
        return _match(_NPU_RE, cleaned.upper(), field, "NPU + 5 digits")
    if system_name == "LOINC":
        return _match(_LOINC_RE, cleaned, field, "1-7 digits, '-', check digit")
    raise IdentifierError(field, "kind", f"unknown lab code system {system!r}; use NPU or LOINC")


# --------------------------------------------------------------------------- dental


def validate_fdi_tooth(value: str, *, field: str = "tooth") -> str:
    """FDI tooth number as a 2-character string: permanent 11-48, primary 51-85.

    Returned as ``str`` (not ``int``) so it is stored and compared as a code.
    """
    cleaned = _clean(value, field)
    return _match(_FDI_TOOTH_RE, cleaned, field, "an FDI tooth (11-18 ... 41-48, 51-55 ... 81-85)")


def validate_tooth_surface(value: str, *, field: str = "tooth_surface") -> str:
    """Tooth surfaces: one or more of M O I D B F L P, no repeats; uppercased, order kept."""
    cleaned = _clean(value, field).upper()
    invalid = sorted(set(cleaned) - _TOOTH_SURFACES)
    if invalid:
        raise IdentifierError(field, "format", f"unknown surface(s) {''.join(invalid)!r}")
    if len(set(cleaned)) != len(cleaned):
        raise IdentifierError(field, "duplicate", "a surface is repeated")
    return cleaned


def validate_tlv_procedure_code(value: str, *, field: str = "tlv_procedure_code") -> str:
    """TLV åtgärdskod (dental procedure): exactly 3 digits (e.g. ``101``, ``401``)."""
    return _digits(value, field, 3)


def validate_tlv_condition_code(value: str, *, field: str = "tlv_condition_code") -> str:
    """TLV tillståndskod (dental condition): 1-4 digits (loose check)."""
    return _digits(value, field, 1, 4)
