"""Random query documents over the public schema, for the planner's differential test
(tests/integration/test_planner_differential.py).

A document is rooted at `patient(personnummer:)`, `patient(id:)` or `node(id:)` and selects,
from the schema's own type map (so a new field is covered without listing it here): random
subsets of fields with their arguments (page sizes 0, 1, 100, the invalid 101 and -1, filters,
`includeNullified`, `after` cursors of a page read before), connections as `totalCount`,
`nodes`, `edges { cursor node }` and `pageInfo`, nested object fields to depth 3, interfaces
through inline fragments on their types, `__typename`, aliases (the same field twice with other
arguments), named and inline fragments, and variables. Fields whose required arguments cannot
be filled are skipped.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
    get_nullable_type,
    is_enum_type,
    is_input_object_type,
    is_interface_type,
    is_leaf_type,
    is_list_type,
    is_required_argument,
    is_union_type,
)
from hypothesis import strategies as st

from schema import schema as public

SCHEMA: GraphQLSchema = public._schema

# The demo roles, as `vardkedja token` options (tests/integration/demo_support.token_for).
ROLES = {
    "er_doctor": "--as clinician --who er_doctor",
    "psych_doctor": "--as clinician --who psych_doctor",
    "private_gp": "--as clinician --who private_gp",
    "home_care_nurse": "--as clinician --who home_care_nurse",
    # The same nurse signed in at the municipal health-care unit (no consents for that unit).
    "municipal_nurse": "--as clinician --who home_care_nurse --unit SE2120000142-HSSO",
    "dentist": "--as clinician --who dentist",
    "pharmacist": "--as clinician --who pharmacist",
    "patient": "--as patient --who tolvan",
    "guardian": "--as guardian",
    # A physician at a primary care centre of the region with no care relationship to anyone.
    "outsider": "--as clinician --hsa-id SE2321000016-DR99 --unit SE2321000016-VCSO "
    "--provider SE2321000016-RSTH --name 'Olof Utanför' --role lakare",
}
EMERGENCY = {"x-purpose-of-use": "ETREAT", "x-emergency-reason": "Medvetslos vid ankomst"}
# Whom each role reads most (the rest of the time: anyone, seen or not).
OWN = {
    "patient": "191212121212",
    "guardian": "201908235623",
    "private_gp": "197506023394",
    "psych_doctor": "199010304468",
}
PEOPLE = (
    "191212121212",  # Tolvan: home care, warfarin, penicillin allergy
    "197506023394",  # Johan: outer block
    "199010304468",  # Maria: inner block
    "198301193846",  # Sofia: protected identity
    "201908235623",  # Ella, 7
    "201203152713",  # Oskar, 14
    "199802112137",  # Emil: LSS
    "194002129882",  # nobody
)
NOT_PERSONNUMMER = ("12", "", None, "191212121213", "19121212-1212")
PATIENT_ID = "@id:"  # a variable value "@id:<personnummer>": that patient's global id
HSA_PROVIDERS = ("SE2321000016-RSTH", "SE5567012348-HRV1", "SE2120000142-STAD", "SE5561386532-APAB")
HSA_UNITS = (
    "SE2321000016-SOAK",
    "SE2321000016-SOPS",
    "SE5567012348-HRSO",
    "SE2120000142-HTSO",
    "SE2120000142-HSSO",
    "SE2321000016-FTSO",
)
TIMES = (
    "2020-01-01T00:00:00Z",
    "2025-06-01T00:00:00Z",
    "2026-10-01T00:00:00Z",
    "2030-01-01T00:00:00Z",
)
ATC = ("B01", "J01", "N06A", "M05", "C0", "R03")
NAMES = {"familyName": ("Lindberg", "Tolvansson", "Ek", "Zz"), "givenName": ("Ella", "Emil")}
TOP_PAGES = (5, 1, 2, 3, 0, 100)
INVALID_PAGES = (101, -1)
NESTED_PAGES = (0, 1, 2, 3)
MAX_DEPTH = 3
ALIASED = re.compile(r"^a\d+: ")
CONNECTION_PARTS = ("totalCount", "nodes", "edges", "pageInfo")


@dataclass(frozen=True)
class CursorWanted:
    """Variable `variable` is the cursor of edge `index` (or the last one) of the list that
    `query` reads as `root.list.edges`: a page read before the request."""

    variable: str
    query: str
    index: int


@dataclass(frozen=True)
class Case:
    role: str
    document: str
    variables: dict[str, Any] = field(default_factory=dict)
    cursors: tuple[CursorWanted, ...] = ()
    headers: dict[str, str] = field(default_factory=dict)
    # Filter variables' other values of the same shape, to ask again with (`varied`).
    varied: dict[str, Any] = field(default_factory=dict)

    def with_patient_ids(self, ids: dict[str, str]) -> Case:
        """The case with each "@id:<personnummer>" variable value replaced by the id."""

        def swap(value: Any) -> Any:
            if isinstance(value, str) and value.startswith(PATIENT_ID):
                return ids[value.removeprefix(PATIENT_ID)]
            return value

        return replace(self, variables={k: swap(v) for k, v in self.variables.items()})


def literal(value: Any) -> str:
    """A GraphQL literal of a JSON value (enum values are passed as Enum)."""
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


@dataclass(frozen=True)
class Enum:
    name: str


def as_json(value: Any) -> Any:
    """A generated input value as a variable's JSON value (enum values by name)."""
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, list):
        return [as_json(v) for v in value]
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    return value


