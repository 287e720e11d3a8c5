"""From a selection over the schema to one SQL statement that writes its JSON.

`Builder.patient(...)` turns the selection of one `patient` field into a statement of two
columns: `data`, the patient object as compact JSON text exactly as GraphQL execution would
serialise it, and `disclosed`, every patient row the statement put into `data` ("patient|Type:id",
comma-separated) for the audit entry. Each list is a LATERAL subquery over a page of its
table (the policy's row predicate in its WHERE, the page cut by LIMIT before anything nested
is read), each nested list or reference a LATERAL of that page: the shape PostGraphile builds.

A field that cannot be read in SQL raises `Unplannable`; the planner then answers that field
of the patient through GraphQL execution (resolvers/planner/run.py).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
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
from graphql.execution.values import VariableValues, get_argument_values
from sqlalchemy import (
    Boolean,
    ColumnElement,
    FromClause,
    Table,
    Text,
    bindparam,
    case,
    cast,
    false,
    func,
    lateral,
    literal_column,
    null,
    select,
    true,
    type_coerce,
    union_all,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by, distinct_on
from sqlalchemy.sql.elements import False_
from sqlalchemy.sql.selectable import LateralFromClause as Lateral
from strawberry.types.arguments import convert_arguments

from app.access.categories import ADDRESS_COLUMNS, base_table_name
from app.access.data import ORGANISATION_TABLES
from app.access.policy import PatientAccess
from app.errors import AppError
from resolvers.compiled.sqljson import (
    base64url,
    global_id,
    iso_datetime,
    text_date,
    text_obj,
    text_or_null,
    text_plain,
    text_scalar,
    text_string,
)
from resolvers.filters import PageArgs
from resolvers.listing import Listing
from resolvers.loaders.base import PatientListLoader, RowByKeyLoader
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

# PatientListLoader methods whose override means the loader reads more narrowly than its
# listing says (resolvers/loaders/base.py).
CUSTOM_READS = ("where", "pages", "count", "load_batch")
# Attributes named differently from their column (schema/rows.py).
COLUMN_OF = {"pk": "id", "personnummer": "identifier"}
NULL = literal_column("'null'", Text)


class Unplannable(Exception):
    """A field the planner cannot read in SQL (its path and why)."""


@dataclass(frozen=True)
class DecidedSlot:
    """A `Decided` field: its value is computed per request and bound as JSON text."""

    slot: str
    declaration: Decided
    return_type: GraphQLOutputType
    fields: FieldDetailsList


@dataclass
class Part:
    """The JSON text of an object and what reading it needs: LATERAL subqueries to join to its
    row, and the disclosure lists of the patient rows they read."""

    json: ColumnElement[Any]
    laterals: list[Lateral] = field(default_factory=list)
    disclosed: list[ColumnElement[Any]] = field(default_factory=list)

    def attach(self, lateral: Lateral) -> Lateral:
        """Join `lateral` to the row, its disclosures (column `d`) to the row's."""
        self.laterals.append(lateral)
        self.disclosed.append(lateral.c.d)
        return lateral


@dataclass(frozen=True)
class Lists:
    """One list field under one row: its listing, the alias of its table, the row it hangs
    from, its conditions (partition, policy, filter) and its page arguments."""

    listing: Listing
    table: FromClause
    parent: FromClause
    base: list[ColumnElement[bool]]
    args: PageArgs


@dataclass(frozen=True)
class Paged:
    """A page of a connection, whatever it reads: the page (a LATERAL with `_rn` and `_c`),
    its rows' cursor, their own disclosure, how a node's JSON is read from a page row, and the
    whole list's size (for a page after a cursor)."""

    page: FromClause
    cursor: ColumnElement[Any]
    own: ColumnElement[Any]
    node: Callable[[GraphQLOutputType, FieldDetailsList, str], Part]
    total: Callable[[], ColumnElement[Any]]
    args: PageArgs


