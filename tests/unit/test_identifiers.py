"""Unit tests for app.identifiers (pure functions, no database)."""

from __future__ import annotations

import pickle
import random
from collections.abc import Callable
from datetime import date, timedelta

import pytest

from app import identifiers as ids
from app.identifiers import IdentifierError

try:
    from hypothesis import given  # type: ignore[import-not-found, unused-ignore]
    from hypothesis import strategies as st  # type: ignore[import-not-found, unused-ignore]
except ImportError:  # pragma: no cover - hypothesis is an optional test dependency
    HAVE_HYPOTHESIS = False
else:
    HAVE_HYPOTHESIS = True

# Fixed reference date so century inference is deterministic.
REF = date(2025, 6, 15)


def ref_check_digit(nine: str) -> str:
    """Independent Luhn reference: from the right, double every other digit, minus 9."""
    total = 0
    for position, char in enumerate(reversed(nine)):
        value = int(char) * 2 if position % 2 == 0 else int(char)
        total += value - 9 if value > 9 else value
    return str(-total % 10)


def with_check(nine: str) -> str:
    """Append the reference check digit to a nine-digit payload."""
    return nine + ref_check_digit(nine)


def flip_check(ten_or_twelve: str) -> str:
    """Replace the last (check) digit with a different one."""
    return ten_or_twelve[:-1] + str((int(ten_or_twelve[-1]) + 1) % 10)


def assert_rule(func: Callable[[], object], rule: str, field: str | None = None) -> None:
    with pytest.raises(IdentifierError) as excinfo:
        func()
    assert excinfo.value.rule == rule, str(excinfo.value)
    if field is not None:
        assert excinfo.value.field == field
    assert excinfo.value.field in str(excinfo.value)
    assert rule in str(excinfo.value)


# --------------------------------------------------------------------------- error type


def test_identifier_error_carries_field_rule_and_message() -> None:
    with pytest.raises(ValueError) as excinfo:
        ids.normalize_personnummer("640823-3235")
    error = excinfo.value
    assert isinstance(error, IdentifierError)
    assert (error.field, error.rule) == ("personnummer", "luhn")
    assert str(error) == "personnummer: check digit does not match (luhn)"


def test_identifier_error_uses_custom_field_name_and_pickles() -> None:
    with pytest.raises(IdentifierError) as excinfo:
        ids.normalize_personnummer("640823-3235", field="patient.pnr")
    assert excinfo.value.field == "patient.pnr"
    assert str(excinfo.value).startswith("patient.pnr: ")
    restored = pickle.loads(pickle.dumps(excinfo.value))
    assert (restored.field, restored.rule, str(restored)) == (
        "patient.pnr",
        "luhn",
        str(excinfo.value),
    )


# --------------------------------------------------------------------------- Luhn


def test_luhn_known_values_worked_by_hand() -> None:
    # 6408233234: 6*2=12->3, 4, 0*2=0, 8, 2*2=4, 3, 3*2=6, 2, 3*2=6 -> sum 36 -> 4
    assert ids.luhn_check_digit("640823323") == 4
    # 1212121212: 2+2+2+2+2+2+2+2+2 = 18 -> 2
    assert ids.luhn_check_digit("121212121") == 2
    # 2321000016: 4,3,4,1,0,0,0,0,2 -> 14 -> 6
    assert ids.luhn_check_digit("232100001") == 6
    # 5560360793: 10->1,5,12->3,0,6,6,0,7,18->9 -> 37 -> 3
    assert ids.luhn_check_digit("556036079") == 3


def test_luhn_agrees_with_reference_implementation() -> None:
    rng = random.Random(1234)
    for _ in range(500):
        nine = "".join(rng.choice("0123456789") for _ in range(9))
        assert str(ids.luhn_check_digit(nine)) == ref_check_digit(nine)


@pytest.mark.parametrize("bad", ["12345678", "1234567890", "12345678a", "١٢٣٤٥٦٧٨٩"])
def test_luhn_rejects_bad_input(bad: str) -> None:
    assert_rule(lambda: ids.luhn_check_digit(bad), "format")


