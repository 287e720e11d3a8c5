"""Schema extension: what a research client's answer may carry (A15, app/access/research.py).

After execution, a research client's answer is rewritten value by value, by the GraphQL type
and field each value comes from (found by walking the operation's selections alongside the
answer, fragments and aliases included):
- `ID` values become pseudonyms: the keyed HMAC of the row's own uuid, as in the bulk export;
- other identifiers (documentId, HSA-ids, order, referral and batch ids, UUIDs) become
  pseudonyms too; cursors are sealed for the study (app/access/cursor_seal.py), and a
  cursor given back is opened before the lists read it;
- `DateTime` and `Date` values are cut to the study's precision (default: the month);
- free text and clinicians' names are withheld unless the study's approval releases them;
- every other `String` is withheld unless it is listed below as a code or a kind: a field
  added later is withheld from research clients until someone decides otherwise.
Withheld values are null, or "[withheld]" where the field is non-null. Numbers, booleans and
enum values pass. Where a response key could come from several fields (fragments on
different types), the most careful treatment of them applies.

Only research requests pay for this; compiled operations are not run for research clients
(app/graphql_http.py), so every research answer passes here.

A study whose approval does not allow record access asks only `study(id)` (cohort counts)
and introspection: any other root field is refused before execution, NOT_APPROVED, and the
refusal is a logged denial. Refusing by root field rather than by the rows found keeps the
answer the same whether or not there are records to find.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import nullcontext
from datetime import date, datetime
from enum import IntEnum
from typing import Any

from graphql import (
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLAbstractType,
    GraphQLError,
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

from app.access.cursor_seal import CursorSeal, sealing
from app.access.principal import PrincipalKind
from app.access.research import (
    NOT_APPROVED_REASON,
    Release,
    cut_date,
    cut_time,
    time_bounds,
)
from app.context import Context
from app.errors import AppError, BadInput
from schema.ids import decode_id

WITHHELD = "[withheld]"
NOT_APPROVED = "NOT_APPROVED"


class Treat(IntEnum):
    """What happens to a value; a larger value is more careful."""

    KEEP = 0
    CUT = 1
    SEAL = 2
    PSEUDONYM = 3
    CLINICIAN = 4
    FREE_TEXT = 5
    WITHHOLD = 6


# Cursors: sealed for the study (app/access/cursor_seal.py), so that the client can page on.
CURSOR_FIELDS = frozenset({"cursor", "startCursor", "endCursor"})


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
        "actorHsaId",
        "acknowledgedByHsaId",
        "organisationNumber",
        "gln",
        "orderId",
        "referralId",
        "batch",
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
        "ReferralEvent.actorName",
        "DischargePlan.acknowledgedByName",
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
        "Referral.reason",
        "Referral.question",
        "Referral.statusReason",
        "Referral.nullifiedReason",
        "ReferralEvent.reason",
        "DischargePlan.expectedNeeds",
        "DischargePlan.nullifiedReason",
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
    if name in CURSOR_FIELDS:
        return Treat.SEAL
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
        seal: CursorSeal | None = None,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.release = release
        self.pseudonym = pseudonym
        self.text_pseudonym = text_pseudonym
        self.seal = seal

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
        if treat is Treat.SEAL:
            if self.seal is None or not isinstance(value, str):
                return WITHHELD if non_null else None
            return self.seal.seal(value)
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


# Root fields a study without record access may ask (cohort counts, and the schema itself).
COUNTS_ONLY_ROOT_FIELDS = frozenset({"study", "__schema", "__type", "__typename"})


class ResearchAnswers(SchemaExtension):
    """Rewrites a research client's answer as the module docstring says."""

    async def on_execute(self) -> AsyncIterator[None]:
        ctx = self.execution_context.context
        research = isinstance(ctx, Context) and ctx.principal.kind is PrincipalKind.RESEARCH
        if not research:
            yield
            return
        release = await ctx.data.research_release()
        view = self._view(ctx, release)
        if view is None:
            yield
            self._fail_closed()
            return
        operation, root = view.operation, view.root
        refused = [] if release.record_access else _beyond_counts(view, root, operation)
        if refused:
            ctx.audit.deny(None, NOT_APPROVED_REASON)
            error = GraphQLError(
                NOT_APPROVED_REASON,
                path=[refused[0]],
                original_error=AppError(NOT_APPROVED_REASON, code=NOT_APPROVED),
            )
            self.execution_context.result = ExecutionResult(data=None, errors=[error])
            yield
            return
        with (
            sealing(view.seal) if view.seal is not None else nullcontext(),
            time_bounds(release.time_precision),
        ):
            yield
        result = self.execution_context.result
        if result is None or result.data is None:
            return
        result.data = view.rewrite(result.data, root, operation.selection_set)

    def _view(self, ctx: Context, release: Release) -> _OperationView | None:
        document = self.execution_context.graphql_document
        if document is None:
            return None
        operation = _operation(document.definitions, self.execution_context.operation_name)
        schema = self.execution_context.schema._schema
        root = schema.get_root_type(operation.operation) if operation is not None else None
        if operation is None or root is None:
            return None
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        study = release.study
        key = ctx.data.pseudonym_key
        seal = CursorSeal(key, study) if key and study is not None else None
        return _OperationView(
            schema,
            fragments,
            release,
            ctx.data.pseudonym,
            ctx.data.text_pseudonym,
            seal,
            operation=operation,
            root=root,
        )

    def _fail_closed(self) -> None:
        result = self.execution_context.result
        if result is not None and result.data is not None:
            result.data = None


class _OperationView(ResearchView):
    """The view of one operation, with its root type."""

    def __init__(
        self,
        *args: Any,
        operation: OperationDefinitionNode,
        root: GraphQLObjectType,
    ) -> None:
        super().__init__(*args)
        self.operation, self.root = operation, root


def _beyond_counts(
    view: ResearchView, root: GraphQLObjectType, operation: OperationDefinitionNode
) -> list[str]:
    """The response keys of root fields that ask for more than cohort counts (and the
    schema); any field of a mutation or subscription does."""
    fields: dict[str, list[tuple[GraphQLObjectType, str, FieldNode]]] = {}
    view._collect(operation.selection_set, [root], fields)
    return [
        key
        for key, found in fields.items()
        if root.name != "Query" or any(n not in COUNTS_ONLY_ROOT_FIELDS for _, n, _ in found)
    ]


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
