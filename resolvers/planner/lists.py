"""How the planner reads lists: a connection's page (a LATERAL of its table under the policy,
cut by LIMIT before anything nested is read), its nodes and edges, counts and cursors, the
timeline over several tables, the first row of a list and a value looked up in one.

`ListReads` is the part of `Builder` (resolvers/planner/build.py) that reads lists.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    GraphQLField,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    ListValueNode,
    ObjectValueNode,
    ValueNode,
    VariableNode,
)
from graphql.execution.collect_fields import (
    FieldDetailsList,
    GroupedFieldSet,
)
from graphql.execution.values import VariableValues
from sqlalchemy import (
    ColumnElement,
    FromClause,
    Table,
    Text,
    case,
    cast,
    false,
    func,
    lateral,
    literal_column,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by, distinct_on
from sqlalchemy.sql.selectable import LateralFromClause as Lateral

from app.access.policy import PatientAccess
from app.errors import AppError
from resolvers.filters import PageArgs, Slotted, slotted
from resolvers.listing import Listing
from resolvers.loaders.base import PatientListLoader
from resolvers.pagination import CursorSlots, SortKey
from resolvers.planner.declare import (
    FirstOf,
    Interleaved,
    Listed,
    Picked,
)
from resolvers.planner.parts import (
    CursorSlot,
    Decline,
    FilterSlot,
    Part,
    Unplannable,
    list_item,
    object_type,
    page_limit,
)
from resolvers.planner.sqljson import (
    text_obj,
    text_or_null,
    text_plain,
    text_scalar,
)
from resolvers.planner.sqltext import (
    NULL,
    agg_text,
    aliased,
    cursor_of,
    disclosed_agg,
    disclosed_of,
    joined,
    own_disclosure,
    text_bool,
    typename,
    wrap_list,
)

# The arguments of a list whose variables a plan may take per run (Document.filters).
FILTERING = ("filter", "changedSince")

# PatientListLoader methods whose override means the loader reads more narrowly than its
# listing says (resolvers/loaders/base.py).
CUSTOM_READS = ("where", "pages", "count", "load_batch")


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
    """A page of a connection, whatever it reads: the page (a LATERAL with `_rn`, and `_c` if
    counted), its rows' cursor, their own disclosure, how a node's JSON is read from a page
    row, and the whole list's size (for a page after a cursor)."""

    page: FromClause
    cursor: ColumnElement[Any]
    own: ColumnElement[Any]
    node: Callable[[GraphQLOutputType, FieldDetailsList, str], Part]
    total: Callable[[], ColumnElement[Any]]
    args: PageArgs