# --------------------------------------------------------------------------- personnummer


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("191212121212", "191212121212"),
        ("6408233234", "196408233234"),
        ("640823-3234", "196408233234"),
        ("19640823-3234", "196408233234"),
        ("  640823-3234\n", "196408233234"),
        ("121212+1212", "191212121212"),  # '+': 100 or older
        ("121212-1212", "201212121212"),
        ("1212121212", "201212121212"),
        ("181212121212", "181212121212"),  # century 18 allowed
        ("20" + with_check("000229123"), "20" + with_check("000229123")),  # leap day 2000
        ("20" + with_check("250615123"), "20" + with_check("250615123")),  # born today
    ],
)
def test_normalize_personnummer_valid(value: str, expected: str) -> None:
    assert ids.normalize_personnummer(value, today=REF) == expected


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("640823-3235", "luhn"),
        ("191212121213", "luhn"),
        (with_check("640230123"), "date"),  # 30 February
        ("19" + with_check("640230123"), "date"),
        (with_check("641323123"), "date"),  # month 13
        (with_check("640001123"), "date"),  # month 0
        (with_check("640800123"), "date"),  # day 0
        ("19" + with_check("000229123"), "date"),  # 1900 is not a leap year
        (with_check("640883323"), "date"),  # day 83 is a samordningsnummer
        ("17" + with_check("121212121"), "century"),
        ("21" + with_check("000101123"), "century"),
        ("20" + with_check("250616123"), "date"),  # tomorrow (future)
        (with_check("250616123"), "date"),  # 10-digit '-' => this year => future
        ("20" + with_check("300101123"), "date"),  # future year
        ("64082a3234", "format"),
        ("abcdefghij", "format"),
        ("640823_3234", "format"),
        ("6408-233234", "format"),
        ("19640823+3234", "format"),  # '+' only with the 10-digit form
        ("64082332", "length"),
        ("19640823323", "length"),
        ("1964082332344", "length"),
        ("", "empty"),
        ("   ", "empty"),
    ],
)
def test_normalize_personnummer_invalid(value: str, rule: str) -> None:
    assert_rule(lambda: ids.normalize_personnummer(value, today=REF), rule, "personnummer")


def test_plus_sign_moves_century_back() -> None:
    minus = ids.normalize_personnummer("121212-1212", today=REF)
    plus = ids.normalize_personnummer("121212+1212", today=REF)
    assert (minus, plus) == ("201212121212", "191212121212")


def test_century_inference_window_is_by_calendar_year() -> None:
    # Born 1925-12-31: turns 100 in 2025, so from 2025-01-01 the display form uses '+'.
    twelve = "19" + with_check("251231123")
    ten = twelve[2:]
    new_year = date(2025, 1, 1)
    assert ids.format_personnummer(twelve, today=new_year) == f"{ten[:6]}+{ten[6:]}"
    assert ids.normalize_personnummer(f"{ten[:6]}+{ten[6:]}", today=new_year) == twelve
    # On 2024-12-31 the same person is still written with '-'.
    new_years_eve = date(2024, 12, 31)
    assert ids.format_personnummer(twelve, today=new_years_eve) == f"{ten[:6]}-{ten[6:]}"
    assert ids.normalize_personnummer(f"{ten[:6]}-{ten[6:]}", today=new_years_eve) == twelve


def test_normalize_personnummer_defaults_to_today() -> None:
    assert ids.normalize_personnummer("6408233234") == "196408233234"


def test_format_personnummer() -> None:
    assert ids.format_personnummer("196408233234", today=REF) == "640823-3234"
    assert ids.format_personnummer("191212121212", today=REF) == "121212+1212"
    assert ids.format_personnummer("191212121212", today=date(2011, 12, 31)) == "121212-1212"
    assert ids.format_personnummer("191212121212", today=date(2012, 1, 1)) == "121212+1212"
    assert_rule(lambda: ids.format_personnummer("191212121213", today=REF), "luhn")


