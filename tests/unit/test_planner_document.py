"""Which variables of a document shape its plans (resolvers/planner/run.py, `_analyse`), and
which a plan binds or writes in per run: only those used in one such way, of the declared
type."""

from __future__ import annotations

from resolvers.planner.run import _analyse

QUERY = """
query Q(
  $pnr: String!, $n: Int, $c: String, $since: DateTime, $d: String, $s: String, $m: Int!,
  $t: String
) {
  patient(personnummer: $pnr) {
    careContacts(first: $n, after: $c, filter: { period: { start: $since } }) { totalCount }
    notes(first: 2, after: $c) { totalCount }
    diagnoses(after: $d, filter: { codes: [$d] }) { totalCount }
    results(filter: { period: { end: $s } }) { totalCount }
    vaccinations(first: $m) { nodes { doses(first: $m) { totalCount } } }
    alerts(first: $m) @include(if: $m) { totalCount }
    labResults(first: $t) { totalCount }
  }
}
"""


def test_cursors_times_and_sizes_used_only_so_are_bound() -> None:
    doc = _analyse(QUERY, "Q")
    assert doc is not None
    # $c is only a cursor (of two lists); $d a cursor and a filter's value; $s is a period's
    # end but declared a String; $n a page size; $m a page size but used otherwise too; $t
    # given as a page size but declared a String.
    assert doc.cursors == {"c"} and doc.times == {"since"} and doc.sizes == {"n"}
    assert doc.shaping == ("c", "d", "m", "n", "s", "since", "t")


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
    # (Both are then only lists' sizes: written into the plan, not keying it.)
    assert doc.sizes == {"k", "n"}


def test_variables_used_only_in_lists_filters_are_bound() -> None:
    """A variable anywhere in a list's `filter` (a whole filter, a list, an item) or given
    as its `changedSince` is a filter variable; one used otherwise too is not."""
    doc = _analyse(
        """query Q(
             $pnr: String!, $f: CareContactFilter, $u: [String!], $p: String!,
             $since: DateTime, $x: String, $start: DateTime
           ) {
             patient(personnummer: $pnr) {
               careContacts(filter: $f, first: 5) { totalCount }
               diagnoses(
                 filter: { careUnitHsaIds: $u, careProviderHsaIds: [$p, $x] },
                 changedSince: $since
               ) { totalCount }
               alerts(filter: { period: { start: $start } }, after: $x) { totalCount }
             }
           }""",
        "Q",
    )
    assert doc is not None
    assert doc.filters == {"f", "u", "p", "since"}
    assert doc.times == {"start"} and doc.cursors == frozenset()
    assert doc.shaping == ("f", "p", "since", "start", "u", "x")
