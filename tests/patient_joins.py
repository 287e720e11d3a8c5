"""Does a SQL statement join patient-scoped tables on patient_id? For the Citus plan
(citus/distribute.sql): rows of two tables distributed by patient meet on one node only when the
join says that their patients are the same.

The statement is parsed by PostgreSQL's own parser (pglast). Every place where two
patient-scoped relations meet is a *join*: two relations in one FROM (joined, or a plain comma),
a subquery that refers to a relation of an outer query (a correlation: EXISTS, a scalar or
LATERAL subquery), and a subquery compared with an outer expression (`x IN (SELECT ...)`,
`x = (SELECT ...)`). A join passes when the patient keys of both sides (patient.id, or the
table's patient_id) are equal by the statement's conditions: `a.patient_id = b.patient_id`
directly or through a chain of equalities, or both equal to the same value (a constant, or
parameters bound to the same value). Only conditions that always hold count: the conjuncts of
WHERE, JOIN ... ON and HAVING, and the comparison of an IN / scalar subquery; an equality
under OR or NOT does not.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pglast
from pglast import ast
from pglast.enums import A_Expr_Kind, BoolExprType, SubLinkType

Node = tuple[Any, ...]  # ("col", relation uid, column) or ("value", repr of a bound value)


@dataclass(eq=False)
class Relation:
    """One occurrence of a table, a CTE or a derived table in a statement."""

    uid: int
    name: str  # the table's (or CTE's) name, or "(subquery)"
    columns: Mapping[str, Node | None]  # column -> the node it is (derived: of its query)
    # Its patient key: a table's, a derived table's key column; else (a derived table that
    # does not give its key, an aggregate say) the keys of the tables its rows come from.
    keys: tuple[Node, ...]
    scoped: bool  # patient-scoped (a derived table of patient-scoped rows is too)

    def label(self) -> str:
        return self.name


@dataclass
class Output:
    """What a query gives its user: columns, whether its rows are patient-scoped and their
    patient keys (Relation.keys), and the patient-scoped relations of its own FROM."""

    columns: dict[str, Node | None] = field(default_factory=dict)
    scoped: bool = False
    keys: tuple[Node, ...] = ()
    relations: list[Relation] = field(default_factory=list)


@dataclass(eq=False)
class Scope:
    parent: Scope | None
    relations: dict[str, Relation] = field(default_factory=dict)  # by alias
    ctes: dict[str, Output] = field(default_factory=dict)
    outer_refs: list[Relation] = field(default_factory=list)

    def cte(self, name: str) -> Output | None:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.ctes:
                return scope.ctes[name]
            scope = scope.parent
        return None


@dataclass(frozen=True)
class Violation:
    left: str
    right: str
    statement: str

    def __str__(self) -> str:
        return f"{self.left} x {self.right} without equal patient ids in: {self.statement}"


class _Analysis:
    def __init__(
        self,
        scoped: Mapping[str, str],
        columns: Mapping[str, Sequence[str]],
        args: Sequence[Any] | None,
    ) -> None:
        self.scoped = scoped  # patient-scoped table -> its patient key column
        self.columns = columns  # every table's columns
        self.args = args
        self.parent: dict[Node, Node] = {}
        self.uids = itertools.count()
        self.joins: list[tuple[Relation, Relation]] = []

    # -- equalities ------------------------------------------------------------------------

    def find(self, node: Node) -> Node:
        while self.parent.get(node, node) != node:
            node = self.parent[node]
        return node

    def union(self, a: Node | None, b: Node | None) -> None:
        if a is not None and b is not None:
            self.parent[self.find(a)] = self.find(b)

    def same(self, a: Node | None, b: Node | None) -> bool:
        return a is not None and b is not None and self.find(a) == self.find(b)

    # -- relations -------------------------------------------------------------------------

    def table(self, name: str) -> Relation:
        uid = next(self.uids)
        columns: dict[str, Node | None] = {c: ("col", uid, c) for c in self.columns.get(name, ())}
        key_column = self.scoped.get(name)
        keys: tuple[Node, ...] = (("col", uid, key_column),) if key_column else ()
        return Relation(uid, name, columns, keys, bool(keys))

    def derived(self, name: str, out: Output) -> Relation:
        return Relation(next(self.uids), name, out.columns, out.keys, out.scoped)

    # -- statements ------------------------------------------------------------------------

    def statement(self, stmt: ast.Node, parent: Scope | None) -> Output:
        """Analyse one statement (a query or DML); its output columns, whether its rows are
        patient-scoped, and the output column that is their patient key."""
        if isinstance(stmt, ast.SelectStmt):
            return self.select(stmt, parent)
        scope = Scope(parent)
        self.with_clause(getattr(stmt, "withClause", None), scope)
        if isinstance(stmt, ast.InsertStmt):
            if stmt.selectStmt is not None:
                self.statement(stmt.selectStmt, scope)
            target = self.table(stmt.relation.relname)
            scope.relations[_alias(stmt.relation)] = target
            self.expressions(stmt.onConflictClause, scope)
            self.expressions(stmt.returningList, scope)
            return Output()
        if isinstance(stmt, (ast.UpdateStmt, ast.DeleteStmt)):
            target = self.table(stmt.relation.relname)
            scope.relations[_alias(stmt.relation)] = target
            others = stmt.fromClause if isinstance(stmt, ast.UpdateStmt) else stmt.usingClause
            for item in others or ():
                self.from_item(item, scope)
            self.conditions(stmt.whereClause, scope)
            if isinstance(stmt, ast.UpdateStmt):
                self.expressions(stmt.targetList, scope)
            self.expressions(stmt.returningList, scope)
            self.joined(scope)
            return Output()
        return Output()

    def with_clause(self, with_: ast.WithClause | None, scope: Scope) -> None:
        for cte in with_.ctes if with_ is not None else ():
            out = self.statement(cte.ctequery, scope)
            if cte.aliascolnames:
                names = [n.sval for n in cte.aliascolnames]
                out.columns = dict(zip(names, out.columns.values(), strict=False))
            scope.ctes[cte.ctename] = out

    def select(self, stmt: ast.SelectStmt, parent: Scope | None) -> Output:
        scope = Scope(parent)
        self.with_clause(stmt.withClause, scope)
        if stmt.op != 0:  # UNION / INTERSECT / EXCEPT: each side on its own
            left = self.select(stmt.larg, scope)
            right = self.select(stmt.rarg, scope)
            # A row comes from either side: the keys of both.
            return Output(
                left.columns,
                left.scoped or right.scoped,
                left.keys + right.keys,
                left.relations + right.relations,
            )
        for item in stmt.fromClause or ():
            self.from_item(item, scope)
        self.conditions(stmt.whereClause, scope)
        self.conditions(stmt.havingClause, scope)
        for values in stmt.valuesLists or ():
            self.expressions(values, scope)
        self.expressions(stmt.targetList, scope)
        self.expressions(stmt.sortClause, scope)
        self.expressions(stmt.groupClause, scope)
        self.expressions(stmt.windowClause, scope)
        self.expressions(stmt.limitCount, scope)
        self.expressions(stmt.limitOffset, scope)
        self.expressions(stmt.distinctClause, scope)
        self.joined(scope)
        columns: dict[str, Node | None] = {}
        for target in stmt.targetList or ():
            value = target.val
            if isinstance(value, ast.ColumnRef) and isinstance(value.fields[-1], ast.A_Star):
                for relation in self.star(value, scope):
                    columns.update(relation.columns)
                continue
            name = target.name or _output_name(value)
            if name is not None:
                columns[name] = self.node(value, scope)
        local = [r for r in scope.relations.values() if r.scoped]
        keys = tuple(k for r in local for k in r.keys)
        given = next((n for n in columns.values() if n is not None and n in keys), None)
        return Output(columns, bool(local), (given,) if given is not None else keys, local)

    def star(self, ref: ast.ColumnRef, scope: Scope) -> list[Relation]:
        if len(ref.fields) == 1:
            return list(scope.relations.values())
        found = scope.relations.get(ref.fields[0].sval)
        return [found] if found is not None else []

    def from_item(self, item: ast.Node, scope: Scope) -> None:
        if isinstance(item, ast.RangeVar):
            cte = scope.cte(item.relname) if item.schemaname is None else None
            if cte is not None:
                relation = self.derived(item.relname, cte)
            else:
                relation = self.table(item.relname)
            scope.relations[_alias(item)] = relation
        elif isinstance(item, ast.JoinExpr):
            self.from_item(item.larg, scope)
            self.from_item(item.rarg, scope)
            self.conditions(item.quals, scope)
            for name in item.usingClause or ():
                column = name.sval
                nodes = [
                    r.columns.get(column) for r in scope.relations.values() if column in r.columns
                ]
                for a, b in itertools.pairwise(nodes):
                    self.union(a, b)
        elif isinstance(item, ast.RangeSubselect):
            # A LATERAL subquery sees the relations before it; any subquery sees outer ones.
            out = self.statement(item.subquery, scope)
            if item.alias is not None and item.alias.colnames:
                names = [n.sval for n in item.alias.colnames]
                out.columns = dict(zip(names, out.columns.values(), strict=False))
            alias = item.alias.aliasname if item.alias is not None else f"(subquery {id(item)})"
            scope.relations[alias] = self.derived("(subquery)", out)
        elif isinstance(item, ast.RangeFunction):
            self.expressions(item.functions, scope)
            if item.alias is not None:
                scope.relations[item.alias.aliasname] = self.derived("(function)", Output())

    def joined(self, scope: Scope) -> None:
        """Everything this query's rows combine: its FROM and the outer relations it uses."""
        seen: list[Relation] = []
        for relation in [*scope.relations.values(), *scope.outer_refs]:
            if relation.scoped and relation not in seen:
                seen.append(relation)
        self.joins.extend(itertools.combinations(seen, 2))

    # -- expressions -----------------------------------------------------------------------

    def conditions(self, expr: ast.Node | None, scope: Scope) -> None:
        """Conjuncts that always hold: their equalities count."""
        for conjunct in _conjuncts(expr):
            if (
                isinstance(conjunct, ast.SubLink)
                and conjunct.subLinkType == SubLinkType.ANY_SUBLINK
            ):
                self.sublink(conjunct, scope, holds=True)
            elif (
                isinstance(conjunct, ast.A_Expr)
                and _op(conjunct) == "="
                and conjunct.kind
                in (
                    A_Expr_Kind.AEXPR_OP,
                    A_Expr_Kind.AEXPR_IN,
                )
            ):
                left, right = _strip(conjunct.lexpr), conjunct.rexpr
                if conjunct.kind == A_Expr_Kind.AEXPR_IN:
                    # x IN (v) is x = v; (a, b) IN ((v, w)) is a = v and b = w.
                    if len(right) != 1:
                        self.expressions(conjunct, scope)
                        continue
                    right = right[0]
                right = _strip(right)
                if isinstance(right, ast.SubLink) and right.subLinkType == SubLinkType.EXPR_SUBLINK:
                    self.sublink(right, scope, holds=True, test=left)
                elif isinstance(left, ast.RowExpr) and isinstance(right, ast.RowExpr):
                    for a, b in zip(left.args, right.args, strict=False):
                        self.union(self.operand(a, scope), self.operand(b, scope))
                else:
                    self.union(self.operand(left, scope), self.operand(right, scope))
            else:
                self.expressions(conjunct, scope)

    def operand(self, expr: Any, scope: Scope) -> Node | None:
        """The node of a plain operand (a column, a value); anything else is walked."""
        expr = _strip(expr)
        if isinstance(expr, (ast.ColumnRef, ast.ParamRef, ast.A_Const)):
            return self.node(expr, scope)
        self.expressions(expr, scope)
        return None

    def sublink(
        self, link: ast.SubLink, scope: Scope, *, holds: bool, test: ast.Node | None = None
    ) -> None:
        """`test op (SELECT ...)`: the subquery's rows meet the relations of `test`; when the
        comparison always holds and is an equality, its columns equal the subquery's."""
        equality = test is not None or (
            link.subLinkType == SubLinkType.ANY_SUBLINK and _operator(link) == "="
        )
        test = test if test is not None else link.testexpr
        out = self.statement(link.subselect, scope)
        if test is None:
            return
        if holds and equality:
            left = _strip(test)
            outputs = list(out.columns.values())
            if isinstance(left, ast.RowExpr):
                for a, b in zip(left.args, outputs, strict=False):
                    self.union(self.operand(a, scope), b)
            else:
                self.union(self.operand(left, scope), outputs[0] if outputs else None)
        else:
            self.expressions(test, scope)
        for outer in self.relations_in(test, scope):
            for inner in out.relations:
                if outer.scoped:
                    self.joins.append((outer, inner))

    def expressions(self, expr: Any, scope: Scope) -> None:
        """Walk an expression: column references (correlations) and subqueries."""
        for node in _walk(expr):
            if isinstance(node, ast.ColumnRef):
                self.resolve(node, scope)
            elif isinstance(node, ast.SubLink):
                if node.subLinkType in (
                    SubLinkType.ANY_SUBLINK,
                    SubLinkType.ALL_SUBLINK,
                    SubLinkType.ROWCOMPARE_SUBLINK,
                ):
                    self.sublink(node, scope, holds=False)
                else:
                    self.statement(node.subselect, scope)

    def relations_in(self, expr: Any, scope: Scope) -> list[Relation]:
        found: list[Relation] = []
        for node in _walk(expr):
            if isinstance(node, ast.ColumnRef):
                resolved = self.resolve(node, scope, record=False)
                if resolved is not None and resolved[0] not in found:
                    found.append(resolved[0])
        return found

    def resolve(
        self, ref: ast.ColumnRef, scope: Scope, *, record: bool = True
    ) -> tuple[Relation, Node | None] | None:
        names = [str(f.sval) for f in ref.fields if isinstance(f, ast.String)]
        if not names or isinstance(ref.fields[-1], ast.A_Star):
            return None
        column = names[-1]
        qualifier = names[-2] if len(names) > 1 else None
        current: Scope | None = scope
        while current is not None:
            if qualifier is not None:
                relation = current.relations.get(qualifier)
                candidates = [relation] if relation is not None else []
            else:
                candidates = [r for r in current.relations.values() if column in r.columns]
            if len(candidates) == 1:
                relation = candidates[0]
                if current is not scope and record:
                    # A correlation: every scope between here and there uses the outer row.
                    inner: Scope | None = scope
                    while inner is not None and inner is not current:
                        if relation not in inner.outer_refs:
                            inner.outer_refs.append(relation)
                        inner = inner.parent
                return relation, relation.columns.get(column)
            current = current.parent
        return None

    def node(self, expr: Any, scope: Scope) -> Node | None:
        expr = _strip(expr)
        if isinstance(expr, ast.ColumnRef):
            resolved = self.resolve(expr, scope)
            return resolved[1] if resolved is not None else None
        if isinstance(expr, ast.ParamRef):
            if self.args is not None and 0 < expr.number <= len(self.args):
                return ("value", repr(self.args[expr.number - 1]))
            return ("param", expr.number)
        if isinstance(expr, ast.A_Const) and not expr.isnull:
            return ("value", repr(_const(expr.val)))
        return None