@dataclass
class Builder:
    """Builds the statements of one document under one decision (a plan's stand-in)."""

    schema: GraphQLSchema
    strawberry_schema: Any
    fragments: dict[str, FragmentDetails]
    variables: VariableValues
    operation: OperationDefinitionNode
    decision: PatientAccess
    decided: list[DecidedSlot] = field(default_factory=list)
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
        raw = get_argument_values(gfield, details[0].node, self.variables)
        definition = gfield.extensions["strawberry-definition"]
        converter = self.strawberry_schema.schema_converter
        return convert_arguments(
            raw,
            definition.arguments,
            scalar_registry=converter.scalar_registry,
            config=converter.config,
        )

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
            self.check_plain(gfield.type, details, where)
            slot = self.name("decided")
            self.decided.append(DecidedSlot(slot, declared, gfield.type, details))
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
            other = table.alias(self.name("o"))
            match = [
                other.c.patient_id == row.c.patient_id,
                other.c.id == row.c[column],
                self.visible(other),
            ]
            disclose = declared.loader.disclose
        else:
            other = declared.table.alias(self.name("ref"))
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
            .lateral(self.name("r"))
        )
        return text_or_null(part.attach(found).c.j)

    def check_plain(
        self, gql_type: GraphQLOutputType, details: FieldDetailsList, where: str
    ) -> None:
        """A `Decided` value's selection must be attributes only (resolvers/planner/
        serialize.py)."""
        while isinstance(gql_type, GraphQLNonNull | GraphQLList):
            gql_type = gql_type.of_type
        if not isinstance(gql_type, GraphQLObjectType):
            return
        for key, sub in self.subfields(gql_type, details).items():
            name = sub[0].node.name.value
            if name == "__typename":
                continue
            definition = gql_type.fields[name].extensions.get("strawberry-definition")
            if definition is None or definition.base_resolver is not None:
                raise Unplannable(f"{where}.{key}: not a plain attribute")
            self.check_plain(gql_type.fields[name].type, sub, f"{where}.{key}")

    # -- lists -----------------------------------------------------------------------------

    def listed(
        self,
        gfield: GraphQLField,
        declared: Listed | FirstOf,
        row: FromClause,
        details: FieldDetailsList,
        where: str,
        part: Part,
    ) -> ColumnElement[Any]:
        listed = declared.listed if isinstance(declared, FirstOf) else declared
        try:
            args = listed.args(**self.arguments(gfield, details))
        except AppError as exc:  # the loader path reports it, with its path
            raise Unplannable(f"{where}: {exc}") from exc
        if not issubclass(listed.loader, PatientListLoader):
            raise Unplannable(f"{where}: {listed.loader.__name__} is not a patient list")
        custom = [
            m
            for m in CUSTOM_READS
            if getattr(listed.loader, m) is not getattr(PatientListLoader, m)
        ]
        if custom:  # the loader reads its own way (a narrower scope): only it answers
            raise Unplannable(f"{where}: {listed.loader.__name__} overrides {custom}")
        listing: Listing = listed.loader.listing
        table = listing.table.alias(self.name("t"))
        base = [
            table.c[mine] == row.c[theirs]
            for mine, theirs in zip(listing.partition, listed.parent, strict=True)
        ]
        base.append(self.visible(table))
        base += listing.conditions(args, table)
        if listing.latest_per:  # page over the newest row per key (as Listing.source)
            per = [table.c[n] for n in (*listing.partition, *listing.latest_per)]
            newest = (
                select(table)
                .where(*base)
                .correlate(row)
                .ext(distinct_on(*per))
                .order_by(*per, table.c.event_time.desc(), table.c.id.desc())
                .lateral(self.name("latest"))
            )
            lists = Lists(listing, newest, row, [], args)
        else:
            lists = Lists(listing, table, row, base, args)
        if isinstance(declared, FirstOf):
            return self.first_of(gfield, lists, details, where, part)
        return self.connection(gfield, lists, details, where, part)

    def picked(
        self, gfield: GraphQLField, declared: Picked, row: FromClause, where: str, part: Part
    ) -> ColumnElement[Any]:
        listed = declared.listed
        listing: Listing = listed.loader.listing
        table = listing.table.alias(self.name("t"))
        args = listed.args()
        base = [
            table.c[mine] == row.c[theirs]
            for mine, theirs in zip(listing.partition, listed.parent, strict=True)
        ]
        base += [
            row.c[declared.key].isnot(None),
            self.visible(table),
            *listing.conditions(args, table),
        ]
        page = self.page(Lists(listing, table, row, base, args))
        chosen = func.max(case((page.c.id == row.c[declared.key], page.c[declared.column])))
        found = (
            select(
                page.c.patient_id,
                chosen.label("v"),
                func.string_agg(own_disclosure(listing, page), literal_column("','", Text)).label(
                    "d"
                ),
            )
            .select_from(page)
            .group_by(page.c.patient_id)
            .lateral(self.name("k"))
        )
        return self.scalar(gfield.type, part.attach(found).c.v, where)

    def page(self, lists: Lists) -> FromClause:
        """The page's rows, numbered, with how many rows lie after the cursor (`_c`): a
        LATERAL correlated to the row the list hangs from, cut by LIMIT before anything
        nested is read."""
        table, sort, args = lists.table, lists.listing.sort, lists.args
        order = sort.order(table)
        conditions = list(lists.base)
        if args.after is not None:
            conditions.append(sort.after(table, args.after))
        return (
            select(
                table,
                func.row_number().over(order_by=order).label("_rn"),
                func.count().over().label("_c"),
            )
            .where(*conditions)
            .correlate(lists.parent)
            .order_by(*order)
            .limit(args.first)
            .lateral(self.name("p"))
        )

    def first_of(
        self,
        gfield: GraphQLField,
        lists: Lists,
        details: FieldDetailsList,
        where: str,
        part: Part,
    ) -> ColumnElement[Any]:
        if lists.args.first != 1 or lists.args.after is not None:
            raise Unplannable(f"{where}: FirstOf needs first: 1")
        target = object_type(gfield.type, where)
        page = self.page(lists)
        node = self.row_object(target, page, self.subfields(target, details), where)
        found = (
            select(
                page.c.patient_id,
                node.json.label("j"),
                disclosed_of([own_disclosure(lists.listing, page), *node.disclosed]).label("d"),
            )
            .select_from(joined(page, node.laterals))
            .lateral(self.name("f"))
        )
        return text_or_null(part.attach(found).c.j)

    def connection(
        self,
        gfield: GraphQLField,
        lists: Lists,
        details: FieldDetailsList,
        where: str,
        part: Part,
    ) -> ColumnElement[Any]:
        conn_type = object_type(gfield.type, where)
        selected = self.subfields(conn_type, details)
        if lists.args.first == 0:
            return self.counted(conn_type, lists, selected, where, part)
        page = self.page(lists)

        def node(item: GraphQLOutputType, node_details: FieldDetailsList, path: str) -> Part:
            node_type = object_type(item, path)
            return self.row_object(node_type, page, self.subfields(node_type, node_details), path)

        paged = Paged(
            page,
            cursor_of(lists.listing.sort.tag, lists.listing.sort.columns, page),
            own_disclosure(lists.listing, page),
            node,
            lambda: self.count(lists),
            lists.args,
        )
        return self.paged_connection(conn_type, selected, paged, where, part)

    def paged_connection(
        self,
        conn_type: GraphQLObjectType,
        selected: GroupedFieldSet,
        paged: Paged,
        where: str,
        part: Part,
    ) -> ColumnElement[Any]:
        """A connection's JSON from its page: nodes and edges aggregated in page order, the
        counts and cursors of pageInfo, as `Connection` and `pages_from_rows` make them."""
        page, args, cursor = paged.page, paged.args, paged.cursor
        order = [page.c._rn]
        aggregates: dict[str, ColumnElement[Any]] = {}
        disclosures: list[ColumnElement[Any]] = [paged.own]
        laterals: list[Lateral] = []

        def nodes_of(
            parent: GraphQLObjectType, node_details: FieldDetailsList, path: str
        ) -> ColumnElement[Any]:
            node = paged.node(list_item(parent, node_details), node_details, path)
            laterals.extend(node.laterals)
            disclosures.extend(node.disclosed)
            return node.json

        for key, sub in selected.items():
            name = sub[0].node.name.value
            path = f"{where}.{key}"
            if name == "nodes":
                aggregates[f"list {key}"] = agg_text(nodes_of(conn_type, sub, path), order)
            elif name == "edges":
                edge_type = object_type(list_item(conn_type, sub), path)
                pairs: list[tuple[str, ColumnElement[Any]]] = []
                for edge_key, edge_sub in self.subfields(edge_type, sub).items():
                    edge_name = edge_sub[0].node.name.value
                    if edge_name == "cursor":
                        pairs.append((edge_key, text_plain(cursor)))
                    elif edge_name == "node":
                        pairs.append(
                            (edge_key, nodes_of(edge_type, edge_sub, f"{path}.{edge_key}"))
                        )
                    elif edge_name == "__typename":
                        pairs.append((edge_key, typename(edge_type)))
                    else:
                        raise Unplannable(f"{path}.{edge_key}")
                aggregates[f"list {key}"] = agg_text(text_obj(*pairs), order)
        aggregates["_start"] = func.min(case((page.c._rn == 1, cursor)))
        aggregates["_end"] = (func.array_agg(aggregate_order_by(cursor, page.c._rn.desc())))[1]
        aggregates["_c"] = func.max(page.c._c)
        aggregates["d"] = disclosed_agg(disclosures)
        # Grouped by the patient (one group: the page is one list) so that the lateral says
        # whose rows it holds (tests/patient_joins.py); an empty page gives no row, which the
        # LEFT JOIN turns into NULLs, as the aggregates of no rows would be.
        lateral = (
            select(page.c.patient_id, *[value.label(k) for k, value in aggregates.items()])
            .select_from(joined(page, laterals))
            .group_by(page.c.patient_id)
            .lateral(self.name("l"))
        )
        part.attach(lateral)
        remaining = func.coalesce(lateral.c._c, 0)
        if args.after is None:
            total: ColumnElement[Any] = remaining
            has_previous: ColumnElement[Any] = false()
        else:
            total = paged.total()
            has_previous = (remaining == 0) | (total > remaining)
        info = {
            "hasNextPage": text_bool(remaining > args.first),
            "hasPreviousPage": text_bool(has_previous),
            "startCursor": text_plain(lateral.c._start),
            "endCursor": text_plain(lateral.c._end),
        }
        # The lists' columns are named with a space: no response key (an alias) can collide.
        lists_json = {
            k: wrap_list(lateral.c[f"list {k}"]) for k in selected if f"list {k}" in aggregates
        }
        return self.connection_object(conn_type, selected, total, info, lists_json, where)

    def interleaved(
        self,
        gfield: GraphQLField,
        declared: Interleaved,
        row: FromClause,
        details: FieldDetailsList,
        where: str,
        part: Part,
    ) -> ColumnElement[Any]:
        """The timeline: a page over a UNION ALL of the kinds' (kind, patient, id, time), each
        arm under its table's policy predicate, each node read from its kind's table."""
        try:
            targs = declared.args(**self.arguments(gfield, details))
        except AppError as exc:
            raise Unplannable(f"{where}: {exc}") from exc
        args: PageArgs = targs.page
        if args.first == 0 or not targs.kinds:
            raise Unplannable(f"{where}: an empty timeline page")
        arms = []
        for kind in sorted(targs.kinds):
            t = declared.tables[kind].alias(self.name("k"))
            conditions = [
                t.c.patient_id == row.c.id,
                self.visible(t),
                *args.filter.conditions(t),
            ]
            if not args.include_nullified:
                conditions.append(t.c.nullified.is_(False))
            arms.append(
                select(
                    literal_column(f"'{kind}'", Text).label("kind"),
                    t.c.patient_id,
                    t.c.id,
                    t.c.event_time,
                )
                .where(*conditions)
                .correlate(row)
            )
        union = lateral(union_all(*arms), name=self.name("u"))
        sort = declared.sort
        order = sort.order(union)
        after = [sort.after(union, args.after)] if args.after is not None else []
        page = (
            select(
                union,
                func.row_number().over(order_by=order).label("_rn"),
                func.count().over().label("_c"),
            )
            .where(*after)
            .order_by(*order)
            .limit(args.first)
            .lateral(self.name("p"))
        )
        loaders = declared.loaders()

        def node(item: GraphQLOutputType, node_details: FieldDetailsList, path: str) -> Part:
            whole = Part(NULL)
            kinds: list[ColumnElement[Any]] = []
            for kind in sorted(targs.kinds):
                kind_type = self.schema.get_type(kind)
                assert isinstance(kind_type, GraphQLObjectType)
                table = loaders[kind].table.alias(self.name("e"))
                inner = self.row_object(
                    kind_type, table, self.subfields(kind_type, node_details), f"{path}<{kind}>"
                )
                found = (
                    select(
                        table.c.patient_id,
                        inner.json.label("j"),
                        disclosed_of(inner.disclosed).label("d"),
                    )
                    .select_from(joined(table, inner.laterals))
                    .where(
                        page.c.kind == kind,
                        table.c.patient_id == page.c.patient_id,
                        table.c.id == page.c.id,
                    )
                    .correlate(page)
                    .lateral(self.name("r"))
                )
                kinds.append(whole.attach(found).c.j)
            whole.json = func.coalesce(*kinds)
            return whole

        total = select(func.count()).select_from(union).scalar_subquery()
        # The loader path loads (and discloses) every row of the page, whatever is selected.
        if any(loaders[kind].disclose != kind for kind in targs.kinds):
            raise Unplannable(f"{where}: a kind disclosed under another name")
        own = (
            cast(page.c.patient_id, Text)
            .concat(literal_column("'|'", Text))
            .concat(page.c.kind)
            .concat(literal_column("':'", Text))
            .concat(cast(page.c.id, Text))
        )
        cursor = cursor_of(sort.tag, sort.columns, page)
        paged = Paged(page, cursor, own, node, lambda: total, args)
        conn_type = object_type(gfield.type, where)
        return self.paged_connection(
            conn_type, self.subfields(conn_type, details), paged, where, part
        )

    def counted(
        self,
        conn_type: GraphQLObjectType,
        lists: Lists,
        selected: GroupedFieldSet,
        where: str,
        part: Part,
    ) -> ColumnElement[Any]:
        """An empty page (`first: 0`) that still knows its counts, as the count statement of
        the loader path (nothing is disclosed)."""
        table, args = lists.table, lists.args
        after = lists.listing.sort.after(table, args.after) if args.after is not None else true()
        counts = (
            select(
                table.c.patient_id,
                func.count().label("total"),
                func.count().filter(after).label("remaining"),
            )
            .select_from(table)
            .where(*lists.base)
            .correlate(lists.parent)
            .group_by(table.c.patient_id)  # as in `paged_connection`
            .lateral(self.name("n"))
        )
        part.laterals.append(counts)
        total, remaining = func.coalesce(counts.c.total, 0), func.coalesce(counts.c.remaining, 0)
        info = {
            "hasNextPage": text_bool(remaining > 0),
            "hasPreviousPage": text_bool(total > remaining),
            "startCursor": NULL,
            "endCursor": NULL,
        }
        empty = literal_column("'[]'", Text)
        lists_json = {
            k: empty for k, sub in selected.items() if sub[0].node.name.value in ("nodes", "edges")
        }
        return self.connection_object(conn_type, selected, total, info, lists_json, where)

    def connection_object(
        self,
        conn_type: GraphQLObjectType,
        selected: GroupedFieldSet,
        total: ColumnElement[Any],
        info: Mapping[str, ColumnElement[Any]],
        lists_json: Mapping[str, ColumnElement[Any]],
        where: str,
    ) -> ColumnElement[Any]:
        pairs: list[tuple[str, ColumnElement[Any]]] = []
        for key, sub in selected.items():
            name = sub[0].node.name.value
            if key in lists_json:
                pairs.append((key, lists_json[key]))
            elif name == "totalCount":
                pairs.append((key, text_scalar(total)))
            elif name == "pageInfo":
                pairs.append((key, self.page_info(conn_type, sub, info, f"{where}.{key}")))
            elif name == "__typename":
                pairs.append((key, typename(conn_type)))
            else:
                raise Unplannable(f"{where}.{key}")
        return text_obj(*pairs)

    def count(self, lists: Lists) -> ColumnElement[Any]:
        """The whole list's size (after a cursor, the page only counts what follows it)."""
        statement = select(func.count()).select_from(lists.table).where(*lists.base)
        return statement.correlate(lists.parent).scalar_subquery()

    def page_info(
        self,
        conn_type: GraphQLObjectType,
        details: FieldDetailsList,
        values: Mapping[str, ColumnElement[Any]],
        where: str,
    ) -> ColumnElement[Any]:
        info_type = object_type(conn_type.fields["pageInfo"].type, where)
        pairs: list[tuple[str, ColumnElement[Any]]] = []
        for key, sub in self.subfields(info_type, details).items():
            name = sub[0].node.name.value
            pairs.append((key, typename(info_type) if name == "__typename" else values[name]))
        return text_obj(*pairs)