# The values an input field named so is drawn from (`Builder.input_value`).
POOLS = {
    "careProviderHsaIds": HSA_PROVIDERS,
    "careUnitHsaIds": HSA_UNITS,
    "atcPrefixes": ATC,
    "municipalityCodes": ("0180", "0114"),
    "personnummer": PEOPLE,
}


def other_value(t: Any, value: Any, name: str) -> Any:
    """Another JSON value of input type t, of the same shape as the generated `value` (the
    same keys, lists as long, nulls where it has them): each leaf the next of its pool."""
    t = get_nullable_type(t)
    if value is None:
        return None
    if is_list_type(t):
        return [other_value(t.of_type, v, name) for v in value]
    if is_input_object_type(t):
        assert isinstance(t, GraphQLInputObjectType)
        return {k: other_value(t.fields[k].type, v, k) for k, v in value.items()}
    if is_enum_type(t):
        assert isinstance(t, GraphQLEnumType) and isinstance(value, Enum)
        names = sorted(t.values)
        return names[(names.index(value.name) + 1) % len(names)]
    pool = TIMES if t.name == "DateTime" else POOLS.get(name, NAMES.get(name, ()))
    if value in pool:
        return pool[(pool.index(value) + 1) % len(pool)]
    return value


def is_connection(t: Any) -> bool:
    return isinstance(t, GraphQLObjectType) and {"nodes", "edges", "pageInfo"} <= set(t.fields)