def test_birth_date_of() -> None:
    assert ids.birth_date_of("191212121212") == date(1912, 12, 12)
    assert ids.birth_date_of("196408233234") == date(1964, 8, 23)
    assert ids.birth_date_of("196408833231") == date(1964, 8, 23)  # samordningsnummer
    assert_rule(lambda: ids.birth_date_of("196408233235"), "luhn")


# --------------------------------------------------------------------------- samordningsnummer


def test_samordningsnummer_check_digit_by_hand() -> None:
    # 640883323: 6*2=12->3, 4, 0, 8, 8*2=16->7, 3, 3*2=6, 2, 3*2=6 -> 39 -> (10 - 9) % 10 = 1
    assert ref_check_digit("640883323") == "1"
    # 121272121: 2, 2, 2, 2, 7*2=14->5, 2, 2, 2, 2 -> 21 -> (10 - 1) % 10 = 9
    assert ref_check_digit("121272121") == "9"
    assert ids.luhn_check_digit("640883323") == 1
    assert ids.luhn_check_digit("121272121") == 9


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("6408833231", "196408833231"),
        ("640883-3231", "196408833231"),
        ("196408833231", "196408833231"),
        ("191212721219", "191212721219"),
        ("121272+1219", "191212721219"),
        ("19" + with_check("900191123"), "19" + with_check("900191123")),  # 31st + 60 = 91
        ("19" + with_check("900161123"), "19" + with_check("900161123")),  # 1st + 60 = 61
    ],
)
def test_normalize_samordningsnummer_valid(value: str, expected: str) -> None:
    assert ids.normalize_samordningsnummer(value, today=REF) == expected


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("6408833232", "luhn"),
        ("6408233234", "date"),  # a valid personnummer (day 23) is not a samordningsnummer
        ("191212121212", "date"),
        (with_check("900292123"), "date"),  # day 92
        (with_check("900260123"), "date"),  # day 60
        (with_check("900290123"), "date"),  # 30 February + 60
        ("20" + with_check("250676123"), "date"),  # 2025-06-16 (future)
        ("17" + with_check("121272121"), "century"),
        ("640883_3231", "format"),
        ("64088332", "length"),
    ],
)
def test_normalize_samordningsnummer_invalid(value: str, rule: str) -> None:
    assert_rule(lambda: ids.normalize_samordningsnummer(value, today=REF), rule)


def test_personnummer_rejects_valid_samordningsnummer() -> None:
    assert_rule(lambda: ids.normalize_personnummer("6408833231", today=REF), "date")


def test_format_samordningsnummer() -> None:
    assert ids.format_personnummer("196408833231", today=REF) == "640883-3231"


# --------------------------------------------------------------------------- person dispatch


def test_detect_person_identifier_kind() -> None:
    assert ids.detect_person_identifier_kind("196408233234") == "personnummer"
    assert ids.detect_person_identifier_kind("640883-3231") == "samordningsnummer"
    assert_rule(lambda: ids.detect_person_identifier_kind("ABC-123"), "format")
    assert_rule(lambda: ids.detect_person_identifier_kind(" "), "empty")


def test_normalize_person_identifier_dispatch() -> None:
    norm = ids.normalize_person_identifier
    assert norm("personnummer", "640823-3234", today=REF) == "196408233234"
    assert norm("samordningsnummer", "640883-3231", today=REF) == "196408833231"
    assert norm("reservnummer", " abc-123 ") == "ABC-123"
    assert_rule(lambda: norm("personnummer", "640883-3231", today=REF), "date", "personnummer")
    assert_rule(lambda: norm("samordningsnummer", "6408233234"), "date", "samordningsnummer")
    assert_rule(lambda: norm("personnummer", "6408233235", field="pnr"), "luhn", "pnr")
    assert_rule(lambda: norm("passport", "X123"), "kind")


