"""Compiled operations: shipped documents answered by one SQL statement each.

Only PopulationList is left: the query planner (resolvers/planner/) answers every other
document, EmergencyOverview included since it is as fast (docs/planner.md); PopulationList's
compiled form still costs less CPU than the planner's population path.

`compiled_for(persisted)` gives the compiled form of a persisted operation, keyed by the sha256
of its exact text (a changed document is simply no longer compiled), or None.
"""

from __future__ import annotations

from functools import cache

from resolvers.compiled.base import CompiledOperation
from schema.persisted import REGISTRY, PersistedOperation


@cache
def _by_hash() -> dict[str, CompiledOperation]:
    from resolvers.compiled.population import PopulationList

    out: dict[str, CompiledOperation] = {}
    kinds: tuple[type[CompiledOperation], ...] = (PopulationList,)
    for kind in kinds:
        shipped = REGISTRY.by_name.get(kind.name)
        if shipped is not None:
            out[shipped.sha256] = kind(shipped.document)
    return out


def compiled_for(persisted: PersistedOperation | None) -> CompiledOperation | None:
    if persisted is None:
        return None
    return _by_hash().get(persisted.sha256)


__all__ = ["CompiledOperation", "compiled_for"]