class Builder:
    """One document under construction: its fragments, variables and wanted cursors."""

    def __init__(self, draw: st.DrawFn, pnr: str) -> None:
        self.draw = draw
        self.pnr = pnr
        self.fragments: list[str] = []
        self.definitions: list[str] = []
        self.variables: dict[str, Any] = {}
        self.varied: dict[str, Any] = {}
        self.cursors: list[CursorWanted] = []
        self.counter = 0

    def maybe(self, percent: int) -> bool:
        """True `percent` times in a hundred; False for the simplest data (what hypothesis
        shrinks to)."""
        return bool(self.draw(st.integers(0, 99)) >= 100 - percent)

    def name(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def variable(self, type_: str, value: Any) -> str:
        name = self.name("v")
        self.definitions.append(f"${name}: {type_}")
        self.variables[name] = value
        return f"${name}"

    # --- arguments ---------------------------------------------------------------------

    def input_value(self, t: Any, name: str) -> Any:
        """A value of input type t for an argument or input field called name, or None to
        leave it out."""
        t = get_nullable_type(t)
        if is_list_type(t):
            inner = get_named_type(t)
            if is_enum_type(inner):
                assert isinstance(inner, GraphQLEnumType)
                values = self.draw(
                    st.lists(st.sampled_from(sorted(inner.values)), min_size=1, max_size=3)
                )
                return [Enum(v) for v in values]
            choices = POOLS.get(name)
            if choices is None:
                return None
            return self.draw(st.lists(st.sampled_from(choices), min_size=1, max_size=2))
        if is_input_object_type(t):
            assert isinstance(t, GraphQLInputObjectType)
            fields = self.draw(
                st.lists(st.sampled_from(sorted(t.fields)), min_size=1, max_size=2, unique=True)
            )
            out = {}
            for f in fields:
                value = self.input_value(t.fields[f].type, f)
                if value is not None:
                    out[f] = value
            return out or None
        if t.name == "DateTime":
            return self.draw(st.sampled_from(TIMES))
        if t.name == "Date":
            return self.draw(st.sampled_from(("1950-01-01", "1990-01-01", "2015-01-01")))
        if t.name == "String" and name in NAMES:
            return self.draw(st.sampled_from(NAMES[name]))
        if t.name == "Boolean":
            return self.draw(st.booleans())
        if is_enum_type(t):
            assert isinstance(t, GraphQLEnumType)
            return Enum(self.draw(st.sampled_from(sorted(t.values))))
        return None

    def arguments(
        self,
        parent: GraphQLObjectType | GraphQLInterfaceType,
        name: str,
        f: GraphQLField,
        depth: int,
    ) -> tuple[str, dict[str, Any]] | None:
        """The arguments text of field `name` and the literal values given (None: the field
        needs an argument that cannot be filled)."""
        given: dict[str, Any] = {}
        texts: list[str] = []
        for arg_name, arg in f.args.items():
            value = self.argument(parent, name, arg_name, arg, depth)
            if value is None:
                if is_required_argument(arg):
                    return None
                continue
            given[arg_name] = value
            texts.append(f"{arg_name}: {value if isinstance(value, Var) else literal(value)}")
        return (f"({', '.join(texts)})" if texts else ""), given

    def argument(
        self, parent: Any, field_name: str, name: str, arg: GraphQLArgument, depth: int
    ) -> Any:
        top = depth == 0 and parent.name == "Patient"
        if name == "first":
            if top and self.maybe(15):
                return None  # the default page (nested: always small, to stay under the cost)
            if top and self.maybe(5):
                value = self.draw(st.sampled_from(INVALID_PAGES))
            else:
                value = self.draw(st.sampled_from(TOP_PAGES if top else NESTED_PAGES))
            if self.maybe(25):
                return Var(self.variable("Int", value))
            return value
        if name == "after":
            if not top or not self.maybe(25):
                return None
            if self.maybe(10):
                return "not-a-cursor"
            return Var(self.variable("String", None))  # filled in by `page_cursor`
        if name in ("filter", "kinds", "includeNullified", "changedSince"):
            if not self.maybe(30):
                return None
            value = self.input_value(arg.type, name)
            if value is not None and name in ("filter", "changedSince") and self.maybe(40):
                variable = self.variable(str(arg.type), as_json(value))
                self.varied[variable.removeprefix("$")] = other_value(arg.type, value, name)
                return Var(variable)
            return value
        return None

    # --- selections --------------------------------------------------------------------

    def selection(self, t: Any, depth: int, size: int) -> str:
        """A selection set (without braces) on the object or interface type t."""
        if is_interface_type(t) or is_union_type(t):
            return self.abstract(t, depth, size)
        assert isinstance(t, GraphQLObjectType)
        if is_connection(t):
            return self.connection(t, depth)
        fields = self.fields(t, depth, size)
        return self.wrap(t, fields)

    def wrap(self, t: Any, fields: list[str]) -> str:
        """The fields as they are, or some of them in a named or inline fragment on t."""
        if not self.maybe(35):
            return " ".join(fields)
        how = self.draw(st.integers(0, 1))
        cut = self.draw(st.integers(0, len(fields)))
        inside = " ".join(fields[cut:]) or "__typename"
        outside = fields[:cut]
        if how == 0:
            name = self.name("F")
            self.fragments.append(f"fragment {name} on {t.name} {{ {inside} }}")
            return " ".join([*outside, f"...{name}"])
        return " ".join([*outside, f"... on {t.name} {{ {inside} }}"])

    def fields(self, t: Any, depth: int, size: int) -> list[str]:
        candidates = [n for n in sorted(t.fields) if depth < MAX_DEPTH or self.leaf(t, n)]
        chosen = self.draw(
            st.lists(
                st.sampled_from(candidates),
                min_size=min(len(candidates), 3 if depth == 0 else 1),
                max_size=size,
                unique=True,
            )
        )
        out: list[str] = []
        if self.maybe(20):
            out.append("__typename")
        for n in chosen:
            text = self.field(t, n, depth)
            if text is not None:
                out.append(text)
            # The same field again under an alias, with other arguments.
            if t.fields[n].args and self.maybe(20):
                again = self.field(t, n, depth, alias=True)
                if again is not None:
                    out.append(again)
        return out or ["__typename"]

    @staticmethod
    def leaf(t: Any, name: str) -> bool:
        return is_leaf_type(get_named_type(t.fields[name].type))

    def field(self, t: Any, name: str, depth: int, alias: bool = False) -> str | None:
        f: GraphQLField = t.fields[name]
        args = self.arguments(t, name, f, depth)
        if args is None:
            return None
        args_text, given = args
        if alias or self.maybe(15):
            head = f"{self.name('a')}: {name}{args_text}"
        else:
            head = f"{name}{args_text}"
        after = given.get("after")
        if isinstance(after, Var):
            self.page_cursor(name, given, after)
        inner = get_named_type(f.type)
        if is_leaf_type(inner):
            return head
        size = 6 if depth == 0 else 3
        return f"{head} {{ {self.selection(inner, depth + 1, size)} }}"

    def page_cursor(self, name: str, given: dict[str, Any], after: Var) -> None:
        """The `after` of a Patient list: a cursor of the same list read before."""
        others = {k: v for k, v in given.items() if k not in ("after", "first")}
        args = ", ".join(
            [f"{k}: {literal(v)}" for k, v in others.items() if not isinstance(v, Var)]
            + ["first: 5"]
        )
        query = (
            f"{{ root: patient(personnummer: {json.dumps(self.pnr)}) "
            f"{{ list: {name}({args}) {{ edges {{ cursor }} }} }} }}"
        )
        index = self.draw(st.integers(0, 5))
        self.cursors.append(CursorWanted(after.name.removeprefix("$"), query, index))

    def connection(self, t: GraphQLObjectType, depth: int) -> str:
        parts = self.draw(
            st.lists(st.sampled_from(CONNECTION_PARTS), min_size=1, max_size=4, unique=True)
        )
        node_type = get_named_type(t.fields["nodes"].type)
        out: list[str] = []
        for part in parts:
            if part == "totalCount":
                out.append("totalCount")
            elif part == "nodes":
                out.append(f"nodes {{ {self.selection(node_type, depth, 4)} }}")
            elif part == "edges":
                inner = self.draw(st.sampled_from(("cursor", "node", "both")))
                edge = [] if inner == "node" else ["cursor"]
                if inner != "cursor":
                    edge.append(f"node {{ {self.selection(node_type, depth, 4)} }}")
                out.append(f"edges {{ {' '.join(edge)} }}")
            else:
                info = self.draw(
                    st.lists(
                        st.sampled_from(
                            ("hasNextPage", "hasPreviousPage", "startCursor", "endCursor")
                        ),
                        min_size=1,
                        max_size=4,
                        unique=True,
                    )
                )
                out.append(f"pageInfo {{ {' '.join(info)} }}")
        if self.maybe(15):
            out.append("__typename")
        return " ".join(out)

    def abstract(self, t: Any, depth: int, size: int) -> str:
        """Fields of the interface and inline fragments on some of its object types, each
        field aliased where another type's field of that name has another type."""
        out: list[str] = []
        if is_interface_type(t):
            out.extend(self.fields(t, depth, size))
        types = sorted(SCHEMA.get_possible_types(t), key=lambda o: o.name)
        chosen = self.draw(st.lists(st.sampled_from(types), min_size=0, max_size=3, unique=True))
        seen: dict[str, str] = {}
        for o in chosen:
            own = [n for n in o.fields if not (is_interface_type(t) and n in t.fields)]
            if not own:
                continue
            names = self.draw(
                st.lists(st.sampled_from(sorted(own)), min_size=1, max_size=3, unique=True)
            )
            texts: list[str] = []
            for n in names:
                if depth >= MAX_DEPTH and not self.leaf(o, n):
                    continue
                text = self.field(o, n, depth)
                if text is None:
                    continue
                shape = str(o.fields[n].type)
                if seen.setdefault(n, shape) != shape and not ALIASED.match(text):
                    text = f"{self.name('a')}: {text}"
                texts.append(text)
            if texts:
                out.append(f"... on {o.name} {{ {' '.join(texts)} }}")
        return " ".join(out) or "__typename"


@dataclass(frozen=True)
class Var:
    name: str

    def __str__(self) -> str:
        return self.name


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """A role and a document rooted at one patient (sometimes two), with its variables."""
    role = draw(st.sampled_from(sorted(ROLES)))
    b = Builder(draw, OWN.get(role, PEOPLE[0]))
    if b.maybe(40):
        b.pnr = draw(st.sampled_from(PEOPLE))
    roots = [root(b, b.pnr)]
    if b.maybe(15):  # another patient too, under an alias
        roots.append(root(b, draw(st.sampled_from(PEOPLE)), alias=True))
    definitions = f"({', '.join(b.definitions)})" if b.definitions else ""
    document = "\n".join([f"query Generated{definitions} {{ {' '.join(roots)} }}", *b.fragments])
    # Now and then a clinician opens the record in an emergency (A6: audited for review).
    clinician = ROLES[role].startswith("--as clinician")
    headers = EMERGENCY if clinician and b.maybe(10) else {}
    return Case(role, document, b.variables, tuple(b.cursors), headers, b.varied)


def record_row(b: Builder, pnr: str) -> str:
    """`node(id:)` of a row of the patient's record: the id of item `index` of one of the
    patient's lists, read before the request (as a cursor is: `edges` and `cursor` are
    aliases of `nodes` and `id` there)."""
    patient = SCHEMA.type_map["Patient"]
    assert isinstance(patient, GraphQLObjectType)
    lists = sorted(
        name
        for name, f in patient.fields.items()
        if is_connection(get_named_type(f.type))
        and isinstance(node_type(f), GraphQLObjectType)
        and "id" in node_type(f).fields
    )
    name = b.draw(st.sampled_from(lists))
    t = node_type(patient.fields[name])
    ref = b.variable("ID!", None)
    query = (
        f"{{ root: patient(personnummer: {json.dumps(pnr)}) "
        f"{{ list: {name}(first: 5) {{ edges: nodes {{ cursor: id }} }} }} }}"
    )
    b.cursors.append(CursorWanted(ref.removeprefix("$"), query, b.draw(st.integers(0, 5))))
    return f"node(id: {ref}) {{ __typename id ... on {t.name} {{ {b.selection(t, 1, 5)} }} }}"


def node_type(f: GraphQLField) -> Any:
    """The item type of a connection field."""
    connection: Any = get_named_type(f.type)
    return get_named_type(connection.fields["nodes"].type)


def root(b: Builder, pnr: str, alias: bool = False) -> str:
    """`patient(personnummer:)`, `patient(id:)`, `node(id:)` with a Patient selection, or a
    page of `patients(filter:, first:)`."""
    patient = SCHEMA.type_map["Patient"]
    how = b.draw(st.sampled_from(("pnr", "pnr-literal", "id", "node", "patients", "row")))
    head = f"{b.name('p')}: " if alias or b.maybe(30) else ""
    if how == "row":
        return head + record_row(b, pnr)
    if how == "patients":
        query = SCHEMA.query_type
        assert query is not None
        text = b.field(query, "patients", 0)
        assert text is not None
        return text if ALIASED.match(text) else head + text
    selection = b.selection(patient, 0, 7)
    if how == "pnr-literal":
        return f"{head}patient(personnummer: {json.dumps(pnr)}) {{ {selection} }}"
    if how == "pnr":
        value = b.draw(st.sampled_from(NOT_PERSONNUMMER)) if b.maybe(5) else pnr
        return f"{head}patient(personnummer: {b.variable('String', value)}) {{ {selection} }}"
    ref = b.variable("ID!", PATIENT_ID + pnr)
    if how == "id":
        return f"{head}patient(id: {ref}) {{ {selection} }}"
    return f"{head}node(id: {ref}) {{ __typename id ... on Patient {{ {selection} }} }}"