@pytest.mark.parametrize(
    ("value", "rule"),
    [("A" * 21, "length"), ("AB_12", "format"), ("AB 12", "format"), ("", "empty")],
)
def test_reservnummer_invalid(value: str, rule: str) -> None:
    assert_rule(lambda: ids.validate_reservnummer(value), rule, "reservnummer")


def test_reservnummer_valid() -> None:
    assert ids.validate_reservnummer("99990101-x123") == "99990101-X123"
    assert ids.validate_reservnummer("A" * 20) == "A" * 20


# --------------------------------------------------------------------------- property test


def check_generated_personnummer(born: date, serial: int, today: date) -> None:
    nine = f"{born:%y%m%d}{serial:03d}"
    twelve = f"{born:%Y}{nine[2:]}{ref_check_digit(nine)}"
    assert ids.normalize_personnummer(twelve, today=today) == twelve
    display = ids.format_personnummer(twelve, today=today)
    assert display[6] == ("+" if today.year - born.year >= 100 else "-")
    assert ids.normalize_personnummer(display, today=today) == twelve
    assert ids.normalize_personnummer(display.replace("-", ""), today=today) == twelve
    assert ids.birth_date_of(twelve) == born
    with pytest.raises(IdentifierError) as excinfo:
        ids.normalize_personnummer(flip_check(twelve), today=today)
    assert excinfo.value.rule == "luhn"


def test_generated_personnummer_round_trip_seeded() -> None:
    """Runs without hypothesis: 2000 seeded random cases."""
    rng = random.Random(20251121)
    start, span = date(1900, 1, 1), (date(2020, 12, 31) - date(1900, 1, 1)).days
    for _ in range(2000):
        born = start + timedelta(days=rng.randint(0, span))
        today = date(2021, 1, 1) + timedelta(days=rng.randint(0, 365 * 78))
        check_generated_personnummer(born, rng.randint(0, 999), today)


if HAVE_HYPOTHESIS:

    @given(  # type: ignore[untyped-decorator, unused-ignore]
        born=st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 12, 31)),
        serial=st.integers(min_value=0, max_value=999),
        today=st.dates(min_value=date(2021, 1, 1), max_value=date(2099, 12, 31)),
    )
    def test_generated_personnummer_round_trip_property(
        born: date, serial: int, today: date
    ) -> None:
        check_generated_personnummer(born, serial, today)

else:  # pragma: no cover

    @pytest.mark.skip(reason="hypothesis is not installed")
    def test_generated_personnummer_round_trip_property() -> None:
        pass


# --------------------------------------------------------------------------- HSA-id


def test_hsa_id_valid() -> None:
    assert ids.validate_hsa_id(" SE2321000016-ABC1 ") == "SE2321000016-ABC1"
    assert ids.validate_hsa_id("SE2321000016-1") == "SE2321000016-1"
    longest = "SE2321000016-" + "a" * 18  # 31 characters
    assert ids.validate_hsa_id(longest) == longest


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("SE232100001-ABC", "format"),  # 9 digits
        ("se2321000016-abc", "format"),
        ("SE2321000016-", "format"),
        ("SE2321000016ABC", "format"),
        ("SE2321000016-AB C", "format"),
        ("SE2321000016-" + "A" * 19, "length"),  # 32 characters
        ("", "empty"),
    ],
)
def test_hsa_id_invalid(value: str, rule: str) -> None:
    assert_rule(lambda: ids.validate_hsa_id(value), rule, "hsa_id")


# --------------------------------------------------------------------------- organisationsnummer


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2321000016", "2321000016"),  # Region Stockholm
        ("232100-0016", "2321000016"),
        ("5560360793", "5560360793"),
        (" 556036-0793 ", "5560360793"),
    ],
)
def test_organisationsnummer_valid(value: str, expected: str) -> None:
    assert ids.normalize_organisationsnummer(value) == expected


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("2321000017", "luhn"),
        ("6408233234", "format"),  # third digit 0: a personnummer, not an organisation
        ("23210-00016", "format"),
        ("23210000l6", "format"),
        ("232100001", "length"),
        ("162321000016", "length"),
    ],
)
def test_organisationsnummer_invalid(value: str, rule: str) -> None:
    assert_rule(lambda: ids.normalize_organisationsnummer(value), rule, "organisationsnummer")


