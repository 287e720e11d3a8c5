"""Loaders of care providers, units, practitioners, municipalities, and their lists."""

from __future__ import annotations

from resolvers.listing import Listing
from resolvers.loaders.base import ReferenceByKeyLoader, ReferenceListLoader
from resolvers.loaders.common import across_patients
from resolvers.loaders.reverse import ReverseListLoader
from resolvers.pagination import SortKey
from resolvers.tables import (
    CARE_CONTACT,
    CARE_DOCUMENT,
    CARE_PROVIDER,
    CARE_UNIT,
    MUNICIPALITY,
    PRACTITIONER,
    RESEARCH_STUDY,
)


class CareProviderByIdLoader(ReferenceByKeyLoader):
    table = CARE_PROVIDER


class CareProviderByHsaIdLoader(ReferenceByKeyLoader):
    table = CARE_PROVIDER
    column = "hsa_id"


class CareUnitByIdLoader(ReferenceByKeyLoader):
    table = CARE_UNIT


class CareUnitByHsaIdLoader(ReferenceByKeyLoader):
    table = CARE_UNIT
    column = "hsa_id"


class PractitionerByIdLoader(ReferenceByKeyLoader):
    table = PRACTITIONER


class PractitionerByHsaIdLoader(ReferenceByKeyLoader):
    table = PRACTITIONER
    column = "hsa_id"


class MunicipalityByCodeLoader(ReferenceByKeyLoader):
    table = MUNICIPALITY
    column = "code"


class ResearchStudyByIdLoader(ReferenceByKeyLoader):
    table = RESEARCH_STUDY


class CareUnitsByProviderLoader(ReferenceListLoader):
    listing = Listing(
        CARE_UNIT, ("care_provider_id",), SortKey("CareUnit", ("name", "id"), False), None
    )


class CareContactsByUnitLoader(ReverseListLoader):
    listing = across_patients(CARE_CONTACT, "CareContact", "care_unit_id")


class CareDocumentsByPractitionerLoader(ReverseListLoader):
    listing = across_patients(CARE_DOCUMENT, "CareDocument", "accountable_practitioner_id")
