"""Schema extension: what a research client's answer may carry (A15, app/access/research.py).

After execution, a research client's answer is rewritten value by value, by the GraphQL type
and field each value comes from (found by walking the operation's selections alongside the
answer, fragments and aliases included):
- `ID` values become pseudonyms: the keyed HMAC of the row's own uuid, as in the bulk export;
- other identifiers (documentId, HSA-ids, order, referral and batch ids, UUIDs, cursors)
  become pseudonyms too (so a cursor only pages for those who hold the real one: none);
- `DateTime` and `Date` values are cut to the study's precision (default: the month);
- free text and clinicians' names are withheld unless the study's approval releases them;
- every other `String` is withheld unless it is listed below as a code or a kind: a field
  added later is withheld from research clients until someone decides otherwise.
Withheld values are null, or "[withheld]" where the field is non-null. Numbers, booleans and
enum values pass. Where a response key could come from several fields (fragments on
different types), the most careful treatment of them applies.

Only research requests pay for this; compiled operations are not run for research clients
(app/graphql_http.py), so every research answer passes here.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import date, datetime
from enum import IntEnum
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLAbstractType,
    GraphQLField,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    NamedTypeNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    is_abstract_type,
    is_enum_type,
    is_non_null_type,
    is_object_type,
)
from strawberry.extensions import SchemaExtension

from app.access.principal import PrincipalKind
from app.access.research import Release, cut_date, cut_time
from app.context import Context
from app.errors import BadInput
from schema.ids import decode_id

WITHHELD = "[withheld]"


class Treat(IntEnum):
    """What happens to a value; a larger value is more careful."""

    KEEP = 0
    CUT = 1
    PSEUDONYM = 2
    CLINICIAN = 3
    FREE_TEXT = 4
    WITHHOLD = 5


# String fields that identify something, by field name: pseudonymised.
IDENTIFIER_FIELDS = frozenset(
    {
        "documentId",
        "sourceSystemHsaId",
        "hsaId",
        "careUnitHsaId",
        "careProviderHsaId",
        "practitionerHsaId",
        "grantedByHsaId",
        "revokedByHsaId",
        "recordedByHsaId",
        "organisationNumber",
        "gln",
        "orderId",
        "referralId",
        "batch",
        "cursor",
        "startCursor",
        "endCursor",
    }
)
# Names of clinicians and officers: withheld unless the approval releases clinician identity.
CLINICIAN_FIELDS = frozenset(
    {
        "Accountable.name",
        "LegalAuthenticator.name",
        "Practitioner.givenName",
        "Practitioner.familyName",
        "Vaccination.performerName",
        "MunicipalDecision.caseOfficerName",
        "ReferralOutcome.referralAuthor",
        "PlanActivity.responsible",
    }
)
# Free text written about the patient: withheld unless the approval releases free text.
FREE_TEXT_FIELDS = frozenset(
    {
        "Alert.description",
        "Alert.agentText",
        "Alert.nullifiedReason",
        "CareContact.reason",
        "CareContact.nullifiedReason",
        "CareDocument.title",
        "CareDocument.text",
        "CareDocument.nullifiedReason",
        "DentalTreatment.procedureText",
        "DentalTreatment.nullifiedReason",
        "Diagnosis.nullifiedReason",
        "Dispensation.nullifiedReason",
        "FunctionalStatus.text",
        "FunctionalStatus.nullifiedReason",
        "ImplementationPlan.goals",
        "ImplementationPlan.nullifiedReason",
        "LabResult.valueText",
        "LabResult.nullifiedReason",
        "MunicipalDecision.motivation",
        "MunicipalDecision.nullifiedReason",
        "PlanActivity.goal",
        "PlanActivity.description",
        "PlanActivity.whenHow",
        "Prescription.dosageText",
        "Prescription.reason",
        "Prescription.discontinuedReason",
        "Prescription.nullifiedReason",
        "ReferralOutcome.text",
        "ReferralOutcome.referralReason",
        "ReferralOutcome.nullifiedReason",
        "ToothFinding.findingText",
        "ToothFinding.nullifiedReason",
        "Vaccination.nullifiedReason",
    }
)
# Codes, code texts, kinds and the names of organisations: shown as they are.
CODE_FIELDS = frozenset(
    {
        "Accountable.roleCode",
        "Alert.agentNplId",
        "Alert.agentAtcCode",
        "Alert.conditionCode",
        "Alert.treatmentCode",
        "CareDocument.documentType",
        "CareProvider.name",
        "CareUnit.name",
        "DentalTreatment.conditionCode",
        "DentalTreatment.procedureCode",
        "DentalTreatment.tooth",
        "DentalTreatment.surface",
        "Diagnosis.code",
        "Diagnosis.display",
        "Dispensation.articleNplPackId",
        "Dispensation.articleName",
        "FunctionalStatus.assessmentType",
        "FunctionalStatus.icfCode",
        "Insats.code",
        "Insats.name",
        "LabResult.codeSystem",
        "LabResult.code",
        "LabResult.name",
        "LabResult.unit",
        "LabResult.specimen",
        "LegalBasis.code",
        "LegalBasis.law",
        "LegalBasis.paragraph",
        "LegalBasis.title",
        "MunicipalDecision.extentUnit",
        "Municipality.code",
        "Municipality.name",
        "Municipality.countyCode",
        "Practitioner.profession",
        "Prescription.drugNplId",
        "Prescription.nplPackId",
        "Prescription.atcCode",
        "Prescription.drugName",
        "Prescription.strength",
        "Prescription.form",
        "Prescription.doseUnit",
        "ReferralOutcome.outcomeType",
        "ResearchStudy.name",
        "ResearchStudy.ethicsApprovalRef",
        "ToothFinding.tooth",
        "ToothFinding.surface",
        "ToothFinding.findingCode",
        "Vaccination.vaccineName",
        "Vaccination.vaccineNplId",
        "Vaccination.atcCode",
        "Vaccination.targetDisease",
        "UserError.field",
        "UserError.message",
        "Study.name",
        "Study.ethicsApprovalRef",
        "CohortCell.period",
        "CohortCell.region",
        "CohortCell.ageBand",
        "CohortCell.display",
    }
)
PASSING_SCALARS = frozenset({"Boolean", "Int", "Float", "Decimal"})


def treatment(owner: str, name: str, field: GraphQLField) -> Treat:
    """How a research answer treats a leaf value of `owner.name`."""
    named = get_named_type(field.type)
    if is_enum_type(named) or named.name in PASSING_SCALARS:
        return Treat.KEEP
    if named.name in ("ID", "UUID"):
        return Treat.PSEUDONYM
    if named.name in ("DateTime", "Date"):
        return Treat.CUT
    if named.name != "String":
        return Treat.WITHHOLD  # JSON and anything new
    key = f"{owner}.{name}"
    if name in IDENTIFIER_FIELDS:
        return Treat.PSEUDONYM
    if key in CLINICIAN_FIELDS:
        return Treat.CLINICIAN
    if key in FREE_TEXT_FIELDS:
        return Treat.FREE_TEXT
    if key in CODE_FIELDS:
        return Treat.KEEP
    return Treat.WITHHOLD


class ResearchView:
    """Rewrites one research answer (see the module docstring)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        release: Release,
        pseudonym: Any,
        text_pseudonym: Any,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.release = release
        self.pseudonym = pseudonym
        self.text_pseudonym = text_pseudonym

    def rewrite(
        self, data: dict[str, Any], root: GraphQLObjectType, selections: SelectionSetNode
    ) -> dict[str, Any]:
        return self._object(data, [root], [selections])

    # --- walking -------------------------------------------------------------------------

    def _object(
        self,
        obj: dict[str, Any],
        types: list[GraphQLObjectType],
        selection_sets: Iterable[SelectionSetNode],
    ) -> dict[str, Any]:
        typename = obj.get("__typename")
        if isinstance(typename, str):
            types = [t for t in types if t.name == typename] or types
        fields: dict[str, list[tuple[GraphQLObjectType, str, FieldNode]]] = {}
        for selection_set in selection_sets:
            self._collect(selection_set, types, fields)
        out: dict[str, Any] = {}
        for key, value in obj.items():
            found = fields.get(key, [])
            if not found:
                out[key] = None  # fail closed: a key the walk cannot explain
                continue
            if all(name.startswith("__") for _, name, _ in found):
                out[key] = value
                continue
            fields_found = [(t, n, node) for t, n, node in found if not n.startswith("__")]
            out[key] = self._value(value, fields_found)
        return out

    def _collect(
        self,
        selection_set: SelectionSetNode,
        types: list[GraphQLObjectType],
        into: dict[str, list[tuple[GraphQLObjectType, str, FieldNode]]],
    ) -> None:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                for t in types:
                    # Meta fields (__typename, __schema, __type) describe the schema only.
                    if selection.name.value.startswith("__") or selection.name.value in t.fields:
                        into.setdefault(key, []).append((t, selection.name.value, selection))
            elif isinstance(selection, InlineFragmentNode | FragmentSpreadNode):
                condition: NamedTypeNode | None
                if isinstance(selection, FragmentSpreadNode):
                    fragment = self.fragments.get(selection.name.value)
                    if fragment is None:
                        continue
                    condition, inner = fragment.type_condition, fragment.selection_set
                else:
                    condition, inner = selection.type_condition, selection.selection_set
                narrowed = types
                if condition is not None:
                    target = self.schema.get_type(condition.name.value)
                    narrowed = [t for t in types if target is not None and self._fits(t, target)]
                if narrowed:
                    self._collect(inner, narrowed, into)

    def _fits(self, t: GraphQLObjectType, target: GraphQLNamedType) -> bool:
        if t is target:
            return True
        if isinstance(target, GraphQLAbstractType):
            return self.schema.is_sub_type(target, t)
        return False

    def _value(self, value: Any, found: list[tuple[GraphQLObjectType, str, FieldNode]]) -> Any:
        if value is None:
            return None
        defs = [(t, n, node, t.fields[n]) for t, n, node in found]
        named = {get_named_type(d.type) for _, _, _, d in defs}
        if all(is_object_type(n) or is_abstract_type(n) for n in named):
            possible: list[GraphQLObjectType] = []
            for n in named:
                if isinstance(n, GraphQLAbstractType):
                    possible += self.schema.get_possible_types(n)
                elif isinstance(n, GraphQLObjectType):
                    possible.append(n)
            sets = [node.selection_set for _, _, node, _ in defs if node.selection_set]
            return self._nested(value, possible, sets)
        treat = max(treatment(t.name, n, d) for t, n, _, d in defs)
        non_null = any(is_non_null_type(d.type) for _, _, _, d in defs)
        return self._leaf(value, treat, non_null)

    def _nested(
        self, value: Any, types: list[GraphQLObjectType], sets: list[SelectionSetNode]
    ) -> Any:
        if isinstance(value, list):
            return [self._nested(v, types, sets) for v in value]
        if isinstance(value, dict):
            return self._object(value, types, sets)
        return None

    # --- leaves ----------------------------------------------------------------------------

    def _leaf(self, value: Any, treat: Treat, non_null: bool) -> Any:
        if isinstance(value, list):
            return [self._leaf(v, treat, non_null) for v in value]
        if treat is Treat.KEEP:
            return value
        if treat is Treat.CUT:
            return self._cut(value)
        if treat is Treat.PSEUDONYM:
            try:
                return self._pseudonym(value)
            except ValueError:  # no pseudonym key configured: withhold, never the real one
                return WITHHELD if non_null else None
        released = (treat is Treat.CLINICIAN and self.release.clinician_identity) or (
            treat is Treat.FREE_TEXT and self.release.free_text
        )
        if released:
            return value
        return WITHHELD if non_null else None

    def _cut(self, value: Any) -> Any:
        if not isinstance(value, str):
            return None
        precision = self.release.time_precision
        try:
            if "T" in value:
                return cut_time(datetime.fromisoformat(value), precision).isoformat()
            return cut_date(date.fromisoformat(value), precision).isoformat()
        except ValueError:
            return None

    def _pseudonym(self, value: Any) -> Any:
        text = str(value)
        try:
            return self.pseudonym(decode_id(text).id)
        except BadInput:
            pass
        try:
            return self.pseudonym(uuid.UUID(text))
        except ValueError:
            return self.text_pseudonym(text)


class ResearchAnswers(SchemaExtension):
    """Rewrites a research client's answer as the module docstring says."""

    async def on_execute(self) -> AsyncIterator[None]:
        ctx = self.execution_context.context
        research = isinstance(ctx, Context) and ctx.principal.kind is PrincipalKind.RESEARCH
        release = await ctx.data.research_release() if research else None
        yield
        result = self.execution_context.result
        if release is None or result is None or result.data is None:
            return
        document = self.execution_context.graphql_document
        if document is None:
            result.data = None
            return
        operation = _operation(document.definitions, self.execution_context.operation_name)
        schema = self.execution_context.schema._schema
        root = schema.get_root_type(operation.operation) if operation is not None else None
        if operation is None or root is None:
            result.data = None
            return
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        view = ResearchView(schema, fragments, release, ctx.data.pseudonym, ctx.data.text_pseudonym)
        result.data = view.rewrite(result.data, root, operation.selection_set)


def _operation(definitions: Iterable[Any], name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name and o.name.value == name), None)


def research_answers() -> SchemaExtension:
    """The extension for one execution (an inert one outside an event loop, where Strawberry
    refuses async hooks; research requests come over HTTP, inside one)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return SchemaExtension()
    return ResearchAnswers()
