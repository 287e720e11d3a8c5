"""A fast way to the same fhir.resources models for the common, plainly valid resource.

fhir.resources validates every element with pydantic plus fhir_core's Python validators, which
loop over every field of the element's class (an Extension has fifty-five) whatever the element
holds: that was about half of an import's CPU time. `build` gets to the same model for an input
that is clearly valid by looking only at the keys that are there:

- every key must be a field of the class (by its JSON name); no `_primitive` siblings, no
  nulls, no empty lists or objects, no `contained` or other nested resources;
- a complex element must be a JSON object (a list where the field repeats) and is built the
  same way, with its own class;
- a primitive element is validated by the field's own pydantic validator (fhir_core's type:
  the same regular expressions, the same conversion to datetime, Decimal, bool);
- required elements present, at most one of each value[x] choice (and one where it is
  required), `resourceType` the class's.

The model is then put together as pydantic's `model_construct` does. Anything else (anything
unusual, anything wrong) is not decided here: `build` returns None and the caller validates with
fhir.resources, so every problem is reported by fhir.resources, at its path, in its words.
tests/unit/test_fhir_fastpath.py checks that `build` gives models equal to fhir.resources' ones
(the same classes, values, value types and fields set) and accepts nothing that fhir.resources
rejects, over HL7's examples, our own exports and invalid variations of both.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field
from typing import Any

from fhir_core.types import FhirBase, FhirElementOrResourceBase
from pydantic import TypeAdapter, ValidationError
from pydantic_core import PydanticUndefined


class _Fallback(Exception):
    """Not for the fast path: fhir.resources decides."""


_MISSING = object()
_MEMO_LIMIT = 50_000  # strings remembered per field


@dataclass
class _Field:
    """One field of a model class, as the fast path needs it."""

    name: str
    model: type[Any] | None = None  # a complex element's class
    resource: bool = False  # a nested resource (contained, Bundle.entry.resource)
    repeats: bool = False
    choice: int = -1  # the index of its value[x] choice in the plan's `choices`, if any
    annotation: Any = None  # a primitive's annotation, validated by a TypeAdapter
    sub: _Plan | None = None  # a complex element's plan, once known
    memo: dict[str, Any] = field(default_factory=dict)  # strings validated already
    _adapter: TypeAdapter[Any] | None = None

    def primitive(self, value: Any) -> Any:
        """The value as the field's own validator makes it; _Fallback when it refuses."""
        if self._adapter is None:
            self._adapter = TypeAdapter(self.annotation)
        try:
            out = self._adapter.validate_python(value)
        except (ValidationError, ValueError, TypeError):
            raise _Fallback from None
        if type(value) is str and not self.repeats and len(self.memo) < _MEMO_LIMIT:
            self.memo[value] = out
        return out


@dataclass
class _Plan:
    """What the fast path knows of one model class."""

    cls: type[Any]
    resource_type: str
    fields: dict[str, _Field]  # by JSON name
    defaults: dict[str, Any]  # every field's default, by Python name
    required: tuple[str, ...]  # JSON names that must be there
    choices: tuple[tuple[tuple[str, ...], bool], ...]  # (JSON names, one required)
    needed: tuple[int, ...] = ()  # the choices of which one is required


_PLANS: dict[type[Any], _Plan | None] = {}


def _element_type(annotation: Any) -> tuple[Any, bool]:
    """(the type inside Optional/List, whether it is a list)."""
    repeats = False
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Union or origin is types.UnionType:
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation, repeats
            annotation = args[0]
        elif origin is list:
            repeats = True
            annotation = typing.get_args(annotation)[0]
        else:
            return annotation, repeats


def _plan(cls: type[Any]) -> _Plan | None:
    """The plan of a class, or None when the fast path does not take the class at all."""
    if cls in _PLANS:
        return _PLANS[cls]
    _PLANS[cls] = None  # while it is being made (classes refer to themselves)
    plan = _make_plan(cls)
    _PLANS[cls] = plan
    return plan


