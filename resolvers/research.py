"""Lookups a research client may not make (A15): by personnummer, by name or other person
data, or (unless the approval releases clinicians' identities) by a clinician's HSA-id.

A research client learns about people only as counts and pseudonymised records of its cohort;
a lookup by who someone is would tell whether that person is in the cohort (a membership
oracle), so it is refused before it runs, and the refusal is audited.
"""

from __future__ import annotations

from app.access.principal import PrincipalKind
from app.context import Context
from app.errors import Forbidden


def is_research(ctx: Context) -> bool:
    return ctx.principal.kind is PrincipalKind.RESEARCH


def refuse_person_lookup(ctx: Context, what: str) -> None:
    """FORBIDDEN (and a logged denial) for a research client looking a person up."""
    if is_research(ctx):
        reason = f"research clients may not look patients up by {what} (A15)"
        ctx.audit.deny(None, reason)
        raise Forbidden(reason)


async def refuse_clinician_lookup(ctx: Context) -> None:
    """FORBIDDEN for a research client looking a clinician up by HSA-id, unless its studies'
    approvals release clinicians' identities."""
    if is_research(ctx) and not (await ctx.data.research_release()).clinician_identity:
        reason = "research clients may not look clinicians up (A15)"
        ctx.audit.deny(None, reason)
        raise Forbidden(reason)
