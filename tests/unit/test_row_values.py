"""Writer.insert builds a new row's values without the model (resolvers/mutations/runner.py):
the same values as `model(**values).model_dump()`, for every table model."""

from __future__ import annotations

from collections.abc import Iterator

from sqlmodel import SQLModel

import app.models  # noqa: F401  (every table model registered)
from resolvers.mutations.runner import row_values


def table_models(base: type[SQLModel] = SQLModel) -> Iterator[type[SQLModel]]:
    for sub in base.__subclasses__():
        if getattr(sub, "__table__", None) is not None:
            yield sub
        yield from table_models(sub)


def test_row_values_are_what_the_model_dumps() -> None:
    models = set(table_models())
    assert len(models) > 40
    for model in models:
        given = {"document_id": "d-1"} if "document_id" in model.model_fields else {}
        dumped = model(**given).model_dump(warnings=False)
        built = row_values(model, given)
        assert built.keys() == dumped.keys(), model.__name__
        for name, value in dumped.items():
            if model.model_fields[name].default_factory is None:  # ids, times: fresh each
                assert built[name] == value, (model.__name__, name)