def object_type(gql_type: GraphQLOutputType, where: str) -> GraphQLObjectType:
    named = gql_type.of_type if isinstance(gql_type, GraphQLNonNull) else gql_type
    if isinstance(named, GraphQLObjectType):
        return named
    if isinstance(named, GraphQLInterfaceType):
        raise Unplannable(f"{where}: an interface ({named.name})")
    raise Unplannable(f"{where}: {named} is not an object type")


def list_item(parent: GraphQLObjectType, details: FieldDetailsList) -> GraphQLOutputType:
    """The item type of the list field `details` of `parent`."""
    gql_type: GraphQLOutputType = parent.fields[details[0].node.name.value].type
    while isinstance(gql_type, GraphQLNonNull | GraphQLList):
        gql_type = gql_type.of_type
    return gql_type


def typename(gtype: GraphQLObjectType) -> ColumnElement[Any]:
    return literal_column(f"'\"{gtype.name}\"'", Text)


def text_bool(condition: ColumnElement[Any]) -> ColumnElement[Any]:
    return case((condition, literal_column("'true'", Text)), else_=literal_column("'false'", Text))


def agg_text(node: ColumnElement[Any], order: Sequence[ColumnElement[Any]]) -> ColumnElement[Any]:
    return func.string_agg(node, aggregate_order_by(literal_column("','", Text), *order))


