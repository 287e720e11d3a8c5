"""From a selection over the schema to one SQL statement that writes its JSON.

`Builder` turns the selection of one `patient` field into a statement of two
columns: `data`, the patient object as compact JSON text exactly as GraphQL execution would
serialise it, and `disclosed`, every patient row the statement put into `data` ("patient|Type:id",
comma-separated) for the audit entry. Each list is a LATERAL subquery over a page of its
table (the policy's row predicate in its WHERE, the page cut by LIMIT before anything nested
is read), each nested list or reference a LATERAL of that page: the shape PostGraphile builds.

Objects, scalars and references are read here, lists in resolvers/planner/lists.py, the SQL
text pieces are in sqltext.py. A field that cannot be read in SQL raises `Unplannable`; the
planner then answers that field of the patient through GraphQL execution (run.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    OperationDefinitionNode,
)
from graphql.execution.collect_fields import (
    FieldDetailsList,
    FragmentDetails,
    GroupedFieldSet,
    collect_subfields,
)
from graphql.execution.values import VariableValues
from sqlalchemy import (
    Boolean,
    ColumnElement,
    FromClause,
    Table,
    Text,
    bindparam,
    case,
    cast,
    literal_column,
    null,
    select,
    type_coerce,
)
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression, BindParameter, BooleanClauseList, False_

from app.access.categories import ADDRESS_COLUMNS, base_table_name
from app.access.data import ORGANISATION_TABLES
from app.access.policy import PatientAccess
from resolvers.filters import Slotted
from resolvers.loaders.base import RowByKeyLoader
from resolvers.planner.declare import (
    Computed,
    Decided,
    Embedded,
    FirstOf,
    Interleaved,
    Listed,
    Owned,
    Picked,
    Referenced,
    declaration_of,
)
from resolvers.planner.lists import ListReads
from resolvers.planner.parts import (
    CursorSlot,
    DecidedSlot,
    FilterSlot,
    Part,
    Unplannable,
    object_type,
    resolver_arguments,
)
from resolvers.planner.serialize import serializer
from resolvers.planner.sqljson import (
    global_id,
    text_obj,
    text_or_null,
    text_plain,
)
from resolvers.planner.sqltext import (
    NULL,
    SCALARS,
    aliased,
    disclosed_of,
    disclosure,
    joined,
)

# Attributes named differently from their column (schema/rows.py).
COLUMN_OF = {"pk": "id", "personnummer": "identifier"}


@dataclass
class Builder(ListReads):
    """Builds the statements of one document under one decision (a plan's stand-in)."""

    schema: GraphQLSchema
    strawberry_schema: Any
    fragments: dict[str, FragmentDetails]
    variables: VariableValues
    operation: OperationDefinitionNode
    decision: PatientAccess
    decided: list[DecidedSlot] = field(default_factory=list)
    # Variables given as lists' `after` that the plan binds (Document.cursors), and the slots
    # they were bound to.
    cursors: frozenset[str] = frozenset()
    cursor_slots: list[CursorSlot] = field(default_factory=list)
    # Variables in lists' filters that the plan binds or writes in (Document.filters), and
    # the filters made slots for them.
    filters: frozenset[str] = frozenset()
    filter_slots: list[tuple[FilterSlot, Slotted]] = field(default_factory=list)
    _names: Iterator[int] = field(default_factory=itertools.count)

    def visible(self, table: FromClause) -> ColumnElement[bool]:
        """The policy's predicate over `table`. A constant false stays a term of its own: SQL
        would fold it into the WHERE and drop the patient_id equality the statement also
        states (which tests/patient_joins.py reads)."""
        predicate = self.decision.row_filter(table)
        if isinstance(predicate, False_):
            return literal_column("false", Boolean)
        return predicate

    def name(self, prefix: str) -> str:
        return f"{prefix}{next(self._names)}"

    # -- selections ------------------------------------------------------------------------

    def subfields(self, parent: GraphQLObjectType, details: FieldDetailsList) -> GroupedFieldSet:
        collected = collect_subfields(
            self.schema, self.fragments, self.variables, self.operation, parent, details
        )
        return collected.grouped_field_set

    def arguments(self, gfield: GraphQLField, details: FieldDetailsList) -> dict[str, Any]:
        """The field's arguments as its resolver receives them (python names, inputs as
        their classes)."""
        return resolver_arguments(self.strawberry_schema, gfield, details[0].node, self.variables)

    # -- objects ---------------------------------------------------------------------------

    def row_object(
        self,
        gtype: GraphQLObjectType,
        row: FromClause,
        fields: GroupedFieldSet,
        path: str,
        columns: Mapping[str, str] | None = None,
    ) -> Part:
        """The JSON of an object read from `row` (its columns renamed by `columns` for an
        embedded object)."""
        pairs: list[tuple[str, ColumnElement[Any]]] = []
        part = Part(NULL)
        for key, details in fields.items():
            pairs.append((key, self.value(gtype, row, key, details, path, columns, part)))
        part.json = text_obj(*pairs)
        return part

    def value(
        self,
        gtype: GraphQLObjectType,
        row: FromClause,
        key: str,
        details: FieldDetailsList,
        path: str,
        columns: Mapping[str, str] | None,
        part: Part,
    ) -> ColumnElement[Any]:
        name = details[0].node.name.value
        where = f"{path}.{key}"
        if name == "__typename":
            return literal_column(f"'\"{gtype.name}\"'", Text)
        gfield = gtype.fields[name]
        definition = gfield.extensions.get("strawberry-definition")
        if definition is None:
            raise Unplannable(f"{where}: not a strawberry field")
        declared = declaration_of(definition.metadata)
        if declared is None:
            if definition.base_resolver is not None:
                raise Unplannable(f"{where}: a resolver without a plan declaration")
            return self.column_value(
                gtype, row, name, definition.python_name, gfield, where, columns
            )
        if isinstance(declared, Computed):
            return self.scalar(gfield.type, declared.value(row, self.decision), where)
        if isinstance(declared, Embedded):
            return self.embedded(gfield, declared, row, details, where, columns, part)
        if isinstance(declared, Referenced | Owned):
            return self.referenced(gfield, declared, row, details, where, columns, part)
        if isinstance(declared, Decided):
            dump = serializer(gfield.type, details, self.subfields, where)
            slot = self.name("decided")
            self.decided.append(DecidedSlot(slot, declared, dump))
            return type_coerce(bindparam(slot, None, type_=Text), Text)
        if isinstance(declared, Picked):
            return self.picked(gfield, declared, row, where, part)
        if isinstance(declared, Interleaved):
            return self.interleaved(gfield, declared, row, details, where, part)
        if isinstance(declared, Listed | FirstOf):
            return self.listed(gfield, declared, row, details, where, part)
        raise Unplannable(f"{where}: unknown declaration {declared!r}")

    def column_value(
        self,
        gtype: GraphQLObjectType,
        row: FromClause,
        name: str,
        python_name: str,
        gfield: GraphQLField,
        where: str,
        columns: Mapping[str, str] | None,
    ) -> ColumnElement[Any]:
        if name == "id" and columns is None and "Node" in {i.name for i in gtype.interfaces}:
            origin = gtype.extensions["strawberry-definition"].origin
            owner = row.c.patient_id if getattr(origin, "PATIENT_SCOPED", False) else None
            return text_plain(global_id(gtype.name, row.c.id, owner))
        column = (columns or {}).get(python_name) or COLUMN_OF.get(python_name, python_name)
        if column not in row.c:
            raise Unplannable(f"{where}: no column {column}")
        value: ColumnElement[Any] = row.c[column]
        if column in ADDRESS_COLUMNS and base_table_name(row) not in ORGANISATION_TABLES:
            # A16, as DataAccess scrubs every row it fetches: a person's address columns
            # only for a caller who may see the address.
            value = value if self.decision.may_see_address else cast(null(), value.type)
        return self.scalar(gfield.type, value, where)

    def scalar(
        self, gql_type: GraphQLOutputType, value: ColumnElement[Any], where: str
    ) -> ColumnElement[Any]:
        """A scalar or enum value as the JSON text strawberry writes for it."""
        named = gql_type.of_type if isinstance(gql_type, GraphQLNonNull) else gql_type
        if isinstance(named, GraphQLEnumType):
            names = {str(getattr(v.value, "value", v.value)): n for n, v in named.values.items()}
            whens = {stored: literal_column(f"""'"{n}"'""", Text) for stored, n in names.items()}
            return case(whens, value=cast(value, Text), else_=NULL)
        if not isinstance(named, GraphQLScalarType):
            raise Unplannable(f"{where}: {named} is not a scalar")
        writer = SCALARS.get(named.name)
        if writer is None:
            raise Unplannable(f"{where}: scalar {named.name}")
        return writer(value)

    def embedded(
        self,
        gfield: GraphQLField,
        declared: Embedded,
        row: FromClause,
        details: FieldDetailsList,
        where: str,
        columns: Mapping[str, str] | None,
        part: Part,
    ) -> ColumnElement[Any]:
        if columns is not None:
            raise Unplannable(f"{where}: an embedded object inside another")
        target = object_type(gfield.type, where)
        inner = self.row_object(
            target, row, self.subfields(target, details), where, columns=declared.columns
        )
        part.laterals += inner.laterals
        part.disclosed += inner.disclosed
        present = declared.present(row, self.decision)
        return case((present, inner.json), else_=NULL)

    def referenced(
        self,
        gfield: GraphQLField,
        declared: Referenced | Owned,
        row: FromClause,
        details: FieldDetailsList,
        where: str,
        columns: Mapping[str, str] | None,
        part: Part,
    ) -> ColumnElement[Any]:
        """A shared row by its key, or another row of the patient under the policy."""
        target = object_type(gfield.type, where)
        column = (columns or {}).get(declared.column, declared.column)
        if isinstance(declared, Owned):
            if declared.loader.load_batch is not RowByKeyLoader.load_batch:
                raise Unplannable(f"{where}: {declared.loader.__name__} reads its own way")
            table: Table = declared.loader.table
            other = aliased(table, self.name("o"))
            visible = self.visible(other)
            match = [other.c.id == row.c[column], visible]
            # Whose row it is: said by the policy's predicate when that pins the row to the
            # patient read, the parent row being theirs too. Said twice, PostgreSQL reckoned
            # one row from the patient alone and looked a dispensation's `reverses` up by
            # another index of the patient's rows (70 filtered for Tolvan) instead of the
            # primary key.
            if not pins_patient(visible, other, getattr(self.decision, "patient_id", None)):
                match.insert(0, other.c.patient_id == row.c.patient_id)
            disclose = declared.loader.disclose
        else:
            other = aliased(declared.table, self.name("ref"))
            match = [other.c[declared.key] == row.c[column]]
            disclose = None
        inner = self.row_object(target, other, self.subfields(target, details), where)
        own = [disclosure(disclose, other)] if disclose else []
        keys = [other.c.patient_id] if "patient_id" in other.c else []
        found = (
            select(*keys, inner.json.label("j"), disclosed_of([*own, *inner.disclosed]).label("d"))
            .select_from(joined(other, inner.laterals))
            .where(*match)
            .correlate(row)
        )
        if disclose is None:
            # A shared row by its unique key: at most one row, so the LIMIT changes no answer.
            # It keeps PostgreSQL from pulling the lookup up into a join, which it then made
            # a hash join over the whole table (770 care units, to name the unit of a page of
            # 20 diagnoses) instead of one index lookup per row: EmergencyOverview's statement
            # cost the backend 1.6 ms of CPU instead of 0.9 (docs/planner.md).
            found = found.limit(1)
        return text_or_null(part.attach(found.lateral(self.name("r"))).c.j)


def pins_patient(predicate: ColumnElement[bool], table: FromClause, patient_id: Any) -> bool:
    """Whether `predicate` says, as one of its top-level conjuncts, that `table`'s rows are
    the patient `patient_id`'s (`table.patient_id = <that id>`)."""
    if patient_id is None:
        return False
    terms = (
        predicate.clauses
        if isinstance(predicate, BooleanClauseList) and predicate.operator is operators.and_
        else (predicate,)
    )
    column = table.c.patient_id
    return any(
        isinstance(term, BinaryExpression)
        and term.operator is operators.eq
        and term.left is column
        and isinstance(term.right, BindParameter)
        and term.right.value == patient_id
        for term in terms
    )


__all__ = ["Builder"]
