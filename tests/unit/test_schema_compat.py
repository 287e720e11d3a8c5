"""The breaking-change gate: the code's schema against the last release's SDL."""

from __future__ import annotations

from pathlib import Path

import pytest

from schema.compat import check_current, compare, latest_release

OLD = """
type Query { patient(id: ID!): Patient, hello: String, count: Int }
type Patient { id: ID!, name: String, age: Int }
enum Severity { LOW HIGH }
"""


def test_the_current_schema_breaks_nothing_unaccepted_since_the_last_release() -> None:
    report = check_current()
    assert report.ok, "\n".join(report.lines())


def test_a_removed_field_is_breaking_until_accepted_with_a_reason() -> None:
    new = OLD.replace(", age: Int", "")
    refused = compare(OLD, new, "", "1.0")
    assert refused.breaking == ["Field Patient.age was removed."]
    assert refused.unaccepted == ["Field Patient.age was removed."]
    assert not refused.ok
    assert (
        "BREAKING, not in accepted-changes.txt: Field Patient.age was removed." in refused.lines()
    )

    accepted = compare(
        OLD, new, "# why\nField Patient.age was removed. | birthDate says it, since 1.0"
    )
    assert accepted.ok
    assert accepted.unaccepted == []


def test_an_entry_without_a_reason_is_refused() -> None:
    new = OLD.replace(", age: Int", "")
    report = compare(OLD, new, "Field Patient.age was removed.\nField Patient.age was removed. |  ")
    assert not report.ok
    assert len(report.problems) == 2
    assert all("needs `<description> | <reason>`" in p for p in report.problems)


def test_a_stale_entry_is_refused() -> None:
    report = compare(OLD, OLD, "Field Patient.age was removed. | gone", "1.0")
    assert report.breaking == []
    assert report.problems == [
        "not a breaking change since 1.0 (remove it): Field Patient.age was removed."
    ]


@pytest.mark.parametrize(
    ("change", "breaking"),
    [
        (("name: String", "name: String!"), False),  # output made non-null: safe
        (("age: Int", "age: String"), True),  # type changed
        (("patient(id: ID!)", "patient(id: ID!, unit: ID!)"), True),  # required argument added
        (("hello: String }", "hello: String, world: String }"), False),  # field added
    ],
)
def test_what_counts_as_breaking(change: tuple[str, str], breaking: bool) -> None:
    report = compare(OLD, OLD.replace(*change))
    assert bool(report.breaking) is breaking, report.breaking


def test_an_added_enum_value_is_dangerous_not_breaking() -> None:
    report = compare(OLD, OLD.replace("LOW HIGH", "LOW MEDIUM HIGH"))
    assert report.breaking == []
    assert report.dangerous == ["Enum value Severity.MEDIUM was added."]
    assert report.ok


def test_the_newest_release_is_found_by_version_number(tmp_path: Path) -> None:
    for version in ("0.9.0", "0.10.0", "0.2.1"):
        (tmp_path / f"{version}.graphql").write_text(OLD)
    assert latest_release(tmp_path).name == "0.10.0.graphql"
    with pytest.raises(FileNotFoundError):
        latest_release(tmp_path / "empty")