def wrap_list(elements: ColumnElement[Any]) -> ColumnElement[Any]:
    inner = func.coalesce(elements, literal_column("''", Text))
    return literal_column("'['", Text).concat(inner).concat(literal_column("']'", Text))


def own_disclosure(listing: Listing, page: FromClause) -> ColumnElement[Any]:
    """The disclosure of a page row (none for lists that disclose nothing)."""
    if listing.disclose is None:
        return literal_column("NULL", Text)
    return disclosure(listing.disclose, page)


def disclosure(type_name: str, row: FromClause) -> ColumnElement[Any]:
    """ "patient|Type:id" of a row, as `DataAccess.fetch(disclose=...)` records it."""
    return (
        cast(row.c.patient_id, Text)
        .concat(literal_column(f"'|{type_name}:'", Text))
        .concat(cast(row.c.id, Text))
    )


def disclosed_of(parts: Sequence[ColumnElement[Any]]) -> ColumnElement[Any]:
    """The disclosure lists of one row and what was read under it, comma-separated."""
    if not parts:
        return literal_column("NULL", Text)
    # concat_ws of nothing but NULLs is '', which would add empty items to the list.
    return func.nullif(func.concat_ws(literal_column("','", Text), *parts), "")


def disclosed_agg(parts: Sequence[ColumnElement[Any]]) -> ColumnElement[Any]:
    return func.string_agg(disclosed_of(parts), literal_column("','", Text))


