"""One description of a patient query, from which the PostGraphile twin and the floor SQL come.

A situation workload declares, once, the part of its vardkedja operation that PostGraphile and
plain SQL can also express: the patient's own fields, lists (connections) with their page size,
filter and order, references (to-one) and nested lists. From it:

- `postgraphile(root)`: a PostGraphile 5 document that asks for the same rows, with GraphQL
  aliases so that its answer has vardkedja's field names;
- `floor_sql(root)`: one SQL statement that builds the same JSON in PostgreSQL;
- `project(root, answer)`: any of the three answers reduced to exactly the described fields, in
  one canonical spelling (plain uuids, UTC times, case and accents folded, numbers as floats).

Fields of the vardkedja operation that are not described (`withheld`, computed fields such as
`critical` or `daysSinceReady`) are left out of the comparison; each workload names them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from bench.workloads.base import plain_id, utc_iso

NEWEST: tuple[tuple[str, str], ...] = (("event_time", "DESC"), ("id", "DESC"))
# The floor's parameters beside the patient's id ($1), numbered in this order when used.
PARAMETERS = ("provider", "hsa")


def camel(column: str) -> str:
    """PostGraphile's name of a column: snake_case to camelCase, `id` to `rowId`."""
    if column == "id":
        return "rowId"
    head, *rest = column.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


@dataclass(frozen=True)
class Col:
    """A scalar field: vardkedja's name, the column, and how to compare its values."""

    name: str
    column: str
    kind: str = "text"  # text | id | time | num | bool | date

    @property
    def pg(self) -> str:
        return camel(self.column)


@dataclass(frozen=True)
class Ref:
    """A to-one reference (careUnit { name }) through a foreign key column of the parent."""

    name: str
    table: str
    fk: str  # the parent's column
    pg: str  # PostGraphile's field
    fields: tuple[Node, ...]
    key: str = "id"  # the referenced table's column
    scoped: bool = False  # the key is (patient_id, key): a row of the same patient


@dataclass(frozen=True)
class Many:
    """A connection: the rows of `table` whose `fk` is the parent's `parent_key`."""

    name: str
    table: str
    pg: str
    fields: tuple[Node, ...]
    first: int
    fk: str = "patient_id"
    parent_key: str = "id"
    scoped: bool = False  # also patient_id = the parent's patient_id (composite keys)
    where: str = ""  # extra SQL predicate on the row (alias `t`; {provider}, {hsa})
    condition: str = ""  # the same for PostGraphile's `condition: {...}` (inner text)
    filter: str = ""  # or for its `filter: {...}` (inner text)
    order: tuple[tuple[str, str], ...] = NEWEST
    total: bool = False
    nullified: bool = True  # the table has the `nullified` column: leave those rows out
    own_provider: bool = False  # only rows of the caller's care provider ($provider)
    mine: bool = False  # only rows the caller is accountable for ($hsa: their HSA-id; A11)
    latest_per: tuple[str, ...] = ()  # of the rows in `order`, the first per these fields


@dataclass(frozen=True)
class Timeline:
    """Rows of several tables as one list, newest first (vardkedja's `timeline`): `fields`
    are read from every table alike; `Col("__typename", "kind")` names each row's type.

    PostGraphile has no such union: its twin asks each table for its newest `first` rows
    (aliases `<name>_<Type>`) and `project` merges them, which gives the same first page
    and, summed, the same total."""

    name: str
    kinds: tuple[tuple[str, str, str], ...]  # (GraphQL type, table, PostGraphile field)
    fields: tuple[Node, ...]
    first: int
    where: str = ""  # SQL predicate on every table's row (alias `t`)
    condition: str = ""  # the same for PostGraphile's `condition`


Node = Col | Ref | Many | Timeline


@dataclass(frozen=True)
class Root:
    """The patient, by id ($1 in SQL, $id in PostGraphile), with its fields and lists."""

    fields: tuple[Node, ...]
    variables: tuple[str, ...] = ("$id: UUID!",)


# --- PostGraphile --------------------------------------------------------------------------


def _pg_fields(nodes: tuple[Node, ...], indent: str) -> list[str]:
    out: list[str] = []
    for n in nodes:
        if isinstance(n, Col):
            out.append(f"{indent}{n.name}: {n.pg}" if n.name != n.pg else f"{indent}{n.name}")
        elif isinstance(n, Ref):
            out.append(f"{indent}{n.name}: {n.pg} {{")
            out += _pg_fields(n.fields, indent + "  ")
            out.append(f"{indent}}}")
        elif isinstance(n, Timeline):
            out += _pg_timeline(n, indent)
        else:
            out += _pg_many(n, indent)
    return out


