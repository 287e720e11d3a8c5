"""Which variables of a document a plan binds per run (resolvers/planner/run.py, `_analyse`):
only those used in one bindable way, of the declared type; any other use keys by value."""

from __future__ import annotations

from resolvers.planner.parts import Document, PageSize, bindable_first
from resolvers.planner.run import _analyse

QUERY = """
query Q($pnr: String!, $n: Int, $m: Int!, $both: Int, $c: String, $since: DateTime,
        $wide: Int, $d: Int) {
  patient(personnummer: $pnr) {
    careContacts(first: $n, after: $c, filter: { period: { start: $since } }) { totalCount }
    diagnoses(first: $n) { totalCount }
    referrals(first: $m) { totalCount }
    notes(first: $both, after: $c) { totalCount }
    alerts(first: $both) @include(if: true) { totalCount }
    results(first: $wide) { totalCount }
    prescriptions(first: 2, filter: { statuses: [AKTIV] }) {
      nodes { dispensations(first: $d) { totalCount } }
    }
  }
  other: patient(personnummer: $pnr) { diagnoses(first: $wide) { totalCount } }
  x: careUnits(first: $wide) { totalCount }
}
"""


def analysed() -> Document:
    doc = _analyse(QUERY, "Q")
    assert doc is not None
    return doc


def test_a_page_size_used_only_as_lists_first_is_bound() -> None:
    doc = analysed()
    # $n sizes two lists, $m one (non-null), $d a nested one, $both two; $wide is a root
    # field's `first` too, which the planner does not read: still only a `first`.
    assert doc.firsts == {"n", "m", "both", "d", "wide"}
    assert doc.cursors == {"c"} and doc.times == {"since"}
    assert set(doc.shaping) == {"n", "m", "both", "c", "since", "wide", "d"}


def test_a_variable_used_otherwise_too_is_not_bound() -> None:
    doc = _analyse(
        """query Q($pnr: String!, $n: Int, $s: String) {
             patient(personnummer: $pnr) {
               careContacts(first: $n) { totalCount }
               diagnoses(filter: { codes: [$s] }, first: 3) { totalCount }
               notes(first: $n, after: $s) { totalCount }
             }
           }""",
        "Q",
    )
    assert doc is not None
    assert doc.firsts == {"n"} and doc.cursors == frozenset()


def test_a_first_declared_as_another_type_is_not_bound() -> None:
    doc = _analyse(
        """query Q($pnr: String!, $n: Float) {
             patient(personnummer: $pnr) { careContacts(first: $n) { totalCount } }
           }""",
        "Q",
    )
    assert doc is not None
    assert doc.firsts == frozenset() and doc.shaping == ("n",)


def test_only_sizes_from_two_to_the_maximum_are_bound() -> None:
    assert [v for v in (-1, 0, 1, 2, 20, 100, 101) if bindable_first(v)] == [2, 20, 100]
    assert not bindable_first(True) and not bindable_first(None) and not bindable_first(2.0)
    size = PageSize(7, "first_n")
    assert size == 7 and size.slot == "first_n" and bindable_first(int(size))


def test_the_planned_roots_own_arguments_shape_nothing() -> None:
    """`patient`, `patients` and `node` read their arguments per request (whom to read, the
    search and its page); a variable used inside their selections too still shapes."""
    doc = _analyse(
        """query Q($id: ID!, $q: String, $n: Int, $after: String, $pnr: String!, $k: Int) {
             node(id: $id) { id }
             patients(filter: { familyName: $q }, first: $n, after: $after) {
               nodes { careContacts(first: $k) { totalCount } }
             }
             patient(personnummer: $pnr) { diagnoses(first: $n) { totalCount } }
             careUnits(first: $k) { totalCount }
           }""",
        "Q",
    )
    assert doc is not None
    assert doc.shaping == ("k", "n") and doc.firsts == {"k", "n"}