# --------------------------------------------------------------------------- ATC / ICD / KVÅ


@pytest.mark.parametrize(
    ("value", "expected"),
    [("B01AA03", "B01AA03"), ("N02BE01", "N02BE01"), (" n02be01 ", "N02BE01")],
)
def test_atc_valid(value: str, expected: str) -> None:
    assert ids.validate_atc(value) == expected


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("B01AA", "length"),  # level 4 is not accepted
        ("B01", "length"),
        ("X01AA01", "format"),  # no anatomical group X
        ("B0AAA03", "format"),
        ("B01AA0X", "format"),
        ("", "empty"),
    ],
)
def test_atc_invalid(value: str, rule: str) -> None:
    assert_rule(lambda: ids.validate_atc(value), rule, "atc")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("I21.9", "I21.9"),
        ("E11.9", "E11.9"),
        ("J45.9", "J45.9"),
        ("S72.00", "S72.00"),
        ("U07.1", "U07.1"),
        ("I219", "I21.9"),
        ("S7200", "S72.00"),
        (" i21.9 ", "I21.9"),
        ("I21", "I21"),
    ],
)
def test_icd10_se_valid(value: str, expected: str) -> None:
    assert ids.normalize_icd10_se(value) == expected


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("I2", "format"),
        ("121.9", "format"),
        ("I21.", "format"),
        ("I21.123", "format"),
        ("I21-9", "format"),
        ("II1.9", "format"),
        ("", "empty"),
    ],
)
def test_icd10_se_invalid(value: str, rule: str) -> None:
    assert_rule(lambda: ids.normalize_icd10_se(value), rule, "icd10_se")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("AF021", "AF021"), ("DT016", "DT016"), ("QX003", "QX003"), ("aa123", "AA123")],
)
def test_kva_valid(value: str, expected: str) -> None:
    assert ids.validate_kva(value) == expected


@pytest.mark.parametrize(
    ("value", "rule"),
    [("AF02", "length"), ("AF0211", "length"), ("A1021", "format"), ("AF0A1", "format")],
)
def test_kva_invalid(value: str, rule: str) -> None:
    assert_rule(lambda: ids.validate_kva(value), rule, "kva")


# --------------------------------------------------------------------------- NPL


@pytest.mark.parametrize("validator", [ids.validate_npl_id, ids.validate_npl_pack_id])
def test_npl_valid(validator: Callable[[str], str]) -> None:
    assert validator(" 19750101000034 ") == "19750101000034"


@pytest.mark.parametrize("validator", [ids.validate_npl_id, ids.validate_npl_pack_id])
@pytest.mark.parametrize(
    ("value", "rule"),
    [("1975010100003", "length"), ("197501010000345", "length"), ("1975010100003X", "format")],
)
def test_npl_invalid(validator: Callable[[str], str], value: str, rule: str) -> None:
    assert_rule(lambda: validator(value), rule)


# --------------------------------------------------------------------------- laboratory


@pytest.mark.parametrize(
    ("system", "code", "expected"),
    [
        ("NPU", "NPU12345", "NPU12345"),
        ("npu", " npu01685 ", "NPU01685"),
        ("LOINC", "2345-7", "2345-7"),
        ("loinc", "718-7", "718-7"),
    ],
)
def test_lab_code_valid(system: str, code: str, expected: str) -> None:
    assert ids.validate_lab_code(system, code) == expected