def joined(source: FromClause, laterals: Sequence[Lateral]) -> FromClause:
    out = source
    for each in laterals:
        out = out.outerjoin(each, true())
    return out


def cursor_of(tag: str, columns: Sequence[str], page: FromClause) -> ColumnElement[Any]:
    """SortKey.encode of a page row: base64url of the compact JSON [tag, *values]."""
    text: ColumnElement[Any] = literal_column(f"""'["{tag}"'""", Text)
    for name in columns:
        text = text.concat(literal_column("','", Text)).concat(json_value(page.c[name]))
    return base64url(text.concat(literal_column("']'", Text)))


def json_value(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """A sort column's value as orjson writes it (`default=str` for UUIDs)."""
    try:
        kind = column.type.python_type
    except NotImplementedError:
        kind = object
    if kind is datetime:
        return text_plain(iso_datetime(column))
    if kind is int:
        return cast(column, Text)
    return cast(func.to_json(cast(column, Text) if _is_uuid(column) else column), Text)


def _is_uuid(column: ColumnElement[Any]) -> bool:
    try:
        return column.type.python_type is uuid.UUID
    except NotImplementedError:
        return False


def decimal_text(value: ColumnElement[Any]) -> ColumnElement[Any]:
    return text_string(cast(value, Text))


SCALARS: dict[str, Callable[[ColumnElement[Any]], ColumnElement[Any]]] = {
    "String": text_string,
    "Int": text_scalar,
    "Boolean": text_scalar,
    "DateTime": lambda v: text_plain(iso_datetime(v)),
    "Date": text_date,
    "Decimal": decimal_text,
    "UUID": lambda v: text_plain(cast(v, Text)),
}

__all__ = ["Builder", "DecidedSlot", "Part", "Unplannable"]
