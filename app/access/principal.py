"""Who is asking, and why: the principal and the purpose of use of one request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum


class Purpose(StrEnum):
    """Purpose of use, sent with every request (DOMAIN.md section 7)."""

    TREAT = "TREAT"
    ETREAT = "ETREAT"
    PATRQT = "PATRQT"
    RESEARCH = "RESEARCH"
    ADMIN = "ADMIN"


class PrincipalKind(StrEnum):
    ANONYMOUS = "anonymous"
    CLINICIAN = "clinician"
    PATIENT = "patient"
    PROXY = "proxy"
    RESEARCH = "research"
    SYSTEM = "system"


@dataclass(frozen=True)
class Principal:
    """The verified identity behind a request. Fields that do not apply to a kind are None."""

    kind: PrincipalKind
    subject: str
    name: str | None = None
    purpose: Purpose | None = None
    client_id: str | None = None
    # clinician
    role: str | None = None
    care_unit_hsa_id: str | None = None
    care_provider_hsa_id: str | None = None
    assignment_id: str | None = None
    # patient or proxy: the personnummer of the person logged in
    person_identifier: str | None = None
    # proxy: whose record they act for
    represented_identifier: str | None = None
    # emergency access (A6): the mandatory reason
    emergency_reason: str | None = None
    # research: the one study the token reads for (its pseudonyms and release, A15)
    study_id: uuid.UUID | None = None

    @property
    def is_anonymous(self) -> bool:
        return self.kind is PrincipalKind.ANONYMOUS


ANONYMOUS = Principal(kind=PrincipalKind.ANONYMOUS, subject="anonymous")
