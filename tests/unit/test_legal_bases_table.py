"""The table of legal bases and the withheld rules, without a database."""

from __future__ import annotations

import uuid

from app.access.bases import BASES, RULES, LegalBasis, audit_reason, nll_expedition
from app.access.expedition import ExpeditionAccess
from app.access.facts import BlockFact, ClinicianFacts, ReferenceFacts
from app.access.grants import ClinicianAccess, Denied, PersonAccess, ResearchAccess, SystemAccess
from app.access.rules import ProxyMode
from app.access.withheld import withheld

CLINICIAN = ClinicianFacts("SE2321000016-DR01", uuid.uuid4(), uuid.uuid4(), uuid.uuid4())


def test_every_basis_has_its_row_with_a_law() -> None:
    assert set(RULES) == set(LegalBasis) and len(BASES) == len(LegalBasis)
    assert all(rule.law and rule.who and rule.opens for rule in BASES)
    assert audit_reason(LegalBasis.NLL_EXPEDITION) == "basis: nll_expedition"
    assert audit_reason(None) is None


def test_expedition_needs_a_pharmacist_at_a_pharmacy() -> None:
    assert nll_expedition("apotekare", "pharmacy")
    assert nll_expedition("Receptarie", "pharmacy")
    assert not nll_expedition("läkare", "pharmacy")
    assert not nll_expedition("apotekare", "primary_care")
    assert not nll_expedition(None, "pharmacy")


def clinician(**kw: object) -> ClinicianAccess:
    values: dict[str, object] = {
        "patient_id": uuid.uuid4(),
        "clinician": CLINICIAN,
        "share": True,
        "all_medication": True,
        "emergency_open": False,
        "blocks": (),
        "reference": ReferenceFacts(),
        "may_see_address": True,
    } | kw
    return ClinicianAccess(**values)  # type: ignore[arg-type]


def test_each_decision_names_its_basis() -> None:
    pid = uuid.uuid4()
    assert clinician().basis is LegalBasis.CARE_RELATIONSHIP
    assert ExpeditionAccess(pid).basis is LegalBasis.NLL_EXPEDITION
    assert PersonAccess(pid, ProxyMode.GUARDIAN, True).basis is LegalBasis.GUARDIAN
    assert ResearchAccess(pid).basis is LegalBasis.RESEARCH_CONSENT
    assert SystemAccess(pid, True).basis is LegalBasis.SYSTEM_INTEGRATION
    assert Denied(pid).basis is None


def test_withheld_follows_the_decision() -> None:
    assert withheld(clinician()) == ()
    reasons = [(w.category.value, w.reason.value) for w in withheld(clinician(share=False))]
    assert reasons == [("ALERTS", "NO_CONSENT"), ("RECORDS", "NO_CONSENT")]
    elsewhere = BlockFact(uuid.uuid4(), "outer", uuid.uuid4(), None, None, None, False, False)
    own = BlockFact(uuid.uuid4(), "inner", CLINICIAN.provider_id or uuid.uuid4(),
                    uuid.uuid4(), None, None, False, False)  # fmt: skip
    blocked = withheld(clinician(blocks=(elsewhere,), all_medication=False))
    assert [w.resource for w in blocked] == [
        "Withheld:NO_NLL_CONSENT:MEDICATION",
        "Withheld:BLOCKED:RECORDS",
    ]
    # A7 is about other providers; an opened emergency step 2 withholds nothing blocked.
    assert withheld(clinician(blocks=(own,))) == ()
    assert withheld(clinician(blocks=(elsewhere,), emergency_open=True)) == ()
    assert withheld(ExpeditionAccess(uuid.uuid4())) == ()
    assert {w.reason.value for w in withheld(PersonAccess(uuid.uuid4(), ProxyMode.SELF, True))} == {
        "NOT_APPROVED"
    }