def _pg_timeline(n: Timeline, indent: str) -> list[str]:
    fields = tuple(f for f in n.fields if f.name != "__typename")
    condition = ", ".join(c for c in ("nullified: false", n.condition) if c)
    lines: list[str] = []
    for kind, _, pg in n.kinds:
        lines.append(
            f"{indent}{n.name}_{kind}: {pg}(first: {n.first}, orderBy: [{_upper_snake(NEWEST)}],"
            f" condition: {{ {condition} }}) {{"
        )
        lines += [f"{indent}  totalCount", f"{indent}  nodes {{"]
        lines += _pg_fields(fields, indent + "    ")
        lines += [f"{indent}  }}", f"{indent}}}"]
    return lines


def _pg_many(n: Many, indent: str) -> list[str]:
    condition = ["nullified: false"] if n.nullified else []
    if n.own_provider:
        condition.append("careProviderId: $provider")
    if n.mine:
        condition.append("accountableHsaId: $hsa")
    if n.condition:
        condition.append(n.condition)
    args = [f"first: {n.first}", f"orderBy: [{_upper_snake(n.order)}]"]
    if condition:
        args.append(f"condition: {{ {', '.join(condition)} }}")
    if n.filter:
        args.append(f"filter: {{ {n.filter} }}")
    lines = [f"{indent}{n.name}: {n.pg}({', '.join(args)}) {{"]
    if n.total:
        lines.append(f"{indent}  totalCount")
    lines.append(f"{indent}  nodes {{")
    lines += _pg_fields(n.fields, indent + "    ")
    lines += [f"{indent}  }}", f"{indent}}}"]
    return lines


def _upper_snake(order: tuple[tuple[str, str], ...]) -> str:
    return ", ".join(
        f"{'ROW_ID' if column == 'id' else column.upper()}_{direction}"
        for column, direction in order
    )


def postgraphile(root: Root, name: str) -> str:
    """The PostGraphile twin of an operation (patient by row id; `$provider` when used)."""
    variables = list(root.variables)
    types = {"provider": "UUID!", "hsa": "String!"}
    variables += [f"${name}: {types[name]}" for name in parameters(root.fields)]
    lines = [f"query {name}({', '.join(variables)}) {{", "  patient: patientByRowId(rowId: $id) {"]
    lines += _pg_fields(root.fields, "    ")
    lines += ["  }", "}", ""]
    return "\n".join(lines)


def parameters(nodes: tuple[Node, ...]) -> list[str]:
    """Which of PARAMETERS the description uses, in that order."""
    used: set[str] = set()

    def walk(nodes: tuple[Node, ...]) -> None:
        for n in nodes:
            if isinstance(n, Many):
                for name in PARAMETERS:
                    if "{" + name + "}" in n.where or f"${name}" in n.condition + n.filter:
                        used.add(name)
                if n.own_provider:
                    used.add("provider")
                if n.mine:
                    used.add("hsa")
            if not isinstance(n, Col):
                walk(n.fields)

    walk(nodes)
    return [name for name in PARAMETERS if name in used]


# --- the floor -------------------------------------------------------------------------------


class _Aliases:
    def __init__(self) -> None:
        self.n = 0

    def next(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.n}"


def _sql_object(nodes: tuple[Node, ...], alias: str, names: _Aliases) -> str:
    parts: list[str] = []
    for n in nodes:
        if isinstance(n, Col):
            parts.append(f"'{n.name}', {alias}.{n.column}")
        elif isinstance(n, Ref):
            r = names.next("r")
            scope = f" AND {r}.patient_id = {alias}.patient_id" if n.scoped else ""
            parts.append(
                f"'{n.name}', (SELECT {_sql_object(n.fields, r, names)} FROM {n.table} {r} "
                f"WHERE {r}.{n.key} = {alias}.{n.fk}{scope})"
            )
        elif isinstance(n, Timeline):
            parts.append(f"'{n.name}', {_sql_timeline(n, alias, names)}")
        else:
            parts.append(f"'{n.name}', {_sql_many(n, alias, names)}")
    return f"json_build_object({', '.join(parts)})"


def _sql_timeline(n: Timeline, parent: str, names: _Aliases) -> str:
    u = names.next("u")
    arms = []
    for kind, table, _ in n.kinds:
        t = names.next("t")
        where = " AND ".join(
            w
            for w in (
                f"{t}.patient_id = {parent}.id",
                f"NOT {t}.nullified",
                n.where.replace("t.", f"{t}."),
            )
            if w
        )
        arms.append(
            f"SELECT '{kind}'::text AS kind, {t}.id, {t}.event_time, {t}.care_unit_id, "
            f"{t}.care_provider_id FROM {table} {t} WHERE {where}"
        )
    order = f"{u}.event_time DESC, {u}.id DESC"
    return (
        "(SELECT json_build_object('totalCount', coalesce(max(x.total), 0), "
        "'nodes', coalesce(json_agg(x.j ORDER BY x.n), '[]'::json)) FROM ("
        f"SELECT {_sql_object(n.fields, u, names)} AS j, row_number() OVER (ORDER BY {order}) AS n,"
        f" count(*) OVER () AS total FROM ({' UNION ALL '.join(arms)}) {u} "
        f"ORDER BY {order} LIMIT {n.first}) x)"
    )


