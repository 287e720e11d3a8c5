"""Swedish places: real kommuner (kommunkod, county), the 21 regions and their main hospitals.

Kommun codes, county codes, region names and hospital names are real. Populations are rounded
(2024) and only weight where synthetic patients live. Organisation numbers follow the real
pattern (232100-xxxx for regions, 212000-xxxx for kommuner); their check digits are computed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Place:
    code: str
    name: str
    county: str
    population: int  # thousands, rounded
    postal_prefix: str  # first two digits of the postal codes used there


MUNICIPALITIES: tuple[Place, ...] = (
    Place("0114", "Upplands Väsby", "01", 48, "19"),
    Place("0123", "Järfälla", "01", 84, "17"),
    Place("0126", "Huddinge", "01", 115, "14"),
    Place("0127", "Botkyrka", "01", 97, "14"),
    Place("0138", "Tyresö", "01", 50, "13"),
    Place("0162", "Danderyd", "01", 33, "18"),
    Place("0163", "Sollentuna", "01", 76, "19"),
    Place("0180", "Stockholm", "01", 988, "11"),
    Place("0181", "Södertälje", "01", 101, "15"),
    Place("0182", "Nacka", "01", 109, "13"),
    Place("0183", "Sundbyberg", "01", 54, "17"),
    Place("0184", "Solna", "01", 85, "17"),
    Place("0186", "Lidingö", "01", 48, "18"),
    Place("0188", "Norrtälje", "01", 64, "76"),
    Place("0191", "Sigtuna", "01", 53, "19"),
    Place("0380", "Uppsala", "03", 245, "75"),
    Place("0381", "Enköping", "03", 47, "74"),
    Place("0480", "Nyköping", "04", 58, "61"),
    Place("0484", "Eskilstuna", "04", 108, "63"),
    Place("0580", "Linköping", "05", 167, "58"),
    Place("0581", "Norrköping", "05", 145, "60"),
    Place("0680", "Jönköping", "06", 145, "55"),
    Place("0780", "Växjö", "07", 97, "35"),
    Place("0880", "Kalmar", "08", 72, "39"),
    Place("0980", "Gotland", "09", 61, "62"),
    Place("1080", "Karlskrona", "10", 67, "37"),
    Place("1280", "Malmö", "12", 362, "21"),
    Place("1281", "Lund", "12", 128, "22"),
    Place("1282", "Landskrona", "12", 47, "26"),
    Place("1283", "Helsingborg", "12", 151, "25"),
    Place("1290", "Kristianstad", "12", 87, "29"),
    Place("1380", "Halmstad", "13", 106, "30"),
    Place("1383", "Varberg", "13", 68, "43"),
    Place("1401", "Härryda", "14", 40, "43"),
    Place("1480", "Göteborg", "14", 607, "41"),
    Place("1481", "Mölndal", "14", 71, "43"),
    Place("1485", "Uddevalla", "14", 57, "45"),
    Place("1488", "Trollhättan", "14", 60, "46"),
    Place("1490", "Borås", "14", 115, "50"),
    Place("1496", "Skövde", "14", 57, "54"),
    Place("1780", "Karlstad", "17", 96, "65"),
    Place("1880", "Örebro", "18", 159, "70"),
    Place("1980", "Västerås", "19", 158, "72"),
    Place("2080", "Falun", "20", 60, "79"),
    Place("2081", "Borlänge", "20", 53, "78"),
    Place("2180", "Gävle", "21", 104, "80"),
    Place("2281", "Sundsvall", "22", 100, "85"),
    Place("2284", "Örnsköldsvik", "22", 56, "89"),
    Place("2380", "Östersund", "23", 65, "83"),
    Place("2480", "Umeå", "24", 132, "90"),
    Place("2482", "Skellefteå", "24", 76, "93"),
    Place("2580", "Luleå", "25", 80, "97"),
    Place("2584", "Kiruna", "25", 22, "98"),
)


@dataclass(frozen=True, slots=True)
class Region:
    county: str
    name: str
    org_prefix: str  # first nine digits of the organisation number
    hospital: str  # the main (emergency) hospital
    hospital_town: str  # kommunkod of the hospital


REGIONS: tuple[Region, ...] = (
    Region("01", "Region Stockholm", "232100001", "Södersjukhuset", "0180"),
    Region("03", "Region Uppsala", "232100002", "Akademiska sjukhuset", "0380"),
    Region("04", "Region Sörmland", "232100003", "Mälarsjukhuset", "0484"),
    Region("05", "Region Östergötland", "232100004", "Universitetssjukhuset i Linköping", "0580"),
    Region("06", "Region Jönköpings län", "232100005", "Länssjukhuset Ryhov", "0680"),
    Region("07", "Region Kronoberg", "232100006", "Centrallasarettet Växjö", "0780"),
    Region("08", "Region Kalmar län", "232100007", "Länssjukhuset i Kalmar", "0880"),
    Region("09", "Region Gotland", "212000080", "Visby lasarett", "0980"),
    Region("10", "Region Blekinge", "232100008", "Blekingesjukhuset", "1080"),
    Region("12", "Region Skåne", "232100025", "Skånes universitetssjukhus", "1280"),
    Region("13", "Region Halland", "232100011", "Hallands sjukhus Halmstad", "1380"),
    Region(
        "14", "Västra Götalandsregionen", "232100013", "Sahlgrenska Universitetssjukhuset", "1480"
    ),
    Region("17", "Region Värmland", "232100015", "Centralsjukhuset Karlstad", "1780"),
    Region("18", "Region Örebro län", "232100016", "Universitetssjukhuset Örebro", "1880"),
    Region("19", "Region Västmanland", "232100017", "Västmanlands sjukhus Västerås", "1980"),
    Region("20", "Region Dalarna", "232100018", "Falu lasarett", "2080"),
    Region("21", "Region Gävleborg", "232100019", "Gävle sjukhus", "2180"),
    Region("22", "Region Västernorrland", "232100020", "Sundsvalls sjukhus", "2281"),
    Region("23", "Region Jämtland Härjedalen", "232100021", "Östersunds sjukhus", "2380"),
    Region("24", "Region Västerbotten", "232100022", "Norrlands universitetssjukhus", "2480"),
    Region("25", "Region Norrbotten", "232100023", "Sunderby sjukhus", "2580"),
)

# Parts of town that name vårdcentraler, home-care districts and pharmacies.
DISTRICTS: dict[str, tuple[str, ...]] = {
    "0180": ("Kungsholmen", "Södermalm", "Vasastan", "Östermalm", "Farsta", "Skärholmen"),
    "1480": ("Majorna", "Backa", "Frölunda", "Angered", "Linnéstaden"),
    "1280": ("Limhamn", "Rosengård", "Husie", "Möllevången"),
    "0380": ("Gottsunda", "Luthagen", "Sävja"),
}
DEFAULT_DISTRICTS = ("centrum", "norra", "södra")

# Specialist clinics every main hospital has (name suffix, kind of doctor working there).
SPECIALTIES: tuple[tuple[str, str], ...] = (
    ("medicinmottagning", "medicin"),
    ("ortopedmottagning", "ortopedi"),
    ("barn- och ungdomsmottagning", "barn"),
    ("psykiatrisk mottagning", "psykiatri"),
    ("kvinnokliniken", "kvinno"),
)
