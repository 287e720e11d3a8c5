"""The schema's shape follows the data model: names, enums, interfaces."""

from __future__ import annotations

from enum import Enum, StrEnum

import pytest

from app import models, news2
from app.models import (
    care,
    consent,
    municipal,
    organizations,
    patients,
    prescriptions,
    referrals,
)
from schema import enums, schema
from schema.events import CareEvent
from schema.node import Node
from schema.registry import EVENT_TYPES, TYPES

MIRRORS: list[tuple[type[Enum], type[StrEnum]]] = [
    (enums.ContactType, care.ContactType),
    (enums.ContactStatus, care.ContactStatus),
    (enums.DiagnosisType, care.DiagnosisType),
    (enums.AlertType, care.AlertType),
    (enums.Severity, care.Severity),
    (enums.LabInterpretation, care.LabInterpretation),
    (enums.PrescriptionKind, prescriptions.PrescriptionKind),
    (enums.PrescriptionStatus, prescriptions.PrescriptionStatus),
    (enums.DecisionOutcome, municipal.DecisionOutcome),
    (enums.Framework, municipal.Framework),
    (enums.ProviderKind, organizations.ProviderKind),
    (enums.UnitKind, organizations.UnitKind),
    (enums.IdentifierKind, patients.IdentifierKind),
    (enums.Sex, patients.Sex),
    (enums.RepresentativeKind, patients.RepresentativeKind),
    (enums.ConsentKind, consent.ConsentKind),
    (enums.BlockKind, consent.BlockKind),
    (enums.Consciousness, news2.Consciousness),
    (enums.News2Risk, news2.News2Risk),
    (enums.ReferralStatus, referrals.ReferralStatus),
    (enums.ReferralPriority, referrals.ReferralPriority),
    (enums.DischargeStatus, referrals.DischargeStatus),
    (enums.RelationshipOrigin, patients.RelationshipOrigin),
    (enums.AdministrationOutcome, prescriptions.AdministrationOutcome),
]


@pytest.mark.parametrize(("graphql", "model"), MIRRORS, ids=lambda e: e.__name__)
def test_graphql_enums_mirror_the_model(graphql: type[Enum], model: type[StrEnum]) -> None:
    assert {m.name: m.value for m in graphql} == {m.name: m.value for m in model}


def test_every_clinical_table_is_a_care_event_with_a_kind() -> None:
    names = {m.__name__ for m in models.CLINICAL_TABLES}
    assert set(EVENT_TYPES) == names
    assert {str(k.value) for k in enums.CareEventKind} == names
    for name, (cls, _) in EVENT_TYPES.items():
        assert cls.__name__ == name
        assert issubclass(cls, CareEvent)


def test_every_entity_is_a_node() -> None:
    sdl = schema.as_str()
    for name, cls in TYPES.items():
        assert issubclass(cls, Node)
        assert f"type {name} implements" in sdl and "Node" in sdl.split(f"type {name} ")[1][:80]


def test_the_required_names_exist() -> None:
    sdl = schema.as_str()
    for name in [
        "Patient", "CareProvider", "CareUnit", "Practitioner", "CareContact", "CareDocument",
        "Diagnosis", "Alert", "LabResult", "Vaccination", "Prescription", "Dispensation",
        "DentalTreatment", "ToothFinding", "MunicipalDecision", "ImplementationPlan", "Consent",
        "Block", "FunctionalStatus", "ReferralOutcome",
    ]:  # fmt: skip
        assert f"\ntype {name} implements" in sdl
    assert "\ninterface CareEvent implements Node" in sdl
    assert "\ninterface Node" in sdl
