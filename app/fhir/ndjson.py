"""NDJSON as in FHIR bulk data: one resource per line, one file per resource type.

Reading streams line by line (constant memory); writing keeps one open file per type.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from app.fhir.importer import InvalidJson, RawEntry
from app.fhir.mapping.registry import KINDS
from app.fhir.r4 import FhirJson, dumps, loads

# Files are imported in this order, so references point backwards (see importer).
TYPE_ORDER = list(dict.fromkeys(k.resource_type for k in KINDS))


def import_order(paths: Iterable[Path]) -> list[Path]:
    """NDJSON files named after a resource type in dependency order; other files after them, as
    given. Directories stand for the *.ndjson files in them."""
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.glob("*.ndjson")) if path.is_dir() else [path])

    def rank(path: Path) -> int:
        stem = path.name.split(".")[0]
        return TYPE_ORDER.index(stem) if stem in TYPE_ORDER else len(TYPE_ORDER)

    return sorted(files, key=rank)


def read_ndjson(
    paths: Iterable[Path], *, on_bytes: Callable[[int], None] | None = None
) -> Iterator[RawEntry]:
    """The resources of these files, one at a time; entry indexes count across files."""
    index = 0
    for path in paths:
        with path.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                if on_bytes is not None:
                    on_bytes(len(line))
                if not line.strip():
                    continue
                try:
                    data: Any = loads(line)
                except ValueError as exc:
                    data = InvalidJson(f"not JSON: {exc}")
                yield RawEntry(index, data, location=f"{path.name}:{number}")
                index += 1


class NdjsonWriter:
    """Writes resources to <directory>/<ResourceType>.ndjson."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._files: dict[str, IO[bytes]] = {}
        self.counts: Counter[str] = Counter()

    def write(self, resource: FhirJson) -> None:
        resource_type = str(resource["resourceType"])
        handle = self._files.get(resource_type)
        if handle is None:
            handle = self._files[resource_type] = (self.directory / f"{resource_type}.ndjson").open(
                "wb"
            )
        handle.write(dumps(resource) + b"\n")
        self.counts[resource_type] += 1

    def close(self) -> None:
        for handle in self._files.values():
            handle.close()
        self._files.clear()

    def __enter__(self) -> NdjsonWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