class ListReads:
    """Reading lists, for `Builder`: it supplies the methods declared here."""

    schema: GraphQLSchema
    strawberry_schema: Any
    decision: PatientAccess
    variables: VariableValues
    cursors: frozenset[str]
    cursor_slots: list[CursorSlot]
    filters: frozenset[str]
    filter_slots: list[tuple[FilterSlot, Slotted]]

    def cursor_variable(self, details: FieldDetailsList) -> str | None:
        """The variable given as this field's `after`, if the plan binds it: with a value
        (a null one shapes the plan as no cursor)."""
        for argument in details[0].node.arguments or ():
            if argument.name.value == "after" and isinstance(argument.value, VariableNode):
                name = argument.value.name.value
                bound = name in self.cursors and self.variables.coerced.get(name) is not None
                return name if bound else None
        return None

    def bound_after(
        self, args: PageArgs, variable: str | None, sort: SortKey, table: Table
    ) -> PageArgs:
        """`args` with its cursor as slots of the plan when `variable` gives it: any cursor
        of the list then reads with the same plan (its values decoded per run, CursorSlot)."""
        if variable is None or args.after is None:
            return args
        prefix = self.name("after")
        names = tuple(f"{prefix}_{column}" for column in sort.columns)
        self.cursor_slots.append(CursorSlot(variable, sort, table, names))
        return dataclasses.replace(args, after=CursorSlots(names))

    def filtered(self, details: FieldDetailsList) -> bool:
        """Whether this list's filter gives variables that the plan takes per run."""
        return bool(self.filters) and not self.filters.isdisjoint(_filter_variables(details))

    def bound_filter(
        self,
        args: PageArgs,
        gfield: GraphQLField,
        details: FieldDetailsList,
        page: Callable[..., PageArgs],
    ) -> PageArgs:
        """`args` with its filter's values as slots of the plan when `filtered`: any values
        of the filter's shape then read with the same plan (`FilterSlot` reads them again
        per run, with `page`, the list's own arguments function)."""
        if not self.filtered(details):
            return args
        prefix = self.name("filter")
        made = slotted(args.filter, prefix)
        slot = FilterSlot(
            prefix, args.filter.shape(), self.strawberry_schema, gfield, details[0].node, page
        )
        self.filter_slots.append((slot, made))
        return dataclasses.replace(args, filter=made.filter)

    def name(self, prefix: str) -> str:
        raise NotImplementedError

    def visible(self, table: FromClause) -> ColumnElement[bool]:
        raise NotImplementedError

    def subfields(self, parent: GraphQLObjectType, details: FieldDetailsList) -> GroupedFieldSet:
        raise NotImplementedError

    def arguments(self, gfield: GraphQLField, details: FieldDetailsList) -> dict[str, Any]:
        raise NotImplementedError

    def row_object(
        self,
        gtype: GraphQLObjectType,
        row: FromClause,
        fields: GroupedFieldSet,
        path: str,
        columns: Mapping[str, str] | None = None,
    ) -> Part:
        raise NotImplementedError

    def scalar(
        self, gql_type: GraphQLOutputType, value: ColumnElement[Any], where: str
    ) -> ColumnElement[Any]:
        raise NotImplementedError

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
        variable = self.cursor_variable(details)
        try:
            args = listed.args(**self.arguments(gfield, details))
        except AppError as exc:  # the loader path reports it, with its path
            if variable is not None or self.filtered(details):  # a value not in the key
                raise Decline from exc
            raise Unplannable(f"{where}: {exc}") from exc
        args = self.bound_filter(args, gfield, details, listed.args)
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
        if not isinstance(declared, FirstOf):  # (a first node after a cursor: not planned)
            args = self.bound_after(args, variable, listing.sort, listing.table)
        table = aliased(listing.table, self.name("t"))
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
        table = aliased(listing.table, self.name("t"))
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

    def page(self, lists: Lists, *, counted: bool = False) -> FromClause:
        """The page's rows, numbered: a LATERAL correlated to the row the list hangs from, cut
        by LIMIT before anything nested is read. `counted`: with how many rows lie after the
        cursor (`_c`), which makes PostgreSQL read every row of the list, not just the page's."""
        table, sort, args = lists.table, lists.listing.sort, lists.args
        order = sort.order(table)
        conditions = list(lists.base)
        if args.after is not None:
            conditions.append(sort.after(table, args.after))
        return (
            select(table, *_numbered(order, counted))
            .where(*conditions)
            .correlate(lists.parent)
            .order_by(*order)
            .limit(page_limit(args.first))
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
        page = self.page(lists, counted=self.counts_wanted(conn_type, selected))

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
        wanted = self.page_info_wanted(conn_type, selected)
        if wanted & {"startCursor", "endCursor"}:
            aggregates["_start"] = func.min(case((page.c._rn == 1, cursor)))
            aggregates["_end"] = (func.array_agg(aggregate_order_by(cursor, page.c._rn.desc())))[1]
        if "_c" in page.c:
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
        info: dict[str, ColumnElement[Any]] = {}
        total: ColumnElement[Any] = NULL  # rendered only when selected, and then counted
        if "_c" in aggregates:
            remaining = func.coalesce(lateral.c._c, 0)
            if args.after is None:
                total = remaining
                has_previous: ColumnElement[Any] = false()
            else:
                total = paged.total()
                has_previous = (remaining == 0) | (total > remaining)
            info["hasNextPage"] = text_bool(remaining > page_limit(args.first))
            info["hasPreviousPage"] = text_bool(has_previous)
        if "_start" in aggregates:
            info["startCursor"] = text_plain(lateral.c._start)
            info["endCursor"] = text_plain(lateral.c._end)
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
        variable = self.cursor_variable(details)
        try:
            targs = declared.args(**self.arguments(gfield, details))
        except AppError as exc:
            if variable is not None or self.filtered(details):  # a value not in the key
                raise Decline from exc
            raise Unplannable(f"{where}: {exc}") from exc
        args: PageArgs = self.bound_filter(
            targs.page, gfield, details, lambda **kw: declared.args(**kw).page
        )
        if args.first == 0 or not targs.kinds:
            raise Unplannable(f"{where}: an empty timeline page")
        # The kinds' tables share the sort columns' types: any decodes a cursor.
        args = self.bound_after(args, variable, declared.sort, next(iter(declared.tables.values())))
        arms = []
        for kind in sorted(targs.kinds):
            t = aliased(declared.tables[kind], self.name("k"))
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
        conn_type = object_type(gfield.type, where)
        selected = self.subfields(conn_type, details)
        page = (
            select(union, *_numbered(order, self.counts_wanted(conn_type, selected)))
            .where(*after)
            .order_by(*order)
            .limit(page_limit(args.first))
            .lateral(self.name("p"))
        )
        loaders = declared.loaders()

        def node(item: GraphQLOutputType, node_details: FieldDetailsList, path: str) -> Part:
            whole = Part(NULL)
            kinds: list[ColumnElement[Any]] = []
            for kind in sorted(targs.kinds):
                kind_type = self.schema.get_type(kind)
                assert isinstance(kind_type, GraphQLObjectType)
                table = aliased(loaders[kind].table, self.name("e"))
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
        return self.paged_connection(conn_type, selected, paged, where, part)

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

    def page_info_wanted(self, conn_type: GraphQLObjectType, selected: GroupedFieldSet) -> set[str]:
        """The fields of pageInfo the selection reads (any of its pageInfo selections)."""
        wanted: set[str] = set()
        for key, sub in selected.items():
            if sub[0].node.name.value == "pageInfo":
                info_type = object_type(conn_type.fields["pageInfo"].type, key)
                wanted |= {s[0].node.name.value for s in self.subfields(info_type, sub).values()}
        return wanted

    def counts_wanted(self, conn_type: GraphQLObjectType, selected: GroupedFieldSet) -> bool:
        """Whether the selection reads the list's size: totalCount or where the page lies."""
        if any(sub[0].node.name.value == "totalCount" for sub in selected.values()):
            return True
        return bool(self.page_info_wanted(conn_type, selected) & {"hasNextPage", "hasPreviousPage"})

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


def _numbered(order: list[ColumnElement[Any]], counted: bool) -> list[ColumnElement[Any]]:
    """A page's row number (`_rn`) and, if `counted`, the size of the list after the cursor
    (`_c`): a window over the whole list, which the row number alone is not."""
    numbered: list[ColumnElement[Any]] = [func.row_number().over(order_by=order).label("_rn")]
    if counted:
        numbered.append(func.count().over().label("_c"))
    return numbered


def _filter_variables(details: FieldDetailsList) -> set[str]:
    """The variables given in a list field's FILTERING arguments."""
    found: set[str] = set()

    def collect(value: ValueNode) -> None:
        if isinstance(value, VariableNode):
            found.add(value.name.value)
        elif isinstance(value, ListValueNode):
            for item in value.values:
                collect(item)
        elif isinstance(value, ObjectValueNode):
            for field in value.fields:
                collect(field.value)

    node: FieldNode = details[0].node
    for argument in node.arguments or ():
        if argument.name.value in FILTERING:
            collect(argument.value)
    return found