def _alias(item: ast.RangeVar) -> str:
    return str(item.alias.aliasname if item.alias is not None else item.relname)


def _strip(expr: Any) -> Any:
    while isinstance(expr, ast.TypeCast):
        expr = expr.arg
    return expr


def _op(expr: ast.A_Expr) -> str:
    return ".".join(n.sval for n in expr.name)


def _operator(link: ast.SubLink) -> str:
    return ".".join(n.sval for n in link.operName) if link.operName else "="


def _const(value: Any) -> Any:
    for attribute in ("sval", "ival", "fval", "boolval", "bsval"):
        if hasattr(value, attribute):
            return getattr(value, attribute)
    return value


def _output_name(expr: Any) -> str | None:
    expr = _strip(expr)
    if isinstance(expr, ast.ColumnRef) and isinstance(expr.fields[-1], ast.String):
        return str(expr.fields[-1].sval)
    return None


def _conjuncts(expr: Any) -> Iterator[Any]:
    if expr is None:
        return
    if isinstance(expr, ast.BoolExpr) and expr.boolop == BoolExprType.AND_EXPR:
        for arg in expr.args:
            yield from _conjuncts(arg)
    else:
        yield expr


def _walk(expr: Any) -> Iterator[Any]:
    """Nodes of an expression, not descending into subqueries (a SubLink is yielded)."""
    if expr is None:
        return
    if isinstance(expr, (list, tuple)):
        for item in expr:
            yield from _walk(item)
        return
    if not isinstance(expr, ast.Node):
        return
    yield expr
    if isinstance(expr, ast.SubLink):
        return
    for name in expr:
        yield from _walk(getattr(expr, name))


def violations(
    sql: str,
    args: Sequence[Any] | None,
    scoped: Mapping[str, str],
    columns: Mapping[str, Sequence[str]],
) -> list[Violation]:
    """The joins of `sql` (run with `args`) between patient-scoped relations whose patient
    keys are not equal by its conditions. `scoped`: table -> its patient key column."""
    found: list[Violation] = []
    for raw in pglast.parse_sql(sql):
        analysis = _Analysis(scoped, columns, args)
        analysis.statement(raw.stmt, None)
        for a, b in analysis.joins:
            same = all(analysis.same(x, y) for x in a.keys for y in b.keys)
            if a is not b and not (a.keys and b.keys and same):
                found.append(Violation(a.label(), b.label(), " ".join(sql.split())))
    return found


def patient_keys(
    distributed: Mapping[str, str], colocated_with: Mapping[str, str | None]
) -> dict[str, str]:
    """The patient-scoped tables of a distribution plan and their patient key column: patient
    and the tables co-located with it."""
    return {
        table: column
        for table, column in distributed.items()
        if table == "patient" or colocated_with.get(table) == "patient"
    }


def unique(items: Iterable[Violation]) -> list[Violation]:
    return sorted(set(items), key=str)
