"""The rules of DOMAIN.md section 7 (A1-A16) as small pure functions over loaded facts.

No SQL here: app/access/facts.py loads the facts for a batch of patients, these functions
decide, and app/access/grants.py turns a decision into SQL predicates per table. The policy
object that ties them together is app/access/care.py (CarePolicy). docs/privacy.md explains
each rule and the choices made where the law leaves the mechanics open.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from app.access.categories import Category
from app.access.facts import (
    BlockFact,
    ClinicianFacts,
    ConsentFact,
    PatientFacts,
    PortalExceptionFact,
)
from app.access.principal import Principal, PrincipalKind, Purpose

# A8: a consent recorded by a clinician for a patient who cannot take a position.
LACKS_CAPACITY = "lacks_capacity"
# Purposes under which a clinician may read records at all.
CARE_PURPOSES = frozenset({Purpose.TREAT, Purpose.ETREAT})
# A13: clinicians with this role review the log (emergency accesses) of their provider.
REVIEWER_ROLE = "granskare"
# A10: the head of a unit (verksamhetschef) grants exceptions to the patient app's age rules.
UNIT_HEAD_ROLE = "verksamhetschef"
# A10: the ages at which each kind of exception counts (inclusive); outside them it is inert.
PORTAL_EXCEPTION_AGES = {"patient": (13, 15), "guardian": (13, 17), "deny_guardian": (0, 12)}


class ProxyMode(StrEnum):
    """How a logged-in person relates to the patient whose record is asked for (A10)."""

    SELF = "self"
    GUARDIAN = "guardian"
    POWER_OF_ATTORNEY = "power_of_attorney"


def age_on(birth: date, today: date) -> int:
    """Completed years on `today`."""
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def a1_inner_secrecy(clinician: ClinicianFacts, patient: PatientFacts) -> bool:
    """A1: an active assignment at the unit and a current care relationship with the unit.

    The care relationship is held by the unit (vårdenhet): `care_relationship.practitioner_id`
    names the responsible practitioner but does not narrow who at the unit may read.
    """
    return clinician.assignment_active and patient.care_relationship


def a1_purpose_allows_care(purpose: Purpose | None) -> bool:
    """A1/A6: clinicians read records for care (TREAT) or emergency care (ETREAT) only."""
    return purpose in CARE_PURPOSES


def a6_emergency(principal: Principal) -> bool:
    """A6: emergency access is a clinician with purpose ETREAT and a stated reason."""
    return (
        principal.kind is PrincipalKind.CLINICIAN
        and principal.purpose is Purpose.ETREAT
        and bool(principal.emergency_reason)
    )


def _for_viewer(consent: ConsentFact, clinician: ClinicianFacts) -> bool:
    return (consent.care_unit_id is not None and consent.care_unit_id == clinician.unit_id) or (
        consent.practitioner_id is not None and consent.practitioner_id == clinician.practitioner_id
    )


def a4_svod_consent(
    consents: Iterable[ConsentFact], clinician: ClinicianFacts, now: datetime
) -> bool:
    """A4 (and A8): a valid SVOD consent for the clinician's unit or for the clinician.

    A8: a consent recorded with given_by = "lacks_capacity" (the clinician documented that the
    patient cannot take a position and the access is needed for necessary care) counts, unless
    the patient has objected before, i.e. revoked an earlier consent for the same unit or user.
    """
    relevant = [c for c in consents if c.kind == "svod_access" and _for_viewer(c, clinician)]
    objected = any(c.revoked_at is not None and c.given_by != LACKS_CAPACITY for c in relevant)
    return any(c.valid_at(now) and (c.given_by != LACKS_CAPACITY or not objected) for c in relevant)


def a4_may_share(
    principal: Principal, consents: Iterable[ConsentFact], clinician: ClinicianFacts, now: datetime
) -> bool:
    """A3/A4: other providers' records need purpose TREAT and a valid consent; A6: in an
    emergency (ETREAT with a reason) the patient cannot consent and the consent is waived.
    Blocks (A2/A3) are applied per record on top of this."""
    if a6_emergency(principal):
        return True
    return principal.purpose is Purpose.TREAT and a4_svod_consent(consents, clinician, now)


def a11_nll_consent(
    consents: Iterable[ConsentFact], clinician: ClinicianFacts, now: datetime
) -> bool:
    """A11: consent to read the patient's whole medication list (NLL), given to the clinician's
    provider, unit or the clinician. Without it a clinician sees only their own prescriptions."""
    return any(
        c.kind == "nll_access"
        and c.valid_at(now)
        and (
            _for_viewer(c, clinician)
            or (
                c.care_provider_id is not None
                and c.care_provider_id == clinician.provider_id
                and c.care_unit_id is None
                and c.practitioner_id is None
            )
        )
        for c in consents
    )


def a5_temporarily_lifted(
    block: BlockFact, consents: Iterable[ConsentFact], clinician: ClinicianFacts, now: datetime
) -> bool:
    """A5: the patient consented to lift this block for the clinician's unit or the clinician
    until a date (a `block_lift` consent pointing at the block)."""
    return any(
        c.kind == "block_lift"
        and c.block_id == block.id
        and c.valid_at(now)
        and _for_viewer(c, clinician)
        for c in consents
    )


def a5_excepted(block: BlockFact, category: Category) -> bool:
    """A5: medication and alert information may be excluded from a block and stay visible."""
    return (category is Category.MEDICATION and block.except_medication) or (
        category is Category.ALERT and block.except_alerts
    )


def block_is_other_provider(block: BlockFact, clinician: ClinicianFacts) -> bool:
    """Whether a block covers another provider's records (the SVOD kind that A6/A7 concern)."""
    return block.care_provider_id != clinician.provider_id


