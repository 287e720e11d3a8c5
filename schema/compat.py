"""The breaking-change gate: the schema of the code against the SDL of the last release.

Releases keep their SDL in schema/releases/<version>.graphql. graphql-core's
find_breaking_changes / find_dangerous_changes compare it with the schema built by the code; a
breaking change passes only when schema/accepted-changes.txt lists it, word for word, with a
reason (`<description> | <reason>`). An entry that no longer matches a change is an error too,
so the file always says exactly what the next release breaks. See docs/schema-changes.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from graphql import build_schema, find_breaking_changes, find_dangerous_changes

HERE = Path(__file__).resolve().parent
RELEASES = HERE / "releases"
ACCEPTED = HERE / "accepted-changes.txt"


@dataclass
class Report:
    """What changed since the release, and what of it the gate refuses."""

    release: str
    breaking: list[str] = field(default_factory=list)
    dangerous: list[str] = field(default_factory=list)
    unaccepted: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.unaccepted and not self.problems

    def lines(self) -> list[str]:
        out = [f"schema compared with release {self.release}"]
        out += [f"breaking (accepted): {c}" for c in self.breaking if c not in self.unaccepted]
        out += [f"BREAKING, not in accepted-changes.txt: {c}" for c in self.unaccepted]
        out += [f"dangerous: {c}" for c in self.dangerous]
        out += [f"accepted-changes.txt: {p}" for p in self.problems]
        return out


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path.stem))


def latest_release(folder: Path = RELEASES) -> Path:
    """The SDL of the newest release in `folder` (by version number)."""
    found = sorted(folder.glob("*.graphql"), key=_version_key)
    if not found:
        raise FileNotFoundError(f"no release SDL in {folder}")
    return found[-1]


def parse_accepted(text: str) -> tuple[dict[str, str], list[str]]:
    """Accepted changes (description -> reason) and the problems of malformed lines."""
    accepted: dict[str, str] = {}
    problems: list[str] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        description, bar, reason = (part.strip() for part in line.partition("|"))
        if not bar or not description or not reason:
            problems.append(f"line {number} needs `<description> | <reason>`: {line}")
            continue
        accepted[description] = reason
    return accepted, problems


def compare(old_sdl: str, new_sdl: str, accepted_text: str = "", release: str = "?") -> Report:
    """The changes from `old_sdl` to `new_sdl`, judged against the accepted list."""
    old, new = build_schema(old_sdl), build_schema(new_sdl)
    report = Report(release)
    report.breaking = [c.description for c in find_breaking_changes(old, new)]
    report.dangerous = [c.description for c in find_dangerous_changes(old, new)]
    accepted, report.problems = parse_accepted(accepted_text)
    report.unaccepted = [c for c in report.breaking if c not in accepted]
    stale = [d for d in accepted if d not in report.breaking]
    report.problems += [f"not a breaking change since {release} (remove it): {d}" for d in stale]
    return report


def check_current() -> Report:
    """The code's schema against the last release, with the committed accepted list."""
    from schema.export import printed_schema

    release = latest_release()
    accepted = ACCEPTED.read_text(encoding="utf-8") if ACCEPTED.exists() else ""
    return compare(release.read_text(encoding="utf-8"), printed_schema(), accepted, release.stem)


def main() -> int:
    """`python -m schema.compat`: print the report; exit 1 when the gate refuses."""
    report = check_current()
    print("\n".join(report.lines()))
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