def _make_plan(cls: type[Any]) -> _Plan | None:
    config = cls.model_config
    if (
        config.get("extra") != "forbid"
        or cls.__pydantic_root_model__
        or cls.__pydantic_post_init__
        or cls.__private_attributes__
        or set(cls.__pydantic_decorators__.field_validators)
        or set(cls.__pydantic_decorators__.validators)
        or set(cls.__pydantic_decorators__.root_validators)
        or set(cls.__pydantic_decorators__.model_validators)
        != {"reject_null_complex_elements", "validate_after_model_construction"}
        or any(k not in ("extra", "validate_assignment", "populate_by_name") for k in config)
    ):
        return None
    fields: dict[str, _Field] = {}
    defaults: dict[str, Any] = {}
    required: list[str] = []
    for name, info in cls.model_fields.items():
        default = info.default
        if info.default_factory is not None or not (
            default is None or default is PydanticUndefined
        ):
            return None
        defaults[name] = None
        key = info.alias or name
        if default is PydanticUndefined:
            required.append(key)
        if name.endswith("__ext"):
            continue  # `_primitive` siblings: fhir.resources decides
        inner, repeats = _element_type(info.annotation)
        entry = _Field(name, repeats=repeats)
        if isinstance(inner, type) and issubclass(inner, FhirElementOrResourceBase):
            entry.resource = True
        elif isinstance(inner, type) and issubclass(inner, FhirBase):
            entry.model = inner.get_model_klass()
        elif info.metadata:
            entry.annotation = typing.Annotated[(info.annotation, *info.metadata)]
        else:
            entry.annotation = info.annotation
        fields[key] = entry
    probe = cls.model_construct()
    aliases = probe.get_alias_mapping()
    for name, _ in probe.get_required_fields():
        alias = cls.model_fields[aliases[name]].alias or aliases[name]
        required.append(alias)
    choices: list[tuple[tuple[str, ...], bool]] = []
    for names in probe.get_one_of_many_fields().values():
        infos = [cls.model_fields[n] for n in names]
        extra = infos[0].json_schema_extra
        needed = isinstance(extra, dict) and extra.get("one_of_many_required") is True
        keys = tuple(i.alias or n for n, i in zip(names, infos, strict=True))
        for key in keys:
            fields[key].choice = len(choices)
        choices.append((keys, needed))
    return _Plan(
        cls,
        cls.__resource_type__,
        fields,
        defaults,
        tuple(required),
        tuple(choices),
        tuple(i for i, (_, needed) in enumerate(choices) if needed),
    )


def build(cls: type[Any], data: dict[str, Any]) -> Any | None:
    """The model fhir.resources would validate `data` (a resource's JSON) into, or None when
    the fast path leaves `data` to fhir.resources."""
    plan = _plan(cls)
    if plan is None or data.get("resourceType") != plan.resource_type:
        return None
    try:
        return _build(plan, data, resource=True)
    except _Fallback:
        return None
    except RecursionError:
        return None


_new = object.__new__
_set = object.__setattr__


def _sub_plan(entry: _Field) -> _Plan:
    """The plan of a complex field's class; a class the fast path does not take makes the
    field one it leaves to fhir.resources."""
    assert entry.model is not None
    entry.sub = _plan(entry.model)
    if entry.sub is None:
        entry.resource = True
        raise _Fallback
    return entry.sub


def _build(plan: _Plan, data: dict[str, Any], resource: bool = False) -> Any:
    if not data:
        raise _Fallback
    fields = plan.fields
    values: dict[str, Any] = {}
    chosen: list[int] = []
    for key, value in data.items():
        entry = fields.get(key)
        if entry is None:
            if resource and key == "resourceType":
                continue
            raise _Fallback
        if value is None or entry.resource:
            raise _Fallback
        if entry.choice >= 0:
            if entry.choice in chosen:
                raise _Fallback  # two values of one value[x]
            chosen.append(entry.choice)
        if entry.model is not None:
            sub = entry.sub or _sub_plan(entry)
            if entry.repeats:
                if type(value) is not list or not value:
                    raise _Fallback
                built = []
                for item in value:
                    if type(item) is not dict:
                        raise _Fallback
                    built.append(_build(sub, item))
                values[entry.name] = built
            else:
                if type(value) is not dict:
                    raise _Fallback
                values[entry.name] = _build(sub, value)
        elif type(value) is str and not entry.repeats:
            found = entry.memo.get(value, _MISSING)
            values[entry.name] = entry.primitive(value) if found is _MISSING else found
        else:
            if entry.repeats:
                if type(value) is not list or not value or None in value:
                    raise _Fallback
            elif type(value) is list or type(value) is dict:
                raise _Fallback
            values[entry.name] = entry.primitive(value)
    for key in plan.required:
        if key not in data:
            raise _Fallback
    for index in plan.needed:
        if index not in chosen:
            raise _Fallback
    instance = _new(plan.cls)
    state = plan.defaults.copy()
    state.update(values)
    _set(instance, "__dict__", state)
    _set(instance, "__pydantic_fields_set__", set(values))
    _set(instance, "__pydantic_extra__", None)
    _set(instance, "__pydantic_private__", None)
    return instance
