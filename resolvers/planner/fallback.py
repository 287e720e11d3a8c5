"""What the planner leaves to GraphQL execution: fields of a patient it cannot read in SQL, and
root fields it does not read, answered in sub-documents of the request's own document (their
fragments and variables), in the request's transaction and audit buffer. Any error there
declines the whole request to GraphQL execution, so errors are always GraphQL's own.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import (
    FragmentDefinitionNode,
    FragmentSpreadNode,
    VariableNode,
    print_ast,
    visit,
)
from graphql.execution.collect_fields import FieldDetailsList
from graphql.language import Visitor

from app.observability.metrics import PLANNER_FIELDS
from resolvers.planner.parts import Decline, Document, Request
from schema.ids import encode_id

FALLBACK_PATIENT = "vardkedjaPlannerPatient"


@dataclass(frozen=True)
class Fallback:
    """The patient's fields answered through GraphQL execution: their response keys and the
    sub-document that answers them."""

    keys: tuple[str, ...]
    document: str
    variables: tuple[str, ...]


def slot_name(key: str) -> str:
    """The statement's bind parameter that carries a fallback field's JSON."""
    return f"fallback_{key}"


def fallback_document(
    doc: Document, fields: Mapping[str, FieldDetailsList], *, of_patient: bool = True
) -> Fallback:
    """A sub-document with these fields, their fragments and variables: of the patient
    (`node(id:)`), or of the root."""
    nodes = [d.node for details in fields.values() for d in details]
    used_fragments: dict[str, FragmentDefinitionNode] = {}
    used_variables: set[str] = set()

    class Uses(Visitor):
        def enter_fragment_spread(self, node: FragmentSpreadNode, *_: Any) -> None:
            name = node.name.value
            if name not in used_fragments and name in doc.fragments:
                definition = doc.fragments[name].definition
                used_fragments[name] = definition
                visit(definition, Uses())

        def enter_variable(self, node: VariableNode, *_: Any) -> None:
            used_variables.add(node.name.value)

    for node in nodes:
        visit(node, Uses())
    definitions = [
        print_ast(v)
        for v in doc.operation.variable_definitions or ()
        if v.variable.name.value in used_variables
    ]
    body = " ".join(print_ast(n) for n in nodes)
    if of_patient:
        header = ", ".join([f"${FALLBACK_PATIENT}: ID!", *definitions])
        selection = f"node(id: ${FALLBACK_PATIENT}) {{ ... on Patient {{ {body} }} }}"
    else:
        header = ", ".join(definitions)
        selection = body
    text = f"query PlannerFallback{f'({header})' if header else ''} {{ {selection} }}\n" + (
        "\n".join(print_ast(f) for f in used_fragments.values())
    )
    return Fallback(tuple(fields), text, tuple(sorted(used_variables)))


def _sent(req: Request, fallback: Fallback) -> dict[str, Any]:
    """The sub-document's variables as the request sent them: one left out stays out, so
    that it takes its default there too (an explicit null would not)."""
    raw = req.raw or {}
    return {n: raw[n] for n in fallback.variables if n in raw}


async def root_fallback(req: Request, fields: Mapping[str, FieldDetailsList]) -> dict[str, bytes]:
    """Root fields the planner does not read (`node`, `careUnit`, ...), answered by GraphQL
    execution in the request's transaction; `Decline` on any error."""
    fallback = fallback_document(req.doc, fields, of_patient=False)
    variables = _sent(req, fallback)
    result = await req.schema.execute(
        fallback.document, variable_values=variables, context_value=req.ctx
    )
    if result.errors or result.data is None:
        raise Decline
    PLANNER_FIELDS.labels("fallback").inc(len(fields))
    return {k: orjson.dumps(result.data[k]) for k in fallback.keys}


async def patient_fallback(
    req: Request, fallback: Fallback, patient_id: uuid.UUID
) -> dict[str, str]:
    """The GraphQL part's values as JSON text per slot; `Decline` on any error, so that the
    whole request is answered by GraphQL execution with its own errors."""
    variables = _sent(req, fallback)
    variables[FALLBACK_PATIENT] = encode_id("Patient", patient_id)
    result = await req.schema.execute(
        fallback.document, variable_values=variables, context_value=req.ctx
    )
    if result.errors or not result.data or result.data.get("node") is None:
        raise Decline
    node = result.data["node"]
    return {slot_name(k): orjson.dumps(node[k]).decode() for k in fallback.keys}