def a2_a3_hides(block: BlockFact, clinician: ClinicianFacts) -> bool:
    """A2: an INNER block on unit U of provider P hides U's records from users at P outside U
    (and, as inner-blocked records are never shared, from every other provider too).
    A3: an OUTER block on provider B hides B's records from users at every other provider.
    An inner block without a unit is malformed; it hides its provider's records (fail closed)."""
    if block.kind == "outer":
        return block_is_other_provider(block, clinician)
    if block.care_unit_id is None:
        return True
    return block.care_unit_id != clinician.unit_id


def hiding_blocks(
    patient: PatientFacts, clinician: ClinicianFacts, now: datetime
) -> tuple[BlockFact, ...]:
    """The patient's active blocks that hide records from this clinician (A2, A3), less those
    temporarily lifted for them (A5). Category exceptions (A5) apply per table later."""
    return tuple(
        b
        for b in patient.blocks
        if a2_a3_hides(b, clinician)
        and not a5_temporarily_lifted(b, patient.consents, clinician, now)
    )


def a6_step2_open(principal: Principal, patient: PatientFacts) -> bool:
    """A6 step 2: blocked content of other providers is shown only in an emergency, and only
    after step 1 (which providers hold blocked data) was taken and logged for this patient by
    the same user at the same unit within EMERGENCY_STEP_WINDOW. Inner blocks within the
    user's own provider are not opened: only the patient can lift those (A5)."""
    return a6_emergency(principal) and patient.emergency_step1_done


def a7_blocked_elsewhere(blocks: Iterable[BlockFact], clinician: ClinicianFacts) -> bool:
    """A7: whether blocked information exists at another provider (but not which)."""
    return any(block_is_other_provider(b, clinician) for b in blocks)


def a6_blocked_providers(
    blocks: Iterable[BlockFact], clinician: ClinicianFacts
) -> tuple[uuid.UUID, ...]:
    """A6 step 1: which other providers hold data blocked from this clinician."""
    found = {b.care_provider_id for b in blocks if block_is_other_provider(b, clinician)}
    return tuple(sorted(found, key=str))


def a9_may_manage_blocks(principal: Principal) -> bool:
    """A9: only the patient places or lifts blocks; guardians (and other proxies) cannot."""
    return principal.kind is PrincipalKind.PATIENT


