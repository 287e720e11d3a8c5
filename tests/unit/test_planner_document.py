"""Which variables of a document shape its plans (resolvers/planner/run.py, `_analyse`), and
which a plan binds per run: only those used in one bindable way, of the declared type."""

from __future__ import annotations

from resolvers.planner.run import _analyse

QUERY = """
query Q($pnr: String!, $n: Int, $c: String, $since: DateTime, $d: String, $s: String) {
  patient(personnummer: $pnr) {
    careContacts(first: $n, after: $c, filter: { period: { start: $since } }) { totalCount }
    notes(first: 2, after: $c) { totalCount }
    diagnoses(after: $d, filter: { codes: [$d] }) { totalCount }
    results(filter: { period: { end: $s } }) { totalCount }
  }
}
"""


def test_cursors_and_times_used_only_so_are_bound() -> None:
    doc = _analyse(QUERY, "Q")
    assert doc is not None
    # $c is only a cursor (of two lists); $d a cursor and a filter's value; $s is a period's
    # end but declared a String; $n is a page size, keyed by value.
    assert doc.cursors == {"c"} and doc.times == {"since"}
    assert doc.shaping == ("c", "d", "n", "s", "since")


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
    assert doc.shaping == ("k", "n") and doc.cursors == frozenset()