def _sql_many(n: Many, parent: str, names: _Aliases) -> str:
    t = names.next("t")
    where = [f"{t}.{n.fk} = {parent}.{n.parent_key}"]
    if n.scoped:
        where.append(f"{t}.patient_id = {parent}.patient_id")
    if n.nullified:
        where.append(f"NOT {t}.nullified")
    if n.own_provider:
        where.append(f"{t}.care_provider_id = {{provider}}")
    if n.mine:
        where.append(f"{t}.accountable_hsa_id = {{hsa}}")
    if n.where:
        where.append(n.where.replace("t.", f"{t}."))
    cond = " AND ".join(where)
    order = ", ".join(f"{t}.{c} {d}" for c, d in n.order)
    nodes = (
        f"(SELECT coalesce(json_agg(x.j ORDER BY x.n), '[]'::json) FROM ("
        f"SELECT {_sql_object(n.fields, t, names)} AS j, row_number() OVER (ORDER BY {order}) AS n "
        f"FROM {n.table} {t} WHERE {cond} ORDER BY {order} LIMIT {n.first}) x)"
    )
    if not n.total:
        return f"json_build_object('nodes', {nodes})"
    c = names.next("c")
    count = f"(SELECT count(*) FROM {n.table} {c} WHERE {cond.replace(f'{t}.', f'{c}.')})"
    return f"json_build_object('totalCount', {count}, 'nodes', {nodes})"


def floor_sql(root: Root) -> str:
    """One statement: $1 the patient's id, then the `parameters` it uses."""
    sql = f"SELECT {_sql_object(root.fields, 'p', _Aliases())} FROM patient p WHERE p.id = $1"
    for k, name in enumerate(parameters(root.fields), start=2):
        sql = sql.replace("{" + name + "}", f"${k}")
    return sql


# --- comparing --------------------------------------------------------------------------------

_TIME = re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d")


def fold(text: str) -> str:
    """Case and accents folded: the database's `tandläkare` is the enum's TANDLAKARE."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def scalar(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "id":
        return plain_id(str(value))
    if kind == "time":
        return utc_iso(str(value).replace(" ", "T", 1))
    if kind == "num":
        return float(value)
    if kind == "bool":
        return bool(value)
    if isinstance(value, str):
        if _TIME.match(value):
            return utc_iso(value.replace(" ", "T", 1))
        return fold(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


def project(nodes: tuple[Node, ...], answer: Any) -> Any:
    """`answer` (a dict of vardkedja's, PostGraphile's or the floor's) reduced to `nodes`."""
    if answer is None:
        return None
    out: dict[str, Any] = {}
    for n in nodes:
        value = answer.get(n.name)
        if isinstance(n, Col):
            out[n.name] = scalar(n.kind, value)
        elif isinstance(n, Ref):
            out[n.name] = project(n.fields, value)
        elif isinstance(n, Timeline):
            out[n.name] = _project_timeline(n, answer)
        else:
            rows = [project(n.fields, row) for row in value["nodes"]]
            if n.latest_per:
                seen: set[tuple[Any, ...]] = set()
                kept = []
                for row in rows:
                    key = tuple(row[k] for k in n.latest_per)
                    if key not in seen:
                        seen.add(key)
                        kept.append(row)
                rows = kept
            page: dict[str, Any] = {"nodes": rows}
            if n.total:
                page["totalCount"] = value["totalCount"]
            out[n.name] = page
    return out


def _project_timeline(n: Timeline, answer: dict[str, Any]) -> dict[str, Any]:
    if n.name in answer:  # vardkedja's or the floor's: one list
        page = answer[n.name]
        return {
            "totalCount": page["totalCount"],
            "nodes": [project(n.fields, row) for row in page["nodes"]],
        }
    rows: list[dict[str, Any]] = []  # PostGraphile's: one list per table, merged
    total = 0
    for kind, _, _ in n.kinds:
        page = answer[f"{n.name}_{kind}"]
        total += page["totalCount"]
        rows += [project(n.fields, {**row, "__typename": kind}) for row in page["nodes"]]
    rows.sort(key=lambda r: (r["eventTime"], r["id"]), reverse=True)
    return {"totalCount": total, "nodes": rows[: n.first]}
