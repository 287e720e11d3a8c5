"""An example vardkedja client (Python 3.11+, httpx): sign in with a token, call a shipped
(persisted) operation by name, page through a connection with cursors, and follow the change
feed (`changes(after:)`, docs/changes.md). examples/ts/ is the same in TypeScript.

    .venv/bin/python examples/client.py 19121212-1212
    .venv/bin/python examples/client.py --url http://127.0.0.1:8000 --token "$TOKEN" 19121212-1212
    .venv/bin/python examples/client.py --follow-seconds 60 --until 5 19121212-1212

Without --token (or VARDKEDJA_TOKEN) it asks `vardkedja token --as clinician` for a
development token, which fits the demo data of `vardkedja serve`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx

PATIENTS = """
query Patients($filter: PatientFilter, $first: Int!, $after: String) {
  patients(filter: $filter, first: $first, after: $after) {
    nodes { personnummer familyName givenName }
    pageInfo { hasNextPage endCursor }
  }
}
"""


CHANGES = """
query Changes($after: String, $first: Int!) {
  changes(after: $after, first: $first) {
    endCursor
    hasNextPage
    changes { kind category patientId recordId tombstone accessChanged }
  }
}
"""


class GraphQLError(Exception):
    """The API answered with errors; `codes` are their machine-readable extensions.code."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.codes = [e.get("extensions", {}).get("code") for e in errors]
        super().__init__(
            "; ".join(f"{e['message']} ({c})" for e, c in zip(errors, self.codes, strict=True))
        )


class Client:
    def __init__(self, url: str, token: str, *, purpose: str | None = None) -> None:
        headers = {"authorization": f"Bearer {token}", "accept": "application/json"}
        if purpose:
            headers["x-purpose-of-use"] = purpose
        self.http = httpx.Client(base_url=url, headers=headers, timeout=30)
        self.requests = 0

    def call(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST one request; the `data`, or GraphQLError when the answer has errors."""
        response = self.http.post("/graphql", json=body)
        self.requests += 1
        answer: dict[str, Any] = response.json()
        if answer.get("errors"):
            raise GraphQLError(answer["errors"])
        response.raise_for_status()
        data: dict[str, Any] = answer["data"]
        return data

    def persisted(self, name: str, **variables: Any) -> dict[str, Any]:
        """A shipped operation by name: no query text is sent (works in allow-list mode)."""
        return self.call({"operationName": name, "variables": variables})

    def patients(self, page_size: int = 20, **filter: Any) -> Iterator[dict[str, Any]]:
        """Every patient the caller may see (matching `filter`), a page at a time."""
        after: str | None = None
        while True:
            variables = {"filter": filter or None, "first": page_size, "after": after}
            page = self.call({"query": PATIENTS, "variables": variables})["patients"]
            yield from page["nodes"]
            if not page["pageInfo"]["hasNextPage"]:
                return
            after = page["pageInfo"]["endCursor"]

    def changes_since(
        self, after: str | None, page_size: int, apply: Callable[[dict[str, Any]], None]
    ) -> str:
        """The change feed from `after` (None: the oldest entry kept) up to now: every page,
        asked for again at once while `hasNextPage`. The cursor to continue from (store it)."""
        while True:
            variables = {"after": after, "first": page_size}
            page = self.call({"query": CHANGES, "variables": variables})["changes"]
            for change in page["changes"]:
                apply(change)
            after = page["endCursor"]
            if not page["hasNextPage"]:
                return after


def describe(change: dict[str, Any]) -> str:
    what = "tombstone" if change["tombstone"] else ""
    what = what or ("access changed" if change["accessChanged"] else "")
    record = change["recordId"] or "-"
    return f"change: {change['kind']} {change['category']} {record} {what}".rstrip()


def follow(client: Client, cursor: str, page_size: int, seconds: float, until: int) -> None:
    """Poll the feed from `cursor` until `until` new changes came or `seconds` passed."""
    print(f"following the change feed for up to {seconds:g} s", flush=True)
    deadline, fresh = time.monotonic() + seconds, 0

    def show(change: dict[str, Any]) -> None:
        nonlocal fresh
        fresh += 1
        print(describe(change), flush=True)

    while fresh < until and time.monotonic() < deadline:
        cursor = client.changes_since(cursor, page_size, show)
        if fresh < until:
            time.sleep(0.3)
    print(f"followed: {fresh} new changes")


def development_token() -> str:
    exe = shutil.which("vardkedja") or os.path.join(os.path.dirname(sys.executable), "vardkedja")
    done = subprocess.run([exe, "token", "--as", "clinician"], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"could not mint a development token: {done.stderr.strip()}")
    return done.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("personnummer", help="the patient to open")
    parser.add_argument("--url", default=os.environ.get("VARDKEDJA_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--token", default=os.environ.get("VARDKEDJA_TOKEN"))
    parser.add_argument("--page-size", type=int, default=20)
    parser.add_argument("--follow-seconds", type=float, default=0, help="then poll the feed")
    parser.add_argument("--until", type=int, default=1, help="stop following after N changes")
    args = parser.parse_args(argv)
    client = Client(args.url, args.token or development_token())

    try:
        overview = client.persisted("EmergencyOverview", personnummer=args.personnummer)
    except GraphQLError as exc:
        print(f"EmergencyOverview refused: {exc}", file=sys.stderr)
        return 1
    patient = overview["patient"]
    if patient is None:
        print(f"{args.personnummer}: not visible to you (or not found)")
    else:
        print(f"{patient['familyName']}, {patient['givenName']} ({patient['personnummer']})")
        for alert in patient["alerts"]["nodes"]:
            print(f"  alert: {alert['alertType']} {alert['description']}")
        for prescription in patient["prescriptions"]["nodes"]:
            print(f"  medication: {prescription['drugName']} {prescription['dosageText'] or ''}")

    before = client.requests
    count = sum(1 for _ in client.patients(page_size=args.page_size))
    pages = client.requests - before
    print(f"patients visible to you: {count}, fetched in {pages} pages of {args.page_size}")

    # The change feed: everything kept so far, then follow it from the stored cursor.
    before, seen = client.requests, 0

    def tally(change: dict[str, Any]) -> None:
        nonlocal seen
        seen += 1

    cursor = client.changes_since(None, args.page_size, tally)
    print(f"change feed: {seen} changes in {client.requests - before} pages", flush=True)
    if args.follow_seconds > 0:
        follow(client, cursor, args.page_size, args.follow_seconds, args.until)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