def a10_person_may_read(mode: ProxyMode, age: int) -> bool:
    """A10 by default: the patient reads their own record from 16; a guardian reads a child's
    record from 0 to 12; from 13 to 15 neither does. A power of attorney mirrors the patient's
    own right (16 and over). Exceptions by the head of a unit: `a10_person_scope`."""
    if mode is ProxyMode.GUARDIAN:
        return age <= 12
    return age >= 16


@dataclass(frozen=True)
class PortalScope:
    """Which units' records a person reads in the patient app (A10): every unit but `closed`,
    or, when `only` is set (an exception opened them), those units and nothing else."""

    only: frozenset[uuid.UUID] | None = None
    closed: frozenset[uuid.UUID] = frozenset()

    @property
    def limited(self) -> bool:
        """Read access by exception only: no say over the record (consents, blocks, log)."""
        return self.only is not None

    @property
    def restricted(self) -> bool:
        return self.only is not None or bool(self.closed)


def a10_exception_counts(exception: PortalExceptionFact, age: int, now: datetime) -> bool:
    """An exception counts while in date (revoked ones are never loaded) and while the patient
    is of the ages its kind is about."""
    low, high = PORTAL_EXCEPTION_AGES.get(exception.kind, (1, 0))
    return exception.valid_at(now) and low <= age <= high


def a10_person_scope(
    mode: ProxyMode, age: int, exceptions: Iterable[PortalExceptionFact], now: datetime
) -> PortalScope | None:
    """A10 with the exceptions granted by the head of a unit, each for that unit's records only:
    `patient` lets the child read their own record at 13-15, `guardian` lets guardians keep
    reading at 13-17, `deny_guardian` stops guardians reading a child of 0-12. None: nothing.

    A power of attorney follows the default rule only: an exception for the child is the
    child's own. Items not approved for the patient stay hidden whatever the scope."""
    counting = [e for e in exceptions if a10_exception_counts(e, age, now)]
    units = {
        kind: frozenset(e.care_unit_id for e in counting if e.kind == kind)
        for kind in PORTAL_EXCEPTION_AGES
    }
    if a10_person_may_read(mode, age):
        closed = units["deny_guardian"] if mode is ProxyMode.GUARDIAN else frozenset()
        return PortalScope(closed=closed)
    opened = {ProxyMode.SELF: units["patient"], ProxyMode.GUARDIAN: units["guardian"]}.get(mode)
    return PortalScope(only=opened) if opened else None


def proxy_modes(patient: PatientFacts, person_id: uuid.UUID | None) -> tuple[ProxyMode, ...]:
    """The logged-in person's relations to the patient: themself, guardian, power of attorney
    (a person may hold more than one; the policy uses any that A10 allows)."""
    if person_id is None:
        return ()
    if patient.patient_id == person_id:
        return (ProxyMode.SELF,)
    kinds = {r.kind for r in patient.representatives if r.representative_patient_id == person_id}
    return tuple(
        mode for mode in (ProxyMode.GUARDIAN, ProxyMode.POWER_OF_ATTORNEY) if mode in kinds
    )


def a15_research_opt_in(
    consents: Iterable[ConsentFact], studies: frozenset[uuid.UUID], now: datetime
) -> bool:
    """A15: a research client sees a patient only with a valid research consent for one of its
    ethics-approved studies; what it sees is pseudonymised (app/access/pseudonym.py)."""
    return any(
        c.kind == "research" and c.research_study_id in studies and c.valid_at(now)
        for c in consents
    )


def a16_may_see_address(principal: Principal, protected_identity: bool) -> bool:
    """A16: the address of a patient with protected identity is never exposed; research
    clients never see addresses."""
    return not protected_identity and principal.kind is not PrincipalKind.RESEARCH


def may_review_log(principal: Principal) -> bool:
    """A13: system integrations and clinicians with the reviewer role review the log."""
    return principal.kind is PrincipalKind.SYSTEM or (
        principal.kind is PrincipalKind.CLINICIAN and principal.role == REVIEWER_ROLE
    )