@pytest.mark.parametrize(
    ("system", "code", "rule"),
    [
        ("NPU", "NPU1234", "format"),
        ("NPU", "XYZ12345", "format"),
        ("LOINC", "23457", "format"),
        ("LOINC", "12345678-9", "format"),
        ("LOINC", "", "empty"),
        ("SNOMED", "12345", "kind"),
    ],
)
def test_lab_code_invalid(system: str, code: str, rule: str) -> None:
    assert_rule(lambda: ids.validate_lab_code(system, code), rule, "lab_code")


# --------------------------------------------------------------------------- dental


@pytest.mark.parametrize("value", ["11", "18", "36", "48", "51", "55", "85", " 21 "])
def test_fdi_tooth_valid(value: str) -> None:
    assert ids.validate_fdi_tooth(value) == value.strip()


@pytest.mark.parametrize("value", ["10", "19", "49", "56", "86", "90", "1", "111", "ab"])
def test_fdi_tooth_invalid(value: str) -> None:
    assert_rule(lambda: ids.validate_fdi_tooth(value), "format", "tooth")


@pytest.mark.parametrize(
    ("value", "expected"), [("MOD", "MOD"), ("mod", "MOD"), ("B", "B"), ("MOIDBFLP", "MOIDBFLP")]
)
def test_tooth_surface_valid(value: str, expected: str) -> None:
    assert ids.validate_tooth_surface(value) == expected


@pytest.mark.parametrize(
    ("value", "rule"), [("X", "format"), ("MOX", "format"), ("MOM", "duplicate"), ("", "empty")]
)
def test_tooth_surface_invalid(value: str, rule: str) -> None:
    assert_rule(lambda: ids.validate_tooth_surface(value), rule, "tooth_surface")


@pytest.mark.parametrize("value", ["101", "103", "401", "501"])
def test_tlv_procedure_code_valid(value: str) -> None:
    assert ids.validate_tlv_procedure_code(value) == value


@pytest.mark.parametrize(
    ("value", "rule"), [("10", "length"), ("1011", "length"), ("1a1", "format")]
)
def test_tlv_procedure_code_invalid(value: str, rule: str) -> None:
    assert_rule(lambda: ids.validate_tlv_procedure_code(value), rule, "tlv_procedure_code")


@pytest.mark.parametrize("value", ["3041", "1", "800"])
def test_tlv_condition_code_valid(value: str) -> None:
    assert ids.validate_tlv_condition_code(value) == value


@pytest.mark.parametrize(("value", "rule"), [("30411", "length"), ("30a", "format"), ("", "empty")])
def test_tlv_condition_code_invalid(value: str, rule: str) -> None:
    assert_rule(lambda: ids.validate_tlv_condition_code(value), rule, "tlv_condition_code")


# --------------------------------------------------------------------------- municipality


@pytest.mark.parametrize("value", ["0180", "1480", " 2584 "])
def test_municipality_code_valid(value: str) -> None:
    assert ids.validate_municipality_code(value) == value.strip()


@pytest.mark.parametrize(
    ("value", "rule"), [("180", "length"), ("01800", "length"), ("01a0", "format")]
)
def test_municipality_code_invalid(value: str, rule: str) -> None:
    assert_rule(lambda: ids.validate_municipality_code(value), rule, "municipality_code")


# --------------------------------------------------------------------------- OIDs


def test_oid_constants() -> None:
    assert ids.OID_PERSONNUMMER == "1.2.752.129.2.1.3.1"
    assert ids.OID_SAMORDNINGSNUMMER == "1.2.752.129.2.1.3.3"
    assert ids.OID_HSA_ID == "1.2.752.129.2.1.4.1"
    assert ids.OID_ICD10_SE == "1.2.752.116.1.1.1.1.3"
    assert ids.OID_KVA == "1.2.752.116.1.3.2.1.4"
    assert ids.OID_NPL_ID == "1.2.752.129.2.1.5.1"
    assert ids.OID_NPL_PACK_ID == "1.2.752.129.2.1.5.2"
    assert ids.OID_ATC == "2.16.840.1.113883.6.73"
    assert ids.OID_ICF == "1.2.752.116.1.1.3"
