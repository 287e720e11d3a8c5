"""Every table the change log tracks has a ChangeCategory: the feed names each entry's
category with it, so a tracked table without one would fail every feed that reaches it."""

from __future__ import annotations

import importlib
from pathlib import Path

from schema.changes import ChangeCategory

VERSIONS = Path(__file__).parents[2] / "migrations" / "versions"


def test_every_tracked_table_has_a_category() -> None:
    tracked: set[str] = set()
    for path in sorted(VERSIONS.glob("*.py")):
        module = importlib.import_module(f"migrations.versions.{path.stem}")
        tracked |= {table for table, _ in getattr(module, "TRACKED", ())}
    assert {"referral", "referral_event", "discharge_plan"} <= tracked
    categories = {c.value for c in ChangeCategory}
    assert tracked - categories == set()
